"""The kiosk-facing payment API (docs/kiosk-contract.md): create a sale, poll it, cancel it,
Xendit's webhook, the simulator. Each answer is made by the serializer that documents it
(payments/api/serializers.py); the errors are in payments/api/schema.py."""

import functools

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.client import client_ip, client_network, header_token_matches
from core.envelope import error_response, exception_handler
from core.openapi import BODY_REQUIRED, RESPONSE_HEADERS
from core.ratelimit import WEBHOOK_BAD_TOKEN, MissLimitedMixin, MissThrottle, SaleCreateThrottle
from core.renderers import EncryptedJSONRenderer, seal
from locations.auth import KioskKeyAuthentication, check_kiosk_location, kiosk_key
from payments import events, idempotency, sale_status, services, simulation
from payments.api import schema, webhook_schema
from payments.api.serializers import (
    IDEMPOTENCY_KEY_PATTERN,
    CreateSaleSerializer,
    SaleCancelledSerializer,
    SaleCreatedSerializer,
    SimulatePaymentRequestSerializer,
    SimulatePaymentResultSerializer,
    WebhookAckSerializer,
)
from payments.gateways import simulator_pay_available
from payments.models import EventOutcome, EventSource, Sale, is_external_id
from payments.schema import EXTERNAL_ID
from payments.selectors import SaleNotFound, sale_by_external_id


