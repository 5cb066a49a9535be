"""The sales report in the admin: paid sales, list price, discounts, gross, refunded and net per
Jakarta day and per machine, and redemptions per voucher, as a page (tables and server-drawn bar
charts of gross) and as CSV with the same numbers."""

from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from backoffice.charts import bar_chart
from backoffice.exports import csv_amount, csv_response
from core.formats import JAKARTA, rupiah
from locations.models import Location
from payments import selectors
from payments.models import PAID_STATUSES

# A year at 200 machines is 73.000 day-and-machine lines: the page shows the first ones, the CSV all.
REPORT_MAX_CELLS = 400
# The CSV: the page's day-and-machine table, column for column.
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


class ReportForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    location = forms.ModelMultipleChoiceField(
        label="Machines",
        queryset=Location.objects.order_by("machine_code"),
        required=False,
        help_text="None selected: all machines. Hold Ctrl (⌘ on a Mac) to pick several.",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )

    MAX_DAYS = 366

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                raise forms.ValidationError("“From” must be on or before “To”.")
            if (end - start).days >= self.MAX_DAYS:
                raise forms.ValidationError(f"Choose at most {self.MAX_DAYS} days at a time.")
        return data


class SalesReportAdminMixin:
    """The report's two pages, for the sales' ModelAdmin: /admin/payments/sale/report/ and
    .../report/csv/, for anyone who may view sales."""

    def get_report_urls(self):
        view = self.admin_site.admin_view
        return [
            path("report/", view(self.report_view), name="payments_sale_report"),
            path("report/csv/", view(self.report_csv_view), name="payments_sale_report_csv"),
        ]

    def _report_form(self, request) -> ReportForm:
        today = timezone.localdate(timezone=JAKARTA)
        data = request.GET.copy()
        data.setdefault("date_from", today.replace(day=1).isoformat())
        data.setdefault("date_to", today.isoformat())
        return ReportForm(data)

    def report_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = self._report_form(request)
        report = None
        if form.is_valid():
            report = selectors.sales_report(
                date_from=form.cleaned_data["date_from"],
                date_to=form.cleaned_data["date_to"],
                location_ids=[location.pk for location in form.cleaned_data["location"]],
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Sales report",
            "form": form,
            "report": report,
            "quick_ranges": quick_ranges(
                timezone.localdate(timezone=JAKARTA), locations=request.GET.getlist("location")
            ),
            "csv_query": request.GET.urlencode(),
        }
        if report is not None:
            context.update(_report_presentation(report))
        return TemplateResponse(request, "admin/payments/sale/report.html", context)

    def report_csv_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = self._report_form(request)
        if not form.is_valid():
            self.message_user(request, "Choose a valid date range first.", messages.ERROR)
            return redirect(reverse("admin:payments_sale_report") + "?" + request.GET.urlencode())
        data = form.cleaned_data
        report = selectors.sales_report(
            date_from=data["date_from"], date_to=data["date_to"], location_ids=[loc.pk for loc in data["location"]]
        )
        rows = (
            [
                cell.day.isoformat(),
                cell.location.machine_code,
                cell.location.name,
                cell.totals.sales,
                csv_number(cell.totals.list_price),
                csv_number(cell.totals.discounts),
                csv_number(cell.totals.gross),
                csv_number(cell.totals.refunded),
                csv_number(cell.totals.net),
            ]
            for cell in report.cells
        )
        name = f"photobox-report-{data['date_from']:%Y%m%d}-{data['date_to']:%Y%m%d}.csv"
        return csv_response(name, CSV_HEADER, rows)


def csv_number(amount: Decimal) -> Decimal:
    """csv_amount's 40000, kept a number: csv_response guards text starting with "-" against
    spreadsheet formulas, which would turn a negative net into the text '-45000."""
    return Decimal(csv_amount(amount))


def quick_ranges(today: date, *, locations: list[str]) -> list[tuple[str, str]]:
    """Links for the usual ranges, keeping the machines chosen."""
    first_of_month = today.replace(day=1)
    last_month_end = first_of_month - timedelta(days=1)
    ranges = [
        ("Today", today, today),
        ("Yesterday", today - timedelta(days=1), today - timedelta(days=1)),
        ("Last 7 days", today - timedelta(days=6), today),
        ("This month", first_of_month, today),
        ("Last month", last_month_end.replace(day=1), last_month_end),
    ]
    return [
        (label, urlencode({"date_from": start, "date_to": end, "location": locations}, doseq=True))
        for label, start, end in ranges
    ]


def _report_presentation(report: selectors.SalesReport) -> dict:
    sales_list = reverse("admin:payments_sale_changelist")

    def sales_link(**params) -> str:
        """The sale list with exactly the paid sales a count stands for (refunded ones included)."""
        return f"{sales_list}?{urlencode({'status__in': ','.join(PAID_STATUSES), **params})}"

    def figures(totals: selectors.Totals) -> dict:
        return {
            "sales": totals.sales,
            "list_price": rupiah(totals.list_price),
            "discounts": rupiah(totals.discounts),
            "gross": rupiah(totals.gross),
            "refunded": rupiah(totals.refunded),
            "net": rupiah(totals.net),
        }

    days = [
        {
            "day": line.day,
            **figures(line.totals),
            "url": sales_link(paid_from=line.day, paid_to=line.day) if line.totals.sales else "",
        }
        for line in report.days
    ]
    total = report.totals.gross or 1
    locations = [
        {
            "location": line.location,
            **figures(line.totals),
            "share": f"{line.totals.gross * 100 / total:.1f}%",
            "url": (
                sales_link(paid_from=report.date_from, paid_to=report.date_to, location__id__in=line.location.pk)
                if line.totals.sales
                else ""
            ),
        }
        for line in report.locations
    ]
    cells = [
        {
            "day": cell.day,
            "location": cell.location,
            **figures(cell.totals),
            "url": (
                sales_link(paid_from=cell.day, paid_to=cell.day, location__id__in=cell.location.pk)
                if cell.totals.sales
                else ""
            ),
        }
        for cell in report.cells[:REPORT_MAX_CELLS]
    ]
    day_chart = bar_chart(
        [
            (f"{line.day:%d %b}", line.totals.gross, _bar_title(f"{line.day:%a %d %b %Y}", line.totals))
            for line in report.days
        ]
    )
    location_chart = bar_chart(
        [
            (line.location.machine_code, line.totals.gross, _bar_title(str(line.location), line.totals))
            for line in report.locations
        ],
        height=220,
    )
    return {
        "days": days,
        "locations": locations,
        "cells": cells,
        "cells_not_shown": max(len(report.cells) - REPORT_MAX_CELLS, 0),
        "total": figures(report.totals),
        "total_sales": report.totals.sales,
        "has_figures": bool(report.totals.sales or report.totals.refunded),
        "day_chart": day_chart,
        "location_chart": location_chart,
        "all_sales_url": sales_link(paid_from=report.date_from, paid_to=report.date_to),
        "vouchers": [
            {
                "code": line.code,
                "redemptions": line.redemptions,
                "discounts": rupiah(line.discounts),
                "url": sales_link(paid_from=report.date_from, paid_to=report.date_to, q=line.code),
            }
            for line in report.vouchers
        ],
    }


def _bar_title(label: str, totals: selectors.Totals) -> str:
    """A bar's tooltip: the gross it is drawn at, and the refunds and net when there are any."""
    title = f"{label}: gross {rupiah(totals.gross)}, {totals.sales} paid sale(s)"
    if totals.refunded:
        title += f"; refunded {rupiah(totals.refunded)}, net {rupiah(totals.net)}"
    return title
