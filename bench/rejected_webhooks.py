"""Benchmark: what refused webhook requests cost the database.

Anonymous callers post to the webhook URL: --requests requests of --size MB with no token, then as
many small ones (wrong token, 50 KB) past the bad-token limit. Each refused request is kept in
brief (headers, size, SHA-256, at most 4 KB of its body; a body over 64 KB is not read at all), so
the table grows by a bounded amount whatever is sent. Production settings under gunicorn on
PostgreSQL; the growth is PostgreSQL's own size of payments_paymentevent (with its indexes and
TOAST).

    .venv/bin/python -m bench.rejected_webhooks            # 1,000 requests of 2 MB, then 1,000 of 50 KB
    .venv/bin/python -m bench.rejected_webhooks --smoke
"""

import json
import time

import psycopg

from bench import harness as h

WEBHOOK = "/api/v1/webhooks/xendit"
TARGET_MB_PER_1000 = 5.0


def table_bytes(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT pg_total_relation_size('payments_paymentevent')").fetchone()[0]


def send(port: int, body: bytes, *, count: int, token: str | None) -> dict[int, int]:
    statuses: dict[int, int] = {}
    headers = {"Content-Type": "application/json", **({"x-callback-token": token} if token else {})}
    for _ in range(count):
        status, _, _ = h.request("POST", port, WEBHOOK, body=body, headers=headers)
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def main() -> None:
    parser = h.parser(__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--size", type=float, default=2.0, help="MB per large request")
    args = parser.parse_args()
    if args.smoke:
        args.requests = 50
    name = h.db_name("rejected")
    url = h.database_url(name)
    # The bad-token limit off: every request is stored (a limited one is kept the same way).
    env = h.server_env(url, RATE_LIMIT_WEBHOOK_BAD_TOKEN="off", **h.server_extra_env(args))  # noqa: S106
    h.drop_database(name)
    h.prepare_database(name, lambda conn: None, signature="rejected-v1", env=env)
    large = b'{"event": "qr.payment", "padding": "' + b"x" * int(args.size * 1024 * 1024) + b'"}'
    small = json.dumps({"event": "qr.payment", "padding": "y" * 50_000}).encode()
    rows = []
    try:
        with h.Gunicorn(env, h.server_options(args), log=h.log_file("rejected")) as server:
            for label, body, token in (
                (f"{args.size:g} MB, no token", large, None),
                ("50 KB, wrong token", small, "x"),
            ):
                before, started = table_bytes(url), time.monotonic()
                statuses = send(server.port, body, count=args.requests, token=token)
                seconds = time.monotonic() - started
                grown = (table_bytes(url) - before) / 1024 / 1024
                per_1000 = grown * 1000 / args.requests
                rows.append([label, args.requests, statuses, f"{grown:.2f}", f"{per_1000:.2f}", f"{seconds:.1f}"])
    finally:
        if not args.keep_db:
            h.drop_database(name)
    h.print_table(
        "Refused webhook requests: database growth",
        ["requests", "count", "answers", "table grew MB", "MB per 1,000", "seconds"],
        rows,
        notes=[f"target: under {TARGET_MB_PER_1000:g} MB per 1,000 refused requests"],
    )


if __name__ == "__main__":
    main()
