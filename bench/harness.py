"""What every benchmark shares: its own PostgreSQL database seeded with bulk SQL, gunicorn with
production settings on a free port, a load generator (wrk, else a small Python client), the
SQL-per-request count, and one printed table.

Nothing here talks to anything but 127.0.0.1.
"""

import argparse
import asyncio
import contextlib
import datetime
import hashlib
import http.client
import json
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432").rstrip("/")
CALLBACK_TOKEN = "bench-callback-token-0123456789abcdef"  # noqa: S105 - the benchmark server's own
PRICE_ID = "00000000-0000-4000-8000-000000000001"
LOCATIONS = 200
# What the reverse proxy (one: TRUSTED_PROXY_COUNT=1) adds to every request it forwards.
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.10"}

# Gunicorn for 2 cores when the repository has no gunicorn.conf.py (see bench/README.md for how
# this was chosen). With a gunicorn.conf.py in the repository, gunicorn reads it and these are not
# passed; --gunicorn-args always wins.
DEFAULT_GUNICORN_ARGS = "--workers 2 --worker-class gthread --threads 4 --timeout 25"


# --- Command line ---------------------------------------------------------------------------------
KEEP_DB = False


class _Parser(argparse.ArgumentParser):
    def parse_args(self, *args, **kwargs):
        global KEEP_DB
        parsed = super().parse_args(*args, **kwargs)
        KEEP_DB = parsed.keep_db
        return parsed


def db_name(base: str) -> str:
    """A benchmark's database: its own per run (two runs at once must not drop each other's),
    or, with --keep-db, one kept and reused from run to run."""
    return base if KEEP_DB else f"{base}_run{os.getpid()}"


def _stop_on_sigterm(signum, frame):
    # Raise instead of dying at once, so the servers a benchmark started are stopped on the way out.
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _stop_on_sigterm)


def parser(description: str) -> argparse.ArgumentParser:
    p = _Parser(description=description)
    p.add_argument("--smoke", action="store_true", help="tiny sizes and short runs: proves the benchmark works")
    p.add_argument(
        "--gunicorn-args",
        default=None,
        help=f"gunicorn options (default: gunicorn.conf.py if the repository has one, else {DEFAULT_GUNICORN_ARGS!r})",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server, e.g. --env DB_POOL_PRE_PING=false (repeatable)",
    )
    p.add_argument(
        "--proposed",
        action="store_true",
        help="run the server with the settings bench/README.md proposes (PROPOSED_GUNICORN, PROPOSED_ENV)",
    )
    p.add_argument("--keep-db", action="store_true", help="keep the benchmark database afterwards")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    return p


def gunicorn_args(option: str | None) -> list[str]:
    if option is not None:
        return shlex.split(option)
    if (ROOT / "gunicorn.conf.py").exists():
        return []  # gunicorn reads ./gunicorn.conf.py by itself
    return shlex.split(DEFAULT_GUNICORN_ARGS)


def gunicorn_description(option: str | None) -> str:
    args = " ".join(gunicorn_args(option))
    if (ROOT / "gunicorn.conf.py").exists():
        return f"gunicorn.conf.py {args}".strip()
    return args


# What bench/README.md proposes for production, tried with --proposed: gunicorn.conf.py (or the
# default above) with these lines added, and these environment variables.
PROPOSED_GUNICORN = """
workers = 2  # GUNICORN_WORKERS=2 (threads stay 4)
max_requests = 0  # GUNICORN_MAX_REQUESTS=0: a worker restart costs ~1 s of CPU
max_requests_jitter = 0
accesslog = None  # the reverse proxy logs requests (see bench/README.md)


def post_worker_init(worker):
    # What start-up loaded (Django, the apps) is never garbage: keep it out of the cyclic
    # collector's way, so each collection walks only what requests allocate.
    import gc

    gc.collect()
    gc.freeze()
"""
PROPOSED_ENV = {
    # OPTIONS["prepare_threshold"] = 5 (emulated by bench/settings.py, as before
    # photobox/settings/database.py had DB_PREPARE_THRESHOLD): psycopg prepares the poll's SELECT
    # on each connection, PostgreSQL stops re-planning it.
    "BENCH_DB_PREPARE_THRESHOLD": "5",
}


