"""The WSGI application (gunicorn -c gunicorn.conf.py photobox.wsgi).

A settings error, or a demo kiosk whose static files were never collected, stops the start with
one plain line on stderr and exit status 3, which gunicorn takes as "worker failed to boot": it
shuts down instead of starting workers that would fail the same way. The database is not
connected here: a server started while PostgreSQL restarts serves as soon as it is back (/health
reports it meanwhile).
"""

import logging
import os
import sys
import warnings

from core.env import HELP_FLAG
from photobox import startup

# Help-only placeholders (core/env.py) never serve requests.
os.environ.pop(HELP_FLAG, None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "photobox.settings")

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application


def _refuse(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
    raise SystemExit(startup.WORKER_BOOT_ERROR)


try:
    with warnings.catch_warnings():
        # whitenoise's "No directory at: STATIC_ROOT": said below, with the command that fixes it.
        warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)
        application = get_wsgi_application()
except ImproperlyConfigured as exc:
    _refuse(startup.settings_error_line(exc, debug_hint=False))

# Checked once per process, at start: the manifest is read from disk, the finders' folders listed.
for _problem in startup.serving_problems(runserver=False):
    if settings.DEMO_KIOSK:
        _refuse(f"Photobox cannot start the demo kiosk (DEMO_KIOSK=true): {_problem}")
    # A server for kiosks' API calls still starts; the admin and the API docs would answer 500.
    logging.getLogger("photobox").warning("%s", _problem)