class SaleCreateView(APIView):
    """POST /api/v1/transactions: create a sale and its QRIS code."""

    # Authorization: Bearer <kiosk key> (locations/auth.py); RATE_LIMIT_SALE_CREATE per key or IP.
    authentication_classes = [KioskKeyAuthentication]
    throttle_classes = [SaleCreateThrottle]

    @extend_schema(
        operation_id="create_sale",
        summary="Sell a session: create a sale and its QRIS code",
        description="Checks in this order, the first failure wins: body, location, price, the price's locations, "
        "quota, voucher; then asks Xendit for the QR code, unless the voucher leaves nothing to pay (a free "
        "session: COMPLETED at once, `qr_string` null). `send_invoice` is optional (default false), unknown keys "
        "are ignored, the email's domain "
        "is lowercased. Never encrypted.",
        tags=["sales"],
        parameters=[schema.IDEMPOTENCY_KEY],
        request=CreateSaleSerializer,
        responses=schema.CREATE_SALE_RESPONSES,
        extensions={BODY_REQUIRED: True, RESPONSE_HEADERS: schema.CREATE_SALE_HEADERS},
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return self.create(request)
        if not IDEMPOTENCY_KEY_PATTERN.match(key):
            return error_response(
                status.HTTP_400_BAD_REQUEST,
                "Invalid Idempotency-Key header",
                {"reason": "1-255 printable ASCII characters"},
            )
        # A kiosk's keys are its own: another kiosk (or a caller without a key) reusing the same
        # Idempotency-Key never gets its answer replayed.
        claimed = idempotency.claim(key=idempotency.scoped_key(key, kiosk_key(request)), body=request.body)
        if claimed.conflict == "body":
            return error_response(status.HTTP_409_CONFLICT, "Idempotency key reused with a different request")
        if claimed.conflict == "in_progress":
            return error_response(
                status.HTTP_409_CONFLICT,
                "A request with this Idempotency-Key is still being processed",
                headers={"Retry-After": "1"},
            )
        if claimed.replay_status is not None:
            return HttpResponse(claimed.replay_body, status=claimed.replay_status, content_type="application/json")
        try:
            response = self.create(request)
        except Exception as exc:
            response = self.handle_exception(exc)
        body = JSONRenderer().render(response.data)
        idempotency.complete(
            claimed, status_code=response.status_code, body=body, sale_id=getattr(response, "sale_id", None)
        )
        return response

    def create(self, request) -> Response:
        serializer = CreateSaleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        check_kiosk_location(request, data["location_id"])
        key = kiosk_key(request)
        sale = services.create_sale(
            kiosk_location=key.location if key is not None else None,
            location_id=data["location_id"],
            price_id=data["price_id"],
            email=data["email"],
            send_invoice=data["send_invoice"],
            voucher_code=(data.get("voucher_code") or "").strip() or None,
        )
        answer = {"success": True, "message": SaleCreatedSerializer.MESSAGE, "data": sale_status.created_data(sale)}
        response = Response(answer, status=status.HTTP_201_CREATED)
        response.sale_id = sale.pk
        return response


def poll_body(external_id: str) -> dict:
    """The poll's answer: one SELECT (payments/sale_status.py), and a conditional UPDATE only for
    a PENDING sale found past its expiry, which is expired here and answered as EXPIRED."""
    sale = sale_status.polled_sale(external_id) if is_external_id(external_id) else None
    if sale is None:
        raise SaleNotFound(external_id)
    if sale.is_overdue(timezone.now()):
        expired = services.expire_if_overdue(
            sale=Sale(
                pk=sale.id,
                external_id=sale.external_id,
                status=sale.status,
                expires_at=sale.expires_at,
                paid_at=sale.paid_at,
            )
        )
        sale = sale._replace(status=expired.status, paid_at=expired.paid_at)
    return {"success": True, "message": "Transaction retrieved successfully", "data": sale_status.polled_data(sale)}


class SaleStatusView(APIView):
    """GET /api/v1/transactions/external/{external_id}: the kiosk polls this every 3 s."""

    # ENCRYPTION_ENABLED seals the answer (core/renderers.py).
    renderer_classes = [EncryptedJSONRenderer]
    encrypted_methods = ("GET",)
    # The poll's documentation, and the answer to every request but a plain JSON GET (HEAD,
    # OPTIONS, 405, 406, an indented answer); `poll_view` answers that one without DRF. This
    # docstring is the OPTIONS answer's description: changing it changes that answer.

    @extend_schema(
        operation_id="get_sale_status",
        summary="Poll a sale's payment status",
        description="Kiosks poll every 3 seconds until the status is no longer PENDING.",
        tags=["sales"],
        parameters=[EXTERNAL_ID],
        responses=schema.SALE_STATUS_RESPONSES,
    )
    def get(self, request, external_id: str):
        return Response(poll_body(external_id))


# What DRF adds to every answer of SaleStatusView (its one renderer: no Vary).
POLL_HEADERS = {"Allow": "GET, HEAD, OPTIONS"}


def _plainly_json(accept: str) -> bool:
    """An Accept header DRF's content negotiation answers with plain JSON: none, or JSON or any
    type without parameters (`; indent=4` or `; q=` go through DRF, which may indent or say 406)."""
    return not accept or (";" not in accept and ("*/*" in accept or "application/json" in accept))


def _json_response(data, *, status_code: int = 200, headers=None) -> HttpResponse:
    response = HttpResponse(JSONRenderer().render(data), status=status_code, content_type="application/json")
    for name, value in {**(headers or {}), **POLL_HEADERS}.items():
        response[name] = value
    return response


def poll_view(drf_view):
    """The poll as a plain Django view around SaleStatusView's: kiosks poll ~1,000 times a second,
    and for a plain JSON GET DRF's request wrapper, content negotiation and (empty) authentication,
    permission and throttle checks cost more than the answer. Every other request goes to the DRF
    view. `functools.wraps` keeps the DRF view's attributes, so drf-spectacular documents it."""

    @functools.wraps(drf_view)
    def poll(request, external_id: str):
        # META, not request.headers: that builds a dict of every header (~8 µs) for one of them.
        if request.method != "GET" or not _plainly_json(request.META.get("HTTP_ACCEPT", "")):
            return drf_view(request, external_id=external_id)
        try:
            # Sealed as SaleStatusView's renderer seals a successful GET (core/renderers.py).
            return _json_response(seal(poll_body(external_id), path=request.path))
        except Exception as exc:
            # The one exception handler, as DRF would call it: the same envelope and status.
            answer = exception_handler(exc, {"request": request, "view": None})
            if answer is None:
                raise
            headers = {name: value for name, value in answer.items() if name != "Content-Type"}
            return _json_response(answer.data, status_code=answer.status_code, headers=headers)

    return poll


class SaleCancelView(MissLimitedMixin, APIView):
    """POST /api/v1/transactions/{external_id}/cancel: the kiosk gives up an unpaid sale."""

    # Authorization: Bearer <kiosk key>, as for the photos; 404s count against RATE_LIMIT_PHOTO_MISSES.
    authentication_classes = [KioskKeyAuthentication]
    throttle_classes = [MissThrottle]

    @extend_schema(
        operation_id="cancel_sale",
        summary="Cancel a sale the customer no longer wants",
        description="A PENDING sale becomes CANCELLED and its quota is free at once. Idempotent. No body.",
        tags=["sales"],
        parameters=[EXTERNAL_ID],
        request=None,
        responses=schema.CANCEL_SALE_RESPONSES,
    )
    def post(self, request, external_id: str):
        sale = sale_by_external_id(external_id, Sale.objects.select_related("location"))
        check_kiosk_location(request, sale.location_id, external_id=sale.external_id)
        sale = services.cancel_sale(sale=sale)
        return Response(SaleCancelledSerializer.answer(sale))


# Xendit's notices are about 1 KB; anything over this is refused unread (413).
WEBHOOK_MAX_BODY = 64 * 1024


def _content_length(request) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


class XenditWebhookView(APIView):
    """POST /api/v1/webhooks/xendit: Xendit tells us a QR code was paid.

    Stored first, whatever it is; answered 200 for anything applied, duplicated or ignored, since
    Xendit retries every non-2xx for a day.
    """

    @extend_schema(
        operation_id="xendit_webhook",
        summary="Xendit's QR payment and refund callback",
        description='Set this URL in the Xendit dashboard for "QR code paid & refunded". Every request is stored '
        "before anything else. Dispatched on `event`: Xendit's 2022-07-31 `qr.payment`, the legacy `qr.payment` and "
        "the earlier service's flat shape are payments (applied only in rupiah and for the sale's exact amount); "
        "`qr.refund` (and `refund.succeeded` / `refund.failed`) settle refunds and never change whether a sale was "
        "paid; any other event is stored, answered 200 and ignored.",
        tags=["webhooks"],
        parameters=[schema.CALLBACK_TOKEN],
        request=webhook_schema.WEBHOOK_REQUEST,
        responses=schema.WEBHOOK_RESPONSES,
        extensions={BODY_REQUIRED: True},
    )
    def post(self, request):
        # The token is checked first and only failures count: Xendit's own webhooks are never
        # refused, however many forged ones came from the same address (a shared proxy, say).
        caller = client_ip(request)
        provided = request.headers.get("x-callback-token")
        token_ok = provided is not None and header_token_matches(provided, settings.XENDIT_CALLBACK_TOKEN)
        size = _content_length(request)
        if size > WEBHOOK_MAX_BODY:
            # No notice is this large (Xendit's are about 1 KB): refused before the body is read.
            wait = None if token_ok else WEBHOOK_BAD_TOKEN.hit(client_network(request))
            self._refused(request, caller, size=size, body=None, reason=f"Body too large: {size} bytes")
            if wait is not None:
                raise exceptions.Throttled(wait)
            return error_response(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "Request body too large", {"max_bytes": WEBHOOK_MAX_BODY}
            )
        if token_ok:
            event = events.record_payment_event(
                source=EventSource.WEBHOOK, headers=dict(request.headers), body=request.body, remote_addr=caller or None
            )
            return self._answer(events.process_payment_event(event))
        # A failing token is counted first, atomically, and the count decides: an address past
        # RATE_LIMIT_WEBHOOK_BAD_TOKEN failures in its window is refused until the window ends,
        # however many of its requests arrive at once. Guessing the token gets nowhere. Refused
        # requests are kept cheaply: headers, size, hash and the body's first 4 KB.
        wait = WEBHOOK_BAD_TOKEN.hit(client_network(request))
        if wait is not None:
            self._refused(request, caller, size=size, body=request.body, reason="Too many missing or wrong tokens")
            raise exceptions.Throttled(wait)
        if provided is None:
            self._refused(request, caller, size=size, body=request.body, reason="Missing x-callback-token header")
            return error_response(status.HTTP_401_UNAUTHORIZED, "Missing x-callback-token header")
        self._refused(request, caller, size=size, body=request.body, reason="Invalid callback token")
        return error_response(status.HTTP_403_FORBIDDEN, "Invalid callback token")

    @staticmethod
    def _refused(request, caller: str, *, size: int, body: bytes | None, reason: str) -> None:
        events.record_rejected_request(
            headers=dict(request.headers),
            size=len(body) if body is not None else size,
            start=body or b"",
            whole=body,
            reason=reason,
            remote_addr=caller or None,
        )

    @staticmethod
    def _answer(event) -> Response:
        if event.outcome == EventOutcome.INVALID:
            return error_response(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                "Validation error",
                {"errors": [{"field": "body", "message": event.outcome_detail, "type": "value_error"}]},
            )
        if event.outcome == EventOutcome.IGNORED and event.shape == "ignored":
            return Response(WebhookAckSerializer.answer("Notification stored and ignored"))
        if event.shape == "refund":
            return Response(WebhookAckSerializer.answer("Refund updated"))
        return Response(WebhookAckSerializer.answer("Transaction updated"))


class SimulatePaymentView(APIView):
    """POST /api/v1/simulator/transactions/{external_id}/pay (DEBUG and simulator only)."""

    @extend_schema(
        operation_id="simulate_payment",
        summary="Pay a sale with the simulator (development only)",
        description="Answers 404 unless DEBUG is on and PAYMENT_GATEWAY=simulator.",
        tags=["simulator"],
        parameters=[EXTERNAL_ID],
        request=SimulatePaymentRequestSerializer,
        responses=schema.SIMULATE_RESPONSES,
    )
    def post(self, request, external_id: str):
        if not simulator_pay_available():
            return error_response(status.HTTP_404_NOT_FOUND, "Not found")
        sale = sale_by_external_id(external_id)
        amount = request.data.get("amount") if isinstance(request.data, dict) else None
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 1):
            return error_response(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                "Validation error",
                {"errors": [{"field": "amount", "message": "A whole number of rupiah.", "type": "int_type"}]},
            )
        event = simulation.simulate_payment(sale=sale, amount=amount)
        sale.refresh_from_db()
        return Response(SimulatePaymentResultSerializer.answer({"sale": sale, "event": event}))
