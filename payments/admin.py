"""Sales and payment notifications in the admin: the list staff watch, each sale's whole story,
the problem payments, the actions (which only call services) and the sales report."""

import json
import math

import segno
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.errors import DomainError
from gallery import outbox as gallery_outbox
from gallery import selectors as gallery_selectors
from gallery import services as gallery_services
from gallery.admin import EmailOutboxInline, PhotoInline
from gallery.models import EmailStatus
from locations.models import Location
from payments import events, reconciliation, selectors, services, simulation
from payments.admin_report import SalesReportAdminMixin
from payments.gateways import GatewayError, GatewayRateLimited
from payments.models import PAID_STATUSES, EventOutcome, PaymentEvent, ReviewNote, Sale, SaleStatus
from payments.refunds.admin import SaleRefundAdminMixin, event_refund_tools, sale_status_words
from photobox.admin_tools import (
    DateRangeFilter,
    EstimatedCountPaginator,
    MultipleChoiceFilter,
    ReadOnlyAdminMixin,
    csv_amount,
    csv_response,
)
from photobox.api import JAKARTA
from photobox.formatting import rupiah

# An action runs a service per sale; "select all" on a million sales must not run it a million times.
ACTION_LIMIT = 50
STATUS_COLOURS = {
    SaleStatus.PENDING: "#9a6700",
    SaleStatus.COMPLETED: "#1a7f37",
    SaleStatus.FAILED: "#cf222e",
    SaleStatus.EXPIRED: "#6e7781",
    SaleStatus.REFUNDED: "#8250df",
    SaleStatus.CANCELLED: "#6e7781",
}


def _jakarta(moment) -> str:
    return f"{timezone.localtime(moment, JAKARTA):%d %b %Y %H:%M}" if moment else "—"


def _limited(request, queryset, what: str):
    """The first ACTION_LIMIT selected rows, with a warning when more were selected."""
    rows = list(queryset[: ACTION_LIMIT + 1])
    if len(rows) > ACTION_LIMIT:
        messages.warning(
            request, f"Only the first {ACTION_LIMIT} selected {what} were handled: select fewer at a time."
        )
    return rows[:ACTION_LIMIT]


# --- Forms staff fill in ----------------------------------------------------------------------
class NoteForm(forms.Form):
    note = forms.CharField(
        label="What was done",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        help_text="Kept with the sale for whoever looks next, e.g. “Refunded Rp 40.000 in the Xendit "
        "dashboard on 12 Dec” or “Customer got their photos; kept as paid”.",
    )


class ResendEmailForm(forms.Form):
    email = forms.EmailField(
        label="Send to",
        help_text="The customer's address from the kiosk. Correct it here if they typed it wrong.",
        widget=forms.EmailInput(attrs={"size": 40}),
    )


class ConfirmForm(forms.Form):
    pass


# --- Sale list filters ------------------------------------------------------------------------
class SaleStatusFilter(MultipleChoiceFilter):
    title = "status"
    field_name = "status"
    parameter_name = "status__in"

    def lookups(self, request, model_admin):
        return SaleStatus.choices


class SaleLocationFilter(MultipleChoiceFilter):
    title = "machine"
    field_name = "location_id"
    parameter_name = "location__id__in"

    def lookups(self, request, model_admin):
        return [
            (pk, f"{code} – {name}") for pk, code, name in Location.objects.values_list("pk", "machine_code", "name")
        ]


class StartedBetweenFilter(DateRangeFilter):
    title = "day the sale started"
    field_name = "created_at"
    from_parameter = "date_from"
    to_parameter = "date_to"


class PaidBetweenFilter(DateRangeFilter):
    title = "day it was paid"
    field_name = "paid_at"
    from_parameter = "paid_from"
    to_parameter = "paid_to"
    # Paid, and paid then refunded: the sales the report counts on the day they were paid.
    extra_filter = {"status__in": PAID_STATUSES}


class EmailStateFilter(admin.SimpleListFilter):
    title = "customer email"
    parameter_name = "email_state"

    def lookups(self, request, model_admin):
        return [(key, state.label) for key, state in gallery_selectors.EMAIL_STATES.items()]

    def queryset(self, request, queryset):
        state = gallery_selectors.EMAIL_STATES.get(self.value())
        return queryset.filter(state.condition) if state else queryset


