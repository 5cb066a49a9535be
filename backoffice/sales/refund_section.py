"""A sale's refunds as its page shows them: the status in words ("Paid, partly refunded"), and the
"Refunds" section (what each payment paid and has left, and every refund with what became of it)."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from backoffice.tools import jakarta_time
from core.formats import rupiah
from payments.models import PAID_STATUSES, Refund, RefundStatus, Sale, SaleStatus
from payments.refunds.selectors import ReceivedPayment, received_payments, refunds_of, sale_paid_amount
from payments.refunds.services import refund_failure_text

AMOUNT_COLUMNS = ("amount", "refunded", "pending", "left")  # of a ReceivedPayment: paid, refunded, waiting, left
AMOUNT_HEADINGS = ["Payment", "Paid", "Refunded", "Waiting for Xendit", "Left"]
REFUND_STATUS_COLOURS = {RefundStatus.PENDING: "#9a6700", RefundStatus.SUCCEEDED: "#1a7f37"}


def sale_status_words(sale: Sale, *, short: bool) -> str:
    """The sale's status as staff read it: a paid sale with some of it refunded says so."""
    if sale.status == SaleStatus.COMPLETED and sale.refunded_amount > 0:
        if short:
            return "Paid, partly refunded"
        return f"Paid (partially refunded: {rupiah(sale.refunded_amount)} of {rupiah(sale_paid_amount(sale))})"
    return sale.get_status_display()


def refund_status_words(refund: Refund):
    return format_html(
        '<strong style="color:{}">{}</strong>',
        REFUND_STATUS_COLOURS.get(refund.status, "#cf222e"),
        refund.get_status_display(),
    )


@dataclass(frozen=True)
class RefundState:
    payments: list[ReceivedPayment]
    refunds: list[Refund]

    @property
    def refundable(self) -> list[ReceivedPayment]:
        return [p for p in self.payments if p.left > 0]


def refund_state(sale: Sale) -> RefundState:
    """What the sale received and its refunds: read once per page (four queries at most)."""
    if getattr(sale, "_refund_state", None) is None:
        sale._refund_state = RefundState(payments=received_payments(sale), refunds=refunds_of(sale))
    return sale._refund_state


class SaleRefundSectionAdminMixin:
    """For the sales' ModelAdmin (which provides `status_display`): the status and "Refunds" fields."""

    @admin.display(description="status")
    def sale_status(self, sale: Sale):
        return self.status_display(sale, short=False)

    @admin.display(description="refunds")
    def refunds_display(self, sale: Sale):
        state = refund_state(sale)
        if not state.payments and not state.refunds:
            if sale.status in PAID_STATUSES:
                return (
                    "Paid without a Xendit payment id (the earlier service's notice), so Xendit cannot refund it. "
                    "Pay the customer back another way (a bank transfer), and keep a note of it."
                )
            return "Nothing was paid, so there is nothing to refund."
        return format_html("{}{}", self._amounts_table(state), self._refunds_table(state))

    @staticmethod
    def _amounts_table(state: RefundState):
        if not state.payments:
            return ""
        rows = [(p.label, *(rupiah(getattr(p, name)) for name in AMOUNT_COLUMNS)) for p in state.payments]
        if len(state.payments) > 1:
            totals = (sum((getattr(p, name) for p in state.payments), Decimal(0)) for name in AMOUNT_COLUMNS)
            rows.append(("All payments", *(rupiah(total) for total in totals)))
        return format_html(
            '<table class="refund-amounts"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
            format_html_join("", "<th>{}</th>", ((heading,) for heading in AMOUNT_HEADINGS)),
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @staticmethod
    def _refunds_table(state: RefundState):
        if not state.refunds:
            return format_html("<p>{}</p>", "No refunds.")
        labels = {p.payment_id: p.label for p in state.payments}
        # Which payment matters only when the sale received more than one.
        several = len({refund.payment_id for refund in state.refunds} | set(labels)) > 1
        rows = [
            (
                jakarta_time(refund.created_at),
                rupiah(refund.amount),
                *((labels.get(refund.payment_id, refund.payment_id),) if several else ()),
                refund_status_words(refund),
                refund.requested_by_name,
                refund.reason,
                refund.xendit_refund_id or "—",
                refund_failure_text(refund) if refund.status == RefundStatus.FAILED else "",
            )
            for refund in state.refunds
        ]
        headings = ["When (Jakarta)", "Amount", *(["Payment"] if several else []), "Status", "Requested by"]
        headings += ["Reason", "Xendit refund id", "Failure"]
        return format_html(
            '<div style="overflow-x:auto"><table class="refund-list"><thead><tr>{}</tr></thead>'
            "<tbody>{}</tbody></table></div>",
            format_html_join("", "<th>{}</th>", ((heading,) for heading in headings)),
            format_html_join("", "<tr>" + "<td>{}</td>" * len(headings) + "</tr>", rows),
        )
