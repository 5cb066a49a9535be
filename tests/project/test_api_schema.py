"""The API documentation: an OpenAPI 3 schema at /api/schema/, Swagger UI at /docs and ReDoc at
/redoc, served from our own static files; every kiosk endpoint documents its request, its answer
and each error, and the real answers match what is documented."""

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from payments.gateways import GatewayRateLimited
from payments.models import Refund, SaleStatus
from tests.support.processes import SETTINGS_VARIABLES
from tests.support.webhooks import CALLBACK_TOKEN, post_webhook, webhook_fixture

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SALE = "/api/v1/transactions/external/{external_id}"
PHOTOS = "/api/v1/transactions/{external_id}/photos"

# Every kiosk-facing operation and the statuses the contract gives it (docs/kiosk-contract.md), besides
# 414 (a request line too long for the HTTP server), which every operation documents.
DOCUMENTED = {
    ("get", "/api/v1/kiosk/packages"): {200, 304, 401, 403, 404, 422, 429},
    ("post", "/api/v1/transactions"): {201, 400, 401, 403, 404, 409, 422, 429, 502, 503},
    ("get", SALE): {200, 404},
    ("post", PHOTOS): {200, 400, 401, 403, 404, 409, 413, 422, 429, 502},
    ("get", PHOTOS): {200, 401, 403, 404, 429},
    ("post", "/api/v1/transactions/{external_id}/cancel"): {200, 401, 403, 404, 409, 429},
    ("post", "/api/v1/webhooks/xendit"): {200, 401, 403, 413, 422, 429},
    ("post", "/api/v1/maintenance/cleanup"): {200, 401, 403, 422, 429},
    ("delete", "/api/v1/maintenance/cleanup-old-folders"): {200, 401, 403, 422, 429},
    ("get", "/health"): {200, 503},
}
SERVER_REFUSALS = {414}


@pytest.fixture(scope="module")
def schema() -> dict:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


# --- Serving the schema and the docs -------------------------------------------------------------


def test_schema_is_served_as_yaml_by_default_and_as_json_on_request(db):
    as_yaml = Client().get("/api/schema/")
    as_json = Client().get("/api/schema/?format=json")

    assert as_yaml.status_code == as_json.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(as_yaml.content)["openapi"].startswith("3.")
    assert json.loads(as_json.content)["paths"] == yaml.safe_load(as_yaml.content)["paths"]


def test_schema_needs_no_login(db):
    response = Client().get("/api/schema/?format=json")

    assert response.status_code == 200
    assert json.loads(response.content)["info"]["title"] == "Photobox API"


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle"), ("/redoc", "redoc.standalone")])
def test_doc_pages_use_only_our_own_static_files(db, settings, page, script):
    settings.WHITENOISE_USE_FINDERS = True  # serve the sidecar's files as collectstatic would
    client = Client()

    response = client.get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert "://" not in html, "the page must load nothing from another host (no CDN)"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(script in asset for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        b"".join(served.streaming_content)
    assert "/api/schema/" in html


# --- What the schema documents -------------------------------------------------------------------


@pytest.mark.parametrize(("operation", "statuses"), DOCUMENTED.items(), ids=lambda v: str(v))
def test_each_kiosk_operation_documents_its_answer_and_every_error(schema, operation, statuses):
    method, path = operation

    responses = schema["paths"][path][method]["responses"]

    assert {int(code) for code in responses} == statuses | SERVER_REFUSALS
    for code, response in responses.items():
        if int(code) in SERVER_REFUSALS:
            assert "content" not in response, "the HTTP server's own page, not the envelope"
            continue
        assert response["headers"]["X-Request-ID"], code
        if int(code) >= 400 and path != "/health":
            assert response["content"]["application/json"]["schema"]["$ref"] in (
                "#/components/schemas/Error",
                "#/components/schemas/ValidationError",
            ), (path, code)


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if list(node) in (["allOf"], ["allOf", "description"]) and len(node["allOf"]) == 1:
        return resolve(schema, node["allOf"][0])
    return node


def test_error_envelope_and_validation_errors(schema):
    error = resolve(schema, {"$ref": "#/components/schemas/Error"})
    invalid = resolve(schema, {"$ref": "#/components/schemas/ValidationError"})

    assert set(error["required"]) == {"success", "message", "details"}
    assert resolve(schema, error["properties"]["success"])["enum"] == [False]
    assert resolve(schema, error["properties"]["details"])["type"] == "object"
    errors = resolve(schema, invalid["properties"]["details"])["properties"]["errors"]
    item = resolve(schema, errors["items"])
    assert set(item["required"]) == {"field", "message", "type"}


def test_create_documents_the_body_the_idempotency_key_and_every_contract_error(schema):
    operation = schema["paths"]["/api/v1/transactions"]["post"]

    body = resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["required"]) == {"location_id", "price_id", "email"}
    assert "send_invoice" in body["properties"]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header"
    assert not header.get("required", False)
    messages = {
        int(code): {e["value"]["message"] for e in response["content"]["application/json"]["examples"].values()}
        for code, response in operation["responses"].items()
        if int(code) >= 400 and int(code) not in SERVER_REFUSALS
    }
    assert messages == {
        400: {"Price is inactive", "Invalid Idempotency-Key header"},
        401: {"Invalid kiosk key", "Kiosk key required"},
        403: {"Kiosk key does not belong to this location"},
        404: {"Location not found", "Price not found"},
        409: {
            "Idempotency key reused with a different request",
            "A request with this Idempotency-Key is still being processed",
        },
        422: {
            "Validation error",
            "Location is not active",
            "Location is out of service",
            "Price is not offered at this location",
            "Price quota exceeded",
            "Voucher not found",
            "Voucher expired",
            "Voucher not valid for this package",
            "Voucher not valid at this location",
            "Voucher already used",
        },
        429: {"Too many requests"},
        502: {"Payment gateway rejected the request"},
        503: {"Payment gateway unavailable"},
    }


