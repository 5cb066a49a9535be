"""Staff running a promotion: vouchers in the admin, flyer batches as CSV, and the report."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from payments.models import FREE_SESSION_CHANNEL, SaleStatus
from pricing.models import Voucher, VoucherKind

pytestmark = pytest.mark.django_db
VOUCHERS = reverse("admin:pricing_voucher_changelist")
ADD = reverse("admin:pricing_voucher_add")
BATCH = reverse("admin:pricing_voucher_batch")
REPORT = reverse("admin:payments_sale_report")
REPORT_CSV = reverse("admin:payments_sale_report_csv")


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def voucher_form(**fields) -> dict:
    form = {
        "code": "he-mat 25",
        "description": "Opening week",
        "kind": VoucherKind.PERCENT,
        "value": "25",
        "valid_from_0": "2026-01-01",
        "valid_from_1": "00:00:00",
        "max_uses": "100",
        "is_active": "on",
    }
    return {**form, **fields}


def test_staff_add_a_voucher_and_its_code_is_stored_as_kiosks_look_it_up(staff_client):
    response = staff_client.post(ADD, voucher_form())

    assert response.status_code == 302, response.context["adminform"].form.errors
    voucher = Voucher.objects.get()
    assert (voucher.code, voucher.kind, voucher.value, voucher.max_uses) == ("HEMAT25", "percent", 25, 100)


def test_a_code_with_look_alikes_is_refused_with_a_reason(staff_client):
    response = staff_client.post(ADD, voucher_form(code="PROMO10"))

    assert response.status_code == 200
    assert "look-alikes" in response.content.decode()
    assert not Voucher.objects.exists()


def test_the_voucher_list_shows_codes_as_printed_and_their_uses(staff_client, make_voucher):
    make_voucher("HEMATHEMAT25", max_uses=3, uses=2)

    page = staff_client.get(VOUCHERS).content.decode()

    assert "HEMA-THEM-AT25" in page
    assert "2 of 3" in page
    assert "Make a batch of flyer codes" in page


def test_the_voucher_list_finds_a_code_typed_with_dashes(staff_client, make_voucher):
    make_voucher("HEMAT25")

    page = staff_client.get(VOUCHERS, {"q": "hemat-25"}).content.decode()

    assert "HEMA-T25" in page


def test_a_batch_of_flyer_codes_is_made_and_downloaded_as_csv(staff_client, price):
    response = staff_client.post(
        BATCH,
        {
            "count": "20",
            "batch": "Flyers GI",
            "prefix": "grand",
            "kind": VoucherKind.FREE,
            "valid_from_0": "2026-01-01",
            "valid_from_1": "00:00:00",
            "prices": [str(price.pk)],
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    assert Voucher.objects.filter(batch="Flyers GI", max_uses=1, kind=VoucherKind.FREE).count() == 20
    message = str(next(iter(response.wsgi_request._messages)))
    export = re.search(r'href="([^"]+)"', message).group(1).replace("&amp;", "&")
    rows = csv_rows(staff_client.get(export))
    assert rows[0][:3] == ["code", "discount", "valid from (Jakarta)"]
    assert len(rows) == 21
    assert all(re.fullmatch(r"GRAN-D[A-Z2-9]{3}-[A-Z2-9]{4}-[A-Z2-9]", row[0]) for row in rows[1:])
    assert {row[1] for row in rows[1:]} == {"Free session"}


def test_a_batch_needs_a_value_for_a_discount(staff_client):
    response = staff_client.post(
        BATCH,
        {"count": "5", "batch": "B", "kind": VoucherKind.PERCENT, "valid_from_0": "2026-01-01", "valid_from_1": "0:00"},
    )

    assert response.status_code == 200
    assert "Say how much off" in response.content.decode()
    assert not Voucher.objects.exists()


def test_the_list_action_downloads_the_ticked_codes(staff_client, make_voucher):
    chosen = make_voucher("HEMAT25")
    make_voucher("LAGU2345")

    response = staff_client.post(VOUCHERS, {"action": "download_codes", "_selected_action": [chosen.pk]})

    assert [row[0] for row in csv_rows(response)[1:]] == ["HEMA-T25"]


# --- The report -----------------------------------------------------------------------------------
@pytest.fixture
def promotion_day(make_sale, make_voucher, make_location):
    """9 March 2025 at PB-001: a full-price sale, one with HEMAT25 (Rp 10.000 off), a free session."""
    paid_at = datetime(2025, 3, 9, 5, tzinfo=UTC)
    hemat, gratis = make_voucher("HEMAT25", max_uses=None), make_voucher("BEBAS", kind=VoucherKind.FREE)
    make_sale(status=SaleStatus.COMPLETED, paid_at=paid_at)
    make_sale(
        status=SaleStatus.COMPLETED,
        paid_at=paid_at,
        amount=30000,
        discount=10000,
        voucher=hemat,
        voucher_code="HEMAT25",
    )
    make_sale(
        status=SaleStatus.COMPLETED,
        paid_at=paid_at,
        amount=0,
        discount=40000,
        voucher=gratis,
        voucher_code="BEBAS",
        payment_channel=FREE_SESSION_CHANNEL,
        qr_string=None,
    )
    # Not paid: counted nowhere.
    make_sale(status=SaleStatus.EXPIRED, amount=30000, discount=10000, voucher=hemat, voucher_code="HEMAT25")


def test_the_report_shows_list_price_discounts_and_net_per_day_and_machine(staff_client, promotion_day):
    page = staff_client.get(REPORT, {"date_from": "2025-03-09", "date_to": "2025-03-09"}).content.decode()

    days = re.search(r'<table id="report-days">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", days, re.S)
    ] == ["Sun 9 Mar 2025", "3", "Rp 120.000", "Rp 50.000", "Rp 70.000", "Rp 0", "Rp 70.000"]
    vouchers = re.search(r'<table id="report-vouchers">(.*?)</table>', page, re.S).group(1)
    assert re.findall(
        r"<td>(\w+)</td><td class=\"num\"><a [^>]+>(\d+)</a></td><td class=\"num\">([^<]+)</td>", vouchers
    ) == [
        ("BEBAS", "1", "Rp 40.000"),
        ("HEMAT25", "1", "Rp 10.000"),
    ]


def test_the_report_csv_has_the_same_columns(staff_client, promotion_day):
    rows = csv_rows(staff_client.get(REPORT_CSV, {"date_from": "2025-03-09", "date_to": "2025-03-09"}))

    assert rows[0][3:] == [
        "paid sales",
        "list price (IDR)",
        "discounts (IDR)",
        "gross (IDR)",
        "refunded (IDR)",
        "net (IDR)",
    ]
    assert rows[1][3:] == ["3", "120000", "50000", "70000", "0", "70000"]


def test_a_voucher_code_finds_its_sales(staff_client, promotion_day):
    page = staff_client.get(reverse("admin:payments_sale_changelist"), {"q": "hemat-25"}).content.decode()

    assert page.count("voucher HEMAT25") == 2
    assert "Rp 30.000 (Rp 40.000 − Rp 10.000, voucher HEMAT25)" in page
