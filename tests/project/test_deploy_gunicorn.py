"""The deployment as the README describes it: `collectstatic`, then gunicorn with gunicorn.conf.py
and DEBUG off behind a TLS-terminating proxy. The admin and the API docs get their static files
from whitenoise (hashed, cached for a year, compressed), /health answers over plain HTTP, and the
access log, when turned on, is one JSON line per request with its duration and request id."""

import json
import re
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.processes import GUNICORN, PRODUCTION, PROJECT_ROOT, clean_environment, run

HTTPS = {"X-Forwarded-Proto": "https"}  # what nginx adds in front of a TLS request


@dataclass
class Server:
    url: str
    access_log: Path

    def get(self, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return requests.get(self.url + path, timeout=10, **kwargs)

    def access_lines(self) -> list[dict]:
        time.sleep(0.2)  # gunicorn writes the line just after the response
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line.startswith("{")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy")
    port = free_port()
    environment = clean_environment(
        **{**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1"},
        DATABASE_URL=f"sqlite:///{root / 'db.sqlite3'}",
        STATIC_ROOT=str(root / "static"),
        SECURE_PROXY_SSL_HEADER="true",
        APP_VERSION="9.9.9",
        LOG_FORMAT="json",
        GUNICORN_ACCESS_LOG="true",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
    )
    for command in ("migrate", "collectstatic"):
        prepared = run([sys.executable, "manage.py", command, "--noinput"], environment, timeout=300)
        assert prepared.returncode == 0, prepared.stderr

    access_log = root / "stdout.log"
    with access_log.open("w") as stdout, (root / "stderr.log").open("w") as stderr:
        process = subprocess.Popen(  # our own server, stopped below
            [str(GUNICORN), "-c", "gunicorn.conf.py", "photobox.wsgi"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=stdout,
            stderr=stderr,
        )
    started = Server(url=f"http://127.0.0.1:{port}", access_log=access_log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if started.get("/health").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, (root / "stderr.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not start within 60 s"
            time.sleep(0.2)
        yield started
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def linked(html: str, kind: str) -> list[str]:
    pattern = r'<link[^>]+href="([^"]+\.css)"' if kind == "css" else r'<script[^>]+src="([^"]+\.js)"'
    return re.findall(pattern, html)


def test_the_admin_gets_its_stylesheets_under_gunicorn_with_debug_off(server):
    page = server.get("/admin/login/", headers=HTTPS)

    assert page.status_code == 200
    stylesheets = linked(page.text, "css")
    assert any(re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", href) for href in stylesheets), stylesheets
    for href in stylesheets:
        css = server.get(href, headers={**HTTPS, "Accept-Encoding": "gzip"})
        assert css.status_code == 200, href
        assert css.headers["Content-Type"].startswith("text/css")
        assert css.headers["Content-Encoding"] == "gzip"
        # Hashed names never change content: browsers keep them for a year.
        assert "max-age=315360000" in css.headers["Cache-Control"]
        assert "immutable" in css.headers["Cache-Control"]
        assert "body" in css.text or "{" in css.text


def test_the_api_docs_load_everything_from_this_server(server):
    for page, needed in (("/docs", "swagger-ui-bundle"), ("/redoc", "redoc.standalone")):
        html = server.get(page, headers=HTTPS)
        assert html.status_code == 200, page
        assets = linked(html.text, "css") + linked(html.text, "js")
        assert any(needed in asset for asset in assets), assets
        for asset in assets:
            assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
            assert server.get(asset, headers=HTTPS).status_code == 200, asset
    schema = server.get("/api/schema/?format=json", headers=HTTPS)
    assert schema.status_code == 200
    assert "/api/v1/transactions" in schema.json()["paths"]


def test_plain_http_is_redirected_but_health_answers_with_the_version(server):
    redirected = server.get("/admin/login/")
    health = server.get("/health")

    assert redirected.status_code == 301
    assert redirected.headers["Location"].startswith("https://")
    assert health.status_code == 200
    assert health.json() | {"timestamp": None} == {
        "status": "ok",
        "timestamp": None,
        "database": "ok",
        "version": "9.9.9",
    }


def test_https_answers_carry_hsts(server):
    response = server.get("/health", headers=HTTPS)

    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_access_log_is_one_json_line_per_request_with_duration_and_request_id(server):
    response = server.get("/api/v1/transactions/external/NOPE", headers={**HTTPS, "X-Request-ID": "kiosk-req-77"})

    assert response.status_code == 404
    (line,) = [entry for entry in server.access_lines() if entry.get("request_id") == "kiosk-req-77"]
    assert line["logger"] == "gunicorn.access"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/transactions/external/NOPE", 404)
    assert isinstance(line["duration_ms"], int)