@pytest.mark.parametrize(("method", "path"), [("get", SALE), ("get", PHOTOS)])
def test_poll_and_photo_list_document_the_encrypted_variant(schema, method, path):
    ok = schema["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]

    variants = [resolve(schema, v) for v in resolve(schema, ok)["oneOf"]]

    encrypted = [v for v in variants if set(v["properties"]) == {"data", "alg"}]
    assert len(variants) == 2
    assert len(encrypted) == 1
    assert encrypted[0]["properties"]["data"]["type"] == "string"
    assert encrypted[0]["required"] == ["data"], "`alg` is sent in gcm mode only"


def test_upload_is_multipart_with_files_as_binaries(schema):
    body = schema["paths"][PHOTOS]["post"]["requestBody"]["content"]

    files = resolve(schema, body["multipart/form-data"]["schema"])["properties"]["files"]

    assert files["type"] == "array"
    assert files["items"] == {"type": "string", "format": "binary"}


@pytest.mark.parametrize(
    ("method", "path", "header"),
    [
        ("post", "/api/v1/webhooks/xendit", "x-callback-token"),
        ("post", "/api/v1/maintenance/cleanup", "X-Maintenance-Token"),
        ("delete", "/api/v1/maintenance/cleanup-old-folders", "X-Maintenance-Token"),
    ],
)
def test_token_headers_are_documented(schema, method, path, header):
    parameters = schema["paths"][path][method]["parameters"]

    token = next(p for p in parameters if p["name"] == header)

    assert token["in"] == "header"
    assert token["required"] is True


def webhook_shapes(schema: dict) -> dict[str, dict]:
    body = schema["paths"]["/api/v1/webhooks/xendit"]["post"]["requestBody"]["content"]["application/json"]
    return {
        shape["$ref"].rsplit("/", 1)[1]: resolve(schema, shape) for shape in resolve(schema, body["schema"])["anyOf"]
    }


def test_webhook_documents_the_payment_refund_and_ignored_shapes(schema):
    request_body = schema["paths"]["/api/v1/webhooks/xendit"]["post"]["requestBody"]

    # A body may fit two shapes (the webhook reads `data` first, then `qr_code`): anyOf. Each shape
    # requires only what the webhook needs to recognise it (Xendit's own are read leniently).
    shapes = webhook_shapes(schema)

    assert request_body["required"] is True
    assert {name: tuple(sorted(shape["required"])) for name, shape in shapes.items()} == {
        "QrPaymentRequest": ("data",),
        "LegacyQrPaymentRequest": ("qr_code",),
        "FlatPaymentNoticeRequest": ("external_id", "status"),
        "QrRefundRequest": ("data", "event"),
        "OtherXenditEventRequest": ("event",),
    }


def test_webhook_documents_xendits_qr_refund_shape(schema):
    refund = webhook_shapes(schema)["QrRefundRequest"]

    assert refund["properties"]["event"]["enum"] == ["qr.refund", "refund.succeeded", "refund.failed"]
    assert {"event", "api_version", "business_id", "created", "data"} <= set(refund["properties"])
    data = refund["properties"]["data"]
    assert data["required"] == ["id"]
    assert set(data["properties"]) == {
        "id",
        "qrpy_id",
        "status",
        "currency",
        "payment_amount",
        "refund_amount",
        "channel_code",
        "reason",
        "failure_code",
        "created",
        "updated",
        "refunded_at",
    }


def refund_notice(payment_id: str, *, status: str = "SUCCEEDED", failure_code=None) -> dict:
    """Xendit's `qr.refund` callback (xendit.md §11.4)."""
    return {
        "event": "qr.refund",
        "api_version": "2022-07-31",
        "business_id": "58cd618ba0464eb64acdb246",
        "created": "2026-05-09T08:31:14.502Z",
        "data": {
            "id": "qrrf_2f1c9a3e-6d0b-4f7e-9a51-3c8e2b7d4a10",
            "qrpy_id": payment_id,
            "status": status,
            "currency": "IDR",
            "payment_amount": 40000,
            "refund_amount": 40000,
            "channel_code": "ID_DANA",
            "reason": "REQUESTED_BY_CUSTOMER",
            "failure_code": failure_code,
            "created": "2026-05-09T08:31:12.120Z",
            "updated": "2026-05-09T08:31:14.498Z",
            "refunded_at": "2026-05-09T08:31:14.498Z" if status == "SUCCEEDED" else None,
        },
    }


def schema_accepts(schema: dict, component: str, value) -> bool:
    try:
        jsonschema.validate(value, {"$ref": f"#/components/schemas/{component}", "components": schema["components"]})
    except jsonschema.ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        (refund_notice("qrpy_1"), True),
        (refund_notice("qrpy_1", status="FAILED", failure_code="INSUFFICIENT_BALANCE"), True),
        ({"event": "refund.succeeded", "data": {"id": "rfd_1", "payment_id": "qrpy_1", "amount": 40000}}, True),
        ({"event": "payment.capture", "data": {"payment_id": "py_1"}}, True),
        ({"event": "qr.refund", "data": {"qrpy_id": "qrpy_1"}}, False),
        ({"event": "qr.refund"}, False),
        ({"event": "qr.payment", "external_id": "TRX-1", "status": "COMPLETED"}, False),
    ],
)
def test_webhook_schema_says_which_refund_and_other_events_are_taken(schema, body, accepted):
    assert schema_accepts(schema, "PaymentNoticeRequest", body) is accepted


def test_webhook_documents_its_three_acknowledgements(schema):
    ok = schema["paths"]["/api/v1/webhooks/xendit"]["post"]["responses"]["200"]["content"]["application/json"]

    message = resolve(schema, resolve(schema, ok["schema"])["properties"]["message"])

    expected = {"Transaction updated", "Refund updated", "Notification stored and ignored"}
    assert set(message["enum"]) == expected
    assert {example["value"]["message"] for example in ok["examples"].values()} == expected


