"""The sales report staff hand to accounting: paid sales, gross, refunded and net per Jakarta day
and per machine, as a page with charts and as CSV, with the same numbers as the sales behind them."""

import csv
import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from core.formats import JAKARTA
from payments.models import PAID_STATUSES, Refund, RefundStatus, SaleStatus
from payments.selectors import Totals, sales_report

pytestmark = pytest.mark.django_db

REPORT = reverse("admin:payments_sale_report")
REPORT_CSV = reverse("admin:payments_sale_report_csv")
CSV_HEADER = [
    "date (Jakarta)",
    "machine code",
    "machine",
    "paid sales",
    "list price (IDR)",
    "discounts (IDR)",
    "gross (IDR)",
    "refunded (IDR)",
    "net (IDR)",
]


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def two_days_of_sales(make_sale, make_location, location, price, make_price):
    """Sales around the Jakarta midnights that start and end 9 and 10 March 2025 (UTC+7)."""
    other = make_location(machine_code="PB-002", name="Mall Kota Kasablanka")
    dear = make_price(50000)

    def paid(at: datetime, where=location, price=price, created=None):
        price = price or location.sales.model._meta.get_field("price").related_model.objects.get(amount=40000)
        return make_sale(status=SaleStatus.COMPLETED, location=where, price=price, paid_at=at, created_at=created or at)

    paid(utc(2025, 3, 8, 16, 59, 59))  # 23:59:59 on 8 March in Jakarta: outside
    paid(utc(2025, 3, 8, 17, 0, 0))  # 00:00:00 on 9 March
    paid(utc(2025, 3, 9, 16, 59, 59), where=other, price=dear)  # 23:59:59 on 9 March
    paid(utc(2025, 3, 9, 17, 0, 0))  # 00:00:00 on 10 March
    # Started before midnight, paid after: counts on the day the money came, 10 March.
    paid(utc(2025, 3, 9, 17, 5), where=other, price=dear, created=utc(2025, 3, 9, 16, 55))
    paid(utc(2025, 3, 10, 16, 59, 59))  # 23:59:59 on 10 March
    paid(utc(2025, 3, 10, 17, 0, 0))  # 11 March: outside
    for status in (SaleStatus.PENDING, SaleStatus.EXPIRED, SaleStatus.FAILED):
        make_sale(status=status, created_at=utc(2025, 3, 9, 5))  # not paid: never counted
    return location, other


def table(page: str, table_id: str) -> list[list[str]]:
    """The rows of an HTML table as the text of their cells."""
    body = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([html.unescape(" ".join(re.sub(r"<[^>]+>", " ", cell).split())) for cell in cells])
    return rows


def test_the_report_counts_each_paid_sale_on_its_jakarta_day(staff_client, two_days_of_sales):
    page = staff_client.get(REPORT, {"date_from": "2025-03-09", "date_to": "2025-03-10"}).content.decode()

    assert table(page, "report-days") == [
        ["Day", "Paid sales", "List price", "Discounts", "Gross", "Refunded", "Net"],
        ["Sun 9 Mar 2025", "2", "Rp 90.000", "Rp 0", "Rp 90.000", "Rp 0", "Rp 90.000"],
        ["Mon 10 Mar 2025", "3", "Rp 130.000", "Rp 0", "Rp 130.000", "Rp 0", "Rp 130.000"],
        ["Total", "5", "Rp 220.000", "Rp 0", "Rp 220.000", "Rp 0", "Rp 220.000"],
    ]
    assert table(page, "report-locations") == [
        ["Machine", "Paid sales", "List price", "Discounts", "Gross", "Refunded", "Net", "Share of gross"],
        ["PB-001 – Mall Taman Anggrek", "3", "Rp 120.000", "Rp 0", "Rp 120.000", "Rp 0", "Rp 120.000", "54.5%"],
        ["PB-002 – Mall Kota Kasablanka", "2", "Rp 100.000", "Rp 0", "Rp 100.000", "Rp 0", "Rp 100.000", "45.5%"],
        ["Total", "5", "Rp 220.000", "Rp 0", "Rp 220.000", "Rp 0", "Rp 220.000", ""],
    ]
    assert table(page, "report-cells")[1:] == [
        ["Sun 9 Mar 2025", "PB-001 – Mall Taman Anggrek", "1", "Rp 40.000", "Rp 0", "Rp 40.000", "Rp 0", "Rp 40.000"],
        ["Sun 9 Mar 2025", "PB-002 – Mall Kota Kasablanka", "1", "Rp 50.000", "Rp 0", "Rp 50.000", "Rp 0", "Rp 50.000"],
        ["Mon 10 Mar 2025", "PB-001 – Mall Taman Anggrek", "2", "Rp 80.000", "Rp 0", "Rp 80.000", "Rp 0", "Rp 80.000"],
        [
            "Mon 10 Mar 2025",
            "PB-002 – Mall Kota Kasablanka",
            "1",
            "Rp 50.000",
            "Rp 0",
            "Rp 50.000",
            "Rp 0",
            "Rp 50.000",
        ],
    ]


