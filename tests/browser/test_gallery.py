"""The customer's gallery on a phone, as opened from the email: photos, downloads, the viewer, the
not-found, please-wait and expired pages; the viewer and the notices on a laptop too."""

import io
import itertools
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from gallery.cleanup import cleanup_photos
from gallery.outbox import gallery_url
from payments.models import SaleStatus
from tests.browser.support import DESKTOP, PHONE, image_loaded

sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (requirements-dev.txt)")
expect = sync_api.expect

COLORS = [(190, 24, 93), (29, 78, 216), (16, 185, 129), (245, 158, 11), (124, 58, 237), (15, 118, 110)]


def jpeg(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 800), color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def paid_sale(make_sale, location):
    location.name = "Mall Taman Anggrek"
    location.save()
    return make_sale(status=SaleStatus.COMPLETED)


@pytest.fixture
def uploaded(api, paid_sale) -> list[bytes]:
    """Six photos uploaded by the kiosk through the API; their bytes, in upload order."""
    photos = [jpeg(color) for color in COLORS]
    files = [SimpleUploadedFile(f"booth-{n}.jpg", data, "image/jpeg") for n, data in enumerate(photos, start=1)]
    response = api.post(f"/api/v1/transactions/{paid_sale.external_id}/photos", {"files": files}, format="multipart")
    assert response.status_code == 200, response.content
    return photos


def open_gallery(open_page, sale):
    tab = open_page(PHONE)
    response = tab.page.goto(gallery_url(sale))
    return tab, response


def test_on_a_phone_every_photo_shows_and_the_page_fits_the_screen(open_page, paid_sale, uploaded):
    tab, response = open_gallery(open_page, paid_sale)
    page = tab.page

    assert response.status == 200
    expect(page.get_by_role("heading", name="Foto Anda")).to_be_visible()
    expect(page.get_by_text("Mall Taman Anggrek")).to_be_visible()
    tab.screenshot("top", full_page=False)
    photos = page.get_by_role("list", name="Foto Anda").get_by_role("img")
    expect(photos).to_have_count(len(uploaded))
    photos.last.scroll_into_view_if_needed()  # the later ones load lazily, as the customer scrolls
    for number in range(len(uploaded)):
        tab.wait_until(lambda n=number: image_loaded(photos.nth(n)), f"photo {number + 1} shows")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    tab.screenshot("all-photos")
    assert tab.problems == []


def test_the_download_buttons_give_the_customer_their_photos(open_page, paid_sale, uploaded):
    tab, _ = open_gallery(open_page, paid_sale)
    page = tab.page
    stem = f"photobox-{paid_sale.external_id}"

    with page.expect_download() as first:
        page.get_by_role("link", name="Unduh Foto 1 dari 6").click()
    with page.expect_download() as everything:
        page.get_by_role("link", name="Unduh Semua Foto").click()

    # The live server's own media handler (Django's test server) answers /media/ before our view,
    # so the name is not ours here; tests/gallery/test_gallery_page.py checks it.
    assert first.value.suggested_filename.endswith(".jpg")
    assert Path(first.value.path()).read_bytes() == uploaded[0]
    assert everything.value.suggested_filename == f"{stem}.zip"
    with zipfile.ZipFile(everything.value.path()) as archive:
        assert archive.namelist() == [f"{stem}-{n:02d}.jpg" for n in range(1, 7)]
        assert [archive.read(name) for name in archive.namelist()] == uploaded
    assert tab.problems == []


def test_tapping_a_photo_opens_it_full_size_and_next_shows_the_next_one(open_page, paid_sale, uploaded):
    tab, _ = open_gallery(open_page, paid_sale)
    page = tab.page

    page.get_by_role("link", name="Foto 1 dari 6").first.tap()

    viewer = page.get_by_role("dialog", name="Penampil foto")
    expect(viewer).to_be_visible()
    expect(viewer.get_by_role("img", name="Foto 1 dari 6")).to_be_visible()
    tab.wait_until(lambda: image_loaded(viewer.get_by_role("img")), "the full-size photo shows")
    tab.screenshot("viewer", full_page=False)
    viewer.get_by_role("button", name="Berikutnya").tap()
    expect(viewer.get_by_role("img", name="Foto 2 dari 6")).to_be_visible()
    viewer.get_by_role("button", name="Tutup").tap()
    expect(viewer).to_be_hidden()
    assert tab.problems == []


def test_after_cleanup_the_link_shows_the_expired_page(open_page, paid_sale, uploaded):
    cleanup_photos(days=14, now=timezone.now() + timedelta(days=15))

    tab = open_page(PHONE)
    tab.expect_status(r"/gallery/", 410)
    response = tab.page.goto(gallery_url(paid_sale))

    assert response.status == 410
    expect(tab.page.get_by_role("heading", name="Galeri ini sudah kedaluwarsa")).to_be_visible()
    expect(tab.page.get_by_role("img")).to_have_count(0)
    tab.screenshot("expired")
    assert tab.problems == []


