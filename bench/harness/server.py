"""gunicorn with production settings on a free port."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.harness.common import CALLBACK_TOKEN, PROXY_HEADERS, PYTHON, ROOT


# --- The server -----------------------------------------------------------------------------------
def server_env(database: str, **overrides: str) -> dict[str, str]:
    """Production settings (DEBUG off), the simulator gateway, and every outside service pointed
    nowhere unless a benchmark points it at a fake: a developer's .env must not send benchmark
    traffic to a real Cloudinary or mail server (values set here win over .env)."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": database,
            "DEBUG": "false",
            "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PAYMENT_GATEWAY": "simulator",
            "XENDIT_API_KEY": "",
            "XENDIT_CALLBACK_TOKEN": CALLBACK_TOKEN,
            "XENDIT_API_URL": "http://127.0.0.1:9",
            "ENCRYPTION_ENABLED": "false",
            "CLOUDINARY_URL": "",
            "CLOUDINARY_CLOUD_NAME": "",
            "MAIL_SERVER": "",
            "EMAIL_PROVIDER": "",
            # No mail server: DEBUG off needs the console chosen explicitly.
            "EMAIL_BACKEND": "console",
            "MAINTENANCE_TOKEN": "bench-maintenance-token-0123456789abcdef",
            # The load generators send no kiosk key (the default with DEBUG off is `required`).
            "KIOSK_AUTH": "optional",
            # Every load generator is one client (one address, no key): counted atomically now, the
            # sale-creation limit (30 a minute) would measure the limit, not the creation.
            "RATE_LIMIT_SALE_CREATE": "off",
            "API_BASE_URL": "http://127.0.0.1",
            "LOG_LEVEL": "info",
            "CORS_ORIGINS": "",
            # Behind the TLS-terminating proxy, as in production: the proxy says the request came
            # over HTTPS (the load generators send X-Forwarded-Proto: https), so no redirect.
            "SECURE_PROXY_SSL_HEADER": "true",
            "TRUSTED_PROXY_COUNT": "1",
            "STATIC_ROOT": str(_empty_static_root()),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(overrides)
    return env


def _empty_static_root() -> Path:
    path = Path(tempfile.gettempdir()) / "photobox-bench" / "static"
    path.mkdir(parents=True, exist_ok=True)
    return path


def manage(env: dict[str, str], *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, **kwargs)  # noqa: S603


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn serving photobox.wsgi on a free port of 127.0.0.1, stopped on exit; from this
    checkout, or from another one (`root`, e.g. main's, to measure it in the same run). Subclasses
    serve something else the same way (`command`, `ready`: bench/harness/refs.py)."""

    name = "gunicorn"
    ready = ("/health", 200)  # the path answering `status` once the server serves

    def __init__(self, env: dict[str, str], args: list[str], *, log: Path, root: Path = ROOT) -> None:
        self.env, self.args, self.log_path, self.root = env, args, log, root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        return [PYTHON, "-m", "gunicorn", "photobox.wsgi:application", *self.args, "--bind", f"127.0.0.1:{self.port}"]

    def __enter__(self) -> "Gunicorn":
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            self.command(),
            cwd=self.root,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        path, expected = self.ready
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited with {self.process.returncode}: see {self.log_path}")
            with contextlib.suppress(OSError):
                status, _, _ = request("GET", self.port, path, timeout=2)
                if status == expected and len(self.worker_pids()) >= 1:
                    return self
            time.sleep(0.2)
        self.__exit__()
        raise SystemExit(f"{self.name} did not answer {path} within 60 s: see {self.log_path}")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            return [int(pid) for pid in path.read_text().split()]
        return []

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn: quick shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def request(method: str, port: int, path: str, *, body: bytes | None = None, headers=None, timeout: float = 30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=PROXY_HEADERS | (headers or {}))
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def staff_client(database: str, **overrides: str):
    """Django set up in this process with the benchmark server's settings (plus `overrides`, the
    --env values), and a test client logged in as a superuser: for benchmarks that render staff
    pages in-process (no gunicorn between)."""
    os.environ.update(server_env(database, **{"LOG_LEVEL": "warning", **overrides}))
    import django

    django.setup()
    from django.conf import settings

    # No collectstatic: plain static URLs instead of the production manifest's hashed ones.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.filter(username="bench").first()
    if user is None:
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password")
    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.10")
    client.force_login(user)
    return client
