"""The fleet board in a real browser: staff see every machine's state in colour and word (problems
first), filter it, and go from a machine to its page to take it out of service."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from locations.heartbeats import Beat, record_heartbeat
from locations.services import take_out_of_service
from tests.browser.test_admin import log_in

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")
expect = sync_api.expect


@pytest.fixture
def fleet(make_location, staff_user):
    now = timezone.now()
    beat = Beat(status="ok", printer_status="ok", prints_left=240, camera_status="ok", app_version="2.3.1")
    online = make_location(machine_code="PB-101", name="Grand Indonesia", city="Jakarta")
    record_heartbeat(location=online, beat=beat, now=now - timedelta(seconds=20))
    low = make_location(machine_code="PB-102", name="Pakuwon Mall", city="Surabaya")
    record_heartbeat(
        location=low,
        beat=Beat(status="degraded", printer_status="paper_low", prints_left=12, message="One roll left"),
        now=now - timedelta(seconds=40),
    )
    stale = make_location(machine_code="PB-103", name="Paris Van Java", city="Bandung")
    record_heartbeat(location=stale, beat=beat, now=now - timedelta(minutes=5))
    make_location(machine_code="PB-104", name="Centre Point", city="Medan")  # never heard from
    out = make_location(machine_code="PB-105", name="Kota Kasablanka", city="Jakarta")
    record_heartbeat(location=out, beat=beat, now=now - timedelta(seconds=10))
    take_out_of_service(location=out, note="Screen cracked, technician Thursday", user=staff_user)


def board_rows(page):
    return page.locator("#fleet-board tbody tr")


def test_staff_watch_the_fleet_and_filter_it(open_page, site, staff_user, fleet):
    tab = open_page()
    page = tab.page
    log_in(tab, site)

    page.get_by_role("link", name="Fleet board").click()

    expect(page.get_by_role("heading", name="Fleet board")).to_be_visible()
    expect(board_rows(page)).to_have_count(5)
    codes = page.locator("#fleet-board tbody tr").evaluate_all("rows => rows.map(r => r.dataset.machine)")
    assert codes == ["PB-104", "PB-105", "PB-103", "PB-101", "PB-102"]
    offline = page.locator('tr[data-machine="PB-104"] .state')
    expect(offline).to_have_text("offline")
    assert offline.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(207, 34, 46)"
    expect(page.locator('tr[data-machine="PB-105"] .state')).to_have_text("out of service")
    expect(page.locator('tr[data-machine="PB-105"]')).to_contain_text("Screen cracked")
    expect(page.locator('tr[data-machine="PB-103"] .state')).to_have_text("stale")
    expect(page.locator('tr[data-machine="PB-102"]')).to_contain_text("paper low since")
    expect(page.locator('tr[data-machine="PB-102"]')).to_contain_text("degraded")
    expect(page.locator("#fleet-counts")).to_contain_text("2 online")
    tab.screenshot("board")

    page.get_by_label("City").select_option("Jakarta")
    page.get_by_role("button", name="Filter").click()
    expect(board_rows(page)).to_have_count(2)
    page.locator("#fleet-counts").get_by_text(re.compile(r"1 offline")).click()
    expect(board_rows(page)).to_have_count(1)
    tab.screenshot("offline-only")

    page.get_by_role("link", name="PB-104").click()
    page.get_by_role("link", name="Take out of service").click()
    page.get_by_label("Note").fill("Not installed yet")
    page.get_by_role("button", name="Take out of service").click()
    expect(page.get_by_text("PB-104 is out of service")).to_be_visible()
    assert tab.problems == []
