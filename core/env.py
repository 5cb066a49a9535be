"""The one place that reads and validates the environment, for the settings (photobox/settings/).

Every variable is read through `StrictEnv`: django-environ reads the values, but its own casts are
lenient in ways that hide mistakes in production (``env.bool("DEBUG")`` turns ``DEBUG=maybe`` into
False) or fail with a message that does not name the variable (``invalid literal for int()``).
Every reader here either returns a well-formed value or stops start-up with ``ImproperlyConfigured``
naming the variable, in one line. The rules that only production applies (a required value, a
secret too short to be safe) are here too, with the help-only mode in which `manage.py help` runs
with no configuration at all.

What a starting process prints about such an error (manage.py, gunicorn) is photobox/startup.py.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    import environ

TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}

_UNSET = object()

# The schemes of the databases Photobox runs on (django-environ's names for them).
DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "psql", "sqlite"}
SUPPORTED_DATABASES = "postgres:// (PostgreSQL) or sqlite:// (SQLite)"

# The shortest shared secret (Xendit's callback token, the maintenance token) accepted with DEBUG off.
MIN_TOKEN_LENGTH = 32

# Set by manage.py, before Django loads the settings, when the command line only asks for help
# (`manage.py`, `manage.py help [command]`, `manage.py <command> --help`, `--version`). The settings
# then give the values that only production requires (SECRET_KEY, ALLOWED_HOSTS, PAYMENT_GATEWAY)
# placeholders, so that help works on a machine with no configuration at all. Its value is the
# process id of that manage.py, and it counts only in that process while its command line is a help
# request (help_only() checks all three): a flag inherited or set by hand never runs a command or
# serves a request with placeholders. photobox/wsgi.py drops it as well.
HELP_FLAG = "PHOTOBOX_HELP_ONLY"

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
    # A period may be counted too: `5/15minutes` is five per quarter of an hour.
    match = re.fullmatch(r"(\d*)\s*([a-z]+)", period)
    units = int(match[1]) if match and match[1] else 1
    unit = match[2] if match else ""
    seconds = RATE_PERIODS.get(unit) or RATE_PERIODS.get(unit.removesuffix("s"))
    if not slash or not count.isdigit() or int(count) < 1 or seconds is None or units < 1:
        raise ValueError(value)
    return Rate(int(count), seconds * units)


def is_help_request(argv: list[str]) -> bool:
    """Whether `manage.py` with these arguments only prints help or the version."""
    args = argv[1:]
    if not args or args[0] in ("help", "--help", "-h", "version", "--version"):
        return True
    for arg in args[1:]:
        if arg == "--":  # what follows is an argument, even if it reads --help
            return False
        if arg in ("--help", "-h"):
            return True
    return False


def ask_for_help_only() -> None:
    """manage.py: tell the settings that this process only prints help."""
    os.environ[HELP_FLAG] = str(os.getpid())


def help_only() -> bool:
    """Whether manage.py said that only help is asked for, in this very process, and its command
    line agrees."""
    return (
        os.environ.get(HELP_FLAG) == str(os.getpid())
        and Path(sys.argv[0]).name == "manage.py"
        and is_help_request(sys.argv)
    )


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def characters(text: str) -> str:
    """`1 character`, `12 characters`: a secret's length, as messages give it (never the secret)."""
    return f"{len(text)} character{'' if len(text) == 1 else 's'}"


def debug_would_fix(message: str) -> ImproperlyConfigured:
    """An ImproperlyConfigured about a value that only production requires: with DEBUG=true it has
    a development default, so telling a newcomer about DEBUG=true helps (and only then)."""
    error = ImproperlyConfigured(message)
    # A mark on Django's own class (not a subclass): start-up's last line names ImproperlyConfigured.
    vars(error).update(debug_would_fix=True)
    return error


