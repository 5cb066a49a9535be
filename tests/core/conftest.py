import pytest


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
