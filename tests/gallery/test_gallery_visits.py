"""Gallery opens and downloads are counted per sale, for the funnel: counters only, one statement
a request, and concurrent visits add up."""

import hashlib
import os
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gallery.models import GalleryVisits, Photo
from payments.models import Sale, SaleStatus
from tests.support.concurrency import run_concurrently

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def local_media(settings, tmp_path):
    settings.PHOTO_STORAGE = "local"
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def gallery(make_sale, local_media) -> Sale:
    """A paid sale with two stored photos."""
    sale = make_sale(status=SaleStatus.COMPLETED)
    for position in (1, 2):
        key = f"photos/{sale.external_id}/{position:02d}.jpg"
        content = os.urandom(50)
        (local_media / key).parent.mkdir(parents=True, exist_ok=True)
        (local_media / key).write_bytes(content)
        Photo.objects.create(
            sale=sale, position=position, storage_key=key, url=f"http://127.0.0.1:8000/media/{key}",
            bytes=len(content), width=40, height=30, format="JPEG", checksum=hashlib.sha256(content).hexdigest(),
            stored_at=timezone.now(),
        )  # fmt: skip
    return sale


def page(sale: Sale) -> str:
    return f"/gallery/{sale.external_id}/{sale.gallery_key}"


def visits(sale: Sale) -> tuple[int, int, int] | None:
    return GalleryVisits.objects.filter(sale=sale).values_list("opens", "zip_downloads", "photo_downloads").first()


def test_an_unopened_gallery_has_no_visits(gallery):
    assert visits(gallery) is None


def test_opening_the_gallery_counts_an_open_and_remembers_the_first(client, gallery):
    client.get(page(gallery))
    first = GalleryVisits.objects.get(sale=gallery).first_opened_at
    client.get(page(gallery))

    assert visits(gallery) == (2, 0, 0)
    assert GalleryVisits.objects.get(sale=gallery).first_opened_at == first
    assert timezone.now() - first < timedelta(minutes=1)


def test_the_zip_and_each_photo_download_are_counted(client, gallery):
    assert client.get(page(gallery) + "/download").status_code == 200
    photo = client.get(page(gallery) + "/photos/2/download")

    assert photo.status_code == 302
    assert photo["Location"].endswith(f"02.jpg?download=photobox-{gallery.external_id}-02.jpg")
    assert visits(gallery) == (0, 1, 1)


def test_a_photo_number_the_gallery_does_not_have_is_not_found_and_not_counted(client, gallery):
    for number in (0, 3, 10**30):
        assert client.get(page(gallery) + f"/photos/{number}/download").status_code == 404
    assert visits(gallery) is None


def test_wrong_keys_unpaid_sales_and_head_requests_count_nothing(client, gallery, make_sale):
    unpaid = make_sale(status=SaleStatus.PENDING)

    assert client.get(f"/gallery/{gallery.external_id}/wrong-key").status_code == 404
    assert client.get(page(unpaid)).status_code == 404
    assert client.head(page(gallery)).status_code == 200  # a link checker, not a customer

    assert not GalleryVisits.objects.exists()


def test_waiting_and_expired_pages_are_opens_too(client, make_sale):
    waiting = make_sale(status=SaleStatus.COMPLETED)
    expired = make_sale(status=SaleStatus.COMPLETED, photos_deleted_at=timezone.now())

    assert client.get(page(waiting)).status_code == 200
    assert client.get(page(expired)).status_code == 410

    assert visits(waiting) == visits(expired) == (1, 0, 0)


def test_counting_is_one_statement_that_stores_no_address_or_user_agent(client, gallery):
    client.get(page(gallery))
    with CaptureQueriesContext(connection) as queries:
        client.get(page(gallery), HTTP_USER_AGENT="Bot/1.0", REMOTE_ADDR="203.0.113.9")

    writes = [q["sql"] for q in queries if "gallery_galleryvisits" in q["sql"]]
    assert len(writes) == 1
    assert writes[0].lstrip().startswith("INSERT")
    assert {field.name for field in GalleryVisits._meta.get_fields()} == {
        "sale", "first_opened_at", "opens", "zip_downloads", "photo_downloads",
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_refresh_storm_counts_every_open_exactly(gallery):
    """Twelve phones open the same link at once, the first visit included: no lost update, one row."""

    def open_gallery(_: int) -> int:
        return Client().get(page(gallery)).status_code

    assert run_concurrently(open_gallery, 12) == [200] * 12
    assert visits(gallery) == (12, 0, 0)