def test_poll_and_create_document_every_sale_status_refunded_included(schema):
    for method, path, code in (("get", SALE, "200"), ("post", "/api/v1/transactions", "201")):
        ok = schema["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]
        answer = resolve(schema, ok)
        if "oneOf" in answer:  # the poll: plain or encrypted
            answer = next(resolve(schema, v) for v in answer["oneOf"] if "success" in resolve(schema, v)["properties"])
        status = resolve(schema, resolve(schema, answer["properties"]["data"])["properties"]["status"])

        assert set(status["enum"]) == set(SaleStatus.values), path
        assert "REFUNDED" in status["enum"]


def test_upload_documents_the_409_of_a_refunded_sale(schema):
    conflict = schema["paths"][PHOTOS]["post"]["responses"]["409"]["content"]["application/json"]

    examples = {e["value"]["message"]: e["value"]["details"] for e in conflict["examples"].values()}

    assert examples["Transaction was refunded"] == {
        "external_id": "TRX-2-20251215162229-57283A15",
        "status": "REFUNDED",
    }
    assert "Photos already uploaded and email sent for this transaction" in examples


def test_create_documents_the_503_of_xendits_rate_limit_with_retry_after(schema):
    unavailable = schema["paths"]["/api/v1/transactions"]["post"]["responses"]["503"]

    header = unavailable["headers"]["Retry-After"]
    examples = unavailable["content"]["application/json"]["examples"].values()

    assert header["required"] is False, "only on Xendit's rate limit, not when it cannot be reached"
    assert header["schema"]["type"] == "integer"
    assert {"retry_after": 42} in [e["value"]["details"] for e in examples]
    assert "Retry-After" in unavailable["description"]


def test_the_schema_validates_without_a_single_warning(tmp_path):
    # What CI runs: drf-spectacular's own validation, failing on any warning.
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update(dict.fromkeys(SETTINGS_VARIABLES, ""))
    environment["DEBUG"] = "true"
    output = tmp_path / "schema.yaml"

    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(output)],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "/api/v1/transactions" in yaml.safe_load(output.read_text())["paths"]


# --- The real answers are what the schema says ------------------------------------------------------


