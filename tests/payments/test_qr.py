"""GET /api/v1/transactions/external/{external_id}/qr.svg and .png: the QRIS string as a QR image.

Images are read back with a real QR decoder (zxing-cpp), as a customer's banking app would; the
SVG is drawn by Chromium and decoded the same way in tests/browser/test_qr_images.py.
"""

import io
from datetime import timedelta
from xml.etree import ElementTree

import pytest
import zxingcpp
from django.utils import timezone
from PIL import Image

from payments.models import Sale, SaleStatus
from payments.simulation import simulate_payment

pytestmark = pytest.mark.django_db

PNG = "/api/v1/transactions/external/{}/qr.png"
SVG = "/api/v1/transactions/external/{}/qr.svg"


@pytest.fixture
def sale(api, sale_request) -> Sale:
    """A sale made through the kiosk API, with the simulator's real-format QRIS string."""
    response = api.post("/api/v1/transactions", sale_request, format="json")
    assert response.status_code == 201, response.content
    return Sale.objects.get(external_id=response.json()["data"]["external_id"])


def decoded(png: bytes) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_the_png_scans_as_the_sales_qris_string(api, sale):
    response = api.get(PNG.format(sale.external_id))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert decoded(response.content) == [sale.qr_string]
    assert sale.qr_string.startswith("000201")  # a QRIS payload, not an empty string scanned as such


def test_the_png_is_large_enough_for_a_kiosk_screen(api, sale):
    image = Image.open(io.BytesIO(api.get(PNG.format(sale.external_id)).content))

    width, height = image.size
    assert width == height >= 300


def test_the_svg_is_an_svg_image(api, sale):
    response = api.get(SVG.format(sale.external_id))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own answer, not untrusted input
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert int(root.get("width")) == int(root.get("height")) >= 300
    assert not root.findall(".//{http://www.w3.org/2000/svg}script")


def test_an_image_only_accept_header_still_gets_the_image(api, sale):
    response = api.get(PNG.format(sale.external_id), HTTP_ACCEPT="image/png")

    assert response.status_code == 200
    assert decoded(response.content) == [sale.qr_string]


@pytest.mark.parametrize("path", [PNG, SVG], ids=["png", "svg"])
def test_the_image_is_cacheable_until_the_sale_expires(api, sale, path):
    response = api.get(path.format(sale.external_id))

    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"public", "immutable"} <= directives
    max_age = int(next(d for d in directives if d.startswith("max-age=")).removeprefix("max-age="))
    seconds_left = (sale.expires_at - timezone.now()).total_seconds()
    assert seconds_left - 5 <= max_age <= seconds_left


def test_the_cache_lifetime_shrinks_as_the_sale_gets_older(api, make_sale):
    sale = make_sale(expires_at=timezone.now() + timedelta(minutes=2))

    response = api.get(PNG.format(sale.external_id))

    assert "max-age=119" in response["Cache-Control"] or "max-age=120" in response["Cache-Control"]


def test_a_cached_copy_is_revalidated_with_its_etag(api, sale):
    first = api.get(SVG.format(sale.external_id))

    again = api.get(SVG.format(sale.external_id), HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_a_cache_sending_several_or_weak_tags_is_answered_304_too(api, sale):
    etag = api.get(SVG.format(sale.external_id))["ETag"]

    listed = api.get(SVG.format(sale.external_id), HTTP_IF_NONE_MATCH=f'"other", {etag}')
    weak = api.get(SVG.format(sale.external_id), HTTP_IF_NONE_MATCH=f"W/{etag}")
    anything = api.get(SVG.format(sale.external_id), HTTP_IF_NONE_MATCH="*")

    assert [listed.status_code, weak.status_code, anything.status_code] == [304, 304, 304]
    assert "max-age" in weak["Cache-Control"]


def test_svg_and_png_have_different_etags(api, sale):
    assert api.get(SVG.format(sale.external_id))["ETag"] != api.get(PNG.format(sale.external_id))["ETag"]


@pytest.mark.parametrize("path", [PNG, SVG], ids=["png", "svg"])
def test_an_unknown_sale_is_404_in_the_api_envelope(api, db, path):
    response = api.get(path.format("TRX-1-20251215162229-NOPE0000"))

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "message": "Transaction not found",
        "details": {"external_id": "TRX-1-20251215162229-NOPE0000"},
    }


def test_a_paid_sale_has_no_qr_any_more(api, sale):
    simulate_payment(sale=sale)

    response = api.get(PNG.format(sale.external_id))

    assert response.status_code == 410
    assert response.json() == {
        "success": False,
        "message": "QR code is no longer payable",
        "details": {"external_id": sale.external_id, "status": "COMPLETED"},
    }
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("status", [SaleStatus.FAILED, SaleStatus.EXPIRED])
def test_a_failed_or_expired_sale_has_no_qr(api, make_sale, status):
    sale = make_sale(status=status)

    response = api.get(SVG.format(sale.external_id))

    assert response.status_code == 410
    assert response.json()["details"] == {"external_id": sale.external_id, "status": status}


def test_a_pending_sale_past_its_expiry_is_expired_and_gets_410(api, make_sale):
    sale = make_sale(expires_at=timezone.now() - timedelta(seconds=1))

    response = api.get(PNG.format(sale.external_id))

    assert response.status_code == 410
    assert response.json()["details"]["status"] == "EXPIRED"
    sale.refresh_from_db()
    assert sale.status == SaleStatus.EXPIRED


def test_a_cached_etag_does_not_revive_a_paid_sales_qr(api, sale):
    etag = api.get(PNG.format(sale.external_id))["ETag"]
    simulate_payment(sale=sale)

    assert api.get(PNG.format(sale.external_id), HTTP_IF_NONE_MATCH=etag).status_code == 410


def test_only_get_and_head_are_allowed(api, sale):
    response = api.post(PNG.format(sale.external_id))

    assert response.status_code == 405
    assert response.json()["message"] == "Method not allowed"
    assert "GET" in response["Allow"]
    assert api.head(PNG.format(sale.external_id)).status_code == 200
