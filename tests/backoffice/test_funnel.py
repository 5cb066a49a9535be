"""The customer funnel staff read in the admin: per Jakarta day and machine, from the QR code to the
downloaded photos, with paid sales by weekday and hour, the payment channels and the time to pay;
each as a table, an SVG chart and a CSV, in a fixed number of queries."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gallery.funnel import Counts, funnel
from gallery.funnel_payments import channel_mix_and_median, paid_by_weekday_and_hour
from gallery.funnel_sources import sources
from gallery.funnel_summary import summarise_funnel
from gallery.models import EmailKind, EmailOutbox, FunnelSummarisedDay, GalleryVisits
from payments.models import SaleStatus

# The counts are PostgreSQL's (GROUPING SETS, AT TIME ZONE); on SQLite the page says so
# (test_the_page_says_when_its_database_cannot_count_it, below, runs on both).
pytestmark = [pytest.mark.django_db, pytest.mark.postgresql]

FUNNEL = reverse("admin:payments_sale_funnel")
PERIOD = {"date_from": "2025-03-09", "date_to": "2025-03-10"}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def customers(make_sale, make_location, location):
    """On 9 March 2025 (Jakarta) at PB-001: five sales started; four paid, three got their photos,
    two their email, both opened the gallery, one downloaded. One sale on 10 March at PB-002."""
    other = make_location(machine_code="PB-002", name="Mall Kota Kasablanka")

    def sale(created, *, paid=None, photos=False, emailed=False, visits=None, where=location, channel="DANA"):
        status = SaleStatus.COMPLETED if paid else SaleStatus.EXPIRED
        made = make_sale(
            status=status, location=where, created_at=created, paid_at=paid,
            payment_channel=channel if paid else "", email_sent_at=paid + timedelta(minutes=5) if emailed else None,
        )  # fmt: skip
        if photos:
            EmailOutbox.objects.create(sale=made, kind=EmailKind.CUSTOMER_PHOTOS)
        if visits:
            GalleryVisits.objects.create(sale=made, opens=visits[0], zip_downloads=visits[1], photo_downloads=visits[2])
        return made

    # 00:00 on 9 March in Jakarta is 17:00 on 8 March UTC.
    sale(utc(2025, 3, 8, 16, 59))  # 23:59 on 8 March: outside
    sale(utc(2025, 3, 8, 17, 0), paid=utc(2025, 3, 8, 17, 1), photos=True, emailed=True, visits=(3, 1, 0))
    sale(utc(2025, 3, 9, 1, 0), paid=utc(2025, 3, 9, 1, 3), photos=True, emailed=True, visits=(1, 0, 0))
    sale(utc(2025, 3, 9, 2, 0), paid=utc(2025, 3, 9, 2, 2), photos=True, channel="OVO")
    # Started at 23:58 on 9 March, paid at 00:02 on 10 March: the funnel's 9 March, the payment's 10 March.
    sale(utc(2025, 3, 9, 16, 58), paid=utc(2025, 3, 9, 17, 2), channel="OVO")
    sale(utc(2025, 3, 9, 5, 0))  # started, never paid
    sale(utc(2025, 3, 10, 3, 0), paid=utc(2025, 3, 10, 3, 1), where=other, channel="")
    return location, other


def test_each_step_counts_the_customers_started_that_jakarta_day(customers):
    location, other = customers

    result = funnel(sources=sources(date_from=date(2025, 3, 9), date_to=date(2025, 3, 10)))

    assert result.days == [(date(2025, 3, 9), Counts(5, 4, 3, 2, 2, 1)), (date(2025, 3, 10), Counts(1, 1, 0, 0, 0, 0))]
    assert [(line[0], line[1]) for line in result.locations] == [
        (location, Counts(5, 4, 3, 2, 2, 1)),
        (other, Counts(1, 1, 0, 0, 0, 0)),
    ]
    assert result.totals == Counts(6, 5, 3, 2, 2, 1)


def test_the_machine_filter_narrows_every_chart(customers):
    _, other = customers

    at_other = sources(date_from=date(2025, 3, 9), date_to=date(2025, 3, 10), location_ids=[other.pk])

    assert funnel(sources=at_other).totals == Counts(1, 1, 0, 0, 0, 0)
    assert [line.sales for line in channel_mix_and_median(sources=at_other)[0]] == [1]
    assert paid_by_weekday_and_hour(sources=at_other) == {(1, 10): 1}


def test_paid_sales_count_on_the_jakarta_weekday_and_hour_the_money_came(customers):
    period = sources(date_from=date(2025, 3, 9), date_to=date(2025, 3, 10))

    # 9 March 2025 is a Sunday (ISO 7); 10 March a Monday.
    assert paid_by_weekday_and_hour(sources=period) == {(7, 0): 1, (7, 8): 1, (7, 9): 1, (1, 0): 1, (1, 10): 1}


def test_channels_and_the_median_time_from_qr_to_paid(customers):
    mix, median = channel_mix_and_median(sources=sources(date_from=date(2025, 3, 9), date_to=date(2025, 3, 10)))

    assert [(line.channel, line.sales, line.amount) for line in mix] == [
        ("DANA", 2, 80000),
        ("OVO", 2, 80000),
        ("", 1, 40000),
    ]
    assert [line.median_time_to_pay for line in mix] == [
        timedelta(minutes=2), timedelta(minutes=3), timedelta(minutes=1),
    ]  # fmt: skip
    # 1, 2, 3, 4 and 1 minute(s): the middle one.
    assert median == timedelta(minutes=2)
    assert channel_mix_and_median(sources=sources(date_from=date(2025, 4, 1), date_to=date(2025, 4, 2))) == ([], None)


def cells(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", " ", cell).split() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        for row in rows
    ]


def test_the_page_shows_the_funnel_with_its_rates_and_the_charts(staff_client, customers):
    html = staff_client.get(FUNNEL, PERIOD).content.decode()

    assert 'id="funnel-started">6<' in html
    assert 'id="funnel-paid-rate">83.3%<' in html  # 5 of 6
    assert 'id="funnel-median">2 min 00 s<' in html
    steps = cells(html, "funnel-steps")[1:]
    assert [row[1:] for row in steps] == [
        [["6"], [], []],
        [["5"], ["83.3%"], ["83.3%"]],
        [["3"], ["50.0%"], ["60.0%"]],
        [["2"], ["33.3%"], ["66.7%"]],
        [["2"], ["33.3%"], ["100.0%"]],
        [["1"], ["16.7%"], ["50.0%"]],
    ]
    assert cells(html, "funnel-days")[1][1:] == [
        ["5"],
        ["4", "80.0%"],
        ["3", "60.0%"],
        ["2", "40.0%"],
        ["2", "40.0%"],
        ["1", "20.0%"],
    ]
    assert html.count('role="img"') == 3  # the funnel, the heat map, the channels
    assert "<title>Sun 08:00–08:59: 1 paid sale(s)</title>" in html
    assert "Not reported" in html  # a payment Xendit named no channel for


def test_each_csv_holds_the_numbers_of_its_table(staff_client, customers):
    def rows(table: str) -> list[list[str]]:
        response = staff_client.get(reverse("admin:payments_sale_funnel_csv", args=[table]), PERIOD)
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    assert rows("funnel") == [
        ["date (Jakarta)", "machine code", "machine", "Sales started (QR shown)", "Paid", "Photos uploaded",
         "Email delivered", "Gallery opened", "Photos downloaded"],
        ["2025-03-09", "PB-001", "Mall Taman Anggrek", "5", "4", "3", "2", "2", "1"],
        ["2025-03-10", "PB-002", "Mall Kota Kasablanka", "1", "1", "0", "0", "0", "0"],
    ]  # fmt: skip
    hours = rows("hours")
    assert len(hours) == 1 + 7 * 24
    assert ["Sun", "08:00", "1"] in hours
    assert ["Mon", "10:00", "1"] in hours
    assert ["Mon", "11:00", "0"] in hours
    assert rows("channels")[1:] == [
        ["DANA", "2", "40.0", "80000", "120"],
        ["OVO", "2", "40.0", "80000", "180"],
        ["Not reported", "1", "20.0", "40000", "60"],
    ]


def test_the_page_costs_the_same_queries_for_a_day_or_a_year_of_sales(
    staff_client, customers, make_sale, make_location
):
    def queries(params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(FUNNEL, params).status_code == 200
        return len(captured)

    few = queries({"date_from": "2025-03-10", "date_to": "2025-03-10"})
    for number in range(5):
        make_sale(status=SaleStatus.COMPLETED, location=make_location(), created_at=utc(2025, 1, 1 + number))
    many = queries({"date_from": "2025-01-01", "date_to": "2025-12-31"})

    # session, user, the machines of the form, the summary's days, the funnel and its machines, hours,
    # channels with the median
    assert few == many == 8


def test_bad_input_gets_the_form_back_not_an_error(staff_client):
    response = staff_client.get(FUNNEL, {"date_from": "2025-03-10", "date_to": "2025-03-01"})
    assert response.status_code == 200
    assert "must be on or before" in response.content.decode()

    assert staff_client.get(FUNNEL, {"date_from": "yesterday"}).status_code == 200
    assert staff_client.get(FUNNEL, {"location": "abc"}).status_code == 200
    bad_csv = staff_client.get(reverse("admin:payments_sale_funnel_csv", args=["funnel"]), {"date_from": "x"})
    assert bad_csv.status_code == 302
    assert staff_client.get(reverse("admin:payments_sale_funnel_csv", args=["secrets"]), PERIOD).status_code == 404


def test_only_staff_who_may_see_sales_see_the_funnel(client):
    clerk = get_user_model().objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    client.force_login(clerk)
    assert client.get(FUNNEL).status_code == 403

    clerk.user_permissions.add(Permission.objects.get(codename="view_sale"))
    assert client.get(FUNNEL).status_code == 200


def test_the_admin_index_the_sale_list_and_the_report_link_to_the_funnel(staff_client):
    for page in ("/admin/", reverse("admin:payments_sale_changelist"), reverse("admin:payments_sale_report")):
        assert f'href="{FUNNEL}' in staff_client.get(page).content.decode()


def test_the_page_reads_only_the_lines_it_shows_and_the_csv_has_them_all(staff_client, customers, monkeypatch):
    monkeypatch.setattr("backoffice.funnel.FUNNEL_MAX_CELLS", 1)

    html = staff_client.get(FUNNEL, PERIOD).content.decode()

    assert [row[:2] for row in cells(html, "funnel-cells")[1:]] == [
        [["Sun", "9", "Mar", "2025"], ["PB-001", "–", "Mall", "Taman", "Anggrek"]]
    ]
    assert "The first 1 lines are shown here; 1 more are in the CSV download." in html
    assert cells(html, "funnel-days")[2][1] == ["1"]  # the day and machine sums still count every line
    csv_lines = staff_client.get(reverse("admin:payments_sale_funnel_csv", args=["funnel"]), PERIOD)
    assert len(b"".join(csv_lines.streaming_content).decode("utf-8-sig").splitlines()) == 3


def test_the_funnel_sums_every_line_even_when_it_returns_the_first_ones(customers):
    location, other = customers

    result = funnel(sources=sources(date_from=date(2025, 3, 9), date_to=date(2025, 3, 10)), max_cells=1)

    assert [(cell.day, cell.location) for cell in result.cells] == [(date(2025, 3, 9), location)]
    assert result.cells_total == 2
    assert result.totals == Counts(6, 5, 3, 2, 2, 1)
    assert [line[0] for line in result.locations] == [location, other]


def test_past_days_come_from_the_summary_with_the_same_numbers_and_queries(
    staff_client, customers, django_assert_num_queries
):
    counted_live = staff_client.get(FUNNEL, PERIOD).content.decode()
    summarise_funnel(now=utc(2025, 3, 11, 5, 0))  # 9 and 10 March are closed days

    for params in (PERIOD, {"date_from": "2025-01-01", "date_to": "2025-12-31"}):
        with django_assert_num_queries(8):
            html = staff_client.get(FUNNEL, params).content.decode()

    html = staff_client.get(FUNNEL, PERIOD).content.decode()
    for table in ("funnel-steps", "funnel-days", "funnel-locations", "funnel-cells", "funnel-hours", "funnel-channels"):
        assert cells(html, table) == cells(counted_live, table)
    freshness = " ".join(cells_text(html, "funnel-freshness"))
    assert "Past days come from the summary made hourly, last at" in freshness
    assert "not summarised yet" not in freshness


def test_the_page_says_when_the_summary_has_not_run_or_lags_behind(staff_client, customers):
    html = staff_client.get(FUNNEL, PERIOD).content.decode()
    assert "The daily summary has not run yet" in " ".join(cells_text(html, "funnel-freshness"))

    summarise_funnel(now=utc(2025, 3, 11, 5, 0))
    FunnelSummarisedDay.objects.filter(day=date(2025, 3, 10)).delete()  # as if its first run were still going
    html = staff_client.get(FUNNEL, PERIOD).content.decode()

    assert "1 past day of this period is not summarised yet" in " ".join(cells_text(html, "funnel-freshness"))
    assert 'id="funnel-started">6<' in html  # counted from the sales meanwhile: still right


def cells_text(html: str, element_id: str) -> list[str]:
    body = re.search(rf'id="{element_id}">(.*?)</p>', html, re.S).group(1)
    return re.sub(r"<[^>]+>", " ", body).split()
