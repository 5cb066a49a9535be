"""Benchmark 8, funnel: the staff funnel page (/admin/payments/sale/funnel/) and its CSVs with
1,000,000 sales in the table, for the periods staff choose: today, a week, a month (the default)
and a whole year (every sale in the table). The page must answer within a second.

The sales are the harness's (one in ten awaiting payment, two expired, one failed, six paid, over
the last year at 200 machines); every paid sale got its photos and its email, two in three opened
their gallery and one in three downloaded; the paid sales spread over six payment channels.
Before measuring, the funnel's summary is rebuilt as cron keeps it (`manage.py summarise_funnel`,
hourly): once from nothing (every closed day of the year, as the first run after deploying) and once
more (an hourly run: the days whose galleries are still open), both timed. Today is counted live.
Production settings, PostgreSQL, one gunicorn; each page is asked for --repeat times in turn and
the median and worst times printed, with the SQL queries Django ran for it and how busy the rest of
the machine was meanwhile (others' CPU).

    .venv/bin/python -m bench.funnel              # 1,000,000 sales
    .venv/bin/python -m bench.funnel --smoke      # 20,000 sales
"""

import datetime
import shutil
import statistics
import tempfile
import time

import psycopg

from bench import harness as h

TARGET_SECONDS = 1.0
FUNNEL = "/admin/payments/sale/funnel/"

GALLERY_SQL = """
INSERT INTO gallery_emailoutbox (sale_id, kind, status, attempts, next_attempt_at, last_error, sent_at,
    created_at, updated_at, recipients, subject, body)
SELECT id, 'customer_photos', 'sent', 1, email_sent_at, '', email_sent_at, email_sent_at, email_sent_at, '', '', ''
FROM payments_transaction WHERE status = 'COMPLETED';
INSERT INTO gallery_galleryvisits (sale_id, first_opened_at, opens, zip_downloads, photo_downloads)
SELECT id, email_sent_at + interval '1 hour', 1 + id % 4, (id % 3 = 0)::int, (id % 6 = 0)::int * 2
FROM payments_transaction WHERE status = 'COMPLETED' AND id % 3 <> 1;
UPDATE payments_transaction
SET payment_channel = (ARRAY['DANA', 'OVO', 'SHOPEEPAY', 'GOPAY', 'BCA', 'LINKAJA'])[1 + id % 6],
    paid_at = created_at + (20 + id % 300) * interval '1 second'
WHERE status = 'COMPLETED';
"""

SESSION_CODE = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
    "bench", "bench@example.com", "bench-password-0123456789")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


def funnel_database(sales: int, env_extra: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    name = h.db_name(f"photobox_bench_funnel_{sales}")
    env = h.server_env(h.database_url(name), **env_extra)

    def seed(conn):
        h.seed_locations_and_price(conn)
        h.seed_sales(conn, sales)
        conn.execute(GALLERY_SQL)

    url = h.prepare_database(name, seed, signature=f"funnel-{sales}", env=env)
    return name, url, env


SUMMARY_TABLES = "gallery_funnelday, gallery_funnelpayments, gallery_funnelsummarisedday"


def summarise(url: str, env: dict[str, str]) -> list[str]:
    """Rebuild the summary from nothing, then run the hourly command once more: what each took."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {SUMMARY_TABLES}")
    lines = []
    for run in ("first run (every closed day)", "next run (hourly)"):
        started = time.perf_counter()
        output = h.manage(env, "summarise_funnel", capture_output=True, text=True).stdout.strip()
        lines.append(f"summarise_funnel, {run}: {time.perf_counter() - started:.1f} s ({output})")
    return lines


def pages(today: datetime.date) -> dict[str, str]:
    def period(start: datetime.date) -> str:
        return f"date_from={start.isoformat()}&date_to={today.isoformat()}"

    return {
        "page, today": f"{FUNNEL}?{period(today)}",
        "page, 7 days": f"{FUNNEL}?{period(today - datetime.timedelta(days=6))}",
        "page, this month (default)": FUNNEL,
        "page, a year (every sale)": f"{FUNNEL}?{period(today - datetime.timedelta(days=365))}",
        "page, a year, 1 machine": f"{FUNNEL}?{period(today - datetime.timedelta(days=365))}&location=1",
        "funnel CSV, a year": f"{FUNNEL}funnel.csv?{period(today - datetime.timedelta(days=365))}",
        "hours CSV, a year": f"{FUNNEL}hours.csv?{period(today - datetime.timedelta(days=365))}",
        "channels CSV, a year": f"{FUNNEL}channels.csv?{period(today - datetime.timedelta(days=365))}",
    }


def main() -> None:
    p = h.parser(__doc__.split("\n\n")[0])
    p.add_argument("--sales", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    if args.smoke:
        args.sales, args.repeat = 20_000, 2
    name, url, env = funnel_database(args.sales, h.server_extra_env(args))
    summary_notes = summarise(url, env)
    for line in summary_notes:
        h.note(line)
    # The admin's pages need the admin's static files collected (the other benchmarks serve none).
    env["STATIC_ROOT"] = tempfile.mkdtemp(prefix="photobox-bench-static-")
    h.manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    session = h.manage(env, "shell", "-c", SESSION_CODE, capture_output=True, text=True).stdout.split()[-1]
    headers = {"Cookie": f"sessionid={session}"}
    today = datetime.datetime.now(datetime.UTC).astimezone(datetime.timezone(datetime.timedelta(hours=7))).date()
    times: dict[str, list[float]] = {label: [] for label in pages(today)}
    queries: dict[str, str] = {}
    try:
        with h.Gunicorn(env, h.server_options(args), log=h.log_file("funnel")) as server:
            h.wait_for_quiet_machine()
            watch = h.CpuWatch(name, server)
            with watch:
                run_rounds(args.repeat, server.port, headers, today, times, queries)
    finally:
        shutil.rmtree(env["STATIC_ROOT"], ignore_errors=True)
        if not args.keep_db:
            h.drop_database(name)
    rows = [
        [label, queries[label], statistics.median(values) * 1000, max(values) * 1000] for label, values in times.items()
    ]
    worst = max(max(values) for label, values in times.items() if label.startswith("page"))
    h.print_table(
        f"Funnel page and CSVs, {args.sales:,} sales, {args.repeat} requests each",
        ["request", "SQL queries", "median ms", "worst ms"],
        rows,
        [
            f"Slowest page: {worst * 1000:.0f} ms (target: within {TARGET_SECONDS * 1000:.0f} ms).",
            f"Others' CPU meanwhile: {watch.others:.0%} of the machine.",
            *summary_notes,
        ],
    )
    h.write_json(args.json, {"sales": args.sales, "rows": rows, "others_cpu": watch.others})


def run_rounds(repeat: int, port: int, headers: dict, today, times: dict, queries: dict) -> None:
    for number in range(repeat + 1):  # the first round warms the caches, not counted
        for label, path in pages(today).items():
            started = time.perf_counter()
            status, response_headers, body = h.request(
                "GET", port, path, headers=headers | h.COUNT_REQUEST, timeout=120
            )
            elapsed = time.perf_counter() - started
            if status != 200:
                raise SystemExit(f"{path} answered {status}: {body[:300]!r}")
            if number:
                times[label].append(elapsed)
            queries[label] = response_headers.get(h.QUERY_COUNT_HEADER, "?")


if __name__ == "__main__":
    main()
