"""The poll under several server configurations: how the gunicorn and database settings in
bench/README.md were chosen.

Each configuration is the repository's gunicorn.conf.py (or the benchmarks' default without one)
changed by gunicorn options, environment variables or lines of Python appended to the config.
The configurations take turns, round after round (a server started for each turn and warmed up),
so a neighbour's burst of work on this shared machine hits them alike.

    .venv/bin/python -m bench.poll_configs                 # the configurations below, 3 rounds of 8 s
    .venv/bin/python -m bench.poll_configs --only 1,5      # some of them
"""

import statistics
from dataclasses import dataclass, field

from bench import harness as h
from bench.poll import BARE, POLL, poll_database

FREEZE = """
def post_worker_init(worker):
    # Objects loaded at start-up (Django, the apps) never become garbage: keep them out of the
    # cyclic collector's way, so a full collection walks only what requests allocate.
    import gc

    gc.collect()
    gc.freeze()
"""


@dataclass
class Config:
    label: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    python: str = ""  # appended to the gunicorn config


NO_RESTARTS = ["--max-requests", "0"]
FAST_DB = {"BENCH_DB_PREPARE_THRESHOLD": "5"}
CONFIGS = [
    Config("repository gunicorn.conf.py"),
    Config("+ no max-requests restarts", NO_RESTARTS),
    Config("+ plain access log", NO_RESTARTS, {"LOG_FORMAT": "plain"}),
    Config("+ no access log", NO_RESTARTS, python="accesslog = None"),
    Config("+ no access log, gc.freeze()", NO_RESTARTS, python="accesslog = None\n" + FREEZE),
    Config("+ no access log, gc.freeze(), prepared statements", NO_RESTARTS, FAST_DB, "accesslog = None\n" + FREEZE),
    Config(
        "  same, 2 workers x 4 threads",
        NO_RESTARTS,
        FAST_DB | {"GUNICORN_WORKERS": "2"},
        "accesslog = None\n" + FREEZE,
    ),
    Config(
        "  same, 3 workers x 2 threads",
        NO_RESTARTS,
        FAST_DB | {"GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "2"},
        "accesslog = None\n" + FREEZE,
    ),
    Config(
        "  same, 4 sync workers",
        [*NO_RESTARTS, "--worker-class", "sync"],
        FAST_DB,
        "accesslog = None\n" + FREEZE,
    ),
    Config(
        "  same, 2 workers x 4 threads, DB_POOL_PRE_PING=false",
        NO_RESTARTS,
        FAST_DB | {"GUNICORN_WORKERS": "2", "DB_POOL_PRE_PING": "false"},
        "accesslog = None\n" + FREEZE,
    ),
]


def config_file(config: Config) -> list[str]:
    """gunicorn options running `config`: a config file of its own when it has Python to add."""
    if not config.python:
        return h.gunicorn_args(None) + config.args
    return h.config_with(config.python, h.gunicorn_args(None)) + config.args


def main() -> None:
    p = h.parser(__doc__.split("\n\n")[0])
    p.add_argument("--sales", type=int, default=100_000)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--seconds", type=float, default=24, help="per configuration, split over the rounds")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", help="comma-separated configuration numbers (from 1)")
    p.add_argument("--bare", action="store_true", help="measure the bare view too")
    args = p.parse_args()
    configs = [CONFIGS[int(n) - 1] for n in args.only.split(",")] if args.only else CONFIGS
    if args.smoke:
        args.sales, args.connections, args.seconds, args.rounds, configs = 1_000, 4, 2, 1, configs[:2]
    name, url, _ = poll_database(args.sales, h.server_extra_env(args))
    paths = [POLL + e for e in h.sample_external_ids(url, limit=min(args.sales, 100_000))]
    targets = {"poll": paths} | ({"bare": [BARE]} if args.bare else {})
    loads: dict[tuple[int, str], list[h.Load]] = {}
    try:
        for number in range(args.rounds):
            order = list(enumerate(configs)) if number % 2 == 0 else list(reversed(list(enumerate(configs))))
            for index, config in order:
                env = h.server_env(h.database_url(name), **(h.server_extra_env(args) | config.env))
                with h.Gunicorn(env, config_file(config), log=h.log_file("configs")) as server:
                    for label, target in targets.items():
                        h.check_answers(server.port, target)
                        h.generate_load(server.url, paths=target, connections=args.connections, seconds=2)
                        h.note(f"round {number + 1}/{args.rounds}: {config.label}: {label}")
                        loads.setdefault((index, label), []).append(
                            h.measured_load(
                                server,
                                name,
                                paths=target,
                                connections=args.connections,
                                seconds=args.seconds / args.rounds,
                            )
                        )
    finally:
        if not args.keep_db:
            h.drop_database(name)
    rows = []
    for index, config in enumerate(configs):
        poll = h.combine(loads[(index, "poll")])
        row = [
            index + 1,
            config.label,
            poll.rps,
            poll.p50_ms,
            poll.p99_ms,
            poll.errors,
            poll.server_cpu_us,
            f"{statistics.mean(load.others_cpu for load in loads[(index, 'poll')]):.0%}",
        ]
        if args.bare:
            bare = h.combine(loads[(index, "bare")])
            row += [bare.rps, f"{poll.rps / bare.rps:.0%}"]
        rows.append(row)
    h.print_table(
        f"Poll by server configuration: {args.sales:,} sales, {args.connections} connections, "
        f"{args.seconds:g} s each in {args.rounds} rounds",
        [
            "#",
            "configuration",
            "requests/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "server+DB CPU µs/request",
            "others' CPU",
            *(["bare requests/s", "poll/bare"] if args.bare else []),
        ],
        rows,
    )


if __name__ == "__main__":
    main()
