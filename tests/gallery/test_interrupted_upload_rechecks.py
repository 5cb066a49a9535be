"""The answers a kiosk gets when an upload cannot go on (the storage refused photos, the sale was
refunded, the email already went out), and `send_emails` finishing interrupted uploads: every one
of them, each with its own email, and never one whose sale changed after `send_emails` found it
(checked again under the sale's lock: another party's change is forced in just before that lock,
from another thread, on PostgreSQL)."""

import io
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from core.formats import jakarta_iso
from gallery import services
from gallery.models import EmailKind, EmailOutbox, Photo
from gallery.uploads import finish_interrupted_upload
from payments.models import Sale, SaleStatus
from tests.support.api import error_of
from tests.support.uploads import photos_of, upload

pytestmark = pytest.mark.django_db


def interrupted(api, sale, fake_cloudinary, *, ago: timedelta = timedelta(hours=1)) -> None:
    """An upload of 3 photos whose last 2 the storage refused, its last sign of life `ago`."""
    fake_cloudinary.fail_uploads_for = {"/02-", "/03-"}
    assert upload(api, sale, photos_of(3)).status_code == 502
    fake_cloudinary.fail_uploads_for = set()
    Photo.objects.filter(sale=sale).update(reserved_at=F("reserved_at") - ago)


# --- The kiosk's answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("failing", [1, 2])
def test_photos_the_storage_refused_are_named_in_the_answer(api, paid_sale, fake_cloudinary, failing):
    fake_cloudinary.fail_uploads_for = {"/02-", "/03-"} if failing == 2 else {"/02-"}

    status, message, details = error_of(upload(api, paid_sale, photos_of(3)))

    assert status == 502
    if failing == 1:
        assert message == "Failed to upload photo: photo1.jpg"
        assert details == {"filename": "photo1.jpg", "filenames": ["photo1.jpg"]}
    else:
        assert message == "Failed to upload photos: photo1.jpg, photo2.jpg"
        assert details == {"filename": "photo1.jpg", "filenames": ["photo1.jpg", "photo2.jpg"]}


def test_an_upload_to_a_refunded_sale_is_409_naming_the_sale_and_its_status(api, make_sale, local_media):
    sale = make_sale(status=SaleStatus.REFUNDED)

    assert error_of(upload(api, sale, photos_of(1))) == (
        409,
        "Transaction was refunded",
        {"external_id": sale.external_id, "status": "REFUNDED"},
    )


def test_an_upload_after_the_email_went_out_names_the_sale_and_when(api, make_sale, local_media):
    sent = timezone.now() - timedelta(hours=2)
    sale = make_sale(status=SaleStatus.COMPLETED, email_sent_at=sent)

    assert error_of(upload(api, sale, photos_of(1))) == (
        409,
        "Photos already uploaded and email sent for this transaction",
        {"external_id": sale.external_id, "email_sent_at": jakarta_iso(sent)},
    )


@pytest.fixture
def local_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# --- send_emails and interrupted uploads ---------------------------------------------------------


def test_send_emails_finishes_every_interrupted_upload_though_another_sales_email_is_queued(
    api, make_sale, fake_cloudinary
):
    first, second = make_sale(status=SaleStatus.COMPLETED), make_sale(status=SaleStatus.COMPLETED)
    interrupted(api, first, fake_cloudinary)
    interrupted(api, second, fake_cloudinary)
    done = make_sale(status=SaleStatus.COMPLETED)
    assert upload(api, done, photos_of(1)).status_code == 200  # its email queued and sent
    mail.outbox.clear()

    assert services.send_due_emails().interrupted == 2

    assert len(mail.outbox) == 2
    kinds = EmailOutbox.objects.filter(sale__in=[first, second]).values_list("kind", flat=True)
    assert list(kinds) == [EmailKind.CUSTOMER_PHOTOS] * 2


def test_an_upload_whose_last_sign_of_life_is_exactly_the_stale_time_ago_is_not_finished_yet(
    api, paid_sale, fake_cloudinary, settings
):
    interrupted(api, paid_sale, fake_cloudinary, ago=timedelta(0))
    last_sign = max(Photo.objects.filter(sale=paid_sale).values_list("reserved_at", flat=True))
    stale = timedelta(seconds=settings.PHOTO_UPLOAD_STALE_SECONDS)

    assert finish_interrupted_upload(sale=paid_sale, now=last_sign + stale) is None
    assert finish_interrupted_upload(sale=paid_sale, now=last_sign + stale + timedelta(microseconds=1)) is not None


def retry_took_the_photos_over(sale):
    Photo.objects.filter(sale=sale, stored_at__isnull=True).update(reserved_at=timezone.now())


def another_worker_queued_the_email(sale):
    # Its first attempt failed: retried later, not by this run.
    later = timezone.now() + timedelta(minutes=1)
    EmailOutbox.objects.create(sale=sale, kind=EmailKind.CUSTOMER_PHOTOS, next_attempt_at=later, attempts=1)


