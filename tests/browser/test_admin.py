"""Staff in the Django admin, in a real browser: logging in, and finding sales with the filters."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from payments.models import SaleStatus
from tests.browser.support import PASSWORD, log_in

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")
expect = sync_api.expect


@pytest.fixture
def sales(make_location, location, make_sale):
    """Sales at two kiosks: two paid and one expired at PB-001, one awaiting payment at PB-002."""
    other = make_location(machine_code="PB-002", name="Grand Indonesia")
    now = timezone.now()
    return {
        "paid": [make_sale(status=SaleStatus.COMPLETED, created_at=now - timedelta(minutes=m)) for m in (30, 20)],
        "expired": make_sale(status=SaleStatus.EXPIRED, created_at=now - timedelta(hours=2)),
        "pending": make_sale(location=other, created_at=now - timedelta(minutes=5)),
    }


def listed_sales(page) -> list[str]:
    return page.locator("#result_list tbody th.field-external_id").all_inner_texts()


def test_staff_log_in_with_their_password_and_a_wrong_one_is_refused(open_page, site, staff_user):
    tab = open_page()
    page = tab.page

    log_in(tab, site, password="not-the-password")

    expect(page.get_by_text("Please enter the correct username and password")).to_be_visible()
    assert "/admin/login/" in page.url
    tab.screenshot("refused")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Run the photo booths")).to_be_visible()
    expect(page.get_by_role("link", name="Sales", exact=True)).to_be_visible()
    tab.screenshot("dashboard")
    assert tab.problems == []


def filter_section(page, title: str):
    return page.locator("#changelist-filter details").filter(has=page.locator("summary", has_text=title))


def test_the_sale_list_filters_by_status_and_by_kiosk(open_page, site, staff_user, sales):
    tab = open_page()
    page = tab.page
    log_in(tab, site)
    page.get_by_role("link", name="Sales", exact=True).click()

    expect(page.get_by_role("heading", name="Select sale to view")).to_be_visible()
    every_sale = {s.external_id for s in [*sales["paid"], sales["expired"], sales["pending"]]}
    assert set(listed_sales(page)) == every_sale
    tab.screenshot("all-sales")

    filter_section(page, "By status").get_by_role("link", name=re.compile(r"Paid$")).click()

    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    assert sorted(listed_sales(page)) == sorted(s.external_id for s in sales["paid"])
    tab.screenshot("paid")

    filter_section(page, "By machine").get_by_role("link", name=re.compile(r"PB-002")).click()

    expect(page.locator("#result_list tbody tr")).to_have_count(0)  # nothing paid at PB-002 yet
    filter_section(page, "By status").get_by_role("link", name="All", exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert listed_sales(page) == [sales["pending"].external_id]
    expect(page.locator("#result_list tbody tr")).to_have_text([re.compile("Awaiting payment")])
    tab.screenshot("pb-002")

    page.get_by_role("link", name=re.compile("Clear all filters")).click()
    page.locator("#searchbar").fill(sales["expired"].external_id)
    page.get_by_role("button", name="Search").click()

    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    assert listed_sales(page) == [sales["expired"].external_id]
    tab.screenshot("search")
    assert tab.problems == []


def test_the_sales_report_charts_revenue_per_day_and_per_kiosk(open_page, site, staff_user, sales):
    tab = open_page()
    page = tab.page
    log_in(tab, site)

    page.goto(site.url + reverse("admin:payments_sale_report"))

    expect(page.get_by_role("heading", name=re.compile("^Paid sales from"))).to_be_visible()
    expect(page.locator("#report-total-sales")).to_have_text("2")  # the expired and pending ones do not count
    expect(page.locator("#report-total-revenue")).to_have_text("Rp 80.000")
    for chart, bar_starts_with in [
        ("Bar chart: revenue per day", timezone.localdate().strftime("%a %d %b %Y")),
        ("Bar chart: revenue per machine", "PB-001"),
    ]:
        figure = page.get_by_role("img", name=chart)
        expect(figure).to_be_visible()
        # Every day of the range has its bar; only today's has any height: one day, one machine, Rp 80.000.
        drawn = figure.locator("rect").evaluate_all(
            "bars => bars.filter(bar => bar.getBBox().height > 0).map(bar => bar.textContent.trim())"
        )
        assert len(drawn) == 1, drawn
        assert drawn[0].startswith(bar_starts_with)
        assert "Rp 80.000, 2 paid sale" in drawn[0]
    tab.screenshot("report")

    page.locator("#report-locations tbody").get_by_role("link", name="2").click()

    expect(page.get_by_role("heading", name="Select sale to view")).to_be_visible()
    assert sorted(listed_sales(page)) == sorted(s.external_id for s in sales["paid"])
    tab.screenshot("report-sales")
    assert tab.problems == []
