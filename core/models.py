from django.db import models


class RateLimitCounter(models.Model):
    """One client's count in one rate-limit window, when the shared cache is the database.

    Counted with one atomic upsert (INSERT … ON CONFLICT … DO UPDATE … RETURNING), so parallel
    requests on many processes never read the same count: Django's database cache `incr` reads and
    then writes, and let 20 of 40 parallel requests through a limit of 10.
    """

    key = models.CharField(max_length=200, primary_key=True)
    count = models.PositiveIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
