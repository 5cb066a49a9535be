"""The customer's email: what it says (Indonesian by default), and that it reaches a real SMTP
server once, over plain SMTP, STARTTLS or implicit TLS, with retries when the server or the ESP
is down and no retries when the address is refused."""

import email
import email.policy
import ipaddress
import logging
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailRecipientStatus
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from core.formats import rupiah
from gallery import selectors, services
from gallery.emails import build_customer_email
from gallery.models import EmailOutbox, EmailStatus, Photo
from gallery.outbox import gallery_url, queue_customer_email, queue_staff_alerts, retry_delay, send_email
from payments.models import SaleStatus
from tests.support.concurrency import run_concurrently
from tests.support.processes import PRODUCTION, PROJECT_ROOT, SETTINGS_VARIABLES

pytestmark = pytest.mark.django_db

JAKARTA = ZoneInfo("Asia/Jakarta")
MONTHS_ID = "Januari Februari Maret April Mei Juni Juli Agustus September Oktober November Desember".split()  # noqa: SIM905
SUBJECT_ID = "Foto Photobox Anda Sudah Siap!"
SUBJECT_ID_INVOICE = "Invoice & Foto Photobox Anda Sudah Siap!"
CUSTOMER = "customer@example.com"


def local_date(moment: datetime) -> str:
    """`11 Desember 2026`: the day in Jakarta, written as Indonesians write it."""
    local = moment.astimezone(JAKARTA)
    return f"{local.day} {MONTHS_ID[local.month - 1]} {local.year}"


@pytest.fixture
def photographed(make_sale, make_photo):
    """A paid sale whose photos are all stored: ready for its email."""

    def make(photo_count: int = 3, **fields):
        fields.setdefault("status", SaleStatus.COMPLETED)
        sale = make_sale(**fields)
        for position in range(1, photo_count + 1):
            make_photo(sale, position)
        return sale

    return make


def build(sale):
    """The email as built for sending, with its plain-text and HTML bodies."""
    message = build_customer_email(sale=sale, gallery_url=gallery_url(sale))
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message, message.body, html


# --- What the email says --------------------------------------------------------------------
def test_the_email_says_in_indonesian_that_the_photos_are_ready_with_the_gallery_link(photographed):
    sale = photographed(photo_count=4)
    url = gallery_url(sale)

    message, text, html = build(sale)

    assert message.subject == SUBJECT_ID
    assert message.to == [CUSTOMER]
    assert message.from_email == django_settings.DEFAULT_FROM_EMAIL == "Photobox <noreply@photobox.example>"
    assert text.startswith("Halo,\n")
    assert "Terima kasih telah menggunakan Photobox di Mall Taman Anggrek!" in text
    assert "4 foto Anda sudah siap diunduh." in text
    assert url in text.splitlines()
    assert "Lihat & Unduh Foto</a>" in html
    assert f'<a href="{url}"' in html
    assert "Invoice" not in text + html
    assert "LUNAS" not in text + html


def test_the_email_says_until_when_the_link_works_in_jakarta_time(photographed, settings):
    settings.PHOTO_RETENTION_DAYS = 7
    sale = photographed()

    before = timezone.now()
    _, text, html = build(sale)
    after = timezone.now()

    # Counted from now, when the email goes out (the gallery counts from email_sent_at).
    expiry = {local_date(before + timedelta(days=7)), local_date(after + timedelta(days=7))}
    notice = re.search(r"Link ini berlaku selama 7 hari, sampai (\d+ \w+ \d{4}) pukul \d\d:\d\d WIB\.", text)
    assert notice, text
    assert notice[1] in expiry
    assert notice[0] in html
    assert "foto akan dihapus" in text


