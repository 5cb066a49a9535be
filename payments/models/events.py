"""Every payment notification received, and what became of it."""

from django.db import models
from django.utils import timezone

from core.lookups import holds
from payments.models.sale import Sale


class EventSource(models.TextChoices):
    WEBHOOK = "webhook", "Xendit webhook"
    RECONCILIATION = "reconciliation", "Checked with Xendit"
    SIMULATOR = "simulator", "Simulator"


class EventOutcome(models.TextChoices):
    RECEIVED = "received", "Received, not processed yet"
    APPLIED = "applied", "Applied to the sale"
    DUPLICATE = "duplicate", "Duplicate (already applied)"
    IGNORED = "ignored", "Ignored (nothing to apply)"
    UNKNOWN_SALE = "unknown_sale", "No matching sale"
    AMOUNT_MISMATCH = "amount_mismatch", "Amount missing or wrong"
    CURRENCY_MISMATCH = "currency_mismatch", "Currency is not rupiah"
    DOUBLE_PAYMENT = "double_payment", "Second payment for a paid sale"
    INVALID = "invalid", "Not a payment we understand"
    REJECTED = "rejected", "Rejected: missing or wrong callback token"
    ERROR = "error", "Error while processing"


# A payment for no known sale that staff have not dealt with yet: it stays on the problem list.
OPEN_UNMATCHED_LOOKUPS = {"outcome": EventOutcome.UNKNOWN_SALE, "reviewed_at__isnull": True}
OPEN_UNMATCHED = models.Q(**OPEN_UNMATCHED_LOOKUPS)


class PaymentEvent(models.Model):
    """Every payment notification received, stored raw before anything else happens to it."""

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=20, choices=EventSource.choices, default=EventSource.WEBHOOK)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    headers = models.JSONField(default=dict, help_text="Request headers, without the callback token.")
    body = models.TextField(blank=True, help_text="As received; for a rejected request only its start.")
    body_size = models.PositiveIntegerField("body size (bytes)", null=True, blank=True)
    body_sha256 = models.CharField("body SHA-256", max_length=64, blank=True)
    webhook_id = models.CharField(max_length=200, blank=True, db_index=True)
    shape = models.CharField(max_length=20, blank=True, help_text="Which payload format Xendit used.")
    event_type = models.CharField(
        "event", max_length=50, blank=True, help_text="Xendit's event name, e.g. qr.payment or qr.refund."
    )
    reference = models.CharField("sale number in payload", max_length=200, blank=True)
    xendit_payment_id = models.CharField(max_length=200, blank=True, db_index=True)
    reported_status = models.CharField(max_length=30, blank=True)
    amount = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)
    sale = models.ForeignKey(
        Sale, on_delete=models.PROTECT, null=True, blank=True, related_name="payment_events", verbose_name="sale"
    )
    refund = models.ForeignKey(
        "payments.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    outcome = models.CharField(max_length=20, choices=EventOutcome.choices, default=EventOutcome.RECEIVED)
    outcome_detail = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Unmatched payments stay on the admin's problem list until staff record what they did.
    reviewed_at = models.DateTimeField(
        "dealt with at", null=True, blank=True, help_text="When staff recorded what they did about this payment."
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(outcome__in=EventOutcome.values), name="event_outcome_valid"),
        ]
        indexes = [
            models.Index(fields=["outcome", "-received_at"], name="event_outcome_received_idx"),
            # Admin: the list sorted by outcome or amount, then by id the same way round
            # (backoffice.tools.OneColumnSortChangeList).
            models.Index(fields=["outcome", "id"], name="event_outcome_sort_idx"),
            models.Index(fields=["amount", "id"], name="event_amount_sort_idx"),
            # Admin search: the sale number a notification named, even when no sale matched it.
            models.Index(fields=["reference"], name="event_reference_idx"),
            # The admin's problem count: payments for no known sale that nobody dealt with yet.
            models.Index(
                fields=["-received_at"],
                condition=OPEN_UNMATCHED,
                name="event_unmatched_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {timezone.localtime(self.received_at):%d %b %Y %H:%M:%S} ({self.outcome})"

    @property
    def is_open_unmatched(self) -> bool:
        return holds(self, OPEN_UNMATCHED_LOOKUPS)
