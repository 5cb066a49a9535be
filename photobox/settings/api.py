"""The API: DRF, the OpenAPI schema and its readers (/api/schema/, /docs, /redoc), and CORS."""

from corsheaders.defaults import default_headers
from django.core.exceptions import ImproperlyConfigured

from photobox.settings.base import APP_VERSION, env
from photobox.settings.security import TRUSTED_PROXY_COUNT

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Kiosks and Xendit do not use sessions; no authentication class also means no CSRF check.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "core.envelope.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's own client address rule, the same as core.client.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}

# OpenAPI schema at /api/schema/, Swagger UI at /docs, ReDoc at /redoc: public, and served from
# our own static files (kiosk and staff networks may have no CDN access).
SPECTACULAR_SETTINGS = {
    "TITLE": "Photobox API",
    "DESCRIPTION": (
        "The API of Photobox's self-service photo booth kiosks: sell a session and show its QRIS code, "
        "poll the payment, upload the photos; Xendit's payment and refund webhook; the maintenance cleanup. "
        'Every error is the envelope `{"success": false, "message": "...", "details": {...}}`; '
        "request validation errors are 422 with `details.errors[]`. Every response carries `X-Request-ID`. "
        "Kiosks send their key as `Authorization: Bearer pbk_...` (required when the server runs with "
        "KIOSK_AUTH=required); a rate-limited request gets 429 with `Retry-After`."
    ),
    "VERSION": APP_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No call to swagger.io's online validator: the docs work without the internet.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "displayOperationId": True, "validatorUrl": None},
    # The envelopes' `success` is always true (answers) or always false (errors).
    "ENUM_NAME_OVERRIDES": {
        "SuccessTrue": [(True, True)],
        "SuccessFalse": [(False, False)],
        "SaleStatusEnum": "payments.models.SaleStatus",
    },
    "PREPROCESSING_HOOKS": ["gallery.api.schema.preprocess"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # The apps' own hooks first: core's then documents X-Request-ID and the 414 on their paths too.
        "payments.api.webhook_schema.postprocess",
        "payments.api.schema.postprocess",
        "locations.schema.postprocess",
        "core.openapi.postprocess",
    ],
    "TAGS": [
        {"name": "sales", "description": "Kiosks sell a session, show its QRIS code and poll the payment."},
        {"name": "photos", "description": "Kiosks upload a paid session's photos; the photo list."},
        {"name": "webhooks", "description": "Xendit's callback for QR payments and refunds."},
        {"name": "maintenance", "description": "Photo cleanup for cron jobs calling over HTTP."},
        {"name": "simulator", "description": "Development only (DEBUG and PAYMENT_GATEWAY=simulator)."},
        {"name": "health", "description": "For load balancers and uptime checks."},
    ],
}

# --- CORS (django-cors-headers from the seed's CORS_* variables) ----------------------------
_cors_origins = env.list("CORS_ORIGINS", [])
CORS_ALLOW_ALL_ORIGINS = "*" in _cors_origins
CORS_ALLOWED_ORIGINS = [o for o in _cors_origins if "*" not in o]
# `https://*.example.com` means any subdomain of example.com.
CORS_ALLOWED_ORIGIN_REGEXES = [
    "^" + o.replace(".", r"\.").replace("*", r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*") + "$"
    for o in _cors_origins
    if "*" in o and o != "*"
]
CORS_ALLOW_CREDENTIALS = env.bool("CORS_ALLOW_CREDENTIALS", False)
if CORS_ALLOW_CREDENTIALS and CORS_ALLOW_ALL_ORIGINS:
    raise ImproperlyConfigured("CORS_ORIGINS=* cannot be combined with CORS_ALLOW_CREDENTIALS=true: list the origins.")
_cors_methods = env.list("CORS_ALLOW_METHODS", ["*"])
if "*" not in _cors_methods:
    CORS_ALLOW_METHODS = [m.upper() for m in _cors_methods]
_cors_headers = env.list("CORS_ALLOW_HEADERS", ["*"])
if "*" not in _cors_headers:
    CORS_ALLOW_HEADERS = [h.lower() for h in _cors_headers]
else:
    CORS_ALLOW_HEADERS = [*default_headers, "idempotency-key", "x-request-id"]
CORS_EXPOSE_HEADERS = ["X-Request-ID"]
CORS_URLS_REGEX = r"^/(api/|health$).*"
