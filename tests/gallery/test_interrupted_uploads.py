"""A worker that dies mid-upload (kill -9, a deploy restart past graceful_timeout) leaves photos
recorded but not stored. Once those are stale (PHOTO_UPLOAD_STALE_SECONDS without a sign of life):

- a retry, with the same or re-encoded photos, replaces them within the photo limit, which counts
  the stored photos (and those of an upload still running);
- without a retry, `send_emails` sends the email with the stored photos (never one without photos);
- the admin says "Upload interrupted" on the sale, and its resend sends the stored photos;
- the storage loses what the dead upload left: photos it stored without recording them, and local
  storage's temporary `tmp….part` files.

The first tests build the dead upload's state in this process (a storage failure leaves the same
rows a killed worker does, then their clock is moved back); the last ones kill a real gunicorn
worker by its PID in the middle of an upload to the fake Cloudinary.
"""

import contextlib
import hashlib
import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connections
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from gallery import selectors, services, uploads
from gallery.models import EmailOutbox, EmailStatus, Photo
from gallery.outbox import gallery_url
from gallery.storage import LocalStorage, StorageError, get_photo_storage
from locations.services import issue_kiosk_key
from payments.models import SaleStatus
from tests.support.concurrency import run_concurrently
from tests.support.live_instances import free_port, instance_environment
from tests.support.processes import GUNICORN, PROJECT_ROOT

pytestmark = pytest.mark.django_db

STALE = timedelta(seconds=300)  # the default PHOTO_UPLOAD_STALE_SECONDS


@pytest.fixture(autouse=True)
def local_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


@pytest.fixture
def paid_sale(make_sale):
    return make_sale(status=SaleStatus.COMPLETED, email="budi@example.com")


def jpeg_bytes(seed: int, *, quality: int = 90, size=(48, 36)) -> bytes:
    """Photo number `seed`; another `quality` is the same picture re-encoded (other bytes)."""
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, seed * 13 % 256))
    image.putpixel((seed % size[0], 0), (255, 255, 255))
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def photo_files(count: int, *, quality: int = 90, start: int = 0) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(f"photo{i}.jpg", jpeg_bytes(i, quality=quality), content_type="image/jpeg")
        for i in range(start, start + count)
    ]


def upload(api, sale, files):
    return api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": files}, format="multipart")


def dead_upload(api, sale, files, *, stored: int, monkeypatch) -> list[Photo]:
    """The state a killed worker leaves: every photo recorded, the first `stored` stored, no email.

    The upload runs for real; the storage refuses the photos after the first `stored` (a failure
    leaves them recorded and unstored, as a kill does). Their clock is then moved back past the
    stale time: nothing refreshes them, since nothing is uploading them.
    """
    real_save = LocalStorage.save

    def save(self, *, key: str, content: bytes, filename: str):
        position = int(key.rsplit("/", 1)[1][:2])
        if position > stored:
            raise StorageError("the worker died before storing this one")
        return real_save(self, key=key, content=content, filename=filename)

    with monkeypatch.context() as patched:
        patched.setattr(LocalStorage, "save", save)
        response = upload(api, sale, files)
    assert response.status_code == (200 if stored == len(files) else 502), response.json()
    return list(Photo.objects.filter(sale=sale).order_by("position"))


def age(sale, by: timedelta = STALE + timedelta(seconds=1)) -> None:
    """Let time pass for the sale's photos: as if the upload's last sign of life was `by` ago."""
    Photo.objects.filter(sale=sale).update(reserved_at=F("reserved_at") - by)


def photo_count_in(message) -> int:
    """The number of photos the customer's email announces (Indonesian: `12 foto Anda …`)."""
    return int(re.search(r"(\d+) foto Anda", message.body).group(1))


def stored_keys(sale) -> list[str]:
    return list(Photo.objects.filter(sale=sale, stored_at__isnull=False).values_list("storage_key", flat=True))


# --- A retry replaces what the dead upload left -------------------------------------------------


def test_before_the_stale_time_the_dead_uploads_photos_still_count_against_the_limit(api, paid_sale, monkeypatch):
    dead_upload(api, paid_sale, photo_files(20), stored=11, monkeypatch=monkeypatch)

    response = upload(api, paid_sale, photo_files(20, quality=70))

    assert response.status_code == 400
    assert response.json()["message"].startswith("Too many photos")
    assert response.json()["details"] == {"max_count": 30, "stored": 20, "uploading": 20}
    assert Photo.objects.filter(sale=paid_sale).count() == 20


