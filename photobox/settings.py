"""Photobox settings: every value comes from the environment (and a `.env` file if present).

The variable names of the earlier FastAPI service's `.env` are accepted unchanged, so an existing
deployment's environment keeps working. `.env.example` documents every variable.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from photobox.env import StrictEnv
from photobox.logging import log_file_path, logging_config
from photobox.startup import characters, debug_would_fix, help_only

BASE_DIR = Path(__file__).resolve().parent.parent

# Values already in the process environment win over the file (django-environ never overrides).
environ.Env.read_env(BASE_DIR / ".env")
env = StrictEnv()

APP_NAME = env.str("APP_NAME", "Photobox")
APP_VERSION = env.str("APP_VERSION", "1.0.0")

DEBUG = env.bool("DEBUG", False)
# `manage.py help` and `manage.py <command> --help` only print text: manage.py says so in the
# PHOTOBOX_HELP_ONLY environment variable before the settings load (photobox/startup.py). The values
# that only production requires then get placeholders, so that help works with no configuration.
# Nothing runs or is served with them: help_only() holds only in that manage.py process, while its
# command line asks for help; photobox/wsgi.py drops the variable.
HELP_ONLY = help_only()

# Required in production; a fixed development key only when DEBUG is on.
if DEBUG or HELP_ONLY:
    SECRET_KEY = env.str("SECRET_KEY", "django-insecure-photobox-development-only")
elif env.is_set("SECRET_KEY"):
    SECRET_KEY = env.str("SECRET_KEY")
else:
    raise debug_would_fix(
        "SECRET_KEY is required when DEBUG is off: set it to a long random string, e.g. the output of "
        'python -c "import secrets; print(secrets.token_urlsafe(50))".'
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS and not HELP_ONLY:
    # Django would start and then answer every request with 400: say why at start-up instead.
    raise debug_would_fix("ALLOWED_HOSTS is required when DEBUG is off, e.g. ALLOWED_HOSTS=photobox.example.com.")

# --- HTTPS behind a reverse proxy (production) ----------------------------------------------
# With DEBUG off the service is meant to be reached over HTTPS only: plain HTTP is redirected,
# browsers are told to stay on HTTPS (HSTS), and cookies (the admin's) never travel in clear.
# The proxy terminates TLS; Django learns the original scheme from X-Forwarded-Proto, trusted only
# when SECURE_PROXY_SSL_HEADER says the proxy sets it (otherwise a client could claim HTTPS).
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", "")
if _proxy_ssl_header.lower() in ("", "false", "0", "no", "off"):
    SECURE_PROXY_SSL_HEADER = None
elif _proxy_ssl_header.lower() in ("true", "1", "yes", "on"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
elif re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", _proxy_ssl_header):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
else:
    raise ImproperlyConfigured(
        f"SECURE_PROXY_SSL_HEADER must be true, false or a header name such as X-Forwarded-Proto, "
        f"got {_proxy_ssl_header!r}."
    )
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers check /health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# Origins allowed to POST forms to the admin besides this host itself (scheme included).
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not re.match(r"^https?://[^/\s]+$", _origin):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries look like https://photobox.example.com (scheme, host, no path), "
            f"got {_origin!r}."
        )
# The Host header is the client's, never a proxy's X-Forwarded-Host.
USE_X_FORWARDED_HOST = False
SILENCED_SYSTEM_CHECKS = []
if not SECURE_HSTS_PRELOAD:
    # Asking browsers to preload HSTS is the domain owner's decision (hstspreload.org), made with
    # SECURE_HSTS_PRELOAD=true; `check --deploy` need not warn that it was not made.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "axes",
    "core",
    "locations",
    "pricing",
    "payments",
    "gallery",
]

MIDDLEWARE = [
    "photobox.middleware.RequestIDMiddleware",
    "photobox.logging.LogContextMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "photobox.middleware.ApiErrorEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "photobox.middleware.AdminLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a locked-out admin login into the lockout page (django-axes; must come last).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "photobox.urls"
WSGI_APPLICATION = "photobox.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.postgresql":
    # The seed's SQLAlchemy pool settings map onto psycopg's connection pool, one per process:
    # total connections = (DB_POOL_SIZE + DB_MAX_OVERFLOW) x worker processes, as before.
    DB_POOL_SIZE = env.int("DB_POOL_SIZE", 0, minimum=0)
    DB_MAX_OVERFLOW = env.int("DB_MAX_OVERFLOW", 5, minimum=0)
    DB_POOL_TIMEOUT = env.float("DB_POOL_TIMEOUT", 30)
    DB_POOL_RECYCLE = env.int("DB_POOL_RECYCLE", 3600, minimum=60)
    DB_POOL_PRE_PING = env.bool("DB_POOL_PRE_PING", True)
    if DB_POOL_SIZE:
        _pool = {
            "min_size": DB_POOL_SIZE,
            "max_size": DB_POOL_SIZE + DB_MAX_OVERFLOW,
            "timeout": DB_POOL_TIMEOUT,
            "max_lifetime": float(DB_POOL_RECYCLE),
        }
        _db.setdefault("OPTIONS", {})["pool"] = _pool
        _db["CONN_MAX_AGE"] = 0
        # Django gives the pool its check (ConnectionPool.check_connection) when this is on;
        # passing `check` in the pool's options as well makes every start fail.
        _db["CONN_HEALTH_CHECKS"] = DB_POOL_PRE_PING
    else:
        # Without a pool, keep each worker's connection open and check it before reuse.
        _db["CONN_MAX_AGE"] = DB_POOL_RECYCLE
        _db["CONN_HEALTH_CHECKS"] = DB_POOL_PRE_PING
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)
    # psycopg prepares a statement run this often on a connection, but only on server-binding
    # cursors: Django's cursors bind on the client (its default, kept: the poll no longer swaps
    # its cursor class), so this takes effect only with OPTIONS["server_side_binding"]
    # (bench/README.md, "Optimisations"). 0 turns it off, as pgbouncer in transaction mode needs.
    DB_PREPARE_THRESHOLD = env.int("DB_PREPARE_THRESHOLD", 5, minimum=0)
    if DB_PREPARE_THRESHOLD:
        _db["OPTIONS"]["prepare_threshold"] = DB_PREPARE_THRESHOLD
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs on SQLite with a threaded dev server: take the write lock up front so two
    # requests never deadlock upgrading read locks, and wait for it instead of failing.
    _db.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Caches: shared by every worker of every instance ----------------------------------------
# The rate limits count here, so it must be one place for all processes: Redis when REDIS_URL is
# set (several instances), else a table in the database (created by locations' migration 0003).
REDIS_URL = env.str("REDIS_URL", "")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", "photobox")
if REDIS_URL:
    if not re.match(r"^(rediss?|unix)://", REDIS_URL):
        raise ImproperlyConfigured("REDIS_URL must look like redis://127.0.0.1:6379/0 (or rediss://, unix://).")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # A Redis that stops answering must not hold requests up: rate limits then let requests through.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "photobox_cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # Expired rows are culled when the table grows past this (Django's default, 300, would
            # cull live rate-limit counters under a scan from many addresses).
            "OPTIONS": {"MAX_ENTRIES": 20_000},
        }
    }

# --- Client identity, kiosk keys, rate limits ------------------------------------------------
# How many reverse proxies in front append to X-Forwarded-For (nginx on this server: 1). The
# client's address is then the Nth entry from the right, which no client can forge; with 0 it is
# the connection's address (photobox/client_ip.py). Rate limits and admin lockouts count by it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# An IPv6 client is counted by its network of this many bits (a subscriber gets a /64 or more and
# may use any address in it), for every rate limit and the admin lockout; IPv4 by its address.
RATE_LIMIT_IPV6_PREFIX = env.int("RATE_LIMIT_IPV6_PREFIX", 64, minimum=1)
if RATE_LIMIT_IPV6_PREFIX > 128:
    raise ImproperlyConfigured(
        f"RATE_LIMIT_IPV6_PREFIX is bits of an IPv6 address: 1 to 128, got {RATE_LIMIT_IPV6_PREFIX}."
    )
# Kiosk keys (Authorization: Bearer pbk_...): `required`, the default with DEBUG off; `optional`
# (the demo's default) serves kiosks without a key as before (a key sent must still be valid), so a
# sale number alone reads that sale's photos and uploads into it. Chosen explicitly with DEBUG off,
# it is logged at start (photobox/startup.py) and `check --deploy` warns (locations/checks.py).
KIOSK_AUTH = env.choice("KIOSK_AUTH", ("required", "optional"), "optional" if DEBUG else "required")
# "count/period" (period: second, minute, hour or day) or "off"; see photobox/ratelimit.py.
RATE_LIMIT_SALE_CREATE = env.rate("RATE_LIMIT_SALE_CREATE", "30/minute")  # per kiosk key, or per IP without one
RATE_LIMIT_PHOTO_MISSES = env.rate("RATE_LIMIT_PHOTO_MISSES", "20/minute")  # photo list/upload 404s, per key or IP
RATE_LIMIT_GALLERY_MISSES = env.rate("RATE_LIMIT_GALLERY_MISSES", "20/minute")  # gallery page 404s, per IP
RATE_LIMIT_WEBHOOK_BAD_TOKEN = env.rate("RATE_LIMIT_WEBHOOK_BAD_TOKEN", "10/minute")  # webhook 401/403s, per IP

# --- Admin login: lockout after repeated wrong passwords (django-axes) -------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
# Locked: this username from this address (another colleague in the same office still logs in).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The same client address as the rate limits, proxy-aware and unforgeable.
AXES_CLIENT_IP_CALLABLE = "photobox.client_ip.client_network"
AXES_LOCKOUT_CALLABLE = "photobox.lockout.lockout_response"
# Attempts are in the database (shared by all instances); unlock with `manage.py axes_reset`.
AXES_ENABLE_ADMIN = False
# No start-up banner in the logs; a lockout is still logged (as a warning).
AXES_VERBOSE = False

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Customers read Indonesian (emails, gallery); English is available.
LANGUAGE_CODE = env.choice("LANGUAGE_CODE", ("id", "en"), "id")
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Staff labels are written in English; the admin stays in English unless told otherwise.
ADMIN_LANGUAGE_CODE = env.choice("ADMIN_LANGUAGE_CODE", ("id", "en"), "en")
# Stored in UTC; shown to people (admin, API, emails) in the kiosks' time zone.
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True
# Admin dates as `07 Dec 2026 09:34` (photobox/formats/), not Django's `Dec. 7, 2026, 9:34 a.m.`.
FORMAT_MODULE_PATH = "photobox.formats"

STATIC_URL = "static/"
# Where `collectstatic` gathers the static files (admin, API docs) that whitenoise serves.
STATIC_ROOT = Path(env.str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Production serves what collectstatic gathered (hashed names, cached for a year); development
# serves straight from the apps.
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", str(BASE_DIR / "media")))

# Kiosk paths have no trailing slash; the catch-all /api/ route keeps CommonMiddleware from ever
# redirecting a POST, and the admin still gets its usual slash redirects.
APPEND_SLASH = True

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Kiosks and Xendit do not use sessions; no authentication class also means no CSRF check.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "photobox.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's own client address rule, the same as photobox.client_ip.
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
    "PREPROCESSING_HOOKS": ["photobox.openapi.preprocess"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "photobox.openapi.postprocess",
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

# --- Payments -------------------------------------------------------------------------------
# The shortest callback or maintenance token accepted with DEBUG off.
MIN_TOKEN_LENGTH = 32
XENDIT_API_KEY = env.str("XENDIT_API_KEY", "")
XENDIT_CALLBACK_TOKEN = env.str("XENDIT_CALLBACK_TOKEN", "")
XENDIT_API_URL = env.str("XENDIT_API_URL", "https://api.xendit.co").rstrip("/")
XENDIT_CONNECT_TIMEOUT = env.float("XENDIT_CONNECT_TIMEOUT", 5.0, minimum=0.1)
XENDIT_READ_TIMEOUT = env.float("XENDIT_READ_TIMEOUT", 15.0, minimum=0.1)
# Our Xendit business id (Dashboard > Settings > Business profile): a notice naming another
# business is stored and ignored. Empty: notices are not checked for it.
XENDIT_BUSINESS_ID = env.str("XENDIT_BUSINESS_ID", "")

PAYMENT_GATEWAY = env.choice("PAYMENT_GATEWAY", ("xendit", "simulator"), None)
if PAYMENT_GATEWAY is None:
    if XENDIT_API_KEY:
        PAYMENT_GATEWAY = "xendit"
    elif DEBUG or HELP_ONLY:
        PAYMENT_GATEWAY = "simulator"
    else:
        # Production must never take fake payments by accident.
        raise debug_would_fix(
            "PAYMENT_GATEWAY is not set and XENDIT_API_KEY is empty: set XENDIT_API_KEY for real "
            "payments, or PAYMENT_GATEWAY=simulator to take simulated payments on purpose."
        )
if PAYMENT_GATEWAY == "xendit":
    if not XENDIT_API_KEY:
        raise ImproperlyConfigured("XENDIT_API_KEY is required when PAYMENT_GATEWAY=xendit.")
    if not XENDIT_CALLBACK_TOKEN:
        raise ImproperlyConfigured(
            "XENDIT_CALLBACK_TOKEN is required when PAYMENT_GATEWAY=xendit (copy it from the "
            "Xendit dashboard: Settings > Webhooks > Callback verification token)."
        )
# A short token can be guessed (the bad-token limit only slows guessing down). Empty keeps its
# meaning: every webhook is refused (the simulator needs none; PAYMENT_GATEWAY=xendit requires one).
if XENDIT_CALLBACK_TOKEN and len(XENDIT_CALLBACK_TOKEN) < MIN_TOKEN_LENGTH and not (DEBUG or HELP_ONLY):
    raise debug_would_fix(
        f"XENDIT_CALLBACK_TOKEN is too short ({characters(XENDIT_CALLBACK_TOKEN)}): use at least "
        f"{MIN_TOKEN_LENGTH}, the token from Xendit's dashboard is longer; copy it whole from Settings > Webhooks > "
        "Callback verification token."
    )

SALE_EXPIRY_MINUTES = env.int("SALE_EXPIRY_MINUTES", 15, minimum=1)
# expire_sales asks Xendit once about sales expired this many hours ago or less that nobody asked
# about (the kiosk's poll expired them): Xendit delivers late payments for up to a day.
LATE_PAYMENT_CHECK_HOURS = env.int("LATE_PAYMENT_CHECK_HOURS", 24, minimum=1)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", 48, minimum=24)

# --- Response encryption (compatible with kiosks built for the earlier service) -------------
ENCRYPTION_ENABLED = env.bool("ENCRYPTION_ENABLED", False)
# cbc: what deployed kiosks decrypt (static IV, no integrity); gcm: AES-256-GCM for new kiosks.
ENCRYPTION_MODE = env.choice("ENCRYPTION_MODE", ("cbc", "gcm"), "cbc")
ENCRYPTION_KEY = env.str("ENCRYPTION_KEY", "")
ENCRYPTION_IV = env.str("ENCRYPTION_IV", "")
if ENCRYPTION_ENABLED and ENCRYPTION_MODE == "gcm":
    if not re.fullmatch(r"[0-9A-Fa-f]{64}", ENCRYPTION_KEY):
        raise ImproperlyConfigured(
            "ENCRYPTION_MODE=gcm needs ENCRYPTION_KEY of 64 hexadecimal characters (32 bytes): openssl rand -hex 32"
        )
    if ENCRYPTION_IV:
        raise ImproperlyConfigured(
            "ENCRYPTION_IV must be empty with ENCRYPTION_MODE=gcm: every response gets a fresh random nonce."
        )
elif ENCRYPTION_ENABLED:
    if not ENCRYPTION_KEY:
        raise ImproperlyConfigured("ENCRYPTION_ENABLED=true needs ENCRYPTION_KEY (32 characters).")
    if not ENCRYPTION_IV:
        raise ImproperlyConfigured("ENCRYPTION_ENABLED=true needs ENCRYPTION_IV (16 characters).")
# cbc uses the key and the IV as text, truncated or right-padded with '0' to 32 and 16 characters
# (photobox/encryption.py), as the earlier service did: ENCRYPTION_KEY=abc is then 29 known
# characters of 32. With DEBUG off only exact values start, unless kiosks were built on padded ones:
# ENCRYPTION_LEGACY_KEY_PADDING=true keeps the padding (and says so at start, photobox/startup.py).
ENCRYPTION_LEGACY_KEY_PADDING = env.bool("ENCRYPTION_LEGACY_KEY_PADDING", False)
if ENCRYPTION_ENABLED and ENCRYPTION_MODE == "cbc" and not (DEBUG or HELP_ONLY or ENCRYPTION_LEGACY_KEY_PADDING):
    for _name, _value, _length, _example in (
        ("ENCRYPTION_KEY", ENCRYPTION_KEY, 32, "openssl rand -hex 16"),
        ("ENCRYPTION_IV", ENCRYPTION_IV, 16, "openssl rand -hex 8"),
    ):
        if len(_value) != _length or not _value.isascii():
            _ascii = "" if _value.isascii() else ", not all ASCII"
            raise debug_would_fix(
                f"{_name} is {characters(_value)}{_ascii}: ENCRYPTION_MODE=cbc needs exactly {_length} ASCII "
                f"characters (e.g. {_example}). Kiosks built on the earlier service's truncated or zero-padded "
                "values: set ENCRYPTION_LEGACY_KEY_PADDING=true to keep padding them."
            )

# The photo cleanup endpoint's secret. Empty keeps its meaning: the endpoint refuses every call.
MAINTENANCE_TOKEN = env.str("MAINTENANCE_TOKEN", "")
if MAINTENANCE_TOKEN and len(MAINTENANCE_TOKEN) < MIN_TOKEN_LENGTH and not (DEBUG or HELP_ONLY):
    raise debug_would_fix(
        f"MAINTENANCE_TOKEN is too short ({characters(MAINTENANCE_TOKEN)}): use at least {MIN_TOKEN_LENGTH}, "
        'e.g. python -c "import secrets; print(secrets.token_urlsafe(32))", or leave it empty to turn the cleanup '
        "endpoint off."
    )

# --- Photos and the customer's gallery ------------------------------------------------------
# The public base URL of this service: gallery links in emails start with it.
API_BASE_URL = env.str("API_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
PHOTO_MAX_BYTES = env.int("PHOTO_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
PHOTO_MAX_COUNT = env.int("PHOTO_MAX_COUNT", 30, minimum=1)
PHOTO_RETENTION_DAYS = env.int("PHOTO_RETENTION_DAYS", 14, minimum=1)
# Pillow refuses images with more pixels than this (decompression bombs); 60 megapixels is far
# above any kiosk camera.
PHOTO_MAX_PIXELS = env.int("PHOTO_MAX_PIXELS", 60_000_000, minimum=1)
PHOTO_UPLOAD_CONCURRENCY = env.int("PHOTO_UPLOAD_CONCURRENCY", 4, minimum=1)
# An upload that shows no sign of life for this long (its worker was killed, or restarted past
# GUNICORN_GRACEFUL_TIMEOUT) has died: a retry may replace the photos it did not store, and
# `send_emails` sends the email with those it did. A running upload shows it is alive every fifth of this time.
PHOTO_UPLOAD_STALE_SECONDS = env.int("PHOTO_UPLOAD_STALE_SECONDS", 300, minimum=30)

# Cloudinary: on when CLOUDINARY_URL or CLOUDINARY_CLOUD_NAME is set; local files otherwise.
CLOUDINARY_URL = env.str("CLOUDINARY_URL", "")
CLOUDINARY_CLOUD_NAME = env.str("CLOUDINARY_CLOUD_NAME", "")
CLOUDINARY_API_KEY = env.str("CLOUDINARY_API_KEY", "")
CLOUDINARY_API_SECRET = env.str("CLOUDINARY_API_SECRET", "")
if CLOUDINARY_URL and not CLOUDINARY_CLOUD_NAME:
    from urllib.parse import urlsplit

    _parts = urlsplit(CLOUDINARY_URL)
    if _parts.scheme != "cloudinary" or not (_parts.hostname and _parts.username and _parts.password):
        raise ImproperlyConfigured("CLOUDINARY_URL must look like cloudinary://API_KEY:API_SECRET@CLOUD_NAME")
    CLOUDINARY_CLOUD_NAME, CLOUDINARY_API_KEY, CLOUDINARY_API_SECRET = _parts.hostname, _parts.username, _parts.password
if CLOUDINARY_CLOUD_NAME and not (CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET):
    raise ImproperlyConfigured(
        "CLOUDINARY_CLOUD_NAME is set: CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET are needed too."
    )
PHOTO_STORAGE = "cloudinary" if CLOUDINARY_CLOUD_NAME else "local"
CLOUDINARY_FOLDER = env.str("CLOUDINARY_FOLDER", "photobox").strip("/")
# Where the SDK sends API calls; tests point it at a fake server on 127.0.0.1.
CLOUDINARY_UPLOAD_PREFIX = env.str("CLOUDINARY_UPLOAD_PREFIX", "https://api.cloudinary.com").rstrip("/")
CLOUDINARY_TIMEOUT = env.float("CLOUDINARY_TIMEOUT", 30.0, minimum=0.1)
# Stop a cleanup run when the hourly Admin API budget falls to this many calls.
CLOUDINARY_ADMIN_API_RESERVE = env.int("CLOUDINARY_ADMIN_API_RESERVE", 20, minimum=0)
DEMO_KIOSK = env.bool("DEMO_KIOSK", False)  # the demo kiosk page at /kiosk/ (always on with DEBUG)

# --- Email ----------------------------------------------------------------------------------
# SMTP with the seed's MAIL_* names; or any django-anymail ESP with EMAIL_PROVIDER and its
# ANYMAIL_* keys; or the console (every email printed in full on stdout, nothing sent) when neither
# is set: the demo's default, and with DEBUG off only when chosen with EMAIL_BACKEND=console.
MAIL_FROM = env.str("MAIL_FROM", "noreply@photobox.example")
MAIL_FROM_NAME = env.str("MAIL_FROM_NAME", "Photobox")
DEFAULT_FROM_EMAIL = f"{MAIL_FROM_NAME} <{MAIL_FROM}>"
SERVER_EMAIL = MAIL_FROM
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", 20.0, minimum=0.1)
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", "").lower()
MAIL_SERVER = env.str("MAIL_SERVER", "")
# `console` only: the choice of the console when neither MAIL_SERVER nor EMAIL_PROVIDER is set
# (either of them, when set, is used instead).
_email_backend = env.str("EMAIL_BACKEND", "").lower()
if _email_backend not in ("", "console"):
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND can only be console (emails printed on stdout, nothing sent), got {_email_backend!r}: "
        "SMTP is MAIL_SERVER, an email service EMAIL_PROVIDER."
    )
if EMAIL_PROVIDER:
    _providers = {
        "amazon_ses": "anymail.backends.amazon_ses.EmailBackend",
        "brevo": "anymail.backends.brevo.EmailBackend",
        "mailgun": "anymail.backends.mailgun.EmailBackend",
        "mailjet": "anymail.backends.mailjet.EmailBackend",
        "postmark": "anymail.backends.postmark.EmailBackend",
        "resend": "anymail.backends.resend.EmailBackend",
        "sendgrid": "anymail.backends.sendgrid.EmailBackend",
        "sparkpost": "anymail.backends.sparkpost.EmailBackend",
        "test": "anymail.backends.test.EmailBackend",
    }
    if EMAIL_PROVIDER not in _providers:
        raise ImproperlyConfigured(
            f"EMAIL_PROVIDER must be one of {', '.join(sorted(_providers))}, got {EMAIL_PROVIDER!r}."
        )
    EMAIL_BACKEND = _providers[EMAIL_PROVIDER]
    # Every ANYMAIL_* variable (e.g. ANYMAIL_SENDGRID_API_KEY) becomes an anymail setting.
    ANYMAIL = {name[len("ANYMAIL_") :]: value for name, value in os.environ.items() if name.startswith("ANYMAIL_")}
elif MAIL_SERVER:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = MAIL_SERVER
    EMAIL_PORT = env.int("MAIL_PORT", 465, minimum=1)
    EMAIL_HOST_USER = env.str("MAIL_USERNAME", "")
    EMAIL_HOST_PASSWORD = env.str("MAIL_PASSWORD", "")
    EMAIL_USE_SSL = env.bool("MAIL_SSL_TLS", EMAIL_PORT == 465)
    EMAIL_USE_TLS = env.bool("MAIL_STARTTLS", False)
    if EMAIL_USE_SSL and EMAIL_USE_TLS:
        raise ImproperlyConfigured("MAIL_SSL_TLS and MAIL_STARTTLS cannot both be true: pick one.")
elif _email_backend == "console" or DEBUG or HELP_ONLY:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    # Production would "send" every email to stdout: customers get nothing, and the log gets their
    # addresses and gallery links.
    raise debug_would_fix(
        "No mail server: MAIL_SERVER and EMAIL_PROVIDER are both empty, so customers would get no email. Set "
        "MAIL_SERVER (SMTP) or EMAIL_PROVIDER (an email service), or EMAIL_BACKEND=console to print every email "
        "on stdout instead, on purpose (nothing is sent)."
    )
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", 8, minimum=1)

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
    from corsheaders.defaults import default_headers

    CORS_ALLOW_HEADERS = [*default_headers, "idempotency-key", "x-request-id"]
CORS_EXPOSE_HEADERS = ["X-Request-ID"]
CORS_URLS_REGEX = r"^/(api/|health$).*"

# --- Logging --------------------------------------------------------------------------------
# One line per record on the console (and in LOG_TO_FILE when set), with the request id and the
# sale's external id; emails masked and secrets never written (photobox/logging.py).
LOG_LEVEL = env.choice("LOG_LEVEL", ("debug", "info", "warning", "error", "critical"), "info").upper()
LOG_FORMAT = env.choice("LOG_FORMAT", ("json", "plain"), "plain" if DEBUG else "json")
LOG_TO_FILE = log_file_path(env.str("LOG_TO_FILE", ""), BASE_DIR)
if LOG_TO_FILE is not None:
    try:
        LOG_TO_FILE.parent.mkdir(parents=True, exist_ok=True)
        LOG_TO_FILE.open("a").close()
    except OSError as exc:
        raise ImproperlyConfigured(f"LOG_TO_FILE: cannot write {LOG_TO_FILE}: {exc.strerror}.") from None
LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT, file=LOG_TO_FILE)
