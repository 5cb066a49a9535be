"""The sale: one customer session at a kiosk, its statuses, and the sale number's and gallery key's shapes."""

import re
import secrets

from django.db import models
from django.db.models import prefetch_related_objects
from django.db.models.functions import Upper
from django.utils import timezone

from payments.models.reviews import reviews_prefetch

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
    # Here, beside the column it fills, because payments cannot import the gallery; migration 0001
    # names it payments.models.new_gallery_key (the package re-exports it).
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
                condition=~models.Q(status__in=PAID_STATUSES) | models.Q(paid_at__isnull=False),
                name="sale_paid_has_paid_at",
            ),
            models.CheckConstraint(condition=models.Q(refunded_amount__gte=0), name="sale_refunded_not_negative"),
            models.CheckConstraint(
                condition=models.Q(discount__gte=0, list_price=models.F("amount") + models.F("discount")),
                name="sale_list_price_is_amount_plus_discount",
            ),
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
            # The sales report's vouchers: the paid sales that used one (one in ten), read from
            # this index alone (index-only scan) instead of fetching every paid sale of the period.
            models.Index(
                fields=["paid_at"],
                include=["location", "voucher_code", "discount"],
                condition=models.Q(status__in=PAID_STATUSES) & ~models.Q(voucher_code=""),
                name="sale_paid_voucher_idx",
            ),
            # Admin: the sale list sorted by a column, then by id the same way round
            # (backoffice.tools.OneColumnSortChangeList): 50 rows read from the index, either way.
            models.Index(fields=["amount", "id"], name="sale_amount_sort_idx"),
            models.Index(fields=["status", "id"], name="sale_status_sort_idx"),
            models.Index(fields=["paid_at", "id"], name="sale_paid_at_sort_idx"),
            models.Index(fields=["needs_review", "id"], name="sale_review_sort_idx"),
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
