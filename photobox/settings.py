"""Photobox settings: every value comes from the environment (and a `.env` file if present).

The variable names of the earlier FastAPI service's `.env` are accepted unchanged, so an existing
deployment's environment keeps working. `.env.example` documents every variable.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from photobox.env import StrictEnv

BASE_DIR = Path(__file__).resolve().parent.parent

# Values already in the process environment win over the file (django-environ never overrides).
environ.Env.read_env(BASE_DIR / ".env")
env = StrictEnv()

APP_NAME = env.str("APP_NAME", "Photobox")
APP_VERSION = env.str("APP_VERSION", "1.0.0")

DEBUG = env.bool("DEBUG", False)

# Required in production; a fixed development key only when DEBUG is on.
SECRET_KEY = env.str("SECRET_KEY", "django-insecure-photobox-development-only") if DEBUG else env.str("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    # Django would start and then answer every request with 400: say why at start-up instead.
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DEBUG is off, e.g. ALLOWED_HOSTS=photobox.example.com")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "corsheaders",
    "locations",
    "pricing",
    "payments",
    "gallery",
]

MIDDLEWARE = [
    "photobox.middleware.RequestIDMiddleware",
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
        from psycopg_pool import ConnectionPool

        _pool = {
            "min_size": DB_POOL_SIZE,
            "max_size": DB_POOL_SIZE + DB_MAX_OVERFLOW,
            "timeout": DB_POOL_TIMEOUT,
            "max_lifetime": float(DB_POOL_RECYCLE),
        }
        if DB_POOL_PRE_PING:
            _pool["check"] = ConnectionPool.check_connection
        _db.setdefault("OPTIONS", {})["pool"] = _pool
        _db["CONN_MAX_AGE"] = 0
    else:
        # Without a pool, keep each worker's connection open and check it before reuse.
        _db["CONN_MAX_AGE"] = DB_POOL_RECYCLE
        _db["CONN_HEALTH_CHECKS"] = DB_POOL_PRE_PING
    _db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs on SQLite with a threaded dev server: take the write lock up front so two
    # requests never deadlock upgrading read locks, and wait for it instead of failing.
    _db.setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Caches ---------------------------------------------------------------------------------
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

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

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
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
}

# --- Payments -------------------------------------------------------------------------------
XENDIT_API_KEY = env.str("XENDIT_API_KEY", "")
XENDIT_CALLBACK_TOKEN = env.str("XENDIT_CALLBACK_TOKEN", "")
XENDIT_API_URL = env.str("XENDIT_API_URL", "https://api.xendit.co").rstrip("/")
XENDIT_CONNECT_TIMEOUT = env.float("XENDIT_CONNECT_TIMEOUT", 5.0, minimum=0.1)
XENDIT_READ_TIMEOUT = env.float("XENDIT_READ_TIMEOUT", 15.0, minimum=0.1)

PAYMENT_GATEWAY = env.choice("PAYMENT_GATEWAY", ("xendit", "simulator"), None)
if PAYMENT_GATEWAY is None:
    if XENDIT_API_KEY:
        PAYMENT_GATEWAY = "xendit"
    elif DEBUG:
        PAYMENT_GATEWAY = "simulator"
    else:
        # Production must never take fake payments by accident.
        raise ImproperlyConfigured(
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

SALE_EXPIRY_MINUTES = env.int("SALE_EXPIRY_MINUTES", 15, minimum=1)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", 48, minimum=24)

# --- Response encryption (compatible with kiosks built for the earlier service) -------------
ENCRYPTION_ENABLED = env.bool("ENCRYPTION_ENABLED", False)
ENCRYPTION_KEY = env.str("ENCRYPTION_KEY", "")
ENCRYPTION_IV = env.str("ENCRYPTION_IV", "")
if ENCRYPTION_ENABLED and not ENCRYPTION_KEY:
    raise ImproperlyConfigured("ENCRYPTION_ENABLED=true needs ENCRYPTION_KEY (32 characters).")
if ENCRYPTION_ENABLED and not ENCRYPTION_IV:
    raise ImproperlyConfigured("ENCRYPTION_ENABLED=true needs ENCRYPTION_IV (16 characters).")

MAINTENANCE_TOKEN = env.str("MAINTENANCE_TOKEN", "")

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

# --- Email ----------------------------------------------------------------------------------
# SMTP with the seed's MAIL_* names; or any django-anymail ESP with EMAIL_PROVIDER and its
# ANYMAIL_* keys; or the console when neither is set (the demo).
MAIL_FROM = env.str("MAIL_FROM", "noreply@photobox.example")
MAIL_FROM_NAME = env.str("MAIL_FROM_NAME", "Photobox")
DEFAULT_FROM_EMAIL = f"{MAIL_FROM_NAME} <{MAIL_FROM}>"
SERVER_EMAIL = MAIL_FROM
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", 20.0, minimum=0.1)
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", "").lower()
MAIL_SERVER = env.str("MAIL_SERVER", "")
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
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
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
LOG_LEVEL = env.choice("LOG_LEVEL", ("debug", "info", "warning", "error", "critical"), "info").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Our own 4xx envelopes are logged by the API layer; Django's would log them twice.
        "django.request": {"level": "ERROR"},
    },
}
