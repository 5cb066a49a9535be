import re

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from django.views.static import serve

from photobox.api import jakarta_iso, json_error


@csrf_exempt  # changes nothing; any method but GET and HEAD gets 405, not a CSRF page
@require_safe
def health(request):
    """GET /health: is the database reachable? Load balancers and uptime checks call this."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:
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


SAFE_DOWNLOAD_NAME = re.compile(r"^[A-Za-z0-9._-]{1,120}$")


def media(request, path: str):
    """Photos from MEDIA_ROOT when there is no Cloudinary (the demo, development).

    `?download=photobox-TRX-…-01.jpg` (from a gallery's download button) makes it an attachment
    of that name; otherwise it is shown inline.
    """
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    name = request.GET.get("download", "")
    if SAFE_DOWNLOAD_NAME.match(name) and response.status_code == 200:
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
