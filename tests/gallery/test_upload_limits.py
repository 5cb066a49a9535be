"""A photo upload is checked before its body is read: the kiosk key, the sale, whether it takes
photos, and the declared size (413 over PHOTO_MAX_COUNT x PHOTO_MAX_BYTES and the multipart
framing). While the body streams in, an upload handler stops at the same limit."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.test.client import encode_multipart
from PIL import Image

from core.envelope import status_for
from gallery import upload_limits
from gallery.models import Photo
from gallery.upload_limits import UploadLimitHandler, UploadTooLarge, max_upload_bytes
from locations.services import issue_kiosk_key
from payments.models import SaleStatus
from tests.support.api import error_of

pytestmark = pytest.mark.django_db

GIB = 1024**3
BOUNDARY = "kiosk-boundary"


@pytest.fixture(autouse=True)
def local_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


class UnreadBody:
    """The `wsgi.input` of a huge upload: fails the request if anything reads it."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self, *args) -> bytes:
        self.reads += 1
        raise AssertionError("the upload's body was read")

    readline = read


def post_unread(api, external_id: str, *, length: int | None = GIB, **extra):
    """POST a multipart upload that declares `length` bytes (none: chunked) but may not be read."""
    body = UnreadBody()
    if length is not None:
        extra["CONTENT_LENGTH"] = str(length)
    else:
        extra["HTTP_TRANSFER_ENCODING"] = "chunked"  # as gunicorn passes it on: no CONTENT_LENGTH
    response = api.generic(
        "POST",
        f"/api/v1/transactions/{external_id}/photos",
        "",
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **{"wsgi.input": body},
        **extra,
    )
    return response, body


