"""Taking a use of a voucher (`redeem`, under its row lock in the sale's transaction): the edges of
its window, the machines it is for, the time its use was taken, and the QRIS minimum's edge."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pricing import vouchers
from pricing.models import Voucher, VoucherKind

pytestmark = pytest.mark.django_db

OPENS = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
CLOSES = OPENS + timedelta(days=14)


def take(voucher: Voucher, *, price, location_id: int, now: datetime) -> Decimal:
    return vouchers.redeem(voucher=voucher, price=price, location_id=location_id, now=now, used_by_email=False)


def test_a_voucher_is_taken_from_the_very_moment_its_window_opens(make_voucher, price, location):
    voucher = make_voucher(valid_from=OPENS, valid_until=CLOSES)

    assert take(voucher, price=price, location_id=location.pk, now=OPENS) == Decimal(4000)
    assert Voucher.objects.get().uses == 1


def test_a_voucher_is_expired_at_the_very_moment_its_window_closes(make_voucher, price, location):
    voucher = make_voucher(valid_from=OPENS, valid_until=CLOSES)

    with pytest.raises(vouchers.VoucherExpired):
        take(voucher, price=price, location_id=location.pk, now=CLOSES)

    assert Voucher.objects.get().uses == 0


def test_a_voucher_for_some_machines_is_taken_at_those_machines(make_voucher, make_location, price, location):
    voucher = make_voucher(valid_from=OPENS, locations=[make_location(), location])

    assert take(voucher, price=price, location_id=location.pk, now=CLOSES) == Decimal(4000)
    assert Voucher.objects.get().uses == 1


def test_taking_a_use_stamps_the_voucher_with_the_time_of_the_sale(make_voucher, price, location):
    voucher = make_voucher(valid_from=OPENS)

    take(voucher, price=price, location_id=location.pk, now=CLOSES)

    assert Voucher.objects.get().updated_at == CLOSES


@pytest.mark.parametrize(("off", "discount"), [(39999, 38500), (38500, 38500), (38499, 38499)])
def test_a_discount_leaving_less_than_the_qris_minimum_leaves_the_minimum(monkeypatch, off, discount):
    monkeypatch.setattr(vouchers, "QRIS_MIN_AMOUNT", Decimal(1500))
    voucher = Voucher(kind=VoucherKind.FIXED, value=Decimal(off))

    assert vouchers.discount_for(voucher=voucher, list_price=Decimal(40000)) == Decimal(discount)


def test_a_code_of_only_spaces_and_dashes_finds_no_voucher_not_even_one_stored_without_a_code(make_voucher):
    make_voucher("")  # stored by a script, past the admin's check that a voucher has a code

    with pytest.raises(vouchers.VoucherNotFound) as refused:
        vouchers.lock_voucher(code=" - ")

    assert refused.value.details == {"voucher_code": "-"}
