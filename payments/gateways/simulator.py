"""A stand-in for Xendit in the demo and in tests: valid-looking QRIS strings, no network.

Payments are triggered by staff (admin action), `manage.py simulate_payment`, or the DEBUG-only
HTTP endpoint, and reach the sale through the same service as a real webhook.
"""

import uuid
from datetime import datetime
from decimal import Decimal

from payments.gateways.base import QrCode, QrPayment
from payments.gateways.qris import dynamic_qris


class SimulatorGateway:
    name = "simulator"
    # Simulated payments are applied directly; there is nothing a reconciliation could find.
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

    def get_qr_code(self, qr_id: str) -> QrCode:
        raise NotImplementedError("The simulator keeps no QR codes")

    def list_payments(self, qr_id: str) -> list[QrPayment]:
        return []
