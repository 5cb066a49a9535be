"""A sale's QRIS string as a QR image, for kiosks (and the demo kiosk page) that cannot draw one.

GET /api/v1/transactions/external/{external_id}/qr.svg and .../qr.png. The image of a sale never
changes, so while the sale can be paid it is cacheable until the sale expires; once the sale is
paid, expired or failed the answer is 410, so a kiosk never shows a code nobody can pay. Errors
are the API's JSON envelope. Plain Django views rather than DRF ones: DRF would refuse a request
whose Accept header names only images (as an <img> may send) before the view runs.
"""

import hashlib
import io
import math

import segno
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from core.envelope import json_error, status_for
from payments import services
from payments.models import Sale, SaleStatus
from payments.selectors import SaleNotFound, sale_by_external_id

# Pixels per module and quiet-zone width (in modules; QR needs at least 4).
SCALE = 8
BORDER = 4
CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def qr_image(text: str, kind: str, *, scale: int = SCALE) -> bytes:
    """`text` as a QR code (never a Micro QR), black on white, in `kind` ("svg" or "png")."""
    code = segno.make_qr(text, error="m")
    buffer = io.BytesIO()
    options = {"scale": scale, "border": BORDER, "dark": "#000", "light": "#fff"}
    if kind == "svg":
        options.update(xmldecl=False, title="QR code")
    code.save(buffer, kind=kind, **options)
    return buffer.getvalue()


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


def _etag(sale: Sale, kind: str) -> str:
    digest = hashlib.sha256(f"{kind}:{SCALE}:{BORDER}:{sale.qr_string}".encode()).hexdigest()
    return f'"{digest[:32]}"'


@require_safe
def sale_qr(request: HttpRequest, external_id: str, kind: str) -> HttpResponse:
    queryset = Sale.objects.only("id", "external_id", "status", "qr_string", "expires_at", "paid_at")
    try:
        sale = services.expire_if_overdue(sale=sale_by_external_id(external_id, queryset))
    except SaleNotFound as exc:
        return _no_store(json_error(status_for(exc), exc.message, exc.details))
    if sale.status != SaleStatus.PENDING:
        return _no_store(
            json_error(
                410,
                "QR code is no longer payable",
                {"external_id": sale.external_id, "status": sale.status},
            )
        )
    if not sale.qr_string:
        # Only while the gateway call of a brand-new sale is still under way.
        return _no_store(json_error(404, "QR code not available yet", {"external_id": sale.external_id}))

    etag = _etag(sale, kind)
    max_age = max(0, math.floor((sale.expires_at - timezone.now()).total_seconds()))
    # Django's conditional-request rules (If-None-Match lists, weak tags, "*"), the ones its
    # condition() decorator applies; called here rather than as the decorator so the sale is read
    # once and the 304 carries the same caching headers as the image.
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        qr_image(sale.qr_string, kind), content_type=CONTENT_TYPES[kind]
    )
    response["ETag"] = etag
    # The same sale always gives the same image; a shared cache may keep it as long as it can be paid.
    patch_cache_control(response, public=True, immutable=True, max_age=max_age)
    if kind == "svg":
        # An SVG opened on its own is a document: it may draw, never run anything.
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@csrf_exempt  # a POST gets 405, like every other API path, not a CSRF page
def sale_qr_svg(request: HttpRequest, external_id: str) -> HttpResponse:
    return sale_qr(request, external_id, "svg")


@csrf_exempt
def sale_qr_png(request: HttpRequest, external_id: str) -> HttpResponse:
    return sale_qr(request, external_id, "png")