def test_the_invoice_block_shows_the_payment(photographed):
    # 16 August 18:05 UTC is already 17 August in Jakarta.
    paid_at = datetime(2025, 8, 16, 18, 5, tzinfo=UTC)
    sale = photographed(send_invoice=True, paid_at=paid_at)

    message, text, html = build(sale)

    assert message.subject == SUBJECT_ID_INVOICE
    for body in (text, html):
        assert "Invoice Pembayaran" in body
        assert sale.external_id in body
        assert "17 Agustus 2025, 01:05 WIB" in body
        assert "Rp 40.000" in body
        assert "LUNAS" in body
        assert "Mall Taman Anggrek" in body
        assert "4 photo strips" in body
    invoice_lines = text[text.index("Invoice Pembayaran") :].splitlines()
    assert f"Nomor invoice: {sale.external_id}" in invoice_lines
    assert "Jumlah: Rp 40.000" in invoice_lines
    assert "Status: LUNAS" in invoice_lines
    assert "Tanggal pembayaran: 17 Agustus 2025, 01:05 WIB" in invoice_lines


@pytest.mark.parametrize(("channel", "receipt"), [("DANA", "RCPT-889123"), ("", ""), ("OVO", ""), ("", "RCPT-889123")])
def test_payment_method_and_reference_appear_only_when_known(photographed, channel, receipt):
    sale = photographed(send_invoice=True, payment_channel=channel, payment_receipt_id=receipt)

    _, text, html = build(sale)

    for body in (text, html):
        assert ("Metode pembayaran" in body) == bool(channel)
        assert ("Referensi pembayaran" in body) == bool(receipt)
    if channel:
        assert f"Metode pembayaran: {channel}" in text
    if receipt:
        assert f"Referensi pembayaran: {receipt}" in text


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("40000.00"), "Rp 40.000"),
        (Decimal("1250000.00"), "Rp 1.250.000"),
        (Decimal("40000.50"), "Rp 40.000,50"),
        (Decimal("999.00"), "Rp 999"),
    ],
)
def test_amounts_are_written_the_indonesian_way(photographed, amount, shown):
    sale = photographed(send_invoice=True, amount=amount)

    _, text, html = build(sale)

    assert f"Jumlah: {shown}\n" in text
    assert f">{shown}<" in html


def test_rupiah_formatting():
    assert rupiah(Decimal("40000")) == "Rp 40.000"
    assert rupiah(Decimal("1250000.00")) == "Rp 1.250.000"
    assert rupiah(Decimal("40000.5")) == "Rp 40.000,50"
    assert rupiah(Decimal("0.00")) == "Rp 0"
    assert rupiah(1000000000) == "Rp 1.000.000.000"


def test_with_language_code_en_the_email_is_in_english(photographed, settings):
    settings.LANGUAGE_CODE = "en"
    sale = photographed(send_invoice=True, paid_at=datetime(2025, 6, 15, 7, 30, tzinfo=UTC), payment_channel="DANA")

    message, text, html = build(sale)

    assert message.subject == "Invoice & Your Photobox Photos Are Ready!"
    assert text.startswith("Hello,\n")
    assert "Your 3 photos are ready to download." in text
    assert "Payment Invoice" in text
    assert "Date paid: 15 June 2025, 14:30 WIB" in text
    assert "Status: PAID" in text
    assert "Payment method: DANA" in text
    assert "Amount: Rp 40.000" in text
    assert re.search(r"This link is valid for 14 days, until \d+ [A-Z][a-z]+ \d{4} at \d\d:\d\d WIB\.", text)
    assert "View and Download Photos</a>" in html
    assert "LUNAS" not in text + html
    assert "Halo" not in text + html

    sale.send_invoice = False
    assert build(sale)[0].subject == "Your Photobox Photos Are Ready!"


def test_names_are_escaped_in_html_and_kept_as_written_in_text(photographed, make_location):
    sale = photographed(send_invoice=True, location=make_location(name="Toko A&B <Lt. 2>"))

    _, text, html = build(sale)

    assert "Terima kasih telah menggunakan Photobox di Toko A&B <Lt. 2>!" in text
    assert "Toko A&amp;B &lt;Lt. 2&gt;" in html
    assert "<Lt. 2>" not in html


def test_the_html_needs_nothing_from_outside_the_email(photographed):
    sale = photographed(send_invoice=True)

    _, _, html = build(sale)

    assert not re.search(r"<(script|img|link|style|iframe)\b", html, re.IGNORECASE)
    assert not re.search(r"\son\w+=", html, re.IGNORECASE)  # no event handlers
    # The only URL is the gallery link (button and fallback text link).
    assert set(re.findall(r"https?://[^\s\"'<]+", html)) == {gallery_url(sale)}


