"""A superuser refunds a sale from the admin, in a real browser, with the payment simulator."""

import pytest

from payments.models import RefundStatus, SaleStatus
from payments.simulation import simulate_payment
from tests.browser.support import log_in

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")
expect = sync_api.expect


@pytest.fixture
def paid_sale(make_sale, settings):
    settings.PAYMENT_GATEWAY = "simulator"
    sale = make_sale()
    simulate_payment(sale=sale)
    sale.refresh_from_db()
    return sale


def test_a_partial_then_full_refund_from_the_sale_page(open_page, site, staff_user, paid_sale):
    tab = open_page()
    page = tab.page
    log_in(tab, site)
    page.goto(f"{site.url}/admin/payments/sale/{paid_sale.pk}/change/")

    page.get_by_role("link", name="Refund", exact=True).click()
    expect(page.get_by_role("heading", name="Refund")).to_be_visible()
    page.get_by_label("Amount").fill("15.000")
    page.get_by_label("Reason").fill("Printer jammed: one strip instead of four")
    tab.screenshot("refund-form")
    page.get_by_role("button", name="Refund").click()

    expect(page.get_by_text("Xendit is processing it")).to_be_visible()
    page.get_by_role("link", name="Simulate Xendit's refund webhook: refunded").first.click()
    page.get_by_role("button", name="Send it").click()
    expect(page.get_by_text("partially refunded")).to_be_visible()
    tab.screenshot("partly-refunded")

    page.get_by_role("link", name="Refund", exact=True).click()
    page.get_by_label("Reason").fill("Customer left without photos")
    page.get_by_role("button", name="Refund").click()
    page.get_by_role("link", name="Simulate Xendit's refund webhook: refunded").first.click()
    page.get_by_role("button", name="Send it").click()

    paid_sale.refresh_from_db()
    assert paid_sale.status == SaleStatus.REFUNDED
    assert sorted(paid_sale.refunds.values_list("amount", "status")) == [
        (15000, RefundStatus.SUCCEEDED),
        (25000, RefundStatus.SUCCEEDED),
    ]
    expect(page.get_by_text("Refunded", exact=True).first).to_be_visible()
    tab.screenshot("refunded")
    assert tab.problems == []
