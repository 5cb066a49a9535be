"""Pieces the apps' admins share: list filters, a paginator for big tables, friendly refusal to
delete what has sales, CSV streaming and a server-rendered bar chart."""

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.functional import cached_property

from core.formats import JAKARTA, rupiah


# --- Counting big tables --------------------------------------------------------------------
class EstimatedCountPaginator(Paginator):
    """Django's paginator, without counting a million rows on every page load (PostgreSQL).

    `SELECT COUNT(*)` reads every matching row: about a second for a million sales. Instead:
    unfiltered, the table's size comes from PostgreSQL's statistics (pg_class.reltuples, kept by
    autovacuum); filtered, rows are counted exactly up to `exact_up_to` (reading at most that many)
    and beyond that the planner's estimate is used. Either way the list then says "about N".
    Other databases, and small results, are counted exactly.
    """

    exact_up_to = 10_000
    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        query = queryset.query
        if not (query.where or query.distinct or query.group_by):
            estimate = self._table_estimate(queryset)
            if estimate is not None and estimate > self.exact_up_to:
                self.count_is_estimate = True
                return estimate
            return super().count
        capped = queryset.order_by()[: self.exact_up_to + 1].count()
        if capped <= self.exact_up_to:
            return capped
        self.count_is_estimate = True
        return max(self._planner_estimate(queryset), capped)

    @staticmethod
    def _table_estimate(queryset: QuerySet) -> int | None:
        with connections[queryset.db].cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table])
            row = cursor.fetchone()
        # -1: never analysed yet.
        return int(row[0]) if row and row[0] >= 0 else None

    @staticmethod
    def _planner_estimate(queryset: QuerySet) -> int:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])


# --- List filters ---------------------------------------------------------------------------
def jakarta_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=JAKARTA)


class ReadOnlyAdminMixin:
    """Money records are written by the payment flow only; staff read them and run actions."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _other_parameters(changelist, exclude: Iterable[str]) -> list[tuple[str, str]]:
    """The list's other query parameters (search, other filters, sorting), to keep them when this
    filter's own form is submitted. A new filter value starts again at page 1."""
    excluded = {*exclude, "p"}
    return [
        (name, value)
        for name, values in sorted(changelist.filter_params.items())
        if name not in excluded
        for value in values
    ]


class DateRangeFilter(admin.ListFilter):
    """From and to dates (both included, Jakarta days) on one date-time field.

    Subclasses set `title`, `field_name`, `from_parameter`, `to_parameter`, and may add
    `extra_filter` (e.g. only paid sales for "paid between").
    """

    template = "admin/photobox/date_range_filter.html"
    field_name: str
    from_parameter: str
    to_parameter: str
    extra_filter: dict = {}

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.dates: dict[str, date] = {}
        for name in (self.from_parameter, self.to_parameter):
            if name not in params:
                continue
            value = params.pop(name)[-1].strip()
            self.used_parameters[name] = value
            if not value:
                continue
            try:
                self.dates[name] = date.fromisoformat(value)
            except ValueError:
                messages.warning(request, f"“{value}” is not a date like 2025-12-31: that date was ignored.")

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.from_parameter, self.to_parameter]

    def queryset(self, request, queryset):
        start, end = self.dates.get(self.from_parameter), self.dates.get(self.to_parameter)
        if start is None and end is None:
            return queryset
        lookups = dict(self.extra_filter)
        if start is not None:
            lookups[f"{self.field_name}__gte"] = jakarta_day_start(start)
        if end is not None:
            lookups[f"{self.field_name}__lt"] = jakarta_day_start(end + timedelta(days=1))
        return queryset.filter(**lookups)

    def choices(self, changelist):
        yield {
            "from_parameter": self.from_parameter,
            "to_parameter": self.to_parameter,
            "from_value": self.used_parameters.get(self.from_parameter, ""),
            "to_value": self.used_parameters.get(self.to_parameter, ""),
            "hidden": _other_parameters(changelist, self.expected_parameters()),
            "active": bool(self.dates),
            "reset_query_string": changelist.get_query_string(remove=self.expected_parameters()),
        }


class MultipleChoiceFilter(admin.ListFilter):
    """Pick any number of values (e.g. several statuses or machines): each link adds or removes
    its value. The parameter is Django's own `field__in=a,b`, so the URL reads naturally."""

    field_name: str
    parameter_name: str

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.lookup_choices = [(str(value), label) for value, label in self.lookups(request, model_admin)]
        valid = {value for value, _ in self.lookup_choices}
        self.selected: list[str] = []
        if self.parameter_name in params:
            raw = params.pop(self.parameter_name)[-1]
            self.used_parameters[self.parameter_name] = raw
            self.selected = [value for value in dict.fromkeys(raw.split(",")) if value in valid]

    def lookups(self, request, model_admin) -> Iterable[tuple[object, str]]:
        raise NotImplementedError

    def has_output(self) -> bool:
        return bool(self.lookup_choices)

    def expected_parameters(self) -> list[str]:
        return [self.parameter_name]

    def queryset(self, request, queryset):
        if not self.selected:
            return queryset
        return queryset.filter(**{f"{self.field_name}__in": self.selected})

    def choices(self, changelist):
        yield {
            "selected": not self.selected,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "All",
        }
        for value, label in self.lookup_choices:
            chosen = value in self.selected
            values = [v for v in self.selected if v != value] if chosen else [*self.selected, value]
            yield {
                "selected": chosen,
                "query_string": changelist.get_query_string(
                    {self.parameter_name: ",".join(values)} if values else {}, remove=[self.parameter_name]
                ),
                "display": f"{'☑' if chosen else '☐'} {label}",
            }


