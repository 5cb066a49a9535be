"""The reference servers of the poll benchmark: what a user would otherwise run, served beside
Photobox over the same sales, in the same rounds.

They live outside the repository (their code is not ours to ship): `--refs DIR` (or
`BENCH_REFS`) names the directory holding `seedref/` (the earlier FastAPI stack) and `rawwsgi/`
(a framework-free WSGI app, one prepared query: the Python ceiling), `--ref-python PYTHON` (or
`BENCH_REF_PYTHON`) the interpreter of a virtualenv that has their packages (bench/README.md,
"Reference servers"). Both read tables of their own (schema `bench_ref`, created by seedref's
`seed.py`); the benchmark fills them with a copy of the benchmark database's sales (same ids,
statuses, QR strings, machines and price), so each system answers the same polls over the same
data shape.
"""

import argparse
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.harness.common import note
from bench.harness.server import Gunicorn

# The seed stack serves the poll at the same path as Photobox; rawwsgi at /x/{external_id}.
SEED_PREFIX = "/api/v1/transactions/external/"
RAW_PREFIX = "/x/"


@dataclass(frozen=True)
class References:
    root: Path
    python: Path

    @property
    def seed_dir(self) -> Path:
        return self.root / "seedref"

    @property
    def raw_dir(self) -> Path:
        return self.root / "rawwsgi"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--refs",
        type=Path,
        default=os.environ.get("BENCH_REFS") or None,
        metavar="DIR",
        help="the reference servers' directory (seedref/, rawwsgi/), e.g. /work/shared/bench (env BENCH_REFS)",
    )
    p.add_argument(
        "--ref-python",
        type=Path,
        default=os.environ.get("BENCH_REF_PYTHON") or None,
        metavar="PYTHON",
        help="python of the reference servers' virtualenv, e.g. /tmp/refvenv/bin/python (env BENCH_REF_PYTHON)",
    )


def from_arguments(args: argparse.Namespace) -> References | None:
    """The references to run, or None (and a note saying so) when none were given."""
    if args.refs is None:
        note("no reference servers (--refs DIR --ref-python PYTHON): measuring Photobox alone")
        return None
    if args.ref_python is None:
        raise SystemExit("--refs needs --ref-python (the python of a virtualenv with the references' packages)")
    refs = References(root=args.refs.resolve(), python=args.ref_python)
    for needed in (refs.seed_dir / "app.py", refs.seed_dir / "seed.py", refs.raw_dir / "app.py"):
        if not needed.is_file():
            raise SystemExit(f"{needed} is missing: --refs names the directory holding seedref/ and rawwsgi/")
    if not os.access(refs.python, os.X_OK):
        raise SystemExit(f"{refs.python} is not an executable python")
    return refs


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    # seedref's SQLAlchemy URL and rawwsgi's connection string (see RAW_WSGI_HOOK): the benchmark's database.
    env["REF_DATABASE_URL"] = url.replace("postgres://", "postgresql+psycopg://", 1)
    env["BENCH_REF_DSN"] = url
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def seed_reference_tables(refs: References, url: str) -> None:
    """seedref's own schema (its seed.py, with no rows), then the benchmark's sales copied into it."""
    result = subprocess.run(  # noqa: S603 - the references' own seed script
        [str(refs.python), "seed.py", "0"], cwd=refs.seed_dir, env=_env(url), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"seedref/seed.py failed:\n{result.stdout}\n{result.stderr}")
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("TRUNCATE bench_ref.transactions, bench_ref.master_locations, bench_ref.master_price")
            conn.execute(
                "INSERT INTO bench_ref.master_locations (ml_id, ml_machine_code, ml_name)"
                " SELECT id, machine_code, name FROM locations_location"
            )
            conn.execute(
                "INSERT INTO bench_ref.master_price (mp_id, mp_price) SELECT id::text, amount FROM pricing_price"
            )
            conn.execute(
                "INSERT INTO bench_ref.transactions (tr_id, tr_external_id, tr_location_id, tr_price_id, tr_status,"
                " tr_qr_string, tr_paid_at, created_at)"
                " SELECT id, external_id, location_id, price_id::text, status, qr_string,"
                " paid_at AT TIME ZONE 'UTC', created_at AT TIME ZONE 'UTC' FROM payments_transaction"
            )
        conn.execute("VACUUM ANALYZE bench_ref.transactions")
        copied = conn.execute("SELECT count(*) FROM bench_ref.transactions").fetchone()[0]
    note(f"reference tables (schema bench_ref): {copied:,} sales copied from the benchmark's")


class SeedStack(Gunicorn):
    """seedref as its README runs it in production: uvicorn, 4 workers (access log on, as there)."""

    name = "seedref (uvicorn)"

    def __init__(self, refs: References, url: str, *, log: Path) -> None:
        super().__init__(_env(url), [], log=log, root=refs.seed_dir)
        self.refs = refs

    def command(self) -> list[str]:
        address = ["--host", "127.0.0.1", "--port", str(self.port)]
        return [str(self.refs.python), "-m", "uvicorn", "app:app", *address, "--workers", "4"]


# rawwsgi/app.py connects to database "test" on its first request. The benchmark gives each worker
# that same connection (same options, same query) to the benchmark's database instead, before it
# serves anything, through a gunicorn hook: the app's code runs unchanged.
RAW_WSGI_HOOK = """
import os
import sys


def post_worker_init(worker):
    import psycopg

    sys.modules["app"]._conn = psycopg.connect(os.environ["BENCH_REF_DSN"], autocommit=True)
"""


class RawWsgi(Gunicorn):
    """rawwsgi as its README runs it: gunicorn, 2 (sync) workers."""

    name = "rawwsgi (gunicorn)"
    ready = (RAW_PREFIX + "no-such-sale", 404)

    def __init__(self, refs: References, url: str, *, log: Path) -> None:
        super().__init__(_env(url), [], log=log, root=refs.raw_dir)
        self.refs = refs
        self.hook = Path(tempfile.gettempdir()) / "photobox-bench" / "rawwsgi-hook.py"
        self.hook.parent.mkdir(parents=True, exist_ok=True)
        self.hook.write_text(RAW_WSGI_HOOK)

    def command(self) -> list[str]:
        address = ["-b", f"127.0.0.1:{self.port}"]
        return [str(self.refs.python), "-m", "gunicorn", "-c", str(self.hook), "-w", "2", *address, "app:app"]
