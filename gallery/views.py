"""The customer's gallery: a server-rendered page of a sale's photos, all of them as one ZIP, and
each photo's download link (counted here, then sent on to the storage).

Only the link from the customer's email opens a gallery: an unknown sale and a wrong key get the
same 404 page, so the page never tells whether a sale number exists. Everything is rendered from
the database (never by listing the storage), in settings.LANGUAGE_CODE, with dates in Jakarta time.
"""

import hmac
import logging
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import wraps

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header

from core.formats import JAKARTA
from core.ratelimit import GALLERY_MISSES, miss_limited
from gallery import selectors
from gallery.models import Photo
from gallery.storage import PhotoStorage, StorageError, get_photo_storage
from gallery.validation import ALLOWED_FORMATS
from gallery.visits import Visit, count_visit
from payments.models import Sale, SaleStatus, new_gallery_key

logger = logging.getLogger("gallery")


# On every gallery response, errors and the ZIP included: the URL holds the key, so it must not
# leak through a Referer, land in a search index or sit in a shared cache.
GALLERY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Cache-Control": "private",
}
# Pages load only our own CSS and script; photos come from the storage (Cloudinary or local).
PAGE_CSP = (
    "default-src 'none'; img-src * data:; style-src 'self'; script-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

# Compared when the sale does not exist, so both answers do the same work: as long as a real key.
_NO_SALE_KEY = "x" * len(new_gallery_key())


def gallery_response(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """GET and HEAD only, rendered in the customers' language and time zone, with the gallery headers."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if request.method in ("GET", "HEAD"):
            with translation.override(settings.LANGUAGE_CODE), timezone.override(JAKARTA):
                response = view(request, *args, **kwargs)
        else:
            response = HttpResponseNotAllowed(["GET", "HEAD"])
        for name, value in GALLERY_HEADERS.items():
            response[name] = value
        return response

    return wrapper


def _find_sale(external_id: str, key: str) -> Sale | None:
    """The paid sale this link opens, or None: unknown sale, wrong or missing key, unpaid sale."""
    sale = None
    if len(external_id) <= Sale._meta.get_field("external_id").max_length and external_id.isprintable():
        sale = Sale.objects.select_related("location").filter(external_id=external_id).first()
    expected = sale.gallery_key if sale is not None else _NO_SALE_KEY
    key_matches = hmac.compare_digest(expected.encode(), key.encode())
    if sale is None or not key_matches or not key or sale.status != SaleStatus.COMPLETED:
        return None
    return sale


def _page(template: str, context: dict | None = None, *, status: int = 200) -> HttpResponse:
    body = render_to_string(
        template, {"app_name": settings.APP_NAME, "language_code": translation.get_language(), **(context or {})}
    )
    response = HttpResponse(body, status=status)
    response["Content-Language"] = translation.get_language()
    response["Content-Security-Policy"] = PAGE_CSP
    return response


def _not_found() -> HttpResponse:
    # Nothing from the request or the sale: an unknown sale and a wrong key get the same bytes.
    return _page("gallery/not_found.html", status=404)


def _sale_context(sale: Sale) -> dict:
    expires_at = selectors.photos_expire_at(sale)
    days_left = None
    if expires_at is not None:
        # Calendar days in Jakarta, as the customer counts them from the date on the page.
        days_left = max(0, (timezone.localdate(expires_at, JAKARTA) - timezone.localdate(timezone=JAKARTA)).days)
    return {
        "sale": sale,
        "location_name": sale.location.name,
        "taken_at": sale.paid_at,
        "expires_at": expires_at,
        "days_left": days_left,
        "retention_days": settings.PHOTO_RETENTION_DAYS,
    }


def _expired(sale: Sale) -> HttpResponse:
    return _page("gallery/expired.html", _sale_context(sale), status=410)


@dataclass(frozen=True)
class GalleryPhoto:
    number: int
    filename: str
    thumbnail_url: str
    full_url: str
    download_url: str
    bytes: int
    width: int
    height: int


def _file_stem(sale: Sale) -> str:
    return "photobox-" + re.sub(r"[^A-Za-z0-9_-]", "_", sale.external_id)


def _photo_filename(sale: Sale, number: int, photo: Photo) -> str:
    extension = ALLOWED_FORMATS.get(photo.format.upper(), "jpg")
    return f"{_file_stem(sale)}-{number:02d}.{extension}"


def _too_many_misses(request: HttpRequest, wait: int) -> HttpResponse:
    # Too many wrong links from this address (RATE_LIMIT_GALLERY_MISSES): every gallery is refused
    # to it for a while, the right links too, or a 429 would tell a wrong link from a right one.
    return _page("gallery/too_many_requests.html", {"minutes": max(1, -(-wait // 60))}, status=429)


def _count(request: HttpRequest, sale: Sale, visit: Visit) -> None:
    # HEAD is what link checkers and previews send; a person's browser GETs.
    if request.method == "GET":
        count_visit(sale_id=sale.pk, visit=visit)


@gallery_response
@miss_limited(GALLERY_MISSES, _too_many_misses)
def gallery_page(request: HttpRequest, external_id: str, key: str = "") -> HttpResponse:
    sale = _find_sale(external_id, key)
    if sale is None:
        return _not_found()
    # Every answer to a real link is an open, the waiting and expired pages too: the customer came.
    _count(request, sale, Visit.OPEN)
    if sale.photos_deleted_at is not None:
        return _expired(sale)
    context = _sale_context(sale)
    photos = list(selectors.stored_photos(sale))
    if not photos:
        # Paid, and the kiosk has not finished uploading yet.
        return _page("gallery/pending.html", context)
    storage = get_photo_storage()
    context["photos"] = [
        GalleryPhoto(
            number=number,
            filename=_photo_filename(sale, number, photo),
            thumbnail_url=storage.thumbnail_url(photo.url),
            full_url=photo.url,
            download_url=reverse("gallery-photo-download", args=[sale.external_id, sale.gallery_key, number]),
            bytes=photo.bytes,
            width=photo.width,
            height=photo.height,
        )
        for number, photo in enumerate(photos, start=1)
    ]
    context["total_bytes"] = sum(photo.bytes for photo in photos)
    return _page("gallery/gallery.html", context)


@gallery_response
@miss_limited(GALLERY_MISSES, _too_many_misses)
def gallery_download(request: HttpRequest, external_id: str, key: str = "") -> HttpResponseBase:
    """Every photo of the sale in one ZIP, streamed: read from the storage chunk by chunk as the
    customer's phone receives it, so no photo is ever held in memory whole."""
    sale = _find_sale(external_id, key)
    if sale is None:
        return _not_found()
    if sale.photos_deleted_at is not None:
        return _expired(sale)
    photos = list(selectors.stored_photos(sale))
    if not photos:
        return _page("gallery/pending.html", _sale_context(sale))
    _count(request, sale, Visit.ZIP_DOWNLOAD)
    entries = [(_photo_filename(sale, number, photo), photo) for number, photo in enumerate(photos, start=1)]
    content = () if request.method == "HEAD" else _zip_stream(get_photo_storage(), entries, sale=sale)
    response = StreamingHttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, f"{_file_stem(sale)}.zip")
    return response


@gallery_response
@miss_limited(GALLERY_MISSES, _too_many_misses)
def gallery_photo_download(request: HttpRequest, external_id: str, key: str, number: int) -> HttpResponseBase:
    """One photo's download button: counted, then sent on to the storage's attachment link (a
    Cloudinary URL asking for an attachment, or the local media view's ?download=)."""
    sale = _find_sale(external_id, key)
    if sale is None:
        return _not_found()
    if sale.photos_deleted_at is not None:
        return _expired(sale)
    # The number from the page (1, 2, ...); a made-up one never reaches the database as an offset.
    photo = next(iter(selectors.stored_photos(sale)[number - 1 : number]), None) if 1 <= number <= 1000 else None
    if photo is None:
        return _not_found()
    _count(request, sale, Visit.PHOTO_DOWNLOAD)
    return HttpResponseRedirect(get_photo_storage().download_url(photo.url, _photo_filename(sale, number, photo)))


class _Pipe:
    """A write-only, unseekable file: zipfile writes into it, the response sends what it holds."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _zip_time(moment: datetime | None) -> tuple[int, int, int, int, int, int]:
    local = timezone.localtime(moment, JAKARTA) if moment else timezone.localtime(timezone=JAKARTA)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


def _zip_stream(storage: PhotoStorage, entries: Iterable[tuple[str, Photo]], *, sale: Sale) -> Iterator[bytes]:
    # JPEG and PNG are compressed already: stored entries cost no CPU and barely any size. The
    # output cannot seek, so zipfile writes each entry's sizes after its data.
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for name, photo in entries:
            info = zipfile.ZipInfo(name, date_time=_zip_time(photo.stored_at))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = photo.bytes  # lets zipfile choose ZIP64 up front for huge files
            info.external_attr = 0o644 << 16
            try:
                with archive.open(info, mode="w") as member:
                    for chunk in storage.open(photo.storage_key, photo.url):
                        member.write(chunk)
                        yield pipe.take()
            except StorageError:
                # The status line is gone already: break the download off instead of handing
                # the customer a ZIP that silently lacks photos.
                logger.warning("gallery zip aborted external_id=%s key=%s", sale.external_id, photo.storage_key)
                raise
            if data := pipe.take():
                yield data
    if data := pipe.take():
        yield data