# Emoji and pictographs (📸 ⬇ …): a mail app on a PC without an emoji font shows an empty box.
PICTOGRAPHS = re.compile("[\u2300-\u23ff\u2460-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f]")


def test_the_indonesian_email_is_all_indonesian_and_has_no_emoji(photographed):
    sale = photographed(send_invoice=True, payment_channel="DANA", payment_receipt_id="RCPT-889123")

    message, text, html = build(sale)

    for part in (message.subject, text, html):
        assert not PICTOGRAPHS.search(part)
        assert "Download" not in part  # "siap diunduh", so the buttons say "Unduh" too
    assert "Lihat & Unduh Foto</a>" in html
    assert "Unduh semua foto Anda di sini:" in text
    for body in (text, html):
        assert "Silakan unduh foto Anda sebelum tanggal tersebut" in body
    # The invoice's labels around the data (the package's name is the price's description).
    for label in ("Nomor invoice", "Tanggal pembayaran", "Lokasi", "Paket", "Metode pembayaran", "Jumlah"):
        assert f">{label}</td>" in html


def test_the_html_fits_a_360_px_phone(photographed, make_location):
    long_address = "Jl. Letjen S. Parman Kav. 28, Tanjung Duren Selatan, Grogol Petamburan, Jakarta Barat 11470"
    sale = photographed(
        send_invoice=True, payment_channel="SHOPEEPAY", payment_receipt_id="RCPT-" + "9" * 40,
        location=make_location(name="Mall Taman Anggrek Lantai 3", address=long_address),
    )  # fmt: skip

    html = build(sale)[2]

    # Outlook for Windows ignores max-width: its own table ([if mso] comments, which every other
    # mail app skips) holds the email to 600 px there. Everything else is fluid.
    fluid = re.sub(r"<!--\[if mso\]>.*?<!\[endif\]-->", "", html, flags=re.S)
    widths = [int(w) for w in re.findall(r'\bwidth="(\d+)"', fluid)]
    widths += [int(w) for w in re.findall(r"(?<![-\w])(?:min-)?width:\s*(\d+)px", fluid)]
    assert max(widths, default=0) <= 360
    assert "nowrap" not in fluid
    for table in re.findall(r"<table\b[^>]*>", fluid):
        # Full width, or as narrow as its content (the button).
        assert 'width="100%"' in table or "width" not in table, table
    assert "max-width:600px" in fluid
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    # Long words (the sale number, a receipt id, the link) may break instead of widening the email.
    assert html.count("overflow-wrap:anywhere") >= 4
    assert "word-break:break-all" in html


# --- Queueing ---------------------------------------------------------------------------------
def test_a_sale_gets_one_email_however_often_it_is_queued(photographed):
    sale = photographed()

    first = queue_customer_email(sale=sale)
    second = queue_customer_email(sale=sale)

    assert first is not None
    assert second.pk == first.pk
    assert EmailOutbox.objects.filter(sale=sale).count() == 1


def test_no_email_while_a_photo_is_not_stored_yet(photographed):
    sale = photographed(photo_count=2)
    Photo.objects.filter(sale=sale, position=2).update(stored_at=None)

    assert queue_customer_email(sale=sale) is None
    assert not EmailOutbox.objects.filter(sale=sale).exists()


# --- A real SMTP server -----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps what it receives and answers `refuse[address]` to those."""

    def __init__(self):
        self.received = []
        self.refuse: dict[str, str] = {}
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.original_content, policy=email.policy.default) for e in self.received]


@pytest.fixture
def start_smtp():
    """Start aiosmtpd on 127.0.0.1; keyword arguments go to aiosmtpd (TLS, AUTH)."""
    controllers = []

    def start(*, port: int | None = None, **options) -> Inbox:
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **options)
        controller.start()
        controllers.append(controller)
        inbox.port = controller.port
        return inbox

    yield start
    for controller in controllers:
        controller.stop()


