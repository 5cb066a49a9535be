"""Where the funnel's numbers come from: the summary for the closed days summarise_funnel wrote
(gallery/funnel_summary.py), the sales themselves for every other day (today, and any day not
summarised yet). One place says how a sale counts: the SQL below, which both the summary and the
pages' live part run, so the two can never disagree.

A period is split once per page (`sources`): the days summarised when it was read, and the ranges
of days to count from the sales. A day summarised meanwhile is still counted live by that page,
never twice: the summary part reads only the days listed here.
"""

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection

from core.formats import JAKARTA, jakarta_day_start
from gallery.models import (
    PAID_HOUR_FIELDS,
    EmailKind,
    EmailOutbox,
    FunnelDay,
    FunnelPayments,
    FunnelSummarisedDay,
    GalleryVisits,
)
from locations.models import Location
from payments.models import PAID_STATUSES, Sale

SALE_COLUMNS = (
    "status",
    "email_sent_at",
    "created_at",
    "paid_at",
    "payment_channel",
    "amount",
    "updated_at",
    "photos_deleted_at",
)


@functools.cache
def names() -> dict[str, str]:
    """The models' quoted table and column names, for the SQL here and in the funnel's modules."""
    quote = connection.ops.quote_name
    sale, email, visits, location = Sale._meta, EmailOutbox._meta, GalleryVisits._meta, Location._meta
    return {
        "sale": quote(sale.db_table),
        "email": quote(email.db_table),
        "visits": quote(visits.db_table),
        "location": quote(location.db_table),
        "funnel_day": quote(FunnelDay._meta.db_table),
        "funnel_payments": quote(FunnelPayments._meta.db_table),
        "summarised": quote(FunnelSummarisedDay._meta.db_table),
        "sale_id": quote(sale.pk.column),
        "email_id": quote(email.pk.column),
        "visits_id": quote(visits.pk.column),
        "location_pk": quote(location.pk.column),
        **{name: quote(sale.get_field(name).column) for name in SALE_COLUMNS},
        "location_id": quote(sale.get_field("location").column),
        "email_sale": quote(email.get_field("sale").column),
        "email_kind": quote(email.get_field("kind").column),
        **{name: quote(visits.get_field(name).column) for name in ("zip_downloads", "photo_downloads")},
        "machine_code": quote(location.get_field("machine_code").column),
        "location_name": quote(location.get_field("name").column),
    }


# Each sale *started* in the ranges (r.start_at to r.end_at), with its Jakarta day and machine and
# how far it went: paid (COMPLETED, or REFUNDED since); photos uploaded (the kiosk stored every
# photo: the photo email was queued); email delivered; gallery opened (the link was used: a
# GalleryVisits row); photos downloaded (the ZIP or at least one photo).
_STARTED = """
SELECT (s.{created_at} AT TIME ZONE %(timezone)s)::date AS day, s.{location_id} AS location_id,
    s.{status} = ANY(%(paid_statuses)s) AS paid, e.{email_id} AS photo_email, s.{email_sent_at} AS emailed,
    v.{visits_id} AS visits, v.{zip_downloads} > 0 OR v.{photo_downloads} > 0 AS downloaded
FROM {sale} s
LEFT OUTER JOIN {email} e ON e.{email_sale} = s.{sale_id} AND e.{email_kind} = %(photo_email)s
LEFT OUTER JOIN {visits} v ON v.{visits_id} = s.{sale_id}
WHERE {created_in_ranges}
"""
# Each sale *paid* in the ranges (refunded since included), with the Jakarta day and hour the money
# came, the channel Xendit reported and the whole seconds from the QR code to the payment.
_PAID = """
SELECT (s.{paid_at} AT TIME ZONE %(timezone)s)::date AS day, s.{location_id} AS location_id,
    EXTRACT(HOUR FROM s.{paid_at} AT TIME ZONE %(timezone)s)::int AS hour, s.{payment_channel} AS channel,
    round(EXTRACT(EPOCH FROM s.{paid_at} - s.{created_at}))::int AS seconds_to_pay, s.{amount} AS amount
FROM {sale} s
WHERE s.{status} = ANY(%(paid_statuses)s) AND {paid_in_ranges}
"""
_LOCATION_FILTER = " AND s.{location_id} = ANY(%(location_ids)s)"

STEP_COLUMNS = ["started", "paid", "uploaded", "emailed", "opened", "downloaded"]

# Per (day, machine): the funnel's six counts; the paid sales per hour; the paid sales and their
# amount per channel and time to pay. The same columns as FunnelDay and FunnelPayments.
_STARTED_LINES = """SELECT day, location_id, COUNT(*) AS started, COUNT(*) FILTER (WHERE paid) AS paid,
    COUNT(photo_email) AS uploaded, COUNT(emailed) AS emailed, COUNT(visits) AS opened,
    COUNT(*) FILTER (WHERE downloaded) AS downloaded
FROM ({sales}) sales GROUP BY day, location_id"""
_HOUR_COUNTS = ", ".join(f"COUNT(*) FILTER (WHERE hour = {hour}) AS {col}" for hour, col in enumerate(PAID_HOUR_FIELDS))
_HOUR_LINES = "SELECT day, location_id, {hour_counts} FROM ({sales}) sales GROUP BY day, location_id"
_PAYMENT_LINES = """SELECT day, location_id, channel, seconds_to_pay, COUNT(*) AS sales, SUM(amount) AS amount
FROM ({sales}) sales GROUP BY day, location_id, channel, seconds_to_pay"""


