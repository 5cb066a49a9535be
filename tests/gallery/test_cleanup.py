"""Photos are deleted 14 days after the customer's email: `manage.py cleanup` and the maintenance
endpoint, against the fake Cloudinary on 127.0.0.1 (whose Admin API counts and limits calls).

Also here, because they need the same fake: uploads run in parallel, and a partly failed upload
keeps what was stored and is completed by the kiosk's retry.
"""

import io
import logging
import threading
import time
from datetime import timedelta

import pytest
import requests
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from PIL import Image

from gallery.cleanup import cleanup_photos
from gallery.models import EmailOutbox, Photo
from payments.models import Sale, SaleStatus
from tests.support.concurrency import run_concurrently, wait_until_another_query_waits_for_this_transaction

pytestmark = pytest.mark.django_db
TOKEN = "test-maintenance-token"


@pytest.fixture(autouse=True)
def maintenance_token(settings):
    settings.MAINTENANCE_TOKEN = TOKEN


def jpeg_bytes(seed: int, size=(32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, seed * 13 % 256)).save(buffer, "JPEG")
    return buffer.getvalue()


def photo_files(count: int) -> list[SimpleUploadedFile]:
    """Fresh upload objects with the same content every time (a kiosk's retry sends the same photos)."""
    return [SimpleUploadedFile(f"photo{i}.jpg", jpeg_bytes(i), content_type="image/jpeg") for i in range(count)]


def upload(api, sale, files):
    return api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": files}, format="multipart")


def cleanup(api, days="14", *, token=TOKEN, alias=False):
    headers = {} if token is None else {"HTTP_X_MAINTENANCE_TOKEN": token}
    query = "" if days is None else f"?days={days}"
    if alias:
        return api.delete(f"/api/v1/maintenance/cleanup-old-folders{query}", **headers)
    return api.post(f"/api/v1/maintenance/cleanup{query}", **headers)


@pytest.fixture
def sale_with_photos(make_sale, make_photo, fake_cloudinary):
    """A paid sale whose email went out `days_ago` days ago, with `count` photos stored at the fake."""

    def make(*, days_ago: float = 20, count: int = 12, **fields) -> Sale:
        sent = timezone.now() - timedelta(days=days_ago)
        sale = make_sale(status=SaleStatus.COMPLETED, paid_at=sent, email_sent_at=sent, **fields)
        for position in range(1, count + 1):
            checksum = f"{sale.pk:032x}{position:032x}"
            key = f"photobox/{sale.external_id}/{position:02d}-{checksum[:16]}"
            asset = fake_cloudinary.put(key)
            make_photo(
                sale,
                position,
                storage_key=key,
                url=fake_cloudinary.delivery_url(asset),
                bytes=len(asset.content),
                checksum=checksum,
                stored_at=sent,
            )
        return sale

    return make


def keys_of(sale) -> set[str]:
    return set(Photo.objects.filter(sale=sale).values_list("storage_key", flat=True))


def cleaned(sale) -> bool:
    sale.refresh_from_db()
    return sale.photos_deleted_at is not None


# --- The maintenance endpoint: access -------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "status", "message"),
    [
        (None, 401, "Missing X-Maintenance-Token header"),
        ("wrong-token", 403, "Invalid maintenance token"),
        ("", 403, "Invalid maintenance token"),
    ],
)
@pytest.mark.parametrize("alias", [False, True])
def test_cleanup_endpoint_needs_the_maintenance_token(
    api, sale_with_photos, fake_cloudinary, token, status, message, alias
):
    sale = sale_with_photos()

    response = cleanup(api, token=token, alias=alias)

    assert response.status_code == status
    assert response.json() == {"success": False, "message": message, "details": {}}
    assert fake_cloudinary.admin_calls == []
    assert not cleaned(sale)


def test_cleanup_endpoint_is_closed_when_no_token_is_configured(api, settings, sale_with_photos, fake_cloudinary):
    settings.MAINTENANCE_TOKEN = ""
    sale = sale_with_photos()

    response = cleanup(api, token="")

    assert response.status_code == 403
    assert fake_cloudinary.admin_calls == []
    assert not cleaned(sale)