def test_a_single_day_holds_exactly_its_own_midnight_to_midnight(two_days_of_sales):
    report = sales_report(date_from=date(2025, 3, 9), date_to=date(2025, 3, 9))

    assert [(line.day, line.totals.sales, line.totals.gross) for line in report.days] == [
        (date(2025, 3, 9), 2, Decimal(90000))
    ]


def test_the_csv_has_the_same_numbers_as_the_page(staff_client, two_days_of_sales):
    response = staff_client.get(REPORT_CSV, {"date_from": "2025-03-09", "date_to": "2025-03-10"})

    assert response["Content-Disposition"] == 'attachment; filename="photobox-report-20250309-20250310.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [
        CSV_HEADER,
        ["2025-03-09", "PB-001", "Mall Taman Anggrek", "1", "40000", "0", "40000", "0", "40000"],
        ["2025-03-09", "PB-002", "Mall Kota Kasablanka", "1", "50000", "0", "50000", "0", "50000"],
        ["2025-03-10", "PB-001", "Mall Taman Anggrek", "2", "80000", "0", "80000", "0", "80000"],
        ["2025-03-10", "PB-002", "Mall Kota Kasablanka", "1", "50000", "0", "50000", "0", "50000"],
    ]


def test_each_number_links_to_exactly_the_sales_behind_it(staff_client, two_days_of_sales):
    page = staff_client.get(REPORT, {"date_from": "2025-03-09", "date_to": "2025-03-10"}).content.decode()
    links = re.findall(r'<a href="(/admin/payments/sale/\?[^"]+)">(\d+)</a>', page)

    assert len(links) == 2 + 2 + 4  # days, machines, day x machine
    for url, number in links:
        listed = staff_client.get(html.unescape(url)).context["cl"].result_list
        assert len(listed) == int(number), url
        assert {sale.status for sale in listed} <= set(PAID_STATUSES)


def test_only_the_chosen_machines_are_counted(staff_client, two_days_of_sales):
    _, other = two_days_of_sales

    page = staff_client.get(
        REPORT, {"date_from": "2025-03-09", "date_to": "2025-03-10", "location": [other.pk]}
    ).content.decode()

    assert table(page, "report-days")[-1] == ["Total", "2", "Rp 100.000", "Rp 0", "Rp 100.000", "Rp 0", "Rp 100.000"]


def test_the_chart_draws_one_bar_per_day_as_tall_as_its_revenue(staff_client, two_days_of_sales):
    page = staff_client.get(REPORT, {"date_from": "2025-03-08", "date_to": "2025-03-11"}).content.decode()
    day_chart = page.split('aria-label="Bar chart: revenue per day, gross (before refunds)"')[1].split("</svg>")[0]

    bars = re.findall(
        r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"[^>]*><title>([^<]+)</title>', day_chart
    )

    assert [html.unescape(title) for _, title in bars] == [
        "Sat 08 Mar 2025: gross Rp 40.000, 1 paid sale(s)",
        "Sun 09 Mar 2025: gross Rp 90.000, 2 paid sale(s)",
        "Mon 10 Mar 2025: gross Rp 130.000, 3 paid sale(s)",
        "Tue 11 Mar 2025: gross Rp 40.000, 1 paid sale(s)",
    ]
    heights = [float(height) for height, _ in bars]
    assert heights[0] == heights[3]
    assert heights[1] / heights[0] == pytest.approx(90 / 40, rel=0.01)
    assert heights[2] / heights[0] == pytest.approx(130 / 40, rel=0.01)
    assert "<script" not in page.split('id="content-main"')[1]  # drawn by the server, no chart library


