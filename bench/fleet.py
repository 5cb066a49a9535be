"""Benchmark 8, the fleet board: how long /admin/locations/location/fleet/ takes with 1,000 machines
(each with its last heartbeat, some with open incidents, some out of service) and 100,000 sales, and
how many SQL queries it runs (the same number as with one machine: tests/backoffice).

The page is rendered in this process by Django's test client with production settings (DEBUG off),
logged in as a superuser, against its own PostgreSQL database seeded with bulk SQL: the time is the
server's (queries, Python, template), without the network or a browser.

    .venv/bin/python -m bench.fleet            # 1,000 machines
    .venv/bin/python -m bench.fleet --smoke    # 200 machines, 1,000 sales
"""

import statistics
import time

import psycopg

from bench import harness as h

MACHINES_SQL = """
INSERT INTO locations_location (id, machine_code, name, address, city, is_active, needs_printer, opens_at,
    closes_at, out_of_service_since, out_of_service_note, created_at, updated_at)
SELECT i, 'PB-' || lpad(i::text, 4, '0'), 'Mall ' || i, '',
    (ARRAY['Jakarta', 'Surabaya', 'Bandung', 'Medan', 'Denpasar'])[1 + i %% 5], i %% 50 <> 0, i %% 2 = 0,
    '10:00', '22:00', CASE WHEN i %% 41 = 0 THEN now() END, CASE WHEN i %% 41 = 0 THEN 'repair' ELSE '' END,
    now(), now()
FROM generate_series(1, %(machines)s) i
"""

# Every 13th machine never sent a heartbeat; the others' ages spread over 20 minutes (online, stale,
# offline); some report paper low (with an open incident) or out of service.
STATUS_SQL = """
INSERT INTO locations_machinestatus (location_id, beat_at, status, printer_status, prints_left, camera_status,
    app_version, message)
SELECT i, now() - (i %% 20) * interval '1 minute', CASE WHEN i %% 37 = 0 THEN 'out_of_service' ELSE 'ok' END,
    CASE WHEN i %% 11 = 0 THEN 'paper_low' ELSE 'ok' END, 300 - i %% 300, 'ok', '2.3.1', ''
FROM generate_series(1, %(machines)s) i WHERE i %% 13 <> 0
"""

INCIDENTS_SQL = """
INSERT INTO locations_machineincident (location_id, kind, started_at, detail)
SELECT i, 'paper_low', now() - interval '1 hour', '12 prints left'
FROM generate_series(1, %(machines)s) i WHERE i %% 11 = 0 AND i %% 13 <> 0
"""


def seed(machines: int, sales: int):
    def run(conn: psycopg.Connection) -> None:
        conn.execute(MACHINES_SQL, {"machines": machines})
        conn.execute("SELECT setval(pg_get_serial_sequence('locations_location', 'id'), %s)", (machines,))
        conn.execute(STATUS_SQL, {"machines": machines})
        conn.execute(INCIDENTS_SQL, {"machines": machines})
        h.seed_price(conn, price=h.PRICE_ID)
        h.seed_sales(conn, sales)

    return run


def measure(url: str, *, runs: int, env: dict[str, str]) -> dict:
    client = h.staff_client(url, **env)

    path = "/admin/locations/location/fleet/"
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        response = client.get(path, secure=True, headers=h.COUNT_REQUEST)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        if run:  # the first one warms caches and imports
            times.append(elapsed)
    filtered = client.get(path + "?state=offline", secure=True)
    return {
        "machines": response.content.count(b"data-machine="),
        "offline_shown": filtered.content.count(b"data-machine="),
        "queries": int(response[h.QUERY_COUNT_HEADER]),
        "p50_ms": statistics.median(times) * 1000,
        "max_ms": max(times) * 1000,
        "kib": len(response.content) / 1024,
    }


def main() -> None:
    args = h.parser(__doc__.splitlines()[0]).parse_args()
    # Sales go to the first h.LOCATIONS (200) machines.
    machines, sales, runs = (h.LOCATIONS, 1_000, 3) if args.smoke else (1_000, 100_000, 10)
    name = h.db_name(f"photobox_bench_fleet_{machines}")
    url = h.prepare_database(
        name, seed(machines, sales), signature=f"fleet-{machines}-{sales}", env=h.server_env(h.database_url(name))
    )
    try:
        h.wait_for_quiet_machine()
        figures = measure(url, runs=runs, env=h.server_extra_env(args))
    finally:
        from django.db import connections

        connections.close_all()
        # args, not h.KEEP_DB: the package's copy of the flag is taken before the arguments are parsed.
        if not args.keep_db:
            h.drop_database(name)
    print(f"\nFleet board, {machines:,} machines, {sales:,} sales, {runs} page loads (after one to warm up)")
    print(f"  machines listed      {figures['machines']:>8,}  (offline filter: {figures['offline_shown']:,})")
    print(f"  SQL queries          {figures['queries']:>8}")
    print(f"  page time p50        {figures['p50_ms']:>8.0f} ms")
    print(f"  page time max        {figures['max_ms']:>8.0f} ms")
    print(f"  page size            {figures['kib']:>8.0f} KiB")


if __name__ == "__main__":
    main()