class NeedsReviewFilter(admin.SimpleListFilter):
    title = "payment problems"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("open", "Needs review"), ("resolved", "Resolved by staff")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(needs_review=True)
        if self.value() == "resolved":
            resolved = ReviewNote.objects.filter(sale=OuterRef("pk"))
            return queryset.filter(Exists(resolved), needs_review=False)
        return queryset


# --- Sales ----------------------------------------------------------------------------------
class SaleChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        self.result_list = gallery_selectors.with_photo_and_email_state(list(self.result_list))


@admin.register(Sale)
class SaleAdmin(SaleRefundAdminMixin, SalesReportAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "external_id",
        "started",
        "machine",
        "amount_display",
        "status_display",
        "paid",
        "email_display",
        "photos_display",
        "review_display",
    ]
    list_select_related = ["location"]
    list_filter = [
        NeedsReviewFilter,
        SaleStatusFilter,
        SaleLocationFilter,
        StartedBetweenFilter,
        PaidBetweenFilter,
        EmailStateFilter,
    ]
    # The search itself is get_search_results; a search field makes the admin show the box.
    search_fields = ["external_id"]
    search_help_text = (
        "A sale number (TRX-…), a Xendit QR or payment id, a customer's email address, or a machine's name or code."
    )
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["resend_customer_email", "check_with_gateway", "simulate_payment", "resolve_reviews"]
    inlines = [PhotoInline, EmailOutboxInline]
    change_list_template = "admin/payments/sale/change_list.html"
    change_form_template = "admin/payments/sale/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "external_id",
                    "sale_status",
                    "location",
                    "price",
                    "amount_display",
                    "email",
                    "send_invoice",
                ]
            },
        ),
        ("Payment", {"fields": ["started", "expires_at", "paid_at", "payment_channel", "payment_receipt_id"]}),
        ("Payment problems", {"fields": ["review_state"]}),
        ("Refunds", {"fields": ["refunds_display"]}),
        ("What happened", {"fields": ["history"]}),
        ("Photos and email", {"fields": ["gallery_link", "email_sent_at", "cleanup_state"]}),
        (
            "Xendit",
            {"fields": ["xendit_qr_id", "xendit_payment_id", "qr_display"], "classes": ["collapse"]},
        ),
    ]
    readonly_fields = [
        "started",
        "sale_status",
        "refunds_display",
        "amount_display",
        "review_state",
        "history",
        "gallery_link",
        "cleanup_state",
        "qr_display",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location")

    def get_changelist(self, request, **kwargs):
        return SaleChangeList

    def get_object(self, request, object_id, from_field=None):
        sale = super().get_object(request, object_id, from_field)
        return gallery_selectors.with_photo_and_email_state([sale])[0] if sale is not None else None

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(selectors.sale_search_filter(search_term)), False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if settings.PAYMENT_GATEWAY != "simulator":
            actions.pop("simulate_payment", None)
        return actions

    # Permissions for the actions (Django asks has_<name>_permission).
    def has_resend_customer_email_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("payments.resend_customer_email")

    def has_check_payment_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("payments.check_payment")

    def has_resolve_review_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("payments.resolve_review")

    def has_simulate_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and settings.PAYMENT_GATEWAY == "simulator"

    # --- List columns -----------------------------------------------------------------------
    @admin.display(description="started (WIB)", ordering="created_at")
    def started(self, sale: Sale) -> str:
        return _jakarta(sale.created_at)

    @admin.display(description="paid (WIB)", ordering="paid_at")
    def paid(self, sale: Sale) -> str:
        if not sale.paid_at:
            return ""
        paid, started = timezone.localtime(sale.paid_at, JAKARTA), timezone.localtime(sale.created_at, JAKARTA)
        # Nearly every sale is paid minutes after it started: the time alone says it.
        return f"{paid:%H:%M}" if paid.date() == started.date() else _jakarta(sale.paid_at)

    @admin.display(description="machine", ordering="location__machine_code")
    def machine(self, sale: Sale):
        return format_html('{}<br><span class="quiet">{}</span>', sale.location.name, sale.location.machine_code)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, sale: Sale) -> str:
        return rupiah(sale.amount)

    @admin.display(description="status", ordering="status")
    def status_display(self, sale: Sale, *, short: bool = True):
        return format_html(
            '<strong style="color:{}">{}</strong>',
            STATUS_COLOURS.get(sale.status, "inherit"),
            sale_status_words(sale, short=short),
        )

    @admin.display(description="customer email")
    def email_display(self, sale: Sale) -> str:
        if sale.email_sent_at:
            return "Sent"
        if sale.status != SaleStatus.COMPLETED:
            return "—"
        if sale.photos_deleted_at:
            return "Never sent (photos deleted)"
        status = getattr(sale, "email_status", None)
        if status is None:
            return "Waiting for photos"
        if status == EmailStatus.FAILED:
            return "⚠ Gave up"
        attempts = getattr(sale, "email_attempts", 0) or 0
        if not attempts:
            return "Being sent"
        return f"Trying again ({attempts} attempt{'' if attempts == 1 else 's'} so far)"

    @admin.display(description="photos")
    def photos_display(self, sale: Sale) -> str:
        count = getattr(sale, "photo_count", 0)
        if sale.photos_deleted_at and count:
            return f"{count} (deleted)"
        return str(count) if count else "—"

    @admin.display(description="problem", ordering="needs_review")
    def review_display(self, sale: Sale):
        if not sale.needs_review:
            return ""
        return format_html('<span title="{}">⚠ Needs review</span>', sale.review_reason)

    # --- The sale's page --------------------------------------------------------------------
    @admin.display(description="review")
    def review_state(self, sale: Sale):
        if sale.needs_review:
            return format_html(
                '<strong style="color:#cf222e">⚠ Needs review</strong><br>{}',
                format_html_join("", "{}<br>", ((line,) for line in sale.review_reason.splitlines())),
            )
        return "No open problem."

    @admin.display(description="history")
    def history(self, sale: Sale):
        rows = []
        for entry in selectors.sale_history(sale):
            link = ""
            if entry.event is not None:
                url = reverse("admin:payments_paymentevent_change", args=[entry.event.pk])
                link = format_html('<a href="{}">details</a>', url)
            rows.append(
                (
                    _jakarta(entry.at),
                    entry.what,
                    entry.detail,
                    rupiah(entry.amount) if entry.amount is not None else "",
                    link,
                )
            )
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html(
            "<table><thead><tr><th>When (Jakarta)</th><th>What happened</th><th>Detail</th>"
            "<th>Amount</th><th></th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="customer's gallery")
    def gallery_link(self, sale: Sale):
        if sale.photos_deleted_at:
            return "The photos were deleted, so the gallery shows an “expired” page."
        if not getattr(sale, "photo_count", 0):
            return "No photos uploaded yet."
        url = gallery_outbox.gallery_url(sale)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    @admin.display(description="photo deletion")
    def cleanup_state(self, sale: Sale) -> str:
        if sale.photos_deleted_at:
            return f"Photos deleted on {_jakarta(sale.photos_deleted_at)}."
        if not getattr(sale, "photo_count", 0):
            return "—"
        expires = gallery_selectors.photos_expire_at(sale)
        when = f"on or after {_jakarta(expires)}" if expires else "after the email went out"
        return f"Photos are kept {settings.PHOTO_RETENTION_DAYS} days: they will be deleted {when}."

    @admin.display(description="QRIS code")
    def qr_display(self, sale: Sale):
        if not sale.qr_string:
            return "No QR code (the gateway did not make one)."
        image = segno.make_qr(sale.qr_string, error="m").svg_data_uri(scale=3, border=2)
        return format_html(
            '<img src="{}" alt="QR code" style="display:block;margin-bottom:8px">'
            '<code style="word-break:break-all;white-space:pre-wrap">{}</code>',
            image,
            sale.qr_string,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["sale_tools"] = self._sale_tools(request, obj) if obj else []
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _sale_tools(self, request, sale: Sale) -> list[tuple[str, str]]:
        tools = []
        if sale.status == SaleStatus.COMPLETED and self.has_resend_customer_email_permission(request):
            tools.append(("Resend photo email", "resend-email"))
        if sale.status in reconciliation.ASKABLE_STATUSES and self.has_check_payment_permission(request):
            tools.append(("Ask Xendit if paid", "check-payment"))
        if sale.status not in PAID_STATUSES and self.has_simulate_permission(request):
            tools.append(("Simulate payment", "simulate-payment"))
        if sale.needs_review and self.has_resolve_review_permission(request):
            tools.append(("Mark problem resolved", "resolve-review"))
        tools = [(label, reverse(f"admin:payments_sale_{name}", args=[sale.pk])) for label, name in tools]
        return tools + self._refund_tools(request, sale)

    # --- Extra pages ------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        sale_views = [
            ("resend-email", self.resend_email_view),
            ("check-payment", self.check_payment_view),
            ("simulate-payment", self.simulate_payment_view),
            ("resolve-review", self.resolve_review_view),
        ]
        return [
            *self.get_report_urls(),
            *self.get_refund_urls(),
            path("export/", view(self.export_view), name="payments_sale_export"),
            *(
                path(f"<path:object_id>/{name}/", view(method), name=f"payments_sale_{name}")
                for name, method in sale_views
            ),
            *super().get_urls(),
        ]

    def _sale_page(self, request, object_id, *, allowed: bool, title: str, intro: str, form, submit: str, run):
        """A confirmation page (with a form when needed) for one action on one sale."""
        sale = self.get_object(request, unquote(object_id))
        if sale is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not allowed:
            raise PermissionDenied
        change_url = reverse("admin:payments_sale_change", args=[sale.pk])
        bound = form(request.POST) if request.method == "POST" else form(initial=self._initial(sale))
        if request.method == "POST" and bound.is_valid():
            run(sale, bound.cleaned_data)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": sale,
            "title": title,
            "intro": intro,
            "form": bound,
            "submit_label": submit,
            "cancel_url": change_url,
        }
        return TemplateResponse(request, "admin/payments/sale/sale_action.html", context)

    @staticmethod
    def _initial(sale: Sale) -> dict:
        return {"email": sale.email}

    def resend_email_view(self, request, object_id):
        def run(sale, data):
            self._resend(request, sale, email=data["email"])

        return self._sale_page(
            request,
            object_id,
            allowed=self.has_resend_customer_email_permission(request),
            title="Resend the photo email",
            intro="The customer gets the email with their gallery link again (and the invoice, if they asked for "
            "one). It is sent now; if the mail server refuses, it is retried automatically.",
            form=ResendEmailForm,
            submit="Send the email",
            run=run,
        )

    def check_payment_view(self, request, object_id):
        def run(sale, data):
            self._check(request, sale)

        return self._sale_page(
            request,
            object_id,
            allowed=self.has_check_payment_permission(request),
            title="Ask Xendit whether this sale was paid",
            intro="Use this when the customer says they paid but the kiosk still waits (or gave up). A payment Xendit "
            "knows about is applied to the sale, exactly as if its notification had arrived.",
            form=ConfirmForm,
            submit="Ask Xendit now",
            run=run,
        )

    def simulate_payment_view(self, request, object_id):
        def run(sale, data):
            self._simulate(request, sale)

        return self._sale_page(
            request,
            object_id,
            allowed=self.has_simulate_permission(request),
            title="Simulate a payment",
            intro="Demo and testing only: pays this sale through the payment simulator, along the same path as "
            "a real Xendit notification. No money moves.",
            form=ConfirmForm,
            submit="Pay it",
            run=run,
        )

    def resolve_review_view(self, request, object_id):
        def run(sale, data):
            self._resolve(request, sale, note=data["note"])

        return self._sale_page(
            request,
            object_id,
            allowed=self.has_resolve_review_permission(request),
            title="Mark the payment problem resolved",
            intro="Say what was done about it. The problem and your note stay on the sale's history; the sale "
            "leaves the “needs review” list.",
            form=NoteForm,
            submit="Mark resolved",
            run=run,
        )

    # --- What each action does: parse, call the service, tell staff -------------------------
    def _resend(self, request, sale: Sale, *, email: str | None = None) -> bool:
        previous = sale.email
        try:
            outbox = gallery_services.resend_customer_email(sale=sale, email=email)
        except gallery_services.EmailCannotBeResent as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return False
        change = f" (address changed from {previous})" if sale.email != previous else ""
        self.log_change(request, sale, f"Resent the photo email to {sale.email}{change}.")
        if outbox.status == EmailStatus.SENT:
            self.message_user(request, f"{sale.external_id}: photo email sent to {sale.email}.", messages.SUCCESS)
            return True
        retry = "It will be retried automatically." if outbox.status == EmailStatus.PENDING else "Gave up."
        self.message_user(
            request,
            f"{sale.external_id}: the mail server did not take the email ({outbox.last_error}). {retry}",
            messages.WARNING,
        )
        return False

    def _check(self, request, sale: Sale) -> None:
        try:
            paid = reconciliation.recheck_sale_payment(sale=sale)
        except reconciliation.CannotCheckPayment as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return
        except GatewayRateLimited as exc:
            self.message_user(
                request,
                f"{sale.external_id}: Xendit is busy (its rate limit). Try again in {math.ceil(exc.retry_after)} s.",
                messages.ERROR,
            )
            return
        except GatewayError:
            self.message_user(
                request, f"{sale.external_id}: Xendit could not be reached. Try again in a minute.", messages.ERROR
            )
            return
        if paid:
            self.log_change(request, sale, "Checked with Xendit: found paid, completed.")
            self.message_user(
                request, f"{sale.external_id}: Xendit has a payment; the sale is now paid.", messages.SUCCESS
            )
        else:
            self.message_user(request, f"{sale.external_id}: Xendit has no payment for it yet.", messages.INFO)

    def _simulate(self, request, sale: Sale) -> None:
        try:
            event = simulation.simulate_payment(sale=sale)
        except DomainError as exc:
            self.message_user(request, f"{sale.external_id}: {exc.message}", messages.ERROR)
            return
        self.message_user(request, f"{sale.external_id}: {event.get_outcome_display()}.", messages.INFO)

    def _resolve(self, request, sale: Sale, *, note: str) -> bool:
        try:
            services.resolve_review(sale=sale, note=note, user=request.user)
        except services.NothingToResolve as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return False
        self.log_change(request, sale, f"Resolved the payment problem: {note}")
        self.message_user(request, f"{sale.external_id}: marked resolved.", messages.SUCCESS)
        return True

    # --- Bulk actions on the list -----------------------------------------------------------
    @admin.action(description="Resend the photo email", permissions=["resend_customer_email"])
    def resend_customer_email(self, request, queryset):
        for sale in _limited(request, queryset, "sales"):
            self._resend(request, sale)

    @admin.action(
        description="Ask Xendit whether they were paid (sales awaiting payment, expired or failed)",
        permissions=["check_payment"],
    )
    def check_with_gateway(self, request, queryset):
        pending = _limited(request, queryset.filter(status__in=reconciliation.ASKABLE_STATUSES), "sales")
        if not pending:
            self.message_user(
                request,
                "None of the selected sales is awaiting payment. Xendit can be asked only about sales awaiting "
                "payment, expired or failed.",
                messages.WARNING,
            )
        for sale in pending:
            self._check(request, sale)

    @admin.action(description="Simulate payment (demo and testing only)", permissions=["simulate"])
    def simulate_payment(self, request, queryset):
        for sale in _limited(request, queryset, "sales"):
            self._simulate(request, sale)

    @admin.action(description="Mark payment problems resolved (with a note)", permissions=["resolve_review"])
    def resolve_reviews(self, request, queryset):
        sales = _limited(request, queryset.filter(needs_review=True), "sales")
        if not sales:
            self.message_user(request, "None of the selected sales needs review.", messages.WARNING)
            return None
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            resolved = sum(self._resolve(request, sale, note=form.cleaned_data["note"]) for sale in sales)
            self.message_user(request, f"{resolved} sale(s) marked resolved.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Mark payment problems resolved",
            "sales": sales,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/payments/sale/resolve_reviews.html", context)

    def changelist_view(self, request, extra_context=None):
        empty = "No sales yet. A sale appears here as soon as a kiosk starts one."
        return super().changelist_view(request, {"empty_message": empty, **(extra_context or {})})

    # --- CSV export of the list as filtered -------------------------------------------------
    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        sales = gallery_selectors.sales_for_export(changelist.queryset)
        header = [
            "sale number",
            "started (Jakarta)",
            "machine code",
            "machine",
            "package",
            "amount (IDR)",
            "status",
            "paid at (Jakarta)",
            "bank or wallet",
            "receipt",
            "Xendit QR id",
            "Xendit payment id",
            "email sent at (Jakarta)",
            "photos",
            "needs review",
            "problem",
        ]

        def local(moment) -> str:
            return timezone.localtime(moment, JAKARTA).strftime("%Y-%m-%d %H:%M:%S") if moment else ""

        rows = (
            [
                sale.external_id,
                local(sale.created_at),
                sale.location.machine_code,
                sale.location.name,
                sale.price.description,
                csv_amount(sale.amount),
                sale.status,
                local(sale.paid_at),
                sale.payment_channel,
                sale.payment_receipt_id,
                sale.xendit_qr_id,
                sale.xendit_payment_id or "",
                local(sale.email_sent_at),
                sale.photo_count,
                "yes" if sale.needs_review else "",
                sale.review_reason,
            ]
            for sale in sales.iterator(chunk_size=2000)
        )
        stamp = timezone.localtime(timezone.now(), JAKARTA).strftime("%Y%m%d-%H%M")
        return csv_response(f"photobox-sales-{stamp}.csv", header, rows)


# --- Payment notifications --------------------------------------------------------------------
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
            return queryset.filter(outcome=EventOutcome.UNKNOWN_SALE, reviewed_at__isnull=True)
        if value == "unmatched_done":
            return queryset.filter(outcome=EventOutcome.UNKNOWN_SALE, reviewed_at__isnull=False)
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
class PaymentEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
    actions = ["reprocess_events", "resolve_unmatched"]
    change_list_template = "admin/photobox/change_list.html"
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
        sale_ids = Sale.objects.filter(external_id__in=sorted({term, term.upper()})).values("pk")
        return (
            queryset.filter(
                Q(reference__in=sorted({term, term.upper()}))
                | Q(xendit_payment_id=term)
                | Q(webhook_id=term)
                | Q(transaction_id__in=sale_ids)
            ),
            False,
        )

    def has_resolve_review_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("payments.resolve_review")

    @admin.display(description="outcome", ordering="outcome")
    def outcome_display(self, event: PaymentEvent) -> str:
        label = event.get_outcome_display()
        if event.outcome == EventOutcome.UNKNOWN_SALE and event.reviewed_at is None:
            return f"⚠ {label}"
        return label

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, event: PaymentEvent) -> str:
        return rupiah(event.amount) if event.amount is not None else "—"

    @admin.display(description="sale", ordering="sale__external_id")
    def sale_link(self, event: PaymentEvent):
        if event.sale_id is None:
            return "—"
        url = reverse("admin:payments_sale_change", args=[event.sale_id])
        return format_html('<a href="{}">{}</a>', url, event.sale.external_id)

    @admin.display(description="notes")
    def notes(self, event: PaymentEvent):
        rows = [
            (_jakarta(note.resolved_at), note.resolved_by.get_username() if note.resolved_by else "—", note.note)
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
            if obj.outcome == EventOutcome.UNKNOWN_SALE and obj.reviewed_at is None:
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

    def _event_page(self, request, object_id, *, title, intro, form, submit, run):
        event = self.get_object(request, unquote(object_id))
        if event is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_resolve_review_permission(request):
            raise PermissionDenied
        change_url = reverse("admin:payments_paymentevent_change", args=[event.pk])
        bound = form(request.POST if request.method == "POST" else None)
        if bound.is_bound and bound.is_valid():
            run(event, bound.cleaned_data)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": event,
            "title": title,
            "intro": intro,
            "form": bound,
            "submit_label": submit,
            "cancel_url": change_url,
        }
        return TemplateResponse(request, "admin/payments/sale/sale_action.html", context)

    def reprocess_view(self, request, object_id):
        return self._event_page(
            request,
            object_id,
            title="Process this payment notification again",
            intro="Use this when the sale it names exists now, or after an error was fixed. A payment that was "
            "already applied is recognised and not applied twice.",
            form=ConfirmForm,
            submit="Process it again",
            run=lambda event, data: self._reprocess(request, event),
        )

    def resolve_view(self, request, object_id):
        return self._event_page(
            request,
            object_id,
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
        for event in _limited(request, queryset, "notifications"):
            self._reprocess(request, event)

    @admin.action(description="Record what was done (unmatched payments)", permissions=["resolve_review"])
    def resolve_unmatched(self, request, queryset):
        events = _limited(request, selectors.open_unmatched_payments().filter(pk__in=queryset.values("pk")), "events")
        if not events:
            self.message_user(
                request, "None of the selected notifications is an open unmatched payment.", messages.WARNING
            )
            return None
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = sum(self._resolve_unmatched(request, event, note=form.cleaned_data["note"]) for event in events)
            self.message_user(request, f"{done} payment(s) recorded as dealt with.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Record what was done about these payments",
            "events": events,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/payments/paymentevent/resolve_unmatched.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {"empty_message": self.empty_message, **(extra_context or {})}
        return super().changelist_view(request, extra_context)
