"""Production settings: the documented production .env passes `manage.py check --deploy` without
a warning; HTTPS is enforced (except /health), a proxy's X-Forwarded-Proto is trusted only when
told; /health reports the database and the version; gunicorn.conf.py loads with sane values."""

import json
import os
import re
import secrets
import sys

import pytest

from tests.support.processes import (
    GUNICORN,
    PRODUCTION,
    PROJECT_ROOT,
    clean_environment,
    run,
    start_up_error,
    started,
)


def production_example_in_env_example() -> list[str]:
    text = (PROJECT_ROOT / ".env.example").read_text()
    block = text[text.index("# --- Production example") :]
    return re.findall(r"^#\s+([A-Z][A-Z0-9_]*=.*)$", block, flags=re.MULTILINE)


def production_example_in_readme() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text()
    section = text[text.index("## Deploying") :]
    block = re.search(r"```dotenv\n(.*?)```", section, flags=re.DOTALL).group(1)
    return [line for line in block.splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=", line)]


def filled_in(lines: list[str]) -> dict[str, str]:
    """`NAME=value` lines with each `<placeholder>` replaced by a random value, as an operator would."""
    values = {}
    for line in lines:
        name, _, value = line.strip().partition("=")
        values[name] = re.sub(r"<[^>]*>", lambda _: secrets.token_hex(32), value)
    return values


EXAMPLES = {".env.example": production_example_in_env_example, "README.md": production_example_in_readme}


@pytest.mark.parametrize("source", EXAMPLES)
def test_documented_production_env_passes_the_deployment_checks(source):
    example = filled_in(EXAMPLES[source]())
    assert example["DEBUG"] == "false"

    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], clean_environment(**example)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_readme_and_env_example_show_the_same_production_env():
    assert production_example_in_readme() == production_example_in_env_example()


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"SECRET_KEY": "short-secret"}, "security.W009"),
    ],
)
def test_the_deployment_checks_catch_a_weakened_production_env(change, warning):
    environment = clean_environment(**{**filled_in(production_example_in_env_example()), **change})

    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], environment)

    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


# --- HTTPS settings ------------------------------------------------------------------------------------

SECURITY = (
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
    "USE_X_FORWARDED_HOST",
    "CSRF_TRUSTED_ORIGINS",
)


def test_production_is_https_only_by_default():
    assert started(PRODUCTION, *SECURITY) == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        # No proxy header is trusted until the operator says the proxy sets it.
        "SECURE_PROXY_SSL_HEADER": None,
        "USE_X_FORWARDED_HOST": False,
        "CSRF_TRUSTED_ORIGINS": [],
    }


def test_development_runs_over_plain_http():
    values = started({"DEBUG": "true"}, "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE")

    assert values == {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0, "SESSION_COOKIE_SECURE": False}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("false", None),
        ("true", ["HTTP_X_FORWARDED_PROTO", "https"]),
        ("X-Forwarded-Scheme", ["HTTP_X_FORWARDED_SCHEME", "https"]),
    ],
)
def test_proxy_ssl_header_only_when_told(value, expected):
    values = started({**PRODUCTION, "SECURE_PROXY_SSL_HEADER": value}, "SECURE_PROXY_SSL_HEADER")

    assert values["SECURE_PROXY_SSL_HEADER"] == expected


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"}, "SECURE_PROXY_SSL_HEADER"),
        ({"CSRF_TRUSTED_ORIGINS": "photobox.example.com"}, "CSRF_TRUSTED_ORIGINS"),
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS"),
        ({"SECURE_SSL_REDIRECT": "sometimes"}, "SECURE_SSL_REDIRECT"),
    ],
)
def test_bad_security_values_stop_start_up_naming_the_variable(change, named):
    assert named in start_up_error({**PRODUCTION, **change})


def test_csrf_trusted_origins_list():
    values = started(
        {**PRODUCTION, "CSRF_TRUSTED_ORIGINS": "https://photobox.example.com, https://admin.photobox.example.com"},
        "CSRF_TRUSTED_ORIGINS",
    )

    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://photobox.example.com", "https://admin.photobox.example.com"]


