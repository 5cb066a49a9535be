"""The command line every benchmark shares."""

import argparse
import hashlib
import os
import shlex
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.harness import machine
from bench.harness.common import DEFAULT_GUNICORN_ARGS, ROOT

# --- Command line ---------------------------------------------------------------------------------
KEEP_DB = False


class _Parser(argparse.ArgumentParser):
    def parse_args(self, *args, **kwargs):
        global KEEP_DB
        parsed = super().parse_args(*args, **kwargs)
        KEEP_DB = parsed.keep_db
        machine.PATIENCE = 0.0 if parsed.smoke and parsed.patience is None else (parsed.patience or 120.0)
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
        "--patience",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long each measurement waits for the machine to be below 15%% busy (default 120; --smoke: 0)",
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
    return gunicorn_args(args.gunicorn_args)


def server_extra_env(args: argparse.Namespace) -> dict[str, str]:
    return extra_env(args.env)


def server_description(args: argparse.Namespace) -> str:
    text = gunicorn_description(args.gunicorn_args)
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
