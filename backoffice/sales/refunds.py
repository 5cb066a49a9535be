"""Refunding from a sale's page: the "Refund" tool and its form; the simulator's refund webhook
buttons; and "Refund this payment" on a payment notification. The views only call the refund
services. (The "Refunds" section: sales/refund_section.py; the list of every refund: backoffice/refunds.py.)"""

import uuid

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from backoffice.forms import ConfirmForm, RefundForm
from backoffice.pages import Table
from backoffice.sales.refund_section import AMOUNT_COLUMNS, AMOUNT_HEADINGS, SaleRefundSectionAdminMixin, refund_state
from backoffice.tools import jakarta_time
from core.errors import DomainError
from core.formats import rupiah
from payments import simulation
from payments.models import EventOutcome, PaymentEvent, Refund, RefundStatus, Sale
from payments.refunds.selectors import EXTRA_PAYMENT_OUTCOMES, ReceivedPayment, received_payments
from payments.refunds.services import refund_failure_text, request_refund

PERMISSION = "payments.refund_sale"
SIMULATED_OUTCOMES = {"refunded": True, "failed": False}
REFUND_INTRO = (
    "The money goes back to the customer's bank or wallet through Xendit. Xendit usually confirms within minutes; "
    "until then the refund is “waiting for Xendit” and its amount cannot be refunded again. A refund of all of the "
    "sale's payment makes the sale “Refunded”: the customer's gallery link then stops working and the kiosk takes "
    "no more photos for it. Refunding part of it leaves the sale paid."
)


def may_refund(request) -> bool:
    return request.user.has_perm(PERMISSION)


def event_refund_tools(request, event: PaymentEvent) -> list[tuple[str, str]]:
    """ "Refund this payment" on a notification of an extra payment (paid twice, or the wrong
    amount) of a sale, while some of it is left to give back."""
    if (
        event.outcome not in EXTRA_PAYMENT_OUTCOMES
        or event.sale_id is None
        or not event.xendit_payment_id
        or not may_refund(request)
    ):
        return []
    payment = next((p for p in received_payments(event.sale) if p.payment_id == event.xendit_payment_id), None)
    if payment is None or payment.left <= 0:
        return []
    url = reverse("admin:payments_sale_refund", args=[event.sale_id])
    return [("Refund this payment", f"{url}?{urlencode({'payment': payment.payment_id})}")]


