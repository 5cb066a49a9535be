"""What is stored of a photo: its pixels and orientation, never its metadata (EXIF with GPS and
serial numbers, XMP, IPTC, comments, PNG text chunks), and nothing after the image's end."""

import hashlib
import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageCms, ImageOps, IptcImagePlugin, PngImagePlugin

from gallery.models import Photo
from gallery.storage import LocalStorage, StorageError
from gallery.validation import check_photo, strip_jpeg, strip_png
from tests.support.api import error_of

pytestmark = pytest.mark.django_db

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>6,10.5S</exif:GPSLatitude></x:xmpmeta>'
SECRETS = (b"SERIAL-4471", b"Canon", b"EOS R6", b"shot at home", b"ns.adobe.com/xap", b"GPSLatitude", b"Kebun Raya")


@pytest.fixture(autouse=True)
def local_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def camera_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F], exif[0x0110] = "Canon", "EOS R6"  # make, model
    exif.get_ifd(0x8769)[0xA431] = "SERIAL-4471"  # the body's serial number, in the Exif IFD
    exif.get_ifd(0x8825).update({1: "S", 2: (6.0, 35.0, 51.0), 3: "E", 4: (106.0, 47.0, 57.0)})  # GPS
    return exif


def iptc_app13(caption: bytes) -> bytes:
    """Photoshop's APP13 segment with an IPTC caption (record 2, dataset 120)."""
    iptc = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc + b"\x00" * (len(iptc) % 2)
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def camera_jpeg(*, orientation: int = 6, size=(64, 48), **options) -> bytes:
    """A JPEG as a camera or phone writes it: EXIF with GPS and serial, XMP, IPTC, a comment, an
    ICC profile. Noise, so the scan data is full of stuffed FF bytes."""
    buffer = io.BytesIO()
    Image.effect_noise(size, 90).convert("RGB").save(
        buffer,
        "JPEG",
        exif=camera_exif(orientation),
        xmp=XMP,
        comment=b"shot at home",
        icc_profile=SRGB,
        **{"quality": 92, **options},
    )
    data = buffer.getvalue()
    return data[:2] + iptc_app13(b"Kebun Raya Bogor") + data[2:]


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_chunks(data: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kinds.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return kinds


def camera_png(*, orientation: int = 8) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "shot at home")
    info.add_text("Author", "Canon EOS R6", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    buffer = io.BytesIO()
    Image.effect_noise((40, 30), 90).convert("RGBA").save(
        buffer, "PNG", pnginfo=info, exif=camera_exif(orientation), icc_profile=SRGB
    )
    data = buffer.getvalue()
    ihdr_end = 8 + 25
    time_chunk = png_chunk(b"tIME", struct.pack(">HBBBBB", 2025, 3, 9, 14, 30, 0))
    return data[:ihdr_end] + time_chunk + data[ihdr_end:]


def upload(api, sale, *files: tuple[str, bytes]):
    uploads = [SimpleUploadedFile(name, data, content_type="application/octet-stream") for name, data in files]
    return api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": uploads}, format="multipart")


def stored_bytes(local_media, photo: Photo) -> bytes:
    return (local_media / photo.storage_key).read_bytes()


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.tobytes()


# --- No metadata is stored --------------------------------------------------------------------------


def test_a_jpeg_is_stored_without_gps_serial_xmp_iptc_or_comment_and_with_the_same_pixels(api, paid_sale, local_media):
    original = camera_jpeg()
    assert all(secret in original for secret in SECRETS)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)

    response = upload(api, paid_sale, ("booth.jpg", original))

    assert response.status_code == 200, response.json()
    photo = Photo.objects.get()
    stored = stored_bytes(local_media, photo)
    with Image.open(io.BytesIO(stored)) as image:
        exif = image.getexif()
        assert exif.get_ifd(0x8825) == {}  # no GPS
        assert exif.get_ifd(0x8769) == {}  # no Exif IFD: no serial number
        assert dict(exif) == {0x0112: 6}  # the orientation is the only tag
        assert IptcImagePlugin.getiptcinfo(image) is None
        assert "xmp" not in image.info
        assert "comment" not in image.info
        assert image.info["icc_profile"] == SRGB  # colours are kept
    assert not [secret for secret in SECRETS if secret in stored]
    assert pixels(stored) == pixels(original)  # not re-encoded
    # What is stored is what the row and the answer describe.
    assert photo.checksum == hashlib.sha256(stored).hexdigest()
    assert photo.bytes == len(stored) == response.json()["photos"][0]["size"] < len(original)
    assert (photo.width, photo.height) == (64, 48)


