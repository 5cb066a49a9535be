"""The database and the cache (where the rate limits count)."""

import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from photobox.settings.base import BASE_DIR, env
from photobox.settings.security import SILENCED_SYSTEM_CHECKS

# The alias the kiosk poll reads through: its own connection (below) when it has one.
POLL_DB_ALIAS = "poll"
POLL_DATABASE = "default"

DATABASES = {"default": env.db_url("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    # The seed's SQLAlchemy pool settings map onto psycopg's connection pool, one per process:
    # total connections = (DB_POOL_SIZE + DB_MAX_OVERFLOW) x worker processes, as before.
    DB_POOL_SIZE = env.int("DB_POOL_SIZE", 0, minimum=0)
    DB_MAX_OVERFLOW = env.int("DB_MAX_OVERFLOW", 5, minimum=0)
    DB_POOL_TIMEOUT = env.float("DB_POOL_TIMEOUT", 30)
    DB_POOL_RECYCLE = env.int("DB_POOL_RECYCLE", 3600, minimum=60)
    DB_POOL_PRE_PING = env.bool("DB_POOL_PRE_PING", True)
    if DB_POOL_SIZE:
        _pool = {
            "min_size": DB_POOL_SIZE,
            "max_size": DB_POOL_SIZE + DB_MAX_OVERFLOW,
            "timeout": DB_POOL_TIMEOUT,
            "max_lifetime": float(DB_POOL_RECYCLE),
        }
        _db.setdefault("OPTIONS", {})["pool"] = _pool
        _db["CONN_MAX_AGE"] = 0
        # Django gives the pool its check (ConnectionPool.check_connection) when this is on;
        # passing `check` in the pool's options as well makes every start fail.
        _db["CONN_HEALTH_CHECKS"] = DB_POOL_PRE_PING
    else:
        # Without a pool, keep each worker's connection open and check it before reuse.
        _db["CONN_MAX_AGE"] = DB_POOL_RECYCLE
        _db["CONN_HEALTH_CHECKS"] = DB_POOL_PRE_PING
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)
    # Parameters travel apart from the SQL (PostgreSQL binds them) instead of being quoted into it
    # by psycopg in Python: less CPU on both sides, and it lets psycopg prepare the statements
    # every request repeats (below). Measured on the sale create, ~1 ms of server and database CPU
    # a sale (bench/README.md, "Sale creation"). DB_SERVER_SIDE_BINDING=false binds on the client,
    # Django's own default.
    DB_SERVER_SIDE_BINDING = env.bool("DB_SERVER_SIDE_BINDING", True)
    _db["OPTIONS"]["server_side_binding"] = DB_SERVER_SIDE_BINDING
    # psycopg prepares a statement run this often on a connection (only when binding on the
    # server): PostgreSQL then plans it once per connection. 0 turns it off, as pgbouncer in
    # transaction mode needs.
    DB_PREPARE_THRESHOLD = env.int("DB_PREPARE_THRESHOLD", 5, minimum=0)
    if DB_PREPARE_THRESHOLD:
        _db["OPTIONS"]["prepare_threshold"] = DB_PREPARE_THRESHOLD
    # The kiosk poll (~1,000 a second) reads through a connection of its own: the same database
    # and credentials, binding on the server so psycopg prepares its one SELECT (after
    # DB_PREPARE_THRESHOLD runs), and without CONN_HEALTH_CHECKS' `SELECT 1` before each
    # request's first query: the read is a plain SELECT, so it retries once on a dropped
    # connection instead (payments/sale_status.py). Every other query stays on `default`,
    # unchanged. It costs one more connection per gunicorn thread (README, "Connection budget"):
    # DB_POLL_CONNECTION=false reads the poll on `default`. Not with a pool (DB_POOL_SIZE > 0),
    # whose connections Django checks out per request and returns: a second pool would double it.
    DB_POLL_CONNECTION = env.bool("DB_POLL_CONNECTION", True)
    if DB_POLL_CONNECTION and not DB_POOL_SIZE:
        DATABASES[POLL_DB_ALIAS] = {
            **_db,
            "OPTIONS": {**_db["OPTIONS"], "server_side_binding": True},
            "CONN_HEALTH_CHECKS": False,
            "ATOMIC_REQUESTS": False,
            # The test runner points it at default's test database (tests/settings.py).
            "TEST": {"MIRROR": "default"},
        }
        POLL_DATABASE = POLL_DB_ALIAS
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs on SQLite with a threaded dev server: take the write lock up front so two
    # requests never deadlock upgrading read locks, and wait for it instead of failing.
    _db.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    # The report's covering index (payments' sale_paid_voucher_idx) INCLUDEs columns PostgreSQL reads
    # from the index alone; SQLite builds it without them, which costs the demo nothing.
    SILENCED_SYSTEM_CHECKS.append("models.W040")

# --- Caches: shared by every worker of every instance ----------------------------------------
# The rate limits count here, so it must be one place for all processes: Redis when REDIS_URL is
# set (several instances), else a table in the database (created by locations' migration 0003).
REDIS_URL = env.str("REDIS_URL", "")
# Declared for type checkers: each branch's literal alone reads as a dict of strings.
CACHES: dict[str, dict[str, Any]]
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", "photobox")
if REDIS_URL:
    if not re.match(r"^(rediss?|unix)://", REDIS_URL):
        raise ImproperlyConfigured("REDIS_URL must look like redis://127.0.0.1:6379/0 (or rediss://, unix://).")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # A Redis that stops answering must not hold requests up: rate limits then let requests through.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "photobox_cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # Expired rows are culled when the table grows past this (Django's default, 300, would
            # cull live rate-limit counters under a scan from many addresses).
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }
