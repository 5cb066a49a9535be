"""/kiosk/ in a real browser: a customer buys a session, pays the QR code, and scans their gallery.

The page speaks Indonesian to customers (with an English switch), so these tests read it as an
Indonesian customer does; test_the_english_switch_* reads it in English.
"""

import io
import itertools
import json
import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from gallery.models import Photo
from payments.models import Sale, SaleStatus
from payments.simulation import simulate_payment
from tests.browser.support import DESKTOP, PHONE, decode_qr, image_loaded

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")
expect = sync_api.expect

POLL = re.compile(r"/api/v1/transactions/external/[^/]+$")
CANCEL = re.compile(r"/api/v1/transactions/[^/]+/cancel$")
EMAIL = "siti.pelanggan@example.com"  # not the form's placeholder (budi@example.com)


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


def photo_file(name: str, color=(200, 30, 90)) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": jpeg(color)}


# Files a customer might pick that are no JPEG or PNG photo, and what the page says of each.
NOT_PHOTOS = [
    ({"name": "animation.gif", "mimeType": "image/gif", "buffer": b"GIF89a" + b"\0" * 64}, "Bukan foto JPEG atau PNG"),
    ({"name": "catatan.txt", "mimeType": "text/plain", "buffer": b"bukan foto"}, "Bukan foto JPEG atau PNG"),
    # Named and typed as a JPEG, but a GIF inside.
    ({"name": "renamed.jpg", "mimeType": "image/jpeg", "buffer": b"GIF89a" + b"\0" * 64}, "Bukan foto JPEG atau PNG"),
    # A JPEG's first bytes, then nothing a browser can draw.
    (
        {"name": "rusak.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff\xe0" + b"\x13" * 200},
        "Tidak dapat dibuka sebagai gambar",
    ),
]


def buy(page, *, email=EMAIL, package="Rp 35.000", invoice=False) -> None:
    page.get_by_label(package).check()
    page.get_by_label("Email Anda").fill(email)
    if invoice:
        page.get_by_label("Kirim juga invoice ke email saya").check()
    page.get_by_role("button", name="Bayar dengan QRIS").click()


def showing_qr(tab) -> None:
    """The customer stands in front of the QR code: the page shows it, fully loaded."""
    expect(tab.page.get_by_role("heading", name="Pindai kode QR untuk membayar")).to_be_visible()
    qr = tab.page.get_by_role("img", name="Kode QR pembayaran QRIS")
    tab.wait_until(lambda: image_loaded(qr), "the QR code is drawn")


def paid(tab) -> None:
    simulate_payment(sale=the_sale())  # as the admin's "Simulate payment" action does
    expect(tab.page.get_by_role("heading", name="Pembayaran berhasil, terima kasih!")).to_be_visible()


def the_sale() -> Sale:
    return Sale.objects.select_related("location").get()


def previews(page):
    return page.get_by_role("list", name="Foto yang akan diunggah").get_by_role("img")


def an_empty_form(page) -> None:
    """The start, with nothing of the customer before: as a new page shows it."""
    expect(page.get_by_role("heading", name="Siap berfoto?")).to_be_visible()
    expect(page.get_by_label("Email Anda")).to_have_value("")
    expect(page.get_by_label("Kirim juga invoice ke email saya")).not_to_be_checked()
    expect(page.get_by_label("Rp 35.000")).to_be_checked()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("button", name="Bayar dengan QRIS")).to_be_enabled()
    # Nor anywhere else on the page: the last screens are emptied too.
    assert EMAIL not in page.content()
    expect(page.locator("[data-previews] li, [data-rejected] li")).to_have_count(0)
    expect(page.locator("[data-gallery-qr]")).not_to_have_attribute("src", re.compile("."))
    expect(page.locator("[data-qr]")).not_to_have_attribute("src", re.compile("."))


def fits_the_screen(tab) -> None:
    """Nothing sticks out sideways (a phone would scroll the whole page)."""
    html = tab.page.locator("html")
    width = tab.page.viewport_size["width"]
    assert html.evaluate("e => e.scrollWidth") <= width


def fake_pending_polls(page) -> None:
    """The poll has not seen what happened to the sale yet (a payment a second ago)."""
    pending = {"success": True, "message": "Transaction retrieved successfully", "data": {"status": "PENDING"}}
    page.route(POLL, lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(pending)))


