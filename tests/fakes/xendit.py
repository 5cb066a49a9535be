"""A fake Xendit QR Codes API on 127.0.0.1, speaking the wire format of reference/xendit.md.

The real `XenditClient` talks to it over real HTTP: QR codes (§2), QR refunds (§11, in
xendit_refunds.py) and rate limits (§12). Tests steer it through attributes:

- `delay`: seconds before answering (timeouts).
- `fail_next`: a list of (status, body) answers to give, on any path, before behaving normally; a
  bytes body is sent raw (non-JSON answers).
- `non_refundable_sources`: payers' issuers whose payments cannot be refunded (default {"GOPAY"}).
- `refund_window`: refunds of older payments are accepted, then fail INELIGIBLE_TRANSACTION (30 days).
- `honour_idempotency_key`: False acts like a Xendit that ignores `idempotency-key` on refunds.
- `webhook_url`, `callback_token`, `business_id`: where and how webhooks are delivered.
- `auto_settle` ("SUCCEEDED"/"FAILED") and `webhook_delay`: settle every new refund by itself, later.
- `rate_limits` ({path prefix: requests a minute}) and `rate_limit_reset` (a fixed Rate-Limit-Reset).

and act as Xendit or a customer: `pay(...)`, `settle_refund(...)`, `refund_outside(...)`,
`payment_webhook(...)`, `refund_webhook(...)`, `deliver_webhook(...)`. To inspect: `requests` (everything
received, 429s included), `qr_codes`, `payments` (by QR id), `payments_by_id`, `refunds`,
`webhook_deliveries` ((body, HTTP status) per delivery).
"""

import base64
import json
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from payments.gateways.qris import dynamic_qris
from tests.fakes.xendit_refunds import RefundsMixin, iso