def json_schema(schema: dict, node):
    """An OpenAPI 3.0 schema object as JSON Schema; documented objects admit no other keys."""
    if isinstance(node, list):
        return [json_schema(schema, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return json_schema(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
    converted = {}
    for key, value in node.items():
        if key == "properties":
            converted[key] = {name: json_schema(schema, sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "oneOf", "anyOf", "allOf", "not"):
            converted[key] = json_schema(schema, value)
        elif key not in ("nullable", "readOnly", "writeOnly", "deprecated", "example", "discriminator"):
            converted[key] = value
    if "properties" in node and "additionalProperties" not in node:
        converted["additionalProperties"] = False
    if node.get("nullable"):
        converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def assert_documented(schema: dict, method: str, path: str, response) -> None:
    responses = schema["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, f"{method} {path} answered an undocumented {response.status_code}"
    documented = responses[str(response.status_code)]["content"]["application/json"]["schema"]
    jsonschema.validate(json.loads(response.content), json_schema(schema, documented))


@pytest.fixture
def encryption_on(settings):
    settings.ENCRYPTION_ENABLED = True
    settings.ENCRYPTION_KEY = "change_me_32_characters_long!!00"
    settings.ENCRYPTION_IV = "change_me_16char"


def jpeg(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 30)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_sale_answers_match_the_schema(schema, api, sale_request, location):
    created = api.post("/api/v1/transactions", sale_request, format="json")
    external_id = created.json()["data"]["external_id"]
    polled = api.get(f"/api/v1/transactions/external/{external_id}")
    invalid = api.post("/api/v1/transactions", {"location_id": "x"}, format="json")
    unknown_location = api.post("/api/v1/transactions", {**sale_request, "location_id": 999}, format="json")
    location.is_active = False
    location.save()
    inactive = api.post("/api/v1/transactions", sale_request, format="json")
    unknown = api.get("/api/v1/transactions/external/NOPE")

    assert [r.status_code for r in (created, polled, invalid, unknown_location, inactive, unknown)] == [
        201,
        200,
        422,
        404,
        422,
        404,
    ]
    for response in (created, invalid, unknown_location, inactive):
        assert_documented(schema, "post", "/api/v1/transactions", response)
    for response in (polled, unknown):
        assert_documented(schema, "get", SALE, response)


def test_create_refused_by_xendits_rate_limit_matches_the_schema(schema, api, sale_request, monkeypatch):
    class RateLimitedGateway:
        def create_qr_code(self, **kwargs):
            raise GatewayRateLimited("Rate limit exceeded", retry_after=12.3)

    monkeypatch.setattr("payments.services.get_gateway", RateLimitedGateway)

    response = api.post("/api/v1/transactions", sale_request, format="json")

    assert response.status_code == 503
    assert response["Retry-After"] == "13"
    assert response.json()["details"] == {"retry_after": 13}
    assert_documented(schema, "post", "/api/v1/transactions", response)


def test_a_refunded_sale_polls_and_refuses_photos_as_documented(schema, api, make_sale):
    sale = make_sale(status=SaleStatus.REFUNDED, paid_at=timezone.now(), xendit_payment_id="qrpy_refunded")

    polled = api.get(f"/api/v1/transactions/external/{sale.external_id}")
    upload = api.post(f"/api/v1/transactions/{sale.external_id}/photos", {"files": [jpeg("a.jpg")]}, format="multipart")

    assert polled.json()["data"]["status"] == "REFUNDED"
    assert_documented(schema, "get", SALE, polled)
    assert upload.status_code == 409
    assert upload.json() == {
        "success": False,
        "message": "Transaction was refunded",
        "details": {"external_id": sale.external_id, "status": "REFUNDED"},
    }
    assert_documented(schema, "post", PHOTOS, upload)


def test_encrypted_poll_matches_the_schema(schema, api, make_sale, encryption_on):
    sale = make_sale()

    response = api.get(f"/api/v1/transactions/external/{sale.external_id}")

    assert response.status_code == 200
    assert set(response.json()) == {"data"}
    assert_documented(schema, "get", SALE, response)


def test_photo_answers_match_the_schema(schema, api, make_sale, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    sale = make_sale(status=SaleStatus.COMPLETED)
    path = f"/api/v1/transactions/{sale.external_id}/photos"

    none_yet = api.get(path)
    no_files = api.post(path, {}, format="multipart")
    uploaded = api.post(path, {"files": [jpeg("a.jpg"), jpeg("b.jpg")]}, format="multipart")
    listed = api.get(path)
    again = api.post(path, {"files": [jpeg("c.jpg")]}, format="multipart")

    assert [r.status_code for r in (none_yet, no_files, uploaded, listed, again)] == [404, 422, 200, 200, 409]
    for response in (no_files, uploaded, again):
        assert_documented(schema, "post", PHOTOS, response)
    for response in (none_yet, listed):
        assert_documented(schema, "get", PHOTOS, response)


def test_encrypted_photo_list_matches_the_schema(schema, api, make_sale, settings, tmp_path, encryption_on):
    settings.MEDIA_ROOT = tmp_path
    sale = make_sale(status=SaleStatus.COMPLETED)
    path = f"/api/v1/transactions/{sale.external_id}/photos"
    assert api.post(path, {"files": [jpeg("a.jpg")]}, format="multipart").status_code == 200

    response = api.get(path)

    assert response.status_code == 200
    assert set(response.json()) == {"data"}
    assert_documented(schema, "get", PHOTOS, response)


def test_webhook_answers_match_the_schema(schema, api, make_sale):
    sale = make_sale(xendit_qr_id="qr_schema_1")
    body = webhook_fixture(
        "qr_payment_2022.json", external_id=sale.external_id, qr_id="qr_schema_1", amount=40000, payment_id="qrpy_1"
    )

    responses = [
        post_webhook(api, body),
        post_webhook(api, body, token=None),
        post_webhook(api, body, token=CALLBACK_TOKEN + "x"),
        post_webhook(api, {"hello": "world"}),
    ]

    assert [r.status_code for r in responses] == [200, 401, 403, 422]
    for response in responses:
        assert_documented(schema, "post", "/api/v1/webhooks/xendit", response)


def test_refund_and_other_webhooks_answer_as_documented(schema, api, make_sale):
    sale = make_sale(status=SaleStatus.COMPLETED, xendit_payment_id="qrpy_schema_refund", paid_amount=40000)
    refund = refund_notice("qrpy_schema_refund")

    refunded = post_webhook(api, refund)
    other = post_webhook(api, {"event": "payment.capture", "data": {"id": "py_1"}})

    assert refunded.json() == {"success": True, "message": "Refund updated"}
    assert other.json() == {"success": True, "message": "Notification stored and ignored"}
    for response in (refunded, other):
        assert response.status_code == 200
        assert_documented(schema, "post", "/api/v1/webhooks/xendit", response)
    # A refund made in Xendit's dashboard: recorded, and the whole payment given back refunds the sale.
    assert Refund.objects.get(sale=sale).xendit_refund_id == refund["data"]["id"]
    sale.refresh_from_db()
    assert sale.status == SaleStatus.REFUNDED


def test_cleanup_answers_match_the_schema(schema, api, db, settings):
    settings.MAINTENANCE_TOKEN = "maintenance-secret"
    path = "/api/v1/maintenance/cleanup"

    responses = [
        api.post(path, HTTP_X_MAINTENANCE_TOKEN="maintenance-secret"),
        api.post(path),
        api.post(path, HTTP_X_MAINTENANCE_TOKEN="wrong"),
        api.post(f"{path}?days=0", HTTP_X_MAINTENANCE_TOKEN="maintenance-secret"),
    ]
    alias = api.delete("/api/v1/maintenance/cleanup-old-folders", HTTP_X_MAINTENANCE_TOKEN="maintenance-secret")

    assert [r.status_code for r in responses] == [200, 401, 403, 422]
    for response in responses:
        assert_documented(schema, "post", path, response)
    assert alias.status_code == 200
    assert_documented(schema, "delete", "/api/v1/maintenance/cleanup-old-folders", alias)


def test_health_matches_the_schema(schema, client, db):
    response = client.get("/health")

    assert response.status_code == 200
    assert_documented(schema, "get", "/health", response)


def qr_routes() -> dict[str, str]:
    """The QR image endpoints (payments/qr.py), by media type, as far as they are routed."""
    from django.urls import NoReverseMatch, reverse

    routes = {}
    for kind, media_type in (("svg", "image/svg+xml"), ("png", "image/png")):
        try:
            routes[media_type] = reverse(f"sale-qr-{kind}", kwargs={"external_id": "EXTERNAL_ID"})
        except NoReverseMatch:
            continue
    return routes


def test_qr_image_endpoints_are_documented_as_far_as_they_exist(schema):
    documented = {path for path in schema["paths"] if "/qr." in path}

    assert documented == {path.replace("EXTERNAL_ID", "{external_id}") for path in qr_routes().values()}
    for media_type, route in qr_routes().items():
        responses = schema["paths"][route.replace("EXTERNAL_ID", "{external_id}")]["get"]["responses"]
        assert {int(code) for code in responses} == {200, 304, 404, 410} | SERVER_REFUSALS
        assert list(responses["200"]["content"]) == [media_type]


def test_qr_image_answers_match_the_schema(schema, api, make_sale):
    pending = make_sale()
    paid = make_sale(status=SaleStatus.COMPLETED)

    for media_type, route in qr_routes().items():
        path = route.replace("EXTERNAL_ID", "{external_id}")
        image = api.get(route.replace("EXTERNAL_ID", pending.external_id))
        unknown = api.get(route.replace("EXTERNAL_ID", "NOPE"))
        gone = api.get(route.replace("EXTERNAL_ID", paid.external_id))

        assert (image.status_code, image["Content-Type"]) == (200, media_type)
        assert [unknown.status_code, gone.status_code] == [404, 410]
        for response in (unknown, gone):
            assert_documented(schema, "get", path, response)


def test_menu_answers_match_the_schema(schema, api, location, make_price, make_location):
    make_price(40000, quota=3)
    path = "/api/v1/kiosk/packages"
    menu = api.get(path, {"location_id": location.pk})
    not_modified = api.get(path, {"location_id": location.pk}, HTTP_IF_NONE_MATCH=menu["ETag"])
    invalid = api.get(path)
    unknown = api.get(path, {"location_id": 999_999})
    inactive = api.get(path, {"location_id": make_location(is_active=False).pk})

    assert [r.status_code for r in (menu, not_modified, invalid, unknown, inactive)] == [200, 304, 422, 404, 422]
    for response in (menu, invalid, unknown, inactive):
        assert_documented(schema, "get", path, response)
    assert set(schema["paths"][path]["get"]["responses"]["304"]["headers"]) >= {"ETag", "Cache-Control"}
