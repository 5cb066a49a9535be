"""Paths, the benchmark server's constants."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent  # bench/harness/common.py -> the repository
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


def note(message: str) -> None:
    print(f"  · {message}", file=sys.stderr, flush=True)


# bench/middleware.py counts the SQL of the requests that send COUNT_REQUEST (load rounds don't)
# and answers the count in QUERY_COUNT_HEADER.
COUNT_QUERIES_HEADER = "X-Bench-Count-Queries"
COUNT_REQUEST = {COUNT_QUERIES_HEADER: "1"}
QUERY_COUNT_HEADER = "X-Bench-Queries"