# --- How it looks: icons, the viewer's buttons --------------------------------------------------
DEVICES = pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "laptop"])
ROSE = (157, 23, 77)  # the icons' colour, #9d174d


def fits_the_screen(tab) -> bool:
    return tab.page.evaluate("document.documentElement.scrollWidth") <= tab.page.viewport_size["width"]


def assert_icon_drawn(tab) -> None:
    """The notice's big icon is drawn (an SVG in the page's colours), not an empty emoji box."""
    icon = tab.page.locator(".card .icon")
    expect(icon.locator("svg")).to_be_visible()
    box = icon.locator("svg").bounding_box()
    assert 30 <= box["width"] <= 40, box
    assert 30 <= box["height"] <= 40, box
    rgb = Image.open(io.BytesIO(icon.screenshot())).convert("RGB").tobytes()
    pixels = zip(rgb[0::3], rgb[1::3], rgb[2::3], strict=True)
    drawn = sum(1 for pixel in pixels if all(abs(a - b) < 40 for a, b in zip(pixel, ROSE, strict=True)))
    assert drawn > 50, drawn
    expect(tab.page.locator(".brand-name svg")).to_be_visible()  # the camera by the name


@DEVICES
def test_the_not_found_and_please_wait_pages_draw_their_icon(open_page, paid_sale, device):
    tab = open_page(device)
    tab.expect_status(r"/gallery/", 404)
    page = tab.page

    response = page.goto(gallery_url(paid_sale) + "x")  # a link with a character too many

    assert response.status == 404
    expect(page.get_by_role("heading", name="Galeri tidak ditemukan")).to_be_visible()
    assert_icon_drawn(tab)
    assert fits_the_screen(tab)
    tab.screenshot("not-found")

    response = page.goto(gallery_url(paid_sale))  # paid, the kiosk still uploading

    assert response.status == 200
    expect(page.get_by_role("heading", name="Foto Anda sedang dalam perjalanan")).to_be_visible()
    assert_icon_drawn(tab)
    assert fits_the_screen(tab)
    tab.screenshot("please-wait")
    assert tab.problems == []


def assert_one_row(*buttons) -> None:
    """The viewer's buttons side by side on one line, each one line high, inside the screen."""
    boxes = [button.bounding_box() for button in buttons]
    middles = [box["y"] + box["height"] / 2 for box in boxes]
    assert max(middles) - min(middles) < 2, boxes
    assert all(box["height"] < 60 for box in boxes), boxes
    assert all(a["x"] + a["width"] <= b["x"] for a, b in itertools.pairwise(boxes)), boxes


@DEVICES
def test_the_viewer_hides_previous_on_the_first_photo_and_next_on_the_last(open_page, paid_sale, uploaded, device):
    tab = open_page(device)
    page = tab.page
    page.goto(gallery_url(paid_sale))
    width = page.viewport_size["width"]

    page.get_by_role("link", name="Foto 1 dari 6").first.click()

    viewer = page.get_by_role("dialog", name="Penampil foto")
    previous, following = viewer.locator("[data-viewer-prev]"), viewer.locator("[data-viewer-next]")
    download = viewer.get_by_role("link", name="Unduh")
    expect(viewer.get_by_role("img", name="Foto 1 dari 6")).to_be_visible()
    expect(previous).to_be_hidden()
    expect(previous).to_be_disabled()
    expect(viewer.get_by_role("button", name="Berikutnya")).to_be_visible()
    assert_one_row(previous, download, following)
    assert following.bounding_box()["x"] + following.bounding_box()["width"] <= width
    tab.wait_until(lambda: image_loaded(viewer.get_by_role("img")), "the first photo shows")
    assert fits_the_screen(tab)
    tab.screenshot("photo-1", full_page=False)

    for number in range(2, 7):
        viewer.get_by_role("button", name="Berikutnya").click()
        expect(viewer.get_by_role("img", name=f"Foto {number} dari 6")).to_be_visible()

    expect(following).to_be_hidden()
    expect(viewer.get_by_role("button", name="Sebelumnya")).to_be_visible()
    expect(download).to_be_focused()  # Next went away under the finger: the focus moved on
    assert_one_row(previous, download, following)
    page.keyboard.press("ArrowRight")  # no wrapping round to the first photo
    expect(viewer.get_by_role("img", name="Foto 6 dari 6")).to_be_visible()
    tab.wait_until(lambda: image_loaded(viewer.get_by_role("img")), "the last photo shows")
    tab.screenshot("photo-6", full_page=False)

    page.keyboard.press("ArrowLeft")
    expect(viewer.get_by_role("img", name="Foto 5 dari 6")).to_be_visible()
    expect(following).to_be_visible()
    assert tab.problems == []