def use_smtp(settings, port: int, *, tls: bool = False, ssl: bool = False) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = tls
    settings.EMAIL_USE_SSL = ssl
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp(start_smtp, settings) -> Inbox:
    inbox = start_smtp()
    use_smtp(settings, inbox.port)
    return inbox


def send_emails_command() -> str:
    out = StringIO()
    call_command("send_emails", stdout=out)
    return out.getvalue().strip()


def make_due(outbox: EmailOutbox) -> None:
    """Let the retry delay pass."""
    EmailOutbox.objects.filter(pk=outbox.pk).update(next_attempt_at=timezone.now())


def test_the_email_reaches_the_smtp_server(photographed, smtp):
    sale = photographed(photo_count=4, send_invoice=True)
    outbox = queue_customer_email(sale=sale)

    assert send_email(outbox=outbox) is True

    [envelope] = smtp.received
    assert envelope.mail_from == "noreply@photobox.example"
    assert envelope.rcpt_tos == [CUSTOMER]
    [message] = smtp.messages()
    assert message["Subject"] == SUBJECT_ID_INVOICE
    assert message["To"] == CUSTOMER
    assert message["From"] == "Photobox <noreply@photobox.example>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    url = gallery_url(sale)
    assert url in text
    assert "Rp 40.000" in text
    assert f'href="{url}"' in html
    assert "Lihat & Unduh Foto" in html
    outbox.refresh_from_db()
    sale.refresh_from_db()
    assert (outbox.status, outbox.attempts, outbox.last_error) == (EmailStatus.SENT, 1, "")
    assert sale.email_sent_at is not None
    assert sale.email_sent_at == outbox.sent_at
    # The date the email promises is the date the photos are deleted.
    assert f"sampai {local_date(selectors.photos_expire_at(sale))} pukul" in text


def test_server_down_the_email_is_retried_later_by_cron_and_sent_once(photographed, start_smtp, settings):
    port = free_port()  # nothing listens there yet
    use_smtp(settings, port)
    sale = photographed()
    outbox = queue_customer_email(sale=sale)

    assert send_email(outbox=outbox) is False

    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.PENDING, 1)
    assert outbox.last_error.startswith("ConnectionRefusedError")
    assert outbox.next_attempt_at > timezone.now()
    assert outbox.next_attempt_at - outbox.updated_at == retry_delay(1) == timedelta(minutes=1)
    sale.refresh_from_db()
    assert sale.email_sent_at is None
    assert send_emails_command() == "sent 0, failed 0"  # not due yet

    inbox = start_smtp(port=port)
    make_due(outbox)
    assert send_emails_command() == "sent 1, failed 0"
    assert send_emails_command() == "sent 0, failed 0"

    assert len(inbox.received) == 1
    outbox.refresh_from_db()
    sale.refresh_from_db()
    assert (outbox.status, outbox.attempts, outbox.last_error) == (EmailStatus.SENT, 2, "")
    assert sale.email_sent_at == outbox.sent_at


def test_a_refused_recipient_is_not_retried(photographed, smtp):
    smtp.refuse[CUSTOMER] = "550 5.1.1 <customer@example.com>: Recipient address rejected: User unknown"
    sale = photographed()
    outbox = queue_customer_email(sale=sale)

    assert send_email(outbox=outbox) is False

    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.FAILED, 1)
    assert "SMTPRecipientsRefused" in outbox.last_error
    assert "User unknown" in outbox.last_error
    make_due(outbox)
    assert send_emails_command() == "sent 0, failed 0"
    assert smtp.received == []
    sale.refresh_from_db()
    assert sale.email_sent_at is None


def test_a_temporary_refusal_greylisting_is_retried(photographed, smtp):
    smtp.refuse[CUSTOMER] = "450 4.2.0 <customer@example.com>: Recipient address rejected: Greylisted"
    sale = photographed()
    outbox = queue_customer_email(sale=sale)

    assert send_email(outbox=outbox) is False
    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.PENDING, 1)
    assert "Greylisted" in outbox.last_error

    smtp.refuse.clear()
    make_due(outbox)
    assert send_emails_command() == "sent 1, failed 0"
    assert [e.rcpt_tos for e in smtp.received] == [[CUSTOMER]]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_four_workers_sending_one_email_deliver_it_once(photographed, smtp, attempt):
    sale = photographed()
    outbox = queue_customer_email(sale=sale)

    results = run_concurrently(lambda _: send_email(outbox=EmailOutbox.objects.get(pk=outbox.pk)), 4)

    assert all(isinstance(result, bool) for result in results), results
    assert True in results
    assert len(smtp.received) == 1
    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.SENT, 1)


