"""Browser tests: the pages people use, in headless Chromium driven by Playwright.

Chromium is Debian's package (/usr/bin/chromium, `apt-get install chromium`), never a browser that
Playwright downloads, started with the flags a machine without internet needs. The app runs on
127.0.0.1 (pytest-django's `live_server`). Without Playwright or Chromium every test here is skipped
with the reason (a newcomer's laptop); CI installs both and fails on any skip.

Each page opened with `open_page` records what someone with the browser's developer tools open
would see go wrong (see support.Tab); tests end with `assert tab.problems == []`, after declaring
the error answers they provoke on purpose. Screenshots go to artifacts/browser/, plus one of every
open page whenever a test fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.support import ARTIFACTS, DESKTOP, TIMEOUT_MS, Tab

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path(os.environ.get("PHOTOBOX_CHROMIUM", "/usr/bin/chromium"))
# Chromium on a locked-down machine: no sandbox (root), no GPU, and no calls home, which a closed
# network refuses many at a time.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
_CALL_FAILED = pytest.StashKey[bool]()


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: runs in headless Chromium (needs Playwright and /usr/bin/chromium)")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


def _why_no_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs Playwright for Python: .venv/bin/pip install -r requirements-dev.txt"
    if not CHROMIUM.exists():
        return f"needs Chromium at {CHROMIUM}: apt-get install chromium (Debian's package)"
    return None


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait up to this long for the page to get there: CI's 2 cores may be busy.
    expect.set_options(timeout=TIMEOUT_MS)

    # Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM
    # calls from a thread with a running loop. The tests' ORM calls are plain synchronous code:
    # allow them while these tests run, and give the rest of the suite Django's check back.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright().start()
    try:
        yield manager
    finally:
        manager.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def chromium(playwright) -> Iterator[Browser]:
    # Screenshots of this run only.
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(autouse=True)
def site(live_server, settings, tmp_path):
    """The app on 127.0.0.1 as a browser sees it: gallery links and photo URLs point at the live
    server, and photos are stored in (and served from) a folder of this test's own."""
    settings.API_BASE_URL = live_server.url
    settings.PHOTO_STORAGE = "local"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ROOT_URLCONF = "tests.browser.urls"
    return live_server


@pytest.fixture
def open_page(chromium, request) -> Iterator[Callable[..., Tab]]:
    """open_page(device=DESKTOP) -> a Tab in a fresh browser context (no cookies, no cache)."""
    tabs: list[Tab] = []
    test_name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name.removeprefix("test_"))[:80]

    def open_(device: dict | None = None) -> Tab:
        context = chromium.new_context(**(device or DESKTOP), accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        tab = Tab(page=context.new_page(), name=test_name + (f"-{len(tabs) + 1}" if tabs else ""))
        tab.watch()
        tabs.append(tab)
        return tab

    yield open_
    for tab in tabs:
        if request.node.stash.get(_CALL_FAILED, False):
            for number, page in enumerate(tab.context.pages, start=1):
                # A page that can no longer be drawn has nothing to show.
                with contextlib.suppress(Exception):
                    tab.screenshot(f"FAILED-{number}", page=page)
        tab.context.close()


@pytest.fixture
def staff_user(transactional_db):
    """A staff member with a password, for the admin's real login form."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("siti", "siti@photobox.example", "kiosk-staff-password")
