"""Vouchers: what a code takes off a price, and counting its uses under the voucher's row lock.

A voucher's uses are the sales holding it. Sales live in payments, above pricing: payments makes
the sale (payments.services.create_sale: lock_voucher, then redeem, in the transaction that
inserts the sale) and gives a use back when the sale ends unpaid (payments.transitions:
give_back, in the transaction of the status change). Rules that read sales (one use per customer
email) are worked out by payments and passed in.
"""

import secrets
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

from core import errors
from core.formats import jakarta_iso
from pricing.models import CODE_ALPHABET, QRIS_MIN_AMOUNT, Price, Voucher, VoucherKind, normalize_code


# --- Errors the kiosk sees (all 422, the code in details; checked after the price's quota) ---
class VoucherRefused(errors.Invalid):
    def __init__(self, message: str, code: str, **details):
        super().__init__(message, details={"voucher_code": code, **details})


class VoucherNotFound(VoucherRefused):
    def __init__(self, code: str):
        super().__init__("Voucher not found", code)


class VoucherExpired(VoucherRefused):
    def __init__(self, voucher: Voucher):
        super().__init__(
            "Voucher expired",
            voucher.code,
            valid_from=jakarta_iso(voucher.valid_from),
            valid_until=jakarta_iso(voucher.valid_until),
        )


class VoucherNotForPrice(VoucherRefused):
    def __init__(self, voucher: Voucher, price: Price):
        super().__init__("Voucher not valid for this package", voucher.code, price_id=str(price.pk))


class VoucherNotForLocation(VoucherRefused):
    def __init__(self, voucher: Voucher, location_id: int):
        super().__init__("Voucher not valid at this location", voucher.code, location_id=location_id)


class VoucherUsedUp(VoucherRefused):
    def __init__(self, voucher: Voucher, *, by_email: bool):
        details = {"reason": "one use per customer email"} if by_email else {"max_uses": voucher.max_uses}
        super().__init__("Voucher already used", voucher.code, **details)


# --- What a voucher takes off ----------------------------------------------------------------
def discount_for(*, voucher: Voucher, list_price: Decimal) -> Decimal:
    """The rupiah `voucher` takes off `list_price`, in whole rupiah and never more than the price.

    A percentage is rounded down to whole rupiah (the customer pays the rupiah fraction). A
    discount that would leave something but less than QRIS's minimum is reduced so the minimum is
    paid ("raised to the minimum"); with whole rupiah and Xendit's minimum of Rp 1 that cannot
    happen today, and leaving nothing makes a free session.
    """
    if voucher.kind == VoucherKind.FREE:
        return list_price
    if voucher.kind == VoucherKind.PERCENT:
        off = (list_price * voucher.value / 100).quantize(Decimal(1), rounding=ROUND_FLOOR)
    else:
        off = voucher.value
    off = min(off, list_price)
    left = list_price - off
    if 0 < left < QRIS_MIN_AMOUNT:
        off = list_price - QRIS_MIN_AMOUNT
    return off


# --- Redeeming and giving back -----------------------------------------------------------------
def lock_voucher(*, code: str) -> Voucher:
    """The voucher with this code, row-locked until the caller's transaction ends (call inside
    `transaction.atomic()`, after the price's lock). Raises VoucherNotFound."""
    normalized = normalize_code(code)
    voucher = Voucher.objects.select_for_update().filter(code=normalized).first() if normalized else None
    if voucher is None:
        raise VoucherNotFound(normalized or code.strip())
    return voucher


