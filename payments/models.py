import re
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Prefetch, prefetch_related_objects
from django.db.models.functions import Upper
from django.utils import timezone

from core.lookups import holds

# A sale number as it may appear in a URL (ours are TRX-{location}-{YYYYmmddHHMMSS}-{8 hex}); any
# other text names no sale and is answered without a query.
EXTERNAL_ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"
# A gallery key as new_gallery_key makes it (URL-safe base64), within the column's 64 characters.
GALLERY_KEY_PATTERN = r"[A-Za-z0-9_-]{1,64}"
# `$` as well as fullmatch: a sale number followed by a newline is still looked up (and not found).
_EXTERNAL_ID = re.compile(rf"^{EXTERNAL_ID_PATTERN}$")


def is_external_id(value: str) -> bool:
    return _EXTERNAL_ID.match(value) is not None


def new_gallery_key() -> str:
    # 256 random bits: the external id alone has only 32 and travels to Xendit and receipts.
    # Here, beside the column it fills, because migration 0001 names it (payments.models) and
    # payments cannot import the gallery.
    return secrets.token_urlsafe(32)


class SaleStatus(models.TextChoices):
    PENDING = "PENDING", "Awaiting payment"
    COMPLETED = "COMPLETED", "Paid"
    FAILED = "FAILED", "Failed"
    EXPIRED = "EXPIRED", "Expired"
    # Its whole payment was given back (a partial refund leaves the sale COMPLETED).
    REFUNDED = "REFUNDED", "Refunded"
    # The kiosk gave it up before it was paid (the customer walked away): its quota is free at once.
    CANCELLED = "CANCELLED", "Cancelled at the kiosk"


# Sales whose money was received: paid, and paid then refunded. The report's gross counts both.
PAID_STATUSES = (SaleStatus.COMPLETED, SaleStatus.REFUNDED)
# The payment channel of a free session: a voucher covered the whole price, nothing went to Xendit.
FREE_SESSION_CHANNEL = "VOUCHER"
# Sales that ended unpaid without anyone asking Xendit (the poll expired them, or the kiosk
# cancelled them while the QR code stayed payable): expire_sales asks about each once.
UNASKED_STATUSES = (SaleStatus.EXPIRED, SaleStatus.CANCELLED)


