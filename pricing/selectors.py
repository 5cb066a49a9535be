from datetime import datetime

from django.db.models import Count, Q, QuerySet

from pricing.models import Price


def quota_usage_filter(now: datetime, prefix: str = "") -> Q:
    """Sales that use up a price's quota: paid ones, and ones still awaiting payment.

    `prefix` lets the same rule filter sales directly ("") or through the price ("sales__").
    """
    return Q(**{f"{prefix}status": "COMPLETED"}) | Q(**{f"{prefix}status": "PENDING", f"{prefix}expires_at__gt": now})


def quota_used(price: Price, now: datetime) -> int:
    return price.sales.filter(quota_usage_filter(now)).count()


def prices_with_usage(now: datetime) -> QuerySet[Price]:
    """Prices annotated with `quota_used` and `sales_count` in one query (for the admin list)."""
    return Price.objects.annotate(
        quota_used=Count("sales", filter=quota_usage_filter(now, "sales__")),
        sales_count=Count("sales", filter=Q(sales__status="COMPLETED")),
    )