@pytest.mark.parametrize("days", ["abc", "0", "-1", "14.5", "", "99999"])
def test_cleanup_endpoint_refuses_a_bad_number_of_days(api, sale_with_photos, fake_cloudinary, days):
    sale = sale_with_photos()

    response = cleanup(api, days=days)

    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "Validation error"
    assert [e["field"] for e in body["details"]["errors"]] == ["days"]
    assert fake_cloudinary.admin_calls == []
    assert not cleaned(sale)


# --- What gets deleted ----------------------------------------------------------------------------


@pytest.mark.parametrize("alias", [False, True])
def test_cleanup_deletes_photos_older_than_14_days_and_answers_the_contract(
    api, sale_with_photos, fake_cloudinary, alias
):
    first, second = sale_with_photos(days_ago=20), sale_with_photos(days_ago=14.1)
    recent, fresh = sale_with_photos(days_ago=13.9), sale_with_photos(days_ago=1)

    response = cleanup(api, alias=alias)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["deleted_count", "folders", "failed_count", "failed_folders", "message"]
    assert body == {
        "deleted_count": 2,
        "folders": [first.external_id, second.external_id],
        "failed_count": 0,
        "failed_folders": [],
        "message": "2 folders deleted successfully",
    }
    assert cleaned(first)
    assert cleaned(second)
    assert not cleaned(recent)
    assert not cleaned(fresh)
    assert set(fake_cloudinary.assets) == keys_of(recent) | keys_of(fresh)


def test_days_defaults_to_the_retention_setting_and_can_be_shortened(api, sale_with_photos, fake_cloudinary):
    old, week_old = sale_with_photos(days_ago=15), sale_with_photos(days_ago=8)

    assert cleanup(api, days=None).json()["folders"] == [old.external_id]
    assert cleanup(api, days="7").json()["folders"] == [week_old.external_id]
    assert fake_cloudinary.assets == {}


def test_a_paid_sale_whose_email_never_went_out_is_cleaned_after_the_retention_time_too(
    api, make_sale, sale_with_photos, fake_cloudinary
):
    unsent = sale_with_photos(days_ago=20)
    Sale.objects.filter(pk=unsent.pk).update(email_sent_at=None)
    without_photos = make_sale(status=SaleStatus.COMPLETED, paid_at=timezone.now() - timedelta(days=30))

    body = cleanup(api).json()

    assert body["folders"] == [unsent.external_id]
    assert not cleaned(without_photos)  # nothing to delete, nothing to report
    assert fake_cloudinary.assets == {}


def test_twenty_sales_of_twelve_photos_take_at_most_one_admin_call_per_five_sales(
    api, sale_with_photos, fake_cloudinary
):
    sales = [sale_with_photos() for _ in range(20)]

    body = cleanup(api).json()

    calls = fake_cloudinary.admin_calls
    per_sale = len(calls) / len(sales)
    print(f"\n20 sales x 12 photos: {len(calls)} Admin API calls, {per_sale:.2f} per sale")
    assert body["deleted_count"] == 20
    assert body["folders"] == [s.external_id for s in sales]
    assert per_sale <= 0.2
    assert all(len(c.public_ids) <= 100 and c.status == 200 for c in calls)
    # No sale is split over two calls: a failed call never leaves a gallery half deleted.
    for sale in sales:
        assert sum(bool(keys_of(sale) & set(c.public_ids)) for c in calls) == 1
    assert fake_cloudinary.assets == {}
    assert Sale.objects.filter(photos_deleted_at__isnull=True).count() == 0


def test_a_second_run_finds_nothing_and_makes_no_call(api, sale_with_photos, fake_cloudinary):
    sale_with_photos()
    assert cleanup(api).json()["deleted_count"] == 1
    calls = len(fake_cloudinary.calls)

    body = cleanup(api).json()

    assert body == {
        "deleted_count": 0,
        "folders": [],
        "failed_count": 0,
        "failed_folders": [],
        "message": "0 folders deleted successfully",
    }
    assert len(fake_cloudinary.calls) == calls


def test_photos_already_gone_from_cloudinary_count_as_deleted(api, sale_with_photos, fake_cloudinary):
    sale = sale_with_photos()
    fake_cloudinary.assets.clear()  # deleted by hand in the Media Library

    body = cleanup(api).json()

    assert body["folders"] == [sale.external_id]
    assert body["failed_count"] == 0
    assert cleaned(sale)