def test_without_dates_the_report_shows_this_month_so_far(staff_client, make_sale):
    make_sale(status=SaleStatus.COMPLETED)
    today = timezone.localdate(timezone=JAKARTA)

    page = staff_client.get(REPORT).content.decode()

    assert f"Paid sales from {today.replace(day=1):%a} {today.replace(day=1).day} {today:%b %Y}" in page
    assert 'id="report-total-sales">1<' in page


def test_a_range_with_no_sales_says_so(staff_client, two_days_of_sales):
    page = staff_client.get(REPORT, {"date_from": "2024-01-01", "date_to": "2024-01-31"}).content.decode()

    assert "No paid sales or refunds in these days." in page
    assert 'id="report-days"' not in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2025-03-10", "date_to": "2025-03-09"}, "“From” must be on or before “To”."),
        ({"date_from": "2024-01-01", "date_to": "2025-03-09"}, "Choose at most 366 days at a time."),
        ({"date_from": "yesterday", "date_to": "2025-03-09"}, "Enter a valid date."),
    ],
)
def test_a_wrong_range_is_explained(staff_client, params, message):
    page = staff_client.get(REPORT, params).content.decode()

    assert message in page
    assert "Paid sales from" not in page
    assert staff_client.get(REPORT_CSV, params).status_code == 302


def test_quick_ranges_cover_today_yesterday_and_months(staff_client):
    today = timezone.localdate(timezone=JAKARTA)
    yesterday = today - timedelta(days=1)

    page = staff_client.get(REPORT).content.decode()

    assert f'href="?date_from={today}&amp;date_to={today}">Today</a>' in page
    assert f'href="?date_from={yesterday}&amp;date_to={yesterday}">Yesterday</a>' in page


# --- Refunds ----------------------------------------------------------------------------------
@pytest.fixture
def sales_with_refunds(make_sale, make_location, location, price, make_price):
    """Paid sales on 8, 9 and 10 March 2025 and refunds of them, going through on other days.

    Expected for 9 and 10 March, gross / refunded / net:
      9 March,  PB-001:  40.000 (sale A) / 10.000 (C, at 23:59:59) / 30.000
      9 March,  PB-002:  50.000 (sale B) / 15.000 (B, partial)     / 35.000
      10 March, PB-001:  0 (no sale)     / 45.000 (A in full + C at 00:00:00) / -45.000
      10 March, PB-002:  50.000 (sale D) / 0                       / 50.000
    """
    other = make_location(machine_code="PB-002", name="Mall Kota Kasablanka")
    dear = make_price(50000)

    def paid(payment_id: str, at: datetime, *, where=location, price=price, status=SaleStatus.COMPLETED):
        return make_sale(
            status=status, location=where, price=price, paid_at=at, created_at=at, xendit_payment_id=payment_id
        )

    def refund(sale, amount: int, settled_at: datetime | None, *, status=RefundStatus.SUCCEEDED, payment_id=None):
        return Refund.objects.create(
            sale=sale,
            payment_id=payment_id or sale.xendit_payment_id,
            amount=Decimal(amount),
            reason="x",
            status=status,
            settled_at=settled_at,
        )

    # A: paid on 9 March, refunded in full the next morning: gross on the 9th, refunded on the 10th.
    a = paid("pay_a", utc(2025, 3, 9, 3), status=SaleStatus.REFUNDED)  # 10:00 on 9 March in Jakarta
    refund(a, 40000, utc(2025, 3, 10, 2))  # 09:00 on 10 March
    # B: paid on 9 March, refunded in part the same evening.
    b = paid("pay_b", utc(2025, 3, 9, 4), where=other, price=dear)
    refund(b, 15000, utc(2025, 3, 9, 13))
    refund(b, 10000, utc(2025, 3, 9, 13, 30), status=RefundStatus.FAILED)  # never went through
    refund(b, 5000, None, status=RefundStatus.PENDING)  # still waiting for Xendit
    # The customer paid B's QR code twice; the second payment was given back: never revenue.
    refund(b, 50000, utc(2025, 3, 9, 14), payment_id="pay_b_second")
    # C: paid on 8 March (outside), refunded in four parts, one second either side of two midnights.
    c = paid("pay_c", utc(2025, 3, 8, 3))
    refund(c, 3000, utc(2025, 3, 8, 16, 59, 59))  # 23:59:59 on 8 March: outside
    refund(c, 10000, utc(2025, 3, 9, 16, 59, 59))  # 23:59:59 on 9 March
    refund(c, 5000, utc(2025, 3, 9, 17, 0, 0))  # 00:00:00 on 10 March
    refund(c, 2000, utc(2025, 3, 10, 17, 0, 0))  # 00:00:00 on 11 March: outside
    # D: paid on 10 March, never refunded.
    paid("pay_d", utc(2025, 3, 10, 5), where=other, price=dear)
    return location, other