def test_after_the_stale_time_a_retry_with_re_encoded_photos_replaces_the_unstored_ones(
    api, paid_sale, monkeypatch, local_media
):
    dead = dead_upload(api, paid_sale, photo_files(20), stored=6, monkeypatch=monkeypatch)
    # The dead worker had written one more photo to the storage without recording it.
    orphan = local_media / dead[6].storage_key
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(jpeg_bytes(6))
    age(paid_sale)

    response = upload(api, paid_sale, photo_files(20, quality=70))

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["uploaded_count"], body["email_sent"]) == (20, True)
    photos = Photo.objects.filter(sale=paid_sale)
    assert photos.count() == 26  # the 6 stored before, and the 20 re-encoded ones
    assert not photos.filter(stored_at__isnull=True).exists()
    assert set(stored_keys(paid_sale)) >= {p.storage_key for p in dead[:6]}
    # New photos never take a dropped one's position (and so its storage key).
    assert min(photos.exclude(pk__in=[p.pk for p in dead]).values_list("position", flat=True)) == 21
    assert not orphan.exists()
    on_disk = {str(p.relative_to(local_media)) for p in local_media.rglob("*") if p.is_file()}
    assert on_disk == set(stored_keys(paid_sale))
    [message] = mail.outbox
    assert photo_count_in(message) == 26
    assert api.get(f"/api/v1/transactions/{paid_sale.external_id}/photos").json()["photo_count"] == 26


def test_thirty_photos_the_retry_of_the_unstored_ones_re_encoded_fits_the_limit(api, paid_sale, monkeypatch):
    dead_upload(api, paid_sale, photo_files(30), stored=12, monkeypatch=monkeypatch)
    age(paid_sale)

    too_many = upload(api, paid_sale, photo_files(30, quality=70))  # 12 stored + 30 > 30
    response = upload(api, paid_sale, photo_files(18, quality=70, start=12))

    assert too_many.status_code == 400
    assert too_many.json()["details"] == {"max_count": 30, "stored": 12, "uploading": 30}
    assert response.status_code == 200, response.json()
    assert Photo.objects.filter(sale=paid_sale, stored_at__isnull=False).count() == 30
    assert Photo.objects.filter(sale=paid_sale).count() == 30
    assert photo_count_in(mail.outbox[0]) == 30


def test_a_retry_with_the_same_photos_stores_only_the_missing_ones_and_never_twice(api, paid_sale, monkeypatch):
    dead = dead_upload(api, paid_sale, photo_files(30), stored=12, monkeypatch=monkeypatch)
    age(paid_sale)

    response = upload(api, paid_sale, photo_files(30))

    assert response.status_code == 200, response.json()
    photos = list(Photo.objects.filter(sale=paid_sale).order_by("position"))
    assert [p.pk for p in photos] == [p.pk for p in dead]  # the same rows, stored now
    assert all(p.stored_at for p in photos)
    assert len({p.checksum for p in photos}) == 30
    assert photo_count_in(mail.outbox[0]) == 30


