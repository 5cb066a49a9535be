"""A cleanup run as the operator reads it, against the fake Cloudinary: every storage call it made
is counted (the one refused with 429 included), a run goes on after fewer than three failed
batches in a row, and a run whose claim another run took over (it looked dead, 15 minutes) never
re-dates the deletion the other run recorded."""

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from gallery.cleanup import cleanup_photos
from payments.models import Sale, SaleStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def sale_with_photos(make_sale, make_photo, fake_cloudinary):
    """A paid sale whose email went out 20 days ago, with `count` photos stored at the fake."""

    def make(*, count: int = 12) -> Sale:
        sent = timezone.now() - timedelta(days=20)
        sale = make_sale(status=SaleStatus.COMPLETED, paid_at=sent, email_sent_at=sent)
        for position in range(1, count + 1):
            key = f"photobox/{sale.external_id}/{position:03d}"
            asset = fake_cloudinary.put(key)
            make_photo(sale, position, storage_key=key, url=fake_cloudinary.delivery_url(asset), stored_at=sent)
        return sale

    return make


def test_a_run_refused_with_429_after_a_call_that_went_through_counts_both_calls(sale_with_photos, fake_cloudinary):
    """Someone in the Media Library spends the rest of the hour's budget while the run deletes its
    first batch: the second call is refused, and the run reports both."""
    first, second = sale_with_photos(count=100), sale_with_photos(count=100)  # one delete call each

    def budget_spent_meanwhile(public_id: str) -> bool:
        fake_cloudinary.remaining = 0
        return False

    fake_cloudinary.fail_deletes_for = budget_spent_meanwhile
    out = io.StringIO()

    call_command("cleanup", stdout=out)

    assert [call.status for call in fake_cloudinary.admin_calls] == [200, 429]
    assert "deleted 1 folders, failed 0, storage API calls 2" in out.getvalue()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.photos_deleted_at is not None, second.photos_deleted_at) == (True, None)


def test_two_failed_batches_between_deleted_ones_do_not_stop_the_run(sale_with_photos, fake_cloudinary):
    sales = [sale_with_photos(count=100) for _ in range(4)]  # one delete call each
    fake_cloudinary.fail_deletes_for = {sales[1].external_id, sales[2].external_id}

    report = cleanup_photos(days=14)

    assert report.deleted == [sales[0].external_id, sales[3].external_id]
    assert report.failed == [sales[1].external_id, sales[2].external_id]
    assert len(fake_cloudinary.admin_calls) == 4


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_claim_was_taken_over_keeps_the_other_runs_date_of_deletion(sale_with_photos, fake_cloudinary):
    """This run claims the sale and stalls before its storage call; 16 minutes later (its claim
    looks dead) another run takes the sale over, deletes its photos and records when. This run
    then goes on: its photos are already gone, and the date recorded stays the other run's."""
    sale = sale_with_photos()
    recorded: list = []

    def other_run_later():
        report = cleanup_photos(days=14, now=timezone.now() + timedelta(minutes=16))
        recorded.append(Sale.objects.get(pk=sale.pk).photos_deleted_at)
        return report

    def stall_after_the_claim(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if '"storage_key"' in sql and not recorded:
            done: list = []
            thread = threading.Thread(target=lambda: (done.append(other_run_later()), connection.close()))
            thread.start()
            thread.join(timeout=30)
            assert done, "the other run did not finish"
            assert done[0].deleted == [sale.external_id]
        return result

    with connection.execute_wrapper(stall_after_the_claim):
        report = cleanup_photos(days=14)

    assert recorded, "the other run never ran"
    assert report.failed == []
    sale.refresh_from_db()
    assert sale.photos_deleted_at == recorded[0]
    assert fake_cloudinary.assets == {}
