"""Rate limits on the public endpoints, counted in the shared cache (Redis or the database).

Every worker process of every instance counts in the same place (Redis when REDIS_URL is set,
else the database's core.RateLimitCounter table), so a client gets the same limit however the
load balancer spreads its requests. Counting is a fixed window per client, each counted request
adding one atomically: Redis's INCR, or one INSERT … ON CONFLICT DO UPDATE … RETURNING. A limited
request is answered 429 with Retry-After: the seconds until the window ends.

The limits (settings RATE_LIMIT_*, "count/period"; README, "Rate limits"):
- sale creation, per kiosk key (per client IP without a key): every request counts;
- photo-list and upload misses (404), per kiosk key or IP; gallery misses (404), per IP;
- webhook and maintenance calls with a missing or wrong token, per IP (each counted apart).
For the miss limits only misses count, but once a client is over its limit every request of it
is refused until the window ends: otherwise a 429 would tell a miss from a hit. The poll is not
limited (kiosks poll every 3 seconds; it is one indexed query).

If the cache cannot be reached, requests are let through (and a warning logged): a Redis outage
must not stop kiosks from selling.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from core import counters
from core.client import client_network

if TYPE_CHECKING:
    from rest_framework.views import APIView

    from core.env import Rate  # the settings' parsed RATE_LIMIT_* values

    _MixedIntoAPIView = APIView
else:
    _MixedIntoAPIView = object

logger = logging.getLogger("photobox.ratelimit")


def now() -> float:
    """The clock the windows are cut from (tests move it)."""
    return time.time()


@dataclass(frozen=True, eq=False)
class RateLimit:
    """One named limit: `scope` keys its counters, `setting` names its Rate in the settings."""

    scope: str
    setting: str

    @property
    def rate(self) -> Rate | None:
        return getattr(settings, self.setting, None)

    def _key(self, ident: str, rate: Rate, moment: float) -> tuple[str, float]:
        window = int(moment // rate.period)
        # Hashed: an IPv6 address or a key id, always short and safe for any cache backend.
        digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
        return f"ratelimit:{self.scope}:{digest}:{window}", (window + 1) * rate.period - moment

    def wait(self, ident: str) -> int | None:
        """Seconds until `ident` may be served again, or None when it is within its limit."""
        rate = self.rate
        if rate is None:
            return None
        moment = now()
        key, remaining = self._key(ident, rate, moment)
        try:
            count = counters.current(key) if _in_database() else caches["default"].get(key, 0)
        except Exception:
            logger.warning("rate limit %s: the cache cannot be read; not limiting", self.scope, exc_info=True)
            return None
        return max(1, math.ceil(remaining)) if count >= rate.count else None

    def hit(self, ident: str) -> int | None:
        """Count one request of `ident`; the seconds to wait when that puts it over its limit."""
        rate = self.rate
        if rate is None:
            return None
        moment = now()
        key, remaining = self._key(ident, rate, moment)
        try:
            count = self._increment(key, rate, remaining)
        except Exception:
            logger.warning("rate limit %s: the cache cannot be written; not limiting", self.scope, exc_info=True)
            return None
        if count > rate.count:
            logger.warning(
                "rate limit %s exceeded (%s) by %s", self.scope, rate, ident, extra={"rate_limit": self.scope}
            )
            return max(1, math.ceil(remaining))
        return None

    @staticmethod
    def _increment(key: str, rate: Rate, remaining: float) -> int:
        if _in_database():
            # One atomic upsert: the database cache's incr would read, then write.
            return counters.increment(key, expires_at=timezone.now() + timedelta(seconds=remaining + 1))
        cache = caches["default"]
        cache.add(key, 0, timeout=rate.period + 1)
        try:
            return cache.incr(key)  # atomic on Redis
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=rate.period + 1)
            return 1


def _in_database() -> bool:
    """Without Redis the counters live in their own table (core.RateLimitCounter)."""
    return settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")


SALE_CREATE = RateLimit("sale-create", "RATE_LIMIT_SALE_CREATE")
PHOTO_MISSES = RateLimit("photo-miss", "RATE_LIMIT_PHOTO_MISSES")
GALLERY_MISSES = RateLimit("gallery-miss", "RATE_LIMIT_GALLERY_MISSES")
WEBHOOK_BAD_TOKEN = RateLimit("webhook-bad-token", "RATE_LIMIT_WEBHOOK_BAD_TOKEN")
# The maintenance endpoint's token is guessed the same way: the same limit, counted apart.
MAINTENANCE_BAD_TOKEN = RateLimit("maintenance-bad-token", "RATE_LIMIT_WEBHOOK_BAD_TOKEN")


def kiosk_or_ip(request) -> str:
    """A kiosk with a valid key is counted by its key (it may share an IP with strangers, e.g.
    a mall's Wi-Fi); anyone else by IP address."""
    key = getattr(request, "auth", None)
    key_id = getattr(key, "pk", None)
    if key_id is not None:
        return f"kiosk-key:{key_id}"
    return f"ip:{client_network(request)}"


# --- DRF ---------------------------------------------------------------------------------------


class SaleCreateThrottle(BaseThrottle):
    """POST /api/v1/transactions: RATE_LIMIT_SALE_CREATE per kiosk key, or per IP without one.
    Runs after authentication, so a request with a bad key is answered 401 and not counted."""

    limit = SALE_CREATE

    def allow_request(self, request, view) -> bool:
        self._wait = self.limit.hit(kiosk_or_ip(request))
        return self._wait is None

    def wait(self):
        return self._wait


class MissThrottle(BaseThrottle):
    """Refuses a client that is over its miss limit; the misses themselves are counted by
    `MissLimitedMixin` once the answer is known."""

    limit = PHOTO_MISSES

    def allow_request(self, request, view) -> bool:
        self._wait = self.limit.wait(kiosk_or_ip(request))
        return self._wait is None

    def wait(self):
        return self._wait


class MissLimitedMixin(_MixedIntoAPIView):
    """For an APIView with `MissThrottle`: every 404 it answers counts as a miss of the client."""

    miss_limit = PHOTO_MISSES

    def finalize_response(self, request, response, *args, **kwargs):
        if response.status_code == 404:
            self.miss_limit.hit(kiosk_or_ip(request))
        return super().finalize_response(request, response, *args, **kwargs)


# --- Plain Django views ----------------------------------------------------------------------------


def miss_limited(limit: RateLimit, refuse: Callable[[HttpRequest, int], HttpResponseBase]):
    """For a plain view: refuse a client over `limit` with `refuse(request, wait)` (Retry-After is
    set here); otherwise serve it, and count the answer against it when it is a 404."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
            ident = f"ip:{client_network(request)}"
            if (wait := limit.wait(ident)) is not None:
                response = refuse(request, wait)
                response["Retry-After"] = str(wait)
                return response
            response = view(request, *args, **kwargs)
            if response.status_code == 404:
                limit.hit(ident)
            return response

        return wrapper

    return decorator
