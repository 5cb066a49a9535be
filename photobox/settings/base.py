"""The project itself: apps, middleware, templates, languages, static and media files; DEBUG."""

from pathlib import Path

from core.env import StrictEnv, help_only, read_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Values already in the process environment win over the file (django-environ never overrides).
read_dotenv(BASE_DIR / ".env")
env = StrictEnv()

APP_NAME = env.str("APP_NAME", "Photobox")
APP_VERSION = env.str("APP_VERSION", "1.0.0")

DEBUG = env.bool("DEBUG", False)
# `manage.py help` and `manage.py <command> --help` only print text: manage.py says so in the
# PHOTOBOX_HELP_ONLY environment variable before the settings load (core/env.py). The values
# that only production requires then get placeholders, so that help works with no configuration.
# Nothing runs or is served with them: help_only() holds only in that manage.py process, while its
# command line asks for help; photobox/wsgi.py drops the variable.
HELP_ONLY = help_only()

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
    # The staff screens, above every app (registers their admin).
    "backoffice",
    "demo",
]

MIDDLEWARE = [
    "core.middleware.RequestIDMiddleware",
    "core.logging.LogContextMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "core.middleware.ApiErrorEnvelopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.AdminLanguageMiddleware",
    # Django's, skipped for /api/ (no flash messages there).
    "core.middleware.MessageMiddleware",
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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Languages and time ---------------------------------------------------------------------
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

# --- Static files and media -----------------------------------------------------------------
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
