"""What Schemathesis found (tests/project/test_fuzz_schemathesis.py), each as a plain test: the answer the
API gives and what its schema says about that request agree."""

import json
import socket

import jsonschema
import pytest
from django.test import Client
from django.utils import timezone

from payments.models import PaymentEvent, SaleStatus
from tests.support.webhooks import post_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict:
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def schema_accepts(schema: dict, component: str, value) -> bool:
    """Does `value` validate against the named request component (local $refs resolved)?"""
    try:
        jsonschema.validate(value, {"$ref": f"#/components/schemas/{component}", "components": schema["components"]})
    except jsonschema.ValidationError:
        return False
    return True


def parameter(schema: dict, method: str, path: str, name: str) -> dict:
    return next(p for p in schema["paths"][path][method]["parameters"] if p["name"] == name)


# --- X-Request-ID: any value is accepted, an odd one replaced --------------------------------------


def test_an_odd_x_request_id_is_answered_with_a_new_one_and_the_schema_allows_it(api, db, schema):
    response = api.get("/health", HTTP_X_REQUEST_ID="-V]1]rE8")

    assert response.status_code == 200
    assert response["X-Request-ID"] != "-V]1]rE8"
    assert "pattern" not in parameter(schema, "get", "/health", "X-Request-ID")["schema"]


# --- One method per maintenance path -----------------------------------------------------------------


def test_each_maintenance_path_allows_only_its_documented_method(api, db, settings, schema):
    settings.MAINTENANCE_TOKEN = "token"

    options = api.options("/api/v1/maintenance/cleanup")
    post_on_the_alias = api.post("/api/v1/maintenance/cleanup-old-folders", HTTP_X_MAINTENANCE_TOKEN="token")
    delete_on_cleanup = api.delete("/api/v1/maintenance/cleanup", HTTP_X_MAINTENANCE_TOKEN="token")

    assert options["Allow"] == "POST, OPTIONS"
    assert post_on_the_alias.status_code == delete_on_cleanup.status_code == 405
    assert post_on_the_alias.json()["message"] == "Method not allowed"
    assert set(schema["paths"]["/api/v1/maintenance/cleanup"]) == {"post"}
    assert set(schema["paths"]["/api/v1/maintenance/cleanup-old-folders"]) == {"delete"}


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "POST"])
def test_health_answers_other_methods_405_not_a_csrf_page(db, method):
    response = Client().generic(method, "/health")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


# --- Documented request constraints -----------------------------------------------------------------


def test_the_idempotency_key_format_is_documented(api, sale_request, schema):
    header = parameter(schema, "post", "/api/v1/transactions", "Idempotency-Key")

    response = api.post("/api/v1/transactions", sale_request, format="json", HTTP_IDEMPOTENCY_KEY="has a space")

    assert response.status_code == 400
    assert header["schema"]["pattern"] == r"^[\x21-\x7e]{1,255}$"
    assert jsonschema.Draft202012Validator(header["schema"]).is_valid("kiosk-7-attempt-1")
    assert not jsonschema.Draft202012Validator(header["schema"]).is_valid("has a space")


def test_an_upload_without_files_is_refused_and_the_schema_says_at_least_one(api, make_sale, schema):
    sale = make_sale(status=SaleStatus.COMPLETED)

    response = api.post(f"/api/v1/transactions/{sale.external_id}/photos", {}, format="multipart")

    assert response.status_code == 422
    assert not schema_accepts(schema, "PhotoUploadRequest", {"files": []})
    assert schema["paths"]["/api/v1/transactions/{external_id}/photos"]["post"]["requestBody"]["required"] is True


@pytest.mark.parametrize("days", ["0", "3651", "-1", "²", "٣", "1.5", ""])
def test_cleanup_days_out_of_range_or_not_ascii_digits_is_422(api, db, settings, schema, days):
    settings.MAINTENANCE_TOKEN = "token"
    documented = parameter(schema, "post", "/api/v1/maintenance/cleanup", "days")["schema"]

    response = api.post(f"/api/v1/maintenance/cleanup?days={days}", HTTP_X_MAINTENANCE_TOKEN="token")

    assert response.status_code == 422, "'²'.isdigit() is True, but int('²') fails: it was a 500"
    assert (documented["minimum"], documented["maximum"]) == (1, 3650)