def config_with(python: str, options: list[str]) -> list[str]:
    """gunicorn options for the repository's gunicorn.conf.py (or `options` without one) with
    `python` appended: a config file of its own under the temporary directory."""
    base = ROOT / "gunicorn.conf.py"
    path = (
        Path(tempfile.gettempdir())
        / "photobox-bench"
        / f"gunicorn-{hashlib.sha256(python.encode()).hexdigest()[:12]}.py"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    if base.exists():
        lines += [
            "import runpy",
            f"globals().update((k, v) for k, v in runpy.run_path({str(base)!r}).items() if k[:2] != '__')",
        ]
    path.write_text("\n".join([*lines, python]) + "\n")
    return ["--config", str(path), *([] if base.exists() else options)]


def server_options(args: argparse.Namespace) -> list[str]:
    """The gunicorn options a benchmark runs with, from its command line."""
    if args.proposed:
        return config_with(PROPOSED_GUNICORN, gunicorn_args(None)) + gunicorn_args(args.gunicorn_args or "")
    return gunicorn_args(args.gunicorn_args)


def server_extra_env(args: argparse.Namespace) -> dict[str, str]:
    return (PROPOSED_ENV if args.proposed else {}) | extra_env(args.env)


def server_description(args: argparse.Namespace) -> str:
    text = gunicorn_description(args.gunicorn_args)
    if args.proposed:
        text += " + the proposed settings (bench/README.md)"
    if args.env:
        text += " with " + " ".join(args.env)
    return text


def extra_env(pairs: Sequence[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--env needs NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


# --- Database -------------------------------------------------------------------------------------
def database_url(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(database_url("postgres"), autocommit=True)


def drop_database(name: str) -> None:
    with admin_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _migrations_signature() -> str:
    names = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("*/migrations/0*.py"))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def prepare_database(name: str, seed, *, signature: str, env: dict[str, str]) -> str:
    """A migrated database `name` seeded by `seed(conn)`. Reused as it is when a previous run
    left one (--keep-db) seeded with the same signature and the same migrations."""
    url = database_url(name)
    signature = f"{signature}/{_migrations_signature()}"
    with contextlib.suppress(psycopg.OperationalError), psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT value FROM bench_meta WHERE key = 'seed'").fetchone() if _has_meta(conn) else None
        if row and row[0] == signature:
            note(f"reusing database {name} ({signature})")
            return url
    drop_database(name)
    with admin_connection() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    manage(env | {"DATABASE_URL": url}, "migrate", "--verbosity", "0")
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        seed(conn)
        conn.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        conn.execute("INSERT INTO bench_meta VALUES ('seed', %s)", (signature,))
        # A settled table, as in production: visibility map set (index-only scans), statistics.
        conn.execute("VACUUM ANALYZE")
    note(f"seeded {name} in {time.monotonic() - started:.1f} s")
    return url


def _has_meta(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass('bench_meta') IS NOT NULL").fetchone()[0]


@contextlib.contextmanager
def without_secondary_indexes(conn: psycopg.Connection, table: str) -> Iterator[None]:
    """Bulk loads are several times faster with the secondary indexes built afterwards; all in one
    transaction, so a failure leaves the schema as it was."""
    with conn.transaction():
        # Foreign keys are DEFERRABLE INITIALLY DEFERRED: check rows as they go in, or the
        # pending checks forbid CREATE INDEX in the same transaction.
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (table,),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        yield
        for _, definition in indexes:
            conn.execute(definition)


def seed_locations_and_price(conn: psycopg.Connection, *, price: str = PRICE_ID, quota: int | None = None) -> None:
    conn.execute(
        "INSERT INTO locations_location (id, machine_code, name, address, is_active, created_at, updated_at)"
        " SELECT i, 'PB-' || lpad(i::text, 4, '0'), 'Mall ' || i, '', true, now(), now()"
        " FROM generate_series(1, %s) i",
        (LOCATIONS,),
    )
    conn.execute("SELECT setval(pg_get_serial_sequence('locations_location', 'id'), %s)", (LOCATIONS,))
    seed_price(conn, price=price, quota=quota)


def seed_price(conn: psycopg.Connection, *, price: str, quota: int | None = None) -> None:
    conn.execute(
        "INSERT INTO pricing_price (id, amount, description, quota, is_active, created_at, updated_at)"
        " VALUES (%s, 40000, 'Benchmark: 4 photo strips', %s, true, now(), now())",
        (price, quota),
    )


# One in ten sales awaits payment (with an expiry far away, so polls never expire them during a
# run), two are expired, one failed, six paid: what a table of a chain's history looks like.
SEED_SALES_SQL = """
INSERT INTO payments_transaction (
    external_id, amount, list_price, status, xendit_qr_id, xendit_payment_id, qr_string, email, send_invoice,
    expires_at, paid_at, payment_channel, payment_receipt_id, email_sent_at, photos_deleted_at,
    gallery_key, needs_review, created_at, updated_at, location_id, price_id
)
SELECT
    'TRX-' || loc || '-' || to_char(created AT TIME ZONE 'Asia/Jakarta', 'YYYYMMDDHH24MISS')
        || '-' || upper(lpad(to_hex(n), 8, '0')),
    40000, 40000, st, 'qr_' || md5(n::text),
    CASE WHEN st = 'COMPLETED' THEN 'qrpy_' || md5(n::text) END,
    '00020101021226660014ID.CO.QRIS.WWW011893600914' || md5(n::text) || md5((n + 1)::text)
        || '5204599953033605405400005802ID5908PHOTOBOX6007JAKARTA6304ABCD',
    'customer' || n || '@example.com', n %% 2 = 0,
    CASE WHEN st = 'PENDING' THEN now() + interval '365 days' ELSE created + interval '15 minutes' END,
    CASE WHEN st = 'COMPLETED' THEN created + interval '1 minute' END,
    CASE WHEN st = 'COMPLETED' THEN 'QRIS' ELSE '' END, '',
    CASE WHEN st = 'COMPLETED' THEN created + interval '10 minutes' END,
    CASE WHEN st = 'COMPLETED' AND created < now() - interval '14 days' THEN created + interval '15 days' END,
    md5('gallery' || n), false, created, created, loc, %(price)s
FROM (
    SELECT n, 1 + n %% %(locations)s AS loc, now() - n * interval '30 seconds' AS created,
        CASE WHEN n %% 10 = 0 THEN 'PENDING' WHEN n %% 10 IN (1, 2) THEN 'EXPIRED'
             WHEN n %% 10 = 3 THEN 'FAILED' ELSE 'COMPLETED' END AS st
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) n
) s
"""


def seed_sales(conn: psycopg.Connection, count: int, *, price: str = PRICE_ID, first: int = 1) -> None:
    """`count` sales of `price`, numbered from `first` (numbers make the external ids unique)."""
    with without_secondary_indexes(conn, "payments_transaction"):
        step = 250_000
        for start in range(first, first + count, step):
            last = min(start + step - 1, first + count - 1)
            conn.execute(SEED_SALES_SQL, {"price": price, "locations": LOCATIONS, "first": start, "last": last})


def sample_external_ids(url: str, *, limit: int, where: str = "TRUE") -> list[str]:
    """Up to `limit` external ids drawn at random from the whole table."""
    with psycopg.connect(url) as conn:
        total = conn.execute("SELECT count(*) FROM payments_transaction").fetchone()[0]
        fraction = min(100.0, 100.0 * limit * 2 / max(total, 1))
        rows = conn.execute(
            sql.SQL(
                "SELECT external_id FROM payments_transaction TABLESAMPLE BERNOULLI ({}) WHERE {} ORDER BY random()"
                " LIMIT {}"
            ).format(sql.Literal(fraction), sql.SQL(where), sql.Literal(limit))
        ).fetchall()
    return [r[0] for r in rows]


def statements_executed(name: str) -> int:
    """Transactions PostgreSQL committed or rolled back in database `name`: in autocommit mode,
    one per statement, including those Django does not count (connection health checks)."""
    with admin_connection() as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()
    return row[0] if row else 0


def settled_statements(name: str, *, timeout: float = 15.0) -> int:
    """The count once idle backends have flushed their statistics (PostgreSQL does it up to 10 s
    after a backend goes idle)."""
    deadline = time.monotonic() + timeout
    last, stable_since = statements_executed(name), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        value = statements_executed(name)
        if value != last:
            last, stable_since = value, time.monotonic()
        elif time.monotonic() - stable_since >= 11:
            break
    return last


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
    """gunicorn serving photobox.wsgi on a free port of 127.0.0.1, stopped on exit."""

    def __init__(self, env: dict[str, str], args: list[str], *, log: Path) -> None:
        self.env, self.args, self.log_path = env, args, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        command = [
            PYTHON,
            "-m",
            "gunicorn",
            "photobox.wsgi:application",
            *self.args,
            "--bind",
            f"127.0.0.1:{self.port}",
        ]
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}: see {self.log_path}")
            with contextlib.suppress(OSError):
                status, _, _ = request("GET", self.port, "/health", timeout=2)
                if status == 200 and len(self.worker_pids()) >= 1:
                    return self
            time.sleep(0.2)
        self.__exit__()
        raise SystemExit(f"gunicorn did not answer /health within 60 s: see {self.log_path}")

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


# --- Process memory -------------------------------------------------------------------------------
def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS since start, or since reset_peak_rss) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def reset_peak_rss(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# --- A shared machine -------------------------------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


def _pid_ticks(pid: int, *, children: bool = False) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = int(fields[11]) + int(fields[12])  # utime, stime
        return own + (int(fields[13]) + int(fields[14]) if children else 0)  # cutime, cstime
    return 0


def machine_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy over `seconds`."""
    busy0, total0 = _machine_busy_ticks()
    time.sleep(seconds)
    busy1, total1 = _machine_busy_ticks()
    return (busy1 - busy0) / max(total1 - total0, 1)


def wait_for_quiet_machine(*, limit: float = 0.15, patience: float = 120.0) -> None:
    """Other people's test runs share these cores: wait (a while) until they are idle."""
    deadline = time.monotonic() + patience
    busy = machine_busy()
    if busy <= limit:
        return
    note(f"the machine is {busy:.0%} busy with other work: waiting up to {patience:.0f} s for it to calm down")
    while time.monotonic() < deadline:
        busy = machine_busy(2.0)
        if busy <= limit:
            return
    note(f"still {busy:.0%} busy: measuring anyway (see 'others' CPU' in the table)")


class CpuWatch:
    """CPU used while the block ran: by the server (the gunicorn tree), by the PostgreSQL backends
    serving `database`, by this process and its children (the load generator), and by everything
    else on the machine. A busy neighbour explains a bad figure; server + database CPU per request
    is the figure that neighbours disturb least."""

    def __init__(self, database: str, server: "Gunicorn | None" = None) -> None:
        self.database, self.server = database, server
        self.server_s = self.db_s = self.client_s = 0.0
        self.others = 0.0  # share of the whole machine

    def _backend_pids(self) -> list[int]:
        with admin_connection() as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)).fetchall()
        return [r[0] for r in rows]

    def _ticks(self) -> dict[str, int]:
        ticks = {"client": round(sum(os.times()[:4]) * CLOCK_TICKS)}
        if self.server is not None and self.server.process is not None:
            # The master's children ticks include workers that exited meanwhile (max_requests).
            ticks["server:master"] = _pid_ticks(self.server.process.pid, children=True)
            for pid in self.server.worker_pids():
                ticks[f"server:{pid}"] = _pid_ticks(pid)
        for pid in self._backend_pids():
            ticks[f"db:{pid}"] = _pid_ticks(pid)
        return ticks

    def __enter__(self) -> "CpuWatch":
        self._start_machine = _machine_busy_ticks()
        self._start = self._ticks()
        return self

    def __exit__(self, *exc) -> None:
        busy1, total1 = _machine_busy_ticks()
        end = self._ticks()
        used = {"client": 0, "server": 0, "db": 0}
        for key, value in end.items():
            used[key.split(":")[0]] += value - self._start.get(key, 0)
        self.client_s, self.server_s, self.db_s = (used[k] / CLOCK_TICKS for k in ("client", "server", "db"))
        busy = busy1 - self._start_machine[0]
        self.others = max(0.0, (busy - sum(used.values())) / max(total1 - self._start_machine[1], 1))


# --- Load -----------------------------------------------------------------------------------------
@dataclass
class Load:
    """What one load run measured."""

    requests: int
    seconds: float
    errors: int  # connection errors, timeouts and non-2xx answers
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    generator: str
    detail: dict = field(default_factory=dict)
    others_cpu: float = 0.0  # share of the machine other processes used meanwhile
    server_cpu_us: float = 0.0  # per request: gunicorn's CPU plus its PostgreSQL backends'

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_NO_WRK") != "1"


def generate_load(
    url: str,
    *,
    connections: int,
    seconds: float,
    paths: Sequence[str] = (),
    wrk_script: str = "paths.lua",
    wrk_args: Sequence[str] = (),
    make_request=None,
) -> Load:
    """`connections` clients, each sending its next request as soon as the last one is answered,
    for `seconds`. By default every request is a GET of a random one of `paths`; otherwise wrk
    runs `wrk_script` with `wrk_args`, and the Python client sends `make_request(rng, n)`, a
    (method, path, headers, body) tuple, for its n-th request."""
    if paths:
        if wrk_available():
            with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="bench-paths-") as listing:
                listing.write("\n".join(paths) + "\n")
                listing.flush()
                return _wrk(url, connections=connections, seconds=seconds, script="paths.lua", args=[listing.name])

        def make_request(rng, n):
            return "GET", rng.choice(paths), {}, b""

    if wrk_available():
        return _wrk(url, connections=connections, seconds=seconds, script=wrk_script, args=wrk_args)
    return asyncio.run(_python_load(url, connections=connections, seconds=seconds, make_request=make_request))


