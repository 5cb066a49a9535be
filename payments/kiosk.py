"""/kiosk/: a demo kiosk in the browser, walking the customer's journey through the public API.

The page's own script does what a kiosk does (create the sale, show its QR image, poll every 3 s,
upload the photos) with the same requests a kiosk sends; these views only render the page and
draw the gallery link as a QR code. On with DEBUG or DEMO_KIOSK=true; a 404 otherwise.
"""

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from locations.models import Location
from payments.qr import qr_image
from photobox.formatting import rupiah
from pricing.models import Price

# Stands in for the sale number in URL templates handed to the page's script.
SALE = "EXTERNAL_ID"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_GALLERY_PATH = re.compile(r"[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_-]{1,64}")


def kiosk_enabled() -> bool:
    return settings.DEBUG or settings.DEMO_KIOSK


def simulator_pay_available() -> bool:
    """Whether POST /api/v1/simulator/transactions/{id}/pay answers (payments.api.SimulatePaymentView)."""
    return settings.DEBUG and settings.PAYMENT_GATEWAY == "simulator"


def _demo_only(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def kiosk_page(request: HttpRequest) -> HttpResponse:
    if not kiosk_enabled():
        raise Http404("The demo kiosk is off: set DEBUG=true or DEMO_KIOSK=true.")
    context = {
        "locations": Location.objects.filter(is_active=True),
        "prices": [
            {"id": price.pk, "amount": rupiah(price.amount), "description": price.description}
            for price in Price.objects.filter(is_active=True)
        ],
        "simulator": simulator_pay_available(),
        "gateway": settings.PAYMENT_GATEWAY,
        "photo_max_count": settings.PHOTO_MAX_COUNT,
        "urls": {
            "create": reverse("sale-create"),
            "status": reverse("sale-status", args=[SALE]),
            "qr": reverse("sale-qr-svg", args=[SALE]),
            "pay": reverse("simulate-payment", args=[SALE]),
            "photos": reverse("sale-photos", args=[SALE]),
            "gallery_qr": reverse("kiosk-gallery-qr"),
        },
    }
    response = render(request, "kiosk/kiosk.html", context)
    response["Content-Security-Policy"] = PAGE_CSP
    return _demo_only(response)


@require_safe
def gallery_qr(request: HttpRequest) -> HttpResponse:
    """GET /kiosk/gallery-qr.svg?url=…: a gallery link (as the upload answered it) as a QR code.

    Only links to this service's galleries: the page cannot be used to draw QR codes of anything.
    """
    if not kiosk_enabled():
        raise Http404("The demo kiosk is off.")
    url = request.GET.get("url", "")
    prefix = f"{settings.API_BASE_URL}/gallery/"
    if not (url.startswith(prefix) and _GALLERY_PATH.fullmatch(url.removeprefix(prefix))):
        return HttpResponseBadRequest("Not a gallery link of this service.", content_type="text/plain")
    response = HttpResponse(qr_image(url, "svg", scale=6), content_type="image/svg+xml")
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return _demo_only(response)