# --- The webhook's body: what the schema says is what the webhook does -------------------------------


def test_a_legacy_notification_without_status_is_stored_and_ignored_and_the_schema_allows_it(api, db, schema):
    body = {"event": "0", "id": "0", "amount": 0, "qr_code": {"id": "0", "external_id": "0"}}

    response = post_webhook(api, body)

    assert response.status_code == 200
    assert schema_accepts(schema, "PaymentNoticeRequest", body)
    assert PaymentEvent.objects.get().outcome != "invalid"


def test_a_flat_notice_with_an_unknown_status_is_422_and_the_schema_refuses_it(api, db, schema):
    body = {"external_id": "TRX-1", "status": "__main__", "extra": [1]}

    response = post_webhook(api, body)

    assert response.status_code == 422
    assert not schema_accepts(schema, "PaymentNoticeRequest", body)
    assert schema_accepts(schema, "PaymentNoticeRequest", {"external_id": "TRX-1", "status": "completed"})


def test_a_webhook_call_without_a_body_is_422_and_the_schema_requires_one(api, db, schema):
    response = api.post("/api/v1/webhooks/xendit", HTTP_X_CALLBACK_TOKEN="test-callback-token-0123456789abcdef")

    assert response.status_code == 422
    assert schema["paths"]["/api/v1/webhooks/xendit"]["post"]["requestBody"]["required"] is True


# --- State the schema cannot state -------------------------------------------------------------------


def test_a_paid_sales_qr_image_is_gone_as_documented(api, make_sale, schema):
    paid = make_sale(status=SaleStatus.COMPLETED)

    response = api.get(f"/api/v1/transactions/external/{paid.external_id}/qr.svg")

    assert response.status_code == 410
    assert "410" in schema["paths"]["/api/v1/transactions/external/{external_id}/qr.svg"]["get"]["responses"]


# --- A request line too long for the HTTP server --------------------------------------------------------


def test_every_operation_documents_the_http_servers_414(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert "414" in operation["responses"], (method, path)


def test_gunicorn_refuses_an_over_long_request_line_with_414(tmp_path):
    from tests.support.live_instances import instances

    # Refused before the app is reached, so any database will do.
    with instances(1, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}") as (url,):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(
                f"GET /api/v1/maintenance/cleanup?days={'9' * 5000} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            )
            status_line = connection.recv(100).split(b"\r\n")[0]

    assert status_line.startswith(b"HTTP/1.1 414"), status_line


# --- Found while triaging the fuzzer's webhook findings: values Xendit's payloads may carry ---------


@pytest.mark.parametrize("amount", [1e300, 12345678901234567890, "1e20"])
def test_an_amount_too_large_for_the_event_column_is_kept_in_the_raw_body_not_a_500(api, make_sale, amount):
    sale = make_sale(xendit_qr_id="qr_big")
    body = {
        "event": "qr.payment",
        "data": {
            "id": "qrpy_big",
            "qr_id": "qr_big",
            "reference_id": sale.external_id,
            "status": "SUCCEEDED",
            "amount": amount,
        },
    }

    response = post_webhook(api, body)

    assert response.status_code == 200, response.content
    event = PaymentEvent.objects.get()
    assert event.amount is None
    assert json.loads(event.body)["data"]["amount"] == amount
    sale.refresh_from_db()
    assert (sale.status, sale.needs_review) == (SaleStatus.PENDING, True), "still a wrong amount: not paid"


def test_an_amount_with_more_decimals_is_stored_rounded(api, db):
    post_webhook(api, {"external_id": "TRX-1-NOPE", "status": "COMPLETED", "amount": "40000.005"})

    assert str(PaymentEvent.objects.get().amount) == "40000.01"


@pytest.mark.parametrize("created", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"])
def test_a_payment_time_postgresql_cannot_store_is_replaced_by_now(api, make_sale, created):
    sale = make_sale(xendit_qr_id="qr_when")
    body = {
        "event": "qr.payment",
        "data": {
            "id": "qrpy_when",
            "qr_id": "qr_when",
            "reference_id": sale.external_id,
            "status": "SUCCEEDED",
            "amount": 40000,
            "created": created,
        },
    }

    response = post_webhook(api, body)

    assert response.status_code == 200, response.content
    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.paid_at.year == timezone.now().year
