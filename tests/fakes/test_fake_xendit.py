"""The fake Xendit's refunds, webhooks and rate limits (tests/fakes/xendit.py), over real HTTP.

No database: these tests talk to the fake with `requests` only.
"""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.fakes.xendit import FakeXendit, FakeXenditServer, iso

REFUND_FIELDS = {
    "id",
    "qrpy_id",
    "status",
    "currency",
    "payment_amount",
    "refund_amount",
    "channel_code",
    "reason",
    "failure_code",
    "created",
    "updated",
    "refunded_at",
}


class Xendit:
    """The fake plus a `requests` session speaking to it as the kiosk backend would."""

    def __init__(self, fake: FakeXendit, url: str) -> None:
        self.fake, self.url = fake, url
        self.session = requests.Session()
        self.session.auth = (fake.api_key, "")
        self.session.headers["api-version"] = "2022-07-31"

    def post(self, path: str, body=None, **headers) -> requests.Response:
        return self.session.post(self.url + path, json=body, headers=headers, timeout=5)

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.url + path, timeout=5)

    def paid(self, amount: int = 35000, **pay) -> dict:
        """A QR code created through the API and paid."""
        qr = self.post("/qr_codes", {"reference_id": "TRX-1", "type": "DYNAMIC", "currency": "IDR", "amount": amount})
        assert qr.status_code == 200
        return self.fake.pay(qr.json()["id"], **pay)

    def refund(self, payment: dict, body=None, **headers) -> requests.Response:
        return self.post(f"/qr_codes/payments/{payment['id']}/refunds", {} if body is None else body, **headers)


