"""The log lines: their level, format (JSON or plain) and an optional file."""

from django.core.exceptions import ImproperlyConfigured

from core.logging import log_file_path, logging_config
from photobox.settings.base import BASE_DIR, DEBUG, env

# --- Logging --------------------------------------------------------------------------------
# One line per record on the console (and in LOG_TO_FILE when set), with the request id and the
# sale's external id; emails masked and secrets never written (core/logging.py).
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