def test_a_failed_delete_is_reported_and_retried_next_run(api, sale_with_photos, fake_cloudinary):
    # 10 sales of 12 photos: the first 8 go in one call, the last 2 in another, which fails.
    sales = [sale_with_photos() for _ in range(10)]
    failing = sales[-1].external_id
    fake_cloudinary.fail_deletes_for = {failing}

    body = cleanup(api).json()

    assert body["deleted_count"] == 8
    assert body["folders"] == [s.external_id for s in sales[:8]]
    assert body["failed_count"] == 2
    assert body["failed_folders"] == [s.external_id for s in sales[8:]]
    assert not cleaned(sales[8])
    assert not cleaned(sales[9])
    assert Sale.objects.filter(photos_cleanup_claimed_at__isnull=False).count() == 0
    assert set(fake_cloudinary.assets) == keys_of(sales[8]) | keys_of(sales[9])

    fake_cloudinary.fail_deletes_for = set()
    body = cleanup(api).json()

    assert body["folders"] == [s.external_id for s in sales[8:]]
    assert body["failed_count"] == 0
    assert fake_cloudinary.assets == {}


def test_the_run_stops_when_the_admin_api_budget_runs_low_and_the_rest_follow(
    api, settings, sale_with_photos, fake_cloudinary
):
    sales = [sale_with_photos() for _ in range(20)]
    # One call left above the reserve kept for people using the Media Library.
    fake_cloudinary.remaining = settings.CLOUDINARY_ADMIN_API_RESERVE + 1

    body = cleanup(api).json()

    assert len(fake_cloudinary.admin_calls) == 1
    assert fake_cloudinary.remaining == settings.CLOUDINARY_ADMIN_API_RESERVE
    assert body["deleted_count"] == 8
    assert body["failed_count"] == 0
    assert body["message"] == (
        "8 folders deleted successfully; stopped early to stay within the storage API budget, the rest follow next run"
    )
    assert Sale.objects.filter(photos_deleted_at__isnull=True).count() == 12
    assert Sale.objects.filter(photos_cleanup_claimed_at__isnull=False).count() == 0

    fake_cloudinary.remaining = fake_cloudinary.budget  # the next hour
    body = cleanup(api).json()

    assert body["folders"] == [s.external_id for s in sales[8:]]
    assert "stopped early" not in body["message"]
    assert fake_cloudinary.assets == {}


def test_a_429_from_cloudinary_stops_the_run_cleanly(api, sale_with_photos, fake_cloudinary):
    sales = [sale_with_photos() for _ in range(3)]
    fake_cloudinary.remaining = 0

    response = cleanup(api)

    assert response.status_code == 200
    assert response.json() == {
        "deleted_count": 0,
        "folders": [],
        "failed_count": 0,
        "failed_folders": [],
        "message": "0 folders deleted successfully; stopped early to stay within the storage API budget, "
        "the rest follow next run",
    }
    assert [c.status for c in fake_cloudinary.admin_calls] == [429]
    assert Sale.objects.filter(photos_deleted_at__isnull=True).count() == 3
    assert Sale.objects.filter(photos_cleanup_claimed_at__isnull=False).count() == 0  # not stuck

    fake_cloudinary.remaining = fake_cloudinary.budget
    assert cleanup(api).json()["folders"] == [s.external_id for s in sales]


def test_a_storage_that_keeps_failing_stops_the_run_after_three_batches(api, sale_with_photos, fake_cloudinary):
    sales = [sale_with_photos() for _ in range(40)]  # 5 batches of 8 sales
    fake_cloudinary.fail_deletes_for = {s.external_id for s in sales}

    body = cleanup(api).json()

    assert len(fake_cloudinary.admin_calls) == 3
    assert body["failed_count"] == 24
    assert Sale.objects.filter(photos_cleanup_claimed_at__isnull=False).count() == 0


def test_the_429_call_is_counted_against_the_budget(sale_with_photos, fake_cloudinary, capsys):
    sale_with_photos()
    fake_cloudinary.remaining = 0

    call_command("cleanup")

    assert "storage API calls 1" in capsys.readouterr().out


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_runs_at_once_never_delete_a_sale_twice_and_together_delete_all(sale_with_photos, fake_cloudinary, attempt):
    sales = [sale_with_photos() for _ in range(20)]
    fake_cloudinary.admin_latency = 0.05  # keep both runs in flight together

    reports = run_concurrently(lambda _: cleanup_photos(days=14), 2)

    assert not any(isinstance(r, Exception) for r in reports), reports
    first, second = (set(r.deleted) for r in reports)
    assert first.isdisjoint(second)
    assert first | second == {s.external_id for s in sales}
    assert reports[0].failed == reports[1].failed == []
    sent = [key for call in fake_cloudinary.admin_calls for key in call.public_ids]
    assert len(sent) == len(set(sent)) == 240  # every photo asked for once
    assert fake_cloudinary.assets == {}
    assert Sale.objects.filter(photos_deleted_at__isnull=True).count() == 0