def _in_ranges(column: str, ranges: list[tuple[date, date]]) -> str:
    # Each range written out, bounds as parameters (ranges_params), rather than joined to an array
    # of them: PostgreSQL then estimates the rows from its statistics and reads the index on the
    # column, instead of guessing a third of the table and reading all of it.
    bounds = [f"(s.{column} >= %(start_{n})s AND s.{column} < %(end_{n})s)" for n in range(len(ranges))]
    return f"({' OR '.join(bounds)})" if bounds else "FALSE"


def _sales(template: str, location_ids: list[int] | None, ranges: list[tuple[date, date]]) -> str:
    where = {
        "created_in_ranges": _in_ranges(names()["created_at"], ranges),
        "paid_in_ranges": _in_ranges(names()["paid_at"], ranges),
    }
    return (template + (_LOCATION_FILTER if location_ids else "")).format(**names(), **where)


def started_lines(location_ids: list[int] | None, ranges: list[tuple[date, date]]) -> str:
    """SQL: (day, location_id, the six step counts) of the sales started in the ranges of days."""
    return _STARTED_LINES.format(sales=_sales(_STARTED, location_ids, ranges))


def hour_lines(location_ids: list[int] | None, ranges: list[tuple[date, date]]) -> str:
    """SQL: (day, location_id, paid_00h..paid_23h) of the sales paid in the ranges of days."""
    return _HOUR_LINES.format(hour_counts=_HOUR_COUNTS, sales=_sales(_PAID, location_ids, ranges))


def payment_lines(location_ids: list[int] | None, ranges: list[tuple[date, date]]) -> str:
    """SQL: (day, location_id, channel, seconds_to_pay, sales, amount) of the sales paid in the ranges."""
    return _PAYMENT_LINES.format(sales=_sales(_PAID, location_ids, ranges))


def summary_filter(location_ids: list[int] | None) -> str:
    """SQL: a summary table's rows (alias t) of the period's days that are not counted live (at the
    chosen machines). Not "the days summarised": a day summarised since `sources` read the list is
    counted live by this page, and must not be read from the summary too."""
    where = "t.day BETWEEN %(date_from)s AND %(date_to)s AND t.day <> ALL(%(live_days)s)"
    return where + (" AND t.location_id = ANY(%(location_ids)s)" if location_ids else "")


def ranges_params(days: list[tuple[date, date]]) -> dict:
    """The parameters of the live SQL: its ranges of Jakarta days (first, last) as instants."""
    return {
        **{f"start_{n}": jakarta_day_start(first) for n, (first, _) in enumerate(days)},
        **{f"end_{n}": jakarta_day_start(last + timedelta(days=1)) for n, (_, last) in enumerate(days)},
        "paid_statuses": [status.value for status in PAID_STATUSES],
        "photo_email": EmailKind.CUSTOMER_PHOTOS.value,
        "timezone": str(JAKARTA),
    }


@dataclass(frozen=True)
class Sources:
    """A period split between the summary and the sales, and the summary's state for the page."""

    date_from: date
    date_to: date
    location_ids: list[int]
    summarised_days: list[date]  # read from the summary
    live_ranges: list[tuple[date, date]]  # counted from the sales: (first day, last day) each
    last_summarised_at: datetime | None  # when summarise_funnel last wrote a day; None: never
    first_summarised_day: date | None  # the earliest day summarised: the first day with a sale

    def params(self, **more) -> dict:
        return {
            **ranges_params(self.live_ranges),
            "date_from": self.date_from,
            "date_to": self.date_to,
            "live_days": [
                first + timedelta(days=n) for first, last in self.live_ranges for n in range((last - first).days + 1)
            ],
            "location_ids": self.location_ids,
            **more,
        }

    def days_behind(self, today: date) -> int:
        """Closed days of the period, since the first summarised day, not summarised yet (counted
        live, so right, only slower): right after deploying, or while the first run is going."""
        if self.first_summarised_day is None:
            return 0
        first, last = max(self.date_from, self.first_summarised_day), min(self.date_to, today - timedelta(days=1))
        return max(0, (last - first).days + 1 - sum(1 for day in self.summarised_days if first <= day <= last))


_STATE = """
SELECT (SELECT array_agg(day ORDER BY day) FROM {summarised} WHERE day BETWEEN %(date_from)s AND %(date_to)s),
    (SELECT MAX(summarised_at) FROM {summarised}), (SELECT MIN(day) FROM {summarised})
"""


def sources(*, date_from: date, date_to: date, location_ids: list[int] | None = None) -> Sources:
    """Which days of `date_from`..`date_to` the summary has, and the rest as ranges of days to
    count from the sales. One query."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE.format(**names()), {"date_from": date_from, "date_to": date_to})
        days, last_summarised_at, first_summarised_day = cursor.fetchone()
    summarised = set(days or [])
    ranges: list[tuple[date, date]] = []
    day = date_from
    while day <= date_to:
        if day not in summarised:
            if ranges and ranges[-1][1] == day - timedelta(days=1):
                ranges[-1] = (ranges[-1][0], day)
            else:
                ranges.append((day, day))
        day += timedelta(days=1)
    return Sources(
        date_from, date_to, list(location_ids or []), sorted(summarised), ranges, last_summarised_at,
        first_summarised_day,
    )  # fmt: skip
