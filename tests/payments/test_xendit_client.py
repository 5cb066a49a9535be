"""The real XenditClient over real HTTP against the fake Xendit (reference/xendit.md)."""

import base64
import json
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from payments.gateways import GatewayError, GatewayRejected, GatewayTimeout, GatewayUnavailable, PaymentNotice, QrCode
from payments.gateways.xendit import XenditClient
from tests.fakes.xendit import FakeXenditServer

JAKARTA = ZoneInfo("Asia/Jakarta")
EXPIRES_AT = datetime(2030, 5, 9, 15, 15, tzinfo=JAKARTA)  # 08:15 UTC


@pytest.fixture
def server():
    server = FakeXenditServer()
    with server:
        yield server


@pytest.fixture
def fake(server):
    return server.fake


def make_client(base_url: str, *, api_key: str = "xnd_development_fake", read_timeout: float = 2.0) -> XenditClient:
    return XenditClient(base_url=base_url, api_key=api_key, connect_timeout=1.0, read_timeout=read_timeout)


@pytest.fixture
def client(server):
    return make_client(server.url, api_key=server.fake.api_key)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def header(request, name: str) -> str | None:
    return next((value for key, value in request.headers.items() if key.lower() == name.lower()), None)


def create(client: XenditClient, amount="35000", reference_id: str = "TRX-1-20300509151500-ABCDEF01") -> QrCode:
    return client.create_qr_code(reference_id=reference_id, amount=Decimal(amount), expires_at=EXPIRES_AT)


# --- Creating a QR code ---------------------------------------------------------------------
def test_create_authenticates_with_the_api_key_as_basic_user_and_an_empty_password(client, fake):
    create(client)

    [request] = fake.requests
    scheme, _, credentials = header(request, "Authorization").partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"{fake.api_key}:"


def test_create_asks_for_api_version_2022_07_31_with_a_json_body(client, fake):
    create(client)

    [request] = fake.requests
    assert request.method == "POST"
    assert request.path == "/qr_codes"
    assert header(request, "api-version") == "2022-07-31"
    assert header(request, "Content-Type") == "application/json"


def test_create_sends_a_dynamic_idr_qr_with_an_integer_amount_and_a_utc_expiry(client, fake):
    create(client, amount="35000.00", reference_id="TRX-7-20300509151500-0A1B2C3D")

    body = fake.requests[0].json()
    assert body == {
        "reference_id": "TRX-7-20300509151500-0A1B2C3D",
        "type": "DYNAMIC",
        "currency": "IDR",
        "amount": 35000,
        "expires_at": "2030-05-09T08:15:00Z",
    }
    assert type(body["amount"]) is int
    assert "callback_url" not in body


def test_create_returns_the_qr_code_xendit_made(client, fake):
    qr = create(client, amount="35000", reference_id="TRX-1-20300509151500-ABCDEF01")

    stored = fake.qr_codes[qr.id]
    assert isinstance(qr, QrCode)
    assert qr.id.startswith("qr_")
    assert qr.reference_id == "TRX-1-20300509151500-ABCDEF01"
    assert qr.qr_string == stored["qr_string"]
    assert qr.amount == Decimal(35000)
    assert qr.status == "ACTIVE"
    assert qr.expires_at == EXPIRES_AT


def test_channel_not_activated_amount_is_a_rejection(client, fake):
    with pytest.raises(GatewayRejected) as raised:
        create(client, amount="10100")

    assert raised.value.error_code == "CHANNEL_NOT_ACTIVATED"
    assert raised.value.http_status == 403
    assert fake.qr_codes == {}


@pytest.mark.parametrize(
    ("amount", "error_code", "http_status"),
    [("10101", "CHANNEL_UNAVAILABLE", 503), ("10102", "SERVER_ERROR", 500)],
)
def test_xendit_side_failures_make_the_gateway_unavailable_and_are_not_retried(
    client, fake, amount, error_code, http_status
):
    with pytest.raises(GatewayUnavailable) as raised:
        create(client, amount=amount)

    assert not isinstance(raised.value, GatewayRejected | GatewayTimeout)
    assert raised.value.error_code == error_code
    assert raised.value.http_status == http_status
    assert len(fake.requests) == 1


def test_validation_error_is_a_rejection_carrying_xendits_code(client, fake):
    with pytest.raises(GatewayRejected) as raised:
        create(client, amount="20000000")  # above the QRIS maximum of Rp 10.000.000

    assert raised.value.error_code == "API_VALIDATION_ERROR"
    assert raised.value.http_status == 400
    assert "10000000" in str(raised.value)


def test_wrong_api_key_is_a_rejection(server, fake):
    client = make_client(server.url, api_key="xnd_development_not_ours")

    with pytest.raises(GatewayRejected) as raised:
        create(client)

    assert raised.value.error_code == "INVALID_API_KEY"
    assert raised.value.http_status == 401
    assert fake.qr_codes == {}


def test_create_that_times_out_is_reported_as_a_timeout_and_never_resent(server, fake):
    client = make_client(server.url, read_timeout=0.3)
    fake.delay = 0.8

    with pytest.raises(GatewayTimeout):
        create(client)

    # Xendit may have created the QR code: sending the POST again could make a second one.
    assert len(fake.requests) == 1


def test_create_on_a_closed_port_is_unavailable_not_a_timeout():
    client = make_client(closed_port_url())

    with pytest.raises(GatewayUnavailable) as raised:
        create(client)

    assert not isinstance(raised.value, GatewayTimeout)


