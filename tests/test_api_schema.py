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
from PIL import Image

from payments.models import SaleStatus
from tests.conftest import CALLBACK_TOKEN, post_webhook, webhook_fixture
from tests.test_settings import SETTINGS_VARIABLES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SALE = "/api/v1/transactions/external/{external_id}"
PHOTOS = "/api/v1/transactions/{external_id}/photos"

# Every kiosk-facing operation and the statuses the contract gives it (kiosk-contract.md), besides
# 414 (a request line too long for the HTTP server), which every operation documents.
DOCUMENTED = {
    ("post", "/api/v1/transactions"): {201, 400, 401, 403, 404, 409, 422, 429, 502, 503},
    ("get", SALE): {200, 404},
    ("post", PHOTOS): {200, 400, 401, 403, 404, 409, 422, 429, 502},
    ("get", PHOTOS): {200, 401, 403, 404, 429},
    ("post", "/api/v1/webhooks/xendit"): {200, 401, 403, 422, 429},
    ("post", "/api/v1/maintenance/cleanup"): {200, 401, 403, 422},
    ("delete", "/api/v1/maintenance/cleanup-old-folders"): {200, 401, 403, 422},
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
        422: {"Validation error", "Location is not active", "Price quota exceeded"},
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


def test_webhook_documents_the_three_notification_shapes(schema):
    request_body = schema["paths"]["/api/v1/webhooks/xendit"]["post"]["requestBody"]
    body = request_body["content"]["application/json"]

    # A body may fit two shapes (the webhook reads `data` first, then `qr_code`): anyOf. Each shape
    # requires only what the webhook needs to recognise it (Xendit's own are read leniently).
    shapes = [resolve(schema, s) for s in resolve(schema, body["schema"])["anyOf"]]

    assert request_body["required"] is True
    assert sorted(tuple(sorted(s["required"])) for s in shapes) == sorted(
        [("data",), ("qr_code",), ("external_id", "status")]
    )


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