# --- On the sale's page --------------------------------------------------------------------------
class SaleRefundAdminMixin(SaleRefundSectionAdminMixin):
    """For the sales' ModelAdmin (which provides `action_page`, `object_action_view`,
    `has_simulate_permission` and `status_display`): the refund pages, tools and display fields."""

    def has_refund_permission(self, request, obj=None) -> bool:
        return may_refund(request)

    def get_refund_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/refund/", view(self.refund_view), name="payments_sale_refund"),
            path(
                "<path:object_id>/refunds/<int:refund_id>/simulate-<str:outcome>/",
                view(self.simulate_refund_webhook_view),
                name="payments_sale_refund-simulate",
            ),
        ]

    def _refund_tools(self, request, sale: Sale) -> list[tuple[str, str]]:
        state = refund_state(sale)
        tools = []
        if state.refundable and self.has_refund_permission(request):
            tools.append(("Refund", reverse("admin:payments_sale_refund", args=[sale.pk])))
        if self.has_simulate_permission(request):
            waiting = [r for r in state.refunds if r.status == RefundStatus.PENDING and r.xendit_refund_id]
            for refund in waiting:
                which = f" ({rupiah(refund.amount)}, {jakarta_time(refund.created_at)})" if len(waiting) > 1 else ""
                for outcome in SIMULATED_OUTCOMES:
                    url = reverse("admin:payments_sale_refund-simulate", args=[sale.pk, refund.pk, outcome])
                    tools.append((f"Simulate Xendit's refund webhook: {outcome}{which}", url))
        return tools

    # --- The refund form ---------------------------------------------------------------------
    def refund_view(self, request, object_id):
        sale = self.get_object(request, unquote(object_id))
        if sale is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_refund_permission(request):
            raise PermissionDenied
        change_url = reverse("admin:payments_sale_change", args=[sale.pk])
        state = refund_state(sale)
        if not state.payments:
            self.message_user(request, f"{sale.external_id} received no payment Xendit can refund.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            # Every payment of the sale: one refunded in between is refused by the service, in words.
            form = RefundForm(request.POST, payments=state.payments)
            if form.is_valid() and self._refund(request, sale, form.cleaned_data):
                return HttpResponseRedirect(change_url)
        elif not state.refundable:
            self.message_user(request, f"{sale.external_id}: nothing is left to refund.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        else:
            wanted = request.GET.get("payment")
            chosen = next((p for p in state.refundable if p.payment_id == wanted), None) or next(
                (p for p in state.refundable if p.pays_the_sale), state.refundable[0]
            )
            form = RefundForm(
                payments=state.refundable, initial={"payment": chosen.payment_id, "request_key": uuid.uuid4().hex}
            )
        return self.action_page(
            request,
            original=sale,
            title=f"Refund {sale.external_id}",
            crumb="Refund",
            intro=REFUND_INTRO,
            table=Table(headings=AMOUNT_HEADINGS, rows=[_amounts_row(payment) for payment in state.payments]),
            form=form,
            submit_label="Refund",
            cancel_url=change_url,
        )

    def _refund(self, request, sale: Sale, data: dict) -> bool:
        """Ask for the refund and say what became of it. False: refused, the form is shown again."""
        key = data["request_key"] or uuid.uuid4().hex
        again = Refund.objects.filter(sale=sale, request_key=key).exists()
        try:
            refund = request_refund(
                sale=sale,
                reason=data["reason"],
                requested_by=request.user,
                amount=data["amount"],
                payment_id=data["payment"],
                request_key=key,
            )
        except DomainError as exc:  # RefundRefused: our rules say no, in words
            self.message_user(request, exc.message, messages.ERROR)
            return False
        if again:
            self.message_user(request, "This form was already sent: no second refund was made.", messages.INFO)
        else:
            self.log_change(
                request,
                sale,
                f"Refund of {rupiah(refund.amount)} of payment {refund.payment_id} requested "
                f"({refund.get_status_display().lower()}): {refund.reason}",
            )
        self._tell_refund(request, sale, refund)
        return True

    def _tell_refund(self, request, sale: Sale, refund: Refund) -> None:
        what = f"{sale.external_id}: refund of {rupiah(refund.amount)} of payment {refund.payment_id}"
        if refund.status == RefundStatus.FAILED:
            code = refund.failure_code or "no reason given"
            self.message_user(request, f"{what} failed ({code}). {refund_failure_text(refund)}", messages.ERROR)
        elif refund.status == RefundStatus.SUCCEEDED:
            self.message_user(
                request, f"{what} went through (Xendit refund {refund.xendit_refund_id}).", messages.SUCCESS
            )
        elif refund.xendit_refund_id:
            self.message_user(
                request,
                f"{what} asked for (Xendit refund {refund.xendit_refund_id}). Xendit is processing it; the sale "
                "updates when Xendit confirms.",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                f"{what} recorded. Xendit could not be asked now; it will be sent again automatically by the "
                "refund check.",
                messages.WARNING,
            )

    # --- The simulator's refund webhook --------------------------------------------------------
    def simulate_refund_webhook_view(self, request, object_id, refund_id, outcome):
        if outcome not in SIMULATED_OUTCOMES:
            raise Http404

        def run(sale, data):
            refund = Refund.objects.filter(pk=refund_id, sale=sale).first()
            if refund is None:
                self.message_user(request, f"{sale.external_id} has no refund {refund_id}.", messages.ERROR)
                return
            try:
                event = simulation.simulate_refund_webhook(refund=refund, succeeded=SIMULATED_OUTCOMES[outcome])
            except DomainError as exc:
                self.message_user(request, f"{sale.external_id}: {exc.message}", messages.ERROR)
                return
            level = messages.ERROR if event.outcome == EventOutcome.ERROR else messages.INFO
            self.message_user(request, f"{sale.external_id}, simulated refund webhook: {event.outcome_detail}", level)

        return self.object_action_view(
            request,
            object_id,
            allowed=self.has_simulate_permission(request),
            title=f"Simulate Xendit's refund webhook: {outcome}",
            intro="Demo and testing only: Xendit's refund webhook for this refund, saying it "
            + ("went through" if SIMULATED_OUTCOMES[outcome] else "failed")
            + ", applied along the same path as the real one. No money moves.",
            form=ConfirmForm,
            submit="Send it",
            run=run,
        )


def _amounts_row(payment: ReceivedPayment) -> tuple:
    """A payment on the refund form: what it paid, and what of it is left (in bold: what can be refunded)."""
    paid, refunded, pending, left = (rupiah(getattr(payment, name)) for name in AMOUNT_COLUMNS)
    return (payment.label, paid, refunded, pending, format_html("<strong>{}</strong>", left))