# --- Things with sales are never deleted ----------------------------------------------------
class KeepIfSoldAdminMixin:
    """Deleting a machine or price that has sales would take the sales history with it (the
    database refuses: PROTECT). Instead of Django's list of every protected sale, say why and what
    to do instead. Subclasses implement `sales_counts(objs) -> {pk: count}`."""

    delete_confirmation_template = "admin/photobox/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/photobox/delete_selected_confirmation.html"

    def sales_counts(self, objs) -> dict:
        raise NotImplementedError

    def get_deleted_objects(self, objs, request):
        counts = self.sales_counts(objs)
        sold = [obj for obj in objs if counts.get(obj.pk)]
        if sold:
            protected = [f"{obj} has {counts[obj.pk]:,} sale(s)".replace(",", ".") for obj in sold]
            return [], {}, set(), protected
        return super().get_deleted_objects(objs, request)


# --- CSV ------------------------------------------------------------------------------------
class _Echo:
    def write(self, value: str) -> str:
        return value


FORMULA_STARTS = ("=", "+", "-", "@")


def _is_plain_number(text: str) -> bool:
    """40000, -45000, 12.50 (what csv_amount writes): a spreadsheet reads it as a number, never a formula."""
    unsigned = text[1:] if text.startswith(("-", "+")) else text
    whole, dot, fraction = unsigned.partition(".")
    return whole.isascii() and whole.isdigit() and (not dot or (fraction.isascii() and fraction.isdigit()))


def csv_cell(value) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading quote: one whose first
    character after any spaces is =, +, - or @ (spreadsheets skip the spaces), or that starts with a
    tab or carriage return. Numbers, and text that is a plain number, stay numbers."""
    if not isinstance(value, str):
        return value
    if value[:1] in ("\t", "\r") or (value.lstrip()[:1] in FORMULA_STARTS and not _is_plain_number(value)):
        return "'" + value
    return value


def csv_amount(amount: Decimal | None) -> str:
    """Rupiah as a plain number a spreadsheet reads: 40000 (sen only when there are any)."""
    if amount is None:
        return ""
    return str(int(amount)) if amount == amount.to_integral_value() else f"{amount:.2f}"


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """Streamed, so a million sales never sit in memory; UTF-8 with a BOM so Excel reads it right."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- A bar chart drawn on the server --------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    title: str
    show_label: bool

    @property
    def center(self) -> float:
        return round(self.x + self.width / 2, 2)


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    bars: list[Bar]
    ticks: list[Tick]


def _nice_step(maximum: Decimal, steps: int = 4) -> Decimal:
    raw = maximum / steps
    magnitude = Decimal(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Decimal(1)
    for factor in (1, 2, 2.5, 5, 10):
        step = magnitude * Decimal(str(factor))
        if step >= raw:
            return step
    return magnitude * 10


def bar_chart(values: list[tuple[str, Decimal, str]], *, width: int = 900, height: int = 260) -> BarChart:
    """Vertical bars for (label, rupiah, tooltip) items; the template draws them as SVG.

    Axis labels are rupiah; with many bars only some labels are written, so they never overlap.
    """
    plot_left, plot_top, plot_bottom = 110, 10, height - 40
    plot_height = plot_bottom - plot_top
    maximum = max((value for _, value, _ in values), default=Decimal(0))
    step = _nice_step(maximum) if maximum > 0 else Decimal(1)
    top = step * 4
    slot = (width - plot_left - 10) / max(len(values), 1)
    label_every = max(1, round(len(values) / 15))
    bars = []
    for index, (label, value, title) in enumerate(values):
        bar_height = float(value / top) * plot_height if top else 0
        bars.append(
            Bar(
                x=round(plot_left + index * slot + slot * 0.1, 2),
                y=round(plot_bottom - bar_height, 2),
                width=round(max(slot * 0.8, 1), 2),
                height=round(bar_height, 2),
                label=label,
                title=title,
                show_label=index % label_every == 0,
            )
        )
    ticks = [Tick(y=round(plot_bottom - plot_height * i / 4, 2), label=rupiah(step * i)) for i in range(5)]
    return BarChart(width=width, height=height, plot_left=plot_left, plot_bottom=plot_bottom, bars=bars, ticks=ticks)
