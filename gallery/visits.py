"""Counting how customers use their gallery links, for the funnel (backoffice/funnel.py).

Counters only: no address, no user agent, nothing that tells who opened a gallery. Each count is
one statement (an upsert on the sale's GalleryVisits row), so a bot or a refresh storm on a link
adds one short write per request and never a read-then-write race: concurrent counts add up.
"""

from enum import StrEnum

from django.db import connection


class Visit(StrEnum):
    OPEN = "opens"
    ZIP_DOWNLOAD = "zip_downloads"
    PHOTO_DOWNLOAD = "photo_downloads"


# The first visit makes the row (first_opened_at = now()); later ones add to it under the row lock
# PostgreSQL takes for the update. The table name is fixed by the model (gallery_galleryvisits).
_UPSERT = """
INSERT INTO gallery_galleryvisits AS v (sale_id, first_opened_at, opens, zip_downloads, photo_downloads)
VALUES (%(sale_id)s, now(), %(opens)s, %(zip_downloads)s, %(photo_downloads)s)
ON CONFLICT (sale_id) DO UPDATE SET
    opens = v.opens + EXCLUDED.opens,
    zip_downloads = v.zip_downloads + EXCLUDED.zip_downloads,
    photo_downloads = v.photo_downloads + EXCLUDED.photo_downloads
"""


def count_visit(*, sale_id: int, visit: Visit) -> None:
    """Add one page open, ZIP download or single photo download to the sale's counters."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, {"sale_id": sale_id} | {kind.value: int(kind is visit) for kind in Visit})
