"""The customer funnel: of the sales started on a Jakarta day at a machine, how many were paid,
got their photos, their email, opened their gallery and downloaded photos.

Every step counts the same customers, the sales that *started* that day: a sale started at 23:58
and paid at 00:01 counts on the day it started (the sales report counts it on the day it was paid).
It reads the sale row (payments) and the gallery's side of it (the photo email, the visit counters),
which is why it lives here: gallery reads payments, never the reverse. Closed days come from the
summary summarise_funnel keeps (gallery/funnel_summary.py), the others from the sales
(gallery/funnel_sources.py says which is which, and how a sale counts).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection

from gallery.funnel_sources import STEP_COLUMNS, Sources, names, started_lines, summary_filter
from locations.models import Location

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


# The period's (day, machine) lines: the summary's for the days it has, counted from the sales for
# the others (gallery/funnel_sources.py). A summary row with no sale started holds only the sales
# paid that day (a sale started the evening before): no funnel line, as counted live.
_LINES = """
SELECT t.day, t.location_id, {steps} FROM {funnel_day} t WHERE {summary_filter} AND t.started > 0
UNION ALL {started_lines}
"""
_SUMS = ", ".join(f"COALESCE(SUM({step}), 0)::int AS {step}" for step in STEP_COLUMNS)

# Every total in one statement: per day (level 1), per machine (2) and for the period (3), with
# GROUPING SETS; then the first `max_cells` (day, machine) lines by day and machine code (level 0;
# all when it is NULL), each with how many lines there are. The lines are one per (day, machine)
# already (a day is either summarised or counted live), so only the sums need grouping.
_GROUPED = """
WITH lines AS MATERIALIZED ({lines}),
first_lines AS (
    SELECT lines.* FROM lines INNER JOIN {location} l ON l.{location_pk} = lines.location_id
    ORDER BY lines.day, l.{machine_code} LIMIT %(max_cells)s
)
SELECT GROUPING(day, location_id) AS level, day, location_id, {sums}, NULL
FROM lines GROUP BY GROUPING SETS ((day), (location_id), ())
UNION ALL
SELECT 0, day, location_id, {steps}, (SELECT COUNT(*) FROM lines) FROM first_lines
"""

# Every (day, machine) line in order, with the machine's code and name: the CSV's rows.
_ORDERED = """
SELECT lines.day, l.{machine_code}, l.{location_name}, {steps}
FROM ({lines}) lines INNER JOIN {location} l ON l.{location_pk} = lines.location_id
ORDER BY lines.day, l.{machine_code}
"""


def _sql(template: str, location_ids: list[int], ranges: list[tuple[date, date]]) -> str:
    lines = _LINES.format(
        steps=", ".join(STEP_COLUMNS),
        summary_filter=summary_filter(location_ids),
        started_lines=started_lines(location_ids, ranges),
        **names(),
    )
    return template.format(lines=lines, sums=_SUMS, steps=", ".join(STEP_COLUMNS), **names())


def funnel(*, sources: Sources, max_cells: int | None = None) -> Funnel:
    """The funnel per Jakarta day (of the sale's start) and machine, over the period of `sources`
    (gallery.funnel_sources.sources), with the first `max_cells` (day, machine) lines (all without
    it). Two queries whatever the period: the counts, summed by PostgreSQL per line, day, machine and
    in all (the summary's days and the others counted from the sales), and the machines named.

    - started: every sale created (the kiosk showed its QR code);
    - paid: COMPLETED, or REFUNDED since;
    - uploaded: the kiosk's upload finished, every photo stored (the photo email was queued);
    - emailed: the customer's email went out;
    - opened: the gallery link was used (the page, or a download);
    - downloaded: the ZIP or at least one photo was downloaded.
    """
    date_from, date_to = sources.date_from, sources.date_to
    with connection.cursor() as cursor:
        cursor.execute(_sql(_GROUPED, sources.location_ids, sources.live_ranges), sources.params(max_cells=max_cells))
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


def funnel_lines(*, sources: Sources) -> Iterator[tuple[date, str, str, int, int, int, int, int, int]]:
    """Every (day, machine) line of the funnel, by day and machine code: (day, machine code, machine
    name, then the six counts in the order of STEPS), read from PostgreSQL in chunks as they are
    used (the CSV of a year is 73,000: plain rows, no object each)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(_sql(_ORDERED, sources.location_ids, sources.live_ranges), sources.params())
        while chunk := cursor.fetchmany(2000):
            yield from chunk