def test_a_customer_pays_uploads_sample_photos_and_scans_the_gallery_link(open_page, site, demo, location, mailoutbox):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    expect(page.get_by_role("heading", name="Siap berfoto?")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "id"
    expect(page.get_by_label("Kiosk")).to_have_value(str(location.pk))
    tab.screenshot("choose")

    buy(page, package="Rp 50.000", invoice=True)

    expect(page.get_by_role("heading", name="Pindai kode QR untuk membayar")).to_be_visible()
    expect(page.locator("[data-amount]")).to_have_text("Rp 50.000")
    expect(page.get_by_text("Waktu tersisa")).to_be_visible()
    expect(page.locator("[data-countdown]")).to_have_text(re.compile(r"^(15:00|14:[0-5]\d)$"))
    expect(page.get_by_role("status")).to_have_text("Menunggu pembayaran…")
    qr = page.get_by_role("img", name="Kode QR pembayaran QRIS")
    tab.wait_until(lambda: image_loaded(qr), "the QR code is drawn")
    sale = the_sale()
    assert (sale.status, sale.amount, sale.email, sale.send_invoice) == ("PENDING", 50000, EMAIL, True)
    assert decode_qr(qr.screenshot()) == [sale.qr_string]
    tab.screenshot("pay")

    page.get_by_role("button", name="Bayar sekarang (simulator)").click()

    expect(page.get_by_role("heading", name="Pembayaran berhasil, terima kasih!")).to_be_visible()
    page.get_by_role("button", name="Pakai 3 foto contoh").click()
    expect(previews(page)).to_have_count(3)
    tab.screenshot("upload")
    page.get_by_role("button", name="Unggah 3 foto").click()

    expect(page.get_by_role("heading", name="Foto Anda sudah siap!")).to_be_visible()
    gallery_qr = page.get_by_role("img", name="Kode QR link galeri Anda")
    tab.wait_until(lambda: image_loaded(gallery_qr), "the gallery QR code is drawn")
    sale.refresh_from_db()
    gallery_url = f"{site.url}/gallery/{sale.external_id}/{sale.gallery_key}"
    assert decode_qr(gallery_qr.screenshot()) == [gallery_url]
    expect(page.get_by_text(f"Link galeri juga sudah dikirim ke {EMAIL}.")).to_be_visible()
    tab.screenshot("gallery-link")
    assert [(m.to, gallery_url in m.body) for m in mailoutbox] == [([EMAIL], True)]
    assert mailoutbox[0].subject.startswith("Invoice & Foto")

    with tab.context.expect_page() as opened:
        page.get_by_role("link", name="Buka galeri").click()
    gallery = opened.value
    gallery.wait_for_load_state()
    assert gallery.url == gallery_url
    photos = gallery.locator(".grid img")
    expect(photos).to_have_count(3)
    for number in range(3):
        tab.wait_until(lambda n=number: image_loaded(photos.nth(n)), f"photo {number + 1} shows")
    tab.screenshot("gallery", page=gallery)
    assert tab.problems == []


def test_the_next_customer_gets_an_empty_form(open_page, site, demo, mailoutbox):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    page.get_by_role("link", name="English").click()  # this customer reads English
    expect(page.get_by_role("heading", name="Take your photos!")).to_be_visible()
    page.get_by_label("Rp 50.000").check()
    page.get_by_label("Your email").fill(EMAIL)
    page.get_by_label("Email me an invoice too").check()
    page.get_by_role("button", name="Pay with QRIS").click()
    expect(page.get_by_role("heading", name="Scan to pay")).to_be_visible()
    page.get_by_role("button", name="Pay now (simulator)").click()
    page.get_by_role("button", name="Use 3 sample photos").click()
    page.get_by_role("button", name="Upload 3 photos").click()
    expect(page.get_by_text(f"We also emailed the link to {EMAIL}.")).to_be_visible()

    page.get_by_role("button", name="Next customer").click()

    # The kiosk's own language again, and nothing of the customer before.
    an_empty_form(page)
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.url == f"{site.url}/kiosk/"
    tab.screenshot("empty-form")

    # The next customer's sale is theirs alone: their email, no invoice, no earlier photos.
    buy(page, email="joko@example.com")
    showing_qr(tab)
    sale = Sale.objects.get(email="joko@example.com")
    assert (sale.amount, sale.send_invoice) == (35000, False)
    simulate_payment(sale=sale)
    expect(page.get_by_role("heading", name="Pembayaran berhasil, terima kasih!")).to_be_visible()
    expect(page.locator("[data-previews] li")).to_have_count(0)
    expect(page.get_by_role("button", name="Unggah foto")).to_be_disabled()
    assert tab.problems == []


def test_the_kiosk_polls_every_3_seconds_and_notices_a_payment_made_elsewhere(open_page, site, staging):
    tab = open_page()
    page = tab.page
    polls: list[float] = []
    page.on("request", lambda r: r.method == "GET" and POLL.search(r.url) and polls.append(time.monotonic()))
    page.goto(f"{site.url}/kiosk/")

    buy(page)

    expect(page.get_by_role("heading", name="Pindai kode QR untuk membayar")).to_be_visible()
    # DEBUG is off, so the simulator's pay endpoint is not there: no button pretending otherwise.
    expect(page.get_by_role("button", name="Bayar sekarang (simulator)")).to_have_count(0)
    expect(page.get_by_text("manage.py simulate_payment")).to_be_visible()
    tab.wait_until(lambda: len(polls) >= 3, "the kiosk has polled three times", timeout_s=20)
    gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
    # 3 s after each answer; a loaded machine (CI's 2 cores) may add a little, and the timestamps
    # are when Python heard of each request, so a fast one may look a bit early.
    assert all(2.5 <= gap <= 6 for gap in gaps), gaps
    assert page.get_by_role("status").text_content() == "Menunggu pembayaran…"
    tab.screenshot("waiting")

    paid(tab)

    tab.screenshot("paid")
    assert tab.problems == []


def test_photos_chosen_from_disk_are_uploaded_and_a_refused_one_is_explained(open_page, site, staging):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    buy(page)
    showing_qr(tab)
    paid(tab)
    upload_url = rf"/api/v1/transactions/{the_sale().external_id}/photos$"
    tab.expect_status(upload_url, 400)

    # A real JPEG as far as the browser can tell, but with something hidden after the image: only
    # the server notices.
    hidden = photo_file("booth-0.jpg")
    hidden["buffer"] += b"<script>alert(1)</script>"
    page.locator("#photo-files").set_input_files([hidden])
    expect(previews(page)).to_have_count(1)
    page.get_by_role("button", name="Unggah 1 foto").click()

    expect(page.get_by_role("alert")).to_have_text(
        "File 'booth-0.jpg' berisi data tambahan di luar gambar, jadi tidak diterima. Silakan pilih foto lagi."
    )
    expect(page.locator("[data-previews] li")).to_have_count(0)
    tab.screenshot("refused")

    # New photos: the old error goes at once.
    page.locator("#photo-files").set_input_files([photo_file("booth-1.jpg"), photo_file("booth-2.jpg", (20, 90, 200))])
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(previews(page)).to_have_count(2)
    page.get_by_role("button", name="Unggah 2 foto").click()

    expect(page.get_by_role("heading", name="Foto Anda sudah siap!")).to_be_visible()
    assert Photo.objects.filter(sale=the_sale()).count() == 2
    tab.screenshot("done")
    assert tab.problems == []


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_files_that_are_not_jpeg_or_png_are_flagged_when_chosen(open_page, site, demo, device):
    tab = open_page(device)
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    buy(page)
    showing_qr(tab)
    paid(tab)

    page.locator("#photo-files").set_input_files([file for file, _ in NOT_PHOTOS] + [photo_file("booth-1.jpg")])

    # Only the photo is shown, and drawn; the others are named with the reason, not drawn broken.
    expect(previews(page)).to_have_count(1)
    tab.wait_until(lambda: image_loaded(previews(page).first), "the photo's preview is drawn")
    refused = page.get_by_role("list", name="Tidak akan diunggah").get_by_role("listitem")
    expect(refused).to_have_text([f"{file['name']}{reason}" for file, reason in NOT_PHOTOS])
    expect(page.get_by_role("alert")).to_have_text(
        "4 file tidak akan diunggah: hanya foto JPEG atau PNG yang bisa diterima."
    )
    expect(page.get_by_role("button", name="Unggah 1 foto")).to_be_enabled()
    fits_the_screen(tab)
    tab.screenshot("flagged")

    # Choosing again starts the refusals afresh; the photo chosen before stays.
    page.locator("#photo-files").set_input_files([photo_file("booth-2.jpg", (20, 90, 200))])
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(refused).to_have_count(0)
    expect(previews(page)).to_have_count(2)
    page.get_by_role("button", name="Unggah 2 foto").click()

    expect(page.get_by_role("heading", name="Foto Anda sudah siap!")).to_be_visible()
    assert sorted(Photo.objects.values_list("original_name", flat=True)) == ["booth-1.jpg", "booth-2.jpg"]
    fits_the_screen(tab)
    tab.screenshot("done")
    assert tab.problems == []


def test_an_expired_qr_code_says_so_and_starts_again(open_page, site, demo):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    buy(page, invoice=True)
    showing_qr(tab)

    Sale.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    expect(page.get_by_role("heading", name="Kode QR kedaluwarsa")).to_be_visible()
    expect(page.get_by_text("Waktu 15 menit untuk membayar sudah habis")).to_be_visible()
    expect(page.get_by_text("tidak ada biaya yang ditagih")).to_be_visible()
    assert the_sale().status == SaleStatus.EXPIRED
    tab.screenshot("expired")
    page.get_by_role("button", name="Mulai lagi").click()
    an_empty_form(page)
    assert tab.problems == []


@pytest.mark.parametrize(
    ("status", "title", "text"),
    [
        (SaleStatus.FAILED, "Pembayaran gagal", "Pembayaran tidak dapat diselesaikan"),
        (SaleStatus.CANCELLED, "Dibatalkan", "Transaksi ini sudah dibatalkan"),
        (SaleStatus.REFUNDED, "Pembayaran dikembalikan", "Dana pembayaran ini sudah dikembalikan"),
    ],
)
def test_a_sale_that_ended_elsewhere_says_how(open_page, site, demo, status, title, text):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    buy(page)
    showing_qr(tab)

    # Xendit, staff, another kiosk: the poll tells.
    paid_at = timezone.now() if status == SaleStatus.REFUNDED else None
    Sale.objects.update(status=status, paid_at=paid_at)

    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.get_by_text(text)).to_be_visible()
    tab.screenshot(status.lower())
    assert tab.problems == []


