"""Logs: one JSON line per record with the request id and the sale's external id on every payment
and upload line; emails masked, tokens and keys never written; LOG_FORMAT and LOG_TO_FILE."""

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import HttpResponse
from django.urls import path
from PIL import Image
from rest_framework.views import APIView

from core.logging import JsonFormatter, PlainFormatter, RequestContextFilter, log_file_path, redact
from payments.models import Sale, SaleStatus
from tests.support.processes import PRODUCTION, SETTINGS_VARIABLES, start_up_error, started
from tests.support.webhooks import CALLBACK_TOKEN, post_webhook, webhook_fixture

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EMAIL = "budi.santoso@example.com"


class Captured:
    """Everything written to the root logger, as production writes it (JSON lines)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self, *loggers: str) -> list[dict]:
        entries = [json.loads(line) for line in self.text.splitlines()]
        return [e for e in entries if not loggers or e["logger"] in loggers]


@pytest.fixture
def json_log():
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def sql_logged():
    """Django's SQL log on, as with DEBUG: the queries' parameters include the customer's email."""
    sql_logger = logging.getLogger("django.db.backends")
    level = sql_logger.level
    sql_logger.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        yield
    finally:
        connection.force_debug_cursor = False
        sql_logger.setLevel(level)


def jpeg(name: str, color=(200, 30, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), color).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def sell_and_pay(api, sale_request) -> str:
    created = api.post("/api/v1/transactions", {**sale_request, "email": EMAIL}, format="json")
    assert created.status_code == 201, created.content
    external_id = created.json()["data"]["external_id"]
    sale = Sale.objects.get(external_id=external_id)
    body = webhook_fixture(
        "qr_payment_2022.json",
        external_id=external_id,
        qr_id=sale.xendit_qr_id,
        amount=int(sale.amount),
        payment_id="qrpy_log_1",
    )
    assert post_webhook(api, body).status_code == 200
    assert post_webhook(api, body, token=CALLBACK_TOKEN + "-wrong").status_code == 403
    return external_id


# --- Secrets never leave ------------------------------------------------------------------------------


def test_a_sale_and_its_payment_log_neither_the_email_nor_the_callback_token(api, sale_request, json_log, sql_logged):
    sell_and_pay(api, sale_request)

    assert json_log.text, "nothing was logged: the test would prove nothing"
    assert EMAIL not in json_log.text
    assert CALLBACK_TOKEN not in json_log.text
    # The SQL log did carry the address: masked, not dropped.
    assert "b***@example.com" in json_log.text


def test_secrets_and_emails_are_masked_in_any_logger_and_any_field(json_log, settings):
    settings.XENDIT_API_KEY = "xnd_production_abcdefghijkl"
    logger = logging.getLogger("some.library")

    try:
        raise ValueError(f"refused {EMAIL} with key xnd_production_abcdefghijkl")
    except ValueError:
        logger.exception(
            "calling with %s for %s", settings.XENDIT_API_KEY, EMAIL, extra={"params": (EMAIL, 3), "who": EMAIL}
        )

    (entry,) = json_log.lines("some.library")
    assert "xnd_production_abcdefghijkl" not in json_log.text
    assert EMAIL not in json_log.text
    assert entry["message"] == "calling with [redacted] for b***@example.com"
    assert entry["params"] == ["b***@example.com", 3]
    assert entry["who"] == "b***@example.com"
    assert "ValueError: refused b***@example.com with key [redacted]" in entry["exception"]


def test_gallery_keys_are_not_logged(json_log):
    logging.getLogger("django.request").error("Not found: /gallery/TRX-1-20251215162229-57283A15/Zx9secretKey/download")

    (entry,) = json_log.lines("django.request")
    assert "Zx9secretKey" not in json_log.text
    assert entry["message"] == "Not found: /gallery/TRX-1-20251215162229-57283A15/[redacted]/download"


