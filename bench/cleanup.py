"""Benchmark 6, cleanup: `manage.py cleanup` deleting the photos of --sales expired sales with
--photos photos each from a fake Cloudinary, and what it costs in Admin API calls.

The Admin API is rate-limited per hour (500 calls on the free plan; Cloudinary says how many are
left in every answer). Two runs: with a budget of 5,000 calls (a paid plan: everything goes in
one run), and with the free plan's 500 (the run must stop before the limit; the rest follow next
hour). Production settings, PostgreSQL.

    .venv/bin/python -m bench.cleanup           # 10,000 sales x 12 photos
    .venv/bin/python -m bench.cleanup --smoke
"""

import re
import time

import psycopg

from bench import harness as h
from bench.fake_cloudinary import cloudinary_env, fake_cloudinary_server

TARGET_CALLS_PER_SALE = 0.2

EXPIRED_SALES_SQL = """
INSERT INTO payments_transaction (
    external_id, amount, list_price, status, xendit_qr_id, xendit_payment_id, qr_string, email, send_invoice,
    expires_at, paid_at, payment_channel, payment_receipt_id, email_sent_at, gallery_key, needs_review,
    created_at, updated_at, location_id, price_id
)
SELECT
    'TRX-' || loc || '-' || to_char(created AT TIME ZONE 'Asia/Jakarta', 'YYYYMMDDHH24MISS')
        || '-' || upper(lpad(to_hex(n), 8, '0')),
    40000, 40000, 'COMPLETED', 'qr_' || md5(n::text), 'qrpy_' || md5(n::text), '000201',
    'customer' || n || '@example.com',
    true, created + interval '15 minutes', created + interval '1 minute', 'QRIS', '', created + interval '10 minutes',
    md5('gallery' || n), false, created, created, loc, %(price)s
FROM (
    SELECT n, 1 + n %% %(locations)s AS loc, now() - interval '20 days' - n * interval '10 seconds' AS created
    FROM generate_series(1::bigint, %(sales)s::bigint) n
) s
"""

PHOTOS_SQL = """
INSERT INTO gallery_photo (
    sale_id, position, storage_key, url, bytes, width, height, format, original_name, checksum, stored_at, created_at
)
SELECT s.id, p, 'photobox/' || s.external_id || '/' || lpad(p::text, 2, '0') || '-' || left(md5(s.id || '-' || p), 16),
    'https://res.cloudinary.com/photobox-test/image/upload/v1/photobox/' || s.external_id || '/' || p || '.jpg',
    3000000, 4000, 3000, 'JPEG', 'photo' || p || '.jpg', md5(s.id || '-' || p), s.paid_at, s.paid_at
FROM payments_transaction s CROSS JOIN generate_series(1, %(photos)s) p
"""


def seed_expired(url: str, *, sales: int, photos: int) -> list[str]:
    """Replace every sale with `sales` paid sales whose email went out 20 days ago, each with
    `photos` stored photos; returns the photos' storage keys."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE gallery_photo, gallery_emailoutbox, payments_transaction RESTART IDENTITY CASCADE")
        conn.execute(EXPIRED_SALES_SQL, {"price": h.PRICE_ID, "locations": h.LOCATIONS, "sales": sales})
        conn.execute(PHOTOS_SQL, {"photos": photos})
        conn.execute("VACUUM ANALYZE payments_transaction")
        conn.execute("VACUUM ANALYZE gallery_photo")
        return [row[0] for row in conn.execute("SELECT storage_key FROM gallery_photo")]


def cleanup_run(env: dict[str, str], url: str, *, sales: int, photos: int, budget: int) -> dict:
    server = fake_cloudinary_server(budget=budget, remaining=budget)
    keys = seed_expired(url, sales=sales, photos=photos)
    with server as fake:
        for key in keys:
            fake.put(key)
        run_env = env | cloudinary_env(server)
        h.wait_for_quiet_machine()
        started = time.perf_counter()
        result = h.manage(run_env, "cleanup", capture_output=True, text=True)
        wall = time.perf_counter() - started
        calls = fake.admin_calls
        with psycopg.connect(url) as conn:
            deleted = conn.execute(
                "SELECT count(*) FROM payments_transaction WHERE photos_deleted_at IS NOT NULL"
            ).fetchone()[0]
        summary = re.search(r"storage API calls (\d+)", result.stdout)
        return {
            "budget": budget,
            "sales": sales,
            "photos": sales * photos,
            "deleted_sales": deleted,
            "assets_left": len(fake.assets),
            "admin_calls": len(calls),
            "refused_429": sum(call.status == 429 for call in calls),
            "remaining": fake.remaining,
            "wall": wall,
            "reported_calls": int(summary.group(1)) if summary else None,
            "stopped_early": "stopped early" in result.stdout,
        }


def main() -> None:
    p = h.parser(__doc__.split("\n\n")[0])
    p.add_argument("--sales", type=int, default=10_000)
    p.add_argument("--photos", type=int, default=12)
    args = p.parse_args()
    budgets = [5_000, 500]
    if args.smoke:
        args.sales, budgets = 300, [100, 20]
    name = h.db_name("photobox_bench_cleanup")
    env = h.server_env(h.database_url(name), **h.server_extra_env(args))
    env["DJANGO_SETTINGS_MODULE"] = "photobox.settings"
    h.drop_database(name)
    url = h.prepare_database(name, h.seed_locations_and_price, signature="cleanup", env=env)
    rows, figures = [], []
    try:
        for budget in budgets:
            h.note(f"cleanup of {args.sales:,} sales x {args.photos} photos, Admin API budget {budget:,}/hour")
            run = cleanup_run(env, url, sales=args.sales, photos=args.photos, budget=budget)
            figures.append(run)
            rows.append(
                [
                    f"{budget:,} calls/hour",
                    run["sales"],
                    run["photos"],
                    run["deleted_sales"],
                    run["admin_calls"],
                    run["admin_calls"] / max(run["deleted_sales"], 1),
                    run["refused_429"],
                    run["remaining"],
                    "yes" if run["stopped_early"] else "no",
                    run["wall"],
                ]
            )
    finally:
        if not args.keep_db:
            h.drop_database(name)
    worst = max(r["admin_calls"] / max(r["deleted_sales"], 1) for r in figures)
    never_limited = all(r["refused_429"] == 0 for r in figures)
    h.print_table(
        f"Cleanup: {args.sales:,} expired sales x {args.photos} photos, fake Cloudinary "
        "(Admin API: 100 ids per delete)",
        [
            "Admin API budget",
            "sales due",
            "photos",
            "sales cleaned",
            "Admin API calls",
            "calls/sale",
            "429 answers",
            "budget left",
            "stopped early",
            "wall s",
        ],
        rows,
        notes=[
            f"targets: ≤ {TARGET_CALLS_PER_SALE} Admin API calls per sale "
            f"{'met' if worst <= TARGET_CALLS_PER_SALE else 'MISSED'} ({worst:.3f}), "
            f"never past the rate limit {'met' if never_limited else 'MISSED'}",
            "wall time includes `manage.py` start-up (~0.5 s); the fake answers the Admin API at once",
        ],
    )
    h.write_json(args.json, figures)


if __name__ == "__main__":
    main()