def test_a_refused_sale_shows_the_reason_on_the_form(open_page, site, demo, make_price, make_sale):
    last_one = make_price(75000, description="Last one package", quota=1)
    tab = open_page()
    tab.expect_status(r"/api/v1/transactions$", 422)
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    expect(page.get_by_label("Rp 75.000")).to_be_enabled()
    make_sale(price=last_one)  # another customer took it while the menu was on the screen

    buy(page, package="Rp 75.000")

    expect(page.get_by_role("alert")).to_have_text("Paket ini sudah habis. Silakan pilih paket lain.")
    expect(page.get_by_role("heading", name="Siap berfoto?")).to_be_visible()
    expect(page.get_by_label("Rp 75.000")).to_be_disabled()  # the menu was asked again
    assert Sale.objects.count() == 1
    tab.screenshot("refused")
    # The customer's language, the same refusal.
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("alert")).to_have_text("This package is sold out. Please pick another one.")
    assert tab.problems == []


def test_cancel_cancels_the_sale_and_empties_the_form(open_page, site, demo):
    tab = open_page()
    page = tab.page
    polls: list[float] = []
    cancels: list[str] = []
    page.on("request", lambda r: r.method == "GET" and POLL.search(r.url) and polls.append(time.monotonic()))
    page.on("request", lambda r: CANCEL.search(r.url) and cancels.append(f"{r.method} {r.post_data or ''}"))
    page.goto(f"{site.url}/kiosk/")
    buy(page, package="Rp 50.000", invoice=True)
    showing_qr(tab)

    page.get_by_role("button", name="Batal").click()
    cancelled_at = time.monotonic()

    an_empty_form(page)
    assert cancels == ["POST "]  # the endpoint, with an empty body
    assert the_sale().status == SaleStatus.CANCELLED
    page.wait_for_timeout(3500)
    assert [t for t in polls if t > cancelled_at] == []
    assert tab.problems == []


@pytest.mark.parametrize(
    ("meanwhile", "then"),
    [("paid", "Pembayaran berhasil, terima kasih!"), ("expired", "Siap berfoto?")],
    ids=["paid-goes-on-to-the-photos", "expired-starts-again"],
)
def test_cancel_after_the_sale_ended_unseen(open_page, site, demo, meanwhile, then):
    """409 from the cancel: a customer who paid goes on to the photos; an expired sale just ends."""
    tab = open_page()
    tab.expect_status(CANCEL.pattern, 409)
    page = tab.page
    fake_pending_polls(page)
    page.goto(f"{site.url}/kiosk/")
    buy(page)
    showing_qr(tab)
    if meanwhile == "paid":
        simulate_payment(sale=the_sale())
    else:
        Sale.objects.update(status=SaleStatus.EXPIRED)

    page.get_by_role("button", name="Batal").click()

    expect(page.get_by_role("heading", name=then)).to_be_visible()
    assert the_sale().status == (SaleStatus.COMPLETED if meanwhile == "paid" else SaleStatus.EXPIRED)
    if meanwhile == "paid":
        page.get_by_role("button", name="Pakai 3 foto contoh").click()
        page.get_by_role("button", name="Unggah 3 foto").click()
        expect(page.get_by_role("heading", name="Foto Anda sudah siap!")).to_be_visible()
    else:
        an_empty_form(page)
    assert tab.problems == []


