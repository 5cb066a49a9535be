"""The customer funnel and the charts of paid sales, in the admin (/admin/payments/sale/funnel/):
where customers drop out between the QR code and their downloaded photos, per Jakarta day and
machine; when they pay (weekday and hour); with what (the payment channel); how long paying takes.
Each chart has its table and its CSV. The numbers come from gallery.funnel and
gallery.funnel_payments: closed days from the hourly summary (summarise_funnel), today live."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from backoffice.charts import WEEKDAYS, heat_map, row_chart
from backoffice.exports import csv_response
from backoffice.report import ReportForm, csv_number, quick_ranges
from core.formats import JAKARTA, rupiah, thousands
from gallery import funnel as funnel_selectors
from gallery import funnel_payments
from gallery.funnel import STEPS, Counts
from gallery.funnel_sources import Sources, sources

# As the sales report: a year at 200 machines is 73.000 lines; the page shows (and reads) the first
# ones, the CSV has them all.
FUNNEL_MAX_CELLS = 400
STEP_HEADER = [words for _, words in STEPS]
CSV_TABLES = {
    "funnel": ["date (Jakarta)", "machine code", "machine", *STEP_HEADER],
    "hours": ["weekday", "hour (Jakarta)", "paid sales"],
    "channels": ["payment channel", "paid sales", "share of paid sales (%)", "amount (IDR)", "median time to pay (s)"],
}


def percent(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}%" if whole else "–"


def duration(value: timedelta | None) -> str:
    """`45 s`, `2 min 05 s`, `3 h 10 min`: a median time to pay, as staff read it."""
    if value is None:
        return "–"
    seconds = round(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def channel_name(channel: str) -> str:
    return channel or "Not reported"


# Its counts are PostgreSQL's (GROUPING SETS, AT TIME ZONE, FILTER): the SQLite demo says so instead.
FUNNEL_NEEDS_POSTGRESQL = "The funnel is counted by PostgreSQL: run Photobox on PostgreSQL (DATABASE_URL) to see it."


def funnel_supported() -> bool:
    return connection.vendor == "postgresql"


class FunnelAdminMixin:
    """The funnel page and its three CSVs, for the sales' ModelAdmin, for anyone who may view sales."""

    def get_funnel_urls(self):
        view = self.admin_site.admin_view
        return [
            path("funnel/", view(self.funnel_view), name="payments_sale_funnel"),
            path("funnel/<str:table>.csv", view(self.funnel_csv_view), name="payments_sale_funnel_csv"),
        ]

    def _funnel_form(self, request) -> ReportForm:
        today = timezone.localdate(timezone=JAKARTA)
        data = request.GET.copy()
        data.setdefault("date_from", today.replace(day=1).isoformat())
        data.setdefault("date_to", today.isoformat())
        return ReportForm(data)

    def funnel_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = self._funnel_form(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Customer funnel",
            "form": form,
            "quick_ranges": quick_ranges(
                timezone.localdate(timezone=JAKARTA), locations=request.GET.getlist("location")
            ),
            "csv_query": request.GET.urlencode(),
        }
        if not funnel_supported():
            context["needs_postgresql"] = True
        elif form.is_valid():
            context.update(_presentation(sources(**_period(form))))
        return TemplateResponse(request, "admin/payments/sale/funnel.html", context)

    def funnel_csv_view(self, request, table: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if table not in CSV_TABLES:
            raise Http404
        form = self._funnel_form(request)
        if not funnel_supported():
            self.message_user(request, FUNNEL_NEEDS_POSTGRESQL, messages.ERROR)
            return redirect(reverse("admin:payments_sale_funnel") + "?" + request.GET.urlencode())
        if not form.is_valid():
            self.message_user(request, "Choose a valid date range first.", messages.ERROR)
            return redirect(reverse("admin:payments_sale_funnel") + "?" + request.GET.urlencode())
        period = _period(form)
        name = f"photobox-{table}-{period['date_from']:%Y%m%d}-{period['date_to']:%Y%m%d}.csv"
        return csv_response(name, CSV_TABLES[table], _csv_rows(table, sources(**period)))


def _period(form: ReportForm) -> dict:
    data = form.cleaned_data
    return {
        "date_from": data["date_from"],
        "date_to": data["date_to"],
        "location_ids": [location.pk for location in data["location"]],
    }


def _csv_rows(table: str, period: Sources):
    if table == "funnel":
        for day, *line in funnel_selectors.funnel_lines(sources=period):
            yield [day.isoformat(), *line]
    elif table == "hours":
        counts = funnel_payments.paid_by_weekday_and_hour(sources=period)
        for weekday, name in enumerate(WEEKDAYS, start=1):
            for hour in range(24):
                yield [name, f"{hour:02d}:00", counts.get((weekday, hour), 0)]
    else:
        lines, _ = funnel_payments.channel_mix_and_median(sources=period)
        total = sum(line.sales for line in lines)
        for line in lines:
            yield [
                channel_name(line.channel),
                line.sales,
                round(line.sales * 100 / total, 1),
                csv_number(line.amount),
                round(line.median_time_to_pay.total_seconds()),
            ]


def _steps(counts: Counts) -> list[dict]:
    """Each step's count, its share of the sales started and of the step before."""
    values = counts.values()
    return [
        {
            "key": key,
            "words": words,
            "count": thousands(value),
            "of_started": percent(value, values[0]) if index else "",
            "of_previous": percent(value, values[index - 1]) if index else "",
        }
        for index, ((key, words), value) in enumerate(zip(STEPS, values, strict=True))
    ]


def _summary_note(period: Sources) -> dict:
    """What staff read about where the numbers come from: when the summary last ran, and the past
    days of the period it does not have yet (counted from the sales: right, only slower)."""
    today = timezone.localdate(timezone=JAKARTA)
    return {
        "summarised_at": period.last_summarised_at,
        "days_behind": period.days_behind(today),
        "summary_never_ran": period.last_summarised_at is None and period.date_from < today,
    }


def _presentation(period: Sources) -> dict:
    date_from, date_to = period.date_from, period.date_to
    result = funnel_selectors.funnel(sources=period, max_cells=FUNNEL_MAX_CELLS)
    hours = funnel_payments.paid_by_weekday_and_hour(sources=period)
    channels, median_time_to_pay = funnel_payments.channel_mix_and_median(sources=period)
    paid_total = sum(line.sales for line in channels)
    started = result.totals.started
    steps = _steps(result.totals)
    return {
        "period": {"date_from": date_from, "date_to": date_to},
        "summary": _summary_note(period),
        "totals": result.totals,
        "steps": steps,
        "step_words": STEP_HEADER,
        "step_chart": row_chart(
            [
                (
                    step["words"],
                    value,
                    f"{step['count']} · {step['of_started']} of started" if index else step["count"],
                    f"{step['words']}: {step['count']}"
                    + (f", {step['of_started']} of started, {step['of_previous']} of the step before" if index else ""),
                )
                for index, (step, value) in enumerate(zip(steps, result.totals.values(), strict=True))
            ]
        ),
        "days": [{"day": day, "steps": _steps(counts)} for day, counts in result.days],
        "locations": [{"location": location, "steps": _steps(counts)} for location, counts in result.locations],
        "cells": [{"day": cell.day, "location": cell.location, "steps": _steps(cell.counts)} for cell in result.cells],
        "cells_not_shown": result.cells_total - len(result.cells),
        "has_sales": bool(started or paid_total),
        "heat_map": heat_map(hours),
        "hour_rows": [
            {"weekday": name, "hours": [hours.get((weekday, hour), 0) for hour in range(24)]}
            for weekday, name in enumerate(WEEKDAYS, start=1)
        ],
        "paid_total": paid_total,
        "paid_total_text": thousands(paid_total),
        "median_time_to_pay": duration(median_time_to_pay),
        "channel_chart": row_chart(
            [
                (
                    channel_name(line.channel),
                    line.sales,
                    f"{thousands(line.sales)} · {percent(line.sales, paid_total)}",
                    f"{channel_name(line.channel)}: {thousands(line.sales)} paid sale(s), {rupiah(line.amount)}",
                )
                for line in channels
            ]
        ),
        "channels": [
            {
                "channel": channel_name(line.channel),
                "sales": thousands(line.sales),
                "share": percent(line.sales, paid_total),
                "amount": rupiah(line.amount),
                "median": duration(line.median_time_to_pay),
            }
            for line in channels
        ],
    }
