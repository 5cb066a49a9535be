"""Vouchers on their own: codes people can type, what a voucher takes off, flyer batches."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from core import errors
from pricing import vouchers
from pricing.models import CODE_ALPHABET, Voucher, VoucherKind, normalize_code

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["hemat25", "HEMAT-25", " hemat 25 ", "He-Mat 2-5"])
def test_a_code_is_read_without_case_spaces_or_dashes(typed):
    assert normalize_code(typed) == "HEMAT25"


def test_codes_have_no_look_alike_characters():
    assert not set("0O1I") & set(CODE_ALPHABET)


def test_staff_cannot_choose_a_code_with_look_alikes(make_voucher):
    voucher = Voucher(code="HEMAT2010", kind=VoucherKind.PERCENT, value=Decimal(10))

    with pytest.raises(ValidationError) as refused:
        voucher.full_clean()

    assert "look-alikes" in str(refused.value)


def test_a_code_staff_type_is_stored_as_kiosks_look_it_up():
    voucher = Voucher(code="he-mat 25", kind=VoucherKind.FREE)

    voucher.full_clean()

    assert voucher.code == "HEMAT25"


@pytest.mark.parametrize(
    ("kind", "value", "list_price", "discount"),
    [
        (VoucherKind.PERCENT, 10, 40000, 4000),
        (VoucherKind.PERCENT, 15, 12345, 1851),  # 1851.75: the customer pays the fraction, in whole rupiah
        (VoucherKind.PERCENT, 100, 40000, 40000),
        (VoucherKind.FIXED, 5000, 40000, 5000),
        (VoucherKind.FIXED, 50000, 40000, 40000),  # never more than the price: a free session
        (VoucherKind.FREE, None, 40000, 40000),
    ],
)
def test_what_a_voucher_takes_off(kind, value, list_price, discount):
    voucher = Voucher(kind=kind, value=None if value is None else Decimal(value))

    assert vouchers.discount_for(voucher=voucher, list_price=Decimal(list_price)) == Decimal(discount)


def test_a_discount_never_leaves_less_than_the_qris_minimum(monkeypatch):
    monkeypatch.setattr(vouchers, "QRIS_MIN_AMOUNT", Decimal(1500))
    voucher = Voucher(kind=VoucherKind.FIXED, value=Decimal(39000))

    assert vouchers.discount_for(voucher=voucher, list_price=Decimal(40000)) == Decimal(38500)


@pytest.mark.parametrize(
    ("kind", "value"),
    [(VoucherKind.PERCENT, None), (VoucherKind.PERCENT, 120), (VoucherKind.FIXED, "100.50"), (VoucherKind.FREE, 5)],
)
def test_the_database_refuses_a_value_that_does_not_fit_the_kind(kind, value):
    with pytest.raises(IntegrityError):
        Voucher.objects.create(code="BAD", kind=kind, value=None if value is None else Decimal(value))


def test_a_batch_is_that_many_unique_single_use_codes_with_the_same_discount(make_price, make_location):
    price, location = make_price(40000), make_location()
    template = Voucher(kind=VoucherKind.FREE, description="Flyer Grand Indonesia")

    made = vouchers.create_batch(
        count=50, batch="GI-2026", prefix="grand", template=template, prices=[price], locations=[location]
    )

    assert len({voucher.code for voucher in made}) == 50
    stored = Voucher.objects.filter(batch="GI-2026")
    assert stored.count() == 50
    for voucher in stored:
        assert voucher.code.startswith("GRAND")
        assert set(voucher.code) <= set(CODE_ALPHABET)
        assert (voucher.kind, voucher.max_uses, voucher.uses) == (VoucherKind.FREE, 1, 0)
        assert list(voucher.prices.all()) == [price]
        assert list(voucher.locations.all()) == [location]


@pytest.mark.parametrize("count", [0, vouchers.BATCH_MAX + 1])
def test_a_batch_has_a_sensible_size(count):
    with pytest.raises(errors.Invalid):
        vouchers.create_batch(count=count, batch="X", template=Voucher(kind=VoucherKind.FREE))
