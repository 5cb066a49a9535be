"""Benchmark 1, the poll: `GET /api/v1/transactions/external/{id}` of random existing sales.

Production settings under gunicorn on PostgreSQL with --sales sales in the table; the load
generator keeps --connections connections busy for --seconds seconds. The same run, the same way,
measures a bare Django view returning a fixed JSON body through the same middleware, and prints
the poll's rate as a fraction of it.

    .venv/bin/python -m bench.poll            # 100,000 sales, 32 connections, 15 s
    .venv/bin/python -m bench.poll --smoke    # 1,000 sales, 4 connections, 2 s
    .venv/bin/python -m bench.poll --compare-with /tmp/poll-main   # and main's poll, same run
    .venv/bin/python -m bench.poll --refs /work/shared/bench --ref-python /tmp/refvenv/bin/python
                                              # and the reference servers, same rows, same run
"""

import contextlib
import json
from pathlib import Path

from bench import harness as h
from bench.harness import refs as references

POLL = "/api/v1/transactions/external/"
BARE = "/api/v1/bench/bare"
ROUND_TRIP = "/api/v1/bench/round-trip"
BEFORE = "/api/v1/bench/poll-before/"

TARGET_RPS = 1000
TARGET_P99_MS = 50
TARGET_FRACTION = 0.75  # of the bare Django view's rate
TARGET_VS_SEED = 2.5  # times the earlier FastAPI stack's rate


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
    round_trip: bool = False,
    count_queries: bool = True,
    compare_with: Path | None = None,
    refs: references.References | None = None,
) -> dict:
    """Poll (and bare view) figures: `rounds` rounds of seconds/rounds each, the two endpoints
    alternating, so a neighbour's burst of work on this shared machine hits both alike. With
    `compare_with` (another checkout, e.g. `git worktree add /tmp/poll-main main`), that
    checkout's poll is served by a second gunicorn on the same database and measured in the same
    rounds ("other"), after checking that both answer the same bytes. With `refs`, the reference
    servers ("seed", "raw") serve a copy of the same sales and are polled for the same ids, after
    checking that they answer each id with the same status."""
    name, url, env = poll_database(sales, env_extra)
    paths = [POLL + external_id for external_id in h.sample_external_ids(url, limit=min(sales, 100_000))]
    figures: dict = {"sales": sales, "connections": connections, "seconds": seconds}
    endpoints = {"poll": {"paths": paths}} | ({"bare": {"paths": [BARE]}} if bare else {})
    if before:
        endpoints["before"] = {"paths": [BEFORE + p.removeprefix(POLL) for p in paths]}
    if round_trip:
        endpoints["round_trip"] = {"paths": [ROUND_TRIP]}
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
            if refs is not None:
                references.seed_reference_tables(refs, url)
                seed = servers.enter_context(references.SeedStack(refs, url, log=h.log_file("poll-seedref")))
                raw = servers.enter_context(references.RawWsgi(refs, url, log=h.log_file("poll-rawwsgi")))
                h.note(f"reference servers: seedref on {seed.url}, rawwsgi on {raw.url}")
                ids = [p.removeprefix(POLL) for p in paths]
                prefixes = {"seed": references.SEED_PREFIX, "raw": references.RAW_PREFIX}
                endpoints["seed"] = {"paths": [prefixes["seed"] + i for i in ids], "server": seed}
                endpoints["raw"] = {"paths": [prefixes["raw"] + i for i in ids], "server": raw}
                # Same sales, same statuses: each system answers the same polls.
                for external_id in ids[:20]:
                    ours = json.loads(h.request("GET", server.port, POLL + external_id)[2])["data"]
                    for label, prefix in prefixes.items():
                        theirs = json.loads(h.request("GET", endpoints[label]["server"].port, prefix + external_id)[2])
                        if (theirs["data"]["external_id"], theirs["data"]["status"]) != (external_id, ours["status"]):
                            raise SystemExit(f"{label} answers {external_id} with {theirs}, Photobox with {ours}")
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
                if round_trip:
                    figures["round_trip_queries"] = h.queries_per_request(
                        server.port, h.get_requests([ROUND_TRIP], 50), database=name
                    )
                if before:
                    figures["before_queries"] = h.queries_per_request(
                        server.port, h.get_requests(endpoints["before"]["paths"], 100), database=name
                    )
                if compare_with is not None:
                    figures["other_queries"] = h.queries_per_request(
                        endpoints["other"]["server"].port, h.get_requests(paths), database=name
                    )
                for label in ("seed", "raw") if refs is not None else ():
                    # No Django there to count queries: PostgreSQL's count only.
                    _, transactions = h.queries_per_request(
                        endpoints[label]["server"].port, h.get_requests(endpoints[label]["paths"]), database=name
                    )
                    figures[f"{label}_queries"] = ("-", transactions)
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


