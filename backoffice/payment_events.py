"""Payment notifications in the admin: every notice Xendit (or the simulator) sent, the ones that need
a person (a payment for no known sale, an error), processing one again and recording what was done."""

import json

from django.contrib import admin, messages
from django.template.defaultfilters import date as date_format
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from backoffice.forms import ConfirmForm, NoteForm
from backoffice.pages import ActionPageAdminMixin, Table
from backoffice.sales.refunds import event_refund_tools
from backoffice.tools import (
    DateRangeFilter,
    EstimatedCountPaginator,
    MultipleChoiceFilter,
    OneColumnSortChangeList,
    ReadOnlyAdminMixin,
    jakarta_time,
    limited,
)
from core.formats import rupiah
from payments import events, selectors, services
from payments.models import OPEN_UNMATCHED, EventOutcome, PaymentEvent, ReviewNote


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            ("unmatched", "Payment for no known sale (open)"),
            ("unmatched_done", "Payment for no known sale (dealt with)"),
            ("error", "Error while processing"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "unmatched":
            return queryset & selectors.open_unmatched_payments()
        if value == "unmatched_done":
            return queryset.filter(outcome=EventOutcome.UNKNOWN_SALE).exclude(OPEN_UNMATCHED)
        if value == "error":
            return queryset.filter(outcome=EventOutcome.ERROR)
        return queryset


class ReceivedBetweenFilter(DateRangeFilter):
    title = "day received"
    field_name = "received_at"
    from_parameter = "date_from"
    to_parameter = "date_to"


class OutcomeFilter(MultipleChoiceFilter):
    title = "outcome"
    field_name = "outcome"
    parameter_name = "outcome__in"

    def lookups(self, request, model_admin):
        return EventOutcome.choices


@admin.register(PaymentEvent)
class PaymentEventAdmin(ActionPageAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "source",
        "event_type",
        "outcome_display",
        "sale_link",
        "reference",
        "amount_display",
    ]
    list_select_related = ["sale"]
    list_filter = [AttentionFilter, OutcomeFilter, "source", ReceivedBetweenFilter]
    search_fields = ["reference"]
    search_help_text = "The sale number a notification named (TRX-…), a Xendit payment id, or a webhook id."
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # Sorting reads an index on (column, id) for each of these (PaymentEvent's Meta); the source and
    # the event name have a handful of values each (the source has its filter), not worth an index.
    sortable_by = ["received_at", "outcome_display", "sale_link", "reference", "amount_display"]
    actions = ["reprocess_events", "resolve_unmatched"]
    change_list_template = "admin/backoffice/change_list.html"
    change_form_template = "admin/payments/paymentevent/change_form.html"
    fieldsets = [
        (None, {"fields": ["received_at", "source", "outcome_display", "outcome_detail", "processed_at", "sale_link"]}),
        (
            "What the notification said",
            {"fields": ["event_type", "shape", "reference", "reported_status", "amount_display", "refund"]},
        ),
        ("Staff notes", {"fields": ["reviewed_at", "notes"]}),
        ("Raw request", {"fields": ["xendit_payment_id", "webhook_id", "remote_addr", "headers", "body_display"]}),
    ]
    readonly_fields = ["outcome_display", "sale_link", "amount_display", "notes", "body_display"]

    empty_message = "No payment notifications yet. Each notification from Xendit appears here as it arrives."

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(selectors.payment_event_search_filter(term)), False

    def get_changelist(self, request, **kwargs):
        return OneColumnSortChangeList

    def has_resolve_review_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("payments.resolve_review")

    @admin.display(description="outcome", ordering="outcome")
    def outcome_display(self, event: PaymentEvent) -> str:
        label = event.get_outcome_display()
        if event.is_open_unmatched:
            return f"⚠ {label}"
        return label

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, event: PaymentEvent) -> str:
        return rupiah(event.amount) if event.amount is not None else "—"

    # By the sale (its id, indexed): each sale's notifications together. By its number it would join
    # and sort every notification's sale (2 s at 1,000,000 sales); the reference column sorts by number.
    @admin.display(description="sale", ordering="sale_id")
    def sale_link(self, event: PaymentEvent):
        if event.sale_id is None:
            return "—"
        url = reverse("admin:payments_sale_change", args=[event.sale_id])
        return format_html('<a href="{}">{}</a>', url, event.sale.external_id)

    @admin.display(description="notes")
    def notes(self, event: PaymentEvent):
        rows = [
            (jakarta_time(note.resolved_at), note.resolved_by.get_username() if note.resolved_by else "—", note.note)
            for note in ReviewNote.objects.filter(payment_event=event).select_related("resolved_by")
        ]
        if not rows:
            return "None."
        return format_html_join("", "<p><strong>{} ({})</strong>: {}</p>", rows)

    @admin.display(description="body")
    def body_display(self, event: PaymentEvent):
        try:
            text = json.dumps(json.loads(event.body), indent=2, ensure_ascii=False)
        except ValueError:
            text = event.body
        return format_html('<pre style="white-space:pre-wrap;max-width:60em">{}</pre>', text)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        tools = []
        if obj is not None and self.has_resolve_review_permission(request):
            if obj.outcome in events.REPROCESSABLE_OUTCOMES:
                tools.append(("Process it again", reverse("admin:payments_paymentevent_reprocess", args=[obj.pk])))
            if obj.is_open_unmatched:
                tools.append(("Record what was done", reverse("admin:payments_paymentevent_resolve", args=[obj.pk])))
        context["event_tools"] = tools + (event_refund_tools(request, obj) if obj is not None else [])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/reprocess/", view(self.reprocess_view), name="payments_paymentevent_reprocess"),
            path("<path:object_id>/resolve/", view(self.resolve_view), name="payments_paymentevent_resolve"),
            *super().get_urls(),
        ]

    def reprocess_view(self, request, object_id):
        return self.object_action_view(
            request,
            object_id,
            allowed=self.has_resolve_review_permission(request),
            title="Process this payment notification again",
            intro="Use this when the sale it names exists now, or after an error was fixed. A payment that was "
            "already applied is recognised and not applied twice.",
            form=ConfirmForm,
            submit="Process it again",
            run=lambda event, data: self._reprocess(request, event),
        )

    def resolve_view(self, request, object_id):
        return self.object_action_view(
            request,
            object_id,
            allowed=self.has_resolve_review_permission(request),
            title="Record what was done about this payment",
            intro="This payment matched no sale. Say what was done (e.g. refunded it in the Xendit dashboard); it "
            "then leaves the problem list.",
            form=NoteForm,
            submit="Save the note",
            run=lambda event, data: self._resolve_unmatched(request, event, note=data["note"]),
        )

    def _reprocess(self, request, event: PaymentEvent) -> None:
        try:
            event = events.reprocess_payment_event(event=event)
        except events.EventNotReprocessable as exc:
            self.message_user(request, f"Not processed again: {exc}", messages.WARNING)
            return
        self.log_change(request, event, f"Processed again: {event.get_outcome_display()}.")
        level = messages.ERROR if event.outcome == EventOutcome.ERROR else messages.INFO
        self.message_user(request, f"Processed again: {event.get_outcome_display()}. {event.outcome_detail}", level)

    def _resolve_unmatched(self, request, event: PaymentEvent, *, note: str) -> bool:
        try:
            services.resolve_unmatched_payment(event=event, note=note, user=request.user)
        except services.NothingToResolve as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return False
        self.log_change(request, event, f"Recorded what was done: {note}")
        self.message_user(request, "Note saved; the payment left the problem list.", messages.SUCCESS)
        return True

    @admin.action(description="Process again (unmatched or failed notifications)", permissions=["resolve_review"])
    def reprocess_events(self, request, queryset):
        for event in limited(request, queryset, "notifications"):
            self._reprocess(request, event)

    @admin.action(description="Record what was done (unmatched payments)", permissions=["resolve_review"])
    def resolve_unmatched(self, request, queryset):
        unmatched = limited(request, selectors.open_unmatched_payments().filter(pk__in=queryset.values("pk")), "events")
        return self.bulk_note_action(
            request,
            unmatched,
            nothing_selected="None of the selected notifications is an open unmatched payment.",
            resolve=lambda event, note: self._resolve_unmatched(request, event, note=note),
            done="{} payment(s) recorded as dealt with.",
            action="resolve_unmatched",
            title="Record what was done about these payments",
            intro="These payments matched no sale. Once you record what was done, they leave the problem list; the "
            "note stays with each of them.",
            table=Table(
                headings=["Received", "Sale number in the payment", "Amount", "Why unmatched"],
                rows=[_unmatched_row(event, self.change_url(event)) for event in unmatched],
            ),
            submit_label=f"Save the note for {len(unmatched)}",
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {"empty_message": self.empty_message, **(extra_context or {})}
        return super().changelist_view(request, extra_context)


def _unmatched_row(event: PaymentEvent, url: str) -> tuple:
    received = date_format(timezone.localtime(event.received_at), "d M Y H:i")
    amount = formats.localize(event.amount) if event.amount else "—"
    return (format_html('<a href="{}">{}</a>', url, received), event.reference or "—", amount, event.outcome_detail)
