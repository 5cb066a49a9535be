"""The customer funnel: of the sales started on a Jakarta day at a machine, how many were paid,
got their photos, their email, opened their gallery and downloaded photos.

Every step counts the same customers, the sales that *started* that day: a sale started at 23:58
and paid at 00:01 counts on the day it started (the sales report counts it on the day it was paid).
It reads the sale row (payments) and the gallery's side of it (the photo email, the visit counters),
which is why it lives here: gallery reads payments, never the reverse.
"""

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection

from core.formats import JAKARTA, jakarta_day_start
from gallery.models import EmailKind, EmailOutbox, GalleryVisits
from locations.models import Location
from payments.models import PAID_STATUSES, Sale

# The steps in order: (key, words staff read). Each is a subset of the one before, bar rare cases
# (photos stored for a sale refunded since, say): the page says so.
STEPS = [
    ("started", "Sales started (QR shown)"),
    ("paid", "Paid"),
    ("uploaded", "Photos uploaded"),
    ("emailed", "Email delivered"),
    ("opened", "Gallery opened"),
    ("downloaded", "Photos downloaded"),
]
STEP_KEYS = [key for key, _ in STEPS]


@dataclass(frozen=True)
class Counts:
    started: int = 0
    paid: int = 0
    uploaded: int = 0
    emailed: int = 0
    opened: int = 0
    downloaded: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(*(getattr(self, key) + getattr(other, key) for key in STEP_KEYS))

    def values(self) -> list[int]:
        return [getattr(self, key) for key in STEP_KEYS]


@dataclass(frozen=True)
class FunnelCell:
    day: date
    location: Location
    counts: Counts


@dataclass
class Funnel:
    date_from: date
    date_to: date
    totals: Counts = Counts()
    days: list[tuple[date, Counts]] = field(default_factory=list)  # every day of the period
    locations: list[tuple[Location, Counts]] = field(default_factory=list)  # most sales started first
    cells: list[FunnelCell] = field(default_factory=list)  # day, then machine code; the first `max_cells`
    cells_total: int = 0  # how many (day, machine) lines the period has, shown or not


# The sales of the period, each joined to its photo email and its visit counters (one row or none
# each), with their Jakarta day. Only the models' table and column names are written into the SQL;
# the values are parameters.
_SALES = """
    SELECT (s.{created_at} AT TIME ZONE %(timezone)s)::date AS day, s.{location_id} AS location_id,
        s.{status} = ANY(%(paid_statuses)s) AS paid, e.{email_id} AS photo_email, s.{email_sent_at} AS emailed,
        v.{visits_id} AS visits, v.{zip_downloads} > 0 OR v.{photo_downloads} > 0 AS downloaded
    FROM {sale} s
    LEFT OUTER JOIN {email} e ON e.{email_sale} = s.{sale_id} AND e.{email_kind} = %(photo_email)s
    LEFT OUTER JOIN {visits} v ON v.{visits_id} = s.{sale_id}
    WHERE s.{created_at} >= %(start)s AND s.{created_at} < %(end)s
"""
_LOCATION_FILTER = " AND s.{location_id} = ANY(%(location_ids)s)"
_COUNTS = """COUNT(*) AS started, COUNT(*) FILTER (WHERE paid) AS paid, COUNT(photo_email) AS uploaded,
        COUNT(emailed) AS emailed, COUNT(visits) AS opened, COUNT(*) FILTER (WHERE downloaded) AS downloaded"""

# Every total in one pass, with GROUPING SETS: per (day, machine) line (level 0), per day (1), per
# machine (2) and for the period (3). Of the lines, only the first `max_cells` by day and machine
# code come back (all when it is NULL), each with how many there are.
_GROUPED = """
WITH counted AS (
    SELECT day, location_id, GROUPING(day, location_id) AS level, {counts}
    FROM ({sales}) sales
    GROUP BY GROUPING SETS ((day, location_id), (day), (location_id), ())
), ranked AS (
    SELECT counted.*, COUNT(*) OVER (PARTITION BY level) AS lines,
        ROW_NUMBER() OVER (PARTITION BY level ORDER BY day, l.{machine_code}) AS line
    FROM counted LEFT OUTER JOIN {location} l ON l.{location_pk} = counted.location_id
)
SELECT level, day, location_id, started, paid, uploaded, emailed, opened, downloaded, lines
FROM ranked WHERE level <> 0 OR line <= %(max_cells)s OR %(max_cells)s IS NULL
"""

