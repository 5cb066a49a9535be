"""Benchmark 10, admin pages: every staff list with 1,000,000 sales, unfiltered, with each of its
filters, searched (sale number, email, Xendit ids, machine, voucher), sorted by each sortable
column both ways, and its last page link; the sales report, the funnel, the fleet board and a sale's page.
Each must answer within 200 ms.

Pages are rendered in this process by Django's test client with production settings (DEBUG off),
logged in as a superuser, against a PostgreSQL database seeded with bulk SQL (bench/admin_data.py):
the time is the server's (queries, Python, template), without the network or a browser. Each page
is asked for --repeat times after one request to warm up; the table gives the SQL queries Django
ran, the median and the worst time.

`--drop-index NAME` (repeatable) measures the pages again in the same rounds with those indexes
dropped, inside a transaction rolled back afterwards: each index's before and after on the same
data (`--pages REGEX` to measure only the pages it is for).

    .venv/bin/python -m bench.admin                 # 1,000,000 sales
    .venv/bin/python -m bench.admin --smoke         # 20,000 sales
    .venv/bin/python -m bench.admin --keep-db --drop-index sale_amount_idx --pages amount
"""

import datetime
import html
import os
import re
import statistics
import time
from urllib.parse import parse_qsl, urlencode

from bench import harness as h
from bench.admin_data import seed

TARGET_MS = 200.0

# The admin's lists: (label, URL name, searches as label → term maker(sample) → term).
LISTS = [
    (
        "sales",
        "admin:payments_sale_changelist",
        {
            "sale number": lambda s: s["external_id"],
            "email": lambda s: s["email"],
            "Xendit payment id": lambda s: s["xendit_payment_id"],
            "Xendit QR id": lambda s: s["xendit_qr_id"],
            "machine code": lambda s: s["machine_code"],
            "voucher code": lambda s: s["voucher_code"],
            "no match": lambda s: "nobody@nowhere.example",
        },
    ),
    (
        "payment notifications",
        "admin:payments_paymentevent_changelist",
        {"sale number": lambda s: s["external_id"], "Xendit payment id": lambda s: s["xendit_payment_id"]},
    ),
    (
        "refunds",
        "admin:payments_refund_changelist",
        {"sale number": lambda s: s["refunded_external_id"], "Xendit payment id": lambda s: s["refunded_payment_id"]},
    ),
    (
        "email outbox",
        "admin:gallery_emailoutbox_changelist",
        {"sale number": lambda s: s["external_id"], "email": lambda s: s["email"]},
    ),
    ("prices", "admin:pricing_price_changelist", {}),
    ("vouchers", "admin:pricing_voucher_changelist", {"code": lambda s: s["voucher_code"]}),
    ("machines", "admin:locations_location_changelist", {"machine code": lambda s: s["machine_code"]}),
    ("incidents", "admin:locations_machineincident_changelist", {"machine code": lambda s: s["machine_code"]}),
]

# Date-range filters are forms, not links: the periods staff type.
DATE_FILTERS = {
    "sales": {"started, last 7 days": ("date_from", "date_to"), "paid, last 7 days": ("paid_from", "paid_to")},
    "payment notifications": {"received, last 7 days": ("date_from", "date_to")},
}

FILTER_LINKS = re.compile(r'<a href="\?([^"#]+)"')
SORT_HEADER = re.compile(
    r'<th scope="col" class="sortable[^"]*column-(\w+)[^"]*">.*?<div class="text"><a href="\?([^"]*)"', re.S
)
PAGE_LINKS = re.compile(r'href="\?(?:[^"]*&amp;)?p=(\d+)')


