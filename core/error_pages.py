"""What a request gets when the server fails: the database being down is a wait, not an error.

Django calls `server_error` (urls.handler500) for any exception no view handled, while the
exception is still being handled, so it can tell a database that cannot be reached (PostgreSQL
restarting, a failover, connections exhausted) from a bug: the former answers 503 with
Retry-After (the API's envelope, or the gallery's "coba lagi sebentar" page), the latter the usual
500. API views get the same through their exception handler (core.envelope).
"""

import logging
import sys

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.views.defaults import server_error as django_server_error

from core.envelope import DATABASE_RETRY_AFTER, database_unavailable, json_error

logger = logging.getLogger("photobox.api")


def server_error(request, *args, **kwargs):
    exc = sys.exc_info()[1]
    if not database_unavailable(exc):
        return django_server_error(request, *args, **kwargs)
    logger.warning("database unavailable: %s %s answered 503", request.method, request.path)
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = json_error(503, "Service temporarily unavailable", {"retry_after": DATABASE_RETRY_AFTER})
    else:
        context = {"app_name": settings.APP_NAME, "language_code": "id"}
        response = render(request, "gallery/unavailable.html", context, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response