# Every (day, machine) line in order, with the machine's code and name: the CSV's rows.
_LINES = """
SELECT counted.day, l.{machine_code}, l.{location_name},
    started, paid, uploaded, emailed, opened, downloaded
FROM (SELECT day, location_id, {counts} FROM ({sales}) sales GROUP BY day, location_id) counted
INNER JOIN {location} l ON l.{location_pk} = counted.location_id
ORDER BY counted.day, l.{machine_code}
"""


@functools.cache
def _names() -> dict[str, str]:
    quote = connection.ops.quote_name
    sale, email, visits, location = Sale._meta, EmailOutbox._meta, GalleryVisits._meta, Location._meta
    return {
        "sale": quote(sale.db_table),
        "email": quote(email.db_table),
        "visits": quote(visits.db_table),
        "location": quote(location.db_table),
        "sale_id": quote(sale.pk.column),
        "email_id": quote(email.pk.column),
        "visits_id": quote(visits.pk.column),
        "location_pk": quote(location.pk.column),
        **{name: quote(sale.get_field(name).column) for name in ("status", "email_sent_at", "created_at")},
        "location_id": quote(sale.get_field("location").column),
        "email_sale": quote(email.get_field("sale").column),
        "email_kind": quote(email.get_field("kind").column),
        **{name: quote(visits.get_field(name).column) for name in ("zip_downloads", "photo_downloads")},
        "machine_code": quote(location.get_field("machine_code").column),
        "location_name": quote(location.get_field("name").column),
    }


def _sql(template: str, location_ids: list[int] | None) -> str:
    sales = _SALES + (_LOCATION_FILTER if location_ids else "")
    return template.format(sales=sales.format(**_names()), counts=_COUNTS, **_names())


def _params(date_from: date, date_to: date, location_ids: list[int] | None, **more) -> dict:
    return {
        "paid_statuses": [status.value for status in PAID_STATUSES],
        "photo_email": EmailKind.CUSTOMER_PHOTOS.value,
        "start": jakarta_day_start(date_from),
        "end": jakarta_day_start(date_to + timedelta(days=1)),
        "location_ids": list(location_ids or []),
        "timezone": str(JAKARTA),
        **more,
    }


def funnel(
    *, date_from: date, date_to: date, location_ids: list[int] | None = None, max_cells: int | None = None
) -> Funnel:
    """The funnel per Jakarta day (of the sale's start) and machine, `date_from` to `date_to`
    included, with the first `max_cells` (day, machine) lines (all without it). Two queries
    whatever the period: the counts, summed by PostgreSQL per line, day, machine and in all, and the
    machines named in them.

    - started: every sale created (the kiosk showed its QR code);
    - paid: COMPLETED, or REFUNDED since;
    - uploaded: the kiosk's upload finished, every photo stored (the photo email was queued);
    - emailed: the customer's email went out;
    - opened: the gallery link was used (the page, or a download);
    - downloaded: the ZIP or at least one photo was downloaded.
    """
    params = _params(date_from, date_to, location_ids, max_cells=max_cells)
    with connection.cursor() as cursor:
        cursor.execute(_sql(_GROUPED, location_ids), params)
        rows = cursor.fetchall()
    locations = Location.objects.in_bulk({row[2] for row in rows if row[2] is not None})
    result = Funnel(date_from=date_from, date_to=date_to)
    by_day: dict[date, Counts] = {}
    by_location: list[tuple[Location, Counts]] = []
    for level, day, location_id, *values, lines in rows:
        counts = Counts(*values)
        if level == 0:
            result.cells.append(FunnelCell(day, locations[location_id], counts))
            result.cells_total = lines
        elif level == 1:
            by_day[day] = counts
        elif level == 2:
            by_location.append((locations[location_id], counts))
        else:
            result.totals = counts
    result.cells.sort(key=lambda cell: (cell.day, cell.location.machine_code))
    day = date_from
    while day <= date_to:
        result.days.append((day, by_day.get(day, Counts())))
        day += timedelta(days=1)
    result.locations = sorted(by_location, key=lambda line: (-line[1].started, line[0].machine_code))
    return result


def funnel_lines(
    *, date_from: date, date_to: date, location_ids: list[int] | None = None
) -> Iterator[tuple[date, str, str, Counts]]:
    """Every (day, machine) line of the funnel, by day and machine code: (day, machine code, machine
    name, counts), read from PostgreSQL in chunks as they are used (the CSV of a year is 73,000)."""
    params = _params(date_from, date_to, location_ids)
    with connection.chunked_cursor() as cursor:
        cursor.execute(_sql(_LINES, location_ids), params)
        while chunk := cursor.fetchmany(2000):
            for day, machine_code, name, *values in chunk:
                yield day, machine_code, name, Counts(*values)
