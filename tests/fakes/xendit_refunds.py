"""QR refunds and webhooks of the fake Xendit (tests/fakes/xendit.py), after reference/xendit.md §11.

`RefundsMixin` is mixed into the `FakeXendit` dataclass, which declares the state it uses (`refunds`,
`payments_by_id`, `idempotency_keys`, the steering attributes...). The HTTP routing stays in xendit.py:
the methods here take plain values and answer `(status, body)`.
"""

import contextlib
import copy
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

API_VERSION = "2022-07-31"
REFUNDABLE_PAYMENT_STATUSES = {"SUCCEEDED", "COMPLETED"}
DEFAULT_REFUND_FAILURE = "INSUFFICIENT_BALANCE"  # settle_refund(status="FAILED") without a code of its own

MESSAGES = {
    "MAXIMUM_REFUND_AMOUNT_REACHED": "Requested refund amount cannot exceed remaining unrefunded amount of the "
    "original payment",
    "PARTIAL_REFUND_NOT_SUPPORTED": "Partial refund feature is not available as the method is not supported for "
    "this specific issuer",
    "REFUND_NOT_SUPPORTED": "Refund feature is not available as the method is not provided by the QR partner or not "
    "supported for this specific issuer",
    "REFUND_IN_PROGRESS": "Concurrent full refund requests to a single QR payment transaction is not allowed. Please "
    "wait for the pending full refund request to be completed before initiating a new one",
    "INELIGIBLE_TRANSACTION": 'Requested refund transaction cannot be processed as the transaction is in "FAILED", '
    '"PENDING", or "VOIDED" status',
}
# Xendit's test-mode refund amounts (§11.5): refused at once...
REFUND_ERROR_AMOUNTS = {
    10300: (400, "MAXIMUM_REFUND_AMOUNT_REACHED"),
    10301: (400, "PARTIAL_REFUND_NOT_SUPPORTED"),
    10303: (400, "REFUND_NOT_SUPPORTED"),
    10304: (400, "REFUND_IN_PROGRESS"),
    10305: (403, "INELIGIBLE_TRANSACTION"),
}
# ...or accepted PENDING, then failing with this code when settled.
REFUND_FAILURE_AMOUNTS = {20300: "INELIGIBLE_TRANSACTION", 20301: "INSUFFICIENT_BALANCE"}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error(status: int, code: str, message: str | None = None) -> tuple[int, dict]:
    return status, {"error_code": code, "message": message or MESSAGES[code]}


