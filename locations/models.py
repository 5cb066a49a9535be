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
