"""A stand-in for Xendit in the demo and in tests: valid-looking QRIS strings, no network.

Payments are triggered by staff (admin action), `manage.py simulate_payment`, or the DEBUG-only
HTTP endpoint; refunds are requested like real ones and settled by a simulated refund webhook
(the admin, or `manage.py simulate_refund`). Both reach the sale through the same services as
Xendit's notices, as notices: nothing is turned into JSON to be parsed again. The JSON kept with
each notice is what Xendit's webhook would have said, stored with the event for staff to read.
"""

import json
import secrets
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from payments.gateways.base import PaymentNotice, QrCode, RefundNotice
from payments.gateways.qris import dynamic_qris


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class SimulatorGateway:
    name = "simulator"
    # Simulated payments and refunds are applied directly; there is nothing a check could find.
    reconciles = False

    def create_qr_code(self, *, reference_id: str, amount: Decimal, expires_at: datetime) -> QrCode:
        qr_id = f"qr_sim_{uuid.uuid4()}"
        return QrCode(
            id=qr_id,
            reference_id=reference_id,
            qr_string=dynamic_qris(
                amount=int(amount), reference=reference_id, merchant_name="PHOTOBOX SIMULATOR", merchant_city="JAKARTA"
            ),
            amount=amount,
            status="ACTIVE",
            expires_at=expires_at,
        )

    def list_payments(self, qr_id: str) -> list[PaymentNotice]:
        return []

    def create_refund(self, *, payment_id: str, amount: Decimal, reason: str, idempotency_key: str) -> RefundNotice:
        # Like Xendit: accepted as PENDING, settled later by the (simulated) refund webhook.
        return RefundNotice(
            refund_id=f"qrrf_sim_{uuid.uuid4()}", payment_id=payment_id, status="PENDING", amount=amount
        )

    def get_refund(self, *, payment_id: str, refund_id: str) -> RefundNotice:
        raise NotImplementedError("The simulator keeps no refunds: settle them with a simulated refund webhook")

    def list_refunds(self, *, payment_id: str) -> list[RefundNotice]:
        return []

    # --- What the simulator's customer and Xendit do --------------------------------------------
    @staticmethod
    def payment(*, reference: str, qr_id: str, amount: Decimal, now: datetime) -> PaymentNotice:
        """A customer pays the QR code: the notice Xendit's `qr.payment` webhook would bring."""
        payment_id, receipt = f"qrpy_sim_{uuid.uuid4()}", secrets.token_hex(6)
        data = {
            "id": payment_id,
            "currency": "IDR",
            "amount": int(amount),
            "status": "SUCCEEDED",
            "created": _iso(now),
            "qr_id": qr_id,
            "reference_id": reference,
            "type": "DYNAMIC",
            "channel_code": "SIMULATOR",
            "payment_detail": {"receipt_id": receipt, "source": "SIMULATOR"},
        }
        return PaymentNotice(
            shape="simulator",
            event="qr.payment",
            reference=reference,
            qr_id=qr_id,
            payment_id=payment_id,
            status="COMPLETED",
            amount=Decimal(int(amount)),
            currency="IDR",
            paid_at=now,
            channel="SIMULATOR",
            receipt_id=receipt,
            wire=json.dumps({"event": "qr.payment", "api_version": "2022-07-31", "data": data}),
        )

    @staticmethod
    def refund_result(
        *, refund_id: str, payment_id: str, amount: Decimal, succeeded: bool, failure_code: str, now: datetime
    ) -> RefundNotice:
        """Xendit settles a refund: the notice its `qr.refund` webhook would bring."""
        status = "SUCCEEDED" if succeeded else "FAILED"
        code = "" if succeeded else failure_code
        data = {
            "id": refund_id,
            "qrpy_id": payment_id,
            "status": status,
            "currency": "IDR",
            "refund_amount": int(amount),
            "channel_code": "SIMULATOR",
            "failure_code": code or None,
            "updated": _iso(now),
            "refunded_at": _iso(now) if succeeded else None,
        }
        return RefundNotice(
            refund_id=refund_id,
            payment_id=payment_id,
            status=status,
            amount=amount,
            failure_code=code,
            refunded_at=now if succeeded else None,
            event="qr.refund",
            wire=json.dumps({"event": "qr.refund", "api_version": "2022-07-31", "data": data}),
        )
