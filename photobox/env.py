"""Strict readers for environment variables.

django-environ reads the values, but its own casts are lenient in ways that hide mistakes in
production (``env.bool("DEBUG")`` turns ``DEBUG=maybe`` into False) or fail with a message that
does not name the variable (``invalid literal for int()``). Every reader here either returns a
well-formed value or stops start-up with ``ImproperlyConfigured`` naming the variable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import environ
from django.core.exceptions import ImproperlyConfigured

from photobox.startup import SUPPORTED_DATABASES, one_line, redact_url, url_password

TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}

_UNSET = object()

# The schemes of the databases Photobox runs on (django-environ's names for them).
DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "psql", "sqlite"}

RATE_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


@dataclass(frozen=True)
class Rate:
    """A rate limit: `count` requests per `period` seconds."""

    count: int
    period: int

    def __str__(self) -> str:
        return f"{self.count}/{self.period}s"


def parse_rate(text: str) -> Rate | None:
    """`30/minute` → Rate(30, 60); `off` → None (no limit). Raises ValueError when malformed."""
    value = text.strip().lower()
    if value in ("off", "none", "unlimited"):
        return None
    count, slash, period = (part.strip() for part in value.partition("/"))
    seconds = RATE_PERIODS.get(period) or RATE_PERIODS.get(period.removesuffix("s"))
    if not slash or not count.isdigit() or int(count) < 1 or seconds is None:
        raise ValueError(value)
    return Rate(int(count), seconds)


class StrictEnv:
    def __init__(self, env: environ.Env | None = None) -> None:
        self._env = env or environ.Env()

    def raw(self, name: str) -> str | None:
        value = self._env.str(name, default=None)
        if value is None:
            return None
        return value.strip()

    def is_set(self, name: str) -> bool:
        return bool(self.raw(name))

    def str(self, name: str, default=_UNSET) -> str:
        value = self.raw(name)
        if value is None or value == "":
            if default is _UNSET:
                raise ImproperlyConfigured(f"{name} is required but not set.")
            return default
        return value

    def bool(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if not value:
            return default
        lowered = value.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}.")

    def int(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}.") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}.")
        return number

    def float(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        value = self.raw(name)
        if not value:
            return default
        try:
            number = float(Decimal(value))
        except (InvalidOperation, ValueError):
            raise ImproperlyConfigured(f"{name} must be a number, got {value!r}.") from None
        if number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}.")
        return number

    def choice(self, name: str, choices: tuple[str, ...], default: str | None) -> str | None:
        value = self.raw(name)
        if not value:
            return default
        lowered = value.lower()
        if lowered not in choices:
            raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
        return lowered

    def rate(self, name: str, default: str) -> Rate | None:
        """A rate limit as `count/period` (`30/minute`, `10/m`, `1000/hour`), or `off`."""
        value = self.raw(name) or default
        try:
            return parse_rate(value)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must look like 30/minute (a count per second, minute, hour or day) or off, got {value!r}."
            ) from None

    def list(self, name: str, default: list[str]) -> list[str]:
        """A comma-separated list, or a JSON list (the seed's CORS_* accept both)."""
        value = self.raw(name)
        if value is None or value == "":
            return list(default)
        if value.startswith("["):
            try:
                items = json.loads(value)
            except json.JSONDecodeError:
                raise ImproperlyConfigured(f"{name} looks like a JSON list but is not valid JSON.") from None
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ImproperlyConfigured(f"{name} must be a JSON list of strings.")
            return [i.strip() for i in items if i.strip()]
        return [item.strip() for item in value.split(",") if item.strip()]

    def db_url(self, name: str, default: str) -> dict:
        """A database URL for PostgreSQL or SQLite, the two databases Photobox runs on."""
        value = self.raw(name) or default
        example = (
            f"e.g. {name}=postgres://user:password@127.0.0.1:5432/photobox, or leave it empty for the "
            "SQLite file db.sqlite3 (a demo)"
        )
        scheme, separator, _ = value.partition("://")
        if not separator or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
            raise ImproperlyConfigured(
                f"{name} must be a database URL starting with {SUPPORTED_DATABASES}, got {redact_url(value)!r}: "
                f"{example}."
            )
        # django-environ knows many more schemes (mysql://, oracle://, ...) and takes an unknown one
        # (`postgress://`) as the name of an engine, which fails only when first used: refuse it now.
        if scheme.lower() not in DATABASE_SCHEMES:
            raise ImproperlyConfigured(
                f"{name} uses {scheme}://, which Photobox does not support: use {SUPPORTED_DATABASES}, {example}."
            )
        try:
            return environ.Env.db_url_config(value)
        except Exception as exc:  # environ raises several types for a malformed URL
            detail = one_line(exc)
            if url_password(value):  # never print the password, should the message quote it
                detail = detail.replace(url_password(value), "***")
            raise ImproperlyConfigured(f"{name} is not a valid database URL ({detail}): {example}.") from None