def test_a_retry_of_the_same_photos_takes_over_their_reservation(api, paid_sale, monkeypatch):
    """Sending the unstored photos again makes them the retry's: they are not stale while it runs."""
    dead_upload(api, paid_sale, photo_files(3), stored=1, monkeypatch=monkeypatch)
    age(paid_sale)
    before = timezone.now()

    def save(self, *, key, content, filename):
        raise StorageError("Cloudinary is down")

    monkeypatch.setattr(LocalStorage, "save", save)
    assert upload(api, paid_sale, photo_files(3)).status_code == 502

    unstored = Photo.objects.filter(sale=paid_sale, stored_at__isnull=True)
    assert unstored.count() == 2
    assert all(p.reserved_at >= before for p in unstored)
    assert not selectors.upload_state(paid_sale).interrupted


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_running_upload_slower_than_the_stale_time_is_never_taken_for_dead(make_sale, fake_cloudinary, settings):
    """A live upload refreshes its photos' reservations: neither a retry nor send_emails takes
    them while it runs, however long it takes."""
    settings.PHOTO_UPLOAD_STALE_SECONDS = 1
    settings.PHOTO_UPLOAD_CONCURRENCY = 1
    fake_cloudinary.latency = 0.3
    sale = make_sale(status=SaleStatus.COMPLETED)
    payload = [jpeg_bytes(i) for i in range(8)]  # 2.4 s of uploading, more than twice the stale time
    retried: list = []

    def send(_):
        files = [SimpleUploadedFile(f"p{i}.jpg", data, "image/jpeg") for i, data in enumerate(payload)]
        return APIClient().post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": files}, format="multipart")

    def meanwhile():
        # Once 4 are stored, the upload has run for more than the stale time (4 x 0.3 s > 1 s).
        try:
            started = time.monotonic()
            while Photo.objects.filter(sale=sale, stored_at__isnull=False).count() < 4:
                assert time.monotonic() - started < 30
                time.sleep(0.01)
            retried.append(services.send_due_emails())
            other = [SimpleUploadedFile(f"q{i}.jpg", jpeg_bytes(i, quality=60), "image/jpeg") for i in range(25)]
            retried.append(
                APIClient().post(
                    f"/api/v1/transactions/{sale.external_id}/photos", {"files": other}, format="multipart"
                )
            )
        finally:
            connections.close_all()

    watcher = threading.Thread(target=meanwhile)
    watcher.start()
    [response] = run_concurrently(send, 1)
    watcher.join()

    assert response.status_code == 200, response.json()
    report, other = retried
    assert (report.interrupted, report.sent) == (0, 0)
    assert other.status_code == 400  # 8 being uploaded + 25 > 30: nothing was replaced
    assert Photo.objects.filter(sale=sale, stored_at__isnull=False).count() == 8
    assert len(mail.outbox) == 1
    assert photo_count_in(mail.outbox[0]) == 8


# --- Nobody retries: send_emails sends the stored photos -----------------------------------------


def send_emails() -> str:
    out = io.StringIO()
    call_command("send_emails", stdout=out)
    return out.getvalue().strip()


def test_send_emails_sends_the_stored_photos_once_the_upload_is_stale(api, paid_sale, monkeypatch, local_media):
    dead = dead_upload(api, paid_sale, photo_files(20), stored=11, monkeypatch=monkeypatch)

    assert send_emails() == "sent 0, failed 0"  # the upload might still be running
    age(paid_sale)
    assert send_emails() == "sent 1, failed 0 (1 after an interrupted upload, with the stored photos)"
    assert send_emails() == "sent 0, failed 0"

    [message] = mail.outbox
    assert message.to == ["budi@example.com"]
    assert photo_count_in(message) == 11
    assert gallery_url(paid_sale) in message.body
    assert [p.pk for p in Photo.objects.filter(sale=paid_sale)] == [p.pk for p in dead[:11]]
    paid_sale.refresh_from_db()
    assert paid_sale.email_sent_at is not None
    assert EmailOutbox.objects.get(sale=paid_sale).status == EmailStatus.SENT
    # The kiosk's late retry is told the email went out, as after any finished upload.
    assert upload(api, paid_sale, photo_files(2, quality=70)).status_code == 409


def test_send_emails_never_sends_an_email_without_photos(api, paid_sale, monkeypatch):
    dead_upload(api, paid_sale, photo_files(5), stored=0, monkeypatch=monkeypatch)
    age(paid_sale)

    assert send_emails() == "sent 0, failed 0"

    assert mail.outbox == []
    assert not EmailOutbox.objects.exists()
    assert Photo.objects.filter(sale=paid_sale).count() == 5  # kept, for staff to see
    assert selectors.upload_state(paid_sale).interrupted
    # The kiosk's retry, even with other bytes, still works.
    assert upload(api, paid_sale, photo_files(5, quality=70)).status_code == 200
    assert photo_count_in(mail.outbox[0]) == 5


def test_send_emails_finishes_an_upload_that_died_after_storing_every_photo(api, paid_sale, monkeypatch):
    """Killed between storing the last photo and queueing the email."""
    monkeypatch.setattr(uploads, "queue_customer_email", lambda *, sale: None)
    dead_upload(api, paid_sale, photo_files(4), stored=4, monkeypatch=monkeypatch)
    monkeypatch.undo()

    assert send_emails() == "sent 0, failed 0"
    age(paid_sale)
    assert send_emails() == "sent 1, failed 0 (1 after an interrupted upload, with the stored photos)"
    assert photo_count_in(mail.outbox[0]) == 4


