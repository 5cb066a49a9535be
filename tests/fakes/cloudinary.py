"""A fake Cloudinary on 127.0.0.1, speaking the wire format of reference/cloudinary.md.

The real SDK reaches it through `upload_prefix`; browsers (and `CloudinaryStorage.open`) reach
its delivery URLs directly. It serves:

- the Upload API, `POST /v1_1/{cloud}/image/upload` (multipart), checking `api_key`, the
  timestamp and the signature exactly as the SDK computes it (§2.2), and answering like the real
  API with URLs that point back at this server;
- delivery, `GET /{cloud}/image/upload[/{transformation}]/v{version}/{public_id}.{format}`,
  answering the stored bytes whatever the transformation;
- the Admin API's `DELETE /v1_1/{cloud}/resources/image/upload` (`public_ids`, at most 100, or a
  `prefix`), with Basic auth and the hourly budget headers `X-FeatureRateLimit-*`; 429 when the
  budget is spent.

Tests steer it through attributes: `latency` (seconds added to every upload; `admin_latency` the
same for Admin API calls), `fail_uploads_for` and `fail_deletes_for` (public id substrings, or a
callable taking the public id, answering 500), `budget` and `remaining` (the Admin API's hourly
limit and what is left of it), and inspect `calls` (every request: method, path, kind, public
ids, status), `assets` (what is stored) and `max_concurrent_uploads`.
"""

import base64
import email.parser
import email.policy
import email.utils
import hashlib
import hmac
import io
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from PIL import Image, UnidentifiedImageError

FORMATS = {"JPEG": "jpg", "PNG": "png"}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
MAX_PUBLIC_IDS = 100  # Admin API: public ids per delete_resources call
MAX_PREFIX_DELETE = 1000  # Admin API: originals per delete-by-prefix call
STALE_AFTER = 3600  # seconds: an older upload timestamp is refused
DELIVERY = re.compile(r"^/(?P<cloud>[^/]+)/image/upload/(?:(?P<transformation>.+?)/)?v(?P<version>\d+)/(?P<rest>.+)$")


def expected_signature(fields: dict[str, str], secret: str) -> str:
    """The signature the SDK sends (signature_version 2, SHA-1): cloudinary.md §2.2."""
    parts = sorted(
        f"{key}={value}".replace("&", "%26")
        for key, value in fields.items()
        if key not in ("file", "api_key", "signature") and value
    )
    return hashlib.sha1(("&".join(parts) + secret).encode(), usedforsecurity=False).hexdigest()


def _matches(rule: Collection[str] | Callable[[str], bool], public_id: str) -> bool:
    if callable(rule):
        return bool(rule(public_id))
    return any(part in public_id for part in rule)


@dataclass
class Call:
    method: str
    path: str
    kind: str  # "upload", "admin" or "delivery"
    public_ids: list[str]
    status: int = 0
    transformation: str = ""


@dataclass
class Asset:
    public_id: str
    content: bytes = field(repr=False)
    version: int
    format: str
    width: int
    height: int
    asset_folder: str
    uploads: int = 1


