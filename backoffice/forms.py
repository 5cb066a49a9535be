"""The forms staff fill in: a note of what was done, the address to resend the photo email to, a bare
confirmation, and the refund form (which payment, how much (whole rupiah, written as staff write it),
why, and a one-time key so the same form sent twice makes one refund)."""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from core.formats import rupiah
from payments.refunds.selectors import ReceivedPayment

# "40000", "40.000" (how amounts are written here) or "Rp 40.000,00": whole rupiah only.
WHOLE_RUPIAH = re.compile(r"(?:\d+|\d{1,3}(?:\.\d{3})+)(?:,00?)?")


def parse_rupiah(text: str) -> Decimal | None:
    text = re.sub(r"\s", "", text or "")
    text = re.sub(r"^rp\.?", "", text, flags=re.IGNORECASE)
    if not text:
        return None
    if not WHOLE_RUPIAH.fullmatch(text):
        raise ValidationError("Type whole rupiah, e.g. 25000 or 25.000.")
    return Decimal(text.split(",")[0].replace(".", ""))


class RefundForm(forms.Form):
    # The payment ids are long: the list must not push the page wider than a laptop's screen.
    payment = forms.ChoiceField(label="Payment to refund", widget=forms.Select(attrs={"style": "max-width: 100%"}))
    amount = forms.CharField(
        label="Amount (Rp)",
        required=False,
        max_length=30,
        help_text="Whole rupiah, e.g. 25000 or 25.000. Leave it empty to refund all that is left of the payment.",
        widget=forms.TextInput(attrs={"size": 14, "inputmode": "numeric"}),
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text="Kept with the refund and in the sale's history, e.g. “Printer jammed, no photos printed”.",
        error_messages={"required": "A reason is required: say why the money is given back."},
    )
    # One per form shown: the same form sent twice (a double click) makes one refund.
    request_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, payments: list[ReceivedPayment], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payment"].choices = [(p.payment_id, f"{p.label}: {rupiah(p.left)} left") for p in payments]

    def clean_amount(self) -> Decimal | None:
        return parse_rupiah(self.cleaned_data["amount"])


class ConfirmForm(forms.Form):
    pass


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
