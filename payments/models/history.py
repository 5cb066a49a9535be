"""A sale's status changes, one row each, written by payments.transitions."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from payments.models.events import PaymentEvent
from payments.models.sale import Sale, SaleStatus


class SaleCause(models.TextChoices):
    """What made a sale change state (SaleHistory.cause)."""

    KIOSK = "kiosk", "The kiosk started it"
    KIOSK_POLL = "kiosk_poll", "The kiosk asked after its expiry"
    KIOSK_CANCEL = "kiosk_cancel", "The kiosk cancelled it"
    QUOTA_FULL = "quota_full", "A new sale found the quota full and freed the places of unpaid sales past expiry"
    GATEWAY_ERROR = "gateway_error", "The payment gateway could not make its QR code"
    EXPIRE_SALES = "expire_sales", "expire_sales (cron)"
    WEBHOOK = "webhook", "Xendit webhook"
    RECONCILIATION = "reconciliation", "Checked with Xendit"
    SIMULATOR = "simulator", "Simulator"
    REFUND = "refund", "Refund"
    VOUCHER = "voucher", "A voucher paid it all (free session)"
    EARLIER = "earlier", "Recorded before the history was kept"


class SaleHistory(models.Model):
    """One change of a sale's status (or its start, from no status), written by payments.transitions."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="history")
    from_status = models.CharField(max_length=10, choices=SaleStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=SaleStatus.choices)
    cause = models.CharField(max_length=20, choices=SaleCause.choices)
    # Staff who asked for it (e.g. the refund's requester), when a person did.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_text = models.CharField(max_length=200, blank=True, help_text="Who or what, when no staff user did.")
    # The payment or refund notice that caused it, when one did.
    event = models.ForeignKey(
        PaymentEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="sale_history"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "sale history"
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(cause__in=SaleCause.values), name="sale_history_cause_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} -> {self.to_status}"