@pytest.fixture
def xendit():
    server = FakeXenditServer()
    with server as fake:
        yield Xendit(fake, server.url)


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.headers, json.loads(body)))  # headers: case-insensitive
        self.send_response(self.server.answer)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def receiver():
    """A tiny webhook endpoint on 127.0.0.1: `received` [(headers, body)], answers `answer`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received, server.answer = [], 200
    server.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/xendit"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def error_code(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error_code"]


# --- payments --------------------------------------------------------------------------------
def test_pay_defaults_to_a_dana_payer_and_indexes_the_payment_by_id(xendit):
    payment = xendit.paid()

    assert payment["payment_detail"]["source"] == "DANA"
    assert payment["status"] == "SUCCEEDED"
    assert xendit.fake.payments_by_id[payment["id"]] is payment
    assert xendit.fake.payments[payment["qr_id"]] == [payment]


def test_pay_takes_the_issuer_and_status(xendit):
    payment = xendit.paid(source="OVO", status="FAILED", amount=1000)

    assert (payment["payment_detail"]["source"], payment["status"], payment["amount"]) == ("OVO", "FAILED", 1000)


def test_payment_webhook_is_the_2022_envelope(xendit):
    payment = xendit.paid()

    body = xendit.fake.payment_webhook(payment)

    assert body["event"] == "qr.payment"
    assert body["api_version"] == "2022-07-31"
    assert body["business_id"] == "fakebusiness"
    assert body["created"] == payment["created"]
    assert body["data"] == payment
    assert body["data"] is not payment


# --- create, get, list -----------------------------------------------------------------------
def test_refund_is_pending_and_can_be_read_back(xendit):
    payment = xendit.paid(35000)

    response = xendit.refund(payment, {"amount": 15000, "reason": "REQUESTED_BY_CUSTOMER"})

    assert response.status_code == 200
    refund = response.json()
    assert set(refund) == REFUND_FIELDS
    assert refund["id"].startswith("qrrf_")
    assert refund["qrpy_id"] == payment["id"]
    assert (refund["status"], refund["currency"], refund["channel_code"]) == ("PENDING", "IDR", "ID_DANA")
    assert (refund["payment_amount"], refund["refund_amount"]) == (35000, 15000)
    assert refund["reason"] == "REQUESTED_BY_CUSTOMER"
    assert refund["failure_code"] is None
    assert refund["refunded_at"] is None
    assert refund["created"] == refund["updated"]
    base = f"/qr_codes/payments/{payment['id']}/refunds"
    assert xendit.get(f"{base}/{refund['id']}").json() == refund
    assert xendit.get(base).json() == {"data": [refund], "has_more": False}


def test_refund_takes_any_api_version_or_none(xendit):
    payment = xendit.paid()
    del xendit.session.headers["api-version"]

    assert xendit.refund(payment, {"amount": 100}).status_code == 200
    assert xendit.refund(payment, {"amount": 100}, **{"api-version": "2020-07-01"}).status_code == 200


def test_unknown_payment_or_refund_is_not_found(xendit):
    payment = xendit.paid()
    refund = xendit.refund(payment, {"amount": 100}).json()
    other = xendit.paid()

    assert error_code(xendit.post("/qr_codes/payments/qrpy_nope/refunds", {})) == (404, "DATA_NOT_FOUND")
    assert error_code(xendit.get("/qr_codes/payments/qrpy_nope/refunds")) == (404, "DATA_NOT_FOUND")
    assert error_code(xendit.get(f"/qr_codes/payments/{payment['id']}/refunds/qrrf_nope")) == (404, "DATA_NOT_FOUND")
    wrong_payment = f"/qr_codes/payments/{other['id']}/refunds/{refund['id']}"
    assert error_code(xendit.get(wrong_payment)) == (404, "DATA_NOT_FOUND")


def test_refund_needs_the_api_key(xendit):
    payment = xendit.paid()
    xendit.session.auth = ("xnd_development_wrong", "")

    assert error_code(xendit.refund(payment)) == (401, "INVALID_API_KEY")
    assert xendit.fake.refunds == {}


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", True, None, [100]])
def test_amount_must_be_a_positive_integer(xendit, amount):
    payment = xendit.paid()

    assert error_code(xendit.refund(payment, {"amount": amount})) == (400, "API_VALIDATION_ERROR")
    assert xendit.fake.refunds == {}


@pytest.mark.parametrize("raw", [b"[]", b'"full"', b"{not json", b"12"])
def test_body_must_be_a_json_object(xendit, raw):
    payment = xendit.paid()
    url = f"{xendit.url}/qr_codes/payments/{payment['id']}/refunds"

    response = xendit.session.post(url, data=raw, headers={"Content-Type": "application/json"}, timeout=5)

    assert error_code(response) == (400, "API_VALIDATION_ERROR")


def test_an_empty_body_is_a_full_refund(xendit):
    payment = xendit.paid(20000)
    url = f"{xendit.url}/qr_codes/payments/{payment['id']}/refunds"

    response = xendit.session.post(url, timeout=5)

    assert response.json()["refund_amount"] == 20000


# --- amounts ---------------------------------------------------------------------------------
def test_partial_refund_then_the_rest_then_nothing_left(xendit):
    payment = xendit.paid(35000)

    first = xendit.refund(payment, {"amount": 15000}).json()
    rest = xendit.refund(payment, {"reason": "OTHERS"}).json()  # no amount: what is left

    assert (first["refund_amount"], rest["refund_amount"]) == (15000, 20000)
    assert rest["reason"] == "OTHERS"
    assert error_code(xendit.refund(payment, {"amount": 1})) == (400, "MAXIMUM_REFUND_AMOUNT_REACHED")
    assert error_code(xendit.refund(payment)) == (400, "MAXIMUM_REFUND_AMOUNT_REACHED")


def test_more_than_what_is_left_is_refused_pending_refunds_counting(xendit):
    payment = xendit.paid(35000)
    assert xendit.refund(payment, {"amount": 30000}).status_code == 200  # still PENDING

    assert error_code(xendit.refund(payment, {"amount": 5001})) == (400, "MAXIMUM_REFUND_AMOUNT_REACHED")
    assert xendit.refund(payment, {"amount": 5000}).status_code == 200
    assert error_code(xendit.refund(payment, {"amount": 40000})) == (400, "MAXIMUM_REFUND_AMOUNT_REACHED")


def test_a_failed_refund_gives_its_amount_back(xendit):
    payment = xendit.paid(35000)
    refund = xendit.refund(payment).json()
    xendit.fake.settle_refund(refund["id"], "FAILED")

    again = xendit.refund(payment)

    assert again.status_code == 200
    assert again.json()["refund_amount"] == 35000


def test_a_pending_full_refund_refuses_another(xendit):
    payment = xendit.paid(35000)
    xendit.refund(payment, {"amount": 35000})

    assert error_code(xendit.refund(payment, {"amount": 10})) == (400, "REFUND_IN_PROGRESS")
    assert error_code(xendit.refund(payment)) == (400, "REFUND_IN_PROGRESS")


def test_gopay_payments_cannot_be_refunded(xendit):
    gopay = xendit.paid(source="GOPAY")
    xendit.fake.non_refundable_sources.add("LINKAJA")
    linkaja = xendit.paid(source="LINKAJA")

    assert error_code(xendit.refund(gopay)) == (400, "REFUND_NOT_SUPPORTED")
    assert error_code(xendit.refund(linkaja)) == (400, "REFUND_NOT_SUPPORTED")
    assert xendit.refund(xendit.paid(source="OVO")).status_code == 200


@pytest.mark.parametrize("status", ["FAILED", "PENDING", "VOIDED"])
def test_only_successful_payments_can_be_refunded(xendit, status):
    payment = xendit.paid(status=status)

    assert error_code(xendit.refund(payment)) == (403, "INELIGIBLE_TRANSACTION")


def test_legacy_completed_payments_can_be_refunded(xendit):
    assert xendit.refund(xendit.paid(status="COMPLETED")).status_code == 200


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        (10300, 400, "MAXIMUM_REFUND_AMOUNT_REACHED"),
        (10301, 400, "PARTIAL_REFUND_NOT_SUPPORTED"),
        (10303, 400, "REFUND_NOT_SUPPORTED"),
        (10304, 400, "REFUND_IN_PROGRESS"),
        (10305, 403, "INELIGIBLE_TRANSACTION"),
    ],
)
def test_test_mode_error_amounts(xendit, amount, status, code):
    payment = xendit.paid(50000)

    assert error_code(xendit.refund(payment, {"amount": amount})) == (status, code)
    assert xendit.fake.refunds == {}


@pytest.mark.parametrize(("amount", "failure"), [(20300, "INELIGIBLE_TRANSACTION"), (20301, "INSUFFICIENT_BALANCE")])
def test_test_mode_amounts_accepted_then_failing(xendit, amount, failure):
    payment = xendit.paid(50000)
    refund = xendit.refund(payment, {"amount": amount}).json()
    assert refund["status"] == "PENDING"

    body = xendit.fake.settle_refund(refund["id"])

    assert (body["data"]["status"], body["data"]["failure_code"]) == ("FAILED", failure)
    assert body["data"]["refunded_at"] is None


def test_a_refund_after_the_window_is_accepted_then_fails(xendit):
    old = xendit.paid()
    old["created"] = iso(datetime.now(UTC) - timedelta(days=31))
    recent = xendit.paid()
    recent["created"] = iso(datetime.now(UTC) - timedelta(days=29))

    old_refund = xendit.refund(old).json()
    recent_refund = xendit.refund(recent).json()

    assert old_refund["status"] == "PENDING"
    assert xendit.fake.settle_refund(old_refund["id"])["data"]["failure_code"] == "INELIGIBLE_TRANSACTION"
    assert xendit.fake.settle_refund(recent_refund["id"])["data"]["status"] == "SUCCEEDED"


# --- idempotency -----------------------------------------------------------------------------
def test_same_idempotency_key_and_body_answers_the_same_refund(xendit):
    payment = xendit.paid(35000)
    body = {"amount": 35000, "reason": "CANCELLATION"}

    first = xendit.refund(payment, body, **{"idempotency-key": "refund-1"})
    again = xendit.refund(payment, body, **{"IDEMPOTENCY-KEY": "refund-1"})

    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(xendit.fake.refunds) == 1


def test_x_idempotency_key_is_understood_too(xendit):
    payment = xendit.paid()

    first = xendit.refund(payment, {"amount": 100}, **{"X-IDEMPOTENCY-KEY": "k"})
    again = xendit.refund(payment, {"amount": 100}, **{"x-idempotency-key": "k"})

    assert again.json()["id"] == first.json()["id"]


def test_same_idempotency_key_with_another_body_is_a_conflict(xendit):
    payment = xendit.paid()
    xendit.refund(payment, {"amount": 100}, **{"idempotency-key": "refund-1"})

    assert error_code(xendit.refund(payment, {"amount": 200}, **{"idempotency-key": "refund-1"})) == (
        409,
        "IDEMPOTENCY_ERROR",
    )
    other_payment = xendit.paid()
    assert error_code(xendit.refund(other_payment, {"amount": 100}, **{"idempotency-key": "refund-1"})) == (
        409,
        "IDEMPOTENCY_ERROR",
    )
    assert len(xendit.fake.refunds) == 1


def test_a_xendit_ignoring_the_key_makes_a_second_refund(xendit):
    xendit.fake.honour_idempotency_key = False
    payment = xendit.paid(35000)

    first = xendit.refund(payment, {"amount": 100}, **{"idempotency-key": "refund-1"})
    again = xendit.refund(payment, {"amount": 100}, **{"idempotency-key": "refund-1"})

    assert first.json()["id"] != again.json()["id"]
    assert len(xendit.fake.refunds) == 2


# --- settling and webhooks -------------------------------------------------------------------
def test_settle_answers_the_refund_webhook(xendit):
    payment = xendit.paid(35000)
    refund = xendit.refund(payment, {"amount": 15000, "reason": "REQUESTED_BY_CUSTOMER"}).json()

    body = xendit.fake.settle_refund(refund["id"])

    assert set(body) == {"event", "api_version", "business_id", "created", "data"}
    assert (body["event"], body["api_version"], body["business_id"]) == ("qr.refund", "2022-07-31", "fakebusiness")
    data = body["data"]
    assert set(data) == REFUND_FIELDS
    assert (data["id"], data["qrpy_id"], data["status"]) == (refund["id"], payment["id"], "SUCCEEDED")
    assert (data["refund_amount"], data["failure_code"]) == (15000, None)
    assert data["refunded_at"] == data["updated"] == body["created"]
    assert data["updated"] >= refund["updated"]
    path = f"/qr_codes/payments/{payment['id']}/refunds/{refund['id']}"
    assert xendit.get(path).json() == data
    assert xendit.fake.refund_webhook(refund["id"]) == body  # a duplicate
    assert xendit.fake.webhook_deliveries == []  # no webhook_url: nothing sent


def test_settle_as_failed_with_a_code(xendit):
    refund = xendit.refund(xendit.paid()).json()

    data = xendit.fake.settle_refund(refund["id"], "FAILED", "INELIGIBLE_TRANSACTION")["data"]

    assert (data["status"], data["failure_code"], data["refunded_at"]) == ("FAILED", "INELIGIBLE_TRANSACTION", None)


def test_only_a_pending_refund_can_be_settled(xendit):
    refund = xendit.refund(xendit.paid()).json()
    xendit.fake.settle_refund(refund["id"])

    with pytest.raises(ValueError, match="not PENDING"):
        xendit.fake.settle_refund(refund["id"], "FAILED")


def test_settle_delivers_the_webhook(xendit, receiver):
    xendit.fake.webhook_url = receiver.url
    refund = xendit.refund(xendit.paid()).json()

    body = xendit.fake.settle_refund(refund["id"])

    [(headers, received)] = receiver.received
    assert received == body
    assert headers["Content-Type"] == "application/json"
    assert headers["x-callback-token"] == "test-callback-token-0123456789abcdef"
    assert len(headers["webhook-id"]) == 36
    assert xendit.fake.webhook_deliveries == [(body, 200)]


def test_delivery_records_what_the_endpoint_answered(xendit, receiver):
    xendit.fake.webhook_url = receiver.url
    receiver.answer = 500
    first = xendit.refund(xendit.paid()).json()

    body = xendit.fake.settle_refund(first["id"])
    receiver.answer = 200
    status = xendit.fake.deliver_webhook(xendit.fake.refund_webhook(first["id"]))  # Xendit's retry

    assert status == 200
    assert xendit.fake.webhook_deliveries == [(body, 500), (body, 200)]
    assert receiver.received[0][0]["webhook-id"] != receiver.received[1][0]["webhook-id"]


def test_refund_outside_the_api_is_already_succeeded_and_delivered(xendit, receiver):
    xendit.fake.webhook_url = receiver.url
    payment = xendit.paid(35000)
    xendit.refund(payment, {"amount": 5000})

    body = xendit.fake.refund_outside(payment["id"])

    assert body["event"] == "qr.refund"
    assert (body["data"]["status"], body["data"]["refund_amount"]) == ("SUCCEEDED", 30000)
    assert body["data"]["refunded_at"] is not None
    assert receiver.received[-1][1] == body
    listed = xendit.get(f"/qr_codes/payments/{payment['id']}/refunds").json()["data"]
    assert [r["refund_amount"] for r in listed] == [5000, 30000]
    with pytest.raises(ValueError, match="cannot refund"):
        xendit.fake.refund_outside(payment["id"])


def test_auto_settle_sends_the_webhook_later(xendit, receiver):
    xendit.fake.webhook_url = receiver.url
    xendit.fake.auto_settle = "SUCCEEDED"
    xendit.fake.webhook_delay = 0.1
    ok = xendit.refund(xendit.paid(50000), {"amount": 1000}).json()
    failing = xendit.refund(xendit.paid(50000), {"amount": 20301}).json()

    deadline = time.monotonic() + 5
    while len(xendit.fake.webhook_deliveries) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)

    outcomes = {body["data"]["id"]: (body["data"]["status"], status) for body, status in xendit.fake.webhook_deliveries}
    assert outcomes == {ok["id"]: ("SUCCEEDED", 200), failing["id"]: ("FAILED", 200)}


# --- rate limits and scripted answers --------------------------------------------------------
def test_rate_limit_refuses_with_429_and_headers(xendit):
    payment = xendit.paid()  # before the limit
    xendit.fake.rate_limits = {"/qr_codes": 3}
    base = f"/qr_codes/payments/{payment['id']}/refunds"

    answers = [xendit.get(base) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["Rate-Limit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["Rate-Limit-Limit"] == "3" for a in answers)
    refused = answers[-1]
    assert refused.json() == {
        "error_code": "RATE_LIMIT_EXCEEDED",
        "message": "Rate limit exceeded. Please retry after the current window.",
    }
    assert 55 < float(refused.headers["Rate-Limit-Reset"]) <= 60
    assert len(xendit.fake.requests) == 1 + 4  # the 429 is recorded too


def test_rate_limit_reset_can_be_fixed_and_other_prefixes_are_free(xendit):
    xendit.fake.rate_limits = {"/qr_codes": 1, "/v2": 1}
    xendit.fake.rate_limit_reset = 41.27
    xendit.get("/qr_codes/qr_nope")

    refused = xendit.get("/qr_codes/qr_nope")
    other = xendit.get("/other/path")

    assert refused.status_code == 429
    assert refused.headers["Rate-Limit-Reset"] == "41.27"
    assert other.status_code == 404
    assert "Rate-Limit-Limit" not in other.headers
    assert xendit.get("/v2/x").status_code == 404  # its own budget
    assert xendit.get("/qr_codesX").status_code == 404  # not under /qr_codes


def test_longest_prefix_wins(xendit):
    payment = xendit.paid()
    xendit.fake.rate_limits = {"/qr_codes": 100, "/qr_codes/payments": 1}
    base = f"/qr_codes/payments/{payment['id']}/refunds"

    assert xendit.get(base).headers["Rate-Limit-Limit"] == "1"
    assert xendit.get(base).status_code == 429
    assert xendit.get(f"/qr_codes/{payment['qr_id']}").headers["Rate-Limit-Limit"] == "100"


def test_the_window_slides(xendit):
    xendit.fake.rate_limits = {"/qr_codes": 2}
    xendit.get("/qr_codes/a")
    xendit.get("/qr_codes/a")
    assert xendit.get("/qr_codes/a").status_code == 429
    hits = xendit.fake._rate_hits["/qr_codes"]
    hits[0] -= 60.5  # the first request was a minute ago
    hits[1] -= 30

    allowed = xendit.get("/qr_codes/a")

    assert allowed.status_code == 404
    assert allowed.headers["Rate-Limit-Remaining"] == "0"
    assert 29 < float(allowed.headers["Rate-Limit-Reset"]) <= 30  # until the second one leaves


def test_fail_next_comes_before_limits_and_works_on_refunds(xendit):
    payment = xendit.paid()
    xendit.fake.rate_limits = {"/qr_codes": 1}
    xendit.fake.fail_next = [(503, {"error_code": "CHANNEL_UNAVAILABLE", "message": "down"})]

    scripted = xendit.refund(payment, {"amount": 100})
    real = xendit.refund(payment, {"amount": 100})

    assert error_code(scripted) == (503, "CHANNEL_UNAVAILABLE")
    assert "Rate-Limit-Limit" not in scripted.headers
    assert real.status_code == 200
    assert real.headers["Rate-Limit-Remaining"] == "0"
