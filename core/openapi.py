"""What every app's API contract is built from (drf-spectacular), and the schema's shared hook.

Each app documents its own operations next to its views (payments/api/, gallery/api/): the
output serializers there produce the answers and drf-spectacular reads the same classes. Here:
the fields those answers share (Jakarta times, rupiah, the envelopes' constant `success`), the
error envelope ``{"success": false, "message", "details"}`` (422 validation errors with
``details.errors[]``) and the helpers that write its examples, the encrypted variant
``{"data": "<base64>"}``, and `postprocess`, which adds what drf-spectacular cannot see: GET
/health (a plain Django view), the X-Request-ID header on every operation, Retry-After on every
429, the 414 of the HTTP server in front, and the error envelope's open ``details``.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from core.formats import jakarta_iso, rupiah_number

# --- Fields the answers share ----------------------------------------------------------------


@extend_schema_field({"type": "boolean", "enum": [True]})
class TrueField(serializers.BooleanField):
    pass


@extend_schema_field({"type": "boolean", "enum": [False]})
class FalseField(serializers.BooleanField):
    pass


class JakartaDateTimeField(serializers.DateTimeField):
    """`2025-12-15T16:22:29+07:00`: Asia/Jakarta, seconds precision, explicit offset."""

    def to_representation(self, value):
        return jakarta_iso(value)


class RupiahField(serializers.FloatField):
    """A JSON number of rupiah: an integer when whole (`40000`)."""

    def to_representation(self, value):
        return rupiah_number(value)


class LengthField(serializers.IntegerField):
    """How many items its source holds."""

    def to_representation(self, value):
        return len(value)


# A success envelope, `{"success": true, "message": MESSAGE, "data": ...}`: a subclass declares
# `message` (its help text naming MESSAGE) and `data`, and `answer` fills them. Comments, not
# docstrings, on answer serializers: drf-spectacular publishes a docstring as the description.
class SuccessSerializer(serializers.Serializer):
    MESSAGE: str
    success = TrueField()

    @classmethod
    def answer(cls, data) -> dict:
        return cls({"success": True, "message": cls.MESSAGE, "data": data}).data


# --- Errors ---------------------------------------------------------------------------------------


class ValidationErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The offending field (`body` for the body as a whole).")
    message = serializers.CharField()
    type = serializers.CharField(help_text="`missing`, `value_error`, `json_invalid`, `int_parsing`, ...")


class ErrorDetailsSerializer(serializers.Serializer):
    """Open object: what the failure is about (ids, limits); `errors` only for validation errors."""

    # The stubs take this field for Serializer.errors, which it does not replace: DRF's
    # metaclass moves declared fields off the class.
    errors = ValidationErrorItemSerializer(many=True, required=False, help_text="Validation errors only.")  # type: ignore[assignment]


class ErrorSerializer(serializers.Serializer):
    """The error envelope every error response uses, from any layer."""

    success = FalseField()
    message = serializers.CharField(help_text="Human-readable; stable, so kiosks may match on it.")
    details = ErrorDetailsSerializer(help_text="Always an object, `{}` when there is nothing to add.")


class ValidationErrorDetailsSerializer(serializers.Serializer):
    # The stubs take this field for Serializer.errors, which it does not replace: DRF's
    # metaclass moves declared fields off the class.
    errors = ValidationErrorItemSerializer(many=True)  # type: ignore[assignment]


class ValidationErrorSerializer(serializers.Serializer):
    """A request that does not validate: 422 with one entry per problem in `details.errors`."""

    success = FalseField()
    message = serializers.CharField(help_text="`Validation error`")
    details = ValidationErrorDetailsSerializer()


def example(status: int, message: str, details: dict | None = None, *, name: str | None = None) -> OpenApiExample:
    return OpenApiExample(
        name or message,
        value={"success": False, "message": message, "details": details or {}},
        status_codes=[str(status)],
        response_only=True,
    )


def validation_example(field: str, message: str, kind: str) -> OpenApiExample:
    return example(
        422,
        "Validation error",
        {"errors": [{"field": field, "message": message, "type": kind}]},
        name="Validation error",
    )


def error(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description, examples=list(examples))


def validation_error(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(ValidationErrorSerializer, description=description, examples=list(examples))


def too_many(description: str) -> OpenApiResponse:
    return error(
        description + " Wait the `Retry-After` seconds.",
        example(429, "Too many requests", {"retry_after": 42}),
    )


def error_response(description: str) -> dict:
    """The error envelope as a response of a hand-written path (for views drf-spectacular cannot see)."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


# --- Encryption -------------------------------------------------------------------------------------


class EncryptedSerializer(serializers.Serializer):
    """With ENCRYPTION_ENABLED=true: the body that would have been sent, encrypted."""

    # The stubs take this field for Serializer.data, which it does not replace: DRF's
    # metaclass moves declared fields off the class.
    data = serializers.CharField(  # type: ignore[assignment]
        help_text="ENCRYPTION_MODE=cbc (the default, for deployed kiosks): Base64 of AES-256-CBC (PKCS#7) of the "
        "exact plaintext JSON body, with ENCRYPTION_KEY (32 characters) and ENCRYPTION_IV (16 characters). "
        "ENCRYPTION_MODE=gcm: Base64 of nonce (12 bytes) || ciphertext || tag (16 bytes), AES-256-GCM with the "
        "64-hex-character ENCRYPTION_KEY and the request's path as associated data. See docs/kiosk-contract.md."
    )
    alg = serializers.ChoiceField(
        choices=[("A256GCM", "A256GCM")],
        required=False,
        help_text="`A256GCM` with ENCRYPTION_MODE=gcm; absent with cbc.",
    )


def maybe_encrypted(name: str, plain) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name=name, serializers=[plain, EncryptedSerializer], resource_type_field_name=None
    )


# --- The hook ---------------------------------------------------------------------------------------

REQUEST_ID_HEADER = {
    "description": "The caller's X-Request-ID echoed (when 1-128 safe characters), or a new UUID.",
    "schema": {"type": "string"},
}
REQUEST_ID_PARAMETER = {
    "in": "header",
    "name": "X-Request-ID",
    "required": False,
    # Any value is accepted (nothing is refused for it): one that is not 1-128 of these characters
    # is replaced, not echoed.
    "description": "Your id for the request, echoed in the response and written in our logs when it is 1-128 of "
    "`A-Z a-z 0-9 . _ : @ / + = -`; any other value is replaced by a new UUID.",
    "schema": {"type": "string"},
}
RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}

# The HTTP server (gunicorn: 4094 bytes; nginx: 8 KB) refuses an over-long request line before
# the app sees it, with its own page: documented on every operation, since any URL can be too long.
REQUEST_LINE_TOO_LONG = {
    "description": "The request line (method, path and query) is too long: refused by the HTTP server in front of "
    "the API (gunicorn or nginx), with its own short page rather than the error envelope."
}

# What an operation declares for this hook with extend_schema(extensions={...}); taken out of
# the published schema. drf-spectacular has no word for either.
BODY_REQUIRED = "x-body-required"  # True: the operation answers 422 to a request without a body
RESPONSE_HEADERS = "x-response-headers"  # {status: {header: its schema}}: sent with some answers


def _health_path() -> dict:
    """GET /health (photobox/views.py: a plain Django view)."""
    schema = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "error"]},
            "timestamp": {"type": "string", "format": "date-time"},
            "database": {"type": "string", "enum": ["ok", "error"]},
            "version": {"type": "string", "description": "APP_VERSION"},
        },
        "required": ["status", "timestamp", "database", "version"],
    }
    return {
        "get": {
            "operationId": "health",
            "summary": "Is the service up and its database reachable?",
            "description": "Never redirected to HTTPS, so a load balancer may call it over plain HTTP.",
            "tags": ["health"],
            "responses": {
                "200": {"description": "Up.", "content": {"application/json": {"schema": schema}}},
                "503": {
                    "description": "The database is unreachable (`status` and `database` are `error`).",
                    "content": {"application/json": {"schema": schema}},
                },
            },
        }
    }


def postprocess(result, generator, request, public):
    """Runs after the apps' hooks (settings SPECTACULAR_SETTINGS), so the paths they add get
    X-Request-ID and the 414 too."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    # `details` names whatever the failure is about: an open object.
    if "ErrorDetails" in schemas:
        schemas["ErrorDetails"]["additionalProperties"] = {}
    paths = result.setdefault("paths", {})
    paths["/health"] = _health_path()
    result.setdefault("components", {}).setdefault("headers", {})["X-Request-ID"] = REQUEST_ID_HEADER
    for path_item in paths.values():
        for operation in path_item.values():
            if operation.pop(BODY_REQUIRED, False) and "requestBody" in operation:
                operation["requestBody"]["required"] = True
            own_headers = operation.pop(RESPONSE_HEADERS, {})
            operation.setdefault("parameters", []).append(REQUEST_ID_PARAMETER)
            for code, response in operation.get("responses", {}).items():
                response.setdefault("headers", {})["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
                if code == "429":
                    response["headers"]["Retry-After"] = RETRY_AFTER_HEADER
                response["headers"].update(own_headers.get(code, {}))
            operation["responses"]["414"] = REQUEST_LINE_TOO_LONG
    return result