# --- The management command -----------------------------------------------------------------------


def test_the_command_deletes_and_prints_a_summary(sale_with_photos, fake_cloudinary, capsys):
    old, recent = sale_with_photos(days_ago=20), sale_with_photos(days_ago=2)

    call_command("cleanup")

    out = capsys.readouterr().out
    assert f"deleted {old.external_id}" in out
    assert "deleted 1 folders, failed 0, storage API calls 1" in out
    assert recent.external_id not in out
    assert cleaned(old)
    assert not cleaned(recent)
    assert set(fake_cloudinary.assets) == keys_of(recent)


def test_the_command_takes_days(sale_with_photos, fake_cloudinary, capsys):
    week_old = sale_with_photos(days_ago=8)

    call_command("cleanup", "--days", "7")

    assert f"deleted {week_old.external_id}" in capsys.readouterr().out
    assert cleaned(week_old)


def test_the_command_refuses_zero_days(sale_with_photos, fake_cloudinary):
    sale = sale_with_photos(days_ago=1)

    with pytest.raises(CommandError, match="--days must be at least 1"):
        call_command("cleanup", "--days", "0")

    assert not cleaned(sale)
    assert fake_cloudinary.calls_of("admin") == []


def test_the_command_dry_run_lists_and_changes_nothing(sale_with_photos, fake_cloudinary, capsys):
    old, recent = sale_with_photos(days_ago=20), sale_with_photos(days_ago=2)
    stored = set(fake_cloudinary.assets)

    call_command("cleanup", "--dry-run")

    out = capsys.readouterr().out
    assert f"would delete {old.external_id}" in out
    assert recent.external_id not in out
    assert "dry run: 1 folders would be deleted" in out
    assert fake_cloudinary.admin_calls == []
    assert set(fake_cloudinary.assets) == stored
    assert not cleaned(old)
    assert Sale.objects.filter(photos_cleanup_claimed_at__isnull=False).count() == 0


def test_the_command_reports_failures_on_stderr_and_exits_non_zero(sale_with_photos, fake_cloudinary, capsys):
    sale = sale_with_photos()
    fake_cloudinary.fail_deletes_for = {sale.external_id}

    with pytest.raises(CommandError, match="1 folders could not be deleted") as raised:
        call_command("cleanup")

    assert raised.value.returncode == 1
    captured = capsys.readouterr()
    assert f"failed to delete {sale.external_id}; it is retried next run" in captured.err
    assert "deleted 0 folders, failed 1" in captured.out
    assert not cleaned(sale)


def test_the_command_says_when_it_stopped_for_the_budget(settings, sale_with_photos, fake_cloudinary, capsys):
    sale_with_photos()
    fake_cloudinary.remaining = settings.CLOUDINARY_ADMIN_API_RESERVE

    call_command("cleanup")  # stopping for the budget is normal: exit status 0

    assert "stopped early to stay within the storage's Admin API budget" in capsys.readouterr().out


# --- End to end: upload through the API, then clean up --------------------------------------------


def test_after_cleanup_the_gallery_is_expired_and_the_photo_list_is_empty(api, make_sale, fake_cloudinary):
    sale = make_sale(status=SaleStatus.COMPLETED)
    uploaded = upload(api, sale, photo_files(3))
    assert uploaded.status_code == 200, uploaded.json()
    urls = [p["url"] for p in uploaded.json()["photos"]]
    assert all(requests.get(url, timeout=2).status_code == 200 for url in urls)
    assert api.get(f"/gallery/{sale.external_id}/{sale.gallery_key}").status_code == 200
    listed = api.get(f"/api/v1/transactions/{sale.external_id}/photos")
    assert [p["url"] for p in listed.json()["photos"]] == urls
    Sale.objects.filter(pk=sale.pk).update(email_sent_at=timezone.now() - timedelta(days=15))

    body = cleanup(api).json()

    assert body["folders"] == [sale.external_id]
    assert fake_cloudinary.assets == {}
    assert requests.get(urls[0], timeout=2).status_code == 404  # the customer's old links are dead too
    assert api.get(f"/gallery/{sale.external_id}/{sale.gallery_key}").status_code == 410
    gone = api.get(f"/api/v1/transactions/{sale.external_id}/photos")
    assert gone.status_code == 404
    assert gone.json() == {
        "success": False,
        "message": "No photos found for transaction",
        "details": {"external_id": sale.external_id},
    }
    assert cleanup(api).json()["deleted_count"] == 0  # not reported again