class Sale(models.Model):
    """A sale: one customer session at a kiosk, paid by one QRIS code."""

    external_id = models.CharField("sale number", max_length=64, unique=True)
    location = models.ForeignKey("locations.Location", on_delete=models.PROTECT, related_name="sales")
    price = models.ForeignKey("pricing.Price", on_delete=models.PROTECT, related_name="sales")
    # Copied from the price when the sale is made, so editing a price never rewrites history.
    list_price = models.DecimalField("list price (Rp)", max_digits=15, decimal_places=2)
    # What a voucher took off (pricing.vouchers.discount_for); list_price = amount + discount.
    discount = models.DecimalField("discount (Rp)", max_digits=15, decimal_places=2, default=0, db_default=0)
    # What the customer pays: the QR code's amount, what a payment must match, the refunds' ceiling.
    amount = models.DecimalField("amount to pay (Rp)", max_digits=15, decimal_places=2)
    voucher = models.ForeignKey(
        "pricing.Voucher", on_delete=models.PROTECT, null=True, blank=True, related_name="sales"
    )
    # The voucher's code, copied like the amount: the poll and the report read the sale row alone.
    voucher_code = models.CharField(max_length=32, blank=True, default="", db_default="")
    status = models.CharField(max_length=10, choices=SaleStatus.choices, default=SaleStatus.PENDING)
    xendit_qr_id = models.CharField("Xendit QR id", max_length=100, blank=True, db_index=True)
    xendit_payment_id = models.CharField("Xendit payment id", max_length=100, null=True, blank=True, unique=True)
    # Null for a free session (FREE_SESSION_CHANNEL), which has no QR code and never will: the API
    # answers null there, while "" is a QR code not made yet (the gateway call still under way).
    qr_string = models.TextField("QRIS string", null=True, blank=True)  # noqa: DJ001
    email = models.EmailField("customer email")
    send_invoice = models.BooleanField(default=False)
    expires_at = models.DateTimeField(help_text="The QR code can be paid until this time.")
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_amount = models.DecimalField(
        "amount paid (Rp)",
        max_digits=15,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="What the payment notice stated; empty when it stated no amount (the earlier service's body).",
    )
    # Kept under the sale's row lock by the refund settlement: successful refunds of this sale's
    # own payment (refunds of a second, extra payment are not counted here). db_default: rows
    # inserted by SQL (bench seeding, data fixes) get one too.
    refunded_amount = models.DecimalField("refunded (Rp)", max_digits=15, decimal_places=2, default=0, db_default=0)
    # When expire_sales asked the gateway about this sale. A sale the kiosk's poll expired was never
    # asked: expire_sales asks it once later, so a payment whose webhook was lost is still found.
    gateway_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    payment_channel = models.CharField(
        max_length=50, blank=True, help_text="The customer's bank or wallet, when Xendit reports it."
    )
    payment_receipt_id = models.CharField(
        max_length=100, blank=True, help_text="The reference on the customer's payment receipt."
    )
    # The gallery's columns: its rules (the email's state, retention, the cleanup's claim, the key)
    # live in gallery.selectors and gallery's services, never here or elsewhere in payments. On the
    # sale row rather than a table of their own: the kiosk's poll, the admin's list and the report
    # read the sale row alone, and the partial indexes below combine them with the sale's status.
    email_sent_at = models.DateTimeField(null=True, blank=True)
    photos_deleted_at = models.DateTimeField(null=True, blank=True)
    # Set by a cleanup run while it deletes this sale's photos, so overlapping runs skip it.
    photos_cleanup_claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    gallery_key = models.CharField(max_length=64, default=new_gallery_key, editable=False)
    # The fast flag the admin's list filters on; the reasons are the sale's open SaleReview rows.
    needs_review = models.BooleanField(default=False, help_text="A payment problem staff should look at.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The table keeps the name it had when the model was called Transaction.
        db_table = "payments_transaction"
        verbose_name = "sale"
        ordering = ["-created_at"]
        permissions = [
            ("resend_customer_email", "Can resend the customer's photo email"),
            ("check_payment", "Can ask Xendit whether a sale was paid"),
            ("resolve_review", "Can resolve payment problems and re-run payment events"),
            ("refund_sale", "Can refund sales"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=SaleStatus.values), name="sale_status_valid"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="sale_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(discount__gte=0, list_price=models.F("amount") + models.F("discount")),
                name="sale_list_price_is_amount_plus_discount",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=PAID_STATUSES) | models.Q(paid_at__isnull=False),
                name="sale_paid_has_paid_at",
            ),
            models.CheckConstraint(condition=models.Q(refunded_amount__gte=0), name="sale_refunded_not_negative"),
        ]
        indexes = [
            # Quota check: sales of one price that are COMPLETED, or PENDING and unexpired.
            models.Index(fields=["price", "status", "expires_at"], name="sale_quota_idx"),
            # expire_sales: overdue PENDING sales only.
            models.Index(
                fields=["expires_at"], condition=models.Q(status=SaleStatus.PENDING), name="sale_pending_expiry_idx"
            ),
            models.Index(fields=["-created_at"], name="sale_created_idx"),
            models.Index(fields=["location", "-created_at"], name="sale_location_created_idx"),
            models.Index(fields=["status", "-created_at"], name="sale_status_created_idx"),
            models.Index(fields=["needs_review"], condition=models.Q(needs_review=True), name="sale_needs_review_idx"),
            # cleanup: galleries whose photos are still stored, by when the email went out.
            models.Index(
                fields=["email_sent_at"],
                condition=models.Q(photos_deleted_at__isnull=True, email_sent_at__isnull=False),
                name="sale_photos_to_clean_idx",
            ),
            # ...and paid sales whose email never went out: their photos are not kept forever.
            models.Index(
                fields=["paid_at"],
                condition=models.Q(photos_deleted_at__isnull=True, email_sent_at__isnull=True),
                name="sale_unsent_photos_idx",
            ),
            # Admin: "paid between", and the sales report, which reads only these columns: a year
            # of paid sales is summed from the index alone (PostgreSQL index-only scan).
            models.Index(
                fields=["paid_at", "location", "amount", "discount"],
                condition=models.Q(status__in=PAID_STATUSES),
                name="sale_paid_idx",
            ),
            # expire_sales: sales that ended without asking the gateway (the poll expired them, the
            # kiosk cancelled them), asked once later.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status__in=UNASKED_STATUSES, gateway_checked_at__isnull=True),
                name="sale_expired_unchecked_idx",
            ),
            # Admin: paid sales whose email has not gone out yet and whose photos are still kept
            # (waiting for photos, retrying, gave up): the problem count and the email filters.
            models.Index(
                fields=["-created_at"],
                condition=models.Q(
                    status=SaleStatus.COMPLETED, email_sent_at__isnull=True, photos_deleted_at__isnull=True
                ),
                name="sale_paid_unsent_idx",
            ),
            # Admin search by customer email: Django's case-insensitive match compares UPPER(email).
            models.Index(Upper("email"), name="sale_email_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def is_free_session(self) -> bool:
        """A voucher paid it all: nothing was paid, nothing went to Xendit, nothing can be refunded."""
        return self.payment_channel == FREE_SESSION_CHANNEL

    @property
    def review_reason(self) -> str:
        """The open review reasons, one a line: a display of the sale's SaleReview rows, read once
        per instance (a prefetch of `reviews` made by the caller is used as it is)."""
        prefetch_related_objects([self], reviews_prefetch())
        return "\n".join(
            review.reason for review in self.reviews.all() if review.resolution_id is None and review.reason
        )


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


class ReviewNote(models.Model):
    """What staff decided about a payment problem: kept with the sale (or the unmatched payment)."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, null=True, blank=True, related_name="review_notes")
    payment_event = models.ForeignKey(
        PaymentEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="review_notes"
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

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="reviews")
    reason = models.TextField()
    # The payment or refund notice that raised it, when one did.
    event = models.ForeignKey(
        PaymentEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="sale_reviews"
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


class SaleCause(models.TextChoices):
    """What made a sale change state (SaleHistory.cause)."""

    KIOSK = "kiosk", "The kiosk started it"
    KIOSK_POLL = "kiosk_poll", "The kiosk asked after its expiry"
    KIOSK_CANCEL = "kiosk_cancel", "The kiosk cancelled it"
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


class IdempotencyKey(models.Model):
    """The first answer to a create request carrying an Idempotency-Key, replayed to retries."""

    key = models.CharField(max_length=255, unique=True)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical request body.")
    # NULL while the first request is still being processed.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(blank=True, default=b"")
    sale = models.ForeignKey(Sale, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.key
