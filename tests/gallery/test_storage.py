"""The photo storages themselves: the real CloudinaryStorage (SDK and all) against the fake
Cloudinary on 127.0.0.1, and LocalStorage under a temporary MEDIA_ROOT."""

import hashlib
import io
import socket
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from PIL import Image

from gallery.cleanup import cleanup_photos
from gallery.storage import CloudinaryStorage, LocalStorage, StorageError, StorageRateLimited, get_photo_storage
from payments.models import SaleStatus

SALE = "TRX-2-20251215092229-57283A15"


def jpeg(seed: int = 1, size=(24, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, seed * 13 % 256)).save(buffer, "JPEG")
    return buffer.getvalue()


def save(storage, content: bytes, *, position: int = 1, external_id: str = SALE):
    checksum = hashlib.sha256(content).hexdigest()
    key = storage.key_for(external_id=external_id, position=position, checksum=checksum, extension="jpg")
    return storage.save(key=key, content=content, filename=f"photo{position}.jpg"), checksum


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Cloudinary: upload -------------------------------------------------------------------------


def test_upload_is_signed_and_lands_in_the_sales_folder(fake_cloudinary):
    storage = get_photo_storage()
    assert isinstance(storage, CloudinaryStorage)
    content = jpeg(1)

    stored, checksum = save(storage, content, position=3)

    key = f"photobox/{SALE}/03-{checksum[:16]}"
    assert stored.key == key
    asset = fake_cloudinary.assets[key]  # the fake checked api_key, timestamp and signature
    assert asset.content == content
    assert asset.asset_folder == f"photobox/{SALE}"
    assert (asset.width, asset.height, asset.format) == (24, 16, "jpg")
    assert stored.url == f"{fake_cloudinary.url}/{fake_cloudinary.cloud_name}/image/upload/v{asset.version}/{key}.jpg"
    assert requests.get(stored.url, timeout=2).content == content


def test_uploading_the_same_key_again_overwrites_it(fake_cloudinary):
    storage = get_photo_storage()
    key = storage.key_for(external_id=SALE, position=1, checksum="a" * 64, extension="jpg")

    storage.save(key=key, content=jpeg(1), filename="a.jpg")
    storage.save(key=key, content=jpeg(2), filename="a.jpg")

    assert fake_cloudinary.assets[key].content == jpeg(2)
    assert fake_cloudinary.assets[key].uploads == 2
    assert len(fake_cloudinary.assets) == 1


def test_a_wrong_api_secret_is_refused_by_the_signature_check(fake_cloudinary, settings):
    settings.CLOUDINARY_API_SECRET = "not-the-secret"

    with pytest.raises(StorageError, match="Invalid Signature"):
        save(get_photo_storage(), jpeg())

    assert fake_cloudinary.assets == {}


def test_a_server_error_is_a_storage_error(fake_cloudinary):
    fake_cloudinary.fail_uploads_for = {"/01-"}

    with pytest.raises(StorageError):
        save(get_photo_storage(), jpeg(), position=1)

    assert fake_cloudinary.assets == {}
    save(get_photo_storage(), jpeg(), position=2)  # other photos still go through
    assert len(fake_cloudinary.assets) == 1


def test_an_unreachable_cloudinary_is_a_storage_error(fake_cloudinary, settings):
    settings.CLOUDINARY_UPLOAD_PREFIX = f"http://127.0.0.1:{free_port()}"

    started = time.monotonic()
    with pytest.raises(StorageError):
        save(get_photo_storage(), jpeg())
    assert time.monotonic() - started < 2


def test_a_server_slower_than_the_timeout_is_a_storage_error(fake_cloudinary, settings):
    settings.CLOUDINARY_TIMEOUT = 0.3
    fake_cloudinary.latency = 1.5

    started = time.monotonic()
    with pytest.raises(StorageError):
        save(get_photo_storage(), jpeg())
    elapsed = time.monotonic() - started

    assert elapsed < 1.2, f"gave up after {elapsed:.2f}s with a 0.3s timeout"


def test_thumbnail_and_download_urls_ask_cloudinary_for_a_transformation(fake_cloudinary):
    storage = get_photo_storage()
    content = jpeg(5)
    stored, _ = save(storage, content)

    thumbnail = storage.thumbnail_url(stored.url)
    download = storage.download_url(stored.url, "photobox-TRX-1-01.jpg")

    prefix = f"{fake_cloudinary.url}/{fake_cloudinary.cloud_name}/image/upload/"
    assert thumbnail.startswith(prefix + "c_fill,w_480,h_480,q_auto,f_auto/v")
    assert download.startswith(prefix + "fl_attachment:photobox-TRX-1-01/v")
    assert thumbnail.endswith(f"/{stored.key}.jpg")
    assert download.endswith(f"/{stored.key}.jpg")
    assert requests.get(thumbnail, timeout=2).content == content
    attachment = requests.get(download, timeout=2)
    assert attachment.content == content
    assert attachment.headers["Content-Disposition"].startswith("attachment")


def test_open_streams_the_stored_photo_and_fails_cleanly_when_it_is_gone(fake_cloudinary):
    storage = get_photo_storage()
    content = jpeg(6)
    stored, _ = save(storage, content)

    assert b"".join(storage.open(stored.key, stored.url)) == content
    storage.delete([stored.key])
    with pytest.raises(StorageError):
        b"".join(storage.open(stored.key, stored.url))