def jpeg(name: str, size=(64, 48), color=(200, 30, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.effect_noise(size, 80).convert("RGB").save(buffer, "JPEG", quality=95)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


# --- Refused before the body is read --------------------------------------------------------------


def test_a_gigabyte_upload_to_an_unknown_sale_is_404_without_reading_it(api):
    response, body = post_unread(api, "TRX-1-NOPE")

    assert error_of(response) == (404, "Transaction not found", {"external_id": "TRX-1-NOPE"})
    assert body.reads == 0


@pytest.mark.parametrize(
    ("sale_fields", "status", "message"),
    [
        ({"status": SaleStatus.PENDING}, 422, "Transaction payment not completed yet"),
        ({"status": SaleStatus.REFUNDED}, 409, "Transaction was refunded"),
        ({"status": SaleStatus.COMPLETED, "email_sent_at": "2025-01-01T00:00:00Z"}, 409, "Photos already uploaded"),
    ],
    ids=["unpaid", "refunded", "email-sent"],
)
def test_a_sale_that_takes_no_photos_answers_without_reading_the_body(api, make_sale, sale_fields, status, message):
    sale = make_sale(**sale_fields)

    response, body = post_unread(api, sale.external_id)

    assert response.status_code == status
    assert response.json()["message"].startswith(message)
    assert body.reads == 0


def test_another_locations_kiosk_key_is_403_without_reading_the_body(api, make_sale, make_location):
    sale = make_sale(status=SaleStatus.COMPLETED)
    elsewhere = make_location(machine_code="PB-002", name="Mall Kelapa Gading")
    _, key = issue_kiosk_key(location=elsewhere, label="PB-002 tablet")

    response, body = post_unread(api, sale.external_id, HTTP_AUTHORIZATION=f"Bearer {key}")

    assert error_of(response)[:2] == (403, "Kiosk key does not belong to this location")
    assert body.reads == 0


@pytest.mark.parametrize("header", [None, "Bearer pbk_not-a-key"], ids=["no-key", "bad-key"])
def test_a_missing_or_bad_kiosk_key_is_401_without_reading_the_body(api, make_sale, settings, header):
    settings.KIOSK_AUTH = "required"
    sale = make_sale(status=SaleStatus.COMPLETED)
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response, body = post_unread(api, sale.external_id, **extra)

    assert response.status_code == 401
    assert body.reads == 0


def test_a_declared_body_over_the_limit_is_413_without_reading_it(api, make_sale, local_media):
    sale = make_sale(status=SaleStatus.COMPLETED)

    response, body = post_unread(api, sale.external_id, length=max_upload_bytes() + 1)

    assert error_of(response) == (413, "Request body too large", {"max_bytes": max_upload_bytes()})
    assert body.reads == 0
    assert not Photo.objects.exists()
    assert not local_media.exists()


def test_a_real_upload_over_the_limit_is_413_not_spooled_then_refused(api, make_sale, settings):
    settings.PHOTO_MAX_COUNT, settings.PHOTO_MAX_BYTES = 1, 1000
    sale = make_sale(status=SaleStatus.COMPLETED)
    big = SimpleUploadedFile("big.jpg", b"\xff" * 200_000, content_type="image/jpeg")

    response = api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": [big]}, format="multipart")

    assert error_of(response) == (413, "Request body too large", {"max_bytes": 1 * (1000 + 4096) + 65536})
    assert not Photo.objects.exists()


def test_without_content_length_a_wsgi_body_is_never_read(api, make_sale):
    # gunicorn passes a chunked body on without CONTENT_LENGTH; Django then reads none of it.
    sale = make_sale(status=SaleStatus.COMPLETED)

    response, body = post_unread(api, sale.external_id, length=None)

    assert error_of(response)[:2] == (422, "Validation error")
    assert body.reads == 0


# --- The limit ------------------------------------------------------------------------------------


def test_the_limit_is_every_photo_at_full_size_and_the_framing_just_over_300_mib(settings):
    settings.PHOTO_MAX_COUNT, settings.PHOTO_MAX_BYTES = 30, 10 * 1024 * 1024

    assert max_upload_bytes() == 30 * (10 * 1024 * 1024 + 4096) + 65536 == 314_761_216
    assert max_upload_bytes() > 300 * 1024 * 1024  # nginx's client_max_body_size must be above 300m


def test_a_full_session_with_long_file_names_fits_the_limit(api, make_sale, settings):
    photos = [jpeg(f"{'x' * 250}{i}.jpg", size=(120, 90)) for i in range(3)]
    settings.PHOTO_MAX_COUNT = 3
    settings.PHOTO_MAX_BYTES = max(photo.size for photo in photos)
    sale = make_sale(status=SaleStatus.COMPLETED)

    response = api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": photos}, format="multipart")

    assert response.status_code == 200, response.json()
    assert Photo.objects.filter(sale=sale).count() == 3


# --- The streaming handler --------------------------------------------------------------------------


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def parse(stream: CountingStream, handlers):
    meta = {"CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}", "CONTENT_LENGTH": str(len(stream.getvalue()))}
    return MultiPartParser(meta, stream, handlers).parse()


def body_of(*sizes: int) -> CountingStream:
    files = [SimpleUploadedFile(f"p{i}.jpg", bytes([i]) * size, "image/jpeg") for i, size in enumerate(sizes)]
    return CountingStream(encode_multipart(BOUNDARY, {"files": files}))


def test_the_handler_stops_the_parser_at_the_limit_before_the_rest_is_read(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    stream = body_of(300_000, 300_000, 300_000)
    limit = UploadLimitHandler(limit=400_000)

    with pytest.raises(UploadTooLarge) as refused:
        parse(stream, [limit, MemoryFileUploadHandler(), TemporaryFileUploadHandler()])

    assert (status_for(refused.value), refused.value.details) == (413, {"max_bytes": 400_000})
    assert 400_000 < limit.received <= 400_000 + 64 * 1024  # stopped at the first chunk past the limit
    assert stream.bytes_read < 600_000 < len(stream.getvalue())  # the third file never came in


def test_the_handler_lets_an_upload_within_the_limit_through():
    stream = body_of(100_000, 100_000)

    _, files = parse(stream, [UploadLimitHandler(limit=200_000), MemoryFileUploadHandler()])

    assert [f.size for f in files.getlist("files")] == [100_000, 100_000]
    assert stream.bytes_read == len(stream.getvalue())


def test_the_handler_defaults_to_the_settings_limit(settings):
    settings.PHOTO_MAX_COUNT, settings.PHOTO_MAX_BYTES = 2, 1000

    assert UploadLimitHandler().limit == 2 * (1000 + 4096) + 65536


def test_the_view_streams_the_upload_through_the_handler(api, make_sale, settings, monkeypatch):
    # Were the Content-Length check skipped, the handler still stops the upload.
    monkeypatch.setattr("gallery.api.views.refuse_oversized", lambda request: None)
    settings.PHOTO_MAX_COUNT, settings.PHOTO_MAX_BYTES = 1, 1000
    sale = make_sale(status=SaleStatus.COMPLETED)
    big = SimpleUploadedFile("big.jpg", b"\xff" * 200_000, content_type="image/jpeg")

    response = api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": [big]}, format="multipart")

    assert error_of(response) == (413, "Request body too large", {"max_bytes": upload_limits.max_upload_bytes()})
    assert not Photo.objects.exists()