def staff_resent_the_email(sale):
    Sale.objects.filter(pk=sale.pk).update(email_sent_at=timezone.now())


def staff_refunded_the_sale(sale):
    Sale.objects.filter(pk=sale.pk).update(status=SaleStatus.REFUNDED)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "meanwhile",
    [retry_took_the_photos_over, another_worker_queued_the_email, staff_resent_the_email, staff_refunded_the_sale],
)
def test_send_emails_leaves_an_interrupted_upload_whose_sale_changed_before_it_locked_it(
    api, paid_sale, fake_cloudinary, meanwhile
):
    interrupted(api, paid_sale, fake_cloudinary)
    mail.outbox.clear()
    queued_before = EmailOutbox.objects.count()
    happened: list = []

    def before_the_lock(execute, sql, params, many, context):
        if not happened and "FOR UPDATE" in sql and '"payments_transaction"' in sql:
            thread = threading.Thread(target=lambda: (happened.append(meanwhile(paid_sale)), connection.close()))
            thread.start()
            thread.join(timeout=30)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(before_the_lock):
        report = services.send_due_emails()

    assert happened, "send_emails never locked the sale"
    assert report.interrupted == 0
    assert mail.outbox == []
    assert EmailOutbox.objects.count() == queued_before + (meanwhile is another_worker_queued_the_email)
    assert Photo.objects.filter(sale=paid_sale).count() == 3  # nothing dropped


# --- A live upload keeps its photos reserved ---------------------------------------------------------


def test_an_upload_quicker_than_a_fifth_of_the_stale_time_refreshes_no_reservation(api, paid_sale, local_media):
    with CaptureQueriesContext(connection) as statements:
        assert upload(api, paid_sale, photos_of(3)).status_code == 200

    refresh = 'UPDATE "gallery_photo" SET "reserved_at"'
    refreshes = [q["sql"] for q in statements.captured_queries if q["sql"].startswith(refresh)]
    assert refreshes == []


def test_a_photo_the_storage_refused_is_no_longer_kept_reserved_while_the_others_upload(
    api, paid_sale, fake_cloudinary, settings, make_sale, make_photo
):
    """One photo at a time, 0.3 s each, a refresh due every 0.2 s: the refresh after the refused
    first photo keeps only the second reserved; the refused one may be taken over once stale, and
    another sale's dead upload is left alone."""
    abandoned_at = timezone.now() - timedelta(hours=1)
    elsewhere = make_photo(make_sale(status=SaleStatus.COMPLETED), 1, stored=False, reserved_at=abandoned_at)
    settings.PHOTO_UPLOAD_STALE_SECONDS = 1
    settings.PHOTO_UPLOAD_CONCURRENCY = 1
    fake_cloudinary.latency = 0.3
    fake_cloudinary.fail_uploads_for = {"/01-"}

    assert upload(api, paid_sale, photos_of(2)).status_code == 502

    refused, stored = Photo.objects.filter(sale=paid_sale).order_by("position")
    assert (refused.stored_at, stored.stored_at is not None) == (None, True)
    assert refused.reserved_at < stored.reserved_at
    elsewhere.refresh_from_db()
    assert elsewhere.reserved_at == abandoned_at


def test_a_retry_that_adds_a_photo_after_those_already_recorded_records_it(api, paid_sale, fake_cloudinary):
    fake_cloudinary.fail_uploads_for = {"/02-"}
    assert upload(api, paid_sale, photos_of(2)).status_code == 502  # the first stored, the second recorded only
    fake_cloudinary.fail_uploads_for = set()

    response = upload(api, paid_sale, photos_of(3))  # the same two, and a third

    assert response.status_code == 200, response.json()
    assert response.json()["uploaded_count"] == 3
    assert Photo.objects.filter(sale=paid_sale, stored_at__isnull=False).count() == 3


def test_a_retry_drops_only_its_own_sales_dead_photos(api, paid_sale, fake_cloudinary, make_sale, make_photo):
    """Another kiosk is uploading right now: its photos, not stored yet, are not this retry's."""
    running = make_photo(make_sale(status=SaleStatus.COMPLETED), 1, stored=False, reserved_at=timezone.now())
    interrupted(api, paid_sale, fake_cloudinary)

    assert upload(api, paid_sale, photos_of(3, quality=60)).status_code == 200

    assert Photo.objects.filter(pk=running.pk).exists()


def test_a_photo_is_stored_under_its_formats_extension(api, paid_sale, local_media):
    png = io.BytesIO()
    Image.new("RGB", (48, 36), (1, 2, 3)).save(png, "PNG")
    files = [*photos_of(1), SimpleUploadedFile("shot.png", png.getvalue(), content_type="image/png")]

    assert upload(api, paid_sale, files).status_code == 200

    keys = list(Photo.objects.filter(sale=paid_sale).order_by("position").values_list("storage_key", flat=True))
    assert [key.rsplit(".", 1)[1] for key in keys] == ["jpg", "png"]