# Xendit's test-mode magic amounts (docs: QR codes test scenarios).
MAGIC_AMOUNTS = {
    10100: (403, "CHANNEL_NOT_ACTIVATED", "QR code channel is not activated"),
    10101: (503, "CHANNEL_UNAVAILABLE", "The acquirer is unavailable"),
    10102: (500, "SERVER_ERROR", "Internal server error"),
}
RATE_LIMIT_WINDOW = 60.0  # seconds, sliding (§12)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class FakeXendit(RefundsMixin):
    api_key: str = "xnd_development_fake"
    delay: float = 0.0
    fail_next: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    qr_codes: dict = field(default_factory=dict)
    payments: dict = field(default_factory=dict)  # qr_id -> [payment]
    payments_by_id: dict = field(default_factory=dict)  # qrpy_id -> payment (the same dicts)
    refunds: dict = field(default_factory=dict)  # qrrf_id -> refund
    non_refundable_sources: set = field(default_factory=lambda: {"GOPAY"})
    refund_window: timedelta = timedelta(days=30)
    honour_idempotency_key: bool = True
    idempotency_keys: dict = field(default_factory=dict)  # key -> ((qrpy_id, canonical body), qrrf_id)
    business_id: str = "fakebusiness"
    callback_token: str = "test-callback-token-0123456789abcdef"
    webhook_url: str | None = None
    webhook_deliveries: list = field(default_factory=list)  # (body, HTTP status or None)
    auto_settle: str | None = None
    webhook_delay: float = 0.0
    rate_limits: dict = field(default_factory=dict)  # path prefix -> requests per minute
    rate_limit_reset: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _rate_hits: dict = field(default_factory=dict, repr=False)  # prefix -> deque of monotonic times
    _planned_failures: dict = field(default_factory=dict, repr=False)  # qrrf_id -> failure code

    def pay(self, qr_id: str, *, amount: int | None = None, source: str = "DANA", status: str = "SUCCEEDED") -> dict:
        """A customer pays a QR code with `source` (the payer's issuer): record the payment as Xendit lists it.

        The stored dict is returned: edit its `created` to age the payment (refund_window).
        """
        qr = self.qr_codes[qr_id]
        payment = {
            "id": f"qrpy_{uuid.uuid4()}",
            "business_id": self.business_id,
            "currency": "IDR",
            "amount": qr["amount"] if amount is None else amount,
            "status": status,
            "created": iso(datetime.now(UTC)),
            "qr_id": qr_id,
            "qr_string": qr["qr_string"],
            "reference_id": qr["reference_id"],
            "type": "DYNAMIC",
            "channel_code": "ID_DANA",
            "expires_at": qr["expires_at"],
            "description": "",
            "basket": None,
            "metadata": None,
            "payment_detail": {"receipt_id": "000111666", "source": source, "name": None, "account_details": None},
        }
        with self.lock:
            self.payments.setdefault(qr_id, []).append(payment)
            self.payments_by_id[payment["id"]] = payment
        return payment

    def rate_limit(self, path: str) -> tuple[bool, dict] | None:
        """Count a request on the longest limited prefix of `path`: (refused, Rate-Limit-* headers), or None."""
        prefixes = [p for p in self.rate_limits if _under(path, p)]
        if not prefixes:
            return None
        prefix = max(prefixes, key=len)
        limit = self.rate_limits[prefix]
        now = time.monotonic()
        with self.lock:
            hits = self._rate_hits.setdefault(prefix, deque())
            while hits and hits[0] <= now - RATE_LIMIT_WINDOW:
                hits.popleft()
            refused = len(hits) >= limit  # a refused request is not counted
            if not refused:
                hits.append(now)
            reset = hits[0] + RATE_LIMIT_WINDOW - now if hits else RATE_LIMIT_WINDOW
            remaining = max(limit - len(hits), 0)
        if self.rate_limit_reset is not None:
            reset = self.rate_limit_reset
        headers = {"Rate-Limit-Limit": str(limit), "Rate-Limit-Remaining": str(remaining)}
        return refused, {**headers, "Rate-Limit-Reset": f"{reset:.2f}"}


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    extra_headers: dict = {}  # the Rate-Limit-* headers of this request (replaced per request, never mutated)

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body, headers: dict | None = None) -> None:
        # bytes are sent as they are (a proxy's HTML error page, a truncated answer...).
        raw = isinstance(body, bytes)
        data = body if raw else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if raw else "application/json")
        self.send_header("Request-Id", str(uuid.uuid4()))
        for name, value in {**self.extra_headers, **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(status, {"error_code": code, "message": message})

    def _handle(self, method: str) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with fake.lock:
            fake.requests.append(RecordedRequest(method, self.path, dict(self.headers), body))
            scripted = fake.fail_next.pop(0) if fake.fail_next else None
        if fake.delay:
            time.sleep(fake.delay)
        if scripted is not None:
            status, payload = scripted
            self._send(status, payload)
            return
        path = self.path.split("?")[0]
        limited = fake.rate_limit(path)
        if limited is not None:
            refused, self.extra_headers = limited
            if refused:
                message = "Rate limit exceeded. Please retry after the current window."
                self._error(429, "RATE_LIMIT_EXCEEDED", message)
                return
        if not self._authorised(fake):
            self._error(401, "INVALID_API_KEY", "API key is invalid")
            return
        parts = [unquote(p) for p in path.split("/") if p]
        if len(parts) in (4, 5) and parts[:2] == ["qr_codes", "payments"] and parts[3] == "refunds":
            self._refunds(fake, method, parts, body)
        elif method == "POST" and parts == ["qr_codes"]:
            self._create(fake, body)
        elif method == "GET" and len(parts) == 2 and parts[0] == "qr_codes":
            qr = fake.qr_codes.get(parts[1])
            if qr is None:
                self._error(404, "DATA_NOT_FOUND", "QR code not found")
            else:
                self._send(200, qr)
        elif method == "GET" and len(parts) == 3 and parts[0] == "qr_codes" and parts[2] == "payments":
            if parts[1] not in fake.qr_codes:
                self._error(404, "DATA_NOT_FOUND", "QR code not found")
            else:
                self._send(200, {"data": list(fake.payments.get(parts[1], [])), "has_more": False})
        else:
            self._error(404, "NOT_FOUND", "No such endpoint")

    def _refunds(self, fake: FakeXendit, method: str, parts: list[str], body: bytes) -> None:
        # Any api-version (or none) is accepted here (§11.1).
        qrpy_id = parts[2]
        if method == "POST" and len(parts) == 4:
            key = self.headers.get("idempotency-key") or self.headers.get("x-idempotency-key")
            self._send(*fake.create_refund(qrpy_id, body, key))
        elif method == "GET" and len(parts) == 4:
            self._send(*fake.list_refunds(qrpy_id))
        elif method == "GET":
            self._send(*fake.get_refund(qrpy_id, parts[4]))
        else:
            self._error(404, "NOT_FOUND", "No such endpoint")

    def _authorised(self, fake: FakeXendit) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == fake.api_key and password == ""

    def _create(self, fake: FakeXendit, body: bytes) -> None:
        if self.headers.get("api-version") != "2022-07-31":
            self._error(400, "API_VALIDATION_ERROR", "This fake speaks api-version 2022-07-31 only")
            return
        try:
            request = json.loads(body)
        except ValueError:
            self._error(400, "API_VALIDATION_ERROR", "Body is not JSON")
            return
        missing = [f for f in ("reference_id", "type", "currency", "amount") if f not in request]
        if missing:
            self._error(400, "API_VALIDATION_ERROR", f"Missing: {', '.join(missing)}")
            return
        if "callback_url" in request:
            self._error(400, "API_VALIDATION_ERROR", "Please set the callback URL from your Xendit Dashboard instead.")
            return
        amount = request["amount"]
        if not isinstance(amount, int) or not 1 <= amount <= 10_000_000:
            self._error(400, "API_VALIDATION_ERROR", "amount must be an integer between 1 and 10000000")
            return
        if amount in MAGIC_AMOUNTS:
            status, code, message = MAGIC_AMOUNTS[amount]
            self._error(status, code, message)
            return
        now = datetime.now(UTC)
        qr_id = f"qr_{uuid.uuid4()}"
        qr = {
            "id": qr_id,
            "reference_id": request["reference_id"],
            "business_id": fake.business_id,
            "type": request["type"],
            "currency": request["currency"],
            "amount": amount,
            "channel_code": "ID_DANA",
            "status": "ACTIVE",
            "qr_string": dynamic_qris(
                amount=amount, reference=request["reference_id"], merchant_name="FAKE XENDIT", merchant_city="JAKARTA"
            ),
            "expires_at": request.get("expires_at") or iso(now + timedelta(hours=48)),
            "created": iso(now),
            "updated": iso(now),
            "basket": None,
            "metadata": request.get("metadata"),
        }
        with fake.lock:
            fake.qr_codes[qr_id] = qr
        self._send(200, qr)

    def do_POST(self):
        self._handle("POST")

    def do_GET(self):
        self._handle("GET")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeXendit

    def handle_error(self, request, client_address):
        # A client that stopped waiting (a timeout test) closed its socket before the answer.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeXenditServer:
    """Context manager running a FakeXendit on a free port of 127.0.0.1."""

    def __init__(self, fake: FakeXendit | None = None) -> None:
        self.fake = fake or FakeXendit()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self.fake
        # A short poll interval: shutdown() waits for it, at the end of every test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeXendit:
        self._thread.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
