"""What the kiosk's fleet API reads and answers: the heartbeat and activation. The output serializers
produce the answers, and drf-spectacular documents the same classes (locations/api/schema.py adds the
errors)."""

from rest_framework import serializers

from core.openapi import JakartaDateTimeField, SuccessSerializer
from locations.activation import CODE_DIGITS
from locations.models import CameraStatus, PrinterStatus, ReportedStatus


class TextField(serializers.CharField):
    """A JSON string, and only that: DRF's CharField would also take 0 or true and store "0"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class DigitsField(serializers.RegexField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- The heartbeat ----------------------------------------------------------------------------------
# Lengths are capped: a beat overwrites one row, and nothing a kiosk sends makes it grow.
APP_VERSION_MAX = 50
MESSAGE_MAX = 500
PRINTS_LEFT_MAX = 1_000_000


class PrinterReportSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PrinterStatus.choices)
    prints_left = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=PRINTS_LEFT_MAX, help_text="Prints the paper has left."
    )


class HeartbeatSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=ReportedStatus.choices,
        help_text="`out_of_service` stops the machine's sales until a heartbeat says otherwise.",
    )
    printer = PrinterReportSerializer(
        required=False,
        allow_null=True,
        help_text="`paper_out` stops the machine's sales when staff set it to need a printer.",
    )
    camera = serializers.ChoiceField(choices=CameraStatus.choices, required=False, allow_null=True)
    app_version = TextField(
        max_length=APP_VERSION_MAX, required=False, allow_blank=True, allow_null=True, help_text="e.g. `2.3.1`"
    )
    message = TextField(
        max_length=MESSAGE_MAX,
        required=False,
        allow_blank=True,
        allow_null=True,
        trim_whitespace=True,
        help_text="A word for staff, shown on the fleet board (e.g. `paper jam, cleared`).",
    )


class HeartbeatReceivedSerializer(serializers.Serializer):
    location_id = serializers.IntegerField()
    accepting_sales = serializers.BooleanField(
        help_text="false: the machine is inactive or out of service (by staff or by its own report): "
        "`POST /api/v1/transactions` would answer 422. Show an out-of-order screen."
    )
    server_time = JakartaDateTimeField(help_text="Asia/Jakarta with offset: `2025-12-15T16:37:29+07:00`.")


class HeartbeatAnswerSerializer(SuccessSerializer):
    MESSAGE = "Heartbeat received"
    message = serializers.CharField(help_text=f"`{MESSAGE}`")
    data = HeartbeatReceivedSerializer()


# --- Activation -----------------------------------------------------------------------------------


class ActivateSerializer(serializers.Serializer):
    code = DigitsField(
        rf"^[0-9]{{{CODE_DIGITS}}}$",
        help_text="The 6 digits staff created in the admin (a string: leading zeros count).",
        error_messages={"invalid": f"{CODE_DIGITS} digits."},
    )
    device_name = TextField(
        max_length=100, help_text="Which device this is, shown to staff beside its key (e.g. `Tablet 2, lobby`)."
    )


# From `{"key": the KioskKey, "plaintext": its secret}`.
class ActivatedKioskSerializer(serializers.Serializer):
    location_id = serializers.IntegerField(source="key.location_id")
    machine_code = serializers.CharField(source="key.location.machine_code")
    kiosk_key = serializers.CharField(
        source="plaintext", help_text="`pbk_…`: send it as `Authorization: Bearer …`. Shown this once."
    )
    key_prefix = serializers.CharField(source="key.prefix", help_text="How staff see the key in the admin.")


class ActivatedAnswerSerializer(SuccessSerializer):
    MESSAGE = "Kiosk activated"
    message = serializers.CharField(help_text=f"`{MESSAGE}`")
    data = ActivatedKioskSerializer()
