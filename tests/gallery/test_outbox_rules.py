"""The email outbox's rules as staff and customers see them: which refusals are final, when an email
a killed worker left half-sent is taken over, what a sent email records on its row and its sale
(and on no other sale), the log line of a sent email, and a staff alert's retries.

The mail server is a fake email backend answering each send with the next scripted refusal
(smtplib's own exceptions, as Django's SMTP backend raises them), then accepting."""

import logging
import smtplib
from datetime import timedelta
from typing import ClassVar

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gallery import services
from gallery.models import EmailKind, EmailOutbox, EmailStatus
from gallery.outbox import queue_customer_email, queue_staff_alerts, send_email
from payments.models import SaleStatus

pytestmark = pytest.mark.django_db


class ScriptedMailServer(BaseEmailBackend):
    """Raises the next of `answers` (an exception) for each send, then delivers to mail.outbox."""

    answers: ClassVar[list[BaseException]] = []

    def send_messages(self, email_messages):
        if self.answers:
            raise self.answers.pop(0)
        mail.outbox.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def mail_server(settings, mailoutbox) -> list[BaseException]:
    settings.EMAIL_BACKEND = f"{__name__}.ScriptedMailServer"
    ScriptedMailServer.answers = answers = []
    yield answers
    ScriptedMailServer.answers = []


@pytest.fixture
def ready(make_sale, make_photo):
    """A paid sale whose photos are stored, and its queued email."""

    def make(**fields):
        fields.setdefault("status", SaleStatus.COMPLETED)
        sale = make_sale(**fields)
        make_photo(sale, 1)
        return sale, queue_customer_email(sale=sale)

    return make


def staff_alert(**fields) -> EmailOutbox:
    queue_staff_alerts(
        alerts=[("offline:PB-001", "PB-001 is offline", "Since 10:00")],
        recipients=["ops@example.com"],
        now=fields.pop("now", timezone.now()),
    )
    outbox = EmailOutbox.objects.get(kind=EmailKind.STAFF_ALERT)
    if fields:
        EmailOutbox.objects.filter(pk=outbox.pk).update(**fields)
        outbox.refresh_from_db()
    return outbox


@pytest.mark.parametrize(
    ("code", "status"),
    [(500, EmailStatus.FAILED), (501, EmailStatus.FAILED), (451, EmailStatus.PENDING), (499, EmailStatus.PENDING)],
)
def test_a_sender_refused_with_a_5xx_code_is_final_and_with_4xx_retried(ready, mail_server, code, status):
    mail_server.append(smtplib.SMTPSenderRefused(code, b"sender refused", "noreply@photobox.example"))
    _, outbox = ready()

    assert send_email(outbox=outbox) is False

    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (status, 1)
    assert outbox.last_error.startswith("SMTPSenderRefused")


def test_an_email_whose_worker_was_killed_mid_send_is_taken_over_ten_minutes_after_its_claim(ready, mail_server):
    """Queued long ago (a retry), claimed now, then the worker is killed (a gunicorn timeout raises
    SystemExit): the claim counts from now, so no other worker sends it again for 10 minutes."""
    sale, outbox = ready()
    EmailOutbox.objects.filter(pk=outbox.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    mail_server.append(SystemExit(1))
    claimed_at = timezone.now()

    with pytest.raises(SystemExit):
        send_email(outbox=outbox, now=claimed_at)

    assert send_email(outbox=outbox, now=claimed_at + timedelta(minutes=9)) is False
    assert mail.outbox == []
    assert send_email(outbox=outbox, now=claimed_at + timedelta(minutes=11)) is True
    assert [m.to for m in mail.outbox] == [[sale.email]]


def test_a_sent_email_records_when_on_its_row_and_its_sale_only(ready, make_sale, mail_server, caplog):
    waiting = make_sale(status=SaleStatus.COMPLETED)  # paid, its photos not uploaded yet
    sale, outbox = ready()
    caplog.set_level(logging.INFO, logger="gallery")

    assert send_email(outbox=outbox) is True

    outbox.refresh_from_db()
    sale.refresh_from_db()
    waiting.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.SENT, 1)
    assert outbox.updated_at == outbox.sent_at == sale.email_sent_at == sale.updated_at
    assert waiting.email_sent_at is None
    [record] = [r for r in caplog.records if r.name == "gallery"]
    assert record.getMessage() == f"customer email sent external_id={sale.external_id} attempts=1"
    assert record.external_id == sale.external_id


def test_a_resent_email_keeps_the_time_the_first_one_went_out(ready, mail_server):
    """The sale's email_sent_at starts the photos' retention clock: a resend does not restart it."""
    sale, outbox = ready()
    send_email(outbox=outbox)
    sale.refresh_from_db()
    first = sale.email_sent_at

    services.resend_customer_email(sale=sale)

    sale.refresh_from_db()
    assert len(mail.outbox) == 2
    assert sale.email_sent_at == first


def test_sending_the_email_reads_its_sale_with_the_machine_and_the_price_in_one_statement(ready, mail_server):
    _, outbox = ready(send_invoice=True)  # the invoice names the machine and the package

    with CaptureQueriesContext(connection) as statements:
        assert send_email(outbox=outbox) is True

    alone = [
        q["sql"]
        for q in statements.captured_queries
        if q["sql"].startswith("SELECT")
        and ('FROM "locations_location"' in q["sql"] or 'FROM "pricing_price"' in q["sql"])
    ]
    assert alone == []


def test_a_staff_alert_is_stored_as_queued_at_the_time_of_its_run(db):
    run_at = timezone.now() - timedelta(minutes=3)

    outbox = staff_alert(now=run_at)

    assert (outbox.created_at, outbox.next_attempt_at) == (run_at, run_at)


def test_a_staff_alert_the_server_refuses_for_good_is_given_up_at_once(mail_server):
    mail_server.append(smtplib.SMTPRecipientsRefused({"ops@example.com": (550, b"5.1.1 User unknown")}))
    outbox = staff_alert()

    assert send_email(outbox=outbox) is False

    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.FAILED, 1)
    assert "User unknown" in outbox.last_error


def test_a_staff_alert_is_given_up_on_its_last_allowed_attempt(mail_server, settings):
    settings.EMAIL_MAX_ATTEMPTS = 3
    mail_server.append(smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    outbox = staff_alert(attempts=2)

    assert send_email(outbox=outbox) is False

    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.FAILED, 3)