def test_the_kept_orientation_still_turns_the_photo(paid_sale, api, local_media):
    upload(api, paid_sale, ("portrait.jpg", camera_jpeg(orientation=6, size=(64, 48))))

    with Image.open(io.BytesIO(stored_bytes(local_media, Photo.objects.get()))) as image:
        assert ImageOps.exif_transpose(image).size == (48, 64)


def test_an_upright_photo_keeps_no_exif_at_all(paid_sale, api, local_media):
    upload(api, paid_sale, ("upright.jpg", camera_jpeg(orientation=1)))

    stored = stored_bytes(local_media, Photo.objects.get())
    assert b"Exif\x00\x00" not in stored
    assert not Image.open(io.BytesIO(stored)).getexif()


def test_a_png_is_stored_without_text_exif_or_time_chunks_and_with_the_same_pixels(api, paid_sale, local_media):
    original = camera_png(orientation=8)
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"} <= set(png_chunks(original))

    response = upload(api, paid_sale, ("booth.png", original))

    assert response.status_code == 200, response.json()
    photo = Photo.objects.get()
    stored = stored_bytes(local_media, photo)
    assert png_chunks(stored) == [b"IHDR", b"iCCP", b"eXIf", b"IDAT", b"IEND"]
    with Image.open(io.BytesIO(stored)) as image:
        assert dict(image.getexif()) == {0x0112: 8}
        assert image.getexif().get_ifd(0x8825) == {}
        assert image.text == {}
        assert ImageOps.exif_transpose(image).size == (30, 40)
    assert not [secret for secret in SECRETS if secret in stored]
    assert pixels(stored) == pixels(original)
    assert photo.checksum == hashlib.sha256(stored).hexdigest()


def test_a_photo_without_metadata_is_stored_byte_for_byte(api, paid_sale, local_media):
    buffer = io.BytesIO()
    Image.effect_noise((50, 40), 90).convert("RGB").save(buffer, "JPEG")
    plain = buffer.getvalue()

    upload(api, paid_sale, ("plain.jpg", plain))

    assert stored_bytes(local_media, Photo.objects.get()) == plain


@pytest.mark.parametrize(
    "options",
    [{"progressive": True}, {"restart_marker_blocks": 1}, {"subsampling": 0, "quality": 100}],
    ids=["progressive", "restart-markers", "4:4:4"],
)
def test_stripping_never_changes_the_pixels(options):
    original = camera_jpeg(size=(96, 80), **options)

    stripped = strip_jpeg(original)

    assert pixels(stripped) == pixels(original)
    assert Image.open(io.BytesIO(stripped)).getexif().get_ifd(0x8825) == {}
    assert strip_jpeg(stripped) == stripped


def test_a_cmyk_jpeg_keeps_its_adobe_segment_and_pixels():
    buffer = io.BytesIO()
    Image.effect_noise((40, 30), 90).convert("CMYK").save(buffer, "JPEG", exif=camera_exif(1))
    original = buffer.getvalue()

    stripped = strip_jpeg(original)

    assert b"\xff\xee\x00\x0eAdobe" in stripped  # APP14 Adobe: how the decoder reads CMYK
    assert pixels(stripped) == pixels(original)
    assert b"SERIAL-4471" not in stripped


def test_a_png_without_metadata_is_unchanged():
    buffer = io.BytesIO()
    Image.effect_noise((20, 20), 90).convert("L").save(buffer, "PNG")

    assert strip_png(buffer.getvalue()) == buffer.getvalue()


# --- A retried upload is the same photo ---------------------------------------------------------------


