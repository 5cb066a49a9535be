"""/kiosk/ in a real browser: a customer buys a session, pays the QR code, and scans their gallery."""

import io
import itertools
import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from gallery.models import Photo
from payments.models import SaleStatus, Transaction
from payments.simulation import simulate_payment
from tests.browser.support import decode_qr, image_loaded

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")
expect = sync_api.expect

POLL = re.compile(r"/api/v1/transactions/external/[^/]+$")


@pytest.fixture
def prices(make_price):
    return [make_price(35000, description="2 photo strips"), make_price(50000, description="4 strips + digital copies")]


@pytest.fixture
def demo(settings, location, prices):
    """As `DEBUG=true manage.py demo` runs it: the kiosk page on, the simulator's pay endpoint too."""
    settings.DEBUG = True
    settings.PAYMENT_GATEWAY = "simulator"


@pytest.fixture
def staging(settings, location, prices):
    """DEMO_KIOSK=true on a server with DEBUG off: the page, but no simulator pay endpoint."""
    settings.DEBUG = False
    settings.DEMO_KIOSK = True
    settings.PAYMENT_GATEWAY = "simulator"


def jpeg(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(buffer, "JPEG")
    return buffer.getvalue()


def buy(page, *, email="budi@example.com", package="Rp 35.000", invoice=False) -> None:
    page.get_by_label(package).check()
    page.get_by_label("Your email").fill(email)
    if invoice:
        page.get_by_label("Email me an invoice too").check()
    page.get_by_role("button", name="Buy and show the QR code").click()


def showing_qr(tab) -> None:
    """The customer stands in front of the QR code: the page shows it, fully loaded."""
    expect(tab.page.get_by_role("heading", name="Scan to pay")).to_be_visible()
    qr = tab.page.get_by_role("img", name="QRIS payment code")
    tab.wait_until(lambda: image_loaded(qr), "the QR code is drawn")


def the_sale() -> Transaction:
    return Transaction.objects.select_related("location").get()


def test_a_customer_pays_uploads_sample_photos_and_scans_the_gallery_link(open_page, site, demo, location, mailoutbox):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    expect(page.get_by_role("heading", name="Take your photos!")).to_be_visible()
    expect(page.get_by_label("Kiosk")).to_have_value(str(location.pk))
    tab.screenshot("choose")

    buy(page, package="Rp 50.000", invoice=True)

    expect(page.get_by_role("heading", name="Scan to pay")).to_be_visible()
    expect(page.locator("[data-amount]")).to_have_text("Rp 50.000")
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^(15:00|14:[0-5]\d)$"))
    qr = page.get_by_role("img", name="QRIS payment code")
    tab.wait_until(lambda: image_loaded(qr), "the QR code is drawn")
    sale = the_sale()
    assert (sale.status, sale.amount, sale.email, sale.send_invoice) == ("PENDING", 50000, "budi@example.com", True)
    assert decode_qr(qr.screenshot()) == [sale.qr_string]
    tab.screenshot("pay")

    page.get_by_role("button", name="Pay now (simulator)").click()

    expect(page.get_by_role("heading", name="Paid, thank you! Now the photos")).to_be_visible()
    page.get_by_role("button", name="Use 3 sample photos").click()
    expect(page.get_by_role("list", name="Photos to upload").get_by_role("img")).to_have_count(3)
    tab.screenshot("upload")
    page.get_by_role("button", name="Upload 3 photos").click()

    expect(page.get_by_role("heading", name="Your photos are ready!")).to_be_visible()
    gallery_qr = page.get_by_role("img", name="QR code of your gallery link")
    tab.wait_until(lambda: image_loaded(gallery_qr), "the gallery QR code is drawn")
    sale.refresh_from_db()
    gallery_url = f"{site.url}/gallery/{sale.external_id}/{sale.gallery_key}"
    assert decode_qr(gallery_qr.screenshot()) == [gallery_url]
    expect(page.get_by_text("We also emailed the link to budi@example.com.")).to_be_visible()
    tab.screenshot("gallery-link")
    assert [(m.to, gallery_url in m.body) for m in mailoutbox] == [(["budi@example.com"], True)]
    assert mailoutbox[0].subject.startswith("Invoice & Foto")

    with tab.context.expect_page() as opened:
        page.get_by_role("link", name="Open the gallery").click()
    gallery = opened.value
    gallery.wait_for_load_state()
    assert gallery.url == gallery_url
    photos = gallery.locator(".grid img")
    expect(photos).to_have_count(3)
    for number in range(3):
        tab.wait_until(lambda n=number: image_loaded(photos.nth(n)), f"photo {number + 1} shows")
    tab.screenshot("gallery", page=gallery)
    assert tab.problems == []


def test_the_kiosk_polls_every_3_seconds_and_notices_a_payment_made_elsewhere(open_page, site, staging):
    tab = open_page()
    page = tab.page
    polls: list[float] = []
    page.on("request", lambda r: r.method == "GET" and POLL.search(r.url) and polls.append(time.monotonic()))
    page.goto(f"{site.url}/kiosk/")

    buy(page)

    expect(page.get_by_role("heading", name="Scan to pay")).to_be_visible()
    # DEBUG is off, so the simulator's pay endpoint is not there: no button pretending otherwise.
    expect(page.get_by_role("button", name="Pay now (simulator)")).to_have_count(0)
    expect(page.get_by_text("manage.py simulate_payment")).to_be_visible()
    tab.wait_until(lambda: len(polls) >= 3, "the kiosk has polled three times", timeout_s=20)
    gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
    # 3 s after each answer; a loaded machine (CI's 2 cores) may add a little, and the timestamps
    # are when Python heard of each request, so a fast one may look a bit early.
    assert all(2.5 <= gap <= 6 for gap in gaps), gaps
    assert page.get_by_role("status").text_content() == "Waiting for payment…"
    tab.screenshot("waiting")

    simulate_payment(sale=the_sale())  # as the admin's "Simulate payment" action does

    expect(page.get_by_role("heading", name="Paid, thank you! Now the photos")).to_be_visible()
    tab.screenshot("paid")
    assert tab.problems == []


def test_photos_chosen_from_disk_are_uploaded_and_a_bad_one_is_explained(open_page, site, staging):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    buy(page)
    showing_qr(tab)
    simulate_payment(sale=the_sale())
    expect(page.get_by_role("heading", name="Paid, thank you! Now the photos")).to_be_visible()
    upload_url = rf"/api/v1/transactions/{the_sale().external_id}/photos$"
    tab.expect_status(upload_url, 400)

    page.locator("#photo-files").set_input_files(
        [{"name": "animation.gif", "mimeType": "image/gif", "buffer": b"GIF89a" + b"\0" * 64}]
    )
    page.get_by_role("button", name="Upload 1 photo").click()

    expect(page.get_by_role("alert")).to_have_text(re.compile("File 'animation.gif' has invalid format"))
    tab.screenshot("refused")

    page.locator("#photo-files").set_input_files(
        [
            {"name": "booth-1.jpg", "mimeType": "image/jpeg", "buffer": jpeg((200, 30, 90))},
            {"name": "booth-2.jpg", "mimeType": "image/jpeg", "buffer": jpeg((20, 90, 200))},
        ]
    )
    expect(page.get_by_role("list", name="Photos to upload").get_by_role("img")).to_have_count(2)
    page.get_by_role("button", name="Upload 2 photos").click()

    expect(page.get_by_role("heading", name="Your photos are ready!")).to_be_visible()
    assert Photo.objects.filter(sale=the_sale()).count() == 2
    tab.screenshot("done")
    assert tab.problems == []


def test_an_expired_qr_code_says_so_and_starts_again(open_page, site, demo):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    buy(page)
    showing_qr(tab)

    Transaction.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    expect(page.get_by_role("heading", name="QR code expired")).to_be_visible()
    expect(page.get_by_text("nothing was charged")).to_be_visible()
    assert the_sale().status == SaleStatus.EXPIRED
    tab.screenshot("expired")
    page.get_by_role("button", name="Start again").click()
    expect(page.get_by_role("button", name="Buy and show the QR code")).to_be_visible()
    assert tab.problems == []


def test_a_failed_payment_says_so(open_page, site, demo):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    buy(page)
    showing_qr(tab)

    Transaction.objects.update(status=SaleStatus.FAILED)

    expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
    tab.screenshot("failed")
    assert tab.problems == []


def test_a_refused_sale_shows_the_reason_on_the_form(open_page, site, demo, make_price):
    make_price(75000, description="Sold out package", quota=0)
    tab = open_page()
    tab.expect_status(r"/api/v1/transactions$", 422)
    page = tab.page
    page.goto(f"{site.url}/kiosk/")

    buy(page, package="Rp 75.000")

    expect(page.get_by_role("alert")).to_have_text("Price quota exceeded")
    expect(page.get_by_role("heading", name="Take your photos!")).to_be_visible()
    assert not Transaction.objects.exists()
    tab.screenshot("refused")
    assert tab.problems == []


def test_cancel_goes_back_to_the_start_and_stops_polling(open_page, site, demo):
    tab = open_page()
    page = tab.page
    polls: list[float] = []
    page.on("request", lambda r: r.method == "GET" and POLL.search(r.url) and polls.append(time.monotonic()))
    page.goto(f"{site.url}/kiosk/")
    buy(page)
    expect(page.get_by_role("heading", name="Scan to pay")).to_be_visible()

    page.get_by_role("button", name="Cancel").click()
    cancelled_at = time.monotonic()

    expect(page.get_by_role("button", name="Buy and show the QR code")).to_be_visible()
    page.wait_for_timeout(3500)
    assert [t for t in polls if t > cancelled_at] == []
    assert the_sale().status == SaleStatus.PENDING  # unpaid, it expires on its own
    assert tab.problems == []


def test_with_encrypted_polls_the_page_says_it_cannot_read_them(open_page, site, demo, settings):
    settings.ENCRYPTION_ENABLED = True
    settings.ENCRYPTION_KEY = "change_me_32_characters_long!!00"
    settings.ENCRYPTION_IV = "change_me_16char"
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")

    buy(page)

    expect(page.get_by_role("heading", name="Cannot read the payment status")).to_be_visible()
    expect(page.get_by_text("ENCRYPTION_ENABLED=true")).to_be_visible()
    assert tab.problems == []
