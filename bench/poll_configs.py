"""The poll under several server configurations: how gunicorn.conf.py's workers, threads and
access log were chosen.

Each configuration is the repository's gunicorn.conf.py changed by environment variables (the
settings it reads: GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_ACCESS_LOG, LOG_FORMAT), gunicorn
options or lines of Python appended to it. Workers are counted per core of this machine. The
configurations take turns, round after round (a server started for each turn and warmed up), so
a neighbour's burst of work on this shared machine hits them alike.

    .venv/bin/python -m bench.poll_configs                 # the configurations below, 3 rounds of 8 s
    .venv/bin/python -m bench.poll_configs --only 1,5      # some of them
"""

import os
import statistics
from dataclasses import dataclass, field

from bench import harness as h
from bench.poll import BARE, POLL, poll_database

CORES = os.cpu_count() or 1


@dataclass
class Config:
    label: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    python: str = ""  # appended to the gunicorn config


def sized(per_core: int, threads: int, **env: str) -> Config:
    """`per_core` workers per core of `threads` threads each, no access log unless `env` says so."""
    workers = per_core * CORES
    return Config(
        f"{per_core} per core ({workers}) × {threads} thread{'s' if threads > 1 else ''}",
        env={"GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads)} | env,
    )


# What main shipped before (4 workers x 4 threads, JSON access log), the access log's cost at the
# shipped size (gunicorn.conf.py: WORKERS_PER_CORE workers per core x 4 threads), then every size
# without it.
MAIN = {"GUNICORN_WORKERS": "4", "GUNICORN_THREADS": "4", "GUNICORN_ACCESS_LOG": "true", "LOG_FORMAT": "json"}
SHIPPED = {"GUNICORN_WORKERS": "", "GUNICORN_THREADS": ""}  # gunicorn.conf.py's own defaults
LOGGED = {"GUNICORN_ACCESS_LOG": "true"}
CONFIGS = [
    Config("main's gunicorn.conf.py: 4 workers × 4 threads, JSON access log", env=MAIN),
    Config("gunicorn.conf.py, JSON access log on", env=SHIPPED | LOGGED | {"LOG_FORMAT": "json"}),
    Config("gunicorn.conf.py, plain access line on", env=SHIPPED | LOGGED | {"LOG_FORMAT": "plain"}),
    Config("gunicorn.conf.py as shipped (access log off)", env=SHIPPED | {"GUNICORN_ACCESS_LOG": ""}),
    *(sized(per_core, threads) for per_core in (1, 2, 4) for threads in (1, 2, 4, 8)),
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
