"""Real processes for the tests about start-up and deployment: Django with photobox.settings,
`manage.py` and gunicorn, each in a fresh interpreter with an environment the test chooses, so
what an operator's shell holds never changes the outcome."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
SETTINGS_FILES = sorted((PROJECT_ROOT / "photobox" / "settings").glob("*.py"))
GUNICORN = Path(sys.executable).parent / "gunicorn"

# Every variable the settings read, and DJANGO_SETTINGS_MODULE: each start-up sets all of them, to
# "" when the case does not care, which the settings treat as unset and which keeps a developer's
# .env (read with setdefault) from changing the outcome.
SETTINGS_VARIABLES = sorted(
    {name for file in SETTINGS_FILES for name in re.findall(r'\benv\.\w+\(\s*"([A-Z][A-Z0-9_]*)"', file.read_text())}
)

# Enough for a production start-up: each failure case changes only what it is about.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret",
    "ALLOWED_HOSTS": "photobox.example.com",
    "PAYMENT_GATEWAY": "simulator",
    # No mail server in these cases: the console, chosen explicitly as production requires.
    "EMAIL_BACKEND": "console",
}

PRINT_SETTINGS = """
import json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "photobox.settings"
import django
django.setup()
from django.conf import settings
print(json.dumps({name: getattr(settings, name) for name in sys.argv[1:]}, default=str))
"""


def settings_environment(env: dict[str, str]) -> dict[str, str]:
    """This process's environment without any setting of Photobox's, plus `env`."""
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.update(dict.fromkeys(SETTINGS_VARIABLES, ""))
    environment.update(env)
    return environment


def clean_environment(**values: str) -> dict[str, str]:
    """The process environment without any Photobox setting (a developer's .env is read with
    setdefault, so blank values keep it out too) nor gunicorn's, plus `values`."""
    environment = settings_environment({})
    gunicorn = ["GUNICORN_BIND", "PORT", "GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_TIMEOUT"]
    for name in [*gunicorn, "GUNICORN_ACCESS_LOG", "GUNICORN_MAX_REQUESTS"]:
        environment[name] = ""
    environment.update(values)
    return environment


def start(env: dict[str, str], *names: str) -> subprocess.CompletedProcess:
    """Start Django with photobox.settings in a fresh interpreter and the given environment."""
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS, *names],
        cwd=PROJECT_ROOT,
        env=settings_environment(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def started(env: dict[str, str], *names: str) -> dict:
    """The values of the settings `names` once Django started with `env` (which it must)."""
    result = start(env, *names)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def start_up_error(env: dict[str, str]) -> str:
    """The last line of the traceback: what an operator reads when the service refuses to start."""
    result = start(env)
    assert result.returncode != 0, f"started although it should not: {result.stdout}"
    last_line = result.stderr.strip().splitlines()[-1]
    prefix = "django.core.exceptions.ImproperlyConfigured: "
    assert last_line.startswith(prefix), result.stderr
    return last_line.removeprefix(prefix)


def manage(env: dict[str, str], *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """`python manage.py *args` in a fresh interpreter with the given environment."""
    environment = settings_environment(env)
    environment.pop("PHOTOBOX_HELP_ONLY", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """What a command that refused printed: exactly one line on stderr, exit status 1."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def run(args: list[str], environment: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    """`args` from the project's root with exactly `environment`."""
    return subprocess.run(
        args, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )
