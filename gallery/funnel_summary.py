"""Keeping the funnel's summary (FunnelDay, FunnelPayments, FunnelSummarisedDay): run hourly by
`manage.py summarise_funnel`, so the staff page reads closed days from it instead of the sales.

A closed day still changes: a gallery is opened or downloaded until its photos are deleted (14
days after the email, PHOTO_RETENTION_DAYS), an email is delivered after retries, a payment comes
late or staff record one, a sale is refunded. Each run rewrites the days that may have changed
since they were summarised (`days_to_summarise`), and any closed day never summarised. Each day is
rewritten in one transaction that first takes its FunnelSummarisedDay row (an upsert, so its row
lock): two runs at once rewrite the same day one after the other, never both at once, and running
again changes nothing when the sales did not.
"""

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from core.formats import JAKARTA
from gallery.funnel_sources import STEP_COLUMNS, hour_lines, names, payment_lines, ranges_params, started_lines
from gallery.models import PAID_HOUR_FIELDS, FunnelDay, FunnelPayments

# A sale's updated_at is set before its transaction commits: a change committed just after a day
# was summarised may carry a time a little before it. Anything this close counts as after.
COMMIT_MARGIN = timedelta(minutes=15)

# The closed days to rewrite: never summarised (from the first sale's day on); with a sale whose
# gallery is still open (paid, photos not deleted yet: it may still get its email, be opened or
# downloaded); with a sale changed (paid, refunded, emailed, ...) since the day was summarised, on
# the day it started or the day it was paid; with a sale whose gallery link was first used (an
# expired gallery's page counts as an open too), or whose photo email was queued, since. The second
# part reads every sale: a second or so an hour at 1,000,000 sales.
_DAYS_TO_SUMMARISE = """
SELECT day::date FROM generate_series(
    (SELECT (MIN(s.{created_at}) AT TIME ZONE %(timezone)s)::date FROM {sale} s)::timestamp,
    %(yesterday)s::timestamp, interval '1 day'
) AS day
WHERE NOT EXISTS (SELECT FROM {summarised} l WHERE l.day = day::date)
UNION
SELECT l.day FROM (
    SELECT (s.{created_at} AT TIME ZONE %(timezone)s)::date AS day, s.{updated_at} AS updated_at,
        s.{status} = ANY(%(paid_statuses)s) AND s.{photos_deleted_at} IS NULL AS gallery_open
    FROM {sale} s
    UNION ALL
    SELECT (s.{paid_at} AT TIME ZONE %(timezone)s)::date, s.{updated_at}, FALSE
    FROM {sale} s WHERE s.{paid_at} IS NOT NULL
) changed
INNER JOIN {summarised} l ON l.day = changed.day
WHERE changed.gallery_open OR changed.updated_at >= l.summarised_at - %(margin)s
UNION
SELECT l.day FROM (
    SELECT (s.{created_at} AT TIME ZONE %(timezone)s)::date AS day, v.first_opened_at AS changed_at
    FROM {visits} v INNER JOIN {sale} s ON s.{sale_id} = v.{visits_id}
    WHERE v.first_opened_at >= {since}
    UNION ALL
    SELECT (s.{created_at} AT TIME ZONE %(timezone)s)::date, e.created_at
    FROM {email} e INNER JOIN {sale} s ON s.{sale_id} = e.{email_sale}
    WHERE e.{email_kind} = %(photo_email)s AND e.created_at >= {since}
) changed
INNER JOIN {summarised} l ON l.day = changed.day
WHERE changed.changed_at >= l.summarised_at - %(margin)s
ORDER BY 1
"""
# Since the last run (at least the last 3 hours): a first visit or a photo email since then.
_SINCE = "LEAST(%(now)s - interval '3 hours', (SELECT MAX(summarised_at) FROM {summarised}) - %(margin)s)"

_UPSERT_DAY = """
INSERT INTO {summarised} (day, summarised_at) VALUES (%(day)s, %(now)s)
ON CONFLICT (day) DO UPDATE SET summarised_at = excluded.summarised_at
"""
_WRITE_FUNNEL_DAYS = """
INSERT INTO {funnel_day} (day, location_id, {steps}, {hours})
SELECT day, location_id, {step_sums}, {hour_sums} FROM (
    SELECT day, location_id, {steps}, {no_hours} FROM ({started_lines}) started
    UNION ALL
    SELECT day, location_id, {no_steps}, {hours} FROM ({hour_lines}) paid
) lines
GROUP BY day, location_id
"""
_WRITE_PAYMENTS = """
INSERT INTO {funnel_payments} (day, location_id, channel, seconds_to_pay, sales, amount) {payment_lines}
"""


def days_to_summarise(*, now: datetime) -> list[date]:
    """The closed Jakarta days (before `now`'s) whose summary is missing or may be out of date."""
    today = now.astimezone(JAKARTA).date()
    params = {
        **ranges_params([]),
        "yesterday": today - timedelta(days=1),
        "margin": COMMIT_MARGIN,
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(_DAYS_TO_SUMMARISE.format(since=_SINCE.format(**names()), **names()), params)
        return [day for (day,) in cursor.fetchall() if day < today]


def summarise_day(*, day: date, now: datetime | None = None) -> None:
    """Rewrite `day`'s summary, every machine's, from the sales, in one transaction."""
    now = now or timezone.now()
    steps, hours = ", ".join(STEP_COLUMNS), ", ".join(PAID_HOUR_FIELDS)
    sql = {
        **names(),
        "steps": steps,
        "hours": hours,
        "step_sums": ", ".join(f"SUM({step})" for step in STEP_COLUMNS),
        "hour_sums": ", ".join(f"SUM({hour})" for hour in PAID_HOUR_FIELDS),
        "no_steps": ", ".join(f"0 AS {step}" for step in STEP_COLUMNS),
        "no_hours": ", ".join(f"0 AS {hour}" for hour in PAID_HOUR_FIELDS),
        "started_lines": started_lines(None, [(day, day)]),
        "hour_lines": hour_lines(None, [(day, day)]),
        "payment_lines": payment_lines(None, [(day, day)]),
    }
    params = {**ranges_params([(day, day)]), "day": day, "now": now}
    with transaction.atomic(), connection.cursor() as cursor:
        # First: the day's row, locked until commit, so a second run rewriting this day waits here.
        cursor.execute(_UPSERT_DAY.format(**sql), params)
        FunnelDay.objects.filter(day=day).delete()
        FunnelPayments.objects.filter(day=day).delete()
        cursor.execute(_WRITE_FUNNEL_DAYS.format(**sql), params)
        cursor.execute(_WRITE_PAYMENTS.format(**sql), params)


@dataclass(frozen=True)
class SummaryReport:
    days: list[date]
    seconds: float


def summarise_funnel(*, now: datetime | None = None) -> SummaryReport:
    """Rewrite the summary of every closed day that needs it (days_to_summarise), oldest first."""
    started = time.monotonic()
    now = now or timezone.now()
    days = days_to_summarise(now=now)
    for day in days:
        summarise_day(day=day)
    return SummaryReport(days=days, seconds=time.monotonic() - started)
