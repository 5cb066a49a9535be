"""/kiosk/, the demo kiosk page: when it is there, what it offers, and the gallery link's QR code.

The page's behaviour in a browser (buying, paying, uploading) is in tests/browser/test_kiosk.py.
"""

import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from demo import kiosk
from payments.qr import qr_image

pytestmark = pytest.mark.django_db

GALLERY = "http://127.0.0.1:8000/gallery/TRX-1-20251215162229-57283A15/" + "k" * 43


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.API_BASE_URL = "http://127.0.0.1:8000"


@pytest.fixture
def kiosk_on(settings, location, price):
    settings.DEBUG = True
    settings.PAYMENT_GATEWAY = "simulator"


class Assets(HTMLParser):
    """Every script, stylesheet and image address the page loads."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.urls.append(attrs["src"])


@pytest.mark.parametrize(
    ("debug", "demo_kiosk", "status"), [(False, False, 404), (True, False, 200), (False, True, 200)]
)
def test_the_page_is_there_with_debug_or_demo_kiosk_only(client, settings, location, price, debug, demo_kiosk, status):
    settings.DEBUG, settings.DEMO_KIOSK = debug, demo_kiosk

    assert client.get("/kiosk/").status_code == status
    assert client.get("/kiosk/gallery-qr.svg", {"url": GALLERY}).status_code == status


def test_it_offers_the_active_kiosks_and_asks_the_api_for_their_menu(client, kiosk_on, make_location, make_price):
    make_location(machine_code="PB-777", name="Closed mall", is_active=False)
    make_price(1250000, description="Wedding package")

    page = client.get("/kiosk/").content.decode()

    assert "PB-001 – Mall Taman Anggrek" in page
    assert "PB-777" not in page
    # The packages are the kiosk API's answer (GET /api/v1/kiosk/packages), drawn by the script.
    assert 'data-packages-url="/api/v1/kiosk/packages"' in page
    assert "Wedding package" not in page
    assert "Memuat paket…" in page


def test_without_kiosks_or_prices_it_says_how_to_make_them(client, settings):
    settings.DEBUG = True

    page = client.get("/kiosk/").content.decode()

    assert "manage.py load_demo_data" in page
    assert 'id="choose-form"' not in page


@pytest.mark.parametrize(
    ("debug", "gateway"),
    [(True, "simulator"), (False, "simulator"), (True, "xendit")],
    ids=["demo", "demo-kiosk-without-debug", "real-gateway"],
)
def test_the_pay_now_button_is_there_exactly_when_the_simulator_endpoint_is(
    client, api, settings, location, price, make_sale, debug, gateway
):
    settings.DEBUG, settings.DEMO_KIOSK, settings.PAYMENT_GATEWAY = debug, True, gateway
    sale = make_sale()

    has_button = "data-pay-now" in client.get("/kiosk/").content.decode()
    endpoint_answers = api.post(f"/api/v1/simulator/transactions/{sale.external_id}/pay").status_code != 404

    assert has_button == endpoint_answers == (debug and gateway == "simulator")


def test_it_loads_nothing_from_other_sites_and_runs_only_our_script(client, kiosk_on):
    response = client.get("/kiosk/")
    assets = Assets()
    assets.feed(response.content.decode())

    assert sorted(assets.urls) == ["/favicon.ico", "/static/kiosk/kiosk.css", "/static/kiosk/kiosk.js"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "connect-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in response.content.decode()  # no inline script
    assert response["Cache-Control"] == "no-store"


def test_the_page_hands_its_script_the_public_api_addresses(client, kiosk_on):
    page = client.get("/kiosk/").content.decode()
    addresses = dict(re.findall(r'data-([a-z-]+-url)="([^"]+)"', page))

    assert addresses == {
        "packages-url": "/api/v1/kiosk/packages",
        "create-url": "/api/v1/transactions",
        "status-url": "/api/v1/transactions/external/EXTERNAL_ID",
        "qr-url": "/api/v1/transactions/external/EXTERNAL_ID/qr.svg",
        "pay-url": "/api/v1/simulator/transactions/EXTERNAL_ID/pay",
        "photos-url": "/api/v1/transactions/EXTERNAL_ID/photos",
        "cancel-url": "/api/v1/transactions/EXTERNAL_ID/cancel",
        "gallery-qr-url": "/kiosk/gallery-qr.svg",
    }


# --- Its language: Indonesian for customers, English at a click --------------------------------
KIOSK_JS = Path(kiosk.__file__).parent / "static" / "kiosk" / "kiosk.js"
TEMPLATE = Path(kiosk.__file__).parent / "templates" / "kiosk" / "kiosk.html"


class Texts(HTMLParser):
    """The page as a customer reads it: its visible text and text attributes, and the catalog the
    script gets (the <script type="application/json">, which nobody sees)."""

    def __init__(self):
        super().__init__()
        self.visible: list[str] = []
        self.catalog = ""
        self._in_catalog = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_catalog = tag == "script" and attrs.get("type") == "application/json"
        for name in ("alt", "aria-label", "placeholder"):
            if attrs.get(name):
                self.visible.append(attrs[name])

    def handle_endtag(self, tag):
        self._in_catalog = False

    def handle_data(self, data):
        if self._in_catalog:
            self.catalog += data
        elif data.strip():
            self.visible.append(data.strip())


def read(page: str) -> Texts:
    texts = Texts()
    texts.feed(page)
    return texts


def english_only() -> set[str]:
    """The English texts that differ from their Indonesian twin."""
    return {english for indonesian, english in kiosk.TEXT.values() if english != indonesian}


def test_customers_read_indonesian_by_default(client, kiosk_on):
    page = client.get("/kiosk/").content.decode()
    texts = read(page)

    assert '<html lang="id">' in page
    assert "Siap berfoto?" in texts.visible
    assert "Bayar dengan QRIS" in texts.visible
    assert "Bayar sekarang (simulator)" in texts.visible
    seen = " ".join(texts.visible)
    assert [text for text in english_only() if text in seen] == []
    assert "English" in texts.visible  # the switch names the other language in that language
    # The switch opens the page in English, and says so in English.
    assert 'href="?lang=en" hreflang="en" lang="en"' in page


def test_lang_en_opens_it_in_english_and_the_script_gets_both_languages(client, kiosk_on):
    page = client.get("/kiosk/", {"lang": "en"}).content.decode()
    texts = read(page)

    assert '<html lang="en">' in page
    assert "Take your photos!" in texts.visible
    assert "Pay with QRIS" in texts.visible
    assert "Siap berfoto?" not in texts.visible
    assert 'href="?lang=id" hreflang="id" lang="id"' in page
    assert 'data-default-language="id"' in page
    catalog = json.loads(texts.catalog)
    assert catalog["id"]["cancel"] == "Batal"
    assert catalog["en"]["cancel"] == "Cancel"


@pytest.mark.parametrize(
    ("asked", "language_code", "expected"), [("fr", "id", "id"), ("", "en", "en"), ("id", "en", "id")]
)
def test_another_or_no_language_asked_gives_the_customers_language(
    client, kiosk_on, settings, asked, language_code, expected
):
    settings.LANGUAGE_CODE = language_code

    page = client.get("/kiosk/", {"lang": asked}).content.decode()

    assert f'<html lang="{expected}">' in page
    assert f'data-default-language="{language_code}"' in page


def test_every_text_the_page_and_its_script_use_is_there_in_both_languages():
    template = TEMPLATE.read_text()
    script = KIOSK_JS.read_text()
    used = set(re.findall(r'data-t(?:-alt|-aria-label)?="([a-z_]+)"', template))
    used |= set(re.findall(r"\bt\.([a-z_]+)", template))
    used |= set(re.findall(r'msg\("([a-z_]+)"', script))
    used |= set(re.findall(r'\bt\("([a-z_]+)"', script))
    # Keys the script builds: the ended screens' titles and the reasons a file is refused.
    used |= set(re.findall(r'ended\("([a-z_]+)"', script)) | set(re.findall(r'return "([a-z_]+)";', script))
    used |= set(re.findall(r'Promise\.resolve\("([a-z_]+)"\)', script))

    assert len(used) > 80
    assert sorted(used - set(kiosk.TEXT)) == []
    assert sorted(set(kiosk.TEXT) - used) == []
    for key, (indonesian, english) in kiosk.TEXT.items():
        assert indonesian.strip(), key
        assert english.strip(), key
        # The script fills in the same {names} in both.
        assert sorted(re.findall(r"\{\w+\}", indonesian)) == sorted(re.findall(r"\{\w+\}", english)), key


def test_a_shared_machine_offers_no_earlier_email(client, kiosk_on):
    page = client.get("/kiosk/").content.decode()

    assert re.search(r'<form id="choose-form"[^>]* autocomplete="off"', page)
    assert re.search(r'<input type="email"[^>]* autocomplete="off"', page)


def test_the_gallery_link_qr_scans_as_the_link(client, kiosk_on):
    response = client.get("/kiosk/gallery-qr.svg", {"url": GALLERY})

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    # The SVG is drawn in Chromium by the browser tests; here the same code drawn as PNG.
    png = Image.open(io.BytesIO(qr_image(GALLERY, "png")))
    assert [barcode.text for barcode in zxingcpp.read_barcodes(png)] == [GALLERY]
    assert response.content == qr_image(GALLERY, "svg", scale=6)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/gallery/TRX-1/abc",
        "http://127.0.0.1:8000/admin/",
        "http://127.0.0.1:8000/gallery/TRX-1/abc/../../admin",
        "http://127.0.0.1:8000/gallery/TRX-1/abc\nmore",
        "http://127.0.0.1:8000/gallery/TRX-1/abc\n",
        "",
    ],
)
def test_the_gallery_qr_draws_only_links_to_our_own_galleries(client, kiosk_on, url):
    assert client.get("/kiosk/gallery-qr.svg", {"url": url}).status_code == 400
