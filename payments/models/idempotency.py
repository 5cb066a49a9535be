"""The first answers to create requests carrying an Idempotency-Key."""

from django.db import models
from django.utils import timezone

from payments.models.sale import Sale


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
