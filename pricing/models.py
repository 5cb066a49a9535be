import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Round
from django.utils import timezone

from core.formats import rupiah
from locations.models import Location

# QRIS accepts IDR 1 to 10,000,000 per payment (Xendit's rules and limitations).
QRIS_MIN_AMOUNT = Decimal("1")
QRIS_MAX_AMOUNT = Decimal("10000000")
WHOLE_RUPIAH_MESSAGE = "QRIS payments are in whole rupiah: remove the cents."


class Price(models.Model):
    """A package a customer can buy, optionally limited to a number of sales (its quota)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    amount = models.DecimalField(
        "price (Rp)",
        max_digits=15,
        decimal_places=2,
        validators=[MinValueValidator(QRIS_MIN_AMOUNT), MaxValueValidator(QRIS_MAX_AMOUNT)],
        help_text="Whole rupiah, between Rp 1 and Rp 10.000.000 (the QRIS limit).",
    )
    description = models.CharField(max_length=255, blank=True)
    quota = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="How many sales this price may have (paid, or awaiting payment). Empty = unlimited.",
    )
    is_active = models.BooleanField("active", default=True, help_text="Inactive prices cannot be sold.")
    # Its sales holding quota now (awaiting payment or paid) and its paid ones: counted in the
    # transaction of every sale transition that changes them (pricing.services.lock_price_for_sale
    # for a new sale, pricing.services.count_sales for the rest), so the quota check reads one row.
    # Never edited, and never written by save() (below): only conditional UPDATEs change them.
    quota_used = models.PositiveIntegerField("quota used", default=0, db_default=0, editable=False)
    paid_sales = models.PositiveIntegerField("paid sales", default=0, db_default=0, editable=False)
    # Where it is sold (pricing.selectors.offered_at): no location chosen = every location.
    locations = models.ManyToManyField(Location, through="PriceLocation", blank=True, related_name="prices")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["amount"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=QRIS_MIN_AMOUNT), name="price_amount_positive"),
            # Also for prices made outside the admin (shell, scripts, SQL): QRIS codes are for whole
            # rupiah, so a price with cents would make every payment of it an amount mismatch.
            # ROUND, not FLOOR: it is built into every SQLite, whatever its math functions.
            models.CheckConstraint(
                condition=models.Q(amount=Round("amount")),
                name="price_amount_whole_rupiah",
                violation_error_message=WHOLE_RUPIAH_MESSAGE,
            ),
            models.CheckConstraint(
                condition=models.Q(quota__isnull=True) | models.Q(quota__gte=0), name="price_quota_not_negative"
            ),
        ]

    def __str__(self) -> str:
        label = rupiah(self.amount)
        return f"{label} – {self.description}" if self.description else label

    def save(self, *args, **kwargs) -> None:
        # A price read earlier (the admin's form, a shell) must not write back the counts it read:
        # a sale made meanwhile would be lost from them. An existing price saves every field but those.
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in SALE_COUNTS
            ]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.amount is not None and self.amount != self.amount.to_integral_value():
            raise ValidationError({"amount": WHOLE_RUPIAH_MESSAGE})


# The counters only pricing.services changes (Price.save leaves them alone).
SALE_COUNTS = ("quota_used", "paid_sales")


class PriceLocation(models.Model):
    """One machine a price is limited to; a price with none is sold at every machine.

    PROTECT on the machine: deleting the only machine a price was limited to must not quietly
    put that price on sale everywhere. Staff take the machine out of the price's limit first.
    """

    price = models.ForeignKey(Price, on_delete=models.CASCADE, related_name="location_limits")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="price_limits")

    class Meta:
        verbose_name = "machine the price is limited to"
        constraints = [models.UniqueConstraint(fields=["price", "location"], name="price_location_once")]

    def __str__(self) -> str:
        return f"{self.price} is sold at {self.location.machine_code}"


# Voucher codes: no look-alikes (no 0/O, no 1/I), so a code read off a flyer is typed right.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_MAX_LENGTH = 32
LOOK_ALIKES_MESSAGE = "Use only A-Z and 2-9, without the look-alikes 0, O, 1 and I (spaces and dashes are ignored)."


def normalize_code(text: str) -> str:
    """A code as stored and looked up: upper case, without spaces and dashes."""
    return "".join(char for char in text.upper() if char not in " -\t")


class VoucherKind(models.TextChoices):
    PERCENT = "percent", "Percentage off"
    FIXED = "fixed", "Rupiah off"
    FREE = "free", "Free session"


class Voucher(models.Model):
    """A code a customer types at the kiosk for a discount, or a free session.

    `uses` counts the sales holding it (awaiting payment, paid, refunded): taken under the
    voucher's row lock when a sale is made (pricing.vouchers.redeem), given back by
    payments.transitions when such a sale ends unpaid."""

    code = models.CharField(max_length=CODE_MAX_LENGTH, unique=True, help_text=LOOK_ALIKES_MESSAGE)
    description = models.CharField(max_length=255, blank=True, help_text="What the promotion is, for staff.")
    batch = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="The batch of flyer codes this one was made in."
    )
    kind = models.CharField("discount", max_length=10, choices=VoucherKind.choices, default=VoucherKind.PERCENT)
    value = models.DecimalField(
        max_digits=15,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Percent (1-100) for a percentage, whole rupiah for a rupiah discount; empty for a free session.",
    )
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True, help_text="Empty: no end.")
    prices = models.ManyToManyField(
        Price, blank=True, related_name="vouchers", help_text="None chosen: valid for every package."
    )
    locations = models.ManyToManyField(
        "locations.Location", blank=True, related_name="vouchers", help_text="None chosen: valid at every machine."
    )
    max_uses = models.PositiveIntegerField(
        "maximum uses", null=True, blank=True, default=1, help_text="Empty: unlimited."
    )
    one_per_email = models.BooleanField(
        "one use per customer email", default=False, help_text="A customer email may use it once."
    )
    uses = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    is_active = models.BooleanField("active", default=True, help_text="Inactive vouchers are refused as expired.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(uses__gte=0), name="voucher_uses_not_negative"),
            models.CheckConstraint(
                condition=models.Q(kind=VoucherKind.FREE, value__isnull=True)
                | models.Q(kind=VoucherKind.PERCENT, value__isnull=False, value__gte=1, value__lte=100)
                | models.Q(
                    kind=VoucherKind.FIXED, value__isnull=False, value__gte=QRIS_MIN_AMOUNT, value=Round("value")
                ),
                name="voucher_value_fits_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def discount_label(self) -> str:
        if self.kind == VoucherKind.FREE:
            return "Free session"
        if self.kind == VoucherKind.PERCENT:
            return f"{self.value.normalize():f}% off"
        return f"{rupiah(self.value)} off"

    def clean(self) -> None:
        self.code = normalize_code(self.code or "")
        if self.code and any(char not in CODE_ALPHABET for char in self.code):
            raise ValidationError({"code": LOOK_ALIKES_MESSAGE})
        if self.kind == VoucherKind.FREE:
            self.value = None
        elif self.value is None:
            raise ValidationError({"value": "Say how much off: a percentage or an amount in rupiah."})
        elif self.kind == VoucherKind.PERCENT and not Decimal(1) <= self.value <= Decimal(100):
            raise ValidationError({"value": "A percentage from 1 to 100."})
        elif self.kind == VoucherKind.FIXED and (self.value < 1 or self.value != self.value.to_integral_value()):
            raise ValidationError({"value": WHOLE_RUPIAH_MESSAGE})
        if self.valid_until and self.valid_from and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "The end must come after the start."})
