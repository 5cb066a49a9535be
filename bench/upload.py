"""Benchmark 4, photo upload: a kiosk uploads a session's photos while the customer waits.

`POST /api/v1/transactions/{id}/photos` with 12 JPEGs of ~3 MB each, to a fake Cloudinary (the
real SDK, over HTTP on 127.0.0.1) that takes --latency seconds per upload: the request's wall
time, and how much the serving worker's resident memory (RSS) grew at its peak. Then 20 JPEGs of
~10 MB each, for memory. Production settings under gunicorn on PostgreSQL.

    .venv/bin/python -m bench.upload            # 3 runs of each
    .venv/bin/python -m bench.upload --smoke    # 3 small photos, 1 run
"""

import io
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from PIL import Image

from bench import harness as h
from bench.fake_cloudinary import cloudinary_env, fake_cloudinary_server

TARGET_WALL_S = 1.2
TARGET_RSS_MB = 150


def photo(size: int, number: int) -> bytes:
    """A JPEG of about `size` bytes (noise, so it does not compress), cached between runs."""
    cache = Path(tempfile.gettempdir()) / "photobox-bench" / "photos"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{size}-{number}.jpg"
    if path.exists():
        return path.read_bytes()
    rng = random.Random(number)  # noqa: S311 - noise for test photos
    width = int((size / 1.2) ** 0.5 * 1.15)
    data = b""
    for _ in range(8):
        height = width * 3 // 4
        image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        data = buffer.getvalue()
        if abs(len(data) - size) <= size * 0.03:
            break
        width = max(16, int(width * (size / len(data)) ** 0.5))
    path.write_bytes(data)
    return data


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    chunks = []
    for name, content in files:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n".encode()
        )
        chunks.append(content)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


PAID_SALE_SQL = """
INSERT INTO payments_transaction (
    external_id, amount, list_price, status, xendit_qr_id, xendit_payment_id, qr_string, email, send_invoice,
    expires_at, paid_at, payment_channel, payment_receipt_id, gallery_key, needs_review,
    created_at, updated_at, location_id, price_id
) VALUES (
    %(external_id)s::text, 40000, 40000, 'COMPLETED', 'qr_' || %(external_id)s::text, 'qrpy_' || %(external_id)s::text,
    '000201', 'customer@example.com', true, now() + interval '14 minutes', now(), 'QRIS', '',
    md5(%(external_id)s::text), false, now() - interval '1 minute', now(), 1, %(price)s
)
"""


def paid_sale(url: str, number: int) -> str:
    """A sale paid a moment ago whose photos have not been uploaded: what a kiosk uploads for."""
    external_id = f"TRX-1-20250101120000-UP{number:06d}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PAID_SALE_SQL, {"external_id": external_id, "price": h.PRICE_ID})
    return external_id


def upload_once(server: h.Gunicorn, url: str, number: int, files: list[tuple[str, bytes]]) -> dict:
    external_id = paid_sale(url, number)
    body, content_type = multipart(files)
    workers = server.worker_pids()
    before = {pid: h.memory_kib(pid)["VmRSS"] for pid in workers}
    for pid in workers:
        h.reset_peak_rss(pid)
    with h.CpuWatch(server.env["DATABASE_URL"].rsplit("/", 1)[1], server) as watch:
        started = time.perf_counter()
        status, _, answer = h.request(
            "POST",
            server.port,
            f"/api/v1/transactions/{external_id}/photos",
            body=body,
            headers={"Content-Type": content_type},
            timeout=120,
        )
        wall = time.perf_counter() - started
    if status != 200:
        raise SystemExit(f"upload answered {status}: {answer[:500]!r}")
    growth = max(h.memory_kib(pid)["VmHWM"] - rss for pid, rss in before.items() if Path(f"/proc/{pid}").exists())
    after = max(h.memory_kib(pid)["VmRSS"] for pid in before if Path(f"/proc/{pid}").exists())
    return {"wall": wall, "rss_growth_mb": growth / 1024, "rss_after_mb": after / 1024, "others": watch.others}


def main() -> None:
    p = h.parser(__doc__.split("\n\n")[0])
    p.add_argument("--latency", type=float, default=0.2, help="seconds the fake Cloudinary adds to every upload")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    scenarios = [("12 × 3 MB", 12, 3_000_000), ("20 × 10 MB", 20, 10_000_000)]
    if args.smoke:
        scenarios, args.runs = [("3 × 0.3 MB", 3, 300_000)], 1
    name = h.db_name("photobox_bench_upload")
    media = Path(tempfile.mkdtemp(prefix="photobox-bench-media-"))
    rows, figures = [], {}
    fake_server = fake_cloudinary_server(latency=args.latency)
    with fake_server as fake:
        env = h.server_env(
            h.database_url(name),
            **cloudinary_env(fake_server),
            MEDIA_ROOT=str(media),
            **h.server_extra_env(args),
        )
        h.drop_database(name)
        url = h.prepare_database(name, h.seed_locations_and_price, signature="upload", env=env)
        try:
            with h.Gunicorn(env, h.server_options(args), log=h.log_file("upload")) as server:
                number = 0
                for label, count, size in scenarios:
                    files = [(f"photo{i:02d}.jpg", photo(size, i)) for i in range(count)]
                    average = statistics.mean(len(c) for _, c in files)
                    h.note(f"{label}: {args.runs} uploads of {count} photos of {average / 1e6:.2f} MB")
                    number += 1
                    upload_once(server, url, number, files[:1])  # warm up the worker and the SDK
                    runs = []
                    for _ in range(args.runs):
                        h.wait_for_quiet_machine()
                        number += 1
                        runs.append(upload_once(server, url, number, files))
                    figures[label] = runs
                    walls = [r["wall"] for r in runs]
                    rows.append(
                        [
                            label,
                            f"{average / 1e6:.2f} MB",
                            len(runs),
                            statistics.median(walls),
                            max(walls),
                            max(r["rss_growth_mb"] for r in runs),
                            max(r["rss_after_mb"] for r in runs),
                            fake.max_concurrent_uploads,
                            f"{max(r['others'] for r in runs):.0%}",
                        ]
                    )
        finally:
            if not args.keep_db:
                h.drop_database(name)
            shutil.rmtree(media, ignore_errors=True)
    checks = []
    for label, runs in figures.items():
        if label.startswith("12"):
            checks.append(("12 × 3 MB ≤ 1.2 s", max(r["wall"] for r in runs) <= TARGET_WALL_S))
        if label.startswith("20"):
            checks.append(("20 × 10 MB RSS growth ≤ 150 MB", max(r["rss_growth_mb"] for r in runs) <= TARGET_RSS_MB))
    h.print_table(
        f"Photo upload: fake Cloudinary adding {args.latency:g} s per upload, "
        f"PHOTO_UPLOAD_CONCURRENCY={env.get('PHOTO_UPLOAD_CONCURRENCY', 'default (4)')}, "
        f"gunicorn {h.server_description(args)}",
        [
            "photos",
            "average size",
            "runs",
            "wall s (median)",
            "wall s (max)",
            "worker RSS growth MB (max)",
            "worker RSS after MB",
            "uploads at once (max)",
            "others' CPU",
        ],
        rows,
        notes=["targets: " + ", ".join(f"{n} {'met' if ok else 'MISSED'}" for n, ok in checks)] if checks else [],
    )
    h.write_json(args.json, figures)


if __name__ == "__main__":
    main()
