"""The outside services: Xendit (payments, or the simulator instead), Cloudinary (photos), email."""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from core.env import debug_would_fix
from photobox.settings.base import DEBUG, HELP_ONLY, env

# --- Payments: Xendit or the simulator ------------------------------------------------------
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
# Empty keeps its meaning: every webhook is refused (the simulator needs none; PAYMENT_GATEWAY=xendit
# requires one).
env.refuse_short_token(
    "XENDIT_CALLBACK_TOKEN",
    XENDIT_CALLBACK_TOKEN,
    production=not (DEBUG or HELP_ONLY),
    advice="the token from Xendit's dashboard is longer; copy it whole from Settings > Webhooks > "
    "Callback verification token.",
)

# --- Photos: Cloudinary, or local files -----------------------------------------------------
# On when CLOUDINARY_URL or CLOUDINARY_CLOUD_NAME is set; local files otherwise.
CLOUDINARY_URL = env.str("CLOUDINARY_URL", "")
CLOUDINARY_CLOUD_NAME = env.str("CLOUDINARY_CLOUD_NAME", "")
CLOUDINARY_API_KEY = env.str("CLOUDINARY_API_KEY", "")
CLOUDINARY_API_SECRET = env.str("CLOUDINARY_API_SECRET", "")
if CLOUDINARY_URL and not CLOUDINARY_CLOUD_NAME:
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
_EMAIL_PROVIDERS = {
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
if EMAIL_PROVIDER:
    if EMAIL_PROVIDER not in _EMAIL_PROVIDERS:
        raise ImproperlyConfigured(
            f"EMAIL_PROVIDER must be one of {', '.join(sorted(_EMAIL_PROVIDERS))}, got {EMAIL_PROVIDER!r}."
        )
    EMAIL_BACKEND = _EMAIL_PROVIDERS[EMAIL_PROVIDER]
    # Every ANYMAIL_* variable (e.g. ANYMAIL_SENDGRID_API_KEY) becomes an anymail setting.
    ANYMAIL = env.prefixed(prefix="ANYMAIL_")
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
