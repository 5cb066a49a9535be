"""How the pages look where people read them: the customer's email on a small phone, the admin's
sale page and payment notifications on a laptop (dates in Jakarta time, one format; a list that
fits), and the home page on a phone and a laptop."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from gallery.emails import build_customer_email
from gallery.outbox import gallery_url
from payments.models import PaymentEvent, SaleStatus
from tests.browser.support import DESKTOP, PHONE, log_in
from tests.support.webhooks import post_webhook, webhook_fixture

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")
expect = sync_api.expect

# A small Android phone: the narrowest screen the email has to fit.
SMALL_PHONE = {**PHONE, "viewport": {"width": 360, "height": 740}}
# 02:34 UTC is 09:34 in Jakarta.
PAID = datetime(2026, 12, 7, 2, 34, tzinfo=UTC)
ADMIN_DATE = re.compile(r"^\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d$")


def page_width(tab) -> int:
    return tab.page.evaluate("document.documentElement.scrollWidth")


# --- The customer's email -------------------------------------------------------------------------
@pytest.fixture
def invoiced_sale(make_sale, make_location, make_photo):
    """A paid sale with an invoice and everything long that it can hold."""
    venue = make_location(
        name="Mall Taman Anggrek Lantai 3",
        address="Jl. Letjen S. Parman Kav. 28, Tanjung Duren Selatan, Grogol Petamburan, Jakarta Barat 11470",
    )
    sale = make_sale(
        status=SaleStatus.COMPLETED, location=venue, send_invoice=True, paid_at=PAID,
        payment_channel="SHOPEEPAY", payment_receipt_id="RCPT-20261207-0000889123-QRIS",
    )  # fmt: skip
    for position in range(1, 5):
        make_photo(sale, position, stored_at=PAID)
    return sale


@pytest.mark.parametrize("device", [SMALL_PHONE, DESKTOP], ids=["360px", "1280px"])
def test_the_invoice_email_fits_a_360_px_phone(open_page, invoiced_sale, device):
    message = build_customer_email(sale=invoiced_sale, gallery_url=gallery_url(invoiced_sale))
    [(html, _)] = message.alternatives
    tab = open_page(device)
    page = tab.page

    page.set_content(html)

    width = page.viewport_size["width"]
    assert page_width(tab) <= width
    card = page.locator("body > table > tbody > tr > td > table").first.bounding_box()
    assert card["width"] <= min(width - 16, 600), card
    button = page.get_by_role("link", name="Lihat & Unduh Foto")
    expect(button).to_be_visible()
    assert button.bounding_box()["x"] + button.bounding_box()["width"] <= card["x"] + card["width"]
    expect(page.get_by_text(invoiced_sale.external_id, exact=True)).to_be_visible()
    expect(page.get_by_text("7 Desember 2026, 09:34 WIB")).to_be_visible()
    assert "Download" not in page.locator("body").inner_text()
    tab.screenshot("email")
    assert tab.problems == []


# --- The admin on a laptop ------------------------------------------------------------------------
@pytest.fixture
def notified_sale(make_sale, api):
    """A paid sale, its payment notification (applied twice: once matched, once a duplicate), and a
    payment for no known sale with a long reference; all received at known times."""
    sale = make_sale(
        status=SaleStatus.COMPLETED, created_at=PAID - timedelta(minutes=3), expires_at=PAID + timedelta(minutes=12),
        paid_at=PAID, email_sent_at=PAID + timedelta(minutes=5),
    )  # fmt: skip
    for payment_id, reference, amount in [
        ("qrpy_0a1b2c3d4e5f60718293a4b5c6d7e8f9", sale.external_id, 40000),
        ("qrpy_0a1b2c3d4e5f60718293a4b5c6d7e8f9", sale.external_id, 40000),
        ("qrpy_ffeeddccbbaa99887766554433221100", "TRX-9-20261207093000-DEADBEEF-FROM-ANOTHER-SYSTEM", 1250000),
    ]:
        body = webhook_fixture(
            "qr_payment_2022.json", payment_id=payment_id, amount=amount, qr_id="qr_x", external_id=reference
        )
        assert post_webhook(api, body).status_code == 200
    for minutes, event in enumerate(PaymentEvent.objects.order_by("pk")):
        PaymentEvent.objects.filter(pk=event.pk).update(
            received_at=PAID + timedelta(minutes=minutes), processed_at=PAID + timedelta(minutes=minutes)
        )
    return sale


def test_the_sale_page_shows_jakarta_times_in_one_format(open_page, site, staff_user, notified_sale):
    tab = open_page(DESKTOP)
    page = tab.page
    log_in(tab, site)

    page.goto(site.url + reverse("admin:payments_sale_change", args=[notified_sale.pk]))

    def field(name: str) -> str:
        return page.locator(f".field-{name} .readonly").first.inner_text().strip()

    assert field("started") == "07 Dec 2026 09:31"
    assert field("expires_at") == "07 Dec 2026 09:46"
    assert field("paid_at") == "07 Dec 2026 09:34"
    assert field("email_sent_at") == "07 Dec 2026 09:39"
    text = page.locator("#content").inner_text()
    assert not re.search(r"a\.m\.|p\.m\.|\bDec\. ", text)
    assert page_width(tab) <= 1280
    tab.screenshot("sale")
    assert tab.problems == []


def test_the_payment_notifications_fit_a_laptop_screen(open_page, site, staff_user, notified_sale):
    tab = open_page(DESKTOP)
    page = tab.page
    log_in(tab, site)

    page.goto(site.url + reverse("admin:payments_paymentevent_changelist"))

    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    cells = page.locator("#result_list tbody .field-received_at").all_inner_texts()
    received = [" ".join(text.split()) for text in cells]  # the date may wrap before its time
    assert received == ["07 Dec 2026 09:36", "07 Dec 2026 09:35", "07 Dec 2026 09:34"]
    assert all(ADMIN_DATE.match(text) for text in received)
    columns = page.locator("#result_list thead th").all_inner_texts()
    assert [" ".join(c.split()).lower() for c in columns[1:]] == [
        "received at", "source", "event", "outcome", "sale", "sale number in payload", "amount",
    ]  # fmt: skip
    # Every column on the screen: no horizontal scrolling inside the list, nor of the page.
    widths = page.locator("#changelist .results").evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert widths[0] <= widths[1], widths
    assert page_width(tab) <= 1280
    amount = page.locator("#result_list tbody .field-amount_display").first.bounding_box()
    assert amount["x"] + amount["width"] <= 1280
    expect(page.get_by_text("Rp 1.250.000")).to_be_visible()
    tab.screenshot("events")
    assert tab.problems == []


# --- The home page --------------------------------------------------------------------------------
@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_home_page_names_the_service_and_where_to_go(open_page, site, settings, device):
    settings.DEMO_KIOSK = True
    tab = open_page(device)
    page = tab.page

    response = page.goto(site.url + "/")

    assert response.status == 200
    expect(page.get_by_role("heading", name="Photobox")).to_be_visible()
    for name, path in [("Demo kiosk", "/kiosk/"), ("Staff admin", "/admin/"), ("API documentation", "/docs")]:
        link = page.get_by_role("link", name=re.compile(f"^{name}"))
        expect(link).to_be_visible()
        assert link.get_attribute("href") == path
    assert page_width(tab) <= page.viewport_size["width"]
    favicon = tab.context.request.get(site.url + page.locator("link[rel=icon]").get_attribute("href"))
    assert (favicon.status, favicon.headers["content-type"]) == (200, "image/x-icon")
    tab.screenshot("home")
    assert tab.problems == []
