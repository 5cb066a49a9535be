from datetime import datetime

from django.apps import apps
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Greatest

from pricing.models import Price, PriceLocation

# The two sale statuses the quota counts (payments.models.SaleStatus.COMPLETED and PENDING). Sales
# live in payments, which sits above pricing, so pricing names them here; tests/pricing checks
# they are still SaleStatus values.
SOLD = "COMPLETED"
AWAITING_PAYMENT = "PENDING"


def quota_usage_filter(now: datetime, prefix: str = "") -> Q:
    """Sales that use up a price's quota: paid ones, and ones still awaiting payment.

    `prefix` lets the same rule filter sales directly ("") or through the price ("sales__").
    """
    return Q(**{f"{prefix}status": SOLD}) | Q(**{f"{prefix}status": AWAITING_PAYMENT, f"{prefix}expires_at__gt": now})


def quota_used(price: Price, now: datetime) -> int:
    return price.sales.filter(quota_usage_filter(now)).count()


def prices_with_usage(now: datetime) -> QuerySet[Price]:
    """Prices annotated with `quota_used` and `sales_count` in one query (for the admin list)."""
    return Price.objects.annotate(
        quota_used=Count("sales", filter=quota_usage_filter(now, "sales__")),
        sales_count=Count("sales", filter=Q(sales__status=SOLD)),
    )


def offered_at(location_id: int) -> Q:
    """Prices a location may sell: those limited to it, and those limited to no location at all."""
    limits = PriceLocation.objects.filter(price=OuterRef("pk"))
    return ~Exists(limits) | Exists(limits.filter(location_id=location_id))


def menu(*, location_id: int, now: datetime) -> QuerySet[Price]:
    """The active prices `location_id` may sell, cheapest first, with `quota_remaining` (never below
    0; None when the quota is unlimited): one query, whatever the number of prices.

    Usage is counted by a subquery only for prices with a quota, so an unlimited price's whole
    sales history is never counted.
    """
    sale = apps.get_model("payments", "Sale")  # by name: pricing sits below payments and may not import it
    usage = (
        sale._default_manager.filter(quota_usage_filter(now), price=OuterRef("pk"))
        .order_by()
        .values("price")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return (
        Price.objects.filter(offered_at(location_id), is_active=True)
        .annotate(
            quota_remaining=Case(
                When(quota__isnull=True, then=Value(None)),
                default=Greatest(F("quota") - Coalesce(Subquery(usage), 0), 0),
                output_field=IntegerField(),
            )
        )
        .order_by("amount", "description", "pk")
    )
