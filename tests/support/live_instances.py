"""Real Photobox instances (gunicorn with gunicorn.conf.py, production settings) on the test
database, for tests about what crosses process boundaries. PostgreSQL only: the SQLite test
database lives in the test process's memory."""

import contextlib
import socket
import subprocess
import time

import requests
from django.db import connection

from tests.support.processes import GUNICORN, PROJECT_ROOT, clean_environment


def database_url() -> str:
    """The test database, for processes started by the test."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def instance_environment(**values: str) -> dict[str, str]:
    """One production instance's environment, on the test database (unless `values` say otherwise)."""
    return clean_environment(
        **{
            "DEBUG": "false",
            "SECRET_KEY": "scaling-out-test-secret-key-not-for-production",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "PAYMENT_GATEWAY": "simulator",
            # Requests in these tests send no kiosk key unless a test asks for KIOSK_AUTH=required.
            "KIOSK_AUTH": "optional",
            # No mail server: emails go to the console (stdout), chosen explicitly as DEBUG is off.
            "EMAIL_BACKEND": "console",
            "DATABASE_URL": database_url(),
            "DB_POOL_SIZE": "0",
            "LOG_LEVEL": "warning",
            **values,
        }
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def instances(count: int, **values: str):
    """`count` gunicorn instances (one worker process each), as behind a load balancer."""
    servers = []
    try:
        for _ in range(count):
            port = free_port()
            environment = instance_environment(
                GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1", GUNICORN_THREADS="2", **values
            )
            process = subprocess.Popen(
                [str(GUNICORN), "-c", "gunicorn.conf.py", "photobox.wsgi"],
                cwd=PROJECT_ROOT,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            servers.append((process, f"http://127.0.0.1:{port}"))
        for process, url in servers:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, process.stderr.read().decode()
                with contextlib.suppress(requests.RequestException):  # listening, app still loading
                    if requests.get(f"{url}/health", timeout=5).status_code == 200:
                        break
                assert time.monotonic() < deadline, "the instance did not start"
                time.sleep(0.2)
        yield [url for _, url in servers]
    finally:
        for process, _ in servers:
            process.terminate()
        for process, _ in servers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
