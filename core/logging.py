"""Structured logs: one line per record, the request id and the sale on each, no secrets.

- `JsonFormatter` (python-json-logger's) writes a JSON object per line (production): timestamp, level, logger, message,
  request_id, external_id, any other `extra=` field, and the exception text.
- `PlainFormatter` writes a readable line (development), with the same fields appended.
- `RequestContextFilter` gives every record the request id (set by RequestIDMiddleware) and the
  sale's external id (passed with ``extra={"external_id": ...}``, or taken from the URL by
  `LogContextMiddleware`), so a grep for one sale finds every line about it.
- Both formatters pass their output through `redact`: emails are masked (``b***@example.com``),
  the values of secret settings (tokens, keys, passwords) and gallery keys never leave in full,
  whichever logger or library wrote them.

Gunicorn's access log goes through the same formatters (see gunicorn.conf.py); a JSON access
line carries the method, path, status, duration and the response's X-Request-ID as fields.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pythonjsonlogger import json as jsonlogger

request_id_var: ContextVar[str | None] = ContextVar("photobox_request_id", default=None)
external_id_var: ContextVar[str | None] = ContextVar("photobox_external_id", default=None)

# Settings whose values must never appear in a log line. Values shorter than MIN_SECRET_LENGTH
# are left alone (a one-letter test token would mask every "t").
SECRET_SETTINGS = (
    "SECRET_KEY",
    "XENDIT_API_KEY",
    "XENDIT_CALLBACK_TOKEN",
    "MAINTENANCE_TOKEN",
    "ENCRYPTION_KEY",
    "ENCRYPTION_IV",
    "CLOUDINARY_API_SECRET",
    "EMAIL_HOST_PASSWORD",
)
MIN_SECRET_LENGTH = 6
REDACTED = "[redacted]"

_EMAIL = re.compile(r"(?<![\w.%+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# The customer's gallery link is /gallery/{external_id}/{key}: the key is the secret.
_GALLERY_KEY = re.compile(r"(/gallery/[^/\s?\"']+/)[^/\s?\"']+")

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}
# A JSON line's leading fields (the record's attributes), after its timestamp, and their names there.
_FIELDS = ("levelname", "name", "message", "request_id", "external_id")
_RENAMED = {"levelname": "level", "name": "logger", "exc_info": "exception", "stack_info": "stack"}
# Written as they are: the ids are ours (a request id a kiosk sent is kept whole, to be grepped for).
_UNREDACTED = frozenset({"timestamp", "level", "logger", "request_id", "external_id"})
_LAST = ("exception", "stack")


_secrets_cache: tuple[tuple, list[str]] | None = None


def _secret_values() -> list[str]:
    """The secret settings' values, longest first; recomputed only when the settings change
    (every log line is redacted: listing and sorting them per record cost ~100 µs)."""
    global _secrets_cache
    from django.conf import settings

    if not settings.configured:
        return []
    fingerprint = (
        tuple(getattr(settings, name, None) for name in SECRET_SETTINGS),
        id(getattr(settings, "DATABASES", None)),
        id(getattr(settings, "ANYMAIL", None)),
    )
    if _secrets_cache is not None and _secrets_cache[0] == fingerprint:
        return _secrets_cache[1]
    values = [str(getattr(settings, name, "") or "") for name in SECRET_SETTINGS]
    values.extend(str(db.get("PASSWORD") or "") for db in getattr(settings, "DATABASES", {}).values())
    values.extend(str(v) for v in (getattr(settings, "ANYMAIL", None) or {}).values())
    # Longest first, so a secret containing another is masked whole.
    secrets = sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    _secrets_cache = (fingerprint, secrets)
    return secrets


def redact(text: str) -> str:
    """`text` without secrets: emails masked, secret settings' values and gallery keys replaced."""
    if not text:
        return text
    for secret in _secret_values():
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _GALLERY_KEY.sub(rf"\g<1>{REDACTED}", text)


