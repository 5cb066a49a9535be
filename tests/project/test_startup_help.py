"""Help needs no configuration, a real command still does, and outside the virtualenv manage.py
gives Django's hint. Each case is a real `manage.py` process with a clean environment."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.env import is_help_request
from tests.support.processes import PRODUCTION, PROJECT_ROOT, manage, one_line_error, settings_environment

# The project's own commands, as found on disk (a new one is covered without editing this file).
PROJECT_COMMANDS = sorted(
    path.stem
    for path in PROJECT_ROOT.glob("*/management/commands/*.py")
    if not path.name.startswith("_") and ".venv" not in path.parts
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_project_commands_are_found():
    assert {"cleanup", "expire_sales", "send_emails", "check_refunds"} <= set(PROJECT_COMMANDS)


def test_help_lists_every_command_with_no_environment_at_all():
    result = manage({}, "help")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    for command in PROJECT_COMMANDS:
        assert f"    {command}\n" in result.stdout, command
    assert "settings are not properly configured" not in result.stdout


@pytest.mark.parametrize("command", [*PROJECT_COMMANDS, "migrate", "runserver", "collectstatic", "createsuperuser"])
def test_every_commands_help_works_with_no_environment(command):
    result = manage({}, command, "--help")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: manage.py {command} ")
    assert result.stderr == ""


@pytest.mark.parametrize("args", [(), ("-h",), ("--help",), ("help", "cleanup"), ("cleanup", "-h"), ("--version",)])
def test_other_ways_of_asking_for_help_work_with_no_environment(args):
    result = manage({}, *args)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


# --- Production defaults stay safe ---------------------------------------------------------------


@pytest.mark.parametrize("args", [("migrate",), ("check",), ("cleanup", "--dry-run"), ("cleanup", "--", "--help")])
def test_a_real_command_without_secret_key_still_refuses_to_start(args):
    line = one_line_error(manage({}, *args))

    assert line.startswith("Photobox cannot start: SECRET_KEY is required when DEBUG is off")


def test_the_help_flag_set_from_outside_does_not_let_a_command_run():
    line = one_line_error(manage({"PHOTOBOX_HELP_ONLY": "1"}, "migrate"))

    assert "SECRET_KEY" in line


def test_the_help_flag_set_from_outside_does_not_load_the_settings_elsewhere():
    # Anything else that loads the settings (a script, a WSGI server) ignores the flag.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'photobox.settings'; django.setup()",
        ],
        cwd=PROJECT_ROOT,
        env=settings_environment({"PHOTOBOX_HELP_ONLY": "1"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["manage.py"], True),
        (["manage.py", "help"], True),
        (["manage.py", "help", "migrate"], True),
        (["manage.py", "--version"], True),
        (["manage.py", "cleanup", "--dry-run", "--help"], True),
        (["manage.py", "cleanup", "-h"], True),
        (["manage.py", "cleanup"], False),
        (["manage.py", "migrate", "--noinput"], False),
        (["manage.py", "cleanup", "--", "--help"], False),  # an argument that reads --help
        (["manage.py", "runserver", "--", "-h"], False),
    ],
)
def test_what_counts_as_a_help_request(argv, expected):
    assert is_help_request(argv) is expected


# --- Settings errors: one line, and "DEBUG=true" only where it would help -----------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": "s"}, "ALLOWED_HOSTS"),
        ({"SECRET_KEY": "s", "ALLOWED_HOSTS": "photobox.example.com"}, "PAYMENT_GATEWAY"),
    ],
)
def test_a_value_only_production_requires_suggests_debug_on_a_development_machine(env, named):
    line = one_line_error(manage(env, "check"))

    assert line.startswith(f"Photobox cannot start: {named}")
    assert line.endswith(
        "On a development machine, run with DEBUG=true instead (or put DEBUG=true in .env, see .env.example)."
    )


@pytest.mark.parametrize(
    "env",
    [
        {"DEBUG": "true", "LOG_LEVEL": "loud"},
        {"DEBUG": "true", "PAYMENT_GATEWAY": "xendit"},
        {**PRODUCTION, "LOG_LEVEL": "loud"},
        {**PRODUCTION, "DEBUG": "maybe"},
        {**PRODUCTION, "DATABASE_URL": "foo"},
    ],
)
def test_debug_is_not_suggested_where_it_would_not_help(env):
    line = one_line_error(manage(env, "check"))

    assert line.startswith("Photobox cannot start: ")
    assert "DEBUG=true" not in line


# --- Outside the virtualenv ------------------------------------------------------------------------


def test_without_django_manage_py_gives_djangos_virtualenv_hint():
    # An interpreter that cannot import Django: this one, without site-packages (-S) and isolated
    # from the environment (-I), whether or not the machine's own python has Django.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "manage.py", "help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ImportError: Couldn't import Django. Are you sure it's installed and available on your PYTHONPATH "
        "environment variable? Did you forget to activate a virtual environment?"
    )


def test_gunicorn_tells_a_settings_error_in_one_line_and_stops():
    port = free_port()
    environment = settings_environment(
        {
            "PHOTOBOX_HELP_ONLY": "1",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "1",
            "LOG_FORMAT": "plain",
        }
    )

    result = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "photobox.wsgi"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 3, result.stderr  # gunicorn: "Worker failed to boot", and it stops
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "SECRET_KEY" in line]
    assert line == (
        "Photobox cannot start: SECRET_KEY is required when DEBUG is off: set it to a long random string, e.g. the "
        'output of python -c "import secrets; print(secrets.token_urlsafe(50))".'
    )