def test_uploaded_photos_younger_than_14_days_survive_cleanup(api, make_sale, fake_cloudinary):
    sale = make_sale(status=SaleStatus.COMPLETED)
    assert upload(api, sale, photo_files(2)).status_code == 200
    Sale.objects.filter(pk=sale.pk).update(email_sent_at=timezone.now() - timedelta(days=13))

    assert cleanup(api).json()["deleted_count"] == 0

    assert len(fake_cloudinary.assets) == 2
    assert fake_cloudinary.admin_calls == []
    assert api.get(f"/api/v1/transactions/{sale.external_id}/photos").json()["photo_count"] == 2


# --- Uploads against the fake -------------------------------------------------------------------


def test_twelve_photos_upload_in_parallel(api, settings, make_sale, fake_cloudinary):
    settings.PHOTO_UPLOAD_CONCURRENCY = 4
    fake_cloudinary.latency = 0.2
    sale = make_sale(status=SaleStatus.COMPLETED)
    files = photo_files(12)

    started = time.monotonic()
    response = upload(api, sale, files)
    elapsed = time.monotonic() - started

    print(f"\n12 photos at 200 ms latency, 4 at a time: {elapsed:.3f}s")
    assert response.status_code == 200, response.json()
    assert response.json()["uploaded_count"] == 12
    assert len(fake_cloudinary.uploads) == 12
    assert fake_cloudinary.max_concurrent_uploads == 4
    assert elapsed < 1.6, f"12 uploads took {elapsed:.2f}s: not in parallel"


def test_a_partly_failed_upload_keeps_what_was_stored_and_the_retry_stores_only_the_rest(
    api, make_sale, fake_cloudinary
):
    sale = make_sale(status=SaleStatus.COMPLETED)
    fake_cloudinary.fail_uploads_for = {"/02-", "/04-"}  # the 2nd and 4th photo

    response = upload(api, sale, photo_files(5))

    assert response.status_code == 502
    body = response.json()
    assert body["success"] is False
    assert body["message"] == "Failed to upload photos: photo1.jpg, photo3.jpg"
    assert body["details"]["filenames"] == ["photo1.jpg", "photo3.jpg"]
    stored = Photo.objects.filter(sale=sale, stored_at__isnull=False).order_by("position")
    assert [p.original_name for p in stored] == ["photo0.jpg", "photo2.jpg", "photo4.jpg"]
    assert {p.storage_key for p in stored} == set(fake_cloudinary.assets)
    assert mail.outbox == []
    assert not EmailOutbox.objects.filter(sale=sale).exists()
    sale.refresh_from_db()
    assert sale.email_sent_at is None
    assert api.get(f"/api/v1/transactions/{sale.external_id}/photos").json()["photo_count"] == 3

    fake_cloudinary.fail_uploads_for = set()
    uploads_before = len(fake_cloudinary.uploads)
    retry = upload(api, sale, photo_files(5))

    assert retry.status_code == 200, retry.json()
    assert retry.json()["uploaded_count"] == 5
    retried = fake_cloudinary.uploads[uploads_before:]
    assert sorted(c.public_ids[0].split("/")[-1][:3] for c in retried) == ["02-", "04-"]
    assert Photo.objects.filter(sale=sale).count() == 5
    assert Photo.objects.filter(sale=sale, stored_at__isnull=True).count() == 0
    assert len(fake_cloudinary.assets) == 5
    assert EmailOutbox.objects.filter(sale=sale).count() == 1


# --- Filling a delete call (mutation survivors, issue 17) ------------------------------------------


@pytest.fixture
def one_call_left(settings, fake_cloudinary):
    """The storage budget allows one more delete call this hour: what the first call took is what
    this run deletes."""
    fake_cloudinary.remaining = settings.CLOUDINARY_ADMIN_API_RESERVE + 1