def test_send_emails_deletes_what_the_dead_upload_stored_without_recording(make_sale, make_photo, fake_cloudinary):
    sale = make_sale(status=SaleStatus.COMPLETED)
    storage = get_photo_storage()
    for position in (1, 2, 3):
        checksum = hashlib.sha256(b"%d" % position).hexdigest()
        key = storage.key_for(external_id=sale.external_id, position=position, checksum=checksum, extension="jpg")
        stored = position == 1
        asset = fake_cloudinary.put(key) if position < 3 else None  # the 2nd reached Cloudinary, unrecorded
        url = fake_cloudinary.delivery_url(asset) if stored else ""
        make_photo(sale, position, stored=stored, storage_key=key, url=url, checksum=checksum)
    age(sale)

    assert services.send_due_emails().interrupted == 1

    assert set(fake_cloudinary.assets) == set(stored_keys(sale))
    [delete] = fake_cloudinary.admin_calls
    assert len(delete.public_ids) == 2
    assert photo_count_in(mail.outbox[0]) == 1


def test_the_stale_time_is_a_setting(api, paid_sale, monkeypatch, settings):
    settings.PHOTO_UPLOAD_STALE_SECONDS = 3600
    dead_upload(api, paid_sale, photo_files(3), stored=1, monkeypatch=monkeypatch)
    age(paid_sale, by=timedelta(minutes=30))

    assert send_emails() == "sent 0, failed 0"
    settings.PHOTO_UPLOAD_STALE_SECONDS = 60
    assert send_emails().startswith("sent 1, failed 0")


# --- Staff ------------------------------------------------------------------------------------


def test_the_sale_page_says_upload_interrupted_and_staff_send_the_stored_photos(
    api, staff_client, paid_sale, monkeypatch
):
    dead_upload(api, paid_sale, photo_files(5), stored=2, monkeypatch=monkeypatch)
    page = reverse("admin:payments_sale_change", args=[paid_sale.pk])
    resend = reverse("admin:payments_sale_resend-email", args=[paid_sale.pk])

    running = staff_client.get(page).content.decode()
    refused = staff_client.post(resend, {"email": paid_sale.email}, follow=True).content.decode()
    age(paid_sale)
    interrupted = staff_client.get(page).content.decode()
    sent = staff_client.post(resend, {"email": paid_sale.email}, follow=True).content.decode()

    assert "Upload interrupted" not in running
    assert "The kiosk is uploading: 3 photos not stored yet." in running
    assert "are not stored yet: the kiosk is uploading them. Try again in 5 minutes" in refused
    assert "Upload interrupted" in interrupted
    assert "2 photos stored, 3 not stored." in interrupted
    assert "⚠ upload interrupted: not stored" in interrupted
    assert f'<a href="{resend}">Send the email with the 2 stored photos now</a>' in interrupted
    assert "photo email sent to budi@example.com" in sent
    assert "Upload interrupted" not in sent
    [message] = mail.outbox
    assert photo_count_in(message) == 2
    assert Photo.objects.filter(sale=paid_sale).count() == 2


def test_staff_are_told_when_no_photo_was_stored(api, staff_client, paid_sale, monkeypatch):
    dead_upload(api, paid_sale, photo_files(3), stored=0, monkeypatch=monkeypatch)
    age(paid_sale)
    page = reverse("admin:payments_sale_change", args=[paid_sale.pk])

    text = staff_client.get(page).content.decode()
    with pytest.raises(services.EmailCannotBeResent, match="interrupted before any photo was stored"):
        services.resend_customer_email(sale=paid_sale)

    assert "Upload interrupted" in text
    assert "Nothing can be emailed: the kiosk must upload the photos again" in text
    assert mail.outbox == []


# --- Local storage's temporary files -------------------------------------------------------------

# A process writing a photo to local storage on a slow disk (1 KB every 10 ms), to be killed.
KILLED_WRITE = textwrap.dedent(
    """
    import sys, tempfile, time
    from pathlib import Path
    from gallery.storage import LocalStorage

    class SlowDisk:
        def __init__(self, file):
            self.file = file
        def __getattr__(self, name):
            return getattr(self.file, name)
        def __enter__(self):
            self.file.__enter__()
            return self
        def __exit__(self, *exc):
            return self.file.__exit__(*exc)
        def write(self, data):
            for start in range(0, len(data), 1024):
                self.file.write(data[start:start + 1024])
                self.file.flush()
                time.sleep(0.01)

    real = tempfile.NamedTemporaryFile
    tempfile.NamedTemporaryFile = lambda *args, **kwargs: SlowDisk(real(*args, **kwargs))
    storage = LocalStorage(root=Path(sys.argv[1]), base_url="http://x")
    storage.save(key="photos/TRX-1/01-abc.jpg", content=b"x" * 1_000_000, filename="big.jpg")
    """
)


def test_a_write_killed_halfway_leaves_a_part_file_that_the_next_write_of_the_sale_removes(tmp_path):
    root = tmp_path / "media"
    folder = root / "photos" / "TRX-1"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITE, str(root)], cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 30
        while not list(folder.glob("tmp*.part")) or next(folder.glob("tmp*.part")).stat().st_size < 10_000:
            assert writer.poll() is None, "the writer ended before it was killed"
            assert time.monotonic() < deadline, "the write never started"
            time.sleep(0.01)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait()
    [partial] = folder.glob("tmp*.part")
    storage = LocalStorage(root=root, base_url="http://x", partial_max_age=300)

    storage.save(key="photos/TRX-1/02-def.jpg", content=b"photo", filename="b.jpg")
    assert partial.exists()  # young: it might be a write still under way
    os.utime(partial, (time.time() - 301, time.time() - 301))
    storage.save(key="photos/TRX-1/03-fed.jpg", content=b"photo", filename="c.jpg")

    assert not partial.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["02-def.jpg", "03-fed.jpg"]


def test_cleanup_removes_the_part_files_with_the_sales_folder(tmp_path):
    root = tmp_path / "media"
    storage = LocalStorage(root=root, base_url="http://x", partial_max_age=300)
    storage.save(key="photos/TRX-1/01-abc.jpg", content=b"photo", filename="a.jpg")
    partial = root / "photos" / "TRX-1" / "tmpk1l2m3.part"
    partial.write_bytes(b"half a photo")
    os.utime(partial, (time.time() - 3600, time.time() - 3600))

    result = storage.delete(["photos/TRX-1/01-abc.jpg"])

    assert result.deleted == {"photos/TRX-1/01-abc.jpg"}
    assert not (root / "photos" / "TRX-1").exists()


# --- A real gunicorn worker killed by its PID mid-upload -----------------------------------------

KILL_TEST_STALE_SECONDS = 8
INSTANCE_SETTINGS = """\
from photobox.settings import *  # noqa: F403

# Lowered for the test: a dead upload's photos are stale after this many seconds.
PHOTO_UPLOAD_STALE_SECONDS = {stale}
# Each email as a file, for the test to read.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = {mail_dir!r}
"""


