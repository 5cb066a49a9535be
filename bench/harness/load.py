"""Load generation (wrk, else a small Python client) and the SQL-per-request count."""

import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.harness.common import BENCH, COUNT_REQUEST, PROXY_HEADERS, QUERY_COUNT_HEADER, note
from bench.harness.database import settled_statements
from bench.harness.machine import CpuWatch, wait_for_quiet_machine
from bench.harness.server import Gunicorn, request


# --- Load -----------------------------------------------------------------------------------------
@dataclass
class Load:
    """What one load run measured."""

    requests: int
    seconds: float
    errors: int  # connection errors, timeouts and non-2xx answers
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    generator: str
    detail: dict = field(default_factory=dict)
    others_cpu: float = 0.0  # share of the machine other processes used meanwhile
    server_cpu_us: float = 0.0  # per request: gunicorn's CPU plus its PostgreSQL backends'

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_NO_WRK") != "1"


def generate_load(
    url: str,
    *,
    connections: int,
    seconds: float,
    paths: Sequence[str] = (),
    wrk_script: str = "paths.lua",
    wrk_args: Sequence[str] = (),
    make_request=None,
) -> Load:
    """`connections` clients, each sending its next request as soon as the last one is answered,
    for `seconds`. By default every request is a GET of a random one of `paths`; otherwise wrk
    runs `wrk_script` with `wrk_args`, and the Python client sends `make_request(rng, n)`, a
    (method, path, headers, body) tuple, for its n-th request."""
    if paths:
        if wrk_available():
            with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="bench-paths-") as listing:
                listing.write("\n".join(paths) + "\n")
                listing.flush()
                return _wrk(url, connections=connections, seconds=seconds, script="paths.lua", args=[listing.name])

        def make_request(rng, n):
            return "GET", rng.choice(paths), {}, b""

    if wrk_available():
        return _wrk(url, connections=connections, seconds=seconds, script=wrk_script, args=wrk_args)
    return asyncio.run(_python_load(url, connections=connections, seconds=seconds, make_request=make_request))


def combine(loads: Sequence[Load]) -> Load:
    """Rounds of one load as one: totals, and each percentile the median of the rounds'."""
    requests = sum(load.requests for load in loads)
    return Load(
        requests=requests,
        seconds=sum(load.seconds for load in loads),
        errors=sum(load.errors for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p90_ms=statistics.median(load.p90_ms for load in loads),
        p99_ms=statistics.median(load.p99_ms for load in loads),
        max_ms=max(load.max_ms for load in loads),
        generator=loads[0].generator,
        detail={"rounds": [load.__dict__ for load in loads]},
        others_cpu=statistics.mean(load.others_cpu for load in loads),
        server_cpu_us=sum(load.server_cpu_us * load.requests for load in loads) / max(requests, 1),
    )


# A round whose busiest worker did more than this share of the workers' CPU ran on one worker.
ONE_WORKER_SHARE = 0.9
ONE_WORKER_RETRIES = 3


def measured_load(server: "Gunicorn", database: str, **kwargs) -> Load:
    """generate_load on a machine as quiet as it gets, noting what other processes used.

    The load generator opens its keep-alive connections at once, and whichever worker wakes first
    may accept every one of them (seen about one round in ten with wrk's 32 connections on 2
    workers): that round measures one worker on one core, at half the rate, whatever the code.
    Such a round is run again, up to ONE_WORKER_RETRIES times, and the repeats are counted in
    `detail["one_worker_rounds"]`."""
    for attempt in range(ONE_WORKER_RETRIES + 1):
        wait_for_quiet_machine()
        with CpuWatch(database, server) as watch:
            load = generate_load(server.url, **kwargs)
        share = watch.busiest_worker_share
        if share is None or share <= ONE_WORKER_SHARE or attempt == ONE_WORKER_RETRIES:
            break
        note(f"  every connection on one worker ({share:.0%} of the workers' CPU): round run again")
    load.detail["one_worker_rounds"] = attempt
    load.others_cpu = watch.others
    load.server_cpu_us = (watch.server_s + watch.db_s) / max(load.requests, 1) * 1e6
    return load


def _wrk(url: str, *, connections: int, seconds: float, script: str, args: Sequence[str]) -> Load:
    command = [
        "wrk",
        "--threads",
        "1",  # one thread drives 32 connections easily and leaves the cores to the server
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        "--script",
        str(BENCH / "wrk" / script),
        url,
        "--",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise SystemExit(f"wrk printed no figures:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line)
    # Answers of 400 and up are in both "status" and "not2xx".
    errors = data["connect"] + data["read"] + data["write"] + data["timeout"] + data["not2xx"]
    return Load(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        generator="wrk",
        detail=data,
    )


async def _python_load(url, *, connections, seconds, make_request) -> Load:
    """A small HTTP/1.1 keep-alive client for machines without wrk: slower than wrk, and it takes
    a share of the CPU the server would have, so its figures are lower bounds."""
    host, port = url.removeprefix("http://").split(":")
    port = int(port)
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def client(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)  # noqa: S311 - picking sales to poll
        reader = writer = None
        while time.monotonic() < deadline:
            method, path, headers, body = make_request(rng, next(counter))
            head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
            head += [f"{k}: {v}" for k, v in (PROXY_HEADERS | headers).items()]
            message = ("\r\n".join(head) + "\r\n\r\n").encode() + body
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(message)
                status_line = await reader.readline()
                status = int(status_line.split()[1])
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection" and value.strip().lower() == "close":
                        close = True
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if not 200 <= status < 300:
                    errors += 1
                if close:
                    writer.close()
                    reader = writer = None
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(connections)))
    elapsed = time.monotonic() - started
    return Load(
        requests=len(latencies),
        seconds=elapsed,
        errors=errors,
        p50_ms=percentile(latencies, 50) * 1000,
        p90_ms=percentile(latencies, 90) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=max(latencies, default=0) * 1000,
        generator="python client (no wrk)",
    )


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def check_answers(port: int, paths: Sequence[str], *, expect: int = 200, count: int = 5) -> None:
    """Before a run: the paths answer `expect` (wrk would count a redirect as a success)."""
    for path in paths[:count]:
        status, _, body = request("GET", port, path)
        if status != expect:
            raise SystemExit(f"GET {path} answered {status}, not {expect}: {body[:300]!r}")


def queries_per_request(
    port: int,
    requests: Sequence[tuple[str, str, dict, bytes]],
    *,
    database: str,
    expect: Sequence[int] = (200,),
) -> tuple[float, float]:
    """(SQL queries Django ran, statements PostgreSQL executed) per request, over the given
    (method, path, headers, body) requests sent one after another to an otherwise idle server."""
    before = settled_statements(database)
    counted = []
    for method, path, headers, body in requests:
        headers = headers | COUNT_REQUEST  # bench/middleware.py counts these only
        status, answer_headers, answer = request(method, path=path, port=port, body=body or None, headers=headers)
        if status not in expect:
            raise SystemExit(f"{method} {path} answered {status} during the query count: {answer[:300]!r}")
        counted.append(int(answer_headers.get(QUERY_COUNT_HEADER, "-1")))
    after = settled_statements(database)
    return statistics.mean(counted), (after - before) / len(requests)


def get_requests(paths: Sequence[str], samples: int = 200) -> list[tuple[str, str, dict, bytes]]:
    return [("GET", path, {}, b"") for path in random.Random(1).choices(paths, k=samples)]  # noqa: S311
