#!/usr/bin/env python
"""Django's command-line utility for Photobox, telling start-up problems in one plain line."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photobox.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from core import env
    from photobox import startup

    # Help needs no configuration: before the settings load, tell them in the PHOTOBOX_HELP_ONLY
    # environment variable that this process only prints help (core/env.py, HELP_FLAG); they
    # then give SECRET_KEY, ALLOWED_HOSTS and PAYMENT_GATEWAY placeholders. Any other command line
    # clears the variable, so every real command still needs the real values.
    if env.is_help_request(sys.argv):
        env.ask_for_help_only()
    else:
        os.environ.pop(env.HELP_FLAG, None)

    try:
        settings.INSTALLED_APPS  # noqa: B018 - load the settings now, to report a bad one plainly
    except (ImproperlyConfigured, ImportError) as exc:
        sys.exit(startup.settings_error_line(exc, debug_hint=True))

    subcommand = sys.argv[1] if len(sys.argv) > 1 else ""
    # runserver's autoreloader runs this file again in a child process (RUN_MAIN=true): check once.
    if subcommand == "runserver" and os.environ.get("RUN_MAIN") != "true" and not env.is_help_request(sys.argv):
        refuse_to_serve_what_would_fail()
    if subcommand == "runserver":
        report_database_errors_of_runserver()

    try:
        execute_from_command_line(sys.argv)
    except Exception as exc:
        if "--traceback" in sys.argv or not startup.is_connection_error(exc):
            raise
        sys.exit(startup.database_error_line(exc))


def refuse_to_serve_what_would_fail() -> None:
    """With DEBUG off, static files that were never collected, and a redirect to the HTTPS that
    runserver cannot speak, make pages fail. The demo kiosk page is meant to be opened in a
    browser: with DEMO_KIOSK=true, refuse to start. Otherwise warn in one line (photobox/wsgi.py,
    which runserver loads too, warns about the static files)."""
    import django
    from django.conf import settings

    from photobox import startup

    django.setup()
    problems = startup.serving_problems(runserver=True)
    if problems and settings.DEMO_KIOSK:
        sys.exit(f"Photobox cannot start the demo kiosk (DEMO_KIOSK=true): {' '.join(problems)}")
    https = startup.runserver_https_problem()
    if https:
        print(f"Warning: {https}", file=sys.stderr)


def report_database_errors_of_runserver() -> None:
    """runserver checks the migrations, which connects to the database, in its own thread: an
    unreachable database would leave a traceback and a server that serves nothing. Print the
    one line instead and stop (the autoreloader's parent then exits with the same status)."""
    import threading

    from photobox import startup

    default_hook = threading.excepthook

    def hook(args):
        if (
            args.thread is not None
            and args.thread.name == "django-main-thread"
            and startup.is_connection_error(args.exc_value)
            and "--traceback" not in sys.argv
        ):
            print(startup.database_error_line(args.exc_value), file=sys.stderr, flush=True)
            os._exit(1)
        default_hook(args)

    threading.excepthook = hook


if __name__ == "__main__":
    main()
