"""Database settings and database errors are one line: the variable, the supported schemes and
the fix, never a password, never a traceback. Each case is a real `manage.py` process."""

import contextlib
import socket
import struct
import threading

import pytest
from django.db import connection
from django.db.utils import OperationalError

from core.env import redact_url
from photobox.startup import is_connection_error
from tests.support.processes import PRODUCTION, manage, one_line_error

PASSWORD = "s3cret-Passw0rd"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def migrate(database_url: str, *args: str, timeout: int = 120):
    # KIOSK_AUTH=required: no system check warning printed before the error.
    environment = {**PRODUCTION, "KIOSK_AUTH": "required", "DATABASE_URL": database_url}
    return manage(environment, "migrate", "--noinput", *args, timeout=timeout)


# --- Refused at start: not a URL, an unsupported database --------------------------------------------


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("foo", "must be a database URL starting with postgres:// (PostgreSQL) or sqlite:// (SQLite), got 'foo'"),
        (f"mysql://photobox:{PASSWORD}@127.0.0.1:3306/photobox", "uses mysql://, which Photobox does not support"),
        ("oracle://photobox@db.internal/photobox", "uses oracle://, which Photobox does not support"),
        ("postgress://photobox@db.internal:5432/photobox", "uses postgress://"),
        (f"postgres://photobox:{PASSWORD}@db.internal:notaport/photobox", "is not a valid database URL"),
    ],
)
def test_a_bad_database_url_is_refused_at_start_in_one_line(url, said):
    line = one_line_error(migrate(url))

    assert line.startswith("Photobox cannot start: DATABASE_URL ")
    assert said in line
    assert "postgres://" in line
    assert "sqlite://" in line or "SQLite" in line
    assert PASSWORD not in line


def test_mysql_is_refused_before_django_tries_its_driver():
    result = migrate("mysql://photobox@127.0.0.1/photobox")

    assert "MySQLdb" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_scheme_gives_no_django_environ_warning():
    result = migrate("foo")

    assert "UserWarning" not in result.stderr
    assert "Engine not recognized" not in result.stderr


def test_redact_url_hides_only_the_password():
    assert redact_url("postgres://photobox:p@ss/word@db:5432/photobox") == "postgres://photobox:***@db:5432/photobox"
    assert redact_url("postgres://photobox@db:5432/photobox") == "postgres://photobox@db:5432/photobox"
    assert redact_url("sqlite:////srv/photobox/db.sqlite3") == "sqlite:////srv/photobox/db.sqlite3"


# --- Cannot connect: one line instead of a 90-line traceback --------------------------------------------


def test_unreachable_postgresql():
    port = free_port()  # nothing listens there

    line = one_line_error(migrate(f"postgres://photobox:{PASSWORD}@127.0.0.1:{port}/photobox"))

    assert line == (
        f"Cannot connect to the database at 127.0.0.1:{port} (connection refused): is PostgreSQL running and "
        f"listening there? DATABASE_URL=postgres://photobox:***@127.0.0.1:{port}/photobox"
    )


def test_unknown_host():
    line = one_line_error(migrate("postgres://photobox@no-such-host.invalid:5432/photobox"))

    assert line.startswith("Cannot connect to the database at no-such-host.invalid:5432 (unknown host name)")


def test_a_socket_directory_without_postgresql():
    line = one_line_error(migrate("postgres://photobox@%2Fnowhere%2Fpostgresql/photobox"))

    assert line.startswith("Cannot connect to the database at the Unix socket /nowhere/postgresql port 5432 ("), line
    assert "No such file or directory" in line


def test_the_traceback_is_still_there_when_asked_for():
    result = migrate(f"postgres://photobox@127.0.0.1:{free_port()}/photobox", "--traceback")

    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr


@contextlib.contextmanager
def postgresql_refusing_passwords():
    """A server speaking just enough of PostgreSQL's protocol to refuse every login, as a server
    does for a wrong password (the test database trusts every local login)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    error = b'SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "photobox"\0\0'

    def answer(client: socket.socket) -> None:
        with client:
            while True:
                header = client.recv(8, socket.MSG_WAITALL)
                if len(header) < 8:
                    return
                length, code = struct.unpack("!II", header)
                client.recv(length - 8, socket.MSG_WAITALL)
                if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: "not here"
                    client.sendall(b"N")
                    continue
                client.sendall(b"E" + struct.pack("!I", len(error) + 4) + error)
                return

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            answer(client)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_refused_password():
    with postgresql_refusing_passwords() as port:
        line = one_line_error(migrate(f"postgres://photobox:{PASSWORD}@127.0.0.1:{port}/photobox"))

    assert line == (
        f'The database at 127.0.0.1:{port} refused user "photobox" (password authentication failed for user '
        f'"photobox"): check the user name and the password in '
        f"DATABASE_URL=postgres://photobox:***@127.0.0.1:{port}/photobox"
    )


def test_sqlite_file_in_a_folder_that_does_not_exist(tmp_path):
    path = tmp_path / "no-such-folder" / "db.sqlite3"

    line = one_line_error(migrate(f"sqlite:///{path}"))

    assert line == (
        f"Cannot open the SQLite database {path} (unable to open database file): does its folder exist, and may "
        f"this user write there? DATABASE_URL=sqlite:///{path}"
    )


def real_server_url(user: str, name: str) -> str:
    db = connection.settings_dict
    return f"postgres://{user}:{PASSWORD}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@pytest.mark.postgresql
def test_missing_database():
    db = connection.settings_dict
    where = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"

    line = one_line_error(migrate(real_server_url(db["USER"], "photobox_no_such_database")))

    assert line.startswith(f'The database server at {where} has no database "photobox_no_such_database": create it (')
    assert f"DATABASE_URL=postgres://{db['USER']}:***@{where}/photobox_no_such_database" in line


@pytest.mark.postgresql
def test_unknown_user():
    line = one_line_error(migrate(real_server_url("photobox_no_such_role", connection.settings_dict["NAME"])))

    assert 'refused user "photobox_no_such_role" (role "photobox_no_such_role" does not exist)' in line
    assert PASSWORD not in line


def test_runserver_with_an_unreachable_database_stops_with_one_line():
    # runserver connects in its own thread (checking the migrations): without this it would print
    # a traceback and go on running, serving nothing.
    port = free_port()
    result = manage(
        {"DEBUG": "true", "DATABASE_URL": f"postgres://photobox@127.0.0.1:{port}/photobox"},
        "runserver",
        f"127.0.0.1:{free_port()}",
        timeout=60,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"Cannot connect to the database at 127.0.0.1:{port} (connection refused)" in result.stderr


def test_an_error_of_a_query_is_not_taken_for_a_connection_error(db):
    # A query's OperationalError (a timeout, a missing table on SQLite) keeps its traceback.
    if connection.vendor == "postgresql":
        setup, failing = ["SET LOCAL statement_timeout = 1"], "SELECT pg_sleep(1)"
    else:
        setup, failing = [], "SELECT * FROM photobox_no_such_table"
    with connection.cursor() as cursor:
        for statement in setup:
            cursor.execute(statement)
        with pytest.raises(OperationalError) as raised:
            cursor.execute(failing)

    assert not is_connection_error(raised.value)
