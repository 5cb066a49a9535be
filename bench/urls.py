"""The project's URLs plus the bare view, for the benchmarks only (see bench/settings.py)."""

from django.conf import settings
from django.db import connections
from django.http import HttpResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from payments import sale_status, services
from payments.models import Sale
from payments.selectors import sale_by_external_id
from photobox import urls as project_urls

# A poll answer of the usual size, fixed: what Django alone costs for a small JSON GET.
BARE_BODY = (
    b'{"success":true,"message":"Transaction retrieved successfully","data":{"id":1,'
    b'"external_id":"TRX-1-20250101120000-0000ABCD","location_id":1,"location":{"id":1,'
    b'"machine_code":"PB-0001"},"price_id":"00000000-0000-4000-8000-000000000001","price":{"id":'
    b'"00000000-0000-4000-8000-000000000001","price":40000},"status":"PENDING","qr_string":'
    b'"00020101021226660014ID.CO.QRIS.WWW0118936009140000000000000000000000000000000000005204599953033605405'
    b'400005802ID5908PHOTOBOX6007JAKARTA6304ABCD","expires_at":"2025-01-01T12:15:00+07:00","paid_at":null,'
    b'"created_at":"2025-01-01T12:00:00+07:00"}}'
)


def bare(request):
    return HttpResponse(BARE_BODY, content_type="application/json")


def round_trip(request):
    """The bare view plus one round trip to PostgreSQL on the poll's connection (`SELECT 1`,
    prepared like the poll's SELECT): the highest rate a poll that reads one row could reach here,
    whatever it does with the row (bench.poll --round-trip)."""
    with connections[settings.POLL_DATABASE].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return HttpResponse(BARE_BODY, content_type="application/json")


class PollBeforeView(APIView):
    """The poll as it was before the benchmarks (commit c5f3725): the ORM (select_related + only,
    a model instance) and DRF's full dispatch. Kept here, and only here, so every run can measure
    the optimised poll against it under the same conditions (bench.poll --before)."""

    def get(self, request, external_id: str):
        queryset = Sale.objects.select_related("location").only(
            "id",
            "external_id",
            "location_id",
            "location__machine_code",
            "price_id",
            "list_price",
            "amount",
            "voucher_code",
            "discount",
            "status",
            "qr_string",
            "expires_at",
            "paid_at",
            "created_at",
        )
        sale = services.expire_if_overdue(sale=sale_by_external_id(external_id, queryset))
        body = {
            "success": True,
            "message": "Transaction retrieved successfully",
            "data": sale_status.stored_sale_data(sale),
        }
        return Response(body)


# Under /api/ like the poll, so every path-dependent middleware treats them alike.
urlpatterns = [
    path("api/v1/bench/bare", bare),
    path("api/v1/bench/round-trip", round_trip),
    path("api/v1/bench/poll-before/<str:external_id>", PollBeforeView.as_view()),
    *project_urls.urlpatterns,
]
