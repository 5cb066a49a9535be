"""Flyer batches (`create_batch`, the admin's "Make a batch of flyer codes"): their size, their
prefix, codes already taken drawn again, and what staff read when a batch cannot be made."""

import itertools
import threading

import pytest
from django.db import connections, transaction

from core import errors
from pricing import vouchers
from pricing.models import CODE_ALPHABET, Voucher, VoucherKind
from tests.support.concurrency import wait_until_another_query_waits_for_this_transaction

pytestmark = pytest.mark.django_db

FREE = Voucher(kind=VoucherKind.FREE)


@pytest.mark.parametrize("count", [1, vouchers.BATCH_MAX], ids=["one", "the most"])
def test_a_batch_of_one_code_up_to_the_most_allowed_is_made(count):
    made = vouchers.create_batch(count=count, batch="Flyers", prefix="", template=FREE)

    assert len(made) == Voucher.objects.filter(batch="Flyers").count() == count


@pytest.mark.parametrize("count", [0, vouchers.BATCH_MAX + 1])
def test_a_batch_of_no_codes_or_too_many_is_refused_saying_how_many_may_be_made(count):
    with pytest.raises(errors.Invalid) as refused:
        vouchers.create_batch(count=count, batch="Flyers", template=FREE)

    assert (refused.value.message, refused.value.details) == ("Make from 1 to 5000 codes at a time.", {"count": count})
    assert not Voucher.objects.exists()


def test_a_batch_without_a_prefix_has_codes_of_the_random_part_alone():
    [voucher] = vouchers.create_batch(count=1, batch="Flyers", template=FREE)

    assert len(voucher.code) == vouchers.RANDOM_LENGTH
    assert set(voucher.code) <= set(CODE_ALPHABET)


@pytest.mark.parametrize("prefix", ["GOLD", "MALL1", "ÄB"])
def test_a_prefix_with_a_look_alike_or_other_character_is_refused_saying_which_may_be_used(prefix):
    with pytest.raises(errors.Invalid) as refused:
        vouchers.create_batch(count=1, batch="Flyers", prefix=prefix, template=FREE)

    assert refused.value.message == "The prefix may use only A-Z and 2-9, without 0, O, 1 and I."
    assert not Voucher.objects.exists()


class ScriptedDraws:
    """The random source `create_batch` draws codes from, answering a planned code per draw."""

    def __init__(self, codes: list[str]):
        self.characters = itertools.chain.from_iterable(codes)

    def choice(self, alphabet: str) -> str:
        return next(self.characters)


def draw(n: int) -> str:
    """The n-th planned random part (8 characters of the code alphabet)."""
    return CODE_ALPHABET[n] * vouchers.RANDOM_LENGTH


@pytest.mark.parametrize(("taken", "made"), [(4, True), (5, False)])
def test_codes_already_taken_are_drawn_again_five_times_then_staff_are_told_what_to_do(monkeypatch, taken, made):
    for n in range(taken):
        Voucher.objects.create(code="GR" + draw(n), kind=VoucherKind.FREE)
    monkeypatch.setattr(vouchers, "secrets", ScriptedDraws([draw(n) for n in range(6)]))

    if made:
        [voucher] = vouchers.create_batch(count=1, batch="Flyers", prefix="GR", template=FREE)
        assert voucher.code == "GR" + draw(taken)
    else:
        with pytest.raises(errors.Conflict) as refused:
            vouchers.create_batch(count=1, batch="Flyers", prefix="GR", template=FREE)
        assert refused.value.message == "Could not draw enough unused codes: use a longer prefix, or fewer codes."
        assert not Voucher.objects.filter(batch="Flyers").exists()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_code_another_batch_takes_while_ours_is_being_stored_is_drawn_again(monkeypatch):
    inserted = threading.Event()

    def another_batch() -> None:
        # Stores the code ours is about to draw, and commits once our insert waits for it.
        try:
            with transaction.atomic():
                Voucher.objects.create(code="GR" + draw(0), kind=VoucherKind.FREE, batch="Other flyers")
                inserted.set()
                wait_until_another_query_waits_for_this_transaction()
        finally:
            connections.close_all()

    other = threading.Thread(target=another_batch)
    other.start()
    assert inserted.wait(timeout=30)
    monkeypatch.setattr(vouchers, "secrets", ScriptedDraws([draw(0), draw(1)]))

    [voucher] = vouchers.create_batch(count=1, batch="Flyers", prefix="GR", template=FREE)
    other.join()

    assert voucher.code == "GR" + draw(1)
    stored = dict(Voucher.objects.values_list("code", "batch"))
    assert stored == {"GR" + draw(0): "Other flyers", voucher.code: "Flyers"}