def test_create_answered_503_by_a_proxy_is_not_retried(client, fake):
    fake.fail_next = [(503, {"error_code": "CHANNEL_UNAVAILABLE", "message": "try later"})]

    with pytest.raises(GatewayUnavailable) as raised:
        create(client)

    assert raised.value.error_code == "CHANNEL_UNAVAILABLE"
    assert len(fake.requests) == 1
    assert fake.qr_codes == {}


def test_create_answered_by_an_html_error_page_is_unavailable(client, fake):
    fake.fail_next = [(502, b"<html><body>502 Bad Gateway</body></html>")]

    with pytest.raises(GatewayUnavailable) as raised:
        create(client)

    assert raised.value.error_code == "HTTP_502"
    assert raised.value.http_status == 502
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"<html>OK</html>", id="not-json"),
        pytest.param(b'{"id": "qr_trunc', id="truncated-json"),
        pytest.param(["a", "list"], id="json-list"),
        pytest.param({"id": "qr_123", "status": "ACTIVE"}, id="no-qr-string"),
    ],
)
def test_create_answered_200_with_garbage_is_a_gateway_error(client, fake, answer):
    fake.fail_next = [(200, answer)]

    with pytest.raises(GatewayError) as raised:
        create(client)

    assert raised.value.error_code == "UNEXPECTED_RESPONSE"


# --- Reading QR codes and their payments ----------------------------------------------------
def test_list_payments_asks_with_get_and_the_api_version(client, fake):
    created = create(client)

    client.list_payments(created.id)

    assert fake.requests[-1].method == "GET"
    assert fake.requests[-1].path == f"/qr_codes/{created.id}/payments"
    assert header(fake.requests[-1], "api-version") == "2022-07-31"


def test_payments_of_an_unknown_qr_code_are_a_rejection(client):
    with pytest.raises(GatewayRejected) as raised:
        client.list_payments("qr_does-not-exist")

    assert raised.value.error_code == "DATA_NOT_FOUND"
    assert raised.value.http_status == 404


def test_list_payments_of_an_unpaid_qr_code_is_empty(client):
    qr = create(client)

    assert client.list_payments(qr.id) == []


def test_list_payments_reports_a_succeeded_payment_as_completed(client, fake):
    qr = create(client, amount="35000", reference_id="TRX-1-20300509151500-ABCDEF01")
    paid = fake.pay(qr.id)

    [payment] = client.list_payments(qr.id)

    assert isinstance(payment, PaymentNotice)
    assert payment.payment_id == paid["id"]
    assert payment.payment_id.startswith("qrpy_")
    assert payment.qr_id == qr.id
    assert payment.reference == "TRX-1-20300509151500-ABCDEF01"
    assert payment.amount == Decimal(35000)
    assert payment.currency == "IDR"
    assert payment.status == "COMPLETED"
    assert payment.channel == "DANA"
    assert payment.receipt_id == "000111666"
    assert payment.paid_at is not None
    assert abs(payment.paid_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert json.loads(payment.wire) == paid  # kept as received, for the stored event
    assert fake.requests[-1].path == f"/qr_codes/{qr.id}/payments"


def test_list_payments_accepts_a_bare_list(client, fake):
    qr = create(client)
    paid = fake.pay(qr.id)
    fake.fail_next = [(200, [paid])]

    [payment] = client.list_payments(qr.id)

    assert payment.payment_id == paid["id"]
    assert payment.status == "COMPLETED"


def test_list_payments_with_a_malformed_list_is_a_gateway_error(client, fake):
    qr = create(client)
    fake.fail_next = [(200, {"data": "not a list"})]

    with pytest.raises(GatewayError) as raised:
        client.list_payments(qr.id)

    assert raised.value.error_code == "UNEXPECTED_RESPONSE"


def test_list_payments_answered_with_non_json_is_a_gateway_error(client, fake):
    qr = create(client)
    fake.fail_next = [(200, b"<html>maintenance</html>")]

    with pytest.raises(GatewayError):
        client.list_payments(qr.id)


def test_get_is_retried_once_after_a_503_and_succeeds(client, fake):
    qr = create(client)
    fake.pay(qr.id)
    fake.requests.clear()
    fake.fail_next = [(503, {"error_code": "SERVER_ERROR", "message": "blip"})]

    payments = client.list_payments(qr.id)

    assert [p.status for p in payments] == ["COMPLETED"]
    assert [r.method for r in fake.requests] == ["GET", "GET"]


def test_get_gives_up_after_one_retry(client, fake):
    qr = create(client)
    fake.requests.clear()
    fake.fail_next = [(503, {"error_code": "SERVER_ERROR", "message": "down"})] * 3

    with pytest.raises(GatewayUnavailable) as raised:
        client.list_payments(qr.id)

    assert raised.value.http_status == 503
    assert len(fake.requests) == 2


def test_get_that_times_out_is_retried_once_then_reported_as_a_timeout(server, fake):
    client = make_client(server.url, read_timeout=0.3)
    fake.delay = 0.6

    with pytest.raises(GatewayUnavailable) as raised:
        client.list_payments("qr_slow")

    # Reading is safe to repeat: one retry, then give up.
    assert len(fake.requests) == 2
    assert isinstance(raised.value, GatewayTimeout), (
        "APP BUG (payments/gateways/xendit.py, XenditClient._request): once urllib3 has retried a GET "
        "read timeout, requests raises ConnectionError(MaxRetryError(ReadTimeoutError)), which the client "
        f"reports as {type(raised.value).__name__}({str(raised.value)!r}) instead of GatewayTimeout"
    )


def test_get_on_a_closed_port_is_unavailable():
    client = make_client(closed_port_url())

    with pytest.raises(GatewayUnavailable) as raised:
        client.list_payments("qr_anything")

    assert not isinstance(raised.value, GatewayTimeout)