def sample() -> dict[str, str]:
    """One sale from the middle of the table (and one refunded), to search for."""
    from payments.models import Refund, Sale

    middle = Sale.objects.filter(status="COMPLETED", voucher__isnull=False).order_by("pk")
    sale = middle[middle.count() // 2]
    refund = Refund.objects.select_related("sale").order_by("pk").last()
    return {
        "external_id": sale.external_id,
        "email": sale.email.upper() if sale.pk % 2 else sale.email,
        "xendit_payment_id": sale.xendit_payment_id or "",
        "xendit_qr_id": sale.xendit_qr_id,
        "machine_code": sale.location.machine_code,
        "voucher_code": sale.voucher_code,
        "refunded_external_id": refund.sale.external_id if refund else "none",
        "refunded_payment_id": refund.payment_id if refund else "none",
    }


def _filter_paths(content: str, base: str) -> dict[str, str]:
    """One link per filter parameter of the list's filter sidebar (its first non-empty choice)."""
    sidebar = content.split('id="changelist-filter"', 1)[-1] if 'id="changelist-filter"' in content else ""
    paths: dict[str, str] = {}
    for query in FILTER_LINKS.findall(sidebar):
        params = dict(parse_qsl(html.unescape(query)))
        for name, value in params.items():
            if value and name not in ("o", "p", "q", "_facets") and name not in paths:
                paths[name] = f"{base}?{urlencode({name: value})}"
    return {f"filter {name}={value.split('=', 1)[1][:20]}": path for name, path in paths.items() for value in [path]}


def _sort_paths(content: str, base: str) -> dict[str, str]:
    """The column headers' links (what a click asks for), each also the other way round."""
    paths = {}
    for column, query in SORT_HEADER.findall(content):
        order = dict(parse_qsl(html.unescape(query))).get("o", "")
        if not order:
            continue
        first, *rest = order.split(".")
        flipped = ".".join([first[1:] if first.startswith("-") else f"-{first}", *rest])
        paths[f"sort {column} (o={order})"] = f"{base}?o={order}"
        paths[f"sort {column} (o={flipped})"] = f"{base}?o={flipped}"
    return paths


def pages(client, found: dict[str, str]) -> list[tuple[str, str]]:
    from django.urls import reverse

    today = datetime.datetime.now(datetime.UTC).astimezone(datetime.timezone(datetime.timedelta(hours=7))).date()
    week = {"from": (today - datetime.timedelta(days=6)).isoformat(), "to": today.isoformat()}
    result: list[tuple[str, str]] = []
    for label, name, searches in LISTS:
        base = reverse(name)
        content = client.get(base, secure=True).content.decode()
        result.append((f"{label}: unfiltered", base))
        result += [(f"{label}: {what}", path) for what, path in _filter_paths(content, base).items()]
        for what, (start, end) in DATE_FILTERS.get(label, {}).items():
            result.append((f"{label}: filter {what}", f"{base}?{urlencode({start: week['from'], end: week['to']})}"))
        result += [
            (f"{label}: search {what}", f"{base}?{urlencode({'q': term(found)})}") for what, term in searches.items()
        ]
        result += [(f"{label}: {what}", path) for what, path in _sort_paths(content, base).items()]
        last = max((int(p) for p in PAGE_LINKS.findall(content)), default=0)
        if last > 1:
            result.append((f"{label}: last page link (p={last})", f"{base}?p={last}"))
    from payments.models import Sale

    sale = Sale.objects.get(external_id=found["external_id"])
    result += [
        ("sales report (default period)", reverse("admin:payments_sale_report")),
        ("funnel (default month)", reverse("admin:payments_sale_funnel")),
        ("fleet board", reverse("admin:locations_location_fleet")),
        ("a sale's page", reverse("admin:payments_sale_change", args=[sale.pk])),
    ]
    return result


def _time(client, path: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(path, secure=True, headers=h.COUNT_REQUEST)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")
    return elapsed, int(response[h.QUERY_COUNT_HEADER])


SORT_METHODS = ("get_ordering", "get_ordering_field_columns")


class Before:
    """The pages as they were: these indexes dropped (in a transaction rolled back afterwards,
    which puts them back), and with `django_ordering` the lists sorted as Django sorts them (the
    clicked column, the default ordering's column, then -pk) instead of OneColumnSortChangeList's."""

    def __init__(self, indexes: list[str], *, django_ordering: bool) -> None:
        self.indexes, self.django_ordering = indexes, django_ordering

    def __enter__(self):
        from django.contrib.admin.views.main import ChangeList
        from django.db import connection, transaction

        from backoffice.tools import OneColumnSortChangeList

        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        with connection.cursor() as cursor:
            for index in self.indexes:
                cursor.execute(f'DROP INDEX "{index}"')
        self.saved = {name: vars(OneColumnSortChangeList)[name] for name in SORT_METHODS}
        if self.django_ordering:
            for name in SORT_METHODS:
                setattr(OneColumnSortChangeList, name, getattr(ChangeList, name))
        return self

    def __exit__(self, *exc):
        from django.db import transaction

        from backoffice.tools import OneColumnSortChangeList

        for name, method in self.saved.items():
            setattr(OneColumnSortChangeList, name, method)
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)


def measure(client, paths: list[tuple[str, str]], *, repeat: int, before: Before | None) -> list[dict]:
    variants = [("with", None)] + ([("without", before)] if before else [])
    figures = {(label, variant): {"ms": [], "queries": 0} for label, _ in paths for variant, _ in variants}
    for run in range(repeat + 1):  # the first round warms caches and imports, not counted
        for variant, block in variants:
            h.note(f"round {run} of {repeat} ({'warm-up' if not run else variant})")
            with block or _Nothing():
                for label, path in paths:
                    elapsed, queries = _time(client, path)
                    if run:
                        figures[(label, variant)]["ms"].append(elapsed)
                    figures[(label, variant)]["queries"] = queries
    rows = []
    for label, path in paths:
        row = {"page": label, "path": path}
        for variant, _ in variants:
            values = figures[(label, variant)]
            row[variant] = {
                "queries": values["queries"],
                "median_ms": statistics.median(values["ms"]),
                "worst_ms": max(values["ms"]),
            }
        rows.append(row)
    return rows


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def main() -> None:
    p = h.parser(__doc__.split("\n\n")[0])
    p.add_argument("--sales", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--drop-index", action="append", default=[], help="measure also without this index")
    p.add_argument(
        "--django-ordering", action="store_true", help="measure also with Django's own sorting (the 'before')"
    )
    p.add_argument("--pages", default="", help="only the pages whose label matches this regular expression")
    args = p.parse_args()
    if args.smoke:
        args.sales, args.repeat = 20_000, 2
    name = h.db_name(f"photobox_bench_admin_{args.sales}")
    url = h.prepare_database(
        name, seed(args.sales), signature=f"admin-{args.sales}", env=h.server_env(h.database_url(name))
    )
    load_before = os.getloadavg()[0]
    try:
        client = h.staff_client(url, **h.server_extra_env(args))
        paths = [(label, path) for label, path in pages(client, sample()) if re.search(args.pages, label)]
        h.wait_for_quiet_machine()
        with h.CpuWatch(name) as watch:
            before = None
            if args.drop_index or args.django_ordering:
                before = Before(args.drop_index, django_ordering=args.django_ordering)
            rows = measure(client, paths, repeat=args.repeat, before=before)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            h.drop_database(name)
    header = ["page", "SQL queries", "median ms", "worst ms", f"≤ {TARGET_MS:.0f} ms"]
    compared = bool(args.drop_index or args.django_ordering)
    if compared:
        header += ["before: median ms", "worst ms", "SQL queries"]
    table = []
    for row in rows:
        cells = [row["page"], row["with"]["queries"], row["with"]["median_ms"], row["with"]["worst_ms"]]
        cells.append("yes" if row["with"]["median_ms"] <= TARGET_MS else "**no**")
        if compared:
            cells += [row["without"]["median_ms"], row["without"]["worst_ms"], row["without"]["queries"]]
        table.append(cells)
    slow = [row["page"] for row in rows if row["with"]["median_ms"] > TARGET_MS]
    notes = [
        f"{len(rows) - len(slow)} of {len(rows)} pages within {TARGET_MS:.0f} ms (median)"
        + (f"; over: {', '.join(slow)}" if slow else "."),
        f"Load average at the start: {load_before:.1f}; while measuring, other processes took {watch.others:.0%}"
        f" of the machine's CPU (this process {watch.client_s:.1f} s, PostgreSQL {watch.db_s:.1f} s).",
    ]
    if compared:
        what = [f"indexes dropped (then restored): {', '.join(args.drop_index)}"] if args.drop_index else []
        what += ["Django's own sorting (clicked column, default ordering, -pk)"] if args.django_ordering else []
        notes.append(f"'Before', measured in the same rounds on the same data: {'; '.join(what)}.")
    h.print_table(
        f"Admin pages, {args.sales:,} sales, {args.repeat} requests each (after one to warm up)", header, table, notes
    )
    h.write_json(
        args.json,
        {
            "sales": args.sales,
            "dropped": args.drop_index,
            "django_ordering": args.django_ordering,
            "others_cpu": watch.others,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
