from datetime import datetime

from django.db.models import Count, Q, QuerySet

from pricing.models import Price

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
