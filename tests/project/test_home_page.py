"""`/`: a small page naming the service and where to go (not Django's 404), and `/favicon.ico`."""

import io
import re

import pytest
from django.urls import reverse
from PIL import IcoImagePlugin

pytestmark = pytest.mark.django_db


def links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', html)


def test_the_home_page_names_the_service_and_links_the_admin_and_the_api_docs(client, settings):
    settings.DEBUG = settings.DEMO_KIOSK = False

    response = client.get("/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert "<title>Photobox</title>" in html
    assert "<h1>Photobox</h1>" in html
    assert "self-service photo booth kiosks" in html
    assert links(html) == ["/admin/", "/docs", "/health"]  # no demo kiosk: it is off
    assert "/redoc" in html
    assert "/api/schema/" in html
    # A customer who lands here is sent to the link in their email, in their language.
    assert '<p class="customer" lang="id">Mencari foto Anda? Buka link dari email' in html
    # Locked down: no script, nothing from elsewhere, not framed.
    assert "script-src" not in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "<script" not in html


@pytest.mark.parametrize(("debug", "demo_kiosk"), [(True, False), (False, True)])
def test_with_the_demo_kiosk_on_the_home_page_links_it_first(client, settings, debug, demo_kiosk):
    settings.DEBUG, settings.DEMO_KIOSK = debug, demo_kiosk

    html = client.get("/").content.decode()

    assert links(html) == ["/kiosk/", "/admin/", "/docs", "/health"]
    assert "Demo kiosk" in html


def test_the_home_page_is_read_only(client):
    assert client.head("/").status_code == 200
    assert client.post("/").status_code == 405
    assert reverse("home") == "/"


def test_unknown_pages_are_still_404(client):
    assert client.get("/nothing-here").status_code == 404


def test_the_favicon_is_a_small_icon_browsers_may_cache(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert "max-age=86400" in response["Cache-Control"]
    assert len(response.content) < 10_000
    icon = IcoImagePlugin.IcoFile(io.BytesIO(response.content))
    assert {(16, 16), (32, 32), (48, 48)} <= set(icon.sizes())
    assert client.head("/favicon.ico").status_code == 200
    assert client.post("/favicon.ico").status_code == 405


def test_the_home_page_admin_and_gallery_link_the_favicon(client, admin_client, make_sale):
    from payments.models import SaleStatus

    pages = {
        "home": client.get("/"),
        "admin login": client.get("/admin/login/"),
        "admin": admin_client.get("/admin/"),
        "admin list": admin_client.get("/admin/payments/paymentevent/"),
        "gallery": client.get(f"/gallery/{make_sale(status=SaleStatus.COMPLETED).external_id}/wrong-key"),
    }

    for name, response in pages.items():
        assert '<link rel="icon" href="/favicon.ico">' in response.content.decode(), name
