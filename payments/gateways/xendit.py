"""Xendit QR Codes API (version 2022-07-31) over `requests`: QR codes, their payments, refunds.

What Xendit's JSON means is read in `xendit_wire`; this module owns the HTTP: auth, timeouts,
retries, and Xendit's errors as typed exceptions (a 429 is `GatewayRateLimited`, with the wait).
"""

import logging
from datetime import UTC, datetime
from decimal import Decimal

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from payments.gateways.base import (
    GatewayError,
    GatewayRateLimited,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    PaymentNotice,
    QrCode,
    RefundNotice,
)
from payments.gateways.xendit_wire import parse_amount, parse_timestamp, read_listed_payment, read_refund

logger = logging.getLogger("payments.xendit")

API_VERSION = "2022-07-31"
# When a 429 carries neither Rate-Limit-Reset nor Retry-After: Xendit's window is a minute.
DEFAULT_RATE_LIMIT_WAIT = 60.0


def _quoted(value: str) -> str:
    return requests.utils.quote(value, safe="")


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

    def list_payments(self, qr_id: str) -> list[PaymentNotice]:
        items = self._list(self._request("GET", f"/qr_codes/{_quoted(qr_id)}/payments"), "payments")
        return [read_listed_payment(item, qr_id=qr_id) for item in items]

    def create_refund(self, *, payment_id: str, amount: Decimal, reason: str, idempotency_key: str) -> RefundNotice:
        """Ask Xendit to refund `amount` of a QR payment (xendit.md §11.1). Answers PENDING; the
        result comes later by webhook. The key makes a retried request the same refund, where
        Xendit honours it (undocumented for this endpoint: the refund check lists before resending)."""
        body = {"amount": int(amount), "reason": reason}
        data = self._request(
            "POST",
            f"/qr_codes/payments/{_quoted(payment_id)}/refunds",
            json=body,
            headers={"idempotency-key": idempotency_key},
        )
        return self._refund(data)

    def get_refund(self, *, payment_id: str, refund_id: str) -> RefundNotice:
        return self._refund(
            self._request("GET", f"/qr_codes/payments/{_quoted(payment_id)}/refunds/{_quoted(refund_id)}")
        )

    def list_refunds(self, *, payment_id: str) -> list[RefundNotice]:
        items = self._list(self._request("GET", f"/qr_codes/payments/{_quoted(payment_id)}/refunds"), "refunds")
        return [read_refund(item) for item in items]

    @staticmethod
    def _list(data, what: str) -> list[dict]:
        # The 2022-07-31 list shapes are undocumented: accept a bare list or {"data": [...]}.
        items = data.get("data", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise GatewayError(f"Unexpected {what} list from Xendit", error_code="UNEXPECTED_RESPONSE")
        return [item for item in items if isinstance(item, dict)]

    @staticmethod
    def _refund(data) -> RefundNotice:
        if not isinstance(data, dict) or not data.get("id"):
            raise GatewayError("Xendit answered without a refund", error_code="UNEXPECTED_RESPONSE")
        return read_refund(data)

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
            if response.status_code == 429:
                raise GatewayRateLimited(message, retry_after=self._rate_limit_wait(response), error_code=error_code)
            error_class = GatewayRejected if response.status_code < 500 else GatewayUnavailable
            raise error_class(message, error_code=error_code, http_status=response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise GatewayError(
                "Xendit answered with a body that is not JSON", error_code="UNEXPECTED_RESPONSE"
            ) from exc

    @staticmethod
    def _rate_limit_wait(response: requests.Response) -> float:
        """Seconds until Xendit takes calls again: `Rate-Limit-Reset` is the seconds left in its
        window (a decimal, xendit.md §12); `Retry-After` is honoured if it is ever sent."""
        for header in ("Rate-Limit-Reset", "Retry-After"):
            try:
                wait = float(response.headers.get(header, ""))
            except ValueError:
                continue
            if 0 <= wait < 24 * 3600:
                return wait
        return DEFAULT_RATE_LIMIT_WAIT

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
