"""The demo kiosk's menu is the kiosk API's answer (GET /api/v1/kiosk/packages): each kiosk shows
the packages it may sell, cheapest first, with what is left of a quota; a sold-out one cannot be
chosen; the menu is asked again when the kiosk changes and for the next customer."""

import re

import pytest

from payments.models import Sale
from pricing.models import Price
from pricing.services import limit_price_to_locations

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")
expect = sync_api.expect

MENU = re.compile(r"/api/v1/kiosk/packages\?location_id=(\d+)$")


@pytest.fixture
def airport(make_location):
    return make_location(machine_code="PB-009", name="Bandara Soekarno-Hatta")


@pytest.fixture
def demo(settings, location, airport, make_price):
    settings.DEBUG = True
    settings.PAYMENT_GATEWAY = "simulator"
    make_price(50000, description="4 strips + digital copies")
    make_price(35000, description="2 photo strips", quota=5)
    limit_price_to_locations(price=make_price(90000, description="Airport special"), locations=[airport])


def packages(page):
    return page.locator("label.price")


def test_each_kiosk_shows_the_menu_the_api_gives_it(open_page, site, demo, location, airport):
    tab = open_page()
    page = tab.page
    asked: list[str] = []
    page.on("request", lambda r: (m := MENU.search(r.url)) and asked.append(m.group(1)))
    page.goto(f"{site.url}/kiosk/")

    expect(packages(page)).to_have_text(["Rp 35.0002 photo stripsSisa 5", "Rp 50.0004 strips + digital copies"])
    expect(page.get_by_label("Rp 35.000")).to_be_checked()

    page.get_by_label("Kiosk").select_option(str(airport.pk))

    expect(packages(page)).to_have_count(3)
    expect(page.get_by_label("Airport special")).to_be_visible()
    assert asked == [str(location.pk), str(airport.pk)]
    tab.screenshot("airport-menu")
    # The customer's language, the same menu.
    page.get_by_role("link", name="English").click()
    expect(packages(page).first).to_have_text("Rp 35.0002 photo strips5 left")

    page.get_by_label("Airport special").check()
    page.get_by_label("Your email").fill("siti@example.com")
    page.get_by_role("button", name="Pay with QRIS").click()

    expect(page.get_by_role("heading", name="Scan to pay")).to_be_visible()
    sale = Sale.objects.select_related("location").get()
    assert (sale.location, sale.amount) == (airport, 90000)
    assert tab.problems == []


def test_a_sold_out_package_is_shown_but_cannot_be_chosen(open_page, site, demo, make_price):
    make_price(20000, description="Free-ish promo", quota=0)
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")

    sold_out = page.get_by_label("Rp 20.000")
    expect(sold_out).to_be_disabled()
    expect(packages(page).first).to_contain_text("Habis")
    # The first package on sale is the one chosen for the customer.
    expect(page.get_by_label("Rp 35.000")).to_be_checked()
    tab.screenshot("sold-out")
    assert tab.problems == []


def test_the_next_customer_sees_what_is_left_now(open_page, site, demo, location):
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")
    expect(packages(page).first).to_contain_text("Sisa 5")
    page.get_by_label("Email Anda").fill("siti@example.com")
    page.get_by_role("button", name="Bayar dengan QRIS").click()
    expect(page.get_by_role("heading", name="Pindai kode QR untuk membayar")).to_be_visible()

    page.get_by_role("button", name="Batal").click()  # cancelled: its quota is free again
    expect(packages(page).first).to_contain_text("Sisa 5")
    page.get_by_label("Email Anda").fill("joko@example.com")
    page.get_by_role("button", name="Bayar dengan QRIS").click()
    page.get_by_role("button", name="Bayar sekarang (simulator)").click()
    expect(page.get_by_role("heading", name="Pembayaran berhasil, terima kasih!")).to_be_visible()
    page.get_by_role("button", name="Pakai 3 foto contoh").click()
    page.get_by_role("button", name="Unggah 3 foto").click()
    page.get_by_role("button", name="Pelanggan berikutnya").click()

    expect(packages(page).first).to_contain_text("Sisa 4")
    expect(page.get_by_label("Rp 35.000")).to_be_checked()
    assert tab.problems == []


def test_a_kiosk_with_nothing_to_sell_says_so(open_page, site, demo, location, make_location):
    bare = make_location(machine_code="PB-010", name="Mall kosong")
    for price in Price.objects.all():
        limit_price_to_locations(price=price, locations=[location])
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")

    page.get_by_label("Kiosk").select_option(str(bare.pk))

    expect(page.get_by_text("Kiosk ini belum menjual paket apa pun.")).to_be_visible()
    expect(packages(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Bayar dengan QRIS")).to_be_disabled()
    assert tab.problems == []


def test_a_menu_that_cannot_be_loaded_says_so_and_can_be_asked_again(open_page, site, demo):
    tab = open_page()
    page = tab.page
    failing = {"on": True}

    def maybe_fail(route):
        if failing["on"]:
            route.fulfill(status=503, content_type="application/json", body='{"success": false, "message": "x"}')
        else:
            route.continue_()

    tab.expect_status(MENU.pattern, 503)
    page.route(MENU, maybe_fail)
    page.goto(f"{site.url}/kiosk/")

    expect(page.get_by_text("Daftar paket tidak dapat dimuat.")).to_be_visible()
    expect(page.get_by_role("button", name="Bayar dengan QRIS")).to_be_disabled()
    failing["on"] = False
    page.get_by_role("button", name="Muat ulang paket").click()

    expect(packages(page)).to_have_count(2)
    expect(page.get_by_role("button", name="Bayar dengan QRIS")).to_be_enabled()
    assert tab.problems == []
