"""Start-up, as a newcomer or an operator meets it: every configuration or database problem told
in one plain line naming what to change, and what a process with DEBUG off says as it starts.

Used by manage.py (commands and runserver), photobox/wsgi.py (gunicorn) and locations/apps.py.
Reading and validating the environment itself (and the help-only mode) is core/env.py.
Importing this module loads no settings: manage.py and photobox/wsgi.py import it first.
"""

from __future__ import annotations

import os
import re
import traceback
from pathlib import Path

from core.env import TRUE_WORDS, one_line, redact_url

# What gunicorn's arbiter takes as "worker failed to boot": it stops instead of starting new
# workers that would fail the same way, forever.
WORKER_BOOT_ERROR = 3


# --- Settings errors ------------------------------------------------------------------------


def settings_error_line(exc: Exception, *, debug_hint: bool) -> str:
    """The one line manage.py (debug_hint=True) or the WSGI server prints for a settings error."""
    line = f"Photobox cannot start: {one_line(exc)}"
    if isinstance(exc, ImportError):
        return f"{line} (install the requirements: pip install -r requirements.txt, in this project's virtualenv)"
    debug_on = os.environ.get("DEBUG", "").strip().lower() in TRUE_WORDS
    if debug_hint and getattr(exc, "debug_would_fix", False) and not debug_on:
        line += " On a development machine, run with DEBUG=true instead (or put DEBUG=true in .env, see .env.example)."
    return line


# --- Database URLs and connection errors ----------------------------------------------------


def is_connection_error(exc: BaseException) -> bool:
    """A django.db OperationalError raised while opening a connection (not by a query)."""
    from django.db.utils import OperationalError

    if not isinstance(exc, OperationalError):
        return False
    return any(
        frame.f_code.co_name == "get_new_connection" and "django" in frame.f_code.co_filename
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def _database_url_shown(db: dict) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return f"DATABASE_URL={redact_url(url)}"
    return f"DATABASE_URL is empty: the SQLite file {db.get('NAME')}"


def database_error_line(exc: BaseException, db: dict | None = None) -> str:
    """One line for a database that cannot be reached or refuses us, naming what to fix; never
    its password."""
    if db is None:
        from django.db import connection

        db = connection.settings_dict
    line = _database_error_line(exc, db)
    password = db.get("PASSWORD") or ""
    return line.replace(password, "***") if len(password) >= 3 else line


def _database_error_line(exc: BaseException, db: dict) -> str:
    shown = _database_url_shown(db)
    message = one_line(exc)
    if db.get("ENGINE", "").endswith("sqlite3"):
        return (
            f"Cannot open the SQLite database {db.get('NAME')} ({message}): does its folder exist, and may "
            f"this user write there? {shown}"
        )
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host") or ""
    port = db.get("PORT") or 5432
    # A path is the directory of a Unix socket (as is no host at all, libpq's default directory).
    on_socket = not host or host.startswith("/")
    where = f"the Unix socket {host or '(default)'} port {port}" if on_socket else f"{host}:{port}"
    user = db.get("USER") or os.environ.get("USER", "")
    # `connection failed: connection to server at "h", port 5432 failed: FATAL:  role "x" does not exist`:
    # the server's reason is the end.
    reason = re.sub(
        r'^(connection failed: )?(connection to server at "[^"]*", port \d+ failed: )?(FATAL:\s+)?', "", message
    )
    lowered = message.lower()
    if "connection refused" in lowered:
        return (
            f"Cannot connect to the database at {where} (connection refused): is PostgreSQL running and "
            f"listening there? {shown}"
        )
    if "failed to resolve host" in lowered or "could not translate host name" in lowered:
        return f"Cannot connect to the database at {where} (unknown host name): check the host in {shown}"
    if "timeout expired" in lowered or "timed out" in lowered:
        return (
            f"Cannot connect to the database at {where} (no answer in time): check the host, the port and any "
            f"firewall in between. {shown}"
        )
    missing_database = re.search(r'database "([^"]*)" does not exist', message)
    if missing_database:
        name = missing_database.group(1)
        return (
            f'The database server at {where} has no database "{name}": create it '
            f"(createdb -h {db.get('HOST') or 'localhost'} -p {db.get('PORT') or 5432} -U {user} {name}) or fix "
            f"the name in {shown}"
        )
    if re.search(
        r'password authentication failed|role "[^"]*" does not exist|no password supplied|pg_hba\.conf', message
    ):
        return (
            f'The database at {where} refused user "{user}" ({reason}): check the user name and the password in {shown}'
        )
    return f"Cannot connect to the database at {where} ({reason}): check {shown}"


# --- Serving: static files and HTTPS ------------------------------------------------------------


def static_files_problem() -> str | None:
    """With DEBUG off the static files (admin, API docs, demo kiosk) are served from what
    `collectstatic` put in STATIC_ROOT, under names from its manifest; a file missing from it makes
    every page that uses it a bare 500. None when they are all there (or DEBUG serves them)."""
    import json

    from django.apps import apps
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    if settings.DEBUG or not isinstance(staticfiles_storage, ManifestFilesMixin):
        return None
    command = "run `python manage.py collectstatic --noinput`"
    why = f"DEBUG=false serves them from STATIC_ROOT={settings.STATIC_ROOT}"
    manifest = Path(settings.STATIC_ROOT) / staticfiles_storage.manifest_name
    try:
        collected = set(json.loads(manifest.read_text()).get("paths", {}))
    except (OSError, ValueError, AttributeError):
        return f"Static files are not collected: {command} ({why})."
    ignore = apps.get_app_config("staticfiles").ignore_patterns
    wanted = {path for finder in finders.get_finders() for path, _ in finder.list(ignore)}
    missing = sorted(wanted - collected)
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        return f"Static files are out of date ({missing[0]}{more} not collected): {command} ({why})."
    return None


def runserver_https_problem() -> str | None:
    """runserver speaks plain HTTP only: redirecting to HTTPS without a proxy in front (which
    SECURE_PROXY_SSL_HEADER would trust) sends every page to an address nothing answers."""
    from django.conf import settings

    if settings.SECURE_SSL_REDIRECT and not settings.SECURE_PROXY_SSL_HEADER:
        return (
            "SECURE_SSL_REDIRECT is on (the default with DEBUG=false) and runserver speaks plain HTTP only: "
            "every page would redirect to https:// and fail. For a local try-out, set SECURE_SSL_REDIRECT=false."
        )
    return None


def serving_problems(*, runserver: bool) -> list[str]:
    problems = [static_files_problem()]
    if runserver:
        problems.append(runserver_https_problem())
    return [problem for problem in problems if problem]
