import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Round

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

    def clean(self) -> None:
        if self.amount is not None and self.amount != self.amount.to_integral_value():
            raise ValidationError({"amount": WHOLE_RUPIAH_MESSAGE})


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
