"""GET /gallery/{external_id}/{key} and .../download: the customer's gallery page and its ZIP."""

import hashlib
import io
import os
import re
import zipfile
from datetime import UTC, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from core.env import Rate
from gallery.models import Photo
from gallery.storage import LocalStorage, StorageError
from payments.models import Sale, SaleStatus
from tests.support.factories import create_photo

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
MONTHS_ID = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober"]
MONTHS_ID += ["November", "Desember"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
MONTHS_EN += ["November", "December"]
ROOT = Path(__file__).resolve().parents[2]
GALLERY_HEADERS = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex", "Cache-Control": "private"}


@pytest.fixture(autouse=True)
def local_media(settings, tmp_path):
    settings.PHOTO_STORAGE = "local"
    settings.MEDIA_ROOT = tmp_path
    settings.LANGUAGE_CODE = "id"
    return tmp_path


@pytest.fixture
def paid_sale(make_sale) -> Sale:
    return make_sale(status=SaleStatus.COMPLETED)


def jpeg(name: str, color: tuple[int, int, int]) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def png(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (0, 90, 200)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def upload(api, sale: Sale, files: list[SimpleUploadedFile]) -> list[bytes]:
    """Store photos through the kiosk's upload API; returns their bytes in upload order."""
    contents = [f.read() for f in files]
    for f in files:
        f.seek(0)
    response = api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": files}, format="multipart")
    assert response.status_code == 200, response.content
    return contents


def add_photos(sale: Sale, count: int, media_root=None, *, size: int = 100) -> list[Photo]:
    """Photo rows (and, given media_root, their files) made directly: fast, any size."""
    photos = []
    for position in range(1, count + 1):
        content = os.urandom(size)
        key = f"photos/{sale.external_id}/{position:02d}.jpg"
        if media_root is not None:
            (media_root / key).parent.mkdir(parents=True, exist_ok=True)
            (media_root / key).write_bytes(content)
        photos.append(
            create_photo(
                sale,
                position,
                storage_key=key,
                url=f"http://127.0.0.1:8000/media/{key}",
                bytes=len(content),
                width=40,
                height=30,
                original_name=f"IMG_{position:04d}.jpg",
                checksum=hashlib.sha256(content).hexdigest(),
            )
        )
    return photos


def page_url(sale: Sale, key: str | None = None) -> str:
    return f"/gallery/{sale.external_id}/{sale.gallery_key if key is None else key}"


def zip_url(sale: Sale) -> str:
    return page_url(sale) + "/download"


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


class Links(HTMLParser):
    """The gallery's thumbnails (link to the full photo, image shown) and download buttons."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.full: list[str] = []
        self.thumbnails: list[tuple[str, str]] = []  # (src, alt)
        self.downloads: list[tuple[str, str]] = []  # (href, suggested file name)
        self._in_photo_link = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "data-photo" in attrs:
            self.full.append(attrs["href"])
            self._in_photo_link = True
        elif tag == "img" and self._in_photo_link:
            self.thumbnails.append((attrs["src"], attrs["alt"]))
        elif tag == "a" and "download" in attrs and attrs.get("href", "#") != "#":
            self.downloads.append((attrs["href"], attrs["download"] or ""))

    def handle_endtag(self, tag):
        if tag == "a":
            self._in_photo_link = False


def jakarta_date(moment, months) -> str:
    local = moment.astimezone(JAKARTA)
    return f"{local.day} {months[local.month - 1]} {local.year}"


# --- The gallery ----------------------------------------------------------------------------


def test_gallery_shows_every_photo_in_upload_order_with_location_and_expiry(client, api, paid_sale, settings):
    upload(api, paid_sale, [jpeg("b.jpg", (200, 0, 0)), jpeg("a.jpg", (0, 200, 0)), png("c.png")])
    # Sent at 20:00 UTC: already the next day in Jakarta, where the customer reads the date.
    sent = (timezone.now() - timedelta(days=1)).astimezone(UTC).replace(hour=20, minute=0, second=0, microsecond=0)
    Sale.objects.filter(pk=paid_sale.pk).update(email_sent_at=sent)
    photos = list(Photo.objects.filter(sale=paid_sale).order_by("position"))

    response = client.get(page_url(paid_sale))

    assert response.status_code == 200
    html = response.content.decode()
    links = Links(html)
    urls = [p.url for p in photos]
    assert [p.original_name for p in photos] == ["b.jpg", "a.jpg", "c.png"]
    assert links.full == urls
    assert [src for src, _ in links.thumbnails] == urls
    assert [alt for _, alt in links.thumbnails] == ["Foto 1 dari 3", "Foto 2 dari 3", "Foto 3 dari 3"]
    stem = f"photobox-{paid_sale.external_id}"
    assert links.downloads[0] == (zip_url(paid_sale), "")
    assert [name for _, name in links.downloads[1:]] == [f"{stem}-01.jpg", f"{stem}-02.jpg", f"{stem}-03.png"]
    # Each download button is counted (gallery/visits.py), then sent on to the storage's link.
    assert [client.get(href)["Location"] for href, _ in links.downloads[1:]] == [
        f"{urls[0]}?download={stem}-01.jpg",
        f"{urls[1]}?download={stem}-02.jpg",
        f"{urls[2]}?download={stem}-03.png",
    ]
    # The photo itself comes as an attachment of that name (the `download` attribute alone only
    # works on the same origin).
    photo_response = client.get(client.get(links.downloads[1][0])["Location"].removeprefix(settings.API_BASE_URL))
    assert photo_response["Content-Disposition"] == f'attachment; filename="{stem}-01.jpg"'
    assert "Mall Taman Anggrek" in html
    assert jakarta_date(paid_sale.paid_at, MONTHS_ID) in html
    expires = sent + timedelta(days=14)
    assert f"Tersedia sampai {jakarta_date(expires, MONTHS_ID)} pukul 03:00 WIB" in html
    assert f"{expires.day} {MONTHS_ID[expires.month - 1]}" not in html  # the UTC date
    days_left = (expires.astimezone(JAKARTA).date() - timezone.localdate(timezone=JAKARTA)).days
    assert f"({days_left} hari lagi)" in html


def test_the_page_is_indonesian_by_default(client, paid_sale):
    add_photos(paid_sale, 2)

    html = client.get(page_url(paid_sale)).content.decode()

    assert '<html lang="id">' in html
    assert "Foto Anda" in html
    assert "Unduh Semua Foto" in html
    assert "2 foto, file ZIP" in html
    assert "Download" not in html  # the buttons say "Unduh", as the email says "diunduh"
    assert ">Sebelumnya</span>" in html  # the viewer's buttons keep their words for screen readers
    assert ">Berikutnya</span>" in html


def test_the_page_is_english_with_language_code_en(client, paid_sale, settings):
    settings.LANGUAGE_CODE = "en"
    add_photos(paid_sale, 2)

    html = client.get(page_url(paid_sale)).content.decode()

    assert '<html lang="en">' in html
    assert "Your photos" in html
    assert "Download All Photos" in html
    assert "Photo 1 of 2" in html
    assert "2 photos, ZIP file" in html
    assert jakarta_date(timezone.now() + timedelta(days=14), MONTHS_EN) in html
    assert "Unduh Semua Foto" not in html


def test_cloudinary_photos_show_small_thumbnails_and_attachment_downloads(client, paid_sale, make_photo, settings):
    settings.PHOTO_STORAGE = "cloudinary"
    original = "https://res.cloudinary.com/demo/image/upload/v1/photobox/TRX-1/01-abc"
    make_photo(paid_sale, storage_key="photobox/TRX-1/01-abc", url=original)

    links = Links(client.get(page_url(paid_sale)).content.decode())

    assert links.full == [original]
    assert links.thumbnails[0][0] == original.replace("/upload/", "/upload/c_fill,w_480,h_480,q_auto,f_auto/")
    stem = f"photobox-{paid_sale.external_id}"
    assert client.get(links.downloads[1][0])["Location"] == original.replace(
        "/upload/", f"/upload/fl_attachment:{stem}-01/"
    )


def test_page_query_count_does_not_grow_with_the_photos(client, make_sale):
    few, many = make_sale(status=SaleStatus.COMPLETED), make_sale(status=SaleStatus.COMPLETED)
    add_photos(few, 3)
    add_photos(many, 20)

    with CaptureQueriesContext(connection) as few_queries:
        assert client.get(page_url(few)).status_code == 200
    with CaptureQueriesContext(connection) as many_queries:
        response = client.get(page_url(many))

    assert len(Links(response.content.decode()).thumbnails) == 20
    assert len(many_queries) == len(few_queries) <= 4  # the sale, its photos, the open counted


def test_hostile_names_are_escaped(client, make_location, make_sale, local_media):
    hostile = make_location(name="<script>alert('location')</script>")
    sale = make_sale(status=SaleStatus.COMPLETED, location=hostile)
    photo = add_photos(sale, 1)[0]
    Photo.objects.filter(pk=photo.pk).update(original_name='"><img src=x onerror=alert(1)>.jpg')

    html = client.get(page_url(sale)).content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;location&#x27;)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_photos_not_stored_yet_get_a_friendly_waiting_page(client, paid_sale, make_photo):
    make_photo(paid_sale, stored=False)

    response = client.get(page_url(paid_sale))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Foto Anda sedang dalam perjalanan" in html
    assert "Mall Taman Anggrek" in html
    assert Links(html).thumbnails == []
    assert "Unduh Semua Foto" not in html


# --- Icons ----------------------------------------------------------------------------------
# Emoji and pictographs (📸 🔍 ⏳ ⌛ ⬇ ✕ …): a phone or PC without an emoji font shows an empty box.
PICTOGRAPHS = re.compile("[\u2300-\u23ff\u2460-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f]")
ICON = re.compile(r'<div class="icon"><svg class="svg-icon" [^>]*aria-hidden="true"')
CUSTOMER_FILES = [
    *(ROOT / "templates" / "gallery").rglob("*.*"),
    *(ROOT / "templates" / "emails").glob("*.*"),
    ROOT / "templates" / "home.html",
    *(ROOT / "gallery" / "static").rglob("*.[cj]s*"),
    ROOT / "gallery" / "emails.py",
]


def test_the_files_customers_see_have_no_emoji():
    found = {
        str(path.relative_to(ROOT)): PICTOGRAPHS.findall(path.read_text())
        for path in CUSTOMER_FILES
        if path.suffix in {".html", ".txt", ".svg", ".css", ".js", ".py"}
    }
    assert len(found) >= 12
    assert {path: chars for path, chars in found.items() if chars} == {}


def test_every_gallery_page_draws_its_icons_as_inline_svg(client, paid_sale, make_sale):
    pages = {
        "not found": client.get(page_url(paid_sale, key="wrong")),
        "please wait": client.get(page_url(paid_sale)),  # paid, photos not uploaded yet
        "expired": client.get(page_url(make_sale(status=SaleStatus.COMPLETED, photos_deleted_at=timezone.now()))),
    }
    add_photos(paid_sale, 2)
    pages["gallery"] = client.get(page_url(paid_sale))

    assert {name: response.status_code for name, response in pages.items()} == {
        "not found": 404, "please wait": 200, "expired": 410, "gallery": 200,
    }  # fmt: skip
    for name, response in pages.items():
        html = response.content.decode()
        assert not PICTOGRAPHS.search(html), name
        assert '<span class="brand-name"><svg class="svg-icon"' in html, name  # the camera by the name
        assert (ICON.search(html) is not None) == (name != "gallery"), name  # the big icon of a notice
    assert 'href="/favicon.ico"' in pages["gallery"].content.decode()
    # The camera, "download all", each photo's download, and the viewer's close, previous, next, download.
    assert pages["gallery"].content.decode().count('<svg class="svg-icon"') == 1 + 1 + 2 + 4


def test_the_please_wait_page_for_too_many_wrong_links_draws_its_icon(client, paid_sale, settings):
    settings.RATE_LIMIT_GALLERY_MISSES = Rate(1, 60)
    client.get(page_url(paid_sale, key="wrong"))

    response = client.get(page_url(paid_sale, key="wrong"))

    assert response.status_code == 429
    html = response.content.decode()
    assert "Mohon tunggu sebentar" in html
    assert ICON.search(html)
    assert not PICTOGRAPHS.search(html)


# --- Not found and expired ------------------------------------------------------------------


def test_wrong_keys_and_unknown_sales_get_the_same_404_page(client, make_sale):
    sale = make_sale(status=SaleStatus.COMPLETED)
    other = make_sale(status=SaleStatus.COMPLETED)
    add_photos(sale, 1)
    key = sale.gallery_key

    answers = [
        client.get(page_url(sale, key="x" * len(key))),
        client.get(page_url(sale, key=key[:-1])),
        client.get(page_url(sale, key=key + "A")),
        client.get(page_url(sale, key=other.gallery_key)),
        client.get(f"/gallery/TRX-9-20250101000000-DEADBEEF/{key}"),
        client.get(f"/gallery/{'9' * 300}/{key}"),
    ]

    assert {a.status_code for a in answers} == {404}
    assert len({a.content for a in answers}) == 1
    html = answers[0].content.decode()
    assert "Galeri tidak ditemukan" in html
    assert sale.external_id not in html
    assert "Mall Taman Anggrek" not in html


def test_missing_key_gets_the_same_404_page(client, paid_sale):
    add_photos(paid_sale, 1)
    wrong_key = client.get(page_url(paid_sale, key="wrong")).content

    for url in (f"/gallery/{paid_sale.external_id}", f"/gallery/{paid_sale.external_id}/"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.content == wrong_key


def test_unpaid_sale_is_not_found_even_with_its_key(client, make_sale, paid_sale):
    unpaid = make_sale(status=SaleStatus.PENDING)

    response = client.get(page_url(unpaid))

    assert response.status_code == 404
    assert response.content == client.get(page_url(paid_sale, key="wrong")).content


def test_cleaned_up_gallery_is_gone_for_the_page_and_the_download(client, paid_sale):
    add_photos(paid_sale, 2)
    Sale.objects.filter(pk=paid_sale.pk).update(photos_deleted_at=timezone.now())

    page, download = client.get(page_url(paid_sale)), client.get(zip_url(paid_sale))

    assert page.status_code == download.status_code == 410
    html = page.content.decode()
    assert "Galeri ini sudah kedaluwarsa" in html
    assert "14 hari" in html
    assert Links(html).thumbnails == []
    assert download["Content-Type"].startswith("text/html")
    # Without the key an expired gallery is as unknown as any other.
    assert client.get(page_url(paid_sale, key="wrong")).status_code == 404


def test_every_gallery_response_carries_the_privacy_headers(client, paid_sale, local_media):
    add_photos(paid_sale, 2, local_media)
    answers = {
        "page": client.get(page_url(paid_sale)),
        "zip": client.get(zip_url(paid_sale)),
        "not found": client.get(page_url(paid_sale, key="nope")),
        "post": client.post(page_url(paid_sale)),
    }
    Sale.objects.filter(pk=paid_sale.pk).update(photos_deleted_at=timezone.now())
    answers["expired page"] = client.get(page_url(paid_sale))
    answers["expired zip"] = client.get(zip_url(paid_sale))

    assert [answer.status_code for answer in answers.values()] == [200, 200, 404, 405, 410, 410]
    for name, answer in answers.items():
        assert {header: answer.get(header) for header in GALLERY_HEADERS} == GALLERY_HEADERS, name


# --- Download all -----------------------------------------------------------------------------


def test_download_all_is_a_streamed_zip_of_every_photo_in_order(client, api, paid_sale):
    contents = upload(api, paid_sale, [jpeg("x.jpg", (10, 10, 10)), png("y.png"), jpeg("z.jpg", (250, 250, 0))])

    response = client.get(zip_url(paid_sale))

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="photobox-{paid_sale.external_id}.zip"'
    archive = zipfile.ZipFile(io.BytesIO(streamed(response)))
    assert archive.testzip() is None
    stem = f"photobox-{paid_sale.external_id}"
    assert archive.namelist() == [f"{stem}-01.jpg", f"{stem}-02.png", f"{stem}-03.jpg"]
    assert [archive.read(name) for name in archive.namelist()] == contents
    assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


def test_download_all_reads_photos_in_chunks_as_it_sends(client, paid_sale, local_media, monkeypatch):
    add_photos(paid_sale, 3, local_media, size=200_000)
    opened, real_open = [], LocalStorage.open

    def spying_open(self, key, url):
        opened.append(key)
        yield from real_open(self, key, url)

    monkeypatch.setattr(LocalStorage, "open", spying_open)

    chunks = client.get(zip_url(paid_sale)).streaming_content
    first = next(chunks)

    assert opened == [f"photos/{paid_sale.external_id}/01.jpg"]  # the rest is not read yet
    assert 0 < len(first) < 200_000
    rest = b"".join(chunks)
    archive = zipfile.ZipFile(io.BytesIO(first + rest))
    assert [len(archive.read(name)) for name in archive.namelist()] == [200_000] * 3


def test_a_photo_missing_from_storage_breaks_the_download_off(client, paid_sale, local_media):
    photos = add_photos(paid_sale, 2, local_media)
    (local_media / photos[1].storage_key).unlink()

    response = client.get(zip_url(paid_sale))

    # The customer's browser sees a failed download, never a ZIP that quietly lacks a photo.
    with pytest.raises(StorageError):
        streamed(response)