def test_the_same_upload_always_gives_the_same_stored_photo():
    original = camera_jpeg()

    first = check_photo(name="a.jpg", file=io.BytesIO(original), size=len(original))
    again = check_photo(name="a.jpg", file=io.BytesIO(original), size=len(original))

    assert first.checksum == again.checksum == hashlib.sha256(first.read()).hexdigest()
    assert first.read() == again.read() == strip_jpeg(original)
    assert first.size == len(first.read())


def test_a_retry_after_a_storage_failure_stores_only_what_is_missing(api, paid_sale, local_media, monkeypatch):
    photos = [("a.jpg", camera_jpeg(size=(64, 48))), ("b.jpg", camera_jpeg(size=(48, 64))), ("c.png", camera_png())]
    real_save = LocalStorage.save
    saved: list[str] = []

    def flaky_save(self, *, key, content, filename):
        if filename == "b.jpg" and "b.jpg" not in saved:
            saved.append("b.jpg")
            raise StorageError("the storage is down")
        saved.append(filename)
        return real_save(self, key=key, content=content, filename=filename)

    monkeypatch.setattr(LocalStorage, "save", flaky_save)

    failed = upload(api, paid_sale, *photos)
    retried = upload(api, paid_sale, *photos)

    assert failed.status_code == 502
    assert retried.status_code == 200, retried.json()
    assert sorted(saved) == ["a.jpg", "b.jpg", "b.jpg", "c.png"]  # a and c stored once
    rows = list(Photo.objects.order_by("position"))
    assert [row.original_name for row in rows] == ["a.jpg", "b.jpg", "c.png"]
    for row in rows:
        assert row.checksum == hashlib.sha256(stored_bytes(local_media, row)).hexdigest()
        assert b"SERIAL-4471" not in stored_bytes(local_media, row)


# --- Nothing after the image's end ------------------------------------------------------------------

HTML = b"<html><script>alert(document.cookie)</script></html>"


def plain_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def plain_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("x.jpg", plain_jpeg() + HTML + b"\xff\xd9"),  # passed the old rfind check
        ("x.jpg", plain_jpeg() + b"\xff\xd8" + HTML + b"\xff\xd9"),
        ("x.jpg", plain_jpeg() + b"\n"),
        ("x.jpg", plain_jpeg() + b"\x00" * 16),
        ("x.png", plain_png() + HTML + b"IEND\xae\x42\x60\x82"),  # passed the old rfind check
        ("x.png", plain_png() + png_chunk(b"tEXt", b"Comment\x00" + HTML)),
        ("x.png", plain_png() + b"\r\n"),
    ],
    ids=["jpeg-html-eoi", "jpeg-second-image", "jpeg-newline", "jpeg-zeros", "png-html-iend", "png-chunk", "png-crlf"],
)
def test_anything_after_the_images_end_is_refused(api, paid_sale, local_media, name, data):
    response = upload(api, paid_sale, ("fine.jpg", plain_jpeg()), (name, data))

    assert error_of(response) == (
        400,
        f"File '{name}' has data after the end of the image",
        {"filename": name, "format": "polyglot"},
    )
    assert not Photo.objects.exists()
    assert not any(local_media.rglob("*.*"))


def test_an_end_marker_inside_the_image_is_not_its_end(api, paid_sale, local_media):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buffer, "JPEG", comment=b"\xff\xd9" + HTML)
    sneaky = buffer.getvalue()

    response = upload(api, paid_sale, ("x.jpg", sneaky))

    assert response.status_code == 200, response.json()
    stored = stored_bytes(local_media, Photo.objects.get())
    assert HTML not in stored
    assert stored.endswith(b"\xff\xd9")
    assert pixels(stored) == pixels(sneaky)


@pytest.mark.parametrize(
    "cut",
    [
        lambda data: data[:-2],  # no end-of-image marker
        lambda data: data[:2] + b"\xff\xfe\xff\xf0" + data[2:],  # a comment longer than the file
    ],
    ids=["no-eoi", "segment-past-the-end"],
)
def test_a_jpeg_whose_structure_is_broken_is_refused_as_damaged(api, paid_sale, cut):
    response = upload(api, paid_sale, ("x.jpg", cut(plain_jpeg())))

    assert error_of(response) == (
        400,
        "File 'x.jpg' is damaged and cannot be read as an image",
        {"filename": "x.jpg", "format": "corrupt"},
    )
