"""Each benchmark's own PostgreSQL database, seeded with bulk SQL."""

import contextlib
import hashlib
import time
from collections.abc import Iterator

import psycopg
from psycopg import sql

from bench.harness.common import LOCATIONS, PG_SERVER, PRICE_ID, ROOT, note
from bench.harness.server import manage


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
