"""Atomic counters for rate limits in the database (used when there is no Redis)."""

from datetime import datetime

from django.db import connection
from django.utils import timezone

from core.models import RateLimitCounter


def _table() -> str:
    return connection.ops.quote_name(RateLimitCounter._meta.db_table)


def increment(key: str, *, expires_at: datetime) -> int:
    """Add one to `key`'s count and return the new count, atomically (PostgreSQL and SQLite)."""
    quote = connection.ops.quote_name
    table, key_column, count, expires = _table(), quote("key"), quote("count"), quote("expires_at")
    with connection.cursor() as cursor:
        # Only our own table's and columns' names are written into the SQL; the values are parameters.
        cursor.execute(
            f"INSERT INTO {table} ({key_column}, {count}, {expires}) VALUES (%s, 1, %s) "  # noqa: S608
            f"ON CONFLICT ({key_column}) DO UPDATE SET {count} = {table}.{count} + 1 RETURNING {count}",
            [key, expires_at],
        )
        return cursor.fetchone()[0]


def current(key: str) -> int:
    row = RateLimitCounter.objects.filter(key=key, expires_at__gt=timezone.now()).values_list("count", flat=True)
    return row.first() or 0


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete the counters of windows that are over (expire_sales runs this every minute)."""
    deleted, _ = RateLimitCounter.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
