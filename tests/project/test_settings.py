"""Configuration from the environment: a bad value stops start-up with a message naming the
variable; CORS_* are read as the seed's .env writes them; every response has X-Request-ID."""

import re
import uuid

import environ
import pytest

from tests.support.processes import (
    PRODUCTION,
    PROJECT_ROOT,
    SETTINGS_VARIABLES,
    manage,
    start_up_error,
    started,
)

ENV_EXAMPLE = PROJECT_ROOT / ".env.example"


def test_the_settings_read_the_seed_variables():
    # Guards SETTINGS_VARIABLES: a renamed variable would otherwise make the cases below meaningless.
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "PAYMENT_GATEWAY", "ENCRYPTION_KEY", "CORS_ORIGINS"} <= set(
        SETTINGS_VARIABLES
    )


# --- Start-up refuses bad configuration --------------------------------------------------------


def test_production_baseline_starts():
    values = started(PRODUCTION, "DEBUG", "PAYMENT_GATEWAY")

    assert values == {"DEBUG": False, "PAYMENT_GATEWAY": "simulator"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DATABASE_URL": "postgres://photobox@127.0.0.1:5432/photobox", "DB_POOL_SIZE": "abc"}, "DB_POOL_SIZE"),
        ({"ENCRYPTION_ENABLED": "true", "ENCRYPTION_IV": "change_me_16char"}, "ENCRYPTION_KEY"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"ENCRYPTION_ENABLED": "true", "ENCRYPTION_KEY": "change_me_32_characters_long!!00"}, "ENCRYPTION_IV"),
        ({"XENDIT_CONNECT_TIMEOUT": "0"}, "XENDIT_CONNECT_TIMEOUT"),
        ({"PAYMENT_GATEWAY": "xendit", "XENDIT_API_KEY": "xnd_development_abc"}, "XENDIT_CALLBACK_TOKEN"),
        ({"PAYMENT_GATEWAY": "xendit", "XENDIT_CALLBACK_TOKEN": "t" * 32}, "XENDIT_API_KEY"),
        ({"PAYMENT_GATEWAY": "stripe"}, "PAYMENT_GATEWAY"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"DATABASE_URL": "postgres://photobox@db.internal:notaport/photobox"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgress://photobox@db.internal:5432/photobox"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"SALE_EXPIRY_MINUTES": "15m"}, "SALE_EXPIRY_MINUTES"),
        ({"XENDIT_READ_TIMEOUT": "slow"}, "XENDIT_READ_TIMEOUT"),
        ({"CORS_ORIGINS": '["https://kiosk.example.com",'}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "*", "CORS_ALLOW_CREDENTIALS": "true"}, "CORS_ORIGINS"),
    ],
)
def test_bad_value_stops_start_up_naming_the_variable(change, named):
    message = start_up_error({**PRODUCTION, **change})

    assert named in message


def test_production_without_a_gateway_refuses_to_take_fake_payments():
    message = start_up_error({**PRODUCTION, "PAYMENT_GATEWAY": "", "XENDIT_API_KEY": ""})

    assert "XENDIT_API_KEY" in message
    assert "PAYMENT_GATEWAY=simulator" in message


def test_a_xendit_key_selects_the_xendit_gateway():
    env = {
        **PRODUCTION,
        "PAYMENT_GATEWAY": "",
        "XENDIT_API_KEY": "xnd_development_abc",
        "XENDIT_CALLBACK_TOKEN": "t" * 32,
    }

    assert started(env, "PAYMENT_GATEWAY") == {"PAYMENT_GATEWAY": "xendit"}


def test_debug_alone_starts_a_demo_with_the_simulator_and_sqlite():
    values = started({"DEBUG": "true"}, "DEBUG", "PAYMENT_GATEWAY", "DATABASES", "SECRET_KEY", "ALLOWED_HOSTS")

    assert values["DEBUG"] is True
    assert values["PAYMENT_GATEWAY"] == "simulator"
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["SECRET_KEY"]
    assert "localhost" in values["ALLOWED_HOSTS"]


# --- .env.example ---------------------------------------------------------------------------------


def env_example() -> dict[str, str]:
    """.env.example read by django-environ's own .env parser, as photobox.settings reads .env."""

    class ExampleEnv(environ.Env):
        ENVIRON: dict[str, str] = {}  # read_env fills this instead of os.environ

    ExampleEnv.read_env(ENV_EXAMPLE)
    return ExampleEnv.ENVIRON


def test_env_example_documents_every_variable_the_settings_read():
    documented = env_example()

    assert sorted(set(SETTINGS_VARIABLES) - set(documented)) == []


def test_env_example_with_debug_on_is_a_working_demo():
    values = started({**env_example(), "DEBUG": "true"}, "PAYMENT_GATEWAY", "DATABASES", "ENCRYPTION_ENABLED")

    assert values["PAYMENT_GATEWAY"] == "simulator"
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["ENCRYPTION_ENABLED"] is False


