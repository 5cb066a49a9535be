"""The staff charts of paid sales, beside the funnel (backoffice/funnel.py): when customers pay
(Jakarta weekday and hour), with what (the channel Xendit reports), and how long they take from
the QR code to paying. A sale counts on the day its payment arrived, like the sales report; the
summary's days come from FunnelDay's hour columns and FunnelPayments, the others from the sales
(gallery/funnel_sources.py). One query each.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import connection

from gallery.funnel_sources import Sources, hour_lines, names, payment_lines, summary_filter
from gallery.models import PAID_HOUR_FIELDS

# Summed per day first (grouping by the day column is quick), then per weekday (at most 367 rows).
_HOURS = """
SELECT EXTRACT(ISODOW FROM day)::int AS weekday, {sums}
FROM (SELECT t.day, {sums} FROM {funnel_day} t WHERE {summary_filter} GROUP BY t.day UNION ALL
      SELECT day, {sums} FROM ({hour_lines}) live GROUP BY day) days
GROUP BY 1
"""


def paid_by_weekday_and_hour(*, sources: Sources) -> dict[tuple[int, int], int]:
    """{(ISO weekday 1 = Monday .. 7, Jakarta hour 0..23): paid sales}; empty cells left out."""
    sql = _HOURS.format(
        sums=", ".join(f"SUM({name}) AS {name}" for name in PAID_HOUR_FIELDS),
        summary_filter=summary_filter(sources.location_ids),
        hour_lines=hour_lines(sources.location_ids, sources.live_ranges),
        **names(),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, sources.params())
        rows = cursor.fetchall()
    return {(weekday, hour): int(count) for weekday, *counts in rows for hour, count in enumerate(counts) if count}


@dataclass(frozen=True)
class ChannelLine:
    channel: str  # as Xendit reports it (DANA, OVO, SHOPEEPAY, ...); "" when it did not say
    sales: int
    amount: Decimal
    median_time_to_pay: timedelta


_PAYMENTS = """
SELECT channel, seconds_to_pay, SUM(sales)::int, SUM(amount)
FROM (SELECT t.channel, t.seconds_to_pay, SUM(t.sales) AS sales, SUM(t.amount) AS amount
      FROM {funnel_payments} t WHERE {summary_filter} GROUP BY t.channel, t.seconds_to_pay
      UNION ALL SELECT channel, seconds_to_pay, sales, amount FROM ({payment_lines}) live) lines
GROUP BY channel, seconds_to_pay
"""


def median(histogram: dict[int, int]) -> timedelta | None:
    """The median of {seconds: how many}: the middle value, or the mean of the two middle ones."""
    total = sum(histogram.values())
    if not total:
        return None
    middle: list[int] = []
    seen = 0
    for seconds in sorted(histogram):
        before, seen = seen, seen + histogram[seconds]
        # The values at positions (total - 1) // 2 and total // 2 (0-based): one, or the two middle ones.
        middle += [seconds for position in {(total - 1) // 2, total // 2} if before <= position < seen]
    return timedelta(seconds=sum(middle) / len(middle))


def channel_mix_and_median(*, sources: Sources) -> tuple[list[ChannelLine], timedelta | None]:
    """Paid sales, their amount and the median time to pay (whole seconds from the QR code to the
    payment) per payment channel, most sales first; and the median of them all (None without)."""
    machines, ranges = sources.location_ids, sources.live_ranges
    live = payment_lines(machines, ranges)
    sql = _PAYMENTS.format(summary_filter=summary_filter(machines), payment_lines=live, **names())
    with connection.cursor() as cursor:
        cursor.execute(sql, sources.params())
        rows = cursor.fetchall()
    by_channel: dict[str, dict[int, int]] = {}
    amounts: dict[str, Decimal] = {}
    every: dict[int, int] = {}
    for channel, seconds, sales, amount in rows:
        by_channel.setdefault(channel, {})[seconds] = sales
        amounts[channel] = amounts.get(channel, Decimal(0)) + amount
        every[seconds] = every.get(seconds, 0) + sales
    lines = [
        ChannelLine(channel, sum(histogram.values()), amounts[channel], median(histogram))  # type: ignore[arg-type]
        for channel, histogram in by_channel.items()
    ]
    return sorted(lines, key=lambda line: (-line.sales, line.channel)), median(every)