# --- TLS: implicit (port 465 style) and STARTTLS, with a certificate made here ----------------
@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Photobox test SMTP")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def server_tls(certificate):
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def check_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"kiosk", b"s3cret")
    return AuthResult(success=ok)


SEND_WITH_MAIL_SETTINGS = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "photobox.settings"
import django
django.setup()
from django.core.mail import send_mail
send_mail("Tes koneksi", "Halo", None, [sys.argv[1]])
"""


def send_with_mail_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Send an email from a fresh Django configured only by MAIL_* variables, as in production."""
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update(dict.fromkeys(SETTINGS_VARIABLES, ""))
    environment.update(PRODUCTION, EMAIL_TIMEOUT="5", MAIL_FROM="struk@photobox.example", **env)
    return subprocess.run(
        [sys.executable, "-c", SEND_WITH_MAIL_SETTINGS, CUSTOMER],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("mode", "mail_env", "server_options"),
    [
        ("implicit TLS", {"MAIL_SSL_TLS": "true"}, lambda tls: {"ssl_context": tls}),
        (
            "STARTTLS with login",
            {"MAIL_STARTTLS": "true", "MAIL_USERNAME": "kiosk", "MAIL_PASSWORD": "s3cret"},
            lambda tls: {
                "tls_context": tls,
                "require_starttls": True,
                "auth_required": True,
                "authenticator": check_login,
            },
        ),
    ],
)
def test_mail_variables_deliver_over_tls(start_smtp, server_tls, certificate, mode, mail_env, server_options):
    # The server refuses anything but TLS (and, with STARTTLS, anything before a login), and
    # Django checks its certificate: SSL_CERT_FILE is how a deployment trusts a private CA.
    inbox = start_smtp(**server_options(server_tls))

    result = send_with_mail_settings(
        {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(inbox.port), "SSL_CERT_FILE": str(certificate[0]), **mail_env}
    )

    assert result.returncode == 0, result.stderr
    [envelope] = inbox.received
    assert (envelope.mail_from, envelope.rcpt_tos) == ("struk@photobox.example", [CUSTOMER])


def test_a_server_certificate_that_is_not_trusted_is_refused_and_retried(
    photographed, start_smtp, server_tls, settings, monkeypatch
):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    inbox = start_smtp(ssl_context=server_tls)
    use_smtp(settings, inbox.port, ssl=True)
    sale = photographed()
    outbox = queue_customer_email(sale=sale)

    assert send_email(outbox=outbox) is False

    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.PENDING, 1)
    assert "CERTIFICATE_VERIFY_FAILED" in outbox.last_error
    assert inbox.received == []


def test_the_customer_email_goes_out_over_starttls(
    photographed, start_smtp, server_tls, certificate, settings, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    inbox = start_smtp(tls_context=server_tls, require_starttls=True)
    use_smtp(settings, inbox.port, tls=True)
    sale = photographed()
    outbox = queue_customer_email(sale=sale)

    assert send_email(outbox=outbox) is True

    [message] = inbox.messages()
    assert message["Subject"] == SUBJECT_ID
    assert message.get_body(("html",)) is not None


# --- An email service provider (django-anymail) ------------------------------------------------
class ScriptedEsp(AnymailTestBackend):
    """anymail's test ESP answering each send with the next of `answers`, then "sent"."""

    answers: ClassVar[list] = []

    def post_to_esp(self, payload, message):
        if self.answers:
            message.anymail_test_response = self.answers.pop(0)
        return super().post_to_esp(payload, message)


@pytest.fixture
def esp(settings, mailoutbox) -> list:
    settings.EMAIL_BACKEND = f"{__name__}.ScriptedEsp"
    ScriptedEsp.answers = answers = []
    yield answers
    ScriptedEsp.answers = []


def rejected(address: str = CUSTOMER) -> dict:
    return {"recipient_status": {address: AnymailRecipientStatus(message_id=None, status="rejected")}}


def test_an_address_the_esp_rejects_is_not_retried(photographed, esp, mailoutbox):
    esp.append(rejected())
    sale = photographed()
    outbox = queue_customer_email(sale=sale)

    assert send_email(outbox=outbox) is False

    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.FAILED, 1)
    assert outbox.last_error.startswith("AnymailRecipientsRefused")
    assert services.send_due_emails(now=timezone.now() + timedelta(days=1)).sent == 0
    assert len(mailoutbox) == 1


