"""The customer funnel in a real browser: staff find it from Home, pick the last 7 days, and read
the funnel, the weekday-and-hour heat map and the payment channels, and download the CSV."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from gallery.funnel_summary import summarise_funnel
from gallery.models import EmailKind, EmailOutbox, GalleryVisits
from payments.models import SaleStatus
from tests.browser.test_admin import log_in

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")
expect = sync_api.expect


@pytest.fixture
def customers(make_sale, make_location, location):
    """Ten sales started this past hour at two machines: eight paid (DANA, OVO, one unnamed), six got
    their photos, five their email, four opened the gallery, two downloaded; one, unpaid, two days
    before, which the summary holds."""
    other = make_location(machine_code="PB-002", name="Grand Indonesia")
    started = timezone.now() - timedelta(hours=1)
    for number in range(10):
        paid = number < 8
        sale = make_sale(
            status=SaleStatus.COMPLETED if paid else SaleStatus.EXPIRED,
            location=location if number % 2 else other,
            created_at=started,
            paid_at=started + timedelta(seconds=40 + 10 * number) if paid else None,
            payment_channel=("DANA", "OVO", "")[number % 3] if paid else "",
            email_sent_at=started + timedelta(minutes=5) if number < 5 else None,
        )
        if number < 6:
            EmailOutbox.objects.create(sale=sale, kind=EmailKind.CUSTOMER_PHOTOS)
        if number < 4:
            GalleryVisits.objects.create(sale=sale, opens=2, zip_downloads=int(number < 2))
    # Two days ago, summarised as cron does: the page reads it from the summary, today live.
    earlier = make_sale(status=SaleStatus.EXPIRED, location=location, created_at=started - timedelta(days=2))
    summarise_funnel(now=earlier.created_at + timedelta(days=1, hours=12))


@pytest.mark.postgresql  # the funnel is counted by PostgreSQL
def test_staff_read_where_customers_drop_out(open_page, site, staff_user, customers):
    tab = open_page()
    page = tab.page
    log_in(tab, site)

    page.get_by_role("link", name="Customer funnel").click()
    page.get_by_role("link", name="Last 7 days").click()

    expect(page.locator("#funnel-freshness")).to_contain_text("Past days come from the summary made hourly, last at")
    expect(page.locator("#funnel-started")).to_have_text("11")
    expect(page.locator("#funnel-paid-rate")).to_have_text("72.7%")
    expect(page.locator("#funnel-downloaded-rate")).to_have_text("18.2%")
    expect(page.locator("#funnel-median")).to_have_text("1 min 15 s")
    expect(page.locator("#funnel-steps tbody td:nth-child(1)")).to_have_text(
        [
            "Sales started (QR shown)",
            "Paid",
            "Photos uploaded",
            "Email delivered",
            "Gallery opened",
            "Photos downloaded",
        ]
    )
    expect(page.locator("#funnel-steps tbody td:nth-child(2)")).to_have_text(["11", "8", "6", "5", "4", "2"])
    expect(page.locator("#funnel-steps tbody td:nth-child(4)")).to_have_text(
        ["", "72.7%", "75.0%", "83.3%", "80.0%", "50.0%"]
    )
    expect(page.get_by_role("img", name=re.compile("^Funnel"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("^Heat map"))).to_be_visible()
    expect(page.locator("#funnel-channels tbody td:nth-child(1)")).to_have_text(["DANA", "OVO", "Not reported"])
    expect(page.locator("#funnel-channels tbody td:nth-child(2)")).to_have_text(["3", "3", "2"])
    tab.screenshot("funnel")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the funnel as CSV").click()
    assert download.value.suggested_filename.startswith("photobox-funnel-")
    assert tab.problems == []
