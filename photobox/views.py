from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from photobox.api import jakarta_iso, json_error


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