def test_an_invalid_stored_address_is_not_retried(photographed, esp, mailoutbox):
    sale = photographed(email="customer@@example")
    outbox = queue_customer_email(sale=sale)

    assert send_email(outbox=outbox) is False

    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.FAILED, 1)
    assert outbox.last_error.startswith("AnymailInvalidAddress")


def test_an_esp_outage_is_retried(photographed, esp, mailoutbox):
    esp.append(AnymailAPIError("503 Service Unavailable"))
    sale = photographed()
    outbox = queue_customer_email(sale=sale)

    assert send_email(outbox=outbox) is False
    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.PENDING, 1)
    assert "503 Service Unavailable" in outbox.last_error

    report = services.send_due_emails(now=timezone.now() + retry_delay(1))
    assert (report.sent, report.failed) == (1, 0)
    outbox.refresh_from_db()
    sale.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.SENT, 2)
    assert sale.email_sent_at is not None
    assert mailoutbox[-1].subject == SUBJECT_ID


def test_sending_gives_up_after_email_max_attempts(photographed, esp, mailoutbox, settings):
    settings.EMAIL_MAX_ATTEMPTS = 3
    esp.extend(AnymailAPIError("503 Service Unavailable") for _ in range(10))
    sale = photographed()
    outbox = queue_customer_email(sale=sale)
    later = timezone.now() + timedelta(days=1)

    seen = []
    for _ in range(4):
        send_email(outbox=outbox, now=later)
        outbox.refresh_from_db()
        seen.append((outbox.status, outbox.attempts))
        if outbox.status == EmailStatus.PENDING:
            assert outbox.next_attempt_at - outbox.updated_at == retry_delay(outbox.attempts)

    assert seen == [
        (EmailStatus.PENDING, 1),
        (EmailStatus.PENDING, 2),
        (EmailStatus.FAILED, 3),
        (EmailStatus.FAILED, 3),
    ]
    assert len(mailoutbox) == 3
    sale.refresh_from_db()
    assert sale.email_sent_at is None


# --- Where retrying ends (mutation survivors, issue 17) ---------------------------------------------


def test_a_refusal_with_code_500_is_final(photographed, smtp):
    smtp.refuse[CUSTOMER] = "500 5.5.2 Syntax error, command unrecognised"
    outbox = queue_customer_email(sale=photographed())

    assert send_email(outbox=outbox) is False

    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts) == (EmailStatus.FAILED, 1)


def test_retries_wait_1_2_4_minutes_doubling_up_to_two_hours():
    waits = [retry_delay(attempts) for attempts in (1, 2, 3, 7, 8, 9)]

    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 64, 120, 120)]


def test_a_long_error_is_kept_to_its_first_2000_characters(photographed, esp, mailoutbox):
    esp.append(AnymailAPIError("x" * 3000))
    outbox = queue_customer_email(sale=photographed())

    send_email(outbox=outbox)

    outbox.refresh_from_db()
    assert outbox.last_error == ("AnymailAPIError: " + "x" * 3000)[:2000]