@dataclass
class FakeCloudinary:
    cloud_name: str = "photobox-test"
    api_key: str = "614335564976464"
    api_secret: str = "fake-cloudinary-secret"
    latency: float = 0.0
    admin_latency: float = 0.0
    fail_uploads_for: Collection[str] | Callable[[str], bool] = field(default_factory=set)
    fail_deletes_for: Collection[str] | Callable[[str], bool] = field(default_factory=set)
    budget: int = 500
    remaining: int = 500
    url: str = ""  # set by FakeCloudinaryServer: where delivery URLs point
    max_concurrent_uploads: int = 0  # the most uploads it was serving at one moment
    uploads_in_flight: int = 0
    calls: list[Call] = field(default_factory=list, repr=False)
    assets: dict[str, Asset] = field(default_factory=dict, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def calls_of(self, kind: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.kind == kind]

    @property
    def admin_calls(self) -> list[Call]:
        return self.calls_of("admin")

    @property
    def uploads(self) -> list[Call]:
        """Upload requests the fake accepted (stored the file)."""
        return [call for call in self.calls_of("upload") if call.status == 200]

    def delivery_url(self, asset: Asset) -> str:
        return f"{self.url}/{self.cloud_name}/image/upload/v{asset.version}/{asset.public_id}.{asset.format}"

    def put(self, public_id: str, content: bytes = b"\xff\xd8fake\xff\xd9", *, image_format: str = "jpg") -> Asset:
        """Store an asset directly, as if uploaded earlier (for delete tests)."""
        asset = Asset(
            public_id=public_id,
            content=content,
            version=int(time.time()),
            format=image_format,
            width=1,
            height=1,
            asset_folder=public_id.rpartition("/")[0],
        )
        with self.lock:
            self.assets[public_id] = asset
        return asset


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"  # keep-alive, as urllib3 expects; every answer has a Content-Length

    def log_message(self, format, *args):  # keep test output quiet
        pass

    # --- plumbing --------------------------------------------------------------------------------
    def _send(self, status: int, body, *, headers: dict | None = None, content_type: str = "application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Request-Id", uuid.uuid4().hex)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, *, headers: dict | None = None) -> None:
        self._send(status, {"error": {"message": message}}, headers=headers)

    def _record(self, method: str, kind: str, public_ids: list[str], transformation: str = "") -> Call:
        call = Call(method, self.path, kind, list(public_ids), transformation=transformation)
        with self.server.fake.lock:
            self.server.fake.calls.append(call)
        return call

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _route(self, method: str) -> None:
        fake = self.server.fake
        body = self._body()
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
        if parts[:1] == ["v1_1"] and len(parts) >= 3:
            if parts[2:] == ["image", "upload"] and method == "POST":
                return self._upload(fake, parts[1], body)
            if parts[2:] == ["resources", "image", "upload"] and method == "DELETE":
                return self._delete(fake, parts[1], body)
            self._record(method, "admin", [])
            return self._error(404, f"Not a route of this fake: {method} {self.path}")
        if method == "GET":
            return self._deliver(fake)
        return self._error(404, f"Not a route of this fake: {method} {self.path}")

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")

    # --- Upload API ------------------------------------------------------------------------------
    def _multipart(self, body: bytes) -> tuple[dict[str, str], bytes | None, str]:
        content_type = self.headers.get("Content-Type", "")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        fields: dict[str, str] = {}
        content, filename = None, ""
        if not message.is_multipart():
            return fields, content, filename
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if name == "file":
                content, filename = payload, part.get_filename() or ""
            elif name:
                fields[name] = payload.decode()
        return fields, content, filename

    def _upload(self, fake: FakeCloudinary, cloud: str, body: bytes) -> None:
        fields, content, filename = self._multipart(body)
        public_id = fields.get("public_id", "")
        call = self._record("POST", "upload", [public_id] if public_id else [])
        with fake.lock:
            fake.uploads_in_flight += 1
            fake.max_concurrent_uploads = max(fake.max_concurrent_uploads, fake.uploads_in_flight)
        try:
            call.status = self._upload_answer(fake, cloud, fields, content, filename, public_id)
        finally:
            with fake.lock:
                fake.uploads_in_flight -= 1

    def _upload_answer(self, fake, cloud, fields, content, filename, public_id) -> int:
        if fake.latency:
            time.sleep(fake.latency)
        if cloud != fake.cloud_name:
            self._error(401, f"Invalid cloud_name {cloud}")
            return 401
        if fields.get("api_key") != fake.api_key:
            self._error(401, f"Unknown API key {fields.get('api_key', '')}")
            return 401
        signature = expected_signature(fields, fake.api_secret)
        if not hmac.compare_digest(fields.get("signature", ""), signature):
            to_sign = "&".join(sorted(f"{k}={v}" for k, v in fields.items() if k not in ("api_key", "signature") and v))
            self._error(401, f"Invalid Signature {fields.get('signature', '')}. String to sign - '{to_sign}'.")
            return 401
        timestamp = int(fields["timestamp"]) if fields.get("timestamp", "").isdigit() else 0
        if time.time() - timestamp > STALE_AFTER:
            self._error(400, f"Stale request - reported time is {timestamp} which is more than 1 hour ago")
            return 400
        if not content:
            self._error(400, "Missing required parameter - file")
            return 400
        if public_id and _matches(fake.fail_uploads_for, public_id):
            self._error(500, "Internal server error (a failure the test asked for)")
            return 500
        try:
            with Image.open(io.BytesIO(content)) as image:
                image_format, (width, height) = FORMATS.get(image.format or ""), image.size
        except (UnidentifiedImageError, OSError):
            image_format = None
        if image_format is None:
            self._error(400, "Invalid image file")
            return 400
        public_id = public_id or uuid.uuid4().hex[:20]
        asset_folder = fields.get("asset_folder", "")
        with fake.lock:
            existing = fake.assets.get(public_id)
            if existing is not None and fields.get("overwrite") not in ("1", "true"):
                asset, overwritten = existing, None
            else:
                asset = Asset(
                    public_id=public_id,
                    content=content,
                    version=int(time.time()),
                    format=image_format,
                    width=width,
                    height=height,
                    asset_folder=asset_folder,
                    uploads=existing.uploads + 1 if existing else 1,
                )
                fake.assets[public_id] = asset
                overwritten = existing is not None
        url = fake.delivery_url(asset)
        answer = {
            "asset_id": hashlib.md5(public_id.encode(), usedforsecurity=False).hexdigest(),
            "public_id": asset.public_id,
            "version": asset.version,
            "version_id": uuid.uuid4().hex,
            "signature": hashlib.sha1(
                f"public_id={asset.public_id}&version={asset.version}{fake.api_secret}".encode(),
                usedforsecurity=False,
            ).hexdigest(),
            "width": asset.width,
            "height": asset.height,
            "format": asset.format,
            "resource_type": "image",
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tags": [t for t in fields.get("tags", "").split(",") if t],
            "bytes": len(asset.content),
            "type": "upload",
            "etag": hashlib.md5(asset.content, usedforsecurity=False).hexdigest(),
            "placeholder": False,
            "url": url,
            "secure_url": url,
            "asset_folder": asset.asset_folder,
            "display_name": asset.public_id.rpartition("/")[2],
            "original_filename": filename.rpartition(".")[0] or filename,
        }
        if overwritten is None:
            answer["existing"] = True
        elif overwritten:
            answer["overwritten"] = True
        self._send(200, answer)
        return 200

    # --- Admin API -------------------------------------------------------------------------------
    def _authorised(self, fake: FakeCloudinary) -> bool:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            key, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return hmac.compare_digest(key, fake.api_key) and hmac.compare_digest(secret, fake.api_secret)

    def _rate_headers(self, fake: FakeCloudinary) -> dict:
        reset = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        return {
            "X-FeatureRateLimit-Limit": str(fake.budget),
            "X-FeatureRateLimit-Remaining": str(max(fake.remaining, 0)),
            "X-FeatureRateLimit-Reset": email.utils.format_datetime(reset, usegmt=True),
        }

    def _delete(self, fake: FakeCloudinary, cloud: str, body: bytes) -> None:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        public_ids = list(request.get("public_ids") or []) if isinstance(request, dict) else []
        call = self._record("DELETE", "admin", public_ids)
        call.status = self._delete_answer(fake, cloud, request, public_ids, call)

    def _delete_answer(self, fake, cloud, request, public_ids, call) -> int:
        if fake.admin_latency:
            time.sleep(fake.admin_latency)
        if cloud != fake.cloud_name:
            self._error(401, f"Invalid cloud_name {cloud}")
            return 401
        if not self._authorised(fake):
            self._error(401, "Invalid credentials")
            return 401
        with fake.lock:
            if fake.remaining <= 0:
                headers = self._rate_headers(fake)
                exhausted = True
            else:
                fake.remaining -= 1
                headers = self._rate_headers(fake)
                exhausted = False
        if exhausted:
            self._error(429, "Rate Limit Exceeded", headers=headers)
            return 429
        if not isinstance(request, dict):
            self._error(400, "Body is not a JSON object", headers=headers)
            return 400
        prefix = request.get("prefix")
        if public_ids and len(public_ids) > MAX_PUBLIC_IDS:
            self._error(400, f"public_ids: at most {MAX_PUBLIC_IDS} per request", headers=headers)
            return 400
        if not public_ids and not prefix:
            self._error(400, "Must supply public_ids, prefix or all", headers=headers)
            return 400
        with fake.lock:
            if prefix:
                public_ids = sorted(pid for pid in fake.assets if pid.startswith(prefix))[:MAX_PREFIX_DELETE]
                call.public_ids = list(public_ids)
            if any(_matches(fake.fail_deletes_for, pid) for pid in public_ids):
                failing = True
            else:
                failing = False
                deleted = {pid: "deleted" if fake.assets.pop(pid, None) else "not_found" for pid in public_ids}
        if failing:
            self._error(500, "Internal server error (a failure the test asked for)", headers=headers)
            return 500
        answer = {
            "deleted": deleted,
            "deleted_counts": {
                pid: {"original": int(state == "deleted"), "derived": 0} for pid, state in deleted.items()
            },
            "partial": bool(prefix) and len(public_ids) == MAX_PREFIX_DELETE,
        }
        self._send(200, answer, headers=headers)
        return 200

    # --- Delivery --------------------------------------------------------------------------------
    def _deliver(self, fake: FakeCloudinary) -> None:
        match = DELIVERY.match(unquote(urlsplit(self.path).path))
        public_id = ""
        asset = None
        if match and match["cloud"] == fake.cloud_name:
            public_id, _, extension = match["rest"].rpartition(".")
            with fake.lock:
                asset = fake.assets.get(public_id)
            if asset is not None and extension != asset.format:
                asset = None
        transformation = (match["transformation"] or "") if match else ""
        call = self._record("GET", "delivery", [public_id] if public_id else [], transformation=transformation)
        if asset is None:
            call.status = 404
            self._send(404, b"Resource not found", content_type="text/plain", headers={"X-Cld-Error": "not found"})
            return
        headers = {}
        for flag in transformation.split(","):
            # fl_attachment, or fl_attachment:<name> to choose the downloaded file's name.
            if flag == "fl_attachment" or flag.startswith("fl_attachment:"):
                stem = unquote(flag.partition(":")[2]) or public_id.rpartition("/")[2]
                headers["Content-Disposition"] = f'attachment; filename="{stem}.{asset.format}"'
        call.status = 200
        self._send(200, asset.content, content_type=CONTENT_TYPES[asset.format], headers=headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeCloudinary

    def handle_error(self, request, client_address):
        # A client that stopped waiting (a timeout test) closed its socket before the answer.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeCloudinaryServer:
    """Context manager running a FakeCloudinary on a free port of 127.0.0.1."""

    def __init__(self, fake: FakeCloudinary | None = None) -> None:
        self.fake = fake or FakeCloudinary()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self.fake
        self.fake.url = self.url
        # A short poll interval: shutdown() waits for it, at the end of every test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeCloudinary:
        self._thread.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