class RefundsMixin:
    # --- the API (called by the HTTP handler) ------------------------------------------------
    def create_refund(self, qrpy_id: str, raw_body: bytes, idempotency_key: str | None) -> tuple[int, dict]:
        """POST /qr_codes/payments/{qrpy_id}/refunds. An empty body counts as `{}` (a full refund)."""
        try:
            request = json.loads(raw_body) if raw_body.strip() else {}
        except ValueError:
            return error(400, "API_VALIDATION_ERROR", "Body is not JSON")
        if not isinstance(request, dict):
            return error(400, "API_VALIDATION_ERROR", "Body must be a JSON object")
        requested = request.get("amount")
        # Only an absent `amount` means "what is left": null, 0, 1.5, "100" and true are refused.
        if "amount" in request and (type(requested) is not int or requested < 1):
            return error(400, "API_VALIDATION_ERROR", "amount must be a positive integer")
        reason = request.get("reason")
        if "reason" in request and not isinstance(reason, str):
            return error(400, "API_VALIDATION_ERROR", "reason must be a string")
        fingerprint = (qrpy_id, json.dumps(request, sort_keys=True))
        use_key = bool(idempotency_key) and self.honour_idempotency_key
        with self.lock:
            if use_key and idempotency_key in self.idempotency_keys:
                known_fingerprint, refund_id = self.idempotency_keys[idempotency_key]
                if known_fingerprint != fingerprint:
                    return error(409, "IDEMPOTENCY_ERROR", "Idempotency key was used with a different request")
                return 200, dict(self.refunds[refund_id])  # the same refund again, in its current state
            payment = self.payments_by_id.get(qrpy_id)
            if payment is None:
                return error(404, "DATA_NOT_FOUND", "QR payment not found")
            left = self._left_to_refund(payment)
            amount = left if requested is None else requested
            if amount in REFUND_ERROR_AMOUNTS:
                return error(*REFUND_ERROR_AMOUNTS[amount])
            if payment["status"] not in REFUNDABLE_PAYMENT_STATUSES:
                return error(403, "INELIGIBLE_TRANSACTION")
            if (payment.get("payment_detail") or {}).get("source") in self.non_refundable_sources:
                return error(400, "REFUND_NOT_SUPPORTED")
            if any(r["status"] == "PENDING" and r["refund_amount"] == payment["amount"] for r in self._of(payment)):
                return error(400, "REFUND_IN_PROGRESS")
            if not 1 <= amount <= left:
                return error(400, "MAXIMUM_REFUND_AMOUNT_REACHED")
            refund = self._add_refund(payment, amount, reason, "PENDING")
            paid_at = datetime.fromisoformat(payment["created"])
            too_old = datetime.now(UTC) - paid_at > self.refund_window
            failure = REFUND_FAILURE_AMOUNTS.get(amount) or ("INELIGIBLE_TRANSACTION" if too_old else None)
            if failure:
                self._planned_failures[refund["id"]] = failure
            if use_key:
                self.idempotency_keys[idempotency_key] = (fingerprint, refund["id"])
            answer = dict(refund)
        if self.auto_settle:
            threading.Thread(target=self._settle_later, args=(refund["id"],), daemon=True).start()
        return 200, answer

    def list_refunds(self, qrpy_id: str) -> tuple[int, dict]:
        with self.lock:
            payment = self.payments_by_id.get(qrpy_id)
            if payment is None:
                return error(404, "DATA_NOT_FOUND", "QR payment not found")
            return 200, {"data": [dict(r) for r in self._of(payment)], "has_more": False}

    def get_refund(self, qrpy_id: str, refund_id: str) -> tuple[int, dict]:
        with self.lock:
            refund = self.refunds.get(refund_id)
            if refund is None or refund["qrpy_id"] != qrpy_id:
                return error(404, "DATA_NOT_FOUND", "QR refund not found")
            return 200, dict(refund)

    # --- steering from tests ------------------------------------------------------------------
    def settle_refund(self, refund_id: str, status: str | None = None, failure_code: str | None = None) -> dict:
        """Xendit finishes a PENDING refund: answer (and deliver, with `webhook_url`) its `qr.refund` webhook.

        `status` None: FAILED with the planned failure (amounts 20300/20301, a payment older than
        `refund_window`), else SUCCEEDED. FAILED without `failure_code`: the planned failure, else
        INSUFFICIENT_BALANCE.
        """
        with self.lock:
            refund = self.refunds[refund_id]
            if refund["status"] != "PENDING":
                raise ValueError(f"refund {refund_id} is {refund['status']}, not PENDING")
            planned = self._planned_failures.get(refund_id)
            if status is None:
                status = "FAILED" if planned else "SUCCEEDED"
            if status not in {"SUCCEEDED", "FAILED"}:
                raise ValueError(f"a refund settles as SUCCEEDED or FAILED, not {status}")
            if status == "SUCCEEDED" and failure_code:
                raise ValueError("a SUCCEEDED refund has no failure code")
            now = iso(datetime.now(UTC))
            refund.update(
                status=status,
                failure_code=(failure_code or planned or DEFAULT_REFUND_FAILURE) if status == "FAILED" else None,
                updated=now,
                refunded_at=now if status == "SUCCEEDED" else None,
            )
            body = self._refund_event(refund)
        self.deliver_webhook(body)
        return body

    def refund_webhook(self, refund_id: str) -> dict:
        """The `qr.refund` webhook body for the refund as it is now (the same body again: a duplicate)."""
        with self.lock:
            return self._refund_event(self.refunds[refund_id])

    def refund_outside(self, qrpy_id: str, amount: int | None = None) -> dict:
        """A refund made in Xendit's Dashboard: already SUCCEEDED; answers (and delivers) its webhook."""
        with self.lock:
            payment = self.payments_by_id[qrpy_id]
            left = self._left_to_refund(payment)
            amount = left if amount is None else amount
            if not 1 <= amount <= left:
                raise ValueError(f"cannot refund {amount}: {left} left of payment {qrpy_id}")
            body = self._refund_event(self._add_refund(payment, amount, None, "SUCCEEDED"))
        self.deliver_webhook(body)
        return body

    def payment_webhook(self, payment: dict) -> dict:
        """The 2022-07-31 `qr.payment` webhook body for a payment (§4.2)."""
        return {
            "event": "qr.payment",
            "api_version": API_VERSION,
            "business_id": payment.get("business_id", self.business_id),
            "created": payment["created"],
            "data": copy.deepcopy(payment),
        }

    def deliver_webhook(self, body: dict) -> int | None:
        """POST a webhook body to `webhook_url` as Xendit would; record and answer the HTTP status.

        None when there is no `webhook_url` (nothing sent, nothing recorded) or the URL did not answer.
        No retries: send `refund_webhook(...)` again to act a retry or a duplicate.
        """
        if not self.webhook_url:
            return None
        request = urllib.request.Request(  # noqa: S310 (the test's own http:// URL)
            self.webhook_url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "x-callback-token": self.callback_token,
                "webhook-id": str(uuid.uuid4()),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as refused:
            status = refused.code
            refused.close()
        except OSError:  # refused connection, timeout
            status = None
        with self.lock:
            self.webhook_deliveries.append((body, status))
        return status

    # --- helpers (the caller holds the lock) ------------------------------------------------------
    def _of(self, payment: dict) -> list[dict]:
        return [r for r in self.refunds.values() if r["qrpy_id"] == payment["id"]]

    def _left_to_refund(self, payment: dict) -> int:
        # Pending refunds count as used; failed ones give their amount back.
        return payment["amount"] - sum(r["refund_amount"] for r in self._of(payment) if r["status"] != "FAILED")

    def _add_refund(self, payment: dict, amount: int, reason: str | None, status: str) -> dict:
        now = iso(datetime.now(UTC))
        refund = {
            "id": f"qrrf_{uuid.uuid4()}",
            "qrpy_id": payment["id"],
            "status": status,
            "currency": payment.get("currency", "IDR"),
            "payment_amount": payment["amount"],
            "refund_amount": amount,
            "channel_code": payment.get("channel_code", "ID_DANA"),
            "reason": reason,
            "failure_code": None,
            "created": now,
            "updated": now,
            "refunded_at": now if status == "SUCCEEDED" else None,
        }
        self.refunds[refund["id"]] = refund
        return refund

    def _refund_event(self, refund: dict) -> dict:
        # `created` is the refund's last change, so that the same state always gives the same body.
        envelope = {"event": "qr.refund", "api_version": API_VERSION, "business_id": self.business_id}
        return {**envelope, "created": refund["updated"], "data": dict(refund)}

    def _settle_later(self, refund_id: str) -> None:
        time.sleep(self.webhook_delay)
        # auto_settle "SUCCEEDED" still lets a planned failure (20300, too old) fail; ValueError: the test settled it.
        with contextlib.suppress(ValueError):
            self.settle_refund(refund_id, status=None if self.auto_settle == "SUCCEEDED" else self.auto_settle)
