import pytest

from core import ratelimit


@pytest.fixture
def cache_down(settings) -> None:
    """The shared cache (where the rate limits count) is a Redis nobody answers: nothing listens
    on port 1, and each try gives up after 0.2 s."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


@pytest.fixture
def clock(monkeypatch):
    """The rate limits' clock, at `start`: the start of a window, a multiple of 60 and 3600 (tests
    move it with `clock.now += ...`)."""

    class Clock:
        start = now = 1_800_000_000.0

    monkeypatch.setattr(ratelimit, "now", lambda: Clock.now)
    return Clock
