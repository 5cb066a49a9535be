#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photobox.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - load the settings now, to report a bad one plainly
    except ImproperlyConfigured as exc:
        sys.exit(
            f"Photobox cannot start: {exc}\n"
            "On a development machine, run with DEBUG=true (or copy .env.example to .env and set it there)."
        )
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