# --- Cloudinary: delete -------------------------------------------------------------------------


def test_delete_removes_the_photos_and_counts_not_found_as_deleted(fake_cloudinary):
    for n in range(3):
        fake_cloudinary.put(f"photobox/{SALE}/0{n}-x")
    keys = [f"photobox/{SALE}/0{n}-x" for n in range(3)] + [f"photobox/{SALE}/09-gone"]

    result = get_photo_storage().delete(keys)

    assert result.deleted == set(keys)
    assert result.failed == set()
    assert result.calls == 1
    assert fake_cloudinary.assets == {}
    (call,) = fake_cloudinary.admin_calls
    assert call.method == "DELETE"
    assert call.path == f"/v1_1/{fake_cloudinary.cloud_name}/resources/image/upload"
    assert sorted(call.public_ids) == sorted(keys)


def test_delete_reads_the_remaining_admin_api_budget(fake_cloudinary):
    fake_cloudinary.remaining = 42
    fake_cloudinary.put("photobox/a/01-x")

    result = get_photo_storage().delete(["photobox/a/01-x"])

    assert result.budget_remaining == 41


def test_delete_with_the_budget_spent_raises_rate_limited(fake_cloudinary):
    fake_cloudinary.remaining = 0
    fake_cloudinary.put("photobox/a/01-x")

    with pytest.raises(StorageRateLimited):
        get_photo_storage().delete(["photobox/a/01-x"])

    assert "photobox/a/01-x" in fake_cloudinary.assets


def test_a_failing_delete_reports_every_key_as_failed(fake_cloudinary):
    fake_cloudinary.fail_deletes_for = {"01-x"}
    fake_cloudinary.put("photobox/a/01-x")
    fake_cloudinary.put("photobox/a/02-x")

    result = get_photo_storage().delete(["photobox/a/01-x", "photobox/a/02-x"])

    assert result.deleted == set()
    assert result.failed == {"photobox/a/01-x", "photobox/a/02-x"}
    assert len(fake_cloudinary.assets) == 2


def test_delete_with_wrong_credentials_fails_without_raising(fake_cloudinary, settings):
    settings.CLOUDINARY_API_SECRET = "not-the-secret"
    fake_cloudinary.put("photobox/a/01-x")

    result = get_photo_storage().delete(["photobox/a/01-x"])

    assert result.failed == {"photobox/a/01-x"}
    assert "photobox/a/01-x" in fake_cloudinary.assets


@pytest.mark.django_db
def test_cleanup_deletes_150_photos_in_two_admin_api_calls_of_at_most_100(fake_cloudinary, make_sale, make_photo):
    old = timezone.now() - timedelta(days=20)
    for s in range(15):
        sale = make_sale(status=SaleStatus.COMPLETED, email_sent_at=old)
        for n in range(1, 11):
            key = f"photobox/{sale.external_id}/{n:02d}-{s:04d}{n:012d}"
            fake_cloudinary.put(key)
            make_photo(sale, n, storage_key=key, url=f"{fake_cloudinary.url}/x/{key}.jpg", stored_at=old)

    report = cleanup_photos(days=14)

    assert len(report.deleted) == 15
    assert report.failed == []
    calls = fake_cloudinary.admin_calls
    assert [c.status for c in calls] == [200, 200]
    assert sorted(len(c.public_ids) for c in calls) == [50, 100]
    assert report.api_calls == 2
    assert fake_cloudinary.assets == {}


# --- Local files --------------------------------------------------------------------------------


@pytest.fixture
def local(settings, tmp_path):
    settings.PHOTO_STORAGE = "local"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.API_BASE_URL = "https://photobox.example"
    storage = get_photo_storage()
    assert isinstance(storage, LocalStorage)
    return storage


def test_local_storage_saves_opens_and_deletes(local, tmp_path):
    content = jpeg(3)

    stored, checksum = save(local, content, position=2)

    key = f"photos/{SALE}/02-{checksum[:16]}.jpg"
    assert stored.key == key
    assert stored.url == f"https://photobox.example/media/{key}"
    assert (tmp_path / "media" / key).read_bytes() == content
    assert b"".join(local.open(key, stored.url)) == content
    assert list((tmp_path / "media" / "photos" / SALE).iterdir()) == [tmp_path / "media" / key]  # no leftovers

    result = local.delete([key, f"photos/{SALE}/03-missing.jpg"])

    assert result.deleted == {key, f"photos/{SALE}/03-missing.jpg"}
    assert not (tmp_path / "media" / key).exists()
    assert not (tmp_path / "media" / "photos" / SALE).exists()  # the emptied sale folder goes too
    with pytest.raises(StorageError):
        b"".join(local.open(key, stored.url))


@pytest.mark.parametrize("key", ["../outside.jpg", "photos/../../outside.jpg", "{absolute}"])
def test_local_storage_refuses_keys_escaping_the_media_root(local, tmp_path, key):
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"not yours")
    key = key.format(absolute=outside)

    with pytest.raises(StorageError, match="escapes the media root"):
        local.save(key=key, content=b"overwritten", filename="x.jpg")
    with pytest.raises(StorageError, match="escapes the media root"):
        b"".join(local.open(key, ""))
    result = local.delete([key])

    assert result.failed == {key}
    assert outside.read_bytes() == b"not yours"
