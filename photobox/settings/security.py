"""Who may reach the service and how: the secret key, hosts, HTTPS behind a proxy, the admin login
lockout, the client's address, and the encryption of kiosk responses."""

import re
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from core.env import characters, debug_would_fix
from photobox.settings.base import DEBUG, HELP_ONLY, env

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

# --- The client's address -------------------------------------------------------------------
# How many reverse proxies in front append to X-Forwarded-For (nginx on this server: 1). The
# client's address is then the Nth entry from the right, which no client can forge; with 0 it is
# the connection's address (core/client.py). Rate limits and admin lockouts count by it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# An IPv6 client is counted by its network of this many bits (a subscriber gets a /64 or more and
# may use any address in it), for every rate limit and the admin lockout; IPv4 by its address.
RATE_LIMIT_IPV6_PREFIX = env.int("RATE_LIMIT_IPV6_PREFIX", 64, minimum=1)
if RATE_LIMIT_IPV6_PREFIX > 128:
    raise ImproperlyConfigured(
        f"RATE_LIMIT_IPV6_PREFIX is bits of an IPv6 address: 1 to 128, got {RATE_LIMIT_IPV6_PREFIX}."
    )

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
AXES_CLIENT_IP_CALLABLE = "core.client.client_network"
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
# Attempts are in the database (shared by all instances); unlock with `manage.py axes_reset`.
AXES_ENABLE_ADMIN = False
# No start-up banner in the logs; a lockout is still logged (as a warning).
AXES_VERBOSE = False

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
# (core/encryption.py), as the earlier service did: ENCRYPTION_KEY=abc is then 29 known
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