def test_env_example_as_is_does_not_start_in_production():
    # Copied without editing, it must not run a production service with a known secret key.
    message = start_up_error(env_example())

    assert "SECRET_KEY" in message


# --- CORS_* as the seed's .env writes them ---------------------------------------------------------

CORS_SETTINGS = ("CORS_ALLOWED_ORIGINS", "CORS_ALLOWED_ORIGIN_REGEXES", "CORS_ALLOW_ALL_ORIGINS")


@pytest.mark.parametrize(
    "origins",
    [
        "http://localhost:3000,https://kiosk.photobox.example",
        " http://localhost:3000 , https://kiosk.photobox.example ,",
        '["http://localhost:3000", "https://kiosk.photobox.example"]',
    ],
)
def test_cors_origins_comma_or_json_list(origins):
    values = started({**PRODUCTION, "CORS_ORIGINS": origins}, *CORS_SETTINGS)

    assert values == {
        "CORS_ALLOWED_ORIGINS": ["http://localhost:3000", "https://kiosk.photobox.example"],
        "CORS_ALLOWED_ORIGIN_REGEXES": [],
        "CORS_ALLOW_ALL_ORIGINS": False,
    }


def test_cors_wildcard_subdomain_pattern():
    values = started({**PRODUCTION, "CORS_ORIGINS": "http://localhost:3000,https://*.example.com"}, *CORS_SETTINGS)

    assert values["CORS_ALLOWED_ORIGINS"] == ["http://localhost:3000"]
    assert values["CORS_ALLOW_ALL_ORIGINS"] is False
    (pattern,) = values["CORS_ALLOWED_ORIGIN_REGEXES"]
    # django-cors-headers applies the patterns with re.match.
    for allowed in ("https://kiosk.example.com", "https://a.b.example.com"):
        assert re.match(pattern, allowed), allowed
    for refused in (
        "https://example.com.evil.com",
        "https://kiosk.example.com.evil.com",
        "https://evilexample.com",
        "https://kioskXexample.com",
        "http://kiosk.example.com",
        "https://example.com",
    ):
        assert not re.match(pattern, refused), refused


def test_cors_methods_and_headers_lists():
    env = {**PRODUCTION, "CORS_ALLOW_METHODS": "get,POST,OPTIONS", "CORS_ALLOW_HEADERS": '["Content-Type", "X-Kiosk"]'}

    values = started(env, "CORS_ALLOW_METHODS", "CORS_ALLOW_HEADERS", "CORS_EXPOSE_HEADERS")

    assert values == {
        "CORS_ALLOW_METHODS": ["GET", "POST", "OPTIONS"],
        "CORS_ALLOW_HEADERS": ["content-type", "x-kiosk"],
        "CORS_EXPOSE_HEADERS": ["X-Request-ID"],
    }


# --- CORS and X-Request-ID on real responses -----------------------------------------------------

KIOSK_ORIGIN = "https://kiosk.photobox.example"


@pytest.fixture
def kiosk_origin(settings):
    settings.CORS_ALLOW_ALL_ORIGINS = False
    settings.CORS_ALLOWED_ORIGINS = [KIOSK_ORIGIN]
    settings.CORS_ALLOWED_ORIGIN_REGEXES = []


