from django.conf import settings
from django.db import models


class Location(models.Model):
    """A photo booth machine at a venue (a kiosk)."""

    machine_code = models.CharField(
        max_length=50, unique=True, help_text="The code printed on the machine, e.g. PB-001."
    )
    name = models.CharField(max_length=200, help_text="Where the machine stands, e.g. Mall Taman Anggrek.")
    address = models.CharField(max_length=500, blank=True)
    is_active = models.BooleanField("active", default=True, help_text="Inactive machines cannot start new sales.")
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
