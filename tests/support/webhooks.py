"""Xendit's callbacks as the tests post them: real payloads from tests/fixtures/webhooks, sent
with the callback token the test settings expect."""

import json
from pathlib import Path

from rest_framework.test import APIClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# XENDIT_CALLBACK_TOKEN in tests/settings.py, and the fake Xendit's default (tests/fakes/xendit.py).
CALLBACK_TOKEN = "test-callback-token-0123456789abcdef"


def webhook_fixture(name: str, **replace) -> dict:
    """A webhook body from tests/fixtures/webhooks, with placeholders filled in."""
    text = (FIXTURES / "webhooks" / name).read_text()
    for key, value in replace.items():
        text = text.replace("{{" + key + "}}", str(value))
    return json.loads(text)


def post_webhook(api: APIClient, body, *, token: str | None = CALLBACK_TOKEN, **headers):
    """POST `body` (a dict, or bytes/str sent as they are) to the webhook, with the callback token
    unless `token` says otherwise (None: no token header at all)."""
    if token is not None:
        headers["HTTP_X_CALLBACK_TOKEN"] = token
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return api.post("/api/v1/webhooks/xendit", data=data, content_type="application/json", **headers)


def payment_webhook(sale, payment_id: str | None = None) -> dict:
    """Xendit's 2022-07-31 `qr.payment` callback paying `sale` in full (payment id `qrpy_<sale pk>`
    unless given)."""
    return webhook_fixture(
        "qr_payment_2022.json",
        payment_id=payment_id or f"qrpy_{sale.pk}",
        amount=int(sale.amount),
        qr_id=sale.xendit_qr_id,
        external_id=sale.external_id,
    )