class Instance:
    """One gunicorn (one worker process) with the production settings on the test database, the
    photos going to the fake Cloudinary of this process."""

    def __init__(self, tmp_path: Path, fake, upload_prefix: str) -> None:
        self.mail_dir = tmp_path / "mail"
        self.mail_dir.mkdir()
        (tmp_path / "interrupted_settings.py").write_text(
            INSTANCE_SETTINGS.format(stale=KILL_TEST_STALE_SECONDS, mail_dir=str(self.mail_dir))
        )
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.environment = instance_environment(
            DJANGO_SETTINGS_MODULE="interrupted_settings",
            PYTHONPATH=f"{tmp_path}{os.pathsep}{PROJECT_ROOT}",
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS="1",
            GUNICORN_THREADS="4",
            KIOSK_AUTH="required",
            CLOUDINARY_CLOUD_NAME=fake.cloud_name,
            CLOUDINARY_API_KEY=fake.api_key,
            CLOUDINARY_API_SECRET=fake.api_secret,
            CLOUDINARY_UPLOAD_PREFIX=upload_prefix,
            CLOUDINARY_TIMEOUT="10",
            PHOTO_UPLOAD_CONCURRENCY="2",
        )
        self.log = (tmp_path / "gunicorn.log").open("w+")
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Instance":
        self.process = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "photobox.wsgi"],
            cwd=PROJECT_ROOT,
            env=self.environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_until_serving()
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()

    def worker_pids(self) -> list[int]:
        """The master's children (bench/harness/server.py does the same)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            return [int(pid) for pid in path.read_text().split()]
        return []

    def wait_until_serving(self, *, not_pid: int | None = None) -> float:
        """Seconds until a worker (other than `not_pid`) answers /health."""
        started = time.monotonic()
        while True:
            assert self.process.poll() is None, self.output()
            pids = self.worker_pids()
            if pids and not_pid not in pids:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{self.url}/health", timeout=5).status_code == 200:
                        return time.monotonic() - started
            assert time.monotonic() - started < 60, f"no worker answered within 60 s:\n{self.output()}"
            time.sleep(0.05)

    def emails(self) -> list[str]:
        return [path.read_text() for path in sorted(self.mail_dir.iterdir())]


def kiosk_photos(count: int, *, quality: int = 90) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"photo{i}.jpg", jpeg_bytes(i, quality=quality), "image/jpeg")) for i in range(count)]


def post_photos(instance: Instance, sale, key: str, files) -> requests.Response:
    return requests.post(
        f"{instance.url}/api/v1/transactions/{sale.external_id}/photos",
        files=files,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )


def kill_mid_upload(instance: Instance, sale, key: str, *, photos: int, after_stored: int) -> dict:
    """Upload `photos` photos through the instance and SIGKILL its worker once `after_stored` are
    stored. The timings, the killed PID and what the upload got back."""
    outcome: dict = {}

    def send():
        started = time.monotonic()
        try:
            outcome["response"] = post_photos(instance, sale, key, kiosk_photos(photos))
        except requests.RequestException as exc:
            outcome["error"] = exc
        outcome["request_ended"] = time.monotonic() - started

    [worker] = instance.worker_pids()
    started = time.monotonic()
    thread = threading.Thread(target=send)
    thread.start()
    stored = Photo.objects.filter(sale=sale, stored_at__isnull=False)
    while stored.count() < after_stored:
        assert time.monotonic() - started < 30, "the upload did not get going"
        assert thread.is_alive(), outcome
        time.sleep(0.01)
    os.kill(worker, signal.SIGKILL)
    outcome["killed"] = time.monotonic()
    outcome["killed_at"] = outcome["killed"] - started
    outcome["worker"] = worker
    thread.join(timeout=30)
    outcome["respawned_in"] = instance.wait_until_serving(not_pid=worker)
    return outcome


@pytest.fixture
def live(tmp_path, fake_cloudinary, settings):
    """A gunicorn instance, and this process's settings matching its stale time."""
    settings.PHOTO_UPLOAD_STALE_SECONDS = KILL_TEST_STALE_SECONDS
    with Instance(tmp_path, fake_cloudinary, settings.CLOUDINARY_UPLOAD_PREFIX) as instance:
        yield instance