def test_api_error_carries_cors_headers(api, db, kiosk_origin):
    response = api.get("/api/v1/transactions/external/NOPE", HTTP_ORIGIN=KIOSK_ORIGIN)

    assert response.status_code == 404
    assert response.json()["message"] == "Transaction not found"
    assert response["Access-Control-Allow-Origin"] == KIOSK_ORIGIN
    exposed = [h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")]
    assert "x-request-id" in exposed


def test_unknown_api_route_carries_cors_headers(api, db, kiosk_origin):
    response = api.get("/api/v1/no-such-thing", HTTP_ORIGIN=KIOSK_ORIGIN)

    assert response.status_code == 404
    assert response.json()["success"] is False
    assert response["Access-Control-Allow-Origin"] == KIOSK_ORIGIN


def test_other_origins_get_no_cors_headers(api, db, kiosk_origin):
    response = api.get("/api/v1/transactions/external/NOPE", HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 404
    assert "Access-Control-Allow-Origin" not in response


def test_wildcard_subdomain_origin_is_allowed_on_requests(api, db, settings):
    settings.CORS_ALLOWED_ORIGINS = []
    settings.CORS_ALLOWED_ORIGIN_REGEXES = [r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.example\.com$"]

    allowed = api.get("/api/v1/transactions/external/NOPE", HTTP_ORIGIN="https://kiosk.example.com")
    refused = api.get("/api/v1/transactions/external/NOPE", HTTP_ORIGIN="https://example.com.evil.com")

    assert allowed["Access-Control-Allow-Origin"] == "https://kiosk.example.com"
    assert "Access-Control-Allow-Origin" not in refused


def test_preflight_for_create_is_allowed(api, db, kiosk_origin):
    response = api.options(
        "/api/v1/transactions",
        HTTP_ORIGIN=KIOSK_ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,idempotency-key",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == KIOSK_ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed_headers = response["Access-Control-Allow-Headers"].lower()
    assert "content-type" in allowed_headers
    assert "idempotency-key" in allowed_headers


@pytest.fixture
def poll_urls(make_sale):
    sale = make_sale()
    return {
        "success": f"/api/v1/transactions/external/{sale.external_id}",
        "error": "/api/v1/transactions/external/NOPE",
    }


@pytest.mark.parametrize(("outcome", "status"), [("success", 200), ("error", 404)])
def test_request_id_is_echoed(api, poll_urls, outcome, status):
    response = api.get(poll_urls[outcome], HTTP_X_REQUEST_ID="kiosk-PB-001-req-42")

    assert response.status_code == status
    assert response["X-Request-ID"] == "kiosk-PB-001-req-42"


@pytest.mark.parametrize(("outcome", "status"), [("success", 200), ("error", 404)])
def test_request_id_is_a_new_uuid_when_not_sent(api, poll_urls, outcome, status):
    first = api.get(poll_urls[outcome])
    second = api.get(poll_urls[outcome])

    assert first.status_code == second.status_code == status
    assert str(uuid.UUID(first["X-Request-ID"])) == first["X-Request-ID"]
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_request_id_on_validation_error(api, db):
    response = api.post("/api/v1/transactions", {}, format="json", HTTP_X_REQUEST_ID="retry-7")

    assert response.status_code == 422
    assert response["X-Request-ID"] == "retry-7"


@pytest.mark.postgresql
@pytest.mark.parametrize("pre_ping", ["true", "false"])
def test_a_connection_pool_starts_and_answers_queries(pre_ping):
    """DB_POOL_SIZE > 0 (psycopg's pool) once failed every start: the pool's check was given twice."""
    from django.db import connection

    url = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
    done = manage(
        {"DEBUG": "true", "DATABASE_URL": url, "DB_POOL_SIZE": "2", "DB_POOL_PRE_PING": pre_ping},
        "shell",
        "-c",
        "from django.db import connection; connection.ensure_connection(); "
        "print(connection.cursor().execute('SELECT 41 + 1').fetchone()[0])",
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "42"


@pytest.mark.postgresql
@pytest.mark.parametrize("written", ["percent-encoded host", "host parameter"])
def test_a_database_on_this_machine_is_reached_through_its_unix_socket(db, written):
    """libpq's two ways to name a socket directory in a URL: the percent-encoded host (once read as a
    host name, `%2Fvar%2Frun%2Fpostgresql`, so Photobox could not start) and `?host=`."""
    from urllib.parse import quote

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW unix_socket_directories")
        directory = cursor.fetchone()[0].split(",")[0].strip()
    user, name = connection.settings_dict["USER"], connection.settings_dict["NAME"]
    url = (
        f"postgres://{user}@{quote(directory, safe='')}/{name}"
        if written == "percent-encoded host"
        else f"postgres://{user}@/{name}?host={directory}"
    )
    done = manage(
        {"DEBUG": "true", "DATABASE_URL": url},
        "shell",
        "-c",
        "from django.db import connection; "
        "print(connection.cursor().execute('SELECT inet_server_addr() IS NULL').fetchone()[0])",
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "True"  # no server address: not TCP


# --- The kiosk poll's own connection ---------------------------------------------------------------

POSTGRES_URL = "postgres://photobox@127.0.0.1:5432/photobox"


@pytest.mark.parametrize(
    ("env", "poll_database"),
    [
        ({"DATABASE_URL": POSTGRES_URL}, "poll"),
        ({"DATABASE_URL": POSTGRES_URL, "DB_POLL_CONNECTION": "false"}, "default"),
        ({"DATABASE_URL": POSTGRES_URL, "DB_POOL_SIZE": "2"}, "default"),  # a pool: Django checks out per request
        ({"DATABASE_URL": "sqlite:///:memory:"}, "default"),
    ],
)
def test_the_poll_has_its_own_connection_only_on_postgresql_without_a_pool(env, poll_database):
    values = started({"DEBUG": "true", **env}, "DATABASES", "POLL_DATABASE")

    assert values["POLL_DATABASE"] == poll_database
    assert sorted(values["DATABASES"]) == sorted({"default", poll_database})
    if poll_database == "poll":
        default, poll = values["DATABASES"]["default"], values["DATABASES"]["poll"]
        # The same database and credentials; only how the poll's SELECT binds and is checked differ.
        assert {key: poll[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT", "CONN_MAX_AGE")} == {
            key: default[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT", "CONN_MAX_AGE")
        }
        assert poll["OPTIONS"] == default["OPTIONS"]
        assert (poll["CONN_HEALTH_CHECKS"], default["CONN_HEALTH_CHECKS"]) == (False, True)
        assert poll["OPTIONS"]["server_side_binding"] is True
        assert poll["OPTIONS"]["prepare_threshold"] == 5
