"""The kiosk API's error envelope, and the one exception handler that answers with it.

Every error from every layer leaves as
``{"success": false, "message": "...", "details": {...}}`` (see docs/kiosk-contract.md).
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from core import errors

logger = logging.getLogger("photobox.api")

# DRF's validation codes, named the way the earlier (pydantic) service named them, since kiosk
# developers already read these in their logs.
VALIDATION_TYPES = {
    "required": "missing",
    "null": "missing",
    "blank": "missing",
    "invalid": "value_error",
    "max_length": "string_too_long",
    "min_length": "string_too_short",
    "max_value": "less_than_equal",
    "min_value": "greater_than_equal",
    "max_string_length": "string_too_long",
    "max_digits": "decimal_max_digits",
    "not_a_list": "list_type",
    "not_a_dict": "dict_type",
}


def envelope(message: str, details: dict | None = None) -> dict:
    return {"success": False, "message": message, "details": details or {}}


def error_response(status_code: int, message: str, details: dict | None = None, headers=None) -> Response:
    return Response(envelope(message, details), status=status_code, headers=headers)


def json_error(status_code: int, message: str, details: dict | None = None) -> JsonResponse:
    """The envelope outside DRF (middleware, Django's error handlers)."""
    return JsonResponse(
        envelope(message, details),
        status=status_code,
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
    )


def validation_errors(detail, prefix: str = "") -> list[dict]:
    """Flatten DRF's nested error detail into the contract's ``errors[]`` list."""
    errors: list[dict] = []
    if isinstance(detail, dict):
        for field, value in detail.items():
            name = f"{prefix}.{field}" if prefix else str(field)
            if field == "non_field_errors":
                name = prefix or "body"
            errors.extend(validation_errors(value, name))
    elif isinstance(detail, list):
        for item in detail:
            errors.extend(validation_errors(item, prefix))
    else:
        code = getattr(detail, "code", "invalid")
        errors.append({"field": prefix or "body", "message": str(detail), "type": VALIDATION_TYPES.get(code, code)})
    return errors


def validation_error_response(errors: list[dict]) -> Response:
    return error_response(status.HTTP_422_UNPROCESSABLE_ENTITY, "Validation error", {"errors": errors})


# Seconds a client is asked to wait when the database cannot be reached: a restart or failover.
DATABASE_RETRY_AFTER = 5


def database_unavailable(exc: BaseException | None) -> bool:
    """A database that cannot be reached or answer now (not a bad query)."""
    return isinstance(exc, OperationalError | InterfaceError)


def exception_handler(exc, context):
    """DRF exception handler: every exception raised by an API view becomes the envelope."""
    if isinstance(exc, errors.DomainError):
        return domain_error_response(exc)
    if isinstance(exc, exceptions.ValidationError):
        return validation_error_response(validation_errors(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        # Malformed JSON and bodies that are not UTF-8 are invalid bodies like any other.
        return validation_error_response([{"field": "body", "message": str(exc.detail), "type": "json_invalid"}])
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return error_response(
            exc.status_code,
            "Unsupported media type",
            {"content_type": exc.detail and str(context["request"].content_type)},
        )
    if isinstance(exc, exceptions.MethodNotAllowed):
        return error_response(exc.status_code, "Method not allowed", {"method": context["request"].method})
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # APIView.handle_exception has set the view's WWW-Authenticate value (and 401) already.
        auth_header = getattr(exc, "auth_header", None)
        headers = {"WWW-Authenticate": auth_header} if auth_header else None
        message = str(exc.detail) if isinstance(exc.detail, str) else "Unauthorized"
        return error_response(exc.status_code, message, headers=headers)
    if isinstance(exc, exceptions.Throttled):
        wait: int | None = exc.wait  # type: ignore[attr-defined]  # set by Throttled.__init__; the stubs omit it
        headers = {"Retry-After": str(wait)} if wait is not None else None
        return error_response(exc.status_code, "Too many requests", {"retry_after": wait}, headers=headers)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return error_response(status.HTTP_404_NOT_FOUND, "Not found")
    if isinstance(exc, PermissionDenied | exceptions.PermissionDenied):
        return error_response(status.HTTP_403_FORBIDDEN, "Forbidden")
    if isinstance(exc, RequestDataTooBig):
        return error_response(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "Request body too large")
    if isinstance(exc, SuspiciousOperation):
        return error_response(status.HTTP_400_BAD_REQUEST, "Bad request")
    if isinstance(exc, exceptions.APIException):
        return error_response(exc.status_code, str(exc.detail) if isinstance(exc.detail, str) else "Request error")
    if database_unavailable(exc):
        # PostgreSQL restarting or failing over: a wait, not a bug. Kiosks retry after Retry-After.
        logger.warning("database unavailable: %s", exc)
        return error_response(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "Service temporarily unavailable",
            {"retry_after": DATABASE_RETRY_AFTER},
            headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    request = context.get("request")
    logger.exception("Unhandled error in %s %s", getattr(request, "method", "?"), getattr(request, "path", "?"))
    return error_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error")


# Each kind of domain error and its status: the one place a service's "no" becomes HTTP. The
# first kind an error is an instance of wins; a kind not listed here is a plain 400.
DOMAIN_ERROR_STATUSES: dict[type[errors.DomainError], int] = {
    errors.Rejected: status.HTTP_400_BAD_REQUEST,
    errors.Unauthenticated: status.HTTP_401_UNAUTHORIZED,
    errors.Forbidden: status.HTTP_403_FORBIDDEN,
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.TooLarge: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    errors.Invalid: status.HTTP_422_UNPROCESSABLE_ENTITY,
    errors.TooMany: status.HTTP_429_TOO_MANY_REQUESTS,
    errors.Refused: status.HTTP_502_BAD_GATEWAY,
    errors.Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def status_for(exc: errors.DomainError) -> int:
    """The HTTP status of a domain error (also for plain Django views that answer the envelope)."""
    return next(
        (code for kind, code in DOMAIN_ERROR_STATUSES.items() if isinstance(exc, kind)), status.HTTP_400_BAD_REQUEST
    )


def domain_error_headers(exc: errors.DomainError) -> dict[str, str] | None:
    """What a domain error's data says in headers: how to authenticate, when to ask again."""
    headers = {}
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = exc.challenge
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return headers or None


def domain_error_response(exc: errors.DomainError) -> Response:
    return error_response(status_for(exc), exc.message, exc.details, headers=domain_error_headers(exc))
