"""The poll's read: a sale as kiosks see it, from one SELECT and no model instance.

Kiosks poll every 3 seconds while a customer pays: 3,000 kiosks make 1,000 polls a second. For
this one read the ORM's work (compiling the query, building a model with deferred fields) cost
more than PostgreSQL's (bench/README.md), so the SELECT is written out once, from the models'
own table and column names, and run through Django's cursor: it is counted, logged and wrapped
like any ORM query (`django_assert_num_queries` sees it).
"""

import contextlib
import functools
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.formats import jakarta_iso, rupiah_number
from locations.models import Location
from payments import services
from payments.models import Sale, SaleStatus

# The sale's fields the poll shows, in the SELECT's order; the location's machine code follows.
SALE_FIELDS = (
    "id",
    "external_id",
    "location",
    "price",
    "list_price",
    "amount",
    "voucher_code",
    "discount",
    "status",
    "qr_string",
    "expires_at",
    "paid_at",
    "created_at",
)


@functools.cache
def _select(vendor: str) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    sale, location = Sale._meta, Location._meta
    columns = [f"s.{quote(sale.get_field(name).column)}" for name in SALE_FIELDS]
    columns.append(f"l.{quote(location.get_field('machine_code').column)}")
    location_id, external_id = (quote(sale.get_field(name).column) for name in ("location", "external_id"))
    # Only the models' own table and column names are written into the SQL; the value is a parameter.
    return (
        f"SELECT {', '.join(columns)} FROM {quote(sale.db_table)} s"  # noqa: S608
        f" INNER JOIN {quote(location.db_table)} l ON l.{quote(location.pk.column)} = s.{location_id}"
        f" WHERE s.{external_id} = %s"
    )


def _aware(value) -> datetime | None:
    """A stored datetime as an aware one: PostgreSQL gives it so; SQLite gives naive UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _uuid_text(value) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


try:
    from django.db.backends.postgresql.base import ServerBindingCursor
    from psycopg import ClientCursor
except ImportError:  # no psycopg 3: Django's cursor as it is
    ServerBindingCursor = ClientCursor = None


@contextlib.contextmanager
def _cursor(connection):
    """Django's cursor; on PostgreSQL, when the deployment allows prepared statements (the
    database OPTIONS' `prepare_threshold`, which Django leaves off for the sake of connection
    poolers), one that binds parameters on the server, so psycopg prepares this SELECT once per
    connection and PostgreSQL stops planning it on every poll (most of its CPU for a poll)."""
    with connection.cursor() as cursor:
        raw = connection.connection
        if ClientCursor is None or not isinstance(cursor.cursor, ClientCursor) or raw.prepare_threshold is None:
            yield cursor
            return
        client_cursor, cursor.cursor = cursor.cursor, ServerBindingCursor(raw)
        try:
            yield cursor
        finally:
            cursor.cursor.close()
            cursor.cursor = client_cursor


def _select_row(connection, external_id: str) -> tuple | None:
    with _cursor(connection) as cursor:
        cursor.execute(_select(connection.vendor), [external_id])
        return cursor.fetchone()


def _fetch(external_id: str) -> tuple | None:
    """The sale's row. With CONN_HEALTH_CHECKS (DB_POOL_PRE_PING), Django checks a reused
    connection with a `SELECT 1` round trip before a request's first query: for the poll, whose
    whole work is one query, that doubles the round trips. The query checks the connection itself
    instead: should the connection have died (a database restart), it is replaced and the read,
    which changes nothing, runs once more on the new one."""
    connection = connections[DEFAULT_DB_ALIAS]  # looked up once: each lookup goes through asgiref
    if not connection.health_check_enabled or connection.health_check_done or connection.connection is None:
        return _select_row(connection, external_id)
    connection.health_check_done = True
    try:
        return _select_row(connection, external_id)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block or connection.is_usable():
            raise
    connection.close()
    return _select_row(connection, external_id)


def poll_data(external_id: str) -> dict | None:
    """The sale's `data` for the poll (key order is the contract's), or None if there is none.

    One query; more only for a PENDING sale found past its expiry, which is then expired here by
    `services.expire_if_overdue` (transitions.expire: the sale locked, expired, its history row).
    """
    row = _fetch(external_id)
    if row is None:
        return None
    pk, external_id, location_id, price_id, list_price, amount, voucher_code, discount = row[:8]
    status, qr_string, expires_at, paid_at, created_at, code = row[8:]
    expires_at, paid_at = _aware(expires_at), _aware(paid_at)
    if status == SaleStatus.PENDING and expires_at <= timezone.now():
        sale = services.expire_if_overdue(
            sale=Sale(pk=pk, external_id=external_id, status=status, expires_at=expires_at, paid_at=paid_at)
        )
        status, paid_at = sale.status, sale.paid_at
    return sale_data(
        pk=pk,
        external_id=external_id,
        location_id=location_id,
        machine_code=code,
        price_id=_uuid_text(price_id),
        list_price=_decimal(list_price),
        amount=_decimal(amount),
        voucher_code=voucher_code,
        discount=_decimal(discount),
        status=status,
        qr_string=qr_string,
        expires_at=expires_at,
        paid_at=paid_at,
        created_at=_aware(created_at),
    )


def sale_data(
    *,
    pk: int,
    external_id: str,
    location_id: int,
    machine_code: str,
    price_id: str,
    list_price: Decimal,
    amount: Decimal,
    voucher_code: str,
    discount: Decimal,
    status: str,
    qr_string: str | None,
    expires_at: datetime,
    paid_at: datetime | None,
    created_at: datetime,
    with_paid_at: bool = True,
) -> dict:
    """The sale as kiosks see it (create and poll); key order is part of the contract, and the
    poll adds `paid_at` before `created_at`. `price.price` is the list price, `amount` what the
    customer pays (after the voucher's discount)."""
    data = {
        "id": pk,
        "external_id": external_id,
        "location_id": location_id,
        "location": {"id": location_id, "machine_code": machine_code},
        "price_id": price_id,
        "price": {"id": price_id, "price": rupiah_number(list_price)},
        "amount": rupiah_number(amount),
        "voucher": {"code": voucher_code, "discount": rupiah_number(discount)} if voucher_code else None,
        "status": status,
        "qr_string": qr_string,
        "expires_at": jakarta_iso(expires_at),
    }
    if with_paid_at:
        data["paid_at"] = jakarta_iso(paid_at)
    data["created_at"] = jakarta_iso(created_at)
    return data
