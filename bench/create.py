"""Benchmark 3, sale creation: --connections kiosks at once creating sales of one price.

`POST /api/v1/transactions` with an Idempotency-Key each, the simulator gateway, production
settings under gunicorn on PostgreSQL. Every sale of a price takes that price's row lock, so
concurrent sales of one price queue there. Two prices, each with --sales sales already:
unlimited (no quota), and one with a quota, whose check reads the price's own count of them.

    .venv/bin/python -m bench.create            # 8 connections, 15 s per price, 100,000 sales each
    .venv/bin/python -m bench.create --smoke
"""

import json
import subprocess

from bench import harness as h

UNLIMITED = h.PRICE_ID
WITH_QUOTA = "00000000-0000-4000-8000-000000000002"
QUOTA = 100_000_000


def create_request(price: str, n: int) -> tuple[str, str, dict, bytes]:
    body = {
        "location_id": 1 + n % h.LOCATIONS,
        "price_id": price,
        "email": f"kiosk{n}@example.com",
        "send_invoice": True,
    }
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": f"bench-{price[-1]}-{n}",
        # Each request from its own client address, as the wrk script does (see create.lua).
        "X-Forwarded-For": f"2001:db8::{n // 65536:x}:{n % 65536:x}",
    }
    return "POST", "/api/v1/transactions", headers, json.dumps(body).encode()


def main() -> None:
    p = h.parser(__doc__.split("\n\n")[0])
    p.add_argument("--sales", type=int, default=100_000, help="sales each price has already")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--seconds", type=float, default=15)
    args = p.parse_args()
    if args.smoke:
        args.sales, args.seconds = 1_000, 2
    name = h.db_name(f"photobox_bench_create_{args.sales}")
    env = h.server_env(h.database_url(name), **h.server_extra_env(args))

    def seed(conn):
        h.seed_locations_and_price(conn, price=UNLIMITED)
        h.seed_price(conn, price=WITH_QUOTA, quota=QUOTA)
        h.seed_sales(conn, args.sales, price=UNLIMITED)
        h.seed_sales(conn, args.sales, price=WITH_QUOTA, first=args.sales + 1)

    # Never reused: every run adds sales.
    h.drop_database(name)
    url = h.prepare_database(name, seed, signature=f"create-{args.sales}", env=env)
    # Sales seeded by SQL went past the prices' counters: counted as `check_quotas --fix` repairs them.
    h.manage(env | {"DATABASE_URL": url}, "check_quotas", "--fix", stdout=subprocess.DEVNULL)
    rows, figures = [], {}
    try:
        with h.Gunicorn(env, h.server_options(args), log=h.log_file("create")) as server:
            for label, price in (("unlimited", UNLIMITED), (f"quota {QUOTA:,}", WITH_QUOTA)):
                warm = [create_request(price, n) for n in range(20)]
                h.queries_per_request(server.port, warm[:1], database=name, expect=(201,))
                h.generate_load(
                    server.url,
                    connections=args.connections,
                    seconds=min(2, args.seconds),
                    wrk_script="create.lua",
                    wrk_args=[str(h.LOCATIONS), price],
                    make_request=lambda rng, n, price=price: create_request(price, 10**6 + n),
                )
                h.note(f"creating sales of the {label} price: {args.connections} connections for {args.seconds:g} s")
                load = h.measured_load(
                    server,
                    name,
                    connections=args.connections,
                    seconds=args.seconds,
                    wrk_script="create.lua",
                    wrk_args=[str(h.LOCATIONS), price],
                    make_request=lambda rng, n, price=price: create_request(price, 2 * 10**6 + n),
                )
                queries = h.queries_per_request(
                    server.port, [create_request(price, 3 * 10**6 + n) for n in range(50)], database=name, expect=(201,)
                )
                figures[label] = {"load": load, "queries": queries}
                rows.append(
                    [
                        label,
                        args.sales,
                        load.rps,
                        load.p50_ms,
                        load.p90_ms,
                        load.p99_ms,
                        load.errors,
                        queries[0],
                        queries[1],
                        round(load.server_cpu_us),
                        f"{load.others_cpu:.0%}",
                    ]
                )
    finally:
        if not args.keep_db:
            h.drop_database(name)
    h.print_table(
        f"Sale creation: {args.connections} connections on one price, {args.seconds:g} s each, simulator gateway, "
        f"gunicorn {h.server_description(args)}, load from {load.generator}",
        [
            "price",
            "its sales before",
            "sales/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "errors",
            "SQL/create (Django)",
            "PostgreSQL transactions/create",
            "server+DB CPU µs/create",
            "others' CPU",
        ],
        rows,
        notes=[
            "targets: at least 300 sales/s with a quota, at most 6 SQL statements per create (the price row lock "
            "still serialises each price's sales)"
        ],
    )
    h.write_json(args.json, figures)


if __name__ == "__main__":
    main()
