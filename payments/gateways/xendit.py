"""Xendit QR Codes API (version 2022-07-31) over `requests`."""

import logging
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from payments.gateways.base import GatewayError, GatewayRejected, GatewayTimeout, GatewayUnavailable, QrCode, QrPayment

logger = logging.getLogger("payments.xendit")

API_VERSION = "2022-07-31"
# Xendit reports a successful QR payment as SUCCEEDED (2022-07-31) or COMPLETED (legacy).
SUCCESSFUL_PAYMENT_STATUSES = {"SUCCEEDED", "COMPLETED"}


def parse_timestamp(value) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC: an offset PostgreSQL cannot store (+23:59), or a moment outside the years 1-9999
        # once in UTC, is no usable time.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_amount(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def qr_payment_from_json(item: dict, *, qr_id: str = "") -> QrPayment:
    detail = item.get("payment_detail") or item.get("payment_details") or {}
    status = str(item.get("status", "")).upper()
    return QrPayment(
        id=str(item.get("id", "")),
        qr_id=str(item.get("qr_id") or (item.get("qr_code") or {}).get("id") or qr_id),
        reference_id=str(item.get("reference_id") or (item.get("qr_code") or {}).get("external_id") or ""),
        amount=parse_amount(item.get("amount")) or Decimal(0),
        status="COMPLETED" if status in SUCCESSFUL_PAYMENT_STATUSES else status,
        paid_at=parse_timestamp(item.get("created")),
        channel=str(detail.get("source") or item.get("channel_code") or "")[:50] if isinstance(detail, dict) else "",
        receipt_id=str(detail.get("receipt_id") or "")[:100] if isinstance(detail, dict) else "",
        raw=item,
    )


class XenditClient:
    name = "xendit"
    reconciles = True

    def __init__(self, *, base_url: str, api_key: str, connect_timeout: float, read_timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.auth = (api_key, "")
        self.session.headers.update({"api-version": API_VERSION, "Accept": "application/json"})
        # One retry, only where it is safe: connection failures happen before the request leaves
        # (any method); read errors and 502/503/504 answers are retried for GET only, because a
        # POST that reached Xendit may already have created a QR code.
        retry = Retry(
            total=1,
            connect=1,
            read=1,
            status=1,
            other=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=(502, 503, 504),
            backoff_factor=0.2,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        self.session.mount(self.base_url, HTTPAdapter(max_retries=retry, pool_maxsize=10))

    def create_qr_code(self, *, reference_id: str, amount: Decimal, expires_at: datetime) -> QrCode:
        body = {
            "reference_id": reference_id,
            "type": "DYNAMIC",
            "currency": "IDR",
            "amount": int(amount),
            "expires_at": expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return self._qr_code(self._request("POST", "/qr_codes", json=body))

    def get_qr_code(self, qr_id: str) -> QrCode:
        return self._qr_code(self._request("GET", f"/qr_codes/{requests.utils.quote(qr_id, safe='')}"))

    def list_payments(self, qr_id: str) -> list[QrPayment]:
        data = self._request("GET", f"/qr_codes/{requests.utils.quote(qr_id, safe='')}/payments")
        # The 2022-07-31 list shape is undocumented: accept a bare list or {"data": [...]}.
        items = data.get("data", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise GatewayError("Unexpected payments list from Xendit", error_code="UNEXPECTED_RESPONSE")
        return [qr_payment_from_json(item, qr_id=qr_id) for item in items if isinstance(item, dict)]

    def _request(self, method: str, path: str, **kwargs):
        url = self.base_url + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.ConnectTimeout as exc:
            raise GatewayUnavailable("Xendit could not be reached (connect timeout)") from exc
        except requests.Timeout as exc:
            raise GatewayTimeout("Xendit did not answer in time") from exc
        except requests.ConnectionError as exc:
            # requests reports a GET whose retry also timed out as a ConnectionError.
            cause = exc.args[0] if exc.args else None
            if isinstance(cause, MaxRetryError) and isinstance(cause.reason, ReadTimeoutError):
                raise GatewayTimeout("Xendit did not answer in time") from exc
            raise GatewayUnavailable("Xendit could not be reached") from exc
        except requests.RequestException as exc:
            raise GatewayUnavailable("Request to Xendit failed") from exc

        request_id = response.headers.get("Request-Id", "")
        if response.status_code >= 400:
            error_code, message = self._error_of(response)
            logger.warning(
                "Xendit %s %s answered %s %s (request id %s)",
                method,
                path,
                response.status_code,
                error_code,
                request_id,
            )
            error_class = (
                GatewayRejected if response.status_code < 500 and response.status_code != 429 else GatewayUnavailable
            )
            raise error_class(message, error_code=error_code, http_status=response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise GatewayError(
                "Xendit answered with a body that is not JSON", error_code="UNEXPECTED_RESPONSE"
            ) from exc

    @staticmethod
    def _error_of(response: requests.Response) -> tuple[str, str]:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        error_code = str(body.get("error_code") or f"HTTP_{response.status_code}")
        message = str(body.get("message") or response.reason or "Xendit error")
        return error_code, message

    @staticmethod
    def _qr_code(data) -> QrCode:
        if not isinstance(data, dict) or not data.get("id") or not data.get("qr_string"):
            raise GatewayError("Xendit answered without a QR code", error_code="UNEXPECTED_RESPONSE")
        return QrCode(
            id=str(data["id"]),
            reference_id=str(data.get("reference_id") or data.get("external_id") or ""),
            qr_string=str(data["qr_string"]),
            amount=parse_amount(data.get("amount")) or Decimal(0),
            status=str(data.get("status", "")),
            expires_at=parse_timestamp(data.get("expires_at")),
        )