@pytest.mark.parametrize(
    ("written", "logged"),
    [
        ("budi@example.com", "b***@example.com"),
        ("x@mail.co.id", "x***@mail.co.id"),
        ("<Budi.Santoso+kiosk@Example.COM>", "<B***@Example.COM>"),
        ("not-an-email, @example.com", "not-an-email, @example.com"),
    ],
)
def test_emails_are_masked_to_their_first_letter_and_domain_in_a_log_line(json_log, written, logged):
    logging.getLogger("gallery").info("sending to %s", written)

    (entry,) = json_log.lines("gallery")
    assert entry["message"] == f"sending to {logged}"


def test_short_setting_values_are_not_taken_for_secrets(settings):
    settings.MAINTENANCE_TOKEN = "t"

    assert redact("status=COMPLETED") == "status=COMPLETED"


# --- Every payment and upload line names its sale -----------------------------------------------------


def test_every_payment_line_carries_the_sales_external_id(api, sale_request, json_log):
    external_id = sell_and_pay(api, sale_request)

    lines = json_log.lines("payments")
    assert {line["message"].split(" external_id=")[0] for line in lines} >= {"sale created", "sale completed"}
    assert {line["external_id"] for line in lines} == {external_id}


def test_every_upload_line_carries_the_sales_external_id(api, make_sale, json_log, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    sale = make_sale(status=SaleStatus.COMPLETED)

    response = api.post(
        f"/api/v1/transactions/{sale.external_id}/photos",
        {"files": [jpeg("a.jpg"), jpeg("b.jpg", (0, 0, 200))]},
        format="multipart",
    )

    assert response.status_code == 200
    lines = json_log.lines("gallery")
    assert [line["message"].split(" external_id=")[0] for line in lines] == ["photos stored", "customer email sent"]
    assert {line["external_id"] for line in lines} == {sale.external_id}


def test_a_failed_email_line_names_the_sale(api, make_sale, json_log, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    sale = make_sale(status=SaleStatus.COMPLETED, email=EMAIL)

    response = api.post(
        f"/api/v1/transactions/{sale.external_id}/photos", {"files": [jpeg("a.jpg")]}, format="multipart"
    )

    assert response.json()["email_sent"] is False
    (failed,) = [line for line in json_log.lines("gallery") if "will retry" in line["message"]]
    assert failed["level"] == "WARNING"
    assert failed["external_id"] == sale.external_id
    assert EMAIL not in json_log.text


def quiet_view(request, external_id):
    logging.getLogger("payments.gateways").info("a line that does not say which sale")
    return HttpResponse("ok")


class BrokenView(APIView):
    def get(self, request, external_id):
        raise RuntimeError("database on fire")


urlpatterns = [
    path("api/v1/test/<str:external_id>/quiet", quiet_view),
    path("api/v1/test/<str:external_id>/broken", BrokenView.as_view()),
]


@pytest.fixture
def test_urls(settings):
    settings.ROOT_URLCONF = __name__


def test_any_line_written_while_serving_a_sales_url_names_the_sale(api, db, json_log, test_urls):
    assert api.get("/api/v1/test/TRX-1-20251215162229-57283A15/quiet").status_code == 200
    logging.getLogger("payments.gateways").info("after the request")

    during, after = json_log.lines("payments.gateways")
    assert during["external_id"] == "TRX-1-20251215162229-57283A15"
    assert after["external_id"] is None


def test_an_unexpected_error_is_logged_with_the_request_and_the_sale(api, db, json_log, test_urls):
    response = api.get("/api/v1/test/TRX-1-X/broken", HTTP_X_REQUEST_ID="kiosk-req-500")

    assert response.status_code == 500
    assert response.json() == {"success": False, "message": "Internal server error", "details": {}}
    # Ours, with the traceback; then Django's, written after the middleware is done with the request.
    ours, djangos = json_log.lines("photobox.api", "django.request")
    assert "RuntimeError: database on fire" in ours["exception"]
    assert djangos["message"].startswith("Internal Server Error")
    for line in (ours, djangos):
        assert (line["request_id"], line["external_id"]) == ("kiosk-req-500", "TRX-1-X")


# --- Request ids --------------------------------------------------------------------------------------------


def test_lines_carry_the_request_id_of_the_request_that_wrote_them(api, sale_request, json_log):
    response = api.post(
        "/api/v1/transactions", {**sale_request, "email": EMAIL}, format="json", HTTP_X_REQUEST_ID="kiosk-PB-001-42"
    )
    logging.getLogger("payments").warning("after the request")

    assert response["X-Request-ID"] == "kiosk-PB-001-42"
    during, after = json_log.lines("payments")
    assert during["message"].startswith("sale created")
    assert during["request_id"] == "kiosk-PB-001-42"
    assert after["request_id"] is None


def test_a_new_request_id_is_logged_when_the_kiosk_sends_none(api, sale_request, json_log):
    response = api.post("/api/v1/transactions", sale_request, format="json")

    (line,) = json_log.lines("payments")
    assert line["request_id"] == response["X-Request-ID"]


# --- The formats ---------------------------------------------------------------------------------------------


def record(message: str, *args, **extra) -> logging.LogRecord:
    entry = logging.LogRecord("payments", logging.INFO, __file__, 1, message, args, None)
    entry.__dict__.update(extra)
    return entry


def test_json_lines_are_one_line_each_with_the_documented_fields():
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        entry = record("multi\nline %s", "message", external_id="TRX-1-X", request_id="r-1")
        entry.exc_info = sys.exc_info()

    line = JsonFormatter().format(entry)

    assert "\n" not in line
    parsed = json.loads(line)
    assert list(parsed)[:6] == ["timestamp", "level", "logger", "message", "request_id", "external_id"]
    assert parsed["message"] == "multi\nline message"
    assert (parsed["level"], parsed["logger"], parsed["external_id"], parsed["request_id"]) == (
        "INFO",
        "payments",
        "TRX-1-X",
        "r-1",
    )
    assert parsed["timestamp"].endswith("+00:00")
    assert "RuntimeError: boom" in parsed["exception"]


def test_plain_lines_append_the_request_and_the_sale_and_mask_too():
    line = PlainFormatter().format(
        record("sale created for %s", EMAIL, external_id="TRX-1-X", request_id="r-1"),
    )

    assert line.endswith("INFO payments sale created for b***@example.com [request_id=r-1 external_id=TRX-1-X]")


@pytest.mark.parametrize(("debug", "expected"), [("false", "json"), ("true", "plain")])
def test_log_format_defaults_to_json_in_production_and_plain_in_development(debug, expected):
    values = started({**PRODUCTION, "DEBUG": debug}, "LOG_FORMAT", "LOGGING")

    assert values["LOG_FORMAT"] == expected
    assert values["LOGGING"]["handlers"]["console"]["formatter"] == expected


def test_log_format_must_be_json_or_plain():
    assert "LOG_FORMAT" in start_up_error({**PRODUCTION, "LOG_FORMAT": "xml"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("false", None),
        ("true", PROJECT_ROOT / "logs" / "photobox.log"),
        ("var/log/photobox.log", PROJECT_ROOT / "var" / "log" / "photobox.log"),
        ("/var/log/photobox/app.log", Path("/var/log/photobox/app.log")),
    ],
)
def test_log_to_file_values(value, expected):
    assert log_file_path(value, PROJECT_ROOT) == expected


LOG_A_LINE = """
import logging, os
os.environ["DJANGO_SETTINGS_MODULE"] = "photobox.settings"
import django
django.setup()
logging.getLogger("payments").warning("sale failed external_id=%s", "TRX-9", extra={"external_id": "TRX-9"})
"""


def test_log_to_file_writes_the_same_json_lines_to_the_file(tmp_path):
    log_file = tmp_path / "logs" / "photobox.log"
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update(dict.fromkeys(SETTINGS_VARIABLES, ""))
    environment.update({**PRODUCTION, "LOG_TO_FILE": str(log_file)})

    result = subprocess.run(
        [sys.executable, "-c", LOG_A_LINE],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    (line,) = log_file.read_text().splitlines()
    assert json.loads(line)["external_id"] == "TRX-9"
    assert json.loads(result.stderr.strip())["message"] == "sale failed external_id=TRX-9"


def test_an_unwritable_log_file_stops_start_up_naming_the_variable(tmp_path):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")

    assert "LOG_TO_FILE" in start_up_error({**PRODUCTION, "LOG_TO_FILE": str(not_a_directory / "photobox.log")})