def combine(loads: Sequence[Load]) -> Load:
    """Rounds of one load as one: totals, and each percentile the median of the rounds'."""
    requests = sum(load.requests for load in loads)
    return Load(
        requests=requests,
        seconds=sum(load.seconds for load in loads),
        errors=sum(load.errors for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p90_ms=statistics.median(load.p90_ms for load in loads),
        p99_ms=statistics.median(load.p99_ms for load in loads),
        max_ms=max(load.max_ms for load in loads),
        generator=loads[0].generator,
        detail={"rounds": [load.__dict__ for load in loads]},
        others_cpu=statistics.mean(load.others_cpu for load in loads),
        server_cpu_us=sum(load.server_cpu_us * load.requests for load in loads) / max(requests, 1),
    )


def measured_load(server: "Gunicorn", database: str, **kwargs) -> Load:
    """generate_load on a machine as quiet as it gets, noting what other processes used."""
    wait_for_quiet_machine()
    with CpuWatch(database, server) as watch:
        load = generate_load(server.url, **kwargs)
    load.others_cpu = watch.others
    load.server_cpu_us = (watch.server_s + watch.db_s) / max(load.requests, 1) * 1e6
    return load


def _wrk(url: str, *, connections: int, seconds: float, script: str, args: Sequence[str]) -> Load:
    command = [
        "wrk",
        "--threads",
        "1",  # one thread drives 32 connections easily and leaves the cores to the server
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "--script",
        str(BENCH / "wrk" / script),
        url,
        "--",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise SystemExit(f"wrk printed no figures:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line)
    # Answers of 400 and up are in both "status" and "not2xx".
    errors = data["connect"] + data["read"] + data["write"] + data["timeout"] + data["not2xx"]
    return Load(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        generator="wrk",
        detail=data,
    )


async def _python_load(url, *, connections, seconds, make_request) -> Load:
    """A small HTTP/1.1 keep-alive client for machines without wrk: slower than wrk, and it takes
    a share of the CPU the server would have, so its figures are lower bounds."""
    host, port = url.removeprefix("http://").split(":")
    port = int(port)
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def client(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)  # noqa: S311 - picking sales to poll
        reader = writer = None
        while time.monotonic() < deadline:
            method, path, headers, body = make_request(rng, next(counter))
            head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
            head += [f"{k}: {v}" for k, v in (PROXY_HEADERS | headers).items()]
            message = ("\r\n".join(head) + "\r\n\r\n").encode() + body
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(message)
                status_line = await reader.readline()
                status = int(status_line.split()[1])
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection" and value.strip().lower() == "close":
                        close = True
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if not 200 <= status < 300:
                    errors += 1
                if close:
                    writer.close()
                    reader = writer = None
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(connections)))
    elapsed = time.monotonic() - started
    return Load(
        requests=len(latencies),
        seconds=elapsed,
        errors=errors,
        p50_ms=percentile(latencies, 50) * 1000,
        p90_ms=percentile(latencies, 90) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=max(latencies, default=0) * 1000,
        generator="python client (no wrk)",
    )


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def check_answers(port: int, paths: Sequence[str], *, expect: int = 200, count: int = 5) -> None:
    """Before a run: the paths answer `expect` (wrk would count a redirect as a success)."""
    for path in paths[:count]:
        status, _, body = request("GET", port, path)
        if status != expect:
            raise SystemExit(f"GET {path} answered {status}, not {expect}: {body[:300]!r}")


def queries_per_request(
    port: int,
    requests: Sequence[tuple[str, str, dict, bytes]],
    *,
    database: str,
    expect: Sequence[int] = (200,),
) -> tuple[float, float]:
    """(SQL queries Django ran, statements PostgreSQL executed) per request, over the given
    (method, path, headers, body) requests sent one after another to an otherwise idle server."""
    before = settled_statements(database)
    counted = []
    for method, path, headers, body in requests:
        status, answer_headers, answer = request(method, path=path, port=port, body=body or None, headers=headers)
        if status not in expect:
            raise SystemExit(f"{method} {path} answered {status} during the query count: {answer[:300]!r}")
        counted.append(int(answer_headers.get("X-Bench-Queries", "-1")))
    after = settled_statements(database)
    return statistics.mean(counted), (after - before) / len(requests)


def get_requests(paths: Sequence[str], samples: int = 200) -> list[tuple[str, str, dict, bytes]]:
    return [("GET", path, {}, b"") for path in random.Random(1).choices(paths, k=samples)]  # noqa: S311


# --- Output ---------------------------------------------------------------------------------------
def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with admin_connection() as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {pg}, "
        f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    )


def note(message: str) -> None:
    print(f"  · {message}", file=sys.stderr, flush=True)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence], notes: Sequence[str] = ()) -> None:
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    print(f"({machine()})")
    print("| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
    for line in notes:
        print(line)
    sys.stdout.flush()


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_json(path: str | None, figures) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=2, default=str) + "\n")


def log_file(name: str) -> Path:
    directory = Path(tempfile.gettempdir()) / "photobox-bench"
    directory.mkdir(exist_ok=True)
    return directory / f"{name}-{os.getpid()}.log"
