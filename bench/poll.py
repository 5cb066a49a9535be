"""Benchmark 1, the poll: `GET /api/v1/transactions/external/{id}` of random existing sales.

Production settings under gunicorn on PostgreSQL with --sales sales in the table; the load
generator keeps --connections connections busy for --seconds seconds. The same run, the same way,
measures a bare Django view returning a fixed JSON body through the same middleware, and prints
the poll's rate as a fraction of it.

    .venv/bin/python -m bench.poll            # 100,000 sales, 32 connections, 15 s
    .venv/bin/python -m bench.poll --smoke    # 1,000 sales, 4 connections, 2 s
    .venv/bin/python -m bench.poll --compare-with /tmp/poll-main   # and main's poll, same run
"""

import contextlib
from pathlib import Path

from bench import harness as h

POLL = "/api/v1/transactions/external/"
BARE = "/api/v1/bench/bare"
BEFORE = "/api/v1/bench/poll-before/"

TARGET_RPS = 1000
TARGET_P99_MS = 50
TARGET_FRACTION = 0.60


def poll_database(sales: int, env_extra: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    name = h.db_name(f"photobox_bench_poll_{sales}")
    env = h.server_env(h.database_url(name), **env_extra)

    def seed(conn):
        h.seed_locations_and_price(conn)
        h.seed_sales(conn, sales)

    url = h.prepare_database(name, seed, signature=f"poll-{sales}", env=env)
    return name, url, env


def measure(
    *,
    sales: int,
    seconds: float,
    connections: int,
    gunicorn: list[str],
    env_extra: dict[str, str],
    keep_db: bool,
    rounds: int = 3,
    bare: bool = True,
    before: bool = False,
    count_queries: bool = True,
    compare_with: Path | None = None,
) -> dict:
    """Poll (and bare view) figures: `rounds` rounds of seconds/rounds each, the two endpoints
    alternating, so a neighbour's burst of work on this shared machine hits both alike. With
    `compare_with` (another checkout, e.g. `git worktree add /tmp/poll-main main`), that
    checkout's poll is served by a second gunicorn on the same database and measured in the same
    rounds ("other"), after checking that both answer the same bytes."""
    name, url, env = poll_database(sales, env_extra)
    paths = [POLL + external_id for external_id in h.sample_external_ids(url, limit=min(sales, 100_000))]
    figures: dict = {"sales": sales, "connections": connections, "seconds": seconds}
    endpoints = {"poll": {"paths": paths}} | ({"bare": {"paths": [BARE]}} if bare else {})
    if before:
        endpoints["before"] = {"paths": [BEFORE + p.removeprefix(POLL) for p in paths]}
    try:
        with contextlib.ExitStack() as servers:
            server = servers.enter_context(h.Gunicorn(env, gunicorn, log=h.log_file("poll")))
            h.note(f"gunicorn {' '.join(gunicorn)} on {server.url}, {len(server.worker_pids())} workers")
            for spec in endpoints.values():
                spec["server"] = server
            if compare_with is not None:
                other = servers.enter_context(
                    h.Gunicorn(env, gunicorn, log=h.log_file("poll-other"), root=compare_with)
                )
                h.note(f"the poll of {compare_with} on {other.url}")
                endpoints["other"] = {"paths": paths, "server": other}
                for path in paths[:20]:
                    if h.request("GET", other.port, path)[2] != h.request("GET", server.port, path)[2]:
                        raise SystemExit(f"{path} answers differently here and in {compare_with}")
            if before:
                # The optimised poll answers exactly what the poll answered before.
                for path in paths[:20]:
                    old = h.request("GET", server.port, BEFORE + path.removeprefix(POLL))[2]
                    if h.request("GET", server.port, path)[2] != old:
                        raise SystemExit(f"{path} answers differently from the poll before optimisation")
            for spec in endpoints.values():
                h.check_answers(spec["server"].port, spec["paths"])
                # Warm up: every worker has imported everything, connected, filled its caches.
                h.generate_load(
                    spec["server"].url, paths=spec["paths"], connections=connections, seconds=min(3, seconds)
                )
            loads: dict[str, list[h.Load]] = {label: [] for label in endpoints}
            for number in range(rounds):
                order = list(endpoints) if number % 2 else list(reversed(endpoints))
                for label in order:
                    h.note(
                        f"round {number + 1}/{rounds}: {label}, {connections} connections for {seconds / rounds:g} s"
                    )
                    loads[label].append(
                        h.measured_load(
                            endpoints[label]["server"],
                            name,
                            paths=endpoints[label]["paths"],
                            connections=connections,
                            seconds=seconds / rounds,
                        )
                    )
            for label, measured in loads.items():
                figures[label] = h.combine(measured)
            if count_queries:
                h.note("counting SQL per request (waits for PostgreSQL's statistics)")
                figures["poll_queries"] = h.queries_per_request(server.port, h.get_requests(paths), database=name)
                if bare:
                    figures["bare_queries"] = h.queries_per_request(
                        server.port, h.get_requests([BARE], 50), database=name
                    )
                if before:
                    figures["before_queries"] = h.queries_per_request(
                        server.port, h.get_requests(endpoints["before"]["paths"], 100), database=name
                    )
                if compare_with is not None:
                    figures["other_queries"] = h.queries_per_request(
                        endpoints["other"]["server"].port, h.get_requests(paths), database=name
                    )
    finally:
        if not keep_db:
            h.drop_database(name)
    return figures


def row(label: str, sales: int | str, load: h.Load, queries: tuple[float, float] | None) -> list:
    django_q, pg_q = queries if queries else ("-", "-")
    return [
        label,
        sales,
        load.rps,
        load.p50_ms,
        load.p90_ms,
        load.p99_ms,
        load.errors,
        django_q,
        pg_q,
        load.server_cpu_us,
        f"{load.others_cpu:.0%}",
    ]


HEADER = [
    "endpoint",
    "sales",
    "requests/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "errors",
    "SQL/request (Django)",
    "PostgreSQL transactions/request",
    "server+DB CPU µs/request",
    "others' CPU",
]


def main() -> None:
    p = h.parser(__doc__.split("\n\n")[0])
    p.add_argument("--sales", type=int, default=100_000)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--seconds", type=float, default=15, help="per endpoint, split over the rounds")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument(
        "--before", action="store_true", help="also measure the poll as it was before optimisation (bench/urls.py)"
    )
    p.add_argument(
        "--compare-with",
        type=Path,
        metavar="CHECKOUT",
        help="also measure the poll of another checkout in the same run, e.g. main's: "
        "git worktree add --detach /tmp/poll-main main (it needs .venv too)",
    )
    args = p.parse_args()
    if args.smoke:
        args.sales, args.connections, args.seconds, args.rounds = 1_000, 4, 2, 2
    figures = measure(
        sales=args.sales,
        seconds=args.seconds,
        connections=args.connections,
        gunicorn=h.server_options(args),
        env_extra=h.server_extra_env(args),
        keep_db=args.keep_db,
        rounds=args.rounds,
        before=args.before,
        compare_with=args.compare_with,
    )
    poll, bare = figures["poll"], figures["bare"]
    fraction = poll.rps / bare.rps if bare.rps else 0.0
    django_q = figures["poll_queries"][0]
    checks = [
        ("≥ 1,000 requests/s", poll.rps >= TARGET_RPS),
        ("p99 ≤ 50 ms", poll.p99_ms <= TARGET_P99_MS),
        ("≥ 60 % of the bare view", fraction >= TARGET_FRACTION),
        ("1 SQL query per poll", django_q == 1),
        ("no errors", poll.errors == 0),
    ]
    h.print_table(
        f"Poll throughput: {args.connections} connections, {args.seconds:g} s, gunicorn "
        f"{h.server_description(args)}, load from {poll.generator}",
        HEADER,
        [
            row("bare Django view", "-", bare, figures.get("bare_queries")),
            *(
                [row("poll before (ORM + DRF)", args.sales, figures["before"], figures["before_queries"])]
                if args.before
                else []
            ),
            *(
                [row(f"poll of {args.compare_with}", args.sales, figures["other"], figures["other_queries"])]
                if args.compare_with
                else []
            ),
            row("poll", args.sales, poll, figures["poll_queries"]),
        ],
        notes=[
            f"poll rate = {fraction:.0%} of the bare view's",
            *(
                [
                    f"poll rate = {poll.rps / figures['other'].rps:.0%} of {args.compare_with}'s, server+DB CPU "
                    f"per request {poll.server_cpu_us / figures['other'].server_cpu_us:.0%} of its"
                ]
                if args.compare_with and figures["other"].rps and figures["other"].server_cpu_us
                else []
            ),
            "targets: " + ", ".join(f"{name} {'met' if ok else 'MISSED'}" for name, ok in checks),
        ],
    )
    h.write_json(args.json, figures)


if __name__ == "__main__":
    main()
