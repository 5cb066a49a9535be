"""DEMO_KIOSK=true with DEBUG off: the demo kiosk, the admin and the API docs get their static files
from what `collectstatic` put in STATIC_ROOT. Without them, runserver and gunicorn refuse to start
with one line naming the command, instead of answering a bare 500. Servers without the demo kiosk
(kiosks' API only) still start, with a one-line warning; `check --deploy` and `migrate` never
look at static files (CI runs them without collectstatic)."""

import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.processes import PRODUCTION, PROJECT_ROOT, manage, one_line_error, settings_environment

GUNICORN = str(Path(sys.executable).parent / "gunicorn")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-kiosk")


def demo(root, static_root, **values: str) -> dict[str, str]:
    """A demo kiosk under production settings: DEBUG off, the payment simulator, SQLite."""
    return {
        **PRODUCTION,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "KIOSK_AUTH": "required",  # no system check warning in the output
        "DEMO_KIOSK": "true",
        "DATABASE_URL": f"sqlite:///{root / 'db.sqlite3'}",
        "STATIC_ROOT": str(static_root),
        "LOG_FORMAT": "plain",
        **values,
    }


@pytest.fixture(scope="module")
def collected(root):
    """STATIC_ROOT after `migrate` and `collectstatic`, which DEMO_KIOSK=true does not stop."""
    static_root = root / "static"
    for command in ("migrate", "collectstatic"):
        result = manage(demo(root, static_root), command, "--noinput", timeout=300)
        assert result.returncode == 0, result.stderr
    return static_root


def test_runserver_refuses_a_demo_kiosk_without_collected_static_files(root):
    static_root = root / "never-collected"

    line = one_line_error(manage(demo(root, static_root), "runserver", f"127.0.0.1:{free_port()}"))

    assert line == (
        "Photobox cannot start the demo kiosk (DEMO_KIOSK=true): Static files are not collected: run "
        f"`python manage.py collectstatic --noinput` (DEBUG=false serves them from STATIC_ROOT={static_root}). "
        "SECURE_SSL_REDIRECT is on (the default with DEBUG=false) and runserver speaks plain HTTP only: every "
        "page would redirect to https:// and fail. For a local try-out, set SECURE_SSL_REDIRECT=false."
    )


def test_runserver_refuses_a_demo_kiosk_that_would_redirect_to_https(collected, root):
    line = one_line_error(manage(demo(root, collected), "runserver", f"127.0.0.1:{free_port()}"))

    assert line.startswith("Photobox cannot start the demo kiosk (DEMO_KIOSK=true): SECURE_SSL_REDIRECT is on")
    assert line.endswith("For a local try-out, set SECURE_SSL_REDIRECT=false.")


def test_runserver_refuses_static_files_collected_before_the_kiosk_page_existed(collected, root, tmp_path):
    stale = tmp_path / "static"
    shutil.copytree(collected, stale)
    manifest = stale / "staticfiles.json"
    content = json.loads(manifest.read_text())
    content["paths"] = {name: hashed for name, hashed in content["paths"].items() if not name.startswith("kiosk/")}
    manifest.write_text(json.dumps(content))

    result = manage(demo(root, stale, SECURE_SSL_REDIRECT="false"), "runserver", f"127.0.0.1:{free_port()}")

    assert one_line_error(result) == (
        "Photobox cannot start the demo kiosk (DEMO_KIOSK=true): Static files are out of date (kiosk/kiosk.css "
        f"and 1 more not collected): run `python manage.py collectstatic --noinput` (DEBUG=false serves them from "
        f"STATIC_ROOT={stale})."
    )


def test_check_deploy_and_migrate_do_not_need_static_files(root, tmp_path):
    environment = demo(root, tmp_path / "never-collected", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    for args in (("check", "--deploy"), ("migrate", "--noinput")):
        result = manage(environment, *args)
        assert result.returncode == 0, result.stderr
        assert "collectstatic" not in result.stdout + result.stderr


# --- Real servers ---------------------------------------------------------------------------------------


def start_gunicorn(environment: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen(  # our own server, stopped by the caller
        [GUNICORN, "-c", "gunicorn.conf.py", "photobox.wsgi"],
        cwd=PROJECT_ROOT,
        env=settings_environment(
            {**environment, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2"}
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_serving(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the server did not start within 60 s"
        time.sleep(0.2)


def test_gunicorn_refuses_a_demo_kiosk_without_collected_static_files(root):
    static_root = root / "never-collected"
    process = start_gunicorn(demo(root, static_root), free_port())
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        stop(process)

    assert process.returncode == 3, stderr  # gunicorn: "Worker failed to boot", and it stops
    assert "Traceback" not in stderr
    assert "UserWarning" not in stderr
    assert (
        "Photobox cannot start the demo kiosk (DEMO_KIOSK=true): Static files are not collected: run "
        f"`python manage.py collectstatic --noinput` (DEBUG=false serves them from STATIC_ROOT={static_root}).\n"
    ) in stderr


def test_gunicorn_without_the_demo_kiosk_starts_and_warns_in_one_line(root):
    # An instance serving the kiosks' API (tests/support/live_instances.py starts such ones).
    environment = settings_environment(demo(root, root / "never-collected", DEMO_KIOSK="false"))

    result = subprocess.run(
        [GUNICORN, "--check-config", "-c", "gunicorn.conf.py", "photobox.wsgi"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    (warning,) = [line for line in result.stderr.splitlines() if "collectstatic" in line]
    assert warning.endswith(
        "WARNING photobox Static files are not collected: run `python manage.py collectstatic "
        f"--noinput` (DEBUG=false serves them from STATIC_ROOT={root / 'never-collected'})."
    )


def test_gunicorn_serves_the_demo_kiosk_with_its_static_files_once_collected(collected, root):
    port = free_port()
    process = start_gunicorn(demo(root, collected, SECURE_SSL_REDIRECT="false"), port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, url)
        page = requests.get(f"{url}/kiosk/", timeout=10)
        assert page.status_code == 200
        stylesheet = re.search(r'href="(/static/kiosk/kiosk\.[0-9a-f]{12}\.css)"', page.text).group(1)
        assert requests.get(f"{url}{stylesheet}", timeout=10).status_code == 200
        for path in ("/admin/login/", "/docs"):
            assert requests.get(f"{url}{path}", timeout=10).status_code == 200, path
    finally:
        stop(process)


def test_runserver_serves_the_demo_kiosk_once_collected_and_told_not_to_redirect(collected, root):
    port = free_port()
    environment = settings_environment(demo(root, collected, SECURE_SSL_REDIRECT="false"))
    process = subprocess.Popen(  # our own server, stopped below
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, url)
        assert requests.get(f"{url}/kiosk/", timeout=10).status_code == 200
    finally:
        stop(process)
