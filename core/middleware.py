import re
import uuid

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.utils import translation

from core.envelope import json_error
from core.logging import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# Echo a caller's id only when it is a sane token: it ends up in logs and response headers.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

_STATUS_MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests",
    503: "Service temporarily unavailable",
}


class RequestIDMiddleware:
    """Every response carries X-Request-ID: the caller's, or a new UUID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        # Every log record written while handling the request carries its id (core.logging).
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class ApiErrorEnvelopeMiddleware:
    """Last line of defence for /api/ paths: whatever Django produced for an error outside our
    views (its HTML 404/500 pages, the DEBUG technical pages, a 400 for a bad Host header, a
    413 for an oversized body) leaves as the JSON error envelope instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            message = _STATUS_MESSAGES.get(status, "Internal server error" if status >= 500 else "Request error")
            replacement = json_error(status, message)
            for header in ("Allow", "Retry-After"):
                if header in response:
                    replacement[header] = response[header]
            return replacement
        return response


class AdminLanguageMiddleware:
    """Customers get LANGUAGE_CODE (Indonesian); the admin speaks ADMIN_LANGUAGE_CODE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/admin/"):
            return self.get_response(request)
        with translation.override(settings.ADMIN_LANGUAGE_CODE):
            response = self.get_response(request)
            # Templates render lazily: render inside the override.
            if hasattr(response, "render") and callable(response.render):
                response.render()
        return response


class MessageMiddleware(DjangoMessageMiddleware):
    """Django's, for every page but the API's: the admin's flash messages. Kiosks and Xendit never
    see one, and building the two message stores (cookie and session) cost ~20 µs of every API
    request, the poll's included. `messages.add_message` in an API view raises MessageFailure."""

    def process_request(self, request):
        if not request.path_info.startswith("/api/"):
            super().process_request(request)
