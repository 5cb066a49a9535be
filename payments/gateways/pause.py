"""Xendit's rate limit, remembered: after a 429 no batch calls Xendit until its wait is over.

Kept in the shared cache (Redis or the database cache), so every process and the next cron run
honour it. Batches (expire_sales, check_refunds) check it before each call.
"""

import logging
import math
import time

from django.core.cache import caches

logger = logging.getLogger("payments")

PAUSE_KEY = "xendit:calls-paused-until"


def pause_calls(wait: float) -> None:
    """Stop batch calls to Xendit for `wait` seconds (its Rate-Limit-Reset)."""
    until = time.time() + wait
    try:
        caches["default"].set(PAUSE_KEY, until, timeout=math.ceil(wait) + 1)
    except Exception:
        logger.warning("could not keep the Xendit pause in the cache", exc_info=True)


def calls_paused_for() -> float:
    """Seconds until batches may call Xendit again; 0 when they may now."""
    try:
        until = caches["default"].get(PAUSE_KEY)
    except Exception:
        return 0.0
    return max(0.0, until - time.time()) if until else 0.0
