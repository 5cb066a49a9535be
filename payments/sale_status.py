"""The poll's read: a sale as kiosks see it, from one SELECT and no model instance.

Kiosks poll every 3 seconds while a customer pays: 3,000 kiosks make 1,000 polls a second. For
this one read the ORM's work (compiling the query, building a model with deferred fields) cost
more than PostgreSQL's (bench/README.md), so the SELECT is written out once, from the models'
own table and column names, and run through Django's ordinary cursor: it is counted, logged and
wrapped like any ORM query (`django_assert_num_queries` sees it), on the poll's own database
connection when it has one (settings.POLL_DATABASE). This module only reads: the
view expires a sale it finds overdue (payments.services.expire_if_overdue).
"""

import functools
import uuid
import weakref
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from psycopg.pq import Format

from core.formats import jakarta_iso, rupiah_number
from locations.models import Location
from payments.models import Sale, SaleStatus


class PolledSale(NamedTuple):
    """One row of the poll's SELECT, in its column order."""

    id: int
    external_id: str
    location_id: int
    price_id: str
    list_price: Decimal
    amount: Decimal
    voucher_code: str
    discount: Decimal
    status: str
    qr_string: str | None
    expires_at: datetime
    paid_at: datetime | None
    created_at: datetime
    machine_code: str

    def is_overdue(self, now: datetime) -> bool:
        return self.status == SaleStatus.PENDING and self.expires_at <= now


# The sale's columns the poll shows, in PolledSale's order; the location's machine code follows.
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
def _select() -> str:
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


def _polled_row(alias: str, external_id: str) -> tuple | None:
    """The poll's row, read through `alias`: `default`, or the poll's own connection
    (photobox/settings/database.py), which binds on the server, so psycopg prepares this SELECT,
    and skips CONN_HEALTH_CHECKS' `SELECT 1` round trip before it. On that connection a database
    restart shows up here instead, as an OperationalError or InterfaceError: the SELECT changes
    nothing and runs outside any transaction, so it runs once more on a new connection, and a
    restart fails no poll. On `default` Django's own check does that before the request's first
    query, and a retry could break a transaction the caller holds."""
    connection = connections[alias]
    try:
        return _fetch_row(connection, external_id)
    except (OperationalError, InterfaceError):
        if alias == DEFAULT_DB_ALIAS:
            raise
        connection.close()
    return _fetch_row(connection, external_id)


def _fetch_row(connection, external_id: str) -> tuple | None:
    if connection.alias == DEFAULT_DB_ALIAS:
        with connection.cursor() as cursor:
            cursor.execute(_select(), [external_id])
            return cursor.fetchone()
    # The poll's own connection runs nothing but this SELECT, so it keeps one psycopg cursor and
    # runs every poll through it: a new cursor per poll (Django's `cursor()`) cost ~50 µs of CPU,
    # a sixth of the poll's own work. It is wrapped as `cursor()` wraps one, so the query is still
    # counted, logged and passed through execute wrappers.
    connection.ensure_connection()
    cursor = _poll_cursors.get(connection.connection)
    if cursor is None:
        cursor = _poll_cursors[connection.connection] = _poll_cursor(connection.connection)
    wrapped = connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)
    wrapped.execute(_select(), [external_id])
    return wrapped.fetchone()


def _poll_cursor(psycopg_connection):
    """A cursor that reads timestamps with psycopg's own C loader. Django pins the zone with a
    Python subclass of psycopg's pure-Python loader, ~4 µs a column (12 µs a poll); the C one gives
    the same instants, aware, in the session's zone (Django sets UTC on every connection)."""
    cursor = psycopg_connection.cursor()
    cursor.adapters.register_loader("timestamptz", psycopg.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT))
    return cursor


_TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid

# The poll's cursor of each open connection (one per thread): dropped with its connection.
_poll_cursors: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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


def polled_sale(external_id: str) -> PolledSale | None:
    """The sale with this external id as the poll shows it, or None: one SELECT, no writes."""
    row = _polled_row(settings.POLL_DATABASE, external_id)
    if row is None:
        return None
    pk, external_id, location_id, price_id, list_price, amount, voucher_code, discount = row[:8]
    status, qr_string, expires_at, paid_at, created_at, code = row[8:]
    return PolledSale(
        pk,
        external_id,
        location_id,
        _uuid_text(price_id),
        _decimal(list_price),
        _decimal(amount),
        voucher_code,
        _decimal(discount),
        status,
        qr_string,
        _aware(expires_at),
        _aware(paid_at),
        _aware(created_at),
        code,
    )


def polled_data(sale: PolledSale) -> dict:
    """The poll's `data` (key order is the contract's)."""
    return _data_of(sale, machine_code=sale.machine_code)


def created_data(sale: Sale) -> dict:
    """The create answer's `data`: the sale as the poll shows it, without `paid_at` (documented by
    payments.api.serializers.SaleCreatedSerializer, which renders the same bytes: written out here
    because a serializer costs ~0.3 ms of CPU a sale)."""
    data = stored_sale_data(sale)
    del data["paid_at"]
    return data


def stored_sale_data(sale: Sale) -> dict:
    """`sale_data` of a sale as read by the ORM (its location read along)."""
    return _data_of(sale, machine_code=sale.location.machine_code)


def _data_of(sale: PolledSale | Sale, *, machine_code: str) -> dict:
    return sale_data(
        pk=sale.id,
        external_id=sale.external_id,
        location_id=sale.location_id,
        machine_code=machine_code,
        price_id=str(sale.price_id),
        list_price=sale.list_price,
        amount=sale.amount,
        voucher_code=sale.voucher_code,
        discount=sale.discount,
        status=sale.status,
        qr_string=sale.qr_string,
        expires_at=sale.expires_at,
        paid_at=sale.paid_at,
        created_at=sale.created_at,
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
) -> dict:
    """The polled sale as kiosks see it; key order is part of the contract (the create answer is
    the same without `paid_at`: `created_data`). `price.price` is the list price,
    `amount` what the customer pays (after the voucher's discount)."""
    return {
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
        "paid_at": jakarta_iso(paid_at),
        "created_at": jakarta_iso(created_at),
    }
