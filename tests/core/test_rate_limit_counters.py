"""Where the rate limits count, as an operator sees it: a counter lives its window and one second
more (Redis's memory, the database table's purge), a client over its limit stays refused to the
window's last second, a counter Redis evicted between its creation and its increment still counts,
and a cache that cannot be reached is logged with its traceback.

Redis is a fake here (tests/settings.py counts in memory): a LocMemCache whose keys expire on the
rate limits' clock, which the tests move, and which can evict a counter right after it is made
(as Redis under memory pressure may) or hold increments until two requests are at the same point."""

import logging
import threading
from collections import Counter
from datetime import timedelta
from typing import ClassVar

import pytest
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone
from rest_framework.test import APIClient

from core import counters, ratelimit
from core.env import Rate
from core.models import RateLimitCounter
from tests.support.concurrency import run_concurrently
from tests.support.webhooks import post_webhook

pytestmark = pytest.mark.django_db


class FakeRedis(LocMemCache):
    """Keys expire on the rate limits' clock. `evict` rate-limit counters are evicted right after
    they are added; the first `meeting.parties` increments wait for each other at `meeting`."""

    evict: ClassVar[int] = 0
    meeting: ClassVar[threading.Barrier | None] = None
    met: ClassVar[int] = 0

    def get_backend_timeout(self, timeout=DEFAULT_TIMEOUT):
        timeout = self.default_timeout if timeout is DEFAULT_TIMEOUT else timeout
        return None if timeout is None else ratelimit.now() + timeout

    def _has_expired(self, key):
        expires = self._expire_info.get(key, -1)
        return expires is not None and expires <= ratelimit.now()

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        added = super().add(key, value, timeout, version)
        if added and FakeRedis.evict and str(key).startswith("ratelimit:"):
            FakeRedis.evict -= 1
            self.delete(key, version=version)
        return added

    def incr(self, key, delta=1, version=None):
        meeting = FakeRedis.meeting
        if meeting is not None and FakeRedis.met < meeting.parties:
            FakeRedis.met += 1
            meeting.wait(timeout=10)
        return super().incr(key, delta, version)

    def live_counters(self) -> list[str]:
        with self._lock:
            return [key for key in self._cache if "ratelimit:" in key and not self._has_expired(key)]


@pytest.fixture
def redis(settings) -> LocMemCache:
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.FakeRedis", "LOCATION": "fake-redis"}}
    FakeRedis.evict, FakeRedis.meeting, FakeRedis.met = 0, None, 0
    from django.core.cache import caches

    cache = caches["default"]
    cache.clear()
    yield cache
    FakeRedis.evict, FakeRedis.meeting, FakeRedis.met = 0, None, 0


@pytest.fixture
def database_counters(settings):
    """Production without Redis: the counters live in the database (core.RateLimitCounter)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "photobox_cache"}
    }


def wrong_tokens(count: int) -> list[int]:
    return [post_webhook(APIClient(), {"x": 1}, token="guess").status_code for _ in range(count)]


# --- Redis -----------------------------------------------------------------------------------------


def test_a_counter_lives_its_window_and_one_second_more_in_redis(redis, settings, clock):
    settings.RATE_LIMIT_WEBHOOK_BAD_TOKEN = Rate(3, 60)

    assert wrong_tokens(2) == [403, 403]

    clock.now = clock.start + 60.5
    assert len(redis.live_counters()) == 1
    clock.now = clock.start + 61.5
    assert redis.live_counters() == []


@pytest.mark.parametrize(("limit", "served"), [(1, 1), (3, 3)])
def test_a_counter_redis_evicted_right_after_making_it_still_counts_the_request(redis, settings, clock, limit, served):
    settings.RATE_LIMIT_WEBHOOK_BAD_TOKEN = Rate(limit, 60)
    FakeRedis.evict = 1

    answers = wrong_tokens(served + 2)

    assert answers == [403] * served + [429, 429]
    assert FakeRedis.evict == 0, "nothing was evicted: the test proves nothing"


def test_a_counter_made_again_after_an_eviction_lives_to_its_windows_end_and_one_second_more(redis, settings, clock):
    settings.RATE_LIMIT_WEBHOOK_BAD_TOKEN = Rate(3, 60)
    FakeRedis.evict = 1
    assert wrong_tokens(4) == [403, 403, 403, 429]

    clock.now = clock.start + 59.5
    assert wrong_tokens(1) == [429], "refused to the window's last second"
    clock.now = clock.start + 60.5
    assert len(redis.live_counters()) == 1
    clock.now = clock.start + 61.5
    assert redis.live_counters() == []


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_first_requests_of_a_window_at_once_are_both_counted(redis, settings, clock):
    """Both reach Redis's increment before either has incremented: the counter both made (one
    created it, the other found it) counts them both."""
    settings.RATE_LIMIT_WEBHOOK_BAD_TOKEN = Rate(2, 60)
    FakeRedis.meeting = threading.Barrier(2)

    first_two = run_concurrently(lambda _: wrong_tokens(1)[0], 2)

    assert first_two == [403, 403], first_two
    assert wrong_tokens(1) == [429]


# --- The database ----------------------------------------------------------------------------------


def test_in_the_last_second_of_its_window_a_client_over_its_miss_limit_is_still_refused(
    api, database_counters, settings, clock
):
    settings.RATE_LIMIT_PHOTO_MISSES = Rate(3, 60)
    clock.now = clock.start + 59.5

    answers = [api.get(f"/api/v1/transactions/TRX-1-NOPE{n}/photos").status_code for n in range(4)]

    assert answers == [404, 404, 404, 429]


def test_a_database_counter_is_purged_one_second_after_its_window_ends(database_counters, settings, clock):
    settings.RATE_LIMIT_WEBHOOK_BAD_TOKEN = Rate(3, 60)
    before = timezone.now()

    assert wrong_tokens(1) == [403]

    assert counters.purge_expired(now=before + timedelta(seconds=60.5)) == 0
    assert RateLimitCounter.objects.count() == 1
    assert counters.purge_expired(now=timezone.now() + timedelta(seconds=61.5)) == 1


# --- A cache that cannot be reached ----------------------------------------------------------------


def test_a_cache_that_cannot_be_read_or_written_is_logged_with_its_traceback(api, db, cache_down, caplog):
    caplog.set_level(logging.WARNING, logger="photobox.ratelimit")

    response = api.get("/api/v1/transactions/TRX-1-NOPE/photos")

    assert response.status_code == 404
    logged = [(r.getMessage(), bool(r.exc_info)) for r in caplog.records if r.name == "photobox.ratelimit"]
    assert Counter(logged) == {
        ("rate limit photo-miss: the cache cannot be read; not limiting", True): 1,
        ("rate limit photo-miss: the cache cannot be written; not limiting", True): 1,
    }
