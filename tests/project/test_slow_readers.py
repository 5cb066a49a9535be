"""Slow readers: customers whose phones ask for the gallery ZIP and stop reading (asleep, out of
signal, a stalled download manager) must not hold the threads the kiosks' polls need.

gunicorn writes a response from a worker thread until the client has taken it. Facing clients
directly (PORT mode) a stalled ZIP download holds its thread for as long as the client keeps the
connection open; once a worker's threads are all held, every poll that worker takes waits behind
them (eight stalled downloads, one worker of 4 threads: every poll timed out). The nginx block in
the README ("5. nginx in front") buffers responses (`proxy_buffering` is on by default): nginx takes
the whole ZIP from gunicorn at once, into a temporary file, and hands it to the phone at the
phone's pace. These tests run that very block (taken from the README; only the ports, the
certificate, the IPv6 lines and, on nginx before 1.25.1, `http2 on;` changed) with a real nginx in
front of a real gunicorn started from gunicorn.conf.py with production settings on the test
database.

nginx comes from Debian's nginx-light package (`apt-get install -y nginx-light`; .ci/run installs
it); without it the nginx test is skipped, saying so.
"""

import contextlib
import hashlib
import ipaddress
import json
import os
import random
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import threading
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image

from gallery.storage import LocalStorage
from payments.models import SaleStatus
from tests.support.live_instances import free_port, instance_environment
from tests.support.processes import GUNICORN, PRODUCTION, PROJECT_ROOT, clean_environment

README = PROJECT_ROOT / "README.md"
HOST = "photobox.example.com"  # the README's server_name
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed: apt-get install -y nginx-light (.ci/run installs it)"
)

# One worker of 4 threads (gunicorn.conf.py's default threads) and twice as many stalled downloads:
# without nginx every thread is held, and nothing depends on how several workers would share out the
# connections (each takes them as they come, and the polls a full worker took wait behind it).
WORKERS, THREADS = 1, 4
STALLED_READERS = 8
PHOTOS = 12
POLLS = 50
FAST = 1.0  # seconds: a poll answered later than this is a stalled poll


# --- The README's nginx block, runnable here ------------------------------------------------------


def readme_nginx_block() -> str:
    text = README.read_text()
    section = text[text.index("## Deploying") :]
    section = section[section.index("### 5. nginx in front") :]
    return re.search(r"```nginx\n(.*?)```", section, flags=re.DOTALL).group(1)


def nginx_version() -> tuple[int, ...]:
    shown = subprocess.run([NGINX, "-v"], capture_output=True, text=True, check=True).stderr
    return tuple(int(part) for part in re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", shown).groups())


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the README's nginx block changed ({old.strip()!r}): update this test"
    return text.replace(old, new)


@dataclass
class Ports:
    upstream: int  # gunicorn
    http: int  # the README's `listen 80`
    https: int  # the README's `listen 443 ssl`


def runnable_nginx_conf(root: Path, ports: Ports, certificate: Path, key: Path) -> str:
    """The README's block inside an `http {}` of our own, with paths under `root`: only what cannot
    be the same here changes (ports, the certificate, IPv6, and `http2 on;` on nginx older than
    1.25.1, where it is written on the `listen` line)."""
    block = readme_nginx_block()
    block = replace_once(block, "server 127.0.0.1:8000;", f"server 127.0.0.1:{ports.upstream};")
    block = replace_once(block, "    listen 80;\n", f"    listen 127.0.0.1:{ports.http};\n")
    block = replace_once(block, "    listen [::]:80;\n", "")
    block = replace_once(block, "    listen [::]:443 ssl;\n", "")
    http2 = ""
    if nginx_version() < (1, 25, 1):  # Debian 12's nginx 1.22 does not know `http2 on;`
        block = replace_once(block, "    http2 on;\n", "")
        http2 = " http2"
    block = replace_once(block, "    listen 443 ssl;\n", f"    listen 127.0.0.1:{ports.https} ssl{http2};\n")
    for directive, path in (("ssl_certificate", certificate), ("ssl_certificate_key", key)):
        block, found = re.subn(rf"\b{directive}\s+\S+;", f"{directive} {path};", block)
        assert found == 1, f"the README's nginx block changed ({directive}): update this test"
    # Running as root in a sandbox: workers as root too, or they could not read root's temp files.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {root / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {root / 'nginx.pid'};\nerror_log {root / 'error.log'} warn;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{\n    access_log {root / 'access.log'};\n{temp}\n\n{block}}}\n"
    )


