"""Staff alerts (`manage.py watch_fleet`, every minute): one email to STAFF_ALERT_EMAILS per machine
incident, sale needing review and customer email that gave up, one "resolved" email when an
incident ends, never the same twice, even from two runs at once."""

import io
from datetime import time, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from backoffice.alerts import watch_fleet
from gallery.models import EmailKind, EmailOutbox, EmailStatus
from gallery.services import send_due_emails
from locations.heartbeats import Beat, record_heartbeat
from locations.models import MachineIncident, MachineStatus
from payments import transitions
from payments.models import SaleStatus
from tests.support.concurrency import run_concurrently
from tests.support.mail import DISCONNECTING

STAFF = ["ops@example.com", "lead@example.com"]


@pytest.fixture
def alerts_on(settings):
    settings.STAFF_ALERT_EMAILS = STAFF
    settings.API_BASE_URL = "https://photobox.example"
    return settings


@pytest.fixture
def machine(make_location):
    """Open all day, so the tests do not depend on the hour they run at."""
    return make_location(machine_code="PB-101", name="Grand Indonesia", opens_at=time(0, 0), closes_at=time(0, 0))


def subjects(mailoutbox) -> list[str]:
    return [message.subject for message in mailoutbox]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("beat", "what"),
    [
        (Beat(status="degraded", printer_status="paper_low", prints_left=12), "paper low"),
        (Beat(status="degraded", printer_status="paper_out", prints_left=0), "paper out"),
        (Beat(status="degraded", printer_status="error"), "printer error"),
        (Beat(status="degraded", camera_status="error"), "camera error"),
        (Beat(status="out_of_service", message="maintenance"), "out of service (reported)"),
    ],
)
def test_each_reported_problem_is_alerted_once_and_once_more_when_it_clears(alerts_on, machine, mailoutbox, beat, what):
    record_heartbeat(location=machine, beat=beat)
    watch_fleet()
    watch_fleet()

    assert subjects(mailoutbox) == [f"[Photobox] PB-101 (Grand Indonesia): {what}"]
    assert mailoutbox[0].to == STAFF
    assert "Fleet board: https://photobox.example/admin/locations/location/fleet/" in mailoutbox[0].body
    assert MachineIncident.objects.get().alerted_at is not None

    record_heartbeat(location=machine, beat=Beat(status="ok", printer_status="ok", camera_status="ok"))
    watch_fleet()
    watch_fleet()

    assert subjects(mailoutbox)[1:] == [f"[Photobox] Resolved: PB-101 (Grand Indonesia): {what}"]
    assert MachineIncident.objects.get().resolved_alerted_at is not None


@pytest.mark.django_db
def test_a_machine_offline_in_opening_hours_is_alerted_and_resolved(alerts_on, machine, mailoutbox):
    MachineStatus.objects.create(location=machine, beat_at=timezone.now() - timedelta(minutes=11), status="ok")
    watch_fleet()
    watch_fleet()
    assert subjects(mailoutbox) == ["[Photobox] PB-101 (Grand Indonesia): offline"]

    record_heartbeat(location=machine, beat=Beat(status="ok"))
    watch_fleet()
    assert subjects(mailoutbox)[1:] == ["[Photobox] Resolved: PB-101 (Grand Indonesia): offline"]
    assert "after 11 minutes" in mailoutbox[1].body


@pytest.mark.django_db
def test_a_problem_that_cleared_before_any_run_is_not_alerted(alerts_on, machine, mailoutbox):
    record_heartbeat(location=machine, beat=Beat(status="degraded", printer_status="paper_low"))
    record_heartbeat(location=machine, beat=Beat(status="ok", printer_status="ok"))
    watch_fleet()
    assert mailoutbox == []


@pytest.mark.django_db
def test_each_sale_landing_in_the_review_queue_is_alerted_once(alerts_on, make_sale, mailoutbox):
    sale = make_sale(status=SaleStatus.COMPLETED)
    transitions.flag(sale=sale, reason="Paid 30.000 instead of 40.000")
    watch_fleet()
    watch_fleet()

    assert subjects(mailoutbox) == [f"[Photobox] Sale {sale.external_id} needs review"]
    assert "Paid 30.000 instead of 40.000" in mailoutbox[0].body
    assert f"/admin/payments/sale/{sale.pk}/change/" in mailoutbox[0].body


