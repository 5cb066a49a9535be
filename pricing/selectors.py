from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.apps import apps
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest

from pricing.models import Price, PriceLocation

# The two sale statuses that hold a place of a price's quota (payments.models.SaleStatus.COMPLETED
# and PENDING). Sales live in payments, which sits above pricing, so pricing names them here;
# tests/pricing checks they are still SaleStatus values. A refunded sale holds none.
SOLD = "COMPLETED"
AWAITING_PAYMENT = "PENDING"
HOLDING_QUOTA = (SOLD, AWAITING_PAYMENT)


def quota_usage_filter(prefix: str = "") -> Q:
    """Sales that hold a place of their price's quota: paid ones, and ones awaiting payment until
    they are expired, failed or cancelled (what `Price.quota_used` counts).

    `prefix` lets the same rule filter sales directly ("") or through the price ("sales__").
    """
    return Q(**{f"{prefix}status__in": HOLDING_QUOTA})


def overdue_filter(now: datetime) -> Q:
    """Sales still awaiting payment past their expiry that nobody has expired yet (cron runs every
    minute). They still hold their place in `Price.quota_used`, but a customer never sees them take
    one: the menu counts their places as free, and a sale refused for quota expires them and tries
    again (payments.services.create_sale)."""
    return Q(status=AWAITING_PAYMENT, expires_at__lte=now)


def _sales():
    return apps.get_model("payments", "Sale")._default_manager  # by name: pricing sits below payments


def _count_of_sales(condition: Q) -> Coalesce:
    """The number of the price's sales meeting `condition`, as a subquery (0 when none)."""
    counted = (
        _sales()
        .filter(condition, price=OuterRef("pk"))
        .order_by()
        .values("price")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@dataclass(frozen=True)
class QuotaCount:
    """A price's counters beside its sales counted in full."""

    price_id: UUID
    price: str
    quota_used: int
    counted_quota_used: int
    paid_sales: int
    counted_paid_sales: int

    @property
    def differs(self) -> bool:
        return (self.quota_used, self.paid_sales) != (self.counted_quota_used, self.counted_paid_sales)


def quota_counts(prices: QuerySet[Price] | None = None) -> list[QuotaCount]:
    """Every price (of `prices`) with its counters and its sales counted in full, in one query: a
    snapshot, in which every transition has changed its sale and its counter together. Counts every
    sale: for checking the counters (`manage.py check_quotas`), never on a request."""
    rows = (
        (Price.objects.all() if prices is None else prices)
        .annotate(
            counted_quota_used=_count_of_sales(quota_usage_filter()),
            counted_paid_sales=_count_of_sales(Q(status=SOLD)),
        )
        .order_by("created_at", "pk")
    )
    return [
        QuotaCount(
            price_id=price.pk,
            price=str(price),
            quota_used=price.quota_used,
            counted_quota_used=price.counted_quota_used,
            paid_sales=price.paid_sales,
            counted_paid_sales=price.counted_paid_sales,
        )
        for price in rows
    ]


def quota_differences() -> list[QuotaCount]:
    """The prices whose counters differ from their sales counted in full (see `quota_counts`)."""
    return [count for count in quota_counts() if count.differs]


def offered_at(location_id: int) -> Q:
    """Prices a location may sell: those limited to it, and those limited to no location at all."""
    limits = PriceLocation.objects.filter(price=OuterRef("pk"))
    return ~Exists(limits) | Exists(limits.filter(location_id=location_id))


def menu(*, location_id: int, now: datetime) -> QuerySet[Price]:
    """The active prices `location_id` may sell, cheapest first, with `quota_remaining` (never below
    0; None when the quota is unlimited): one query, whatever the number of prices.

    Remaining is what sale creation would find: the quota less `quota_used`, giving back the places
    of sales overdue but not yet expired (creation expires those before refusing). Those are
    counted by a subquery only for prices with a quota, over the few overdue sales alone.
    """
    return (
        Price.objects.filter(offered_at(location_id), is_active=True)
        .annotate(
            quota_remaining=Case(
                When(quota__isnull=True, then=Value(None)),
                default=Greatest(F("quota") - F("quota_used") + _count_of_sales(overdue_filter(now)), 0),
                output_field=IntegerField(),
            )
        )
        .order_by("amount", "description", "pk")
    )