def test_the_english_switch_shows_english_and_keeps_the_sale(open_page, site, demo):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    page.get_by_label("Rp 35.000").check()  # waits for the menu, which the page asks the API for
    page.get_by_role("button", name="Bayar dengan QRIS").click()  # no email yet
    expect(page.get_by_role("alert")).to_have_text("Masukkan alamat email yang valid: link galeri dikirim ke sana.")

    page.get_by_role("link", name="English").click()

    expect(page.get_by_role("heading", name="Take your photos!")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("Enter a valid email address: the gallery link is sent there.")
    expect(page).to_have_title("Demo kiosk · Photobox")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.url == f"{site.url}/kiosk/?lang=en"
    tab.screenshot("english")
    expect(page.locator("input[name=price_id]:checked")).to_have_count(1)  # the menu is back, its choice kept
    page.get_by_label("Your email").fill(EMAIL)
    page.get_by_role("button", name="Pay with QRIS").click()
    expect(page.get_by_role("heading", name="Scan to pay")).to_be_visible()
    expect(page.get_by_text("Time left to pay")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Waiting for payment…")
    expect(page.get_by_role("img", name="QRIS payment code")).to_be_visible()
    countdown = page.locator("[data-countdown]").text_content()

    # And back, in the middle of paying: the same sale, the countdown going on.
    page.get_by_role("link", name="Bahasa Indonesia").click()

    expect(page.get_by_role("heading", name="Pindai kode QR untuk membayar")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Menunggu pembayaran…")
    expect(page.get_by_role("button", name="Batal")).to_be_visible()
    assert page.url == f"{site.url}/kiosk/"
    assert Sale.objects.count() == 1
    expect(page.locator("[data-countdown]")).not_to_have_text(countdown)

    # The address keeps the choice: a reload opens the page in English.
    page.goto(f"{site.url}/kiosk/?lang=en")
    expect(page.get_by_role("heading", name="Take your photos!")).to_be_visible()
    expect(page.get_by_role("link", name="Bahasa Indonesia")).to_have_attribute("hreflang", "id")
    assert tab.problems == []


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_every_screen_fits(open_page, site, demo, device):
    """Screenshots of each screen, in Indonesian (and the start in English), at 390 and 1280 px."""
    tab = open_page(device)
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    fits_the_screen(tab)
    tab.screenshot("choose")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Take your photos!")).to_be_visible()
    fits_the_screen(tab)
    tab.screenshot("choose-english")
    page.get_by_role("link", name="Bahasa Indonesia").click()

    buy(page, invoice=True)
    showing_qr(tab)
    fits_the_screen(tab)
    tab.screenshot("pay")

    page.get_by_role("button", name="Bayar sekarang (simulator)").click()
    expect(page.get_by_role("heading", name="Pembayaran berhasil, terima kasih!")).to_be_visible()
    page.get_by_role("button", name="Pakai 3 foto contoh").click()
    page.locator("#photo-files").set_input_files([NOT_PHOTOS[0][0]])
    expect(previews(page)).to_have_count(3)
    expect(page.get_by_role("alert")).to_be_visible()
    fits_the_screen(tab)
    tab.screenshot("upload")

    page.get_by_role("button", name="Unggah 3 foto").click()
    gallery_qr = page.get_by_role("img", name="Kode QR link galeri Anda")
    tab.wait_until(lambda: image_loaded(gallery_qr), "the gallery QR code is drawn")
    fits_the_screen(tab)
    tab.screenshot("done")

    page.get_by_role("button", name="Pelanggan berikutnya").click()
    an_empty_form(page)
    buy(page)
    showing_qr(tab)
    Sale.objects.filter(status=SaleStatus.PENDING).update(status=SaleStatus.CANCELLED)
    expect(page.get_by_role("heading", name="Dibatalkan")).to_be_visible()
    fits_the_screen(tab)
    tab.screenshot("cancelled")
    assert tab.problems == []


def test_with_encrypted_polls_the_page_says_it_cannot_read_them(open_page, site, demo, settings):
    settings.ENCRYPTION_ENABLED = True
    settings.ENCRYPTION_KEY = "change_me_32_characters_long!!00"
    settings.ENCRYPTION_IV = "change_me_16char"
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")

    buy(page)

    expect(page.get_by_role("heading", name="Status pembayaran tidak dapat dibaca")).to_be_visible()
    expect(page.get_by_text("ENCRYPTION_ENABLED=true")).to_be_visible()
    assert tab.problems == []