def test_sales_whose_photos_exactly_fill_one_delete_call_go_in_that_call(
    sale_with_photos, fake_cloudinary, one_call_left
):
    sales = [sale_with_photos(count=10) for _ in range(10)]  # 100 photos: one Cloudinary call's worth

    report = cleanup_photos(days=14)

    assert (report.deleted, len(fake_cloudinary.admin_calls)) == ([s.external_id for s in sales], 1)


def test_a_sale_without_photos_goes_along_with_a_full_delete_call(sale_with_photos, fake_cloudinary, one_call_left):
    sales = [sale_with_photos(count=100), sale_with_photos(count=0)]

    report = cleanup_photos(days=14)

    assert (report.deleted, len(fake_cloudinary.admin_calls)) == ([s.external_id for s in sales], 1)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_sale_another_run_finished_after_this_run_saw_it_due_is_not_deleted_again(sale_with_photos, fake_cloudinary):
    """The other run marks the sale cleaned in a transaction it keeps open until this run's claim
    waits for the row; it commits then, so the claim is decided after the sale was cleaned."""
    sale = sale_with_photos()
    cleaned_held_open = threading.Event()

    def other_run():
        with transaction.atomic():
            Sale.objects.filter(pk=sale.pk).update(photos_deleted_at=timezone.now())
            cleaned_held_open.set()
            wait_until_another_query_waits_for_this_transaction()

    def this_run():
        assert cleaned_held_open.wait(10), "the other run never cleaned the sale"
        return cleanup_photos(days=14)

    other, report = run_concurrently(lambda index: (other_run, this_run)[index](), 2)

    assert other is None, other  # the other run's wait for this run's claim came
    assert (report.deleted, fake_cloudinary.admin_calls) == ([], [])


def test_a_dry_run_says_what_would_be_deleted(sale_with_photos, fake_cloudinary):
    sale_with_photos()

    report = cleanup_photos(days=14, dry_run=True)

    assert report.message == "1 folders would be deleted"


def test_the_very_first_sale_is_cleaned_too(sale_with_photos, fake_cloudinary):
    first = sale_with_photos(id=1)

    assert cleanup_photos(days=14).deleted == [first.external_id]


def test_sales_without_photos_are_marked_cleaned_without_a_storage_call(sale_with_photos, fake_cloudinary):
    sales = [sale_with_photos(count=0), sale_with_photos(count=0)]

    report = cleanup_photos(days=14)

    assert (report.deleted, report.api_calls, fake_cloudinary.admin_calls) == ([s.external_id for s in sales], 0, [])


def test_a_long_backlog_is_cleaned_in_one_run_and_every_call_is_counted(sale_with_photos, fake_cloudinary):
    sales = [sale_with_photos() for _ in range(25)]  # 4 delete calls of at most 8 sales

    report = cleanup_photos(days=14)

    assert report.deleted == [s.external_id for s in sales]
    assert report.api_calls == len(fake_cloudinary.admin_calls) == 4


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_page_another_run_claimed_first_is_skipped_and_the_run_goes_on(sale_with_photos, fake_cloudinary):
    """Another run claims the first sale in a transaction it keeps open until this run's claim
    waits for the row: this run then finds its page taken and goes on with the next one."""
    taken, after = sale_with_photos(count=100), sale_with_photos()  # one delete call each
    claimed_held_open = threading.Event()

    def other_run():
        with transaction.atomic():
            Sale.objects.filter(pk=taken.pk).update(photos_cleanup_claimed_at=timezone.now())
            claimed_held_open.set()
            wait_until_another_query_waits_for_this_transaction()

    def this_run():
        assert claimed_held_open.wait(10), "the other run never claimed the sale"
        return cleanup_photos(days=14)

    other, report = run_concurrently(lambda index: (other_run, this_run)[index](), 2)

    assert other is None, other
    assert report.deleted == [after.external_id]


def test_a_run_that_deleted_something_is_logged_with_its_counts(sale_with_photos, fake_cloudinary, caplog):
    sale_with_photos()
    caplog.set_level(logging.INFO, logger="gallery")

    cleanup_photos(days=14)

    assert "cleanup deleted=1 failed=0 storage_calls=1" in [r.getMessage() for r in caplog.records]
