"""INSERT and UPDATE statements for the kiosk's busiest requests, written out from the models' own
table and column names once per process instead of compiled by the ORM at each request.

Compiling a one-row INSERT or UPDATE cost 0.25-0.35 ms of CPU, several times what PostgreSQL took
to run it; a sale's creation ran four of them (bench/README.md, "Sale creation"). Only names from
the models are written into the SQL; every value is a parameter, prepared by its field exactly as
the ORM prepares it (defaults, `auto_now`, UUIDs, datetimes). The statements run through Django's
ordinary cursor: counted, logged and wrapped like any ORM query. Anything not this simple stays
with the ORM.
"""

from __future__ import annotations

import functools

from django.db import connections, router
from django.db.models import Field, Model


def row_values(obj: Model, connection, *, skip: frozenset[str] = frozenset()) -> tuple[list[str], list]:
    """`obj`'s columns (quoted, the primary key left out) and its values as the ORM would write
    them on INSERT, for every concrete field whose attname is not in `skip`."""
    quote = connection.ops.quote_name
    columns, params = [], []
    for field in type(obj)._meta.local_concrete_fields:
        if field.primary_key or field.attname in skip:
            continue
        columns.append(quote(field.column))
        params.append(field.get_db_prep_save(field.pre_save(obj, True), connection=connection))
    return columns, params


def insert_row(obj: Model) -> None:
    """INSERT `obj` (a new instance) as `obj.save()` would, in one statement: its primary key is
    set from RETURNING. No signals are sent (none of the models written this way has receivers)."""
    model = type(obj)
    connection = connections[router.db_for_write(model)]
    columns, params = row_values(obj, connection)
    pk = model._meta.pk
    assert pk is not None
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)})"  # noqa: S608
        f" VALUES ({', '.join(['%s'] * len(columns))}) RETURNING {quote(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (obj.pk,) = cursor.fetchone()
    obj._state.adding, obj._state.db = False, connection.alias


def update_rows(model: type[Model], *, where: dict, values: dict) -> int:
    """UPDATE `model`'s rows matching every `where` item (a value; None means IS NULL) to `values`
    (by attname); returns how many rows changed, like `QuerySet.update`."""
    connection = connections[router.db_for_write(model)]
    null = frozenset(name for name, value in where.items() if value is None)
    sql = _update_sql(model, connection.alias, tuple(values), tuple(where), null)
    params = [_field(model, name).get_db_prep_save(value, connection=connection) for name, value in values.items()]
    params += [
        _field(model, name).get_db_prep_value(value, connection, prepared=False)
        for name, value in where.items()
        if name not in null
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _field(model: type[Model], name: str) -> Field:
    """`model`'s concrete field by name or attname (`sale_id` as well as `sale`)."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field), f"{model.__name__}.{name} is not a column"
    return field


@functools.cache
def _update_sql(model: type[Model], alias: str, values: tuple, where: tuple, null: frozenset) -> str:
    quote = connections[alias].ops.quote_name

    def column(name: str) -> str:
        return quote(str(_field(model, name).column))

    assignments = ", ".join(f"{column(name)} = %s" for name in values)
    conditions = " AND ".join(f"{column(name)} IS NULL" if name in null else f"{column(name)} = %s" for name in where)
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {conditions}"  # noqa: S608


def select_columns(model: type[Model], table: str, connection) -> list[str]:
    """`model`'s concrete columns, in field order, of the table aliased `table` in a SELECT whose
    rows `fetch_instances` reads."""
    quote = connection.ops.quote_name
    return [f"{table}.{quote(field.column)}" for field in model._meta.concrete_fields]


def fetch_instances(connection, sql: str, params, models: tuple[type[Model], ...]) -> tuple[Model | None, ...] | None:
    """The first row of `sql` as one instance of each of `models`, whose columns (`select_columns`)
    it lists in that order, each value converted as the ORM converts it (on SQLite a datetime
    arrives as text); None for a model whose primary key is NULL (a LEFT JOIN that found nothing),
    and None for no row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    instances: list[Model | None] = []
    start = 0
    for model in models:
        fields = model._meta.concrete_fields
        values = [_converted(field, value, connection) for field, value in zip(fields, row[start:], strict=False)]
        start += len(fields)
        pk_index = fields.index(model._meta.pk)
        missing = values[pk_index] is None
        instances.append(None if missing else model.from_db(connection.alias, [f.attname for f in fields], values))
    return tuple(instances)


def _converted(field, value, connection):
    if value is None:
        return None
    column, converters = _converters(field, connection.alias)
    for converter in converters:
        value = converter(value, column, connection)
    return value


@functools.cache
def _converters(field, alias: str) -> tuple:
    """What the ORM calls on `field`'s value as read (the backend's converters, then the field's)."""
    column = field.get_col(field.model._meta.db_table)
    connection = connections[alias]
    return column, tuple(connection.ops.get_db_converters(column) + column.get_db_converters(connection))
