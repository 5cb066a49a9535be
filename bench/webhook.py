"""Benchmark 5, the webhook under the poll: how long Xendit waits for its 200 while kiosks poll.

The poll load of benchmark 1 (--connections connections, random sales) runs; meanwhile valid
Xendit 2022-07-31 `qr.payment` webhooks, each paying a different awaiting sale, arrive at --rate
a second (each on a new connection, as Xendit sends them). The same webhooks on an idle server
give the baseline. Production settings under gunicorn on PostgreSQL.

    .venv/bin/python -m bench.webhook           # 100,000 sales, 32 polling connections, 20 webhooks/s, 15 s
    .venv/bin/python -m bench.webhook --smoke
"""

import json
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench import harness as h
from bench.poll import POLL

TARGET_P99_MS = 100
WEBHOOK = "/api/v1/webhooks/xendit"


def webhook_request(external_id: str) -> tuple[str, str, dict, bytes]:
    payment = {
        "id": f"qrpy_{uuid.uuid4()}",
        "business_id": "5f27a14a9bf05c73dd040bc8",
        "currency": "IDR",
        "amount": 40000,
        "status": "SUCCEEDED",
        "created": "2025-12-15T09:22:29.000Z",
        "qr_id": f"qr_{uuid.uuid4()}",
        "reference_id": external_id,
        "type": "DYNAMIC",
        "channel_code": "ID_DANA",
        "expires_at": "2025-12-15T09:37:29.000Z",
        "payment_detail": {"receipt_id": "123456789012", "source": "DANA"},
    }
    body = {"event": "qr.payment", "api_version": "2022-07-31", "business_id": payment["business_id"], "data": payment}
    headers = {
        "Content-Type": "application/json",
        "x-callback-token": h.CALLBACK_TOKEN,
        "webhook-id": str(uuid.uuid4()),
    }
    return "POST", WEBHOOK, headers, json.dumps(body).encode()


def send_webhooks(port: int, sales: list[str], *, rate: float, seconds: float) -> tuple[list[float], int]:
    """Open loop: webhook i is sent at start + i/rate, whatever happened to the earlier ones."""
    count = min(len(sales), max(1, round(rate * seconds)))
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    start = time.perf_counter() + 0.1

    def send(index: int) -> None:
        nonlocal errors
        method, path, headers, body = webhook_request(sales[index])
        time.sleep(max(0.0, start + index / rate - time.perf_counter()))
        began = time.perf_counter()
        try:
            status, _, answer = h.request(method, port, path, body=body, headers=headers, timeout=30)
            ok = status == 200 and json.loads(answer).get("success") is True
        except OSError:
            ok = False
        elapsed = time.perf_counter() - began
        with lock:
            latencies.append(elapsed)
            errors += not ok

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(send, range(count)))
    return latencies, errors


def summary(latencies: list[float]) -> list[float]:
    return [h.percentile(latencies, pct) * 1000 for pct in (50, 90, 99)] + [max(latencies) * 1000]


def main() -> None:
    p = h.parser(__doc__.split("\n\n")[0])
    p.add_argument("--sales", type=int, default=100_000)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--rate", type=float, default=20, help="webhooks a second")
    args = p.parse_args()
    if args.smoke:
        args.sales, args.connections, args.seconds, args.rate = 2_000, 4, 2, 10
    name = h.db_name(f"photobox_bench_webhook_{args.sales}")
    env = h.server_env(h.database_url(name), **h.server_extra_env(args))

    def seed(conn):
        h.seed_locations_and_price(conn)
        h.seed_sales(conn, args.sales)

    h.drop_database(name)  # every run pays sales: never reused
    url = h.prepare_database(name, seed, signature=f"webhook-{args.sales}", env=env)
    polls = [POLL + e for e in h.sample_external_ids(url, limit=min(args.sales, 100_000))]
    pending = h.sample_external_ids(url, limit=args.sales, where="status = 'PENDING'")
    needed = round(args.rate * args.seconds)
    if len(pending) < needed + 40:
        raise SystemExit(f"only {len(pending)} awaiting sales for {needed} webhooks: raise --sales")
    idle_sales, loaded_sales, count_sales = pending[:needed], pending[needed : 2 * needed], pending[-20:]
    figures: dict = {}
    try:
        with h.Gunicorn(env, h.server_options(args), log=h.log_file("webhook")) as server:
            h.check_answers(server.port, polls)
            h.generate_load(server.url, paths=polls, connections=args.connections, seconds=min(3, args.seconds))
            send_webhooks(server.port, pending[2 * needed : 2 * needed + 10], rate=args.rate, seconds=1)  # warm up
            h.wait_for_quiet_machine()
            h.note(f"idle server: {args.rate:g} webhooks/s for {args.seconds:g} s")
            idle, idle_errors = send_webhooks(server.port, idle_sales, rate=args.rate, seconds=args.seconds)
            h.wait_for_quiet_machine()
            h.note(f"under the poll: {args.connections} polling connections, {args.rate:g} webhooks/s")
            result: dict = {}

            def poll_load() -> None:
                result["poll"] = h.measured_load(
                    server, name, paths=polls, connections=args.connections, seconds=args.seconds + 1.5
                )

            poller = threading.Thread(target=poll_load)
            poller.start()
            time.sleep(1.0)  # the poll load is up to speed
            loaded, loaded_errors = send_webhooks(server.port, loaded_sales, rate=args.rate, seconds=args.seconds)
            poller.join()
            queries = h.queries_per_request(
                server.port, [webhook_request(e) for e in count_sales], database=name, expect=(200,)
            )
    finally:
        if not args.keep_db:
            h.drop_database(name)
    poll = result["poll"]
    figures = {"idle": idle, "loaded": loaded, "poll": poll, "queries": queries}
    rows = [
        ["webhook, idle server", len(idle), *summary(idle), idle_errors, queries[0], queries[1], "-"],
        [
            f"webhook, {args.connections} polls running",
            len(loaded),
            *summary(loaded),
            loaded_errors,
            queries[0],
            queries[1],
            f"{poll.rps:,.0f} polls/s, p99 {poll.p99_ms:.1f} ms",
        ],
    ]
    p99 = summary(loaded)[2]
    h.print_table(
        f"Webhook latency: {args.rate:g} valid webhooks/s for {args.seconds:g} s, gunicorn "
        f"{h.server_description(args)}",
        [
            "case",
            "webhooks",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "errors",
            "SQL/webhook (Django)",
            "PostgreSQL transactions/webhook",
            "poll meanwhile",
        ],
        rows,
        notes=[
            f"target: p99 ≤ {TARGET_P99_MS} ms under the poll load {'met' if p99 <= TARGET_P99_MS else 'MISSED'}"
            f" (others' CPU during it: {poll.others_cpu:.0%}); median webhook {statistics.median(loaded) * 1000:.1f} ms"
        ],
    )
    h.write_json(args.json, figures)


if __name__ == "__main__":
    main()
