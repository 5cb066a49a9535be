import functools
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import cast

from django.db import connections, router, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Greatest
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from core import errors
from locations.models import Location
from pricing.models import Price
from pricing.selectors import HOLDING_QUOTA, SOLD, QuotaCount, offered_at, quota_counts, quota_differences


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
    def __init__(self, price_id, quota: int | None, used: int):
        super().__init__("Price quota exceeded", details={"price_id": str(price_id), "quota": quota, "used": used})


def lock_price_for_sale(*, price_id, location_id: int) -> Price:
    """Lock the price row, check it can be sold once more at `location_id`, and count the sale the
    caller is about to insert as holding a place of its quota.

    Checks in this order: the price exists, is active, is offered at the location, has quota left.
    Must run inside `transaction.atomic()`, the caller's sale inserted in the same transaction: the
    lock is held until it commits, so concurrent sales of one price are counted one after another
    and a quota is never oversold, and a rollback gives the place back. One statement when the
    sale may be made (`place_taking_sql`); a refusal reads the price again to say why.
    """
    for last_try in (False, True):
        sql, params = place_taking_sql(price_id=price_id, location_id=location_id)
        taken = list(Price.objects.raw(sql, params))
        if taken:
            return taken[0]
        explain_refusal(price_id=price_id, location_id=location_id, last_try=last_try)
    raise AssertionError  # never reached: explain_refusal raises on the last try


def place_taking_sql(*, price_id, location_id: int) -> tuple[str, tuple]:
    """`quota_used` + 1 on the price if it is active, offered at the location and has a place left,
    as one UPDATE … RETURNING every column of the price (none: refused, see `explain_refusal`).

    It takes the row lock: a concurrent sale waits, and its WHERE is then checked against this
    one's count. For `lock_price_for_sale`, and for a caller that inserts its sale in the same
    statement (payments.transitions.start_taking_its_place)."""
    connection = connections[router.db_for_write(Price)]
    sql, sample_params = _place_taking_statement(connection.alias)
    pk = Price._meta.pk
    assert pk is not None
    price = pk.get_db_prep_value(pk.to_python(price_id), connection)
    sample_price = pk.get_db_prep_value(SAMPLE_PRICE, connection)
    # Only the two stand-ins are replaced: the statement's other parameters (the 1 added) differ from both.
    stand_ins = {SAMPLE_LOCATION: location_id, sample_price: price}
    return sql, tuple(stand_ins.get(param, param) for param in sample_params)


# Stand-ins the statement is compiled with once per process (compiling it took a millisecond of
# every sale), then replaced by each sale's own values.
SAMPLE_PRICE = uuid.UUID("5a3b1e00-0000-4000-8000-00000000c0de")
SAMPLE_LOCATION = -20_261_207
STAND_IN_TYPES = (int, str, uuid.UUID)


@functools.cache
def _place_taking_statement(alias: str) -> tuple[str, tuple]:
    can_sell = (
        Price.objects.using(alias)
        .filter(offered_at(SAMPLE_LOCATION), pk=SAMPLE_PRICE, is_active=True)
        .filter(Q(quota__isnull=True) | Q(quota_used__lt=F("quota")))
    )
    update = cast(UpdateQuery, can_sell.query.chain(UpdateQuery))
    update.add_update_values({"quota_used": F("quota_used") + 1})
    sql, params = update.get_compiler(alias).as_sql()
    pk = Price._meta.pk
    assert pk is not None
    sample_price = pk.get_db_prep_value(SAMPLE_PRICE, connections[alias])
    found = [param for param in params if type(param) in STAND_IN_TYPES and param in (SAMPLE_LOCATION, sample_price)]
    if sorted(map(str, found)) != sorted(map(str, (SAMPLE_LOCATION, sample_price))):
        raise RuntimeError(f"The stand-ins are not found once each in {sql} {params}")
    # Django's update() answers a row count only: RETURNING is added here.
    return f"{sql} RETURNING *", tuple(params)


