"""The invoice in the customer's email when a voucher was used: the list price, the discount with
its code, and what was paid; "Gratis" for a free session. A free session's photos upload as a
paid sale's do."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery.emails import build_customer_email
from gallery.outbox import gallery_url
from payments.models import FREE_SESSION_CHANNEL, SaleStatus
from pricing.models import VoucherKind

pytestmark = pytest.mark.django_db


def bodies(sale) -> tuple[str, str]:
    message = build_customer_email(sale=sale, gallery_url=gallery_url(sale))
    [(html, _)] = message.alternatives
    return message.body, html


def test_the_invoice_shows_the_list_price_the_discount_with_its_code_and_the_amount_paid(make_sale, make_voucher):
    sale = make_sale(
        status=SaleStatus.COMPLETED,
        send_invoice=True,
        amount=30000,
        discount=10000,
        voucher=make_voucher("HEMAT25"),
        voucher_code="HEMAT25",
    )

    text, html = bodies(sale)

    lines = text[text.index("Invoice Pembayaran") :].splitlines()
    assert "Harga normal: Rp 40.000" in lines
    assert "Diskon (voucher HEMAT25): -Rp 10.000" in lines
    assert "Jumlah: Rp 30.000" in lines
    for expected in ("Harga normal", "Rp 40.000", "Diskon (voucher HEMAT25)", "&minus;Rp 10.000", "Rp 30.000"):
        assert expected in html


def test_a_free_session_says_gratis(make_sale, make_voucher):
    sale = make_sale(
        status=SaleStatus.COMPLETED,
        send_invoice=True,
        amount=0,
        discount=40000,
        voucher=make_voucher("BEBAS", kind=VoucherKind.FREE),
        voucher_code="BEBAS",
        payment_channel=FREE_SESSION_CHANNEL,
        qr_string=None,
    )

    text, html = bodies(sale)

    assert "Jumlah: Gratis" in text.splitlines()
    assert "Diskon (voucher BEBAS): -Rp 40.000" in text.splitlines()
    assert "Gratis" in html
    assert "Rp 0" not in text + html


def test_without_a_voucher_the_invoice_is_as_before(make_sale):
    text, _ = bodies(make_sale(status=SaleStatus.COMPLETED, send_invoice=True))

    assert "Harga normal" not in text
    assert "Diskon" not in text
    assert "Jumlah: Rp 40.000" in text.splitlines()


def test_the_kiosk_uploads_a_free_sessions_photos_as_for_a_paid_sale(
    api, sale_request, make_voucher, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    make_voucher("BEBAS", kind=VoucherKind.FREE)
    created = api.post(
        "/api/v1/transactions",
        data=json.dumps({**sale_request, "voucher_code": "BEBAS"}),
        content_type="application/json",
    ).json()["data"]
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    photo = SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")

    response = api.post(f"/api/v1/transactions/{created['external_id']}/photos", {"files": [photo]}, format="multipart")

    assert response.status_code == 200, response.json()
    assert response.json()["uploaded_count"] == 1
    assert response.json()["email_sent"] is True
