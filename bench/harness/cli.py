"""The command line every benchmark shares."""

import argparse
import hashlib
import os
import shlex
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.harness.common import DEFAULT_GUNICORN_ARGS, ROOT

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
