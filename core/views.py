import logging
import re
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django.views.static import serve

from core.env import one_line
from core.envelope import json_error
from core.formats import jakarta_iso

logger = logging.getLogger(__name__)

# The home page has no script and no form; its few styles are inline.
HOME_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
FAVICON = "photobox/favicon.ico"  # gallery/static/photobox/, drawn from favicon.svg beside it


def kiosk_enabled() -> bool:
    """Whether the demo kiosk page (/kiosk/) is served: with DEBUG, or DEMO_KIOSK=true. Here, below
    the apps, because the home page links to it and the page itself (above the apps) obeys it."""
    return settings.DEBUG or settings.DEMO_KIOSK


@csrf_exempt
@require_safe
def home(request):
    """GET /: what this service is and where to go: the demo kiosk when it is on, the staff admin,
    the API docs. A customer who lands here is sent back to the link in their email."""
    response = render(request, "home.html", {"app_name": settings.APP_NAME, "kiosk": kiosk_enabled()})
    response["Content-Security-Policy"] = HOME_CSP
    return response


@cache
def _favicon() -> bytes:
    # Read from the app's static folder (not STATIC_ROOT): it answers before any collectstatic.
    found = finders.find(FAVICON)
    if not isinstance(found, str):
        raise FileNotFoundError(FAVICON)
    return Path(found).read_bytes()


@csrf_exempt
@require_safe
def favicon(request):
    """GET /favicon.ico: browsers ask every site for it; the admin, gallery and home page link it."""
    response = HttpResponse(_favicon(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@csrf_exempt  # changes nothing; any method but GET and HEAD gets 405, not a CSRF page
@require_safe
def health(request):
    """GET /health: is the database reachable? Load balancers and uptime checks call this."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception as exc:
        # The answer names no internals (anyone may call it); the log tells the operator why.
        logger.warning("Health check: the database did not answer: %s", one_line(str(exc)))
        database = "error"
    body = {
        "status": "ok" if database == "ok" else "error",
        "timestamp": jakarta_iso(timezone.now()),
        "database": database,
        "version": settings.APP_VERSION,
    }
    return JsonResponse(body, status=200 if database == "ok" else 503, json_dumps_params={"separators": (",", ":")})


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Unknown /api/ paths: the envelope, and no slash-appending redirect of a POST."""
    return json_error(404, "Not found", {"path": request.path})


SAFE_DOWNLOAD_NAME = re.compile(r"[A-Za-z0-9._-]{1,120}")  # the whole name: always fullmatch


def media(request, path: str):
    """Photos from MEDIA_ROOT when there is no Cloudinary (the demo, development).

    `?download=photobox-TRX-…-01.jpg` (from a gallery's download button) makes it an attachment
    of that name; otherwise it is shown inline. Any other `download` value is refused with 400.
    """
    name = request.GET.get("download")
    if name is not None and not SAFE_DOWNLOAD_NAME.fullmatch(name):
        return HttpResponse("Bad download name", status=400, content_type="text/plain; charset=utf-8")
    response = serve(request, path, document_root=str(settings.MEDIA_ROOT))
    if name is not None and response.status_code == 200:
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
