"""What the browser tests share: devices, a watched browser tab, reading QR codes off the screen."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
TIMEOUT_MS = 15_000
PASSWORD = "kiosk-staff-password"  # staff_user's, in tests/browser/conftest.py
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36",
}


@dataclass
class Tab:
    """A page in a browser context of its own, with everything that went wrong in that context
    (console errors, uncaught exceptions, failed requests, HTTP errors) in `problems`."""

    page: Page
    name: str
    # HTTP errors a test expects (pattern of the URL, status); anything else is a problem.
    expected: list[tuple[re.Pattern, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    shots: int = 0

    @property
    def context(self) -> BrowserContext:
        return self.page.context

    def watch(self) -> None:
        context = self.context
        context.on("console", self._on_console)
        context.on("weberror", lambda error: self.problems.append(f"uncaught: {error.error}"))
        context.on("requestfailed", self._on_request_failed)
        context.on("response", self._on_response)

    def expect_status(self, url_pattern: str, status: int) -> None:
        """An error answer the test provokes on purpose (a 410 page, a refused sale)."""
        self.expected.append((re.compile(url_pattern), status))

    def _on_console(self, message) -> None:
        # "Failed to load resource" repeats an HTTP error or failed request, which the listeners
        # below report (or let pass, when the test expects it).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {message.text} ({message.location.get('url', '')})")

    def _on_response(self, response) -> None:
        if response.status < 400:
            return
        for pattern, status in self.expected:
            if response.status == status and pattern.search(response.url):
                return
        self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def _on_request_failed(self, request) -> None:
        # Cancelled, not failed: what is still loading when the page navigates away (or a script
        # drops an image) is aborted. A broken resource shows as an HTTP error or another net:: error.
        if request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def screenshot(self, label: str, *, page: Page | None = None, full_page: bool = True) -> Path:
        """artifacts/browser/{test}-{nn}-{label}.png"""
        self.shots += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"
        (page or self.page).screenshot(path=str(path), full_page=full_page)
        return path

    def wait_until(self, condition: Callable[[], object], what: str, *, timeout_s: float = TIMEOUT_MS / 1000) -> None:
        """Poll a condition from Python: the pages' CSP rightly forbids the eval that
        page.wait_for_function needs."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting until {what}")
            self.page.wait_for_timeout(100)


def image_loaded(image: Locator) -> bool:
    """The browser fetched and decoded the image (a broken image has no natural width)."""
    return image.evaluate("img => img.complete && img.naturalWidth > 0")


def decode_qr(png: bytes) -> list[str]:
    """What a phone camera reads from a picture: the text of every QR code in it (zxing-cpp)."""
    import zxingcpp
    from PIL import Image

    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def log_in(tab: Tab, site, *, password: str = PASSWORD) -> None:
    """Log in to the admin as staff_user (siti), through the login page."""
    page = tab.page
    page.goto(f"{site.url}/admin/")
    page.get_by_label("Username").fill("siti")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