@pytest.mark.django_db
def test_a_customer_email_that_gave_up_is_alerted_once(alerts_on, make_sale, make_photo, mailoutbox):
    sale = make_sale(status=SaleStatus.COMPLETED, email="typo@exmaple.com")
    make_photo(sale, 1)
    EmailOutbox.objects.create(
        sale=sale, kind=EmailKind.CUSTOMER_PHOTOS, status=EmailStatus.FAILED, last_error="SMTPRecipientsRefused"
    )
    watch_fleet()
    watch_fleet()

    assert subjects(mailoutbox) == [f"[Photobox] Customer email gave up: {sale.external_id}"]
    assert "typo@exmaple.com" in mailoutbox[0].body
    assert "SMTPRecipientsRefused" in mailoutbox[0].body


@pytest.mark.django_db
def test_old_reviews_and_given_up_emails_do_not_flood_staff_when_alerts_are_switched_on(
    alerts_on, make_sale, make_photo, mailoutbox
):
    old = timezone.now() - timedelta(days=3)
    reviewed = make_sale(status=SaleStatus.COMPLETED)
    transitions.flag(sale=reviewed, reason="late payment")
    reviewed.reviews.update(at=old)
    failed = make_sale(status=SaleStatus.COMPLETED)
    make_photo(failed, 1)
    email = EmailOutbox.objects.create(sale=failed, kind=EmailKind.CUSTOMER_PHOTOS, status=EmailStatus.FAILED)
    EmailOutbox.objects.filter(pk=email.pk).update(updated_at=old)

    watch_fleet()
    assert mailoutbox == []


@pytest.mark.django_db
def test_without_staff_addresses_nothing_is_queued_and_the_command_says_so(settings, machine, mailoutbox):
    settings.STAFF_ALERT_EMAILS = []
    record_heartbeat(location=machine, beat=Beat(status="degraded", camera_status="error"))

    out = io.StringIO()
    call_command("watch_fleet", stdout=out)

    assert "STAFF_ALERT_EMAILS is empty: no alerts are sent" in out.getvalue()
    assert mailoutbox == []
    assert not EmailOutbox.objects.exists()
    assert MachineIncident.objects.get().alerted_at is None


@pytest.mark.django_db
def test_the_command_reports_what_it_did(alerts_on, machine, mailoutbox, capsys):
    record_heartbeat(location=machine, beat=Beat(status="degraded", camera_status="error"))
    call_command("watch_fleet")
    assert capsys.readouterr().out.strip() == "offline incidents: 0 opened, 0 ended; alerts: 1 queued, 1 sent"


@pytest.mark.django_db
def test_an_alert_the_mail_server_refused_is_retried_by_send_emails_like_a_customer_email(
    alerts_on, machine, mailoutbox
):
    alerts_on.EMAIL_BACKEND = DISCONNECTING
    record_heartbeat(location=machine, beat=Beat(status="degraded", printer_status="paper_out"))
    watch_fleet()
    email = EmailOutbox.objects.get(kind=EmailKind.STAFF_ALERT)
    assert (email.status, email.attempts) == (EmailStatus.PENDING, 1)

    alerts_on.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    report = send_due_emails(now=timezone.now() + timedelta(minutes=2))
    assert report.sent == 1
    assert subjects(mailoutbox) == ["[Photobox] PB-101 (Grand Indonesia): paper out"]
    watch_fleet()
    assert len(mailoutbox) == 1


@pytest.mark.postgresql  # real threads at once: PostgreSQL's row locks, not SQLite's table lock
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_alert_once(alerts_on, make_location, make_sale, mailoutbox):
    machines = [make_location(opens_at=time(0, 0), closes_at=time(0, 0)) for _ in range(4)]
    for machine in machines[:2]:
        record_heartbeat(location=machine, beat=Beat(status="degraded", printer_status="paper_low"))
    for machine in machines[2:]:
        MachineStatus.objects.create(location=machine, beat_at=timezone.now() - timedelta(hours=1), status="ok")
    transitions.flag(sale=make_sale(status=SaleStatus.COMPLETED), reason="amount differs")

    for _ in range(3):
        results = run_concurrently(lambda _: watch_fleet(), 2)
        assert not [r for r in results if isinstance(r, Exception)], results

    assert MachineIncident.objects.filter(kind="offline").count() == 2
    assert EmailOutbox.objects.filter(kind=EmailKind.STAFF_ALERT).count() == 5
    assert len(mailoutbox) == 5
    assert len(set(subjects(mailoutbox))) == 5

    for machine in machines:
        record_heartbeat(location=machine, beat=Beat(status="ok", printer_status="ok"))
    for _ in range(3):
        run_concurrently(lambda _: watch_fleet(), 2)
    assert sum(subject.startswith("[Photobox] Resolved:") for subject in subjects(mailoutbox)) == 4
    assert len(mailoutbox) == 9
