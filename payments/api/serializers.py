"""What the sale API reads and what it answers. The output serializers produce the answers, and
drf-spectacular documents the same classes (payments/api/schema.py adds the errors)."""

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.openapi import JakartaDateTimeField, RupiahField, SuccessSerializer, TrueField
from payments.models import SaleStatus

# --- Input -----------------------------------------------------------------------------------

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # the Idempotency-Key header


class UUIDStringField(serializers.UUIDField):
    """A UUID written as a string; DRF would also take an integer and make a UUID of it."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class CreateSaleSerializer(serializers.Serializer):
    location_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    price_id = UUIDStringField()
    email = serializers.EmailField(max_length=254)
    send_invoice = serializers.BooleanField(required=False, default=False)
    voucher_code = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=64,
        help_text="Optional. Case-insensitive; spaces and dashes are ignored. Empty or null: no voucher.",
    )

    def validate_email(self, value: str) -> str:
        local, _, domain = value.strip().rpartition("@")
        return f"{local}@{domain.lower()}"


# Documents the simulator's body; the view checks `amount` itself, with its own message.
class SimulatePaymentRequestSerializer(serializers.Serializer):
    amount = serializers.IntegerField(
        required=False, min_value=1, help_text="Rupiah; default the sale's amount (another amount tests a mismatch)."
    )


# --- The sale, from a Sale with its location --------------------------------------------------
# Key order is part of the contract (kiosks compare bodies byte for byte in their tests).


class SaleLocationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="location_id")
    machine_code = serializers.CharField(
        source="location.machine_code", help_text="The kiosk's machine code, e.g. `PB-001`."
    )


class SalePriceSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="price_id")
    price = RupiahField(source="list_price", help_text="The list price, rupiah, a JSON number: `40000`.")


class SaleVoucherSerializer(serializers.Serializer):
    code = serializers.CharField(source="voucher_code", help_text="As stored: upper case, no spaces or dashes.")
    discount = RupiahField(help_text="Rupiah taken off the list price.")


# `null` when the sale has no voucher.
@extend_schema_field(SaleVoucherSerializer(allow_null=True))
class SaleVoucherField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, sale):
        return SaleVoucherSerializer(sale).data if sale.voucher_code else None


AMOUNT_HELP = "What the customer pays, rupiah: the list price less the voucher's discount; 0 for a free session."
QR_STRING_HELP = "The QRIS payload to draw as a QR code; null for a free session (nothing to pay)."


class SaleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField(help_text="`TRX-{location_id}-{YYYYmmddHHMMSS in Asia/Jakarta}-{8 hex}`")
    location_id = serializers.IntegerField()
    location = SaleLocationSerializer(source="*")
    price_id = serializers.UUIDField()
    price = SalePriceSerializer(source="*")
    amount = RupiahField(help_text=AMOUNT_HELP)
    voucher = SaleVoucherField()
    status = serializers.ChoiceField(
        choices=SaleStatus.choices, help_text="PENDING (pay the QR code), or COMPLETED for a free session."
    )
    qr_string = serializers.CharField(allow_null=True, help_text=QR_STRING_HELP)
    expires_at = JakartaDateTimeField(help_text="Asia/Jakarta with offset: `2025-12-15T16:37:29+07:00`.")
    created_at = JakartaDateTimeField()


class SaleWithPaymentSerializer(serializers.Serializer):
    """The sale as polled: `paid_at` comes before `created_at`."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    location_id = serializers.IntegerField()
    location = SaleLocationSerializer(source="*")
    price_id = serializers.UUIDField()
    price = SalePriceSerializer(source="*")
    amount = RupiahField(help_text=AMOUNT_HELP)
    voucher = SaleVoucherField()
    status = serializers.ChoiceField(
        choices=SaleStatus.choices,
        help_text="Keep polling while PENDING; every other status is final for the kiosk: COMPLETED (take the "
        "photos), FAILED, EXPIRED, REFUNDED (the whole payment was given back by staff; photos are refused with 409). "
        "A PENDING sale past `expires_at` is answered (and stored) as EXPIRED.",
    )
    qr_string = serializers.CharField(allow_null=True, help_text=QR_STRING_HELP)
    expires_at = JakartaDateTimeField()
    paid_at = JakartaDateTimeField(allow_null=True, help_text="null until paid.")
    created_at = JakartaDateTimeField()


class SaleCreatedSerializer(SuccessSerializer):
    MESSAGE = "Transaction created successfully"
    message = serializers.CharField(help_text=f"`{MESSAGE}`")
    data = SaleSerializer()


# The poll's answer. The poll writes it by hand (payments/sale_status.py); tests/payments/test_poll.py
# checks that this serializer, run on the sale, renders the same bytes.
class SaleStatusSerializer(SuccessSerializer):
    MESSAGE = "Transaction retrieved successfully"
    message = serializers.CharField(help_text=f"`{MESSAGE}`")
    data = SaleWithPaymentSerializer()


class SaleCancelledSerializer(SuccessSerializer):
    MESSAGE = "Transaction cancelled"
    message = serializers.CharField(help_text=f"`{MESSAGE}`")
    data = SaleWithPaymentSerializer()


# --- Xendit's webhook ---------------------------------------------------------------------------

WEBHOOK_ACK_MESSAGES = ("Transaction updated", "Refund updated", "Notification stored and ignored")


@extend_schema_field({"type": "string", "enum": list(WEBHOOK_ACK_MESSAGES)})
class WebhookAckMessageField(serializers.CharField):
    pass


class WebhookAckSerializer(serializers.Serializer):
    success = TrueField()
    message = WebhookAckMessageField(
        help_text="`Transaction updated`: a payment notice (applied, a duplicate, for an unknown sale, or not "
        "applied and flagged for staff); `Refund updated`: a refund notice; `Notification stored and ignored`: any "
        "other event, or another Xendit business's notice."
    )

    @classmethod
    def answer(cls, message: str) -> dict:
        return cls({"success": True, "message": message}).data


# --- The simulator ----------------------------------------------------------------------------------


# From `{"sale": the sale after the payment, "event": the simulated PaymentEvent}`.
class SimulatedPaymentSerializer(serializers.Serializer):
    external_id = serializers.CharField(source="sale.external_id")
    status = serializers.ChoiceField(source="sale.status", choices=SaleStatus.choices)
    outcome = serializers.CharField(
        source="event.outcome", help_text="What the payment did: `applied`, `duplicate`, `amount_mismatch`, ..."
    )


class SimulatePaymentResultSerializer(SuccessSerializer):
    MESSAGE = "Payment simulated"
    message = serializers.CharField(help_text=f"`{MESSAGE}`")
    data = SimulatedPaymentSerializer()
