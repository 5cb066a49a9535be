"""CSV exports (backoffice.exports.csv_response): a cell a spreadsheet would run as a formula is
written as text, even after leading spaces; numbers stay numbers."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from backoffice.exports import csv_amount, csv_cell, csv_response
from payments.models import SaleStatus


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+1+1",
        "-1+1",
        "@SUM(A1)",
        ' =HYPERLINK("http://evil")',
        "   +cmd|' /C calc'!A0",
        "\u00a0-2+3",  # a no-break space
        "\u3000@SUM(A1)",  # an ideographic space
        " \n=1+1",
        "\t=1+1",
        "\r=1+1",
        "-",
        "- 5",
        "-1e5",
        "+5+",
    ],
)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value",
    ["Mall Taman Anggrek", " Mall", "a=b", "user@example.com", "", "40000", "-45000", "+45000", "12.50", "-0.75"],
)
def test_other_text_and_plain_numbers_are_written_as_they_are(value):
    assert csv_cell(value) == value


@pytest.mark.parametrize("value", [Decimal(-45000), Decimal("40000.50"), -3, 0, None])
def test_numbers_are_never_touched(value):
    assert csv_cell(value) == value


def test_a_negative_amount_stays_a_number_in_the_file():
    response = csv_response("x.csv", ["net"], [[csv_amount(Decimal(-45000))], [Decimal(-15000)], [" =1+1"]])

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    assert rows == [["net"], ["-45000"], ["-15000"], ["' =1+1"]]


@pytest.mark.django_db
def test_the_sales_export_escapes_a_formula_behind_spaces(client, make_sale, make_location):
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@example.com", "pw"))
    make_sale(status=SaleStatus.COMPLETED, location=make_location(name='  =HYPERLINK("http://evil")'))

    response = client.get(reverse("admin:payments_sale_export"))

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["machine"] == '\'  =HYPERLINK("http://evil")'
    assert row["amount (IDR)"] == "40000"
