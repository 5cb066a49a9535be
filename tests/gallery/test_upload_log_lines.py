"""The log lines staff read about an upload (logger "gallery", each carrying the sale's external_id):
how many photos were stored, a photo the storage refused and why, the photos of an interrupted
upload a retry dropped, what could not be deleted of them, and an interrupted upload's email.
Against the fake Cloudinary, which refuses what a test asks it to."""

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.db.models import F
from rest_framework.test import APIClient

from gallery import services
from gallery.models import Photo
from tests.support.uploads import photos_of, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(caplog):
    """The "gallery" records: (message, external_id)."""
    caplog.set_level(logging.INFO, logger="gallery")

    def records() -> list[tuple[str, str | None]]:
        return [(r.getMessage(), getattr(r, "external_id", None)) for r in caplog.records if r.name == "gallery"]

    return records


def unstored_keys(sale) -> list[str]:
    return list(
        Photo.objects.filter(sale=sale, stored_at__isnull=True)
        .order_by("position")
        .values_list("storage_key", flat=True)
    )


def interrupted(api, sale, fake_cloudinary) -> list[str]:
    """An upload of 3 photos whose last 2 the storage refused, then no sign of life for an hour:
    what a killed worker leaves. The unstored photos' keys."""
    fake_cloudinary.fail_uploads_for = {"/02-", "/03-"}
    assert upload(api, sale, photos_of(3)).status_code == 502
    fake_cloudinary.fail_uploads_for = set()
    Photo.objects.filter(sale=sale).update(reserved_at=F("reserved_at") - timedelta(hours=1))
    return unstored_keys(sale)


def test_a_finished_upload_logs_how_many_photos_were_stored(api, paid_sale, fake_cloudinary, logged):
    assert upload(api, paid_sale, photos_of(2)).status_code == 200

    assert (f"photos stored external_id={paid_sale.external_id} stored=2 failed=0", paid_sale.external_id) in logged()


def test_a_photo_the_storage_refused_is_logged_with_its_key_and_why(api, paid_sale, fake_cloudinary, logged):
    fake_cloudinary.fail_uploads_for = {"/02-"}

    assert upload(api, paid_sale, photos_of(2)).status_code == 502

    [key] = unstored_keys(paid_sale)
    warnings = [(m, e) for m, e in logged() if m.startswith("photo not stored")]
    assert len(warnings) == 1
    message, external_id = warnings[0]
    assert message.startswith(f"photo not stored external_id={paid_sale.external_id} key={key}: Cloudinary ")
    assert "a failure the test asked for" in message
    assert external_id == paid_sale.external_id
    assert (f"photos stored external_id={paid_sale.external_id} stored=1 failed=1", paid_sale.external_id) in logged()


def test_a_retry_logs_the_photos_of_the_interrupted_upload_it_dropped(api, paid_sale, fake_cloudinary, logged):
    interrupted(api, paid_sale, fake_cloudinary)

    assert upload(api, paid_sale, photos_of(3, quality=60)).status_code == 200

    dropped = f"dropped 2 photos an interrupted upload did not store external_id={paid_sale.external_id}"
    assert (dropped, paid_sale.external_id) in logged()
    assert not [m for m, _ in logged() if m.startswith("could not delete")]


@pytest.mark.parametrize("refusal", ["rate limited", "failed"])
def test_what_could_not_be_deleted_of_an_interrupted_upload_is_logged(api, paid_sale, fake_cloudinary, logged, refusal):
    keys = interrupted(api, paid_sale, fake_cloudinary)
    if refusal == "rate limited":
        fake_cloudinary.remaining = 0
    else:
        fake_cloudinary.fail_deletes_for = set(keys)

    assert upload(api, paid_sale, photos_of(3, quality=60)).status_code == 200

    [(message, external_id)] = [(m, e) for m, e in logged() if m.startswith("could not delete")]
    prefix = f"could not delete 2 photos of an interrupted upload external_id={paid_sale.external_id}: "
    assert message.startswith(prefix)
    if refusal == "failed":
        assert message == prefix + ", ".join(sorted(keys))
    else:
        assert "Rate Limit" in message
    assert external_id == paid_sale.external_id


def test_an_interrupted_uploads_email_is_logged_with_what_it_keeps_and_drops(api, paid_sale, fake_cloudinary, logged):
    interrupted(api, paid_sale, fake_cloudinary)

    assert services.send_due_emails().interrupted == 1

    line = f"upload interrupted, emailing the stored photos external_id={paid_sale.external_id} stored=1 dropped=2"
    assert (line, paid_sale.external_id) in logged()
    dropped = f"dropped 2 photos an interrupted upload did not store external_id={paid_sale.external_id}"
    assert (dropped, paid_sale.external_id) in logged()


@pytest.mark.parametrize("refusal", ["rate limited", "failed"])
def test_what_send_emails_could_not_delete_of_an_interrupted_upload_is_logged_with_its_sale(
    api, paid_sale, fake_cloudinary, logged, refusal
):
    """Outside any request (cron): the sale is named on the record by the code itself."""
    keys = interrupted(api, paid_sale, fake_cloudinary)
    if refusal == "rate limited":
        fake_cloudinary.remaining = 0
    else:
        fake_cloudinary.fail_deletes_for = set(keys)

    assert services.send_due_emails().interrupted == 1

    [(message, external_id)] = [(m, e) for m, e in logged() if m.startswith("could not delete")]
    prefix = f"could not delete 2 photos of an interrupted upload external_id={paid_sale.external_id}: "
    assert message.startswith(prefix)
    assert message == prefix + ", ".join(sorted(keys)) if refusal == "failed" else "Rate Limit" in message
    assert external_id == paid_sale.external_id


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_photo_stored_after_a_retry_replaced_it_is_logged_and_deleted(paid_sale, fake_cloudinary, logged):
    """The first upload stalls in its storage call past the stale time (a paused worker); the
    kiosk's retry with another photo replaces it. When the stalled call returns, its photo is no
    longer wanted: logged, and deleted from the storage."""
    arrived, go_on = threading.Event(), threading.Event()

    def stall_the_first_upload(public_id: str) -> bool:
        if not arrived.is_set():
            arrived.set()
            go_on.wait(timeout=20)
        return False

    fake_cloudinary.fail_uploads_for = stall_the_first_upload
    first: list = []
    stalled = threading.Thread(
        target=lambda: (first.append(upload(APIClient(), paid_sale, photos_of(1))), connections.close_all())
    )
    stalled.start()
    assert arrived.wait(timeout=20), "the first upload never reached the storage"
    [key] = unstored_keys(paid_sale)
    Photo.objects.filter(sale=paid_sale).update(reserved_at=F("reserved_at") - timedelta(hours=1))

    retry = upload(APIClient(), paid_sale, photos_of(1, quality=60))
    go_on.set()
    stalled.join(timeout=30)

    assert retry.status_code == 200, retry.json()
    assert first[0].status_code == 502
    line = f"photo stored after a retry replaced it external_id={paid_sale.external_id} key={key}"
    assert (line, paid_sale.external_id) in logged()
    assert key not in fake_cloudinary.assets
