"""Counting how customers use their gallery links, for the funnel (backoffice/funnel.py).

Counters only: no address, no user agent, nothing that tells who opened a gallery. Each count is
one statement (an upsert on the sale's GalleryVisits row), so a bot or a refresh storm on a link
adds one short write per request and never a read-then-write race: concurrent counts add up.
"""

from enum import StrEnum

from django.db import connection
from django.utils import timezone


class Visit(StrEnum):
    OPEN = "opens"
    ZIP_DOWNLOAD = "zip_downloads"
    PHOTO_DOWNLOAD = "photo_downloads"


# The first visit makes the row; later ones add to it under the row lock PostgreSQL takes for the
# update. Plain SQL both PostgreSQL and SQLite (the demo) run; the table name is the model's.
_UPSERT = """
INSERT INTO gallery_galleryvisits (sale_id, first_opened_at, opens, zip_downloads, photo_downloads)
VALUES (%(sale_id)s, %(now)s, %(opens)s, %(zip_downloads)s, %(photo_downloads)s)
ON CONFLICT (sale_id) DO UPDATE SET
    opens = gallery_galleryvisits.opens + excluded.opens,
    zip_downloads = gallery_galleryvisits.zip_downloads + excluded.zip_downloads,
    photo_downloads = gallery_galleryvisits.photo_downloads + excluded.photo_downloads
"""


def count_visit(*, sale_id: int, visit: Visit) -> None:
    """Add one page open, ZIP download or single photo download to the sale's counters."""
    with connection.cursor() as cursor:
        params = {"sale_id": sale_id, "now": timezone.now()} | {kind.value: int(kind is visit) for kind in Visit}
        cursor.execute(_UPSERT, params)
