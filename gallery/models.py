from django.db import models
from django.db.models.functions import Now
from django.utils import timezone


class Photo(models.Model):
    """One photo of a sale, stored in the photo storage (Cloudinary or local files)."""

    sale = models.ForeignKey("payments.Sale", on_delete=models.PROTECT, related_name="photos")
    position = models.PositiveSmallIntegerField(help_text="Upload order within the sale.")
    # The name in storage; built from the sale and the content, never from the client's file name.
    storage_key = models.CharField(max_length=255)
    url = models.URLField("delivery URL", max_length=500, blank=True)
    bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    original_name = models.CharField(max_length=255, blank=True, help_text="The kiosk's file name, for people only.")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the content.")
    # NULL until the storage confirmed it has the photo: a failed upload is retried, not lost.
    stored_at = models.DateTimeField(null=True, blank=True)
    # When the upload storing this photo last showed it was alive: set when the photo is recorded,
    # and refreshed while an upload (or a retry) is storing it. A photo not stored and not refreshed
    # for PHOTO_UPLOAD_STALE_SECONDS belongs to an upload that died (a killed worker): a retry may
    # replace it, and the email goes out with the photos that were stored (gallery/uploads.py).
    # db_default: rows inserted by SQL (bench seeding, data fixes) get one too.
    reserved_at = models.DateTimeField(default=timezone.now, db_default=Now())
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["sale", "position"]
        constraints = [
            # A retried upload of the same file never makes a second photo.
            models.UniqueConstraint(fields=["sale", "checksum"], name="photo_unique_content_per_sale"),
            models.UniqueConstraint(fields=["sale", "position"], name="photo_unique_position_per_sale"),
        ]

    def __str__(self) -> str:
        return f"{self.sale_id} #{self.position}"


class EmailKind(models.TextChoices):
    CUSTOMER_PHOTOS = "customer_photos", "Photos (and invoice) to the customer"
    STAFF_ALERT = "staff_alert", "Alert to staff"


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Gave up"


class EmailOutbox(models.Model):
    """An email to send, created with the state change that calls for it; retried until sent.

    A customer's email belongs to its sale and is written when sent. A staff alert has no sale: it
    carries its recipients, subject and text, and an `alert_key` naming what it is about (unique: the
    same alert is queued once, whoever queues it)."""

    sale = models.ForeignKey("payments.Sale", on_delete=models.PROTECT, related_name="emails", null=True, blank=True)
    kind = models.CharField(max_length=30, choices=EmailKind.choices)
    alert_key = models.CharField(max_length=100, null=True, blank=True, unique=True, editable=False)
    recipients = models.TextField(blank=True, help_text="Staff alerts: the addresses, comma-separated.")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "email"
        verbose_name_plural = "email outbox"
        constraints = [
            models.UniqueConstraint(fields=["sale", "kind"], name="email_once_per_sale_and_kind"),
            models.CheckConstraint(condition=models.Q(status__in=EmailStatus.values), name="email_status_valid"),
            models.CheckConstraint(
                condition=models.Q(kind="staff_alert", sale__isnull=True, alert_key__isnull=False)
                | (~models.Q(kind="staff_alert") & models.Q(sale__isnull=False)),
                name="email_sale_or_staff_alert",
            ),
        ]
        indexes = [
            # Admin: the outbox sorted by status, then by id the same way round.
            models.Index(fields=["status", "id"], name="email_status_sort_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="email_due_idx",
            ),
        ]

    def __str__(self) -> str:
        if self.sale_id is None:
            return f"{self.get_kind_display()}: {self.subject} ({self.status})"
        return f"{self.get_kind_display()} for {self.sale_id} ({self.status})"


class GalleryVisits(models.Model):
    """How a sale's customer used their gallery link: counters only, never who (no address, no
    user agent). One row per sale, made by the first visit; every visit adds to it with one upsert
    (gallery/visits.py), so a refresh storm costs one short statement a request."""

    sale = models.OneToOneField("payments.Sale", on_delete=models.PROTECT, primary_key=True, related_name="visits")
    # The first use of the link: the page, or a download link followed straight from a saved page.
    first_opened_at = models.DateTimeField(db_default=Now())
    opens = models.PositiveIntegerField("page opens", db_default=0)
    zip_downloads = models.PositiveIntegerField("ZIP downloads", db_default=0)
    photo_downloads = models.PositiveIntegerField("single photo downloads", db_default=0)

    class Meta:
        verbose_name = "gallery visits"
        verbose_name_plural = "gallery visits"

    def __str__(self) -> str:
        return f"visits of {self.sale_id}"


# The summary behind the staff funnel (gallery/funnel_summary.py keeps it, gallery/funnel.py and
# gallery/funnel_payments.py read it): closed Jakarta days, per machine, so a year's page sums
# 73,000 lines instead of reading 1,000,000 sales. Today is always counted from the sales.
PAID_HOUR_FIELDS = [f"paid_{hour:02d}h" for hour in range(24)]


class FunnelDay(models.Model):
    """One machine's closed Jakarta day: the funnel of the sales *started* that day, and the sales
    *paid* that day per Jakarta hour (the heat map's). A summary: summarise_funnel rewrites it."""

    day = models.DateField()
    location = models.ForeignKey("locations.Location", on_delete=models.CASCADE, related_name="+")
    started = models.PositiveIntegerField(default=0)
    paid = models.PositiveIntegerField(default=0)
    uploaded = models.PositiveIntegerField(default=0)
    emailed = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    downloaded = models.PositiveIntegerField(default=0)
    # 24 columns rather than a child table: a machine's day has a handful of paid sales, so one row
    # per hour would be as many rows as sales, and summing 24 columns of 73,000 rows is quick.
    locals().update({name: models.PositiveIntegerField(default=0) for name in PAID_HOUR_FIELDS})

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "location"], name="funnel_day_once_per_machine")]

    def __str__(self) -> str:
        return f"funnel of {self.location_id} on {self.day}"


class FunnelPayments(models.Model):
    """The sales paid on one machine's closed Jakarta day with one payment channel and one time to
    pay (whole seconds from the QR code to the payment), and their amount: a histogram, summable
    over any period, from which the median time to pay is exact to the second."""

    day = models.DateField()
    location = models.ForeignKey("locations.Location", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=50, blank=True)
    seconds_to_pay = models.IntegerField()
    sales = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=17, decimal_places=2)

    class Meta:
        verbose_name_plural = "funnel payments"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "location", "channel", "seconds_to_pay"], name="funnel_payments_once_per_bin"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sales} paid with {self.channel or '?'} in {self.seconds_to_pay} s at {self.location_id}"


class FunnelSummarisedDay(models.Model):
    """A closed Jakarta day whose FunnelDay and FunnelPayments rows (every machine's) are written,
    and when: a day without this row is counted from the sales. Its row lock serialises two
    summarise_funnel runs rewriting the same day."""

    day = models.DateField(primary_key=True)
    summarised_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day} summarised at {self.summarised_at}"
