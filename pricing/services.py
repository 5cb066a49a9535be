from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from core import errors
from pricing.models import Price
from pricing.selectors import quota_used


class PriceNotFound(errors.NotFound):
    def __init__(self, price_id):
        super().__init__("Price not found", details={"price_id": str(price_id)})


class PriceInactive(errors.Rejected):
    def __init__(self, price_id):
        super().__init__("Price is inactive", details={"price_id": str(price_id)})


class QuotaExceeded(errors.Invalid):
    def __init__(self, price_id, quota: int, used: int):
        super().__init__("Price quota exceeded", details={"price_id": str(price_id), "quota": quota, "used": used})


def lock_price_for_sale(*, price_id, now: datetime) -> Price:
    """Lock the price row and check it can be sold once more.

    Must run inside `transaction.atomic()`: the lock is held until the caller has inserted its sale
    and committed, so concurrent sales of one price are counted one after another and a quota is
    never oversold.
    """
    price = Price.objects.select_for_update().filter(pk=price_id).first()
    if price is None:
        raise PriceNotFound(price_id)
    if not price.is_active:
        raise PriceInactive(price.pk)
    if price.quota is not None:
        used = quota_used(price, now)
        if used >= price.quota:
            raise QuotaExceeded(price.pk, price.quota, used)
    return price


def set_prices_active(*, prices: QuerySet[Price], active: bool) -> int:
    """Let kiosks sell prices again, or stop them; their sales stay. One UPDATE; the count changed."""
    return Price.objects.filter(pk__in=prices.values("pk")).update(is_active=active, updated_at=timezone.now())
