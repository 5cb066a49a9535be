"""Pieces the staff screens share: how a moment is shown, list filters, a paginator for big tables,
read-only money records, friendly refusal to delete what has sales, and activate/deactivate actions.
(CSV is in backoffice.exports, the report's chart in backoffice.charts.)"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import OrderBy, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from core.formats import JAKARTA, jakarta_day_start, thousands

# An action runs a service per row; "select all" on a million sales must not run it a million times.
ACTION_LIMIT = 50


def limited(request, queryset, what: str) -> list:
    """The first ACTION_LIMIT selected rows, with a warning when more were selected."""
    rows = list(queryset[: ACTION_LIMIT + 1])
    if len(rows) > ACTION_LIMIT:
        messages.warning(
            request, f"Only the first {ACTION_LIMIT} selected {what} were handled: select fewer at a time."
        )
    return rows[:ACTION_LIMIT]


def jakarta_time(moment) -> str:
    """A moment as staff read it on every screen: Jakarta time, to the minute (12 Dec 2025 14:05)."""
    return f"{timezone.localtime(moment, JAKARTA):%d %b %Y %H:%M}" if moment else "—"


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
    # Page links stop here (2,000 rows at 50 a page): a page's OFFSET reads (and joins) every row
    # before it, so the last of a million sales' 20,000 pages took 2 s and page 100 of the
    # notifications 0.2 s; the oldest are the first page sorted the other way round, and a filter or
    # a search narrows the rest.
    max_pages = 40

    @cached_property
    def num_pages(self) -> int:
        return min(super().num_pages, self.max_pages)

    @property
    def pages_capped(self) -> bool:
        return self.count > self.max_pages * self.per_page

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


# --- Sorting big tables ----------------------------------------------------------------------
class OneColumnSortChangeList(ChangeList):
    """A list sorted by the column staff clicked, then by id in the same direction.

    Django sorts by the clicked column, then by the columns sorted before (the header links carry
    the default ordering's column: `?o=4.-2`), then by `-pk` whatever the direction. On a million
    sales, "amount ascending, then newest first" mixes directions, which no index can serve, and
    PostgreSQL sorts every row for each page (about a second). Sorted by the clicked column and the
    id the same way, one index on (column, id) serves the page both ways round, reading 50 rows.
    Only the clicked column is shown as sorted, so the next click sorts by one column again.
    """

    def get_ordering(self, request, queryset):
        ordering = super().get_ordering(request, queryset)
        if not self.params.get(ORDER_VAR) or len(ordering) < 2:
            return ordering
        first = ordering[0]
        descending = first.descending if isinstance(first, OrderBy) else str(first).startswith("-")
        return [first, "-pk" if descending else "pk"]

    def get_ordering_field_columns(self):
        columns = super().get_ordering_field_columns()
        if ORDER_VAR not in self.params:
            return columns
        return dict(list(columns.items())[:1])


# --- List filters ---------------------------------------------------------------------------
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

    template = "admin/backoffice/date_range_filter.html"
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

    delete_confirmation_template = "admin/backoffice/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/backoffice/delete_selected_confirmation.html"

    def sales_counts(self, objs) -> dict:
        raise NotImplementedError

    def get_deleted_objects(self, objs, request):
        counts = self.sales_counts(objs)
        sold = [obj for obj in objs if counts.get(obj.pk)]
        if sold:
            protected = [f"{obj} has {thousands(counts[obj.pk])} sale(s)" for obj in sold]
            return [], {}, set(), protected
        return super().get_deleted_objects(objs, request)


# --- Switching machines and prices on and off -----------------------------------------------
@dataclass(frozen=True)
class ActiveSwitch:
    """What the activate/deactivate actions say about one kind of thing (machines, prices)."""

    activate: str
    deactivate: str
    activated: str
    deactivated: str


class ActiveSwitchAdminMixin:
    """The "Activate" and "Deactivate" actions, for staff who may change the objects. Subclasses set
    `active_switch` (the words) and implement `set_active(queryset, active=...) -> count` by calling
    their app's service."""

    active_switch: ActiveSwitch
    actions = ["activate", "deactivate"]

    def set_active(self, queryset, *, active: bool) -> int:
        raise NotImplementedError

    def get_action(self, action):
        # One pair of action functions for every model: the description is the model's own.
        found = super().get_action(action)
        if found is not None and action in ("activate", "deactivate"):
            func, name, _ = found
            return func, name, getattr(self.active_switch, action)
        return found

    @admin.action(permissions=["change"])
    def activate(self, request, queryset):
        count = self.set_active(queryset, active=True)
        self.message_user(request, self.active_switch.activated.format(count=count), messages.SUCCESS)

    @admin.action(permissions=["change"])
    def deactivate(self, request, queryset):
        count = self.set_active(queryset, active=False)
        self.message_user(request, self.active_switch.deactivated.format(count=count))