@pytest.mark.parametrize(
    ("answer", "what"),
    [(AnymailAPIError("503 Service Unavailable"), "failed, will retry"), (rejected(), "abandoned")],
    ids=["retried", "given up"],
)
def test_a_failed_customer_email_is_logged_with_its_sale_and_fate(photographed, esp, mailoutbox, caplog, answer, what):
    esp.append(answer)
    sale = photographed()
    outbox = queue_customer_email(sale=sale)
    caplog.set_level(logging.WARNING, logger="gallery")

    send_email(outbox=outbox)

    [record] = caplog.records
    error = type(answer).__name__ if isinstance(answer, Exception) else "AnymailRecipientsRefused"
    assert record.getMessage() == f"customer email {what} sale_id={sale.pk} attempt=1: {error}"
    assert record.external_id == sale.external_id


@pytest.mark.parametrize(("attempts_before", "what"), [(0, "failed, will retry"), (99, "abandoned")])
def test_a_failed_staff_alert_is_logged_with_its_alert_and_fate(esp, mailoutbox, caplog, attempts_before, what):
    queue_staff_alerts(
        alerts=[("offline:PB-001", "PB-001 is offline", "Since 10:00")],
        recipients=["ops@example.com"],
        now=timezone.now(),
    )
    outbox = EmailOutbox.objects.get()
    EmailOutbox.objects.filter(pk=outbox.pk).update(attempts=attempts_before)
    esp.append(AnymailAPIError("503 Service Unavailable"))
    caplog.set_level(logging.WARNING, logger="gallery")

    assert send_email(outbox=outbox) is False

    assert [r.getMessage() for r in caplog.records] == [
        f"staff alert {what} alert_key=offline:PB-001 attempt={attempts_before + 1}: AnymailAPIError"
    ]
    outbox.refresh_from_db()
    expected = EmailStatus.FAILED if what == "abandoned" else EmailStatus.PENDING
    assert (outbox.status, outbox.attempts) == (expected, attempts_before + 1)


def a_staff_alert(subject: str = "PB-001 is offline") -> EmailOutbox:
    queue_staff_alerts(
        alerts=[("offline:PB-001", subject, "Since 10:00")], recipients=["ops@example.com"], now=timezone.now()
    )
    return EmailOutbox.objects.get()


def test_a_staff_alert_that_goes_out_is_stored_sent_and_logged(esp, mailoutbox, caplog):
    esp.append(AnymailAPIError("503 Service Unavailable"))
    outbox = a_staff_alert()
    send_email(outbox=outbox)
    make_due(outbox)
    caplog.clear()
    caplog.set_level(logging.INFO, logger="gallery")

    assert send_email(outbox=outbox) is True

    outbox.refresh_from_db()
    assert (outbox.status, outbox.attempts, outbox.last_error) == (EmailStatus.SENT, 2, "")
    assert outbox.sent_at is not None
    assert outbox.updated_at == outbox.sent_at
    assert [r.getMessage() for r in caplog.records] == ["staff alert sent alert_key=offline:PB-001 attempts=2"]


def test_an_email_already_sent_is_reported_sent_and_not_sent_again(esp, mailoutbox):
    outbox = a_staff_alert()
    send_email(outbox=outbox)

    assert send_email(outbox=outbox) is True
    assert len(mailoutbox) == 1


def test_an_email_is_not_sent_before_its_next_attempt_is_due(esp, mailoutbox):
    outbox = a_staff_alert()

    assert send_email(outbox=outbox, now=outbox.next_attempt_at - timedelta(seconds=1)) is False
    assert mailoutbox == []


def test_an_email_a_dead_worker_left_sending_is_taken_over(esp, mailoutbox):
    outbox = a_staff_alert()
    EmailOutbox.objects.filter(pk=outbox.pk).update(
        status=EmailStatus.SENDING, updated_at=timezone.now() - timedelta(minutes=11)
    )

    assert send_email(outbox=outbox) is True
    assert len(mailoutbox) == 1


def test_no_staff_alert_is_queued_without_recipients(db):
    queue_staff_alerts(alerts=[("offline:PB-001", "PB-001 is offline", "")], recipients=[], now=timezone.now())

    assert not EmailOutbox.objects.exists()


def test_an_alert_queued_twice_is_stored_once(db):
    a_staff_alert()

    a_staff_alert()

    assert EmailOutbox.objects.count() == 1


def test_a_long_alert_subject_is_kept_to_200_characters(db):
    assert a_staff_alert(subject="x" * 300).subject == "x" * 200