def explain_refusal(*, price_id, location_id: int, last_try: bool) -> None:
    """Why `place_taking_sql` took no place, as the price is now: unknown, inactive, not offered at
    the location, or its quota used up. Returns (try again) when it may be sold after all (a place
    came free, or staff changed the price, between the two statements), unless on the `last_try`,
    which is then refused as found full a moment ago."""
    refused = Price.objects.annotate(offered_here=offered_at(location_id)).filter(pk=price_id).first()
    if refused is None:
        raise PriceNotFound(price_id)
    if not refused.is_active:
        raise PriceInactive(refused.pk)
    if not refused.offered_here:
        raise PriceNotOffered(refused.pk, location_id)
    if last_try or (refused.quota is not None and refused.quota_used >= refused.quota):
        raise QuotaExceeded(refused.pk, refused.quota, refused.quota_used)


def quota_change(*, from_status: str, to_status: str) -> tuple[int, int]:
    """How one sale going from `from_status` ("" for a new one) to `to_status` changes its price's
    (`quota_used`, `paid_sales`): the one rule of which changes take or free quota. Today's rule:
    awaiting payment and paid hold a place (pricing.selectors.HOLDING_QUOTA); an unpaid end and a
    full refund free it; a late payment takes it again, even past the quota (the customer paid)."""
    used = (to_status in HOLDING_QUOTA) - (from_status in HOLDING_QUOTA)
    paid = (to_status == SOLD) - (from_status == SOLD)
    return used, paid


def count_sales(*, price_ids: Iterable, from_status: str, to_status: str) -> None:
    """Count the change of sales of `price_ids` (one mention per sale) from `from_status` to
    `to_status` in their prices' counters (`quota_change`). Called by payments.transitions, in the
    transaction that changed the sales, only for sales it did change; in price id order, so
    concurrent callers never deadlock. Never below 0: a count that would be is a drift that
    `manage.py check_quotas` reports; it must not stop a refund or an expiry."""
    used, paid = quota_change(from_status=from_status, to_status=to_status)
    if not used and not paid:
        return
    counts = Counter(pk for pk in price_ids if pk is not None)
    for pk in sorted(counts, key=str):
        Price.objects.filter(pk=pk).update(
            quota_used=Greatest(F("quota_used") + used * counts[pk], 0),
            paid_sales=Greatest(F("paid_sales") + paid * counts[pk], 0),
        )


def fix_quota_counts() -> list[QuotaCount]:
    """Set the counters of every price whose counts differ from its sales counted in full to that
    count, each under its price's row lock; the prices fixed, with the counts they had.

    Under the lock no sale of the price is created, and a transition under way has changed its
    sale but waits for this lock to count it: not committed, it is not counted here either, and its
    change applies to the repaired count once this commits."""
    fixed = []
    for difference in quota_differences():
        with transaction.atomic():
            # The lock first, then the count: a statement's snapshot is taken before it waits for a lock.
            Price.objects.select_for_update().filter(pk=difference.price_id).values_list("pk").first()
            now = next(iter(quota_counts(Price.objects.filter(pk=difference.price_id))), None)
            if now is None or not now.differs:
                continue
            Price.objects.filter(pk=now.price_id).update(
                quota_used=now.counted_quota_used, paid_sales=now.counted_paid_sales
            )
            fixed.append(now)
    return fixed


def set_prices_active(*, prices: QuerySet[Price], active: bool) -> int:
    """Let kiosks sell prices again, or stop them; their sales stay. One UPDATE; the count changed."""
    return Price.objects.filter(pk__in=prices.values("pk")).update(is_active=active, updated_at=timezone.now())


def limit_price_to_locations(*, price: Price, locations: Iterable[Location]) -> None:
    """Sell `price` only at `locations`; none at all = at every location."""
    with transaction.atomic():
        price.locations.set(locations)
