"""The product's own knobs: kiosk keys, rate limits, sales, photos, the cleanup token, the demo kiosk."""

from django.core.exceptions import ImproperlyConfigured

from photobox.settings.base import DEBUG, HELP_ONLY, env

# --- Kiosk keys and rate limits -------------------------------------------------------------
# Kiosk keys (Authorization: Bearer pbk_...): `required`, the default with DEBUG off; `optional`
# (the demo's default) serves kiosks without a key as before (a key sent must still be valid), so a
# sale number alone reads that sale's photos and uploads into it. Chosen explicitly with DEBUG off,
# it is logged at start (photobox/startup.py) and `check --deploy` warns (locations/checks.py).
KIOSK_AUTH = env.choice("KIOSK_AUTH", ("required", "optional"), "optional" if DEBUG else "required")
# "count/period" (period: second, minute, hour or day) or "off"; see core/ratelimit.py.
RATE_LIMIT_SALE_CREATE = env.rate("RATE_LIMIT_SALE_CREATE", "30/minute")  # per kiosk key, or per IP without one
RATE_LIMIT_PHOTO_MISSES = env.rate("RATE_LIMIT_PHOTO_MISSES", "20/minute")  # photo list/upload 404s, per key or IP
RATE_LIMIT_GALLERY_MISSES = env.rate("RATE_LIMIT_GALLERY_MISSES", "20/minute")  # gallery page 404s, per IP
RATE_LIMIT_WEBHOOK_BAD_TOKEN = env.rate("RATE_LIMIT_WEBHOOK_BAD_TOKEN", "10/minute")  # webhook 401/403s, per IP

# --- The fleet: heartbeats and activation (locations/) --------------------------------------
# A machine is online while its last heartbeat is younger than FLEET_STALE_AFTER_SECONDS, stale
# until FLEET_OFFLINE_AFTER_SECONDS, offline after that (or never heard from): locations.selectors.
FLEET_STALE_AFTER_SECONDS = env.int("FLEET_STALE_AFTER_SECONDS", 120, minimum=10)
FLEET_OFFLINE_AFTER_SECONDS = env.int("FLEET_OFFLINE_AFTER_SECONDS", 600, minimum=20)
if FLEET_OFFLINE_AFTER_SECONDS <= FLEET_STALE_AFTER_SECONDS:
    raise ImproperlyConfigured(
        f"FLEET_OFFLINE_AFTER_SECONDS ({FLEET_OFFLINE_AFTER_SECONDS}) must be more than FLEET_STALE_AFTER_SECONDS "
        f"({FLEET_STALE_AFTER_SECONDS})."
    )
# How long an activation code staff create stays usable (it is used once).
ACTIVATION_CODE_MINUTES = env.int("ACTIVATION_CODE_MINUTES", 30, minimum=1)
# Wrong activation codes, per client network and per machine with an open code: over it, 429 until
# the window ends (locations/activation.py).
RATE_LIMIT_ACTIVATION_WRONG = env.rate("RATE_LIMIT_ACTIVATION_WRONG", "5/15minutes")

# --- Sales ----------------------------------------------------------------------------------
SALE_EXPIRY_MINUTES = env.int("SALE_EXPIRY_MINUTES", 15, minimum=1)
# expire_sales asks Xendit once about sales expired this many hours ago or less that nobody asked
# about (the kiosk's poll expired them): Xendit delivers late payments for up to a day.
LATE_PAYMENT_CHECK_HOURS = env.int("LATE_PAYMENT_CHECK_HOURS", 24, minimum=1)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", 48, minimum=24)

# --- Photos and the customer's gallery ------------------------------------------------------
# The photo cleanup endpoint's secret. Empty keeps its meaning: the endpoint refuses every call.
MAINTENANCE_TOKEN = env.str("MAINTENANCE_TOKEN", "")
env.refuse_short_token(
    "MAINTENANCE_TOKEN",
    MAINTENANCE_TOKEN,
    production=not (DEBUG or HELP_ONLY),
    advice='e.g. python -c "import secrets; print(secrets.token_urlsafe(32))", or leave it empty to turn the cleanup '
    "endpoint off.",
)
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
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", 8, minimum=1)
# Staff alerts (`watch_fleet`, every minute): machines offline in opening hours, their incidents, sales
# needing review, customer emails that gave up, emailed to these addresses (comma-separated) through
# the same outbox as customer emails. Empty: no alerts (backoffice/alerts.py).
STAFF_ALERT_EMAILS = env.list("STAFF_ALERT_EMAILS", [])

# --- The demo -------------------------------------------------------------------------------
DEMO_KIOSK = env.bool("DEMO_KIOSK", False)  # the demo kiosk page at /kiosk/ (demo/kiosk.py; always on with DEBUG)