def test_refunds_count_on_the_jakarta_day_they_went_through(staff_client, sales_with_refunds):
    page = staff_client.get(REPORT, {"date_from": "2025-03-09", "date_to": "2025-03-10"}).content.decode()

    assert table(page, "report-days") == [
        ["Day", "Paid sales", "List price", "Discounts", "Gross", "Refunded", "Net"],
        ["Sun 9 Mar 2025", "2", "Rp 90.000", "Rp 0", "Rp 90.000", "Rp 25.000", "Rp 65.000"],
        ["Mon 10 Mar 2025", "1", "Rp 50.000", "Rp 0", "Rp 50.000", "Rp 45.000", "Rp 5.000"],
        ["Total", "3", "Rp 140.000", "Rp 0", "Rp 140.000", "Rp 70.000", "Rp 70.000"],
    ]
    assert table(page, "report-locations") == [
        ["Machine", "Paid sales", "List price", "Discounts", "Gross", "Refunded", "Net", "Share of gross"],
        ["PB-002 – Mall Kota Kasablanka", "2", "Rp 100.000", "Rp 0", "Rp 100.000", "Rp 15.000", "Rp 85.000", "71.4%"],
        ["PB-001 – Mall Taman Anggrek", "1", "Rp 40.000", "Rp 0", "Rp 40.000", "Rp 55.000", "-Rp 15.000", "28.6%"],
        ["Total", "3", "Rp 140.000", "Rp 0", "Rp 140.000", "Rp 70.000", "Rp 70.000", ""],
    ]
    assert table(page, "report-cells")[1:] == [
        [
            "Sun 9 Mar 2025",
            "PB-001 – Mall Taman Anggrek",
            "1",
            "Rp 40.000",
            "Rp 0",
            "Rp 40.000",
            "Rp 10.000",
            "Rp 30.000",
        ],
        [
            "Sun 9 Mar 2025",
            "PB-002 – Mall Kota Kasablanka",
            "1",
            "Rp 50.000",
            "Rp 0",
            "Rp 50.000",
            "Rp 15.000",
            "Rp 35.000",
        ],
        ["Mon 10 Mar 2025", "PB-001 – Mall Taman Anggrek", "0", "Rp 0", "Rp 0", "Rp 0", "Rp 45.000", "-Rp 45.000"],
        [
            "Mon 10 Mar 2025",
            "PB-002 – Mall Kota Kasablanka",
            "1",
            "Rp 50.000",
            "Rp 0",
            "Rp 50.000",
            "Rp 0",
            "Rp 50.000",
        ],
    ]
    assert 'id="report-total-revenue">Rp 140.000<' in page
    assert 'id="report-total-refunded">Rp 70.000<' in page
    assert 'id="report-total-net">Rp 70.000<' in page


def test_a_full_refund_leaves_the_gross_on_the_paid_day_and_the_refund_on_its_own(sales_with_refunds):
    report = sales_report(
        date_from=date(2025, 3, 9), date_to=date(2025, 3, 10), location_ids=[sales_with_refunds[0].pk]
    )

    # Sale A (REFUNDED) is still a paid sale of 9 March; its refund went through on the 10th.
    assert [(line.day, line.totals) for line in report.days] == [
        (date(2025, 3, 9), Totals(sales=1, gross=Decimal(40000), refunded=Decimal(10000))),
        (date(2025, 3, 10), Totals(sales=0, gross=Decimal(0), refunded=Decimal(45000))),
    ]
    assert report.totals.net == Decimal(-15000)


@pytest.mark.parametrize(
    ("day", "refunded"),
    [
        # One second either side of each midnight: 3.000 at 23:59:59 on the 8th and 2.000 at
        # 00:00:00 on the 11th are outside; 10.000 at 23:59:59 on the 9th and 5.000 at 00:00:00 on
        # the 10th are in, each on its own day (with A's 40.000 on the 10th).
        ("2025-03-08", Decimal(3000)),
        ("2025-03-09", Decimal(10000)),
        ("2025-03-10", Decimal(45000)),
        ("2025-03-11", Decimal(2000)),
    ],
)
def test_a_refund_counts_on_its_own_side_of_jakarta_midnight(sales_with_refunds, day, refunded):
    location, _ = sales_with_refunds
    day = date.fromisoformat(day)

    report = sales_report(date_from=day, date_to=day, location_ids=[location.pk])

    assert report.totals.refunded == refunded


