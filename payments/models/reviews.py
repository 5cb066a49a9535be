"""Payment problems staff should look at (SaleReview) and what staff decided about them (ReviewNote)."""

from django.conf import settings
from django.db import models
from django.db.models import Prefetch
from django.utils import timezone

# Sale and PaymentEvent are named by label: the sale module reads reviews_prefetch from here.


class ReviewNote(models.Model):
    """What staff decided about a payment problem: kept with the sale (or the unmatched payment)."""

    sale = models.ForeignKey(
        "payments.Sale", on_delete=models.PROTECT, null=True, blank=True, related_name="review_notes"
    )
    payment_event = models.ForeignKey(
        "payments.PaymentEvent", on_delete=models.PROTECT, null=True, blank=True, related_name="review_notes"
    )
    problem = models.TextField(blank=True, help_text="The problem as it stood when it was resolved.")
    note = models.TextField(help_text="What was done, e.g. refunded through the Xendit dashboard.")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["resolved_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sale__isnull=False, payment_event__isnull=True)
                | models.Q(sale__isnull=True, payment_event__isnull=False),
                name="review_note_for_sale_or_event",
            ),
        ]

    def __str__(self) -> str:
        return f"Resolved {timezone.localtime(self.resolved_at):%d %b %Y %H:%M}"


class SaleReview(models.Model):
    """One reason staff should look at a sale (a payment problem), open until staff resolve it.

    A sale with an open review has `needs_review` set: the flag is what the admin's list filters on.
    """

    sale = models.ForeignKey("payments.Sale", on_delete=models.PROTECT, related_name="reviews")
    reason = models.TextField()
    # The payment or refund notice that raised it, when one did.
    event = models.ForeignKey(
        "payments.PaymentEvent", on_delete=models.PROTECT, null=True, blank=True, related_name="sale_reviews"
    )
    at = models.DateTimeField(default=timezone.now)
    resolution = models.ForeignKey(ReviewNote, on_delete=models.PROTECT, null=True, blank=True, related_name="reviews")

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            # A sale's open reviews (flagging skips a reason already open; resolving closes them).
            models.Index(fields=["sale"], condition=models.Q(resolution__isnull=True), name="review_open_idx"),
        ]

    def __str__(self) -> str:
        return self.reason


def reviews_prefetch() -> Prefetch:
    """A sale's reviews with staff's resolutions: the review box and the history read them."""
    return Prefetch("reviews", queryset=SaleReview.objects.select_related("resolution__resolved_by"))
