from datetime import time

from django.conf import settings
from django.db import models
from django.db.models import Q

# Opening hours when staff have not set them: 10:00 to 22:00, Jakarta time (WIB), a mall's day.
DEFAULT_OPENS_AT = time(10, 0)
DEFAULT_CLOSES_AT = time(22, 0)


class Location(models.Model):
    """A photo booth machine at a venue (a kiosk)."""

    machine_code = models.CharField(
        max_length=50, unique=True, help_text="The code printed on the machine, e.g. PB-001."
    )
    name = models.CharField(max_length=200, help_text="Where the machine stands, e.g. Mall Taman Anggrek.")
    address = models.CharField(max_length=500, blank=True)
    is_active = models.BooleanField("active", default=True, help_text="Inactive machines cannot start new sales.")
    city = models.CharField(max_length=100, blank=True, db_default="", help_text="For the fleet board's filter.")
    needs_printer = models.BooleanField(
        default=False,
        db_default=False,
        help_text="The machine sells prints: when its kiosk reports the printer out of paper, it stops selling.",
    )
    opens_at = models.TimeField(
        default=DEFAULT_OPENS_AT, db_default=DEFAULT_OPENS_AT, help_text="Opening time, Jakarta time (WIB)."
    )
    closes_at = models.TimeField(
        default=DEFAULT_CLOSES_AT, db_default=DEFAULT_CLOSES_AT, help_text="Closing time, Jakarta time (WIB)."
    )
    # Set by staff ("Take out of service", with a note) and cleared by "Back in service":
    # locations.services.take_out_of_service / put_back_in_service.
    out_of_service_since = models.DateTimeField(null=True, blank=True, editable=False)
    out_of_service_note = models.CharField(max_length=500, blank=True, db_default="", editable=False)
    out_of_service_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["machine_code"]

    def __str__(self) -> str:
        return f"{self.machine_code} – {self.name}"


class KioskKey(models.Model):
    """A kiosk's API key: the kiosk sends `Authorization: Bearer pbk_...` and may then sell and
    upload for this location only.

    Only the SHA-256 of the secret is stored (the secret is 256 random bits, so a fast hash is
    enough: nothing to brute-force); staff see it once, when it is made, and afterwards only its
    prefix. A location has at most two active keys, so a kiosk can be given a new key before the
    old one is revoked (rotation without downtime).
    """

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="kiosk_keys")
    label = models.CharField(max_length=100, help_text="Which machine or install this key is for, e.g. 'PB-001 2026'.")
    device_name = models.CharField(
        max_length=100, blank=True, db_default="", help_text="The device that activated with a code and holds this key."
    )
    prefix = models.CharField(max_length=16, help_text="The key's first characters, to recognise it: pbk_ab12cd34.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False, help_text="SHA-256 of the key, hex.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="Updated at most once a minute.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["location", "-created_at"]
        indexes = [models.Index(fields=["location", "revoked_at"], name="kioskkey_location_active")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.label})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# --- The machine as its kiosk reports it ----------------------------------------------------------
class ReportedStatus(models.TextChoices):
    OK = "ok", "ok"
    DEGRADED = "degraded", "degraded"
    OUT_OF_SERVICE = "out_of_service", "out of service"


class PrinterStatus(models.TextChoices):
    OK = "ok", "ok"
    PAPER_LOW = "paper_low", "paper low"
    PAPER_OUT = "paper_out", "paper out"
    ERROR = "error", "error"


class CameraStatus(models.TextChoices):
    OK = "ok", "ok"
    ERROR = "error", "error"


class MachineStatus(models.Model):
    """The latest heartbeat of a machine's kiosk: one row per location, overwritten by every beat
    (locations.heartbeats.record_heartbeat; no row per beat). Whether the machine is online, stale,
    offline or out of service is derived from it when asked (locations.selectors), never stored."""

    location = models.OneToOneField(Location, on_delete=models.CASCADE, primary_key=True, related_name="machine_status")
    beat_at = models.DateTimeField(help_text="When the last heartbeat arrived (server time).")
    status = models.CharField(max_length=20, choices=ReportedStatus.choices)
    printer_status = models.CharField(max_length=20, choices=PrinterStatus.choices, blank=True)
    prints_left = models.PositiveIntegerField(null=True, blank=True)
    camera_status = models.CharField(max_length=20, choices=CameraStatus.choices, blank=True)
    app_version = models.CharField(max_length=50, blank=True)
    message = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.location_id}: {self.status} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class IncidentKind(models.TextChoices):
    OFFLINE = "offline", "offline"
    PAPER_LOW = "paper_low", "paper low"
    PAPER_OUT = "paper_out", "paper out"
    PRINTER_ERROR = "printer_error", "printer error"
    CAMERA_ERROR = "camera_error", "camera error"
    OUT_OF_SERVICE = "out_of_service", "out of service (reported)"


class MachineIncident(models.Model):
    """A stretch of time something was wrong with a machine: opened when a heartbeat first reports
    it, ended when one no longer does (locations.heartbeats). At most one open incident of each kind
    per machine (a database constraint), so whoever opens one (a heartbeat, later `watch_fleet` for
    `offline`) can insert and ignore the conflict."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="incidents")
    kind = models.CharField(max_length=20, choices=IncidentKind.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    # When staff were alerted that it started, and that it ended (backoffice/alerts.py: each set
    # once, by a conditional UPDATE, so two `watch_fleet` runs at once alert once).
    alerted_at = models.DateTimeField(null=True, blank=True)
    resolved_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "kind"], condition=Q(ended_at__isnull=True), name="incident_one_open_per_kind"
            )
        ]
        indexes = [models.Index(fields=["started_at"], condition=Q(ended_at__isnull=True), name="incident_open_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.location_id} since {self.started_at:%Y-%m-%d %H:%M}"


class ActivationCode(models.Model):
    """A one-time code staff give a kiosk installer: typed on the kiosk, it gets the kiosk its key
    (locations.activation). Only a keyed hash (HMAC with SECRET_KEY) of the 6 digits is stored: a
    plain hash of a million possible codes would be reversed at once. `ended_at` is set when the code
    is used (`kiosk_key`), replaced by a newer code for the machine, or found expired; an open code's
    hash is unique, so a code names one machine."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="activation_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    kiosk_key = models.OneToOneField(
        KioskKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="activation_code"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["code_hash"], condition=Q(ended_at__isnull=True), name="activation_code_open_unique"
            )
        ]

    def __str__(self) -> str:
        return f"activation code for {self.location_id}, {self.created_at:%Y-%m-%d %H:%M}"