def _clean(value):
    """An `extra=` value made JSON-safe and redacted (Django's SQL log passes the query's params)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    return redact(str(value))


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `external_id` to every record (None outside a request / a sale)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a request's 4xx/5xx (django.request) after the middleware is done with it,
        # passing the request along: read the ids from the request then.
        request = getattr(record, "request", None)
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get() or getattr(request, "request_id", None)
        if getattr(record, "external_id", None) is None:
            match = getattr(request, "resolver_match", None)
            from_url = match.kwargs.get("external_id") if match is not None else None
            record.external_id = external_id_var.get() or (from_url if isinstance(from_url, str) else None)
        return True


def _access_fields(record: logging.LogRecord) -> dict:
    """Gunicorn logs each request with its atoms (a dict) as the record's args."""
    atoms = record.args if isinstance(record.args, Mapping) else {}

    def atom(key: str):
        value = atoms.get(key)
        return None if value in (None, "-") else value

    status = atom("s")
    return {
        "remote_addr": atom("h"),
        "method": atom("m"),
        "path": redact(atom("U") or ""),
        "status": int(status) if str(status or "").isdigit() else status,
        "duration_ms": atom("M"),
        "bytes": atom("B"),
        "user_agent": atom("a"),
        "request_id": atom("{x-request-id}o"),
    }


class JsonFormatter(jsonlogger.JsonFormatter):
    """One JSON object per line, written by python-json-logger: timestamp, level, logger, message,
    request_id, external_id, gunicorn's access fields, any `extra=` field, then the exception and
    the stack. Everything but the first three and the two ids goes through `redact`."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("rename_fields", _RENAMED)
        # An `extra=` field never replaces one of the line's own fields.
        kwargs.setdefault("reserved_attrs", [*_STANDARD_ATTRIBUTES, *_RENAMED.values(), "timestamp"])
        kwargs.setdefault("json_ensure_ascii", False)
        kwargs.setdefault("json_default", lambda value: redact(str(value)))
        super().__init__(list(_FIELDS), *args, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["timestamp"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")
        access = _access_fields(record) if record.name == "gunicorn.access" else {}
        access_request_id = access.pop("request_id", None)
        # Ahead of the `extra=` fields, as message_dict's entries are.
        super().add_fields(log_data, record, {**message_dict, **access})
        if access and not log_data["request_id"]:
            log_data["request_id"] = access_request_id

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        cleaned = {key: value if key in _UNREDACTED else _clean(value) for key, value in log_data.items()}
        # The exception and the stack close the line, after the `extra=` fields.
        for key in _LAST:
            if key in cleaned:
                cleaned[key] = cleaned.pop(key)
        return cleaned


class PlainFormatter(logging.Formatter):
    """`2025-12-15 16:22:29,123 INFO payments sale created ... [request_id=… external_id=…]`."""

    def __init__(self, fmt: str | None = None, *args, **kwargs) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s %(message)s", *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = [
            f"{name}={value}"
            for name in ("request_id", "external_id")
            if (value := getattr(record, name, None)) is not None
        ]
        if context:
            first, newline, rest = text.partition("\n")
            text = f"{first} [{' '.join(context)}]{newline}{rest}"
        return redact(text)


class LogContextMiddleware:
    """Binds the sale named in the URL (`<external_id>`) to every log record of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = external_id_var.set(None)
        try:
            return self.get_response(request)
        finally:
            external_id_var.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        external_id = view_kwargs.get("external_id")
        if isinstance(external_id, str):
            external_id_var.set(external_id[:64])
        return None


TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}


def log_file_path(value: str, base_dir: Path) -> Path | None:
    """LOG_TO_FILE: empty or false = no file; true = logs/photobox.log in the project; else a path."""
    value = value.strip()
    if not value or value.lower() in FALSE_WORDS:
        return None
    if value.lower() in TRUE_WORDS:
        return base_dir / "logs" / "photobox.log"
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def logging_config(*, level: str, fmt: str, file: Path | None) -> dict:
    """The LOGGING setting: the console always, and a file when asked for."""
    formatter = "json" if fmt == "json" else "plain"
    handlers: dict = {
        "console": {"class": "logging.StreamHandler", "formatter": formatter, "filters": ["request_context"]},
    }
    if file is not None:
        # WatchedFileHandler reopens the file after logrotate moved it.
        handlers["file"] = {
            "class": "logging.handlers.WatchedFileHandler",
            "filename": str(file),
            "encoding": "utf-8",
            "formatter": formatter,
            "filters": ["request_context"],
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "core.logging.RequestContextFilter"}},
        "formatters": {
            "json": {"()": "core.logging.JsonFormatter"},
            "plain": {"()": "core.logging.PlainFormatter"},
        },
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level},
        "loggers": {
            # Our own 4xx envelopes are logged by the API layer; Django's would log them twice.
            "django.request": {"level": "ERROR"},
        },
    }