def redeem(*, voucher: Voucher, price: Price, location_id: int, now: datetime, used_by_email: bool) -> Decimal:
    """Check `voucher` (locked by lock_voucher) may pay part of a sale of `price` at `location_id`
    and take one use; returns the discount. `used_by_email`: the customer's email already holds a
    use of it (payments knows; only read when the voucher allows one use per email).

    Checks in this order, the first failure wins: window (and active), package, location, uses.
    """
    if not voucher.is_active or now < voucher.valid_from or (voucher.valid_until and now >= voucher.valid_until):
        raise VoucherExpired(voucher)
    prices = set(voucher.prices.values_list("pk", flat=True))
    if prices and price.pk not in prices:
        raise VoucherNotForPrice(voucher, price)
    locations = set(voucher.locations.values_list("pk", flat=True))
    if locations and location_id not in locations:
        raise VoucherNotForLocation(voucher, location_id)
    if voucher.max_uses is not None and voucher.uses >= voucher.max_uses:
        raise VoucherUsedUp(voucher, by_email=False)
    if voucher.one_per_email and used_by_email:
        raise VoucherUsedUp(voucher, by_email=True)
    Voucher.objects.filter(pk=voucher.pk).update(uses=F("uses") + 1, updated_at=now)
    return discount_for(voucher=voucher, list_price=price.amount)


def give_back(*, voucher_ids: Iterable[int | None]) -> None:
    """One use back to each voucher named, once per mention (sales that ended unpaid). In voucher
    id order, so concurrent callers never deadlock; for sales the caller has locked."""
    counts = Counter(pk for pk in voucher_ids if pk is not None)
    for pk in sorted(counts):
        Voucher.objects.filter(pk=pk).update(uses=F("uses") - counts[pk])


def take_again(*, voucher_id: int | None) -> None:
    """A sale that ended unpaid was paid after all (a late payment): it holds its voucher again,
    even past `max_uses`, since the customer paid the discounted amount."""
    if voucher_id is not None:
        Voucher.objects.filter(pk=voucher_id).update(uses=F("uses") + 1)


# --- Batches of flyer codes --------------------------------------------------------------------
BATCH_MAX = 5000
RANDOM_LENGTH = 8  # 40 bits from 32 characters: not guessed at the kiosk's rate limit


def new_code(prefix: str = "") -> str:
    return normalize_code(prefix) + "".join(secrets.choice(CODE_ALPHABET) for _ in range(RANDOM_LENGTH))


def create_batch(
    *, count: int, batch: str, prefix: str = "", template: Voucher, prices=(), locations=()
) -> list[Voucher]:
    """`count` single-use vouchers with unique random codes, each a copy of `template`'s discount,
    window and limits. Codes already taken are drawn again."""
    if not 1 <= count <= BATCH_MAX:
        raise errors.Invalid(f"Make from 1 to {BATCH_MAX} codes at a time.", details={"count": count})
    if any(char not in CODE_ALPHABET for char in normalize_code(prefix)):
        raise errors.Invalid("The prefix may use only A-Z and 2-9, without 0, O, 1 and I.")
    fields = {
        "description": template.description,
        "batch": batch,
        "kind": template.kind,
        "value": template.value,
        "valid_from": template.valid_from,
        "valid_until": template.valid_until,
        "max_uses": 1,
        "one_per_email": template.one_per_email,
        "is_active": template.is_active,
    }
    for _ in range(5):
        codes: set[str] = set()
        while len(codes) < count:
            codes.add(new_code(prefix))
        if Voucher.objects.filter(code__in=codes).exists():
            continue
        try:
            with transaction.atomic():
                vouchers = Voucher.objects.bulk_create(Voucher(code=code, **fields) for code in sorted(codes))
                Voucher.prices.through.objects.bulk_create(
                    Voucher.prices.through(voucher_id=voucher.pk, price_id=price.pk)
                    for voucher in vouchers
                    for price in prices
                )
                Voucher.locations.through.objects.bulk_create(
                    Voucher.locations.through(voucher_id=voucher.pk, location_id=location.pk)
                    for voucher in vouchers
                    for location in locations
                )
        except IntegrityError:
            continue  # a code made meanwhile by someone else: draw again
        return vouchers
    raise errors.Conflict("Could not draw enough unused codes: use a longer prefix, or fewer codes.")
