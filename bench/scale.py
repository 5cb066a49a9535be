"""Benchmark 2, scale: the poll benchmark at 10,000 and at 1,000,000 sales in the table.

The poll's median latency must not grow with the table: one indexed lookup by external id. Both
databases are served at once (a gunicorn each), and the two sizes take turns, round after round,
so a neighbour's burst of work on this shared machine hits both alike.

    .venv/bin/python -m bench.scale             # 10,000 and 1,000,000 sales, 32 connections, 15 s each
    .venv/bin/python -m bench.scale --smoke     # 1,000 and 20,000 sales
"""

import contextlib

from bench import harness as h
from bench.poll import POLL, poll_database

TARGET_GROWTH = 0.20


def main() -> None:
    p = h.parser(__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,1000000", help="comma-separated table sizes")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--seconds", type=float, default=15, help="per size, split over the rounds")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.smoke:
        sizes, args.connections, args.seconds, args.rounds = [1_000, 20_000], 4, 2, 2
    env_extra = h.server_extra_env(args)
    databases = {size: poll_database(size, env_extra) for size in sizes}
    loads: dict[int, list[h.Load]] = {size: [] for size in sizes}
    try:
        with contextlib.ExitStack() as stack:
            servers = {}
            paths = {}
            for size, (_name, url, env) in databases.items():
                paths[size] = [POLL + e for e in h.sample_external_ids(url, limit=min(size, 100_000))]
                servers[size] = stack.enter_context(
                    h.Gunicorn(env, h.server_options(args), log=h.log_file(f"scale-{size}"))
                )
                h.check_answers(servers[size].port, paths[size])
                h.generate_load(
                    servers[size].url, paths=paths[size], connections=args.connections, seconds=min(3, args.seconds)
                )
            for number in range(args.rounds):
                order = sizes if number % 2 == 0 else list(reversed(sizes))
                for size in order:
                    h.note(f"round {number + 1}/{args.rounds}: {size:,} sales")
                    loads[size].append(
                        h.measured_load(
                            servers[size],
                            databases[size][0],
                            paths=paths[size],
                            connections=args.connections,
                            seconds=args.seconds / args.rounds,
                        )
                    )
    finally:
        if not args.keep_db:
            for name, _, _ in databases.values():
                h.drop_database(name)
    combined = {size: h.combine(loads[size]) for size in sizes}
    smallest = combined[sizes[0]]
    rows = []
    for size in sizes:
        load = combined[size]
        rows.append(
            [
                size,
                load.rps,
                load.p50_ms,
                load.p90_ms,
                load.p99_ms,
                load.errors,
                f"{load.p50_ms / smallest.p50_ms - 1:+.0%}" if smallest.p50_ms else "-",
                load.server_cpu_us,
                f"{load.others_cpu:.0%}",
            ]
        )
    growth = combined[sizes[-1]].p50_ms / smallest.p50_ms - 1 if smallest.p50_ms else 0.0
    h.print_table(
        f"Poll at scale: {args.connections} connections, {args.seconds:g} s per size in {args.rounds} rounds, gunicorn "
        f"{h.server_description(args)}, load from {smallest.generator}",
        [
            "sales in the table",
            "requests/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "errors",
            f"p50 vs {sizes[0]:,}",
            "server+DB CPU µs/request",
            "others' CPU",
        ],
        rows,
        notes=[
            f"target: p50 at {sizes[-1]:,} within {TARGET_GROWTH:.0%} of p50 at {sizes[0]:,}: "
            f"{'met' if abs(growth) <= TARGET_GROWTH else 'MISSED'} ({growth:+.0%})"
        ],
    )
    h.write_json(args.json, {size: combined[size] for size in sizes})


if __name__ == "__main__":
    main()
