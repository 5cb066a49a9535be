"""The kiosk's fleet API (docs/kiosk-contract.md): its heartbeat, and its activation with a code.
Each answer is made by the serializer that documents it (locations/api/serializers.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.client import client_network
from core.envelope import error_response
from core.openapi import BODY_REQUIRED
from locations import activation, heartbeats
from locations.api import schema
from locations.api.serializers import (
    ActivatedAnswerSerializer,
    ActivateSerializer,
    HeartbeatAnswerSerializer,
    HeartbeatSerializer,
)
from locations.auth import HasKioskKey, KioskKeyAuthentication


def _too_large(request) -> Response | None:
    """413 before the body is read, when it says it is over schema.MAX_BODY."""
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    if size > schema.MAX_BODY:
        return error_response(
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "Request body too large", {"max_bytes": schema.MAX_BODY}
        )
    return None


class HeartbeatView(APIView):
    """POST /api/v1/kiosk/heartbeat: the kiosk says it is alive, and how it is, every minute."""

    authentication_classes = [KioskKeyAuthentication]
    permission_classes = [HasKioskKey]

    @extend_schema(
        operation_id="kiosk_heartbeat",
        summary="Say the machine is alive, and how it is (every 60 seconds)",
        description="Send one a minute. A machine is `online` while its last heartbeat is under 2 minutes old, "
        "`stale` up to 10 minutes, then `offline`. Only `status` is required; a field left out is stored as not "
        "reported (each heartbeat replaces the previous one). Unknown keys are ignored. Answers whether the "
        "machine may sell now, and the server's time.",
        tags=["fleet"],
        request=HeartbeatSerializer,
        responses=schema.HEARTBEAT_RESPONSES,
        extensions={BODY_REQUIRED: True},
    )
    def post(self, request):
        if (refused := _too_large(request)) is not None:
            return refused
        serializer = HeartbeatSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        printer = data.get("printer") or {}
        received = heartbeats.record_heartbeat(
            location=request.auth.location,
            beat=heartbeats.Beat(
                status=data["status"],
                printer_status=printer.get("status") or "",
                prints_left=printer.get("prints_left"),
                camera_status=data.get("camera") or "",
                app_version=data.get("app_version") or "",
                message=data.get("message") or "",
            ),
        )
        return Response(HeartbeatAnswerSerializer.answer(received))


class ActivateView(APIView):
    """POST /api/v1/kiosk/activate: a new kiosk trades the code staff gave it for its kiosk key."""

    @extend_schema(
        operation_id="kiosk_activate",
        summary="Activate a kiosk with a one-time code: get its kiosk key",
        description="Staff create the code in the admin (Locations > the machine > Create activation code): 6 "
        "digits, valid 30 minutes, used once. The answer carries the machine's new kiosk key, once: store it and "
        "send it as `Authorization: Bearer …` from then on. No kiosk key is needed here. Wrong codes are limited "
        "per client network and per machine (RATE_LIMIT_ACTIVATION_WRONG, 5 in 15 minutes).",
        tags=["fleet"],
        request=ActivateSerializer,
        responses=schema.ACTIVATE_RESPONSES,
        extensions={BODY_REQUIRED: True},
    )
    def post(self, request):
        if (refused := _too_large(request)) is not None:
            return refused
        serializer = ActivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, plaintext = activation.activate_kiosk(
            code=serializer.validated_data["code"],
            device_name=serializer.validated_data["device_name"],
            network=client_network(request),
        )
        response = Response(
            ActivatedAnswerSerializer.answer({"key": key, "plaintext": plaintext}), status=status.HTTP_201_CREATED
        )
        # The key is in this answer only: no cache may keep it.
        response["Cache-Control"] = "no-store"
        return response