def ratio(numerator: float, denominator: float, *, times: bool = False) -> str:
    if not denominator:
        return "-"
    return f"{numerator / denominator:.2f}×" if times else f"{numerator / denominator:.0%}"


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
    p.add_argument(
        "--round-trip",
        action="store_true",
        help="also measure the bare view plus one SELECT 1 on the poll's connection: the highest rate "
        "a poll reading one row can reach on this machine",
    )
    references.add_arguments(p)
    args = p.parse_args()
    if args.smoke:
        args.sales, args.connections, args.seconds, args.rounds = 1_000, 4, 2, 2
    refs = references.from_arguments(args)
    figures = measure(
        sales=args.sales,
        seconds=args.seconds,
        connections=args.connections,
        gunicorn=h.server_options(args),
        env_extra=h.server_extra_env(args),
        keep_db=args.keep_db,
        rounds=args.rounds,
        before=args.before,
        round_trip=args.round_trip,
        compare_with=args.compare_with,
        refs=refs,
    )
    poll, bare = figures["poll"], figures["bare"]
    fraction = poll.rps / bare.rps if bare.rps else 0.0
    django_q = figures["poll_queries"][0]
    seed, raw = figures.get("seed"), figures.get("raw")
    checks = [
        ("≥ 1,000 requests/s", poll.rps >= TARGET_RPS),
        (f"p99 ≤ {TARGET_P99_MS} ms", poll.p99_ms <= TARGET_P99_MS),
        (f"≥ {TARGET_FRACTION:.0%} of the bare view", fraction >= TARGET_FRACTION),
        (f"≥ {TARGET_VS_SEED:g}× the seed stack", None if seed is None else poll.rps >= TARGET_VS_SEED * seed.rps),
        ("1 SQL query per poll", django_q == 1),
        ("no errors", poll.errors == 0),
    ]
    verdicts = {True: "met", False: "MISSED", None: "not measured (no --refs)"}
    rows = [row("bare Django view", "-", bare, figures.get("bare_queries"))]
    if args.round_trip:
        rows.append(row("bare view + SELECT 1", "-", figures["round_trip"], figures["round_trip_queries"]))
    if args.before:
        rows.append(row("poll before (ORM + DRF)", args.sales, figures["before"], figures["before_queries"]))
    if args.compare_with:
        rows.append(row(f"poll of {args.compare_with}", args.sales, figures["other"], figures["other_queries"]))
    rows.append(row("poll", args.sales, poll, figures["poll_queries"]))
    if seed is not None and raw is not None:
        rows.append(row("seed stack (FastAPI, uvicorn × 4)", args.sales, seed, figures["seed_queries"]))
        rows.append(row("raw WSGI ceiling (gunicorn × 2)", args.sales, raw, figures["raw_queries"]))
    notes = [
        f"poll / bare Django view: rate {fraction:.0%}, CPU per request {ratio(poll.server_cpu_us, bare.server_cpu_us)}"
    ]
    if args.round_trip:
        trip = figures["round_trip"]
        notes.append(
            f"bare view + SELECT 1 / bare view (the most a one-query poll can reach here): "
            f"rate {ratio(trip.rps, bare.rps)}, CPU per request {ratio(trip.server_cpu_us, bare.server_cpu_us)}; "
            f"poll / bare view + SELECT 1: rate {ratio(poll.rps, trip.rps)}"
        )
    if args.compare_with:
        other = figures["other"]
        notes.append(
            f"poll / {args.compare_with}'s poll: rate {ratio(poll.rps, other.rps)}, "
            f"CPU per request {ratio(poll.server_cpu_us, other.server_cpu_us)}"
        )
    if seed is not None and raw is not None:
        notes += [
            f"poll / seed stack: rate {ratio(poll.rps, seed.rps, times=True)}, "
            f"CPU per request {ratio(poll.server_cpu_us, seed.server_cpu_us)}",
            f"poll / raw WSGI ceiling (for information): rate {ratio(poll.rps, raw.rps)}, "
            f"CPU per request {ratio(poll.server_cpu_us, raw.server_cpu_us, times=True)}",
        ]
    else:
        notes.append("no reference servers measured (--refs DIR --ref-python PYTHON, see bench/README.md)")
    notes.append("targets: " + ", ".join(f"{name} {verdicts[ok]}" for name, ok in checks))
    h.print_table(
        f"Poll throughput: {args.connections} connections, {args.seconds:g} s, gunicorn "
        f"{h.server_description(args)}, load from {poll.generator}",
        HEADER,
        rows,
        notes=notes,
    )
    h.write_json(args.json, figures)


if __name__ == "__main__":
    main()
