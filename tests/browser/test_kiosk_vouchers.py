"""/kiosk/ in a real browser with a voucher: a discount shows on the QR screen, a free session goes
straight to the photos, and a refused code says why on the form."""

from decimal import Decimal

import pytest

from payments.models import Sale, SaleStatus
from pricing.models import VoucherKind
from tests.browser.test_kiosk import EMAIL, demo, prices  # noqa: F401 - the fixtures, as there

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")
expect = sync_api.expect


def buy_with(page, code: str) -> None:
    page.get_by_label("Rp 50.000").check()
    page.get_by_label("Email Anda").fill(EMAIL)
    page.get_by_label("Kode voucher (jika ada)").fill(code)
    page.get_by_role("button", name="Bayar dengan QRIS").click()


def test_a_voucher_lowers_the_amount_on_the_qr_screen(open_page, site, demo, make_voucher):  # noqa: F811
    make_voucher("HEMAT25", kind=VoucherKind.PERCENT, value=Decimal(25))
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")

    buy_with(page, "hemat-25")

    expect(page.get_by_role("heading", name="Pindai kode QR untuk membayar")).to_be_visible()
    expect(page.locator("[data-amount]")).to_have_text("Rp 37.500")
    assert Sale.objects.get().amount == 37500
    assert tab.problems == []


def test_a_free_session_skips_the_payment(open_page, site, demo, make_voucher):  # noqa: F811
    make_voucher("BEBAS", kind=VoucherKind.FREE)
    tab = open_page()
    page = tab.page
    page.goto(f"{site.url}/kiosk/")

    buy_with(page, "bebas")

    expect(page.get_by_role("heading", name="Pembayaran berhasil, terima kasih!")).to_be_visible()
    page.get_by_role("button", name="Pakai 3 foto contoh").click()
    page.get_by_role("button", name="Unggah 3 foto").click()
    expect(page.get_by_role("heading", name="Foto Anda sudah siap!")).to_be_visible()
    sale = Sale.objects.get()
    assert (sale.status, sale.amount, sale.qr_string) == (SaleStatus.COMPLETED, 0, None)
    assert tab.problems == []


def test_a_refused_voucher_says_why_on_the_form(open_page, site, demo, make_voucher):  # noqa: F811
    make_voucher("HEMAT25", max_uses=0)
    tab = open_page()
    tab.expect_status(r"/api/v1/transactions$", 422)
    page = tab.page
    page.goto(f"{site.url}/kiosk/")

    buy_with(page, "HEMAT25")

    expect(page.get_by_role("alert")).to_have_text("Voucher ini sudah dipakai.")
    buy_with(page, "TAKADA")
    expect(page.get_by_role("alert")).to_have_text("Kode voucher tidak dikenal.")
    assert not Sale.objects.exists()
    assert tab.problems == []