def test_failed_pending_and_second_payment_refunds_are_not_counted(sales_with_refunds):
    _, other = sales_with_refunds

    report = sales_report(date_from=date(2025, 3, 9), date_to=date(2025, 3, 9), location_ids=[other.pk])

    # Of 15.000 succeeded, 10.000 failed, 5.000 pending and 50.000 of the second payment: 15.000.
    assert report.totals == Totals(sales=1, gross=Decimal(50000), refunded=Decimal(15000))
    assert Refund.objects.filter(sale__location=other).count() == 4


def test_the_csv_has_gross_refunded_and_net(staff_client, sales_with_refunds):
    response = staff_client.get(REPORT_CSV, {"date_from": "2025-03-09", "date_to": "2025-03-10"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [
        CSV_HEADER,
        ["2025-03-09", "PB-001", "Mall Taman Anggrek", "1", "40000", "0", "40000", "10000", "30000"],
        ["2025-03-09", "PB-002", "Mall Kota Kasablanka", "1", "50000", "0", "50000", "15000", "35000"],
        ["2025-03-10", "PB-001", "Mall Taman Anggrek", "0", "0", "0", "0", "45000", "-45000"],
        ["2025-03-10", "PB-002", "Mall Kota Kasablanka", "1", "50000", "0", "50000", "0", "50000"],
    ]


def test_sale_counts_link_to_their_sales_refunded_ones_included(staff_client, sales_with_refunds):
    page = staff_client.get(REPORT, {"date_from": "2025-03-09", "date_to": "2025-03-10"}).content.decode()
    links = re.findall(r'<a href="(/admin/payments/sale/\?[^"]+)">(\d+)</a>', page)

    # Days 2, machines 2, day x machine 3: the 10 March line at PB-001 has refunds but no sale, so a plain 0.
    assert len(links) == 2 + 2 + 3
    statuses = set()
    for url, number in links:
        listed = staff_client.get(html.unescape(url)).context["cl"].result_list
        assert len(listed) == int(number), url
        statuses |= {sale.status for sale in listed}
    assert statuses == {SaleStatus.COMPLETED, SaleStatus.REFUNDED}


def test_a_machine_with_only_refunds_in_the_range_is_shown(staff_client, sales_with_refunds):
    location, _ = sales_with_refunds

    page = staff_client.get(
        REPORT, {"date_from": "2025-03-10", "date_to": "2025-03-10", "location": [location.pk]}
    ).content.decode()

    assert "No paid sales or refunds" not in page
    assert table(page, "report-days") == [
        ["Day", "Paid sales", "List price", "Discounts", "Gross", "Refunded", "Net"],
        ["Mon 10 Mar 2025", "0", "Rp 0", "Rp 0", "Rp 0", "Rp 45.000", "-Rp 45.000"],
        ["Total", "0", "Rp 0", "Rp 0", "Rp 0", "Rp 45.000", "-Rp 45.000"],
    ]
    assert table(page, "report-locations")[1] == [
        "PB-001 – Mall Taman Anggrek",
        "0",
        "Rp 0",
        "Rp 0",
        "Rp 0",
        "Rp 45.000",
        "-Rp 45.000",
        "0.0%",
    ]


def test_the_chart_stays_on_gross_and_its_tooltip_names_the_refunds(staff_client, sales_with_refunds):
    page = staff_client.get(REPORT, {"date_from": "2025-03-09", "date_to": "2025-03-10"}).content.decode()
    day_chart = page.split('aria-label="Bar chart: revenue per day, gross (before refunds)"')[1].split("</svg>")[0]

    bars = re.findall(r'height="([\d.]+)"[^>]*><title>([^<]+)</title>', day_chart)

    assert [html.unescape(title) for _, title in bars] == [
        "Sun 09 Mar 2025: gross Rp 90.000, 2 paid sale(s); refunded Rp 25.000, net Rp 65.000",
        "Mon 10 Mar 2025: gross Rp 50.000, 1 paid sale(s); refunded Rp 45.000, net Rp 5.000",
    ]
    assert float(bars[0][0]) / float(bars[1][0]) == pytest.approx(90 / 50, rel=0.01)
