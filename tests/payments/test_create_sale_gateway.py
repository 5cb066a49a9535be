"""POST /api/v1/transactions with the real XenditClient talking to the fake Xendit."""

import socket

import pytest

from payments.models import Sale, SaleStatus
from tests.support.webhooks import post_webhook, webhook_fixture

pytestmark = pytest.mark.django_db

REJECTED = "Payment gateway rejected the request"
UNAVAILABLE = "Payment gateway unavailable"


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def create_sale(api, request: dict, price=None):
    body = dict(request, price_id=str(price.pk)) if price is not None else request
    return api.post("/api/v1/transactions", body, format="json")


def envelope(message: str, details: dict | None = None) -> dict:
    return {"success": False, "message": message, "details": details or {}}


def test_sale_gets_the_qr_code_xendit_made(api, sale_request, price, fake_xendit):
    response = create_sale(api, sale_request)

    assert response.status_code == 201
    data = response.json()["data"]
    sale = Sale.objects.get(external_id=data["external_id"])
    assert sale.status == SaleStatus.PENDING
    assert sale.xendit_qr_id in fake_xendit.qr_codes
    assert data["qr_string"] == fake_xendit.qr_codes[sale.xendit_qr_id]["qr_string"]
    assert sale.qr_string == data["qr_string"]
    [request] = fake_xendit.requests
    assert request.json()["reference_id"] == sale.external_id
    assert request.json()["amount"] == int(price.amount) == 40000


def test_sale_of_a_price_xendit_refuses_fails_with_502_and_frees_the_quota(api, sale_request, make_price, fake_xendit):
    refused_price = make_price(10100, quota=1)  # Xendit test mode: CHANNEL_NOT_ACTIVATED

    response = create_sale(api, sale_request, refused_price)

    assert response.status_code == 502
    assert response.json() == envelope(REJECTED, {"error_code": "CHANNEL_NOT_ACTIVATED"})
    sale = Sale.objects.get(price=refused_price)
    assert sale.status == SaleStatus.FAILED
    assert sale.xendit_qr_id == ""

    # The failed sale does not use up the only unit: the next attempt reaches Xendit again
    # instead of being told the quota is exhausted.
    again = create_sale(api, sale_request, refused_price)
    assert again.status_code == 502
    assert again.json()["message"] == REJECTED
    assert len(fake_xendit.requests) == 2


@pytest.mark.parametrize("amount", [10101, 10102], ids=["channel-unavailable", "server-error"])
def test_sale_when_xendit_fails_on_its_side_answers_503_and_is_failed(
    api, sale_request, make_price, fake_xendit, amount
):
    failing_price = make_price(amount, quota=1)

    response = create_sale(api, sale_request, failing_price)

    assert response.status_code == 503
    assert response.json() == envelope(UNAVAILABLE)
    assert Sale.objects.get(price=failing_price).status == SaleStatus.FAILED
    again = create_sale(api, sale_request, failing_price)
    assert again.status_code == 503  # not 422: the failed sale freed the quota


def test_sale_with_a_wrong_api_key_is_reported_as_rejected(api, sale_request, fake_xendit, settings):
    settings.XENDIT_API_KEY = "xnd_development_not_ours"

    response = create_sale(api, sale_request)

    assert response.status_code == 502
    assert response.json() == envelope(REJECTED, {"error_code": "INVALID_API_KEY"})
    assert Sale.objects.get().status == SaleStatus.FAILED


def test_sale_when_xendit_is_unreachable_answers_503_and_is_failed(api, sale_request, make_price, settings):
    settings.PAYMENT_GATEWAY = "xendit"
    settings.XENDIT_API_KEY = "xnd_development_unreachable"
    settings.XENDIT_API_URL = closed_port_url()
    single = make_price(40000, quota=1)

    response = create_sale(api, sale_request, single)

    assert response.status_code == 503
    assert response.json() == envelope(UNAVAILABLE)
    assert Sale.objects.get(price=single).status == SaleStatus.FAILED
    assert create_sale(api, sale_request, single).status_code == 503  # quota still free


def test_sale_whose_qr_request_timed_out_fails_and_frees_the_quota_at_once(api, sale_request, make_price, fake_xendit):
    single = make_price(40000, quota=1)
    fake_xendit.delay = 1.5  # the fixture's read timeout is 1 s

    response = create_sale(api, sale_request, single)

    assert response.status_code == 503
    assert response.json() == envelope(UNAVAILABLE)
    # Nobody can pay a QR code whose string never reached the kiosk: the retry may sell at once.
    assert Sale.objects.get(price=single).status == SaleStatus.FAILED
    assert len(fake_xendit.requests) == 1  # the create was not resent

    fake_xendit.delay = 0
    assert create_sale(api, sale_request, single).status_code == 201


def test_sale_whose_qr_request_timed_out_is_completed_by_a_late_payment(api, sale_request, fake_xendit):
    fake_xendit.delay = 1.5

    assert create_sale(api, sale_request).status_code == 503
    sale = Sale.objects.get()

    webhook = webhook_fixture(
        "qr_payment_2022.json", payment_id="qrpy_late-1", amount=40000, qr_id="qr_unknown", external_id=sale.external_id
    )
    assert post_webhook(api, webhook).status_code == 200

    sale.refresh_from_db()
    assert sale.status == SaleStatus.COMPLETED
    assert sale.xendit_payment_id == "qrpy_late-1"
    assert sale.needs_review
