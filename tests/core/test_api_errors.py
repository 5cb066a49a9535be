"""Every error on /api/ leaves as the JSON envelope, whatever layer produced it."""

import pytest
from django.test import Client
from django.urls import path

from core import errors
from core.envelope import exception_handler
from photobox import urls as project_urls


def boom(request):
    raise RuntimeError("unexpected failure with a secret inside")


urlpatterns = [path("api/v1/boom", boom), *project_urls.urlpatterns]


def assert_envelope(response, status: int, message: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["success", "message", "details"]
    assert body["success"] is False
    assert body["message"] == message
    assert isinstance(body["details"], dict)
    return body


@pytest.mark.django_db
def test_unknown_api_route_is_404_envelope(api):
    assert_envelope(api.get("/api/v1/nothing-here"), 404, "Not found")


@pytest.mark.django_db
def test_trailing_slash_post_is_never_redirected(api):
    response = api.post("/api/v1/transactions/", data="{}", content_type="application/json")

    assert_envelope(response, 404, "Not found")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("delete", "/api/v1/transactions"),
        ("get", "/api/v1/transactions"),
        ("post", "/api/v1/transactions/external/TRX-1"),
        ("get", "/api/v1/webhooks/xendit"),
    ],
)
def test_wrong_method_is_405_envelope(api, method, url):
    body = assert_envelope(getattr(api, method)(url), 405, "Method not allowed")
    assert body["details"] == {"method": method.upper()}


@pytest.mark.django_db
@pytest.mark.urls(__name__)
@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_exception_is_500_envelope_without_traceback(settings, debug):
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/boom")

    assert_envelope(response, 500, "Internal server error")
    assert b"secret" not in response.content
    assert b"Traceback" not in response.content


@pytest.mark.django_db
def test_unknown_route_with_debug_on_is_still_json(api, settings):
    settings.DEBUG = True
    assert_envelope(api.get("/api/v1/nothing-here"), 404, "Not found")


@pytest.mark.django_db
def test_bad_host_header_on_api_is_400_envelope():
    response = Client().get("/api/v1/transactions/external/X", HTTP_HOST="evil.example")

    assert_envelope(response, 400, "Bad request")


@pytest.mark.django_db
def test_oversized_body_is_a_4xx_envelope(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/v1/transactions", data='{"email": "' + "a" * 5000 + '"}', content_type="application/json")

    assert 400 <= response.status_code < 500
    assert response.json()["success"] is False


@pytest.mark.django_db
def test_health_reports_database_and_version(api, settings):
    body = api.get("/health").json()

    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["version"] == settings.APP_VERSION
    assert body["timestamp"].endswith("+07:00")


@pytest.mark.parametrize(
    ("error", "status", "headers"),
    [
        (errors.DomainError("No"), 400, {}),
        (errors.Rejected("Price is inactive"), 400, {}),
        (
            errors.Unauthenticated("Kiosk key required", challenge='Bearer realm="photobox"'),
            401,
            {"WWW-Authenticate": 'Bearer realm="photobox"'},
        ),
        (errors.Forbidden("Kiosk key does not belong to this location"), 403, {}),
        (errors.NotFound("Transaction not found"), 404, {}),
        (errors.Conflict("Already refunded"), 409, {}),
        (errors.TooLarge("Request body too large"), 413, {}),
        (errors.Invalid("Price quota exceeded"), 422, {}),
        (errors.Refused("Payment gateway rejected the request"), 502, {}),
        (errors.Unavailable("Payment gateway unavailable"), 503, {}),
        (errors.Unavailable("Payment gateway unavailable", retry_after=7), 503, {"Retry-After": "7"}),
    ],
)
def test_each_domain_error_kind_has_one_status(error, status, headers):
    response = exception_handler(error, {})

    assert response.status_code == status
    assert response.data == {"success": False, "message": error.message, "details": {}}
    assert {name: response[name] for name in ("WWW-Authenticate", "Retry-After") if name in response} == headers
