"""Bugs the suite once let through (issue 17), each pinned by a test: photos are kept for the
whole retention time while the customer's email is still retrying, a session of exactly
PHOTO_MAX_COUNT photos is accepted, and a sale already cleaned up is never due again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gallery.cleanup import cleanup_photos, sales_due_for_cleanup
from gallery.models import EmailOutbox, EmailStatus, Photo
from payments.models import Sale, SaleStatus
from tests.support.api import error_of
from tests.support.mail import DISCONNECTING
from tests.support.uploads import photos_of, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def local_media(settings, tmp_path):
    """Photos go to local storage under a fresh MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def mail_server_down(settings):
    """Every email fails as a dropped connection would: the outbox keeps it PENDING and retries it."""
    settings.EMAIL_BACKEND = DISCONNECTING


@pytest.fixture
def uploaded_unsent(api, make_sale, mail_server_down):
    """A sale paid `days_ago` days ago whose photos were uploaded but whose email never went out."""

    def make(*, days_ago: float, count: int = 2) -> Sale:
        sale = make_sale(status=SaleStatus.COMPLETED, paid_at=timezone.now() - timedelta(days=days_ago))
        response = upload(api, sale, photos_of(count))
        assert response.status_code == 200, response.json()
        assert response.json()["email_sent"] is False
        return sale

    return make


def files_of(sale, media_root) -> list[str]:
    folder = media_root / "photos" / sale.external_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_photos_stay_while_the_email_retries_and_go_once_the_retention_time_has_passed(settings, uploaded_unsent):
    yesterday = uploaded_unsent(days_ago=1)
    overdue = uploaded_unsent(days_ago=settings.PHOTO_RETENTION_DAYS + 1)
    assert set(EmailOutbox.objects.values_list("status", "sale__email_sent_at")) == {(EmailStatus.PENDING, None)}

    report = cleanup_photos(days=settings.PHOTO_RETENTION_DAYS)

    assert report.deleted == [overdue.external_id]
    assert len(files_of(yesterday, settings.MEDIA_ROOT)) == 2
    assert files_of(overdue, settings.MEDIA_ROOT) == []
    yesterday.refresh_from_db()
    assert yesterday.photos_deleted_at is None


def test_exactly_photo_max_count_photos_are_accepted_and_one_more_is_refused(
    api, settings, make_sale, mail_server_down
):
    settings.PHOTO_MAX_COUNT = 3
    sale = make_sale(status=SaleStatus.COMPLETED)
    photos = photos_of(4)

    accepted = upload(api, sale, photos[:3])

    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["uploaded_count"] == 3
    # The email is retrying, so the kiosk may still send photos: a fourth is one too many.
    status, message, details = error_of(upload(api, sale, photos[3:]))
    assert (status, details) == (400, {"max_count": 3, "stored": 3, "uploading": 1})
    assert message.startswith("Too many photos")
    assert Photo.objects.filter(sale=sale).count() == 3


def test_a_cleaned_sale_is_never_due_again_so_a_dry_run_skips_it_and_a_second_run_does_nothing(
    settings, uploaded_unsent
):
    days = settings.PHOTO_RETENTION_DAYS
    unsent = uploaded_unsent(days_ago=days + 5)
    emailed = uploaded_unsent(days_ago=days + 5)
    Sale.objects.filter(pk=emailed.pk).update(email_sent_at=timezone.now() - timedelta(days=days + 5))
    first = cleanup_photos(days=days)
    assert first.deleted == [unsent.external_id, emailed.external_id]
    deleted_at = dict(Sale.objects.values_list("pk", "photos_deleted_at"))

    dry_run = cleanup_photos(days=days, dry_run=True)
    second = cleanup_photos(days=days)

    assert dry_run.deleted == []
    assert not sales_due_for_cleanup(days=days, now=timezone.now()).exists()
    assert (second.deleted, second.failed, second.api_calls) == ([], [], 0)
    assert dict(Sale.objects.values_list("pk", "photos_deleted_at")) == deleted_at
