"""Money given back for a sale's payment."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from payments.models.sale import Sale


class RefundStatus(models.TextChoices):
    PENDING = "PENDING", "Waiting for Xendit"
    SUCCEEDED = "SUCCEEDED", "Refunded"
    FAILED = "FAILED", "Failed"


class RefundOrigin(models.TextChoices):
    STAFF = "staff", "Photobox"
    XENDIT = "xendit", "Xendit (made outside Photobox)"


class Refund(models.Model):
    """Money given back for one payment of a sale: recorded before Xendit is asked, settled by
    Xendit's refund webhook or by the refund check in cron."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="refunds")
    payment_id = models.CharField("Xendit payment id", max_length=100, db_index=True)
    amount = models.DecimalField("amount (Rp)", max_digits=15, decimal_places=2)
    reason = models.TextField()
    origin = models.CharField(max_length=10, choices=RefundOrigin.choices, default=RefundOrigin.STAFF)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # One per refund form shown: a double click or a re-sent form finds the refund it already made.
    request_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    xendit_refund_id = models.CharField("Xendit refund id", max_length=100, null=True, blank=True, unique=True)
    failure_code = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # When Xendit was last asked (sent, or checked by cron): the check leaves fresh requests alone.
    gateway_called_at = models.DateTimeField(null=True, blank=True, editable=False)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=models.Q(status__in=RefundStatus.values), name="refund_status_valid"),
            models.CheckConstraint(
                condition=models.Q(status=RefundStatus.PENDING) | models.Q(settled_at__isnull=False),
                name="refund_settled_has_time",
            ),
        ]
        indexes = [
            # The refund check in cron: PENDING refunds only.
            models.Index(
                fields=["created_at"], condition=models.Q(status=RefundStatus.PENDING), name="refund_pending_idx"
            ),
            # The sales report: successful refunds by the day they went through.
            models.Index(
                fields=["settled_at"], condition=models.Q(status=RefundStatus.SUCCEEDED), name="refund_settled_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.xendit_refund_id or f"Refund {self.pk}"

    @property
    def requested_by_name(self) -> str:
        if self.origin == RefundOrigin.XENDIT:
            return "Xendit"
        return self.requested_by.get_username() if self.requested_by else "a deleted user"

    @property
    def idempotency_key(self) -> str:
        """Sent to Xendit with every request for this refund: a retry is the same refund."""
        return f"photobox-refund-{self.pk}"
