from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core import errors
from locations.models import Location
from pricing.models import Price
from pricing.selectors import offered_at, quota_used


class PriceNotFound(errors.NotFound):
    def __init__(self, price_id):
        super().__init__("Price not found", details={"price_id": str(price_id)})


class PriceInactive(errors.Rejected):
    def __init__(self, price_id):
        super().__init__("Price is inactive", details={"price_id": str(price_id)})


class PriceNotOffered(errors.Invalid):
    def __init__(self, price_id, location_id: int):
        super().__init__(
            "Price is not offered at this location", details={"price_id": str(price_id), "location_id": location_id}
        )


class QuotaExceeded(errors.Invalid):
    def __init__(self, price_id, quota: int, used: int):
        super().__init__("Price quota exceeded", details={"price_id": str(price_id), "quota": quota, "used": used})


def lock_price_for_sale(*, price_id, location_id: int, now: datetime) -> Price:
    """Lock the price row and check it can be sold once more, at `location_id`.

    Checks in this order: the price exists, is active, is offered at the location, has quota left.
    Must run inside `transaction.atomic()`: the lock is held until the caller has inserted its sale
    and committed, so concurrent sales of one price are counted one after another and a quota is
    never oversold. Whether the location may sell it is read in the same query as the lock.
    """
    price = (
        Price.objects.select_for_update(of=("self",))
        .annotate(offered_here=offered_at(location_id))
        .filter(pk=price_id)
        .first()
    )
    if price is None:
        raise PriceNotFound(price_id)
    if not price.is_active:
        raise PriceInactive(price.pk)
    if not price.offered_here:
        raise PriceNotOffered(price.pk, location_id)
    if price.quota is not None:
        used = quota_used(price, now)
        if used >= price.quota:
            raise QuotaExceeded(price.pk, price.quota, used)
    return price


def set_prices_active(*, prices: QuerySet[Price], active: bool) -> int:
    """Let kiosks sell prices again, or stop them; their sales stay. One UPDATE; the count changed."""
    return Price.objects.filter(pk__in=prices.values("pk")).update(is_active=active, updated_at=timezone.now())


def limit_price_to_locations(*, price: Price, locations: Iterable[Location]) -> None:
    """Sell `price` only at `locations`; none at all = at every location."""
    with transaction.atomic():
        price.locations.set(locations)
