"""Several instances behind one load balancer: real server processes, each with its own memory,
share one rate limit through the shared cache (the database's cache table, or Redis); the cron
commands run by every instance at the same moment still do each piece of work once.

These start real processes against the test database, so they need PostgreSQL (the SQLite test
database lives in this process's memory)."""

import io
import re
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from PIL import Image

from core.formats import JAKARTA, jakarta_day_start
from gallery.funnel import Counts, funnel
from gallery.funnel_sources import sources
from gallery.models import EmailKind, EmailOutbox, EmailStatus, FunnelDay
from payments.models import Sale, SaleStatus
from tests.support.live_instances import instance_environment, instances
from tests.support.processes import PROJECT_ROOT

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def away_from_an_hours_end() -> None:
    """The limit below counts per hour: do not straddle the hour's end."""
    into_the_hour = time.time() % 3600
    if into_the_hour > 3600 - 30:
        time.sleep(3600 - into_the_hour + 1)


@pytest.mark.parametrize("cache", ["database", "redis"])
def test_two_worker_processes_share_one_limit(cache):
    values = {"RATE_LIMIT_PHOTO_MISSES": "3/hour", "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    if cache == "redis":
        values["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    away_from_an_hours_end()

    with instances(2, **values) as (first, second):
        # The load balancer spreads one client's photo-list misses over both instances; the client
        # also writes a new X-Forwarded-For each time, which changes nothing.
        misses = [
            requests.get(
                f"{url}/api/v1/transactions/TRX-1-NOPE{n}/photos",
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
                timeout=10,
            )
            for n, url in enumerate((first, second, first))
        ]
        on_second = requests.get(f"{second}/api/v1/transactions/TRX-1-NOPE9/photos", timeout=10)
        on_first = requests.get(f"{first}/api/v1/transactions/TRX-1-NOPE10/photos", timeout=10)

    assert [r.status_code for r in misses] == [404, 404, 404]
    for limited in (on_second, on_first):
        assert limited.status_code == 429
        assert limited.json()["message"] == "Too many requests"
        assert 1 <= int(limited.headers["Retry-After"]) <= 3600


# --- Cron on every instance -------------------------------------------------------------------------


def run_on_every_instance(count: int, command: list[str], **values: str) -> list[str]:
    """`manage.py <command>` started by `count` instances at the same moment; their outputs."""
    environment = instance_environment(**values)
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", *command],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        outputs.append(stdout)
    return outputs


def test_expire_sales_on_every_instance_expires_each_sale_once(make_sale):
    long_ago = timezone.now() - timedelta(hours=1)
    overdue = [make_sale(created_at=long_ago, expires_at=long_ago + timedelta(minutes=15)) for _ in range(6)]
    pending = make_sale()

    outputs = run_on_every_instance(3, ["expire_sales"])

    expired = [int(re.search(r"expired (\d+)", output).group(1)) for output in outputs]
    assert sum(expired) == 6
    assert set(Sale.objects.filter(pk__in=[s.pk for s in overdue]).values_list("status", flat=True)) == {
        SaleStatus.EXPIRED
    }
    pending.refresh_from_db()
    assert pending.status == SaleStatus.PENDING


def test_send_emails_on_every_instance_sends_each_email_once(make_sale):
    sales = [make_sale(status=SaleStatus.COMPLETED, email=f"customer{n}@example.com") for n in range(5)]
    for sale in sales:
        EmailOutbox.objects.create(sale=sale, kind=EmailKind.CUSTOMER_PHOTOS)

    outputs = run_on_every_instance(3, ["send_emails"])

    # Without MAIL_SERVER the emails go to the console (stdout): each customer's exactly once.
    printed = "".join(outputs)
    for sale in sales:
        assert printed.count(f"To: {sale.email}") == 1, sale.email
    assert set(EmailOutbox.objects.values_list("status", "attempts")) == {(EmailStatus.SENT, 1)}


def test_cleanup_on_every_instance_deletes_each_folder_once(make_sale, make_photo, tmp_path):
    sent_long_ago = timezone.now() - timedelta(days=30)
    sales = []
    for n in range(4):
        sale = make_sale(status=SaleStatus.COMPLETED, email_sent_at=sent_long_ago, paid_at=sent_long_ago)
        key = f"photobox/{sale.external_id}/01.jpg"
        path = tmp_path / key
        path.parent.mkdir(parents=True)
        image = io.BytesIO()
        Image.new("RGB", (8, 8), (n, 0, 0)).save(image, "JPEG")
        path.write_bytes(image.getvalue())
        make_photo(sale, storage_key=key, bytes=len(image.getvalue()), width=8, height=8, stored_at=sent_long_ago)
        sales.append(sale)

    outputs = run_on_every_instance(3, ["cleanup"], MEDIA_ROOT=str(tmp_path))

    deleted = re.findall(r"^deleted (TRX-\S+)$", "".join(outputs), flags=re.MULTILINE)
    assert sorted(deleted) == sorted(sale.external_id for sale in sales), "each folder deleted by one instance"
    assert Sale.objects.filter(photos_deleted_at__isnull=True, pk__in=[s.pk for s in sales]).count() == 0
    assert not list(tmp_path.rglob("*.jpg"))


def test_summarise_funnel_on_every_instance_leaves_each_day_summarised_once(make_sale, make_location):
    today = timezone.localdate(timezone=JAKARTA)
    other = make_location(machine_code="PB-002")
    for days_ago in (3, 2, 1, 0):
        started = jakarta_day_start(today - timedelta(days=days_ago)) + timedelta(hours=10)
        make_sale(status=SaleStatus.COMPLETED, created_at=started, paid_at=started + timedelta(seconds=70))
        make_sale(location=other, created_at=started)

    outputs = run_on_every_instance(3, ["summarise_funnel"])

    assert all(output.startswith(("summarised ", "nothing to summarise")) for output in outputs), outputs
    period = sources(date_from=today - timedelta(days=3), date_to=today)
    assert period.summarised_days == [today - timedelta(days=days_ago) for days_ago in (3, 2, 1)]
    assert FunnelDay.objects.count() == 3 * 2  # each closed day once per machine
    assert funnel(sources=period).totals == Counts(started=8, paid=4)
