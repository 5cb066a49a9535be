"""The QR images as a kiosk's browser draws them, read back with a real QR decoder."""

import pytest

from payments.models import Sale
from tests.browser.support import decode_qr, image_loaded

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")


@pytest.fixture
def sale(api, sale_request) -> Sale:
    response = api.post("/api/v1/transactions", sale_request, format="json")
    assert response.status_code == 201, response.content
    return Sale.objects.get(external_id=response.json()["data"]["external_id"])


def test_the_svg_opened_on_its_own_scans_as_the_qris_string(open_page, site, sale):
    tab = open_page()

    response = tab.page.goto(f"{site.url}/api/v1/transactions/external/{sale.external_id}/qr.svg")

    assert response.headers["content-type"] == "image/svg+xml"
    assert decode_qr(tab.screenshot("svg-document", full_page=False).read_bytes()) == [sale.qr_string]
    assert tab.problems == []


@pytest.mark.parametrize("kind", ["svg", "png"])
@pytest.mark.parametrize("width", [360, 200])
def test_the_qr_shrunk_into_a_kiosk_screen_still_scans(open_page, site, sale, kind, width):
    tab = open_page()
    page = tab.page
    src = f"/api/v1/transactions/external/{sale.external_id}/qr.{kind}"
    page.set_content(f'<img id="qr" src="{site.url}{src}" width="{width}" height="{width}" alt="QRIS">')
    image = page.locator("#qr")

    tab.wait_until(lambda: image_loaded(image), "the QR image is drawn")

    assert decode_qr(image.screenshot()) == [sale.qr_string]
    assert tab.problems == []
