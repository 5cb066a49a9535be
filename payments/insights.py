"""Reads for the staff charts of paid sales (backoffice/funnel.py): when customers pay (Jakarta
weekday and hour), with what (the channel Xendit reports), and how long they take from the QR code
to paying. A sale counts in the period its payment arrived, like the sales report. One query each
(the page asks for the channels and the median together: one pass over the paid sales).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Aggregate, Count, DurationField, F, QuerySet, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from core.formats import JAKARTA, jakarta_day_start
from payments.models import PAID_STATUSES, Sale


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5): the middle value (the mean of the two middle ones)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


def paid_sales(*, date_from: date, date_to: date, location_ids: list[int] | None = None) -> QuerySet[Sale]:
    """Sales paid from `date_from` to `date_to` (Jakarta days, both included), refunded ones too."""
    start, end = jakarta_day_start(date_from), jakarta_day_start(date_to + timedelta(days=1))
    sales = Sale.objects.filter(status__in=PAID_STATUSES, paid_at__gte=start, paid_at__lt=end)
    if location_ids:
        sales = sales.filter(location_id__in=location_ids)
    return sales


def paid_by_weekday_and_hour(sales: QuerySet[Sale]) -> dict[tuple[int, int], int]:
    """{(ISO weekday 1 = Monday .. 7, Jakarta hour 0..23): paid sales}; empty cells left out."""
    rows = (
        sales.annotate(
            weekday=ExtractIsoWeekDay("paid_at", tzinfo=JAKARTA), hour=ExtractHour("paid_at", tzinfo=JAKARTA)
        )
        .values("weekday", "hour")
        .annotate(sales=Count("*"))
        .order_by()
    )
    return {(row["weekday"], row["hour"]): row["sales"] for row in rows}


@dataclass(frozen=True)
class ChannelLine:
    channel: str  # as Xendit reports it (DANA, OVO, SHOPEEPAY, ...); "" when it did not say
    sales: int
    amount: Decimal
    median_time_to_pay: timedelta


def channel_mix(sales: QuerySet[Sale]) -> list[ChannelLine]:
    """Paid sales, their amount and the median time to pay per payment channel, most sales first."""
    rows = (
        sales.values("payment_channel")
        .annotate(sales=Count("*"), amount=Sum("amount"), median=Median(F("paid_at") - F("created_at")))
        .order_by("-sales", "payment_channel")
    )
    return [ChannelLine(row["payment_channel"], row["sales"], row["amount"], row["median"]) for row in rows]


def median_time_to_pay(sales: QuerySet[Sale]) -> timedelta | None:
    """The median time from the sale's start (the QR code shown) to its payment; None without sales."""
    return sales.aggregate(median=Median(F("paid_at") - F("created_at")))["median"]


def channel_mix_and_median(sales: QuerySet[Sale]) -> tuple[list[ChannelLine], timedelta | None]:
    """channel_mix() and median_time_to_pay() in one query, one pass over the sales (GROUPING SETS:
    per channel, and all of them)."""
    try:
        paid, params = (
            sales.values("payment_channel", "amount", "paid_at", "created_at").order_by().query.sql_with_params()
        )
    except EmptyResultSet:  # a filter that can match nothing (.none(), `__in=[]`): no query
        return [], None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT GROUPING(payment_channel), payment_channel, COUNT(*), SUM(amount),"  # noqa: S608 (Django's SQL)
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY paid_at - created_at)"
            f" FROM ({paid}) paid GROUP BY GROUPING SETS ((payment_channel), ())",
            params,
        )
        rows = cursor.fetchall()
    lines = sorted(
        (ChannelLine(channel, count, amount, median) for every, channel, count, amount, median in rows if not every),
        key=lambda line: (-line.sales, line.channel),
    )
    return lines, next(median for every, *_, median in rows if every)