@pytest.fixture
def https_only(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def test_plain_http_is_redirected_to_https(api, db, https_only):
    response = api.get("/api/v1/transactions/external/TRX-1-X")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/v1/transactions/external/TRX-1-X"


def test_health_is_not_redirected_so_load_balancers_can_check_over_http(api, db, https_only):
    response = api.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_https_through_the_proxy_is_served_with_hsts(api, db, https_only):
    response = api.get("/api/v1/transactions/external/TRX-1-X", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 404
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_a_client_cannot_claim_https_when_no_proxy_is_trusted(api, db, https_only, settings):
    settings.SECURE_PROXY_SSL_HEADER = None

    response = api.get("/api/v1/transactions/external/TRX-1-X", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 301


# --- /health ---------------------------------------------------------------------------------------------

HEALTH = """
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "photobox.settings"
import django
django.setup()
from django.test import Client
response = Client(HTTP_HOST="photobox.example.com").get("/health")
print(response.status_code, response.content.decode())
"""


@pytest.mark.parametrize(
    ("database_url", "status", "database"),
    [
        ("sqlite:///:memory:", 200, "ok"),
        # Nothing listens on port 1: PostgreSQL is unreachable.
        ("postgres://photobox@127.0.0.1:1/photobox", 503, "error"),
    ],
)
def test_health_reports_the_database_and_the_version(database_url, status, database):
    environment = clean_environment(**PRODUCTION, DATABASE_URL=database_url, APP_VERSION="2.4.1")

    result = run([sys.executable, "-c", HEALTH], environment)

    assert result.returncode == 0, result.stderr
    code, _, body = result.stdout.strip().partition(" ")
    assert int(code) == status
    answer = json.loads(body)
    assert (answer["status"], answer["database"], answer["version"]) == (
        "ok" if status == 200 else "error",
        database,
        "2.4.1",
    )
    if status == 503:
        # The answer names no internals; the log tells the operator why.
        assert "Health check: the database did not answer" in result.stderr
        assert "Connection refused" in result.stderr


# --- gunicorn.conf.py ------------------------------------------------------------------------------------


def gunicorn_config(*, check: bool = False, **values: str) -> dict[str, str]:
    environment = clean_environment(**{**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50), **values})
    if check:  # loads the app too, as a worker would
        checked = run([str(GUNICORN), "--check-config", "-c", "gunicorn.conf.py", "photobox.wsgi"], environment)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    printed = run([str(GUNICORN), "--print-config", "-c", "gunicorn.conf.py", "photobox.wsgi"], environment)
    assert printed.returncode == 0, printed.stderr
    return {
        name.strip(): value.strip()
        for name, _, value in (line.partition("=") for line in printed.stdout.splitlines())
        if value
    }


def test_gunicorn_config_loads_with_the_app_and_sane_defaults():
    config = gunicorn_config(check=True)

    assert config["bind"] == "['127.0.0.1:8000']"
    assert config["worker_class"] == "gthread"
    assert int(config["workers"]) % os.cpu_count() == 0, "workers follow the cores"
    assert int(config["threads"]) >= 2
    assert int(config["timeout"]) < 30, "a stuck worker must be replaced before Xendit's 30-second webhook timeout"
    assert int(config["graceful_timeout"]) < 30
    assert "%(M)s" in config["access_log_format"]
    assert "%({x-request-id}o)s" in config["access_log_format"]
    assert config["accesslog"] == "None", "nginx logs each request: gunicorn's access line is off unless asked for"
    assert config["forwarded_allow_ips"] == "['127.0.0.1', '::1']"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"PORT": "5000"}, {"bind": "['0.0.0.0:5000']"}),
        ({"GUNICORN_BIND": "unix:/run/photobox.sock", "PORT": "5000"}, {"bind": "['unix:/run/photobox.sock']"}),
        (
            {"GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "8", "FORWARDED_ALLOW_IPS": "10.0.0.5"},
            {"workers": "3", "threads": "8", "forwarded_allow_ips": "['10.0.0.5']"},
        ),
        ({"GUNICORN_ACCESS_LOG": "true"}, {"accesslog": "-"}),
        ({"GUNICORN_ACCESS_LOG": "off"}, {"accesslog": "None"}),
    ],
)
def test_gunicorn_config_from_the_environment(values, expected):
    config = gunicorn_config(**values)

    assert {name: config[name] for name in expected} == expected


@pytest.mark.parametrize(("name", "value"), [("GUNICORN_WORKERS", "many"), ("GUNICORN_ACCESS_LOG", "sometimes")])
def test_gunicorn_config_refuses_a_malformed_value(name, value):
    environment = clean_environment(**PRODUCTION, **{name: value})

    result = run([str(GUNICORN), "--check-config", "-c", "gunicorn.conf.py", "photobox.wsgi"], environment)

    assert result.returncode != 0
    assert name in result.stdout + result.stderr