def test_the_readme_nginx_block_buffers_responses():
    """What the test below proves holds only while the README keeps nginx's response buffering."""
    block = readme_nginx_block()
    location = block[block.rindex("location / {") :]

    assert "proxy_pass http://photobox;" in location
    assert not re.search(r"proxy_buffering\s+off", block)
    assert not re.search(r"proxy_max_temp_file_size\s+0", block)  # no spooling to disk: the same stall
    deploying = README.read_text()[README.read_text().index("## Deploying") :]
    assert "never `proxy_buffering off`" in deploying
    assert "`PORT` mode is not for production" in deploying


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for photobox.example.com and 127.0.0.1: (certificate, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(UTC)
    names = [x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


# --- Processes ----------------------------------------------------------------------------------------


@dataclass
class Gunicorn:
    process: subprocess.Popen
    stdout: Path  # the access log
    stderr: Path  # gunicorn's and the app's messages

    def access_lines(self) -> list[str]:
        return [json.loads(line)["message"] for line in self.stdout.read_text().splitlines() if line.startswith("{")]

    def messages(self) -> list[dict]:
        return [json.loads(line) for line in self.stderr.read_text().splitlines() if line.startswith("{")]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def gunicorn(root: Path, port: int, *, host: str = "127.0.0.1", **values: str):
    """gunicorn -c gunicorn.conf.py, production settings, on the test database; ready on `port`."""
    environment = instance_environment(
        GUNICORN_WORKERS=str(WORKERS),
        GUNICORN_THREADS=str(THREADS),
        GUNICORN_ACCESS_LOG="true",  # its lines tell when a download was handed over
        LOG_FORMAT="json",
        **values,
    )
    stdout, stderr = root / "gunicorn.out", root / "gunicorn.err"
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(  # our own server, stopped below
            [str(GUNICORN), "-c", "gunicorn.conf.py", "photobox.wsgi"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=out,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, stderr.read_text()
            with contextlib.suppress(requests.RequestException):  # listening, app still loading
                if (
                    requests.get(f"http://127.0.0.1:{port}/health", headers={"Host": host}, timeout=5).status_code
                    == 200
                ):
                    break
            assert time.monotonic() < deadline, "gunicorn did not start within 60 s"
            time.sleep(0.2)
        yield Gunicorn(process, stdout, stderr)
    finally:
        stop(process)


@contextlib.contextmanager
def nginx(root: Path, ports: Ports, certificate: tuple[Path, Path]):
    """The README's nginx block, in the foreground, with its prefix, pid, logs and temp files in `root`."""
    conf = root / "nginx.conf"
    conf.write_text(runnable_nginx_conf(root, ports, *certificate))
    command = [NGINX, "-p", str(root), "-e", str(root / "error.log"), "-c", str(conf)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr + conf.read_text()
    process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.DEVNULL)  # stopped below
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, (root / "error.log").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", ports.https), timeout=1):
                break
            assert time.monotonic() < deadline, "nginx did not start within 15 s"
            time.sleep(0.1)
        yield
    finally:
        stop(process)


# --- A paid sale whose ZIP is ~25 MB ------------------------------------------------------------------


@dataclass
class ZipSale:
    external_id: str
    download_path: str
    photo_bytes: int


def random_png(rng: random.Random, size: int) -> bytes:
    """A PNG of random pixels (incompressible) of about `size` bytes."""
    side = int((size / 3) ** 0.5)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    output = BytesIO()
    image.save(output, "PNG", compress_level=1)
    return output.getvalue()


@pytest.fixture
def zip_sale(make_sale, make_photo, tmp_path) -> ZipSale:
    """A paid sale with 12 photos of 1-3 MB, stored through the local photo storage."""
    sale = make_sale(status=SaleStatus.COMPLETED)
    storage = LocalStorage(root=tmp_path / "media", base_url=f"https://{HOST}/media")
    rng = random.Random(12)
    total = 0
    for position in range(1, PHOTOS + 1):
        content = random_png(rng, 1_000_000 + (position - 1) * 2_000_000 // (PHOTOS - 1))
        checksum = hashlib.sha256(content).hexdigest()
        key = storage.key_for(external_id=sale.external_id, position=position, checksum=checksum, extension="png")
        stored = storage.save(key=key, content=content, filename=f"{position}.png")
        with Image.open(BytesIO(content)) as image:
            width, height = image.size
        make_photo(
            sale,
            position,
            storage_key=stored.key,
            url=stored.url,
            bytes=len(content),
            width=width,
            height=height,
            format="PNG",
            checksum=checksum,
        )
        total += len(content)
    return ZipSale(sale.external_id, f"/gallery/{sale.external_id}/{sale.gallery_key}/download", total)


# --- Clients --------------------------------------------------------------------------------------------


class StalledReader:
    """A client that asks for the ZIP, reads the first bytes, and stops reading (keeping the
    connection open): a small receive buffer, so little of the response fits on its side."""

    def __init__(self, port: int, path: str, *, host: str, tls: ssl.SSLContext | None = None) -> None:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(10)
        raw.connect(("127.0.0.1", port))
        self.sock = tls.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
        # HTTP/1.0: the body is sent as it is and ends when the connection does (no chunks).
        self.sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        self.received = b""

    def first_bytes(self, timeout: float = 10) -> bool:
        """Read the status line and headers (and whatever came with them); False if they did not
        come within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            while b"\r\n\r\n" not in self.received:
                chunk = self.sock.recv(4096)
                assert chunk, "the server closed the connection before answering"
                self.received += chunk
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(10)
        assert self.received.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")), self.received[:200]
        return True

    def read_the_rest(self) -> bytes:
        """Read on to the end (with a bigger receive buffer: no longer a slow reader); the body."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        chunks = [self.received]
        while chunk := self.sock.recv(1 << 20):
            chunks.append(chunk)
        self.received = b"".join(chunks)
        return self.received.split(b"\r\n\r\n", 1)[1]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def timed_polls(url: str, external_id: str, count: int, *, timeout: float, **kwargs) -> list[float]:
    """`count` polls, one after the other, each on a new connection; seconds each took (`timeout`
    for one that got no answer within it)."""
    took = []
    for _ in range(count):
        started = time.monotonic()
        try:
            response = requests.get(f"{url}/api/v1/transactions/external/{external_id}", timeout=timeout, **kwargs)
        except requests.Timeout:
            took.append(timeout)
            continue
        took.append(time.monotonic() - started)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == "COMPLETED"
    return took


def summary(took: list[float]) -> str:
    slow = sum(1 for seconds in took if seconds >= FAST)
    return (
        f"{len(took)} polls: p50 {statistics.median(took) * 1000:.0f} ms, max {max(took) * 1000:.0f} ms, "
        f"{slow} took {FAST:.0f} s or more"
    )


def zip_downloads_logged(server: Gunicorn) -> list[str]:
    return [line for line in server.access_lines() if "/download HTTP" in line and '" 200 ' in line]


# --- With nginx as documented: the polls go on -----------------------------------------------------------


def wait_for_zips_logged(server: Gunicorn, seconds: float) -> tuple[int, float]:
    """How many ZIP responses gunicorn finished (its access line comes once all of it is written)
    within `seconds`, waiting for all STALLED_READERS of them, and how long that took."""
    started = time.monotonic()
    while len(zip_downloads_logged(server)) < STALLED_READERS and time.monotonic() - started < seconds:
        time.sleep(0.1)
    return len(zip_downloads_logged(server)), time.monotonic() - started


@needs_nginx
@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_behind_the_documented_nginx_stalled_zip_downloads_do_not_slow_the_polls(zip_sale, certificate, tmp_path):
    ports = Ports(upstream=free_port(), http=free_port(), https=free_port())
    production = {
        "GUNICORN_BIND": f"127.0.0.1:{ports.upstream}",
        "ALLOWED_HOSTS": HOST,
        "API_BASE_URL": f"https://{HOST}",
        "SECURE_PROXY_SSL_HEADER": "true",
        "SECURE_SSL_REDIRECT": "true",
        "TRUSTED_PROXY_COUNT": "1",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    (tmp_path / "nginx").mkdir()
    tls = ssl.create_default_context(cafile=str(certificate[0]))
    url = f"https://127.0.0.1:{ports.https}"
    over_tls = {"headers": {"Host": HOST}, "verify": str(certificate[0])}

    with (
        gunicorn(tmp_path, ports.upstream, host=HOST, **production) as server,
        nginx(tmp_path / "nginx", ports, certificate),
    ):
        assert timed_polls(url, zip_sale.external_id, 1, timeout=10, **over_tls)  # all the way through
        readers = [
            StalledReader(ports.https, zip_sale.download_path, host=HOST, tls=tls) for _ in range(STALLED_READERS)
        ]
        try:
            assert all(reader.first_bytes() for reader in readers)
            # gunicorn hands each whole ZIP to nginx and is done with it...
            handed_over, after = wait_for_zips_logged(server, 30)
            # ...while each reader has taken only its first kilobytes, and stays there.
            taken = max(len(reader.received) for reader in readers)
            took = timed_polls(url, zip_sale.external_id, POLLS, timeout=10, **over_tls)
            # The stalled customers still get the whole ZIP once they read on.
            reading = time.monotonic()
            body = readers[0].read_the_rest()
            read_in = time.monotonic() - reading
        finally:
            for reader in readers:
                reader.close()

    print(
        f"\nbehind nginx: gunicorn handed {handed_over} ZIPs of {zip_sale.photo_bytes / 1e6:.0f} MB to nginx "
        f"in {after:.1f} s; with {STALLED_READERS} stalled downloads open, {summary(took)}; "
        f"a reader reading on got the rest in {read_in:.1f} s"
    )
    assert handed_over == STALLED_READERS, server.access_lines()
    # nginx kept them in its temporary files (it says so at `warn`, once per response).
    buffered = (tmp_path / "nginx" / "error.log").read_text().count("buffered to a temporary file")
    assert buffered == STALLED_READERS, (tmp_path / "nginx" / "error.log").read_text()
    assert taken < 1_000_000
    assert max(took) < FAST, summary(took)
    with zipfile.ZipFile(BytesIO(body)) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == PHOTOS
        assert sum(info.file_size for info in archive.infolist()) == zip_sale.photo_bytes


# --- PORT mode (no proxy): the stall, and the warning --------------------------------------------------------


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_in_port_mode_stalled_zip_downloads_hold_the_threads_and_gunicorn_warns(zip_sale, tmp_path):
    """The same without nginx: the stall the nginx test proves away (if the app ever stops letting a
    stalled download hold its thread, this fails: the nginx test then proves nothing more, and
    both can go)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    with gunicorn(tmp_path, port, PORT=str(port), MEDIA_ROOT=str(tmp_path / "media")) as server:
        readers = [StalledReader(port, zip_sale.download_path, host="127.0.0.1") for _ in range(STALLED_READERS)]
        try:
            # The worker takes connections as they come, whether a thread is free or not: downloads
            # (and polls) behind the stalled ones wait in its queue.
            started = sum(reader.first_bytes(timeout=1) for reader in readers)
            handed_over, _ = wait_for_zips_logged(server, 2)
            stalled = timed_polls(url, zip_sale.external_id, 5, timeout=2)
        finally:
            for reader in readers:
                reader.close()
        recovered = timed_polls(url, zip_sale.external_id, 5, timeout=10)
        warnings = [m for m in server.messages() if m["level"] == "WARNING" and "PORT mode" in m["message"]]

    print(
        f"\nPORT mode: {started} of {STALLED_READERS} downloads got their first bytes, {handed_over} finished; "
        f"with them stalled, {summary(stalled)}; once they went away, {summary(recovered)}"
    )
    assert started == THREADS * WORKERS
    assert handed_over == 0
    assert min(stalled) >= FAST, summary(stalled)  # every poll waited behind the stalled downloads
    assert max(recovered) < FAST, summary(recovered)
    assert len(warnings) == 1, server.messages()
    assert "not for production" in warnings[0]["message"]
    assert "nginx" in warnings[0]["message"]
    assert "README" in warnings[0]["message"]


def start_up_messages(**values: str) -> list[str]:
    """What gunicorn -c gunicorn.conf.py logs before its first worker boots (the master's lines)."""
    environment = clean_environment(**{**PRODUCTION, "GUNICORN_WORKERS": "1", "LOG_LEVEL": "info", **values})
    process = subprocess.Popen(  # our own server, stopped below
        [str(GUNICORN), "-c", "gunicorn.conf.py", "photobox.wsgi"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    watchdog = threading.Timer(60, process.kill)  # never wait forever for a line that does not come
    watchdog.start()
    try:
        for line in process.stderr:
            lines.append(line.strip())
            if "Booting worker" in line:
                break
    finally:
        watchdog.cancel()
        stop(process)
    assert any("Booting worker" in line for line in lines), lines
    return lines


@pytest.mark.parametrize(
    ("values", "warned"),
    [
        ({"DEBUG": "false"}, True),
        ({"DEBUG": "true"}, False),  # development
        ({"DEBUG": "false", "GUNICORN_BIND": "127.0.0.1:{port}"}, False),  # behind a proxy: PORT unused
    ],
    ids=["production", "debug", "gunicorn-bind"],
)
def test_port_mode_warns_once_at_start_unless_debug(values, warned):
    port = free_port()
    values = {name: value.format(port=port) for name, value in values.items()}

    lines = start_up_messages(PORT=str(port), **values)

    warnings = [line for line in lines if "PORT mode" in line]
    assert len(warnings) == (1 if warned else 0), lines
    if warned:
        entry = json.loads(warnings[0])
        assert entry["level"] == "WARNING"
        assert entry["message"].startswith(f"PORT mode (0.0.0.0:{port}) is not for production")
        assert "slow readers" in entry["message"]
        assert "nginx setup in the README" in entry["message"]
