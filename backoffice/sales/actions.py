"""What staff can do to a sale: resend the photo email, ask Xendit whether it was paid, simulate a
payment (demo), mark its payment problem resolved; on its page (one sale) and from the list (the ticked
ones). Each parses the form, calls the service and says in words what became of it."""

import math

from django.contrib import admin, messages
from django.template.defaultfilters import linebreaksbr
from django.urls import path, reverse
from django.utils.html import format_html

from backoffice.forms import ConfirmForm, NoteForm, ResendEmailForm
from backoffice.pages import Table
from backoffice.tools import limited
from core.errors import DomainError
from gallery import services as gallery_services
from gallery.models import EmailStatus
from payments import reconciliation, services, simulation
from payments.gateways import GatewayError, GatewayRateLimited, simulator_on
from payments.models import PAID_STATUSES, Sale, SaleStatus, reviews_prefetch


class SaleActionsAdminMixin:
    """For the sales' ModelAdmin (with ActionPageAdminMixin and the refund mixin's `_refund_tools`)."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not simulator_on():
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
        return request.user.is_superuser and simulator_on()

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

    # --- One sale's action pages ------------------------------------------------------------
    def get_action_urls(self):
        view = self.admin_site.admin_view
        sale_views = [
            ("resend-email", self.resend_email_view),
            ("check-payment", self.check_payment_view),
            ("simulate-payment", self.simulate_payment_view),
            ("resolve-review", self.resolve_review_view),
        ]
        return [
            path(f"<path:object_id>/{name}/", view(method), name=f"payments_sale_{name}") for name, method in sale_views
        ]

    def resend_email_view(self, request, object_id):
        def run(sale, data):
            self._resend(request, sale, email=data["email"])

        return self.object_action_view(
            request,
            object_id,
            allowed=self.has_resend_customer_email_permission(request),
            title="Resend the photo email",
            intro="The customer gets the email with their gallery link again (and the invoice, if they asked for "
            "one). It is sent now; if the mail server refuses, it is retried automatically.",
            form=ResendEmailForm,
            submit="Send the email",
            run=run,
            initial=lambda sale: {"email": sale.email},
        )

    def check_payment_view(self, request, object_id):
        def run(sale, data):
            self._check(request, sale)

        return self.object_action_view(
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

        return self.object_action_view(
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

        return self.object_action_view(
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
        for sale in limited(request, queryset, "sales"):
            self._resend(request, sale)

    @admin.action(
        description="Ask Xendit whether they were paid (sales awaiting payment, expired or failed)",
        permissions=["check_payment"],
    )
    def check_with_gateway(self, request, queryset):
        pending = limited(request, queryset.filter(status__in=reconciliation.ASKABLE_STATUSES), "sales")
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
        for sale in limited(request, queryset, "sales"):
            self._simulate(request, sale)

    @admin.action(description="Mark payment problems resolved (with a note)", permissions=["resolve_review"])
    def resolve_reviews(self, request, queryset):
        # Each row shows its problem: the reasons are read for all rows in one query.
        sales = limited(request, queryset.filter(needs_review=True).prefetch_related(reviews_prefetch()), "sales")
        return self.bulk_note_action(
            request,
            sales,
            nothing_selected="None of the selected sales needs review.",
            resolve=lambda sale, note: self._resolve(request, sale, note=note),
            done="{} sale(s) marked resolved.",
            action="resolve_reviews",
            title="Mark payment problems resolved",
            intro="These sales leave the “needs review” list. Each keeps its problem and your note in its history.",
            table=Table(
                headings=["Sale", "Problem"],
                rows=[
                    (
                        format_html('<a href="{}">{}</a>', self.change_url(sale), sale.external_id),
                        linebreaksbr(sale.review_reason),
                    )
                    for sale in sales
                ],
            ),
            submit_label=f"Mark {len(sales)} resolved",
        )