def assert_interrupted(sale, fake, outcome, *, photos: int) -> list[Photo]:
    """What the killed worker left: every photo recorded, some stored, no email."""
    assert "response" not in outcome, outcome["response"].text  # the connection died with the worker
    rows = list(Photo.objects.filter(sale=sale).order_by("position"))
    stored = [p for p in rows if p.stored_at]
    assert len(rows) == photos
    assert 0 < len(stored) < photos
    assert not EmailOutbox.objects.filter(sale=sale).exists()
    # Cloudinary got the recorded ones and maybe some the worker did not live to record.
    assert {p.storage_key for p in stored} <= set(fake.assets)
    return rows


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_upload_then_a_retry_with_re_encoded_photos_sends_the_email(
    live, make_sale, location, fake_cloudinary
):
    sale = make_sale(status=SaleStatus.COMPLETED, email="budi@example.com")
    key = issue_kiosk_key(location=location, label="tablet")[1]
    fake_cloudinary.latency = 0.4  # 20 photos, 2 at a time: about 4 s of uploading

    outcome = kill_mid_upload(live, sale, key, photos=20, after_stored=3)
    killed_rows = assert_interrupted(sale, fake_cloudinary, outcome, photos=20)
    stored_before = [p for p in killed_rows if p.stored_at]
    orphans = set(fake_cloudinary.assets) - {p.storage_key for p in stored_before}
    assert outcome["worker"] not in live.worker_pids()

    # At once, the kiosk's retry with re-encoded photos: the dead upload's photos are not stale
    # yet, so they still count (as those of an upload still running would).
    fake_cloudinary.latency = 0.0
    early = post_photos(live, sale, key, kiosk_photos(20, quality=70))
    early_at = time.monotonic() - outcome["killed"]
    assert early.status_code == 400, early.text
    assert early.json()["message"].startswith("Too many photos")

    # Once they are stale (the dead worker's last sign of life was at the latest when it was
    # killed), the same retry replaces them, within the limit.
    time.sleep(max(outcome["killed"] + KILL_TEST_STALE_SECONDS + 0.5 - time.monotonic(), 0))
    retry_started = time.monotonic()
    retry = post_photos(live, sale, key, kiosk_photos(20, quality=70))
    retry_took = time.monotonic() - retry_started
    retry_at = retry_started - outcome["killed"]

    assert retry.status_code == 200, retry.text
    assert (retry.json()["uploaded_count"], retry.json()["email_sent"]) == (20, True)
    rows = list(Photo.objects.filter(sale=sale))
    assert len(rows) == len(stored_before) + 20 <= 30
    assert all(p.stored_at for p in rows)
    assert {p.pk for p in stored_before} <= {p.pk for p in rows}
    # What the dead worker left at Cloudinary (unstored keys, unrecorded uploads) is gone.
    assert set(fake_cloudinary.assets) == {p.storage_key for p in rows}
    assert not orphans & set(fake_cloudinary.assets)
    # One email, with exactly the stored photos.
    [email] = live.emails()
    assert "To: budi@example.com" in email
    assert f"{len(rows)} foto Anda" in email
    assert gallery_url(sale) in email
    sale.refresh_from_db()
    assert sale.email_sent_at is not None
    print(
        f"\nkill test (retry): worker {outcome['worker']} SIGKILLed {outcome['killed_at']:.2f} s into the upload "
        f"with {len(stored_before)} of 20 stored (+{len(orphans)} at Cloudinary, unrecorded); the kiosk's "
        f"connection ended {outcome['request_ended']:.2f} s in; a new worker served {outcome['respawned_in']:.2f} s "
        f"after the kill; retry at +{early_at:.2f} s: 400; retry at +{retry_at:.2f} s: 200 in {retry_took:.2f} s, "
        f"{len(rows)} photos stored and emailed"
    )


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_upload_and_no_retry_send_emails_sends_the_stored_photos(
    live, make_sale, location, fake_cloudinary
):
    sale = make_sale(status=SaleStatus.COMPLETED, email="budi@example.com")
    key = issue_kiosk_key(location=location, label="tablet")[1]
    fake_cloudinary.latency = 0.4

    outcome = kill_mid_upload(live, sale, key, photos=20, after_stored=3)
    killed_rows = assert_interrupted(sale, fake_cloudinary, outcome, photos=20)
    stored_before = [p for p in killed_rows if p.stored_at]
    orphans = set(fake_cloudinary.assets) - {p.storage_key for p in stored_before}

    assert send_emails() == "sent 0, failed 0"  # not stale yet: the upload might be alive
    waited_from = time.monotonic()
    while not send_emails().startswith("sent 1"):
        assert time.monotonic() - waited_from < KILL_TEST_STALE_SECONDS + 10, "never sent"
        time.sleep(0.5)
    sent_after = time.monotonic() - outcome["killed"]

    [message] = mail.outbox
    assert message.to == ["budi@example.com"]
    assert photo_count_in(message) == len(stored_before)
    rows = list(Photo.objects.filter(sale=sale))
    assert {p.pk for p in rows} == {p.pk for p in stored_before}
    assert set(fake_cloudinary.assets) == {p.storage_key for p in rows}  # the orphans are gone
    response = requests.get(
        f"{live.url}/api/v1/transactions/{sale.external_id}/photos",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert response.json()["photo_count"] == len(stored_before)
    assert send_emails() == "sent 0, failed 0"
    print(
        f"\nkill test (send_emails): worker {outcome['worker']} SIGKILLed {outcome['killed_at']:.2f} s into the "
        f"upload with {len(stored_before)} of 20 stored (+{len(orphans)} at Cloudinary, unrecorded); a new worker "
        f"served {outcome['respawned_in']:.2f} s after the kill; send_emails (every 0.5 s) sent the "
        f"{len(stored_before)} photos {sent_after:.2f} s after the kill (stale time {KILL_TEST_STALE_SECONDS} s)"
    )