def url_password(url: str) -> str:
    """The password in `scheme://user:password@host/...`, or "". Up to the last @, so that a
    password with an unencoded / or @ is still found whole."""
    _, separator, rest = url.partition("://")
    if not separator or "@" not in rest:
        return ""
    return rest.rsplit("@", 1)[0].partition(":")[2]


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***: safe to print."""
    password = url_password(url)
    if not password:
        return url
    scheme, _, rest = url.partition("://")
    userinfo, host = rest.rsplit("@", 1)
    return f"{scheme}://{userinfo.partition(':')[0]}:***@{host}"


def read_dotenv(path: Path) -> None:
    """The `.env` file into the process environment; values already there win (django-environ never
    overrides them)."""
    import environ  # not at the top: manage.py imports this module before it knows the requirements are installed

    environ.Env.read_env(path)


class StrictEnv:
    """Reads the environment (and `.env`, whose values never override the process's).

    Its readers are named after the types they return (`str`, `bool`, `int`, ...), so inside this
    class those names are the readers: its annotations name the types as `builtins.str` and so on."""

    def __init__(self, env: environ.Env | None = None) -> None:
        import environ

        self._env = env or environ.Env()

    def raw(self, name: builtins.str) -> builtins.str | None:
        value = self._env.str(name, default=None)
        if value is None:
            return None
        return value.strip()

    def is_set(self, name: builtins.str) -> builtins.bool:
        return bool(self.raw(name))

    def str(self, name: builtins.str, default=_UNSET) -> builtins.str:
        value = self.raw(name)
        if value is None or value == "":
            if default is _UNSET:
                raise ImproperlyConfigured(f"{name} is required but not set.")
            return default
        return value

    def bool(self, name: builtins.str, default: builtins.bool) -> builtins.bool:
        value = self.raw(name)
        if not value:
            return default
        lowered = value.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}.")

    def int(self, name: builtins.str, default: builtins.int, *, minimum: builtins.int | None = None) -> builtins.int:
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

    def float(self, name: builtins.str, default: builtins.float, *, minimum: builtins.float = 0.0) -> builtins.float:
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

    def choice(
        self, name: builtins.str, choices: tuple[builtins.str, ...], default: builtins.str | None
    ) -> builtins.str | None:
        value = self.raw(name)
        if not value:
            return default
        lowered = value.lower()
        if lowered not in choices:
            raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
        return lowered

    def rate(self, name: builtins.str, default: builtins.str) -> Rate | None:
        """A rate limit as `count/period` (`30/minute`, `10/m`, `1000/hour`, `5/15minutes`), or `off`."""
        value = self.raw(name) or default
        try:
            return parse_rate(value)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must look like 30/minute (a count per second, minute, hour or day) or off, got {value!r}."
            ) from None

    def list(self, name: builtins.str, default: builtins.list[builtins.str]) -> builtins.list[builtins.str]:
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

    def db_url(self, name: builtins.str, default: builtins.str) -> dict:
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
        import environ

        try:
            config = environ.Env.db_url_config(value)
        except Exception as exc:  # environ raises several types for a malformed URL
            detail = one_line(str(exc))
            if url_password(value):  # never print the password, should the message quote it
                detail = detail.replace(url_password(value), "***")
            raise ImproperlyConfigured(f"{name} is not a valid database URL ({detail}): {example}.") from None
        # A Unix socket's directory written as libpq writes it in a URL's host, percent-encoded
        # (postgres://user@%2Fvar%2Frun%2Fpostgresql/photobox): django-environ leaves it encoded.
        if config.get("HOST"):
            config["HOST"] = urllib.parse.unquote(config["HOST"])
        return config

    def prefixed(self, *, prefix: builtins.str) -> dict[builtins.str, builtins.str]:
        """Every variable whose name starts with `prefix`, keyed by the rest of its name, as set."""
        return {name[len(prefix) :]: value for name, value in os.environ.items() if name.startswith(prefix)}

    def refuse_short_token(
        self, name: builtins.str, value: builtins.str, *, production: builtins.bool, advice: builtins.str
    ) -> None:
        """A shared secret shorter than MIN_TOKEN_LENGTH can be guessed (a rate limit only slows guessing
        down): refused with DEBUG off. Empty keeps its meaning: whatever it guards refuses every call."""
        if value and len(value) < MIN_TOKEN_LENGTH and production:
            raise debug_would_fix(
                f"{name} is too short ({characters(value)}): use at least {MIN_TOKEN_LENGTH}, {advice}"
            )
