"""The staff screens' data for bench.admin: 1,000,000 sales as the harness seeds them, varied as a
chain's history is (three packages, vouchers, refunds, payment problems), with what the other
admin lists show beside them: a payment notification per paid sale, a photo email per paid sale,
refunds, vouchers, machine incidents.

All bulk SQL (generate_series); the sales go in with their secondary indexes built afterwards."""

import psycopg
from psycopg import sql

from bench import harness as h

PACKAGES = [
    ("00000000-0000-4000-8000-000000000002", 25000, "Benchmark: 2 photo strips"),
    ("00000000-0000-4000-8000-000000000003", 60000, "Benchmark: 6 photo strips and a print"),
]

# Sales are numbered by id in the order the harness inserts them (n = id). One in seven is the
# small package, one in seven the big one; one in eleven used a flyer voucher (Rp 10,000 off).
VARY_SALES_SQL = """
UPDATE payments_transaction SET
    price_id = CASE id %% 7 WHEN 0 THEN %(small)s::uuid WHEN 1 THEN %(big)s::uuid ELSE price_id END,
    list_price = CASE id %% 7 WHEN 0 THEN 25000 WHEN 1 THEN 60000 ELSE 40000 END,
    discount = CASE WHEN id %% 11 = 0 THEN 10000 ELSE 0 END,
    amount = CASE id %% 7 WHEN 0 THEN 25000 WHEN 1 THEN 60000 ELSE 40000 END
        - CASE WHEN id %% 11 = 0 THEN 10000 ELSE 0 END,
    voucher_id = CASE WHEN id %% 11 = 0 THEN 1 + id %% %(vouchers)s END,
    voucher_code = CASE WHEN id %% 11 = 0 THEN 'FLYER' || lpad((1 + id %% %(vouchers)s)::text, 5, '0') ELSE '' END,
    paid_at = CASE WHEN status = 'COMPLETED' THEN created_at + (20 + id %% 300) * interval '1 second' END,
    payment_channel = CASE WHEN status = 'COMPLETED'
        THEN (ARRAY['DANA', 'OVO', 'SHOPEEPAY', 'GOPAY', 'BCA', 'LINKAJA'])[1 + id %% 6] ELSE '' END,
    payment_receipt_id = CASE WHEN status = 'COMPLETED' THEN 'RCPT' || lpad(id::text, 10, '0') ELSE '' END,
    email = (ARRAY['budi', 'siti', 'agus', 'dewi', 'rina', 'andi', 'putri', 'joko'])[1 + id %% 8]
        || '.' || (ARRAY['santoso', 'wijaya', 'pratama', 'lestari', 'hidayat', 'saputra'])[1 + id %% 6]
        || id || '@' || (ARRAY['gmail.com', 'yahoo.co.id', 'outlook.com', 'icloud.com'])[1 + id %% 4],
    -- One paid sale in 500 refunded in full; one sale in 997 has a payment problem open.
    status = CASE WHEN status = 'COMPLETED' AND id %% 500 = 4 THEN 'REFUNDED' ELSE status END,
    refunded_amount = CASE WHEN status = 'COMPLETED' AND id %% 500 = 4 THEN
        (CASE id %% 7 WHEN 0 THEN 25000 WHEN 1 THEN 60000 ELSE 40000 END
         - CASE WHEN id %% 11 = 0 THEN 10000 ELSE 0 END) ELSE 0 END,
    needs_review = id %% 997 = 5
"""

VOUCHERS_SQL = """
INSERT INTO pricing_voucher (id, code, description, batch, kind, value, valid_from, valid_until, max_uses,
    one_per_email, uses, is_active, created_at, updated_at)
SELECT i, 'FLYER' || lpad(i::text, 5, '0'), 'Mall flyer', 'flyers-' || (i / 500), 'fixed', 10000,
    now() - interval '400 days', NULL, NULL, false, 0, i %% 50 <> 0, now(), now()
FROM generate_series(1, %(vouchers)s) i
"""

# Xendit's webhook for every paid sale (applied), a duplicate of one in 50, and payments for no
# known sale (one in 2,000 sales' worth, a tenth of them still open).
EVENTS_SQL = """
INSERT INTO payments_paymentevent (received_at, source, remote_addr, headers, body, body_size, body_sha256,
    webhook_id, shape, event_type, reference, xendit_payment_id, reported_status, amount, sale_id, outcome,
    outcome_detail, processed_at)
SELECT paid_at + interval '2 seconds', 'webhook', '203.0.113.10', '{}'::jsonb,
    '{"event": "qr.payment", "data": {"reference_id": "' || external_id || '"}}', 120, md5(external_id),
    'wh_' || md5(external_id), 'qr_payment', 'qr.payment', external_id, xendit_payment_id, 'SUCCEEDED', amount,
    id, 'applied', '', paid_at + interval '2 seconds'
FROM payments_transaction WHERE status IN ('COMPLETED', 'REFUNDED');
INSERT INTO payments_paymentevent (received_at, source, remote_addr, headers, body, body_size, body_sha256,
    webhook_id, shape, event_type, reference, xendit_payment_id, reported_status, amount, sale_id, outcome,
    outcome_detail, processed_at)
SELECT paid_at + interval '40 seconds', 'webhook', '203.0.113.10', '{}'::jsonb, '{}', 2, '',
    'wh_dup_' || md5(external_id), 'qr_payment', 'qr.payment', external_id, xendit_payment_id, 'SUCCEEDED', amount,
    id, 'duplicate', 'Already applied', paid_at + interval '40 seconds'
FROM payments_transaction WHERE status = 'COMPLETED' AND id %% 50 = 4;
INSERT INTO payments_paymentevent (received_at, source, remote_addr, headers, body, body_size, body_sha256,
    webhook_id, shape, event_type, reference, xendit_payment_id, reported_status, amount, sale_id, outcome,
    outcome_detail, processed_at, reviewed_at)
SELECT now() - i * interval '1 hour', 'webhook', '203.0.113.10', '{}'::jsonb, '{}', 2, '',
    'wh_unknown_' || i, 'qr_payment', 'qr.payment', 'TRX-UNKNOWN-' || i, 'qrpy_unknown_' || i, 'SUCCEEDED', 40000,
    NULL, 'unknown_sale', 'No sale with this number', now() - i * interval '1 hour',
    CASE WHEN i %% 10 <> 0 THEN now() - i * interval '1 hour' + interval '1 day' END
FROM generate_series(1, %(unknown)s) i;
"""

# The photo email of every paid sale: sent, but a few still retrying or given up.
OUTBOX_SQL = """
INSERT INTO gallery_emailoutbox (sale_id, kind, recipients, subject, body, status, attempts, next_attempt_at,
    last_error, sent_at, created_at, updated_at)
SELECT id, 'customer_photos', '', '', '',
    CASE WHEN id % 1000 = 6 THEN 'failed' WHEN id % 1000 = 7 THEN 'pending' ELSE 'sent' END,
    CASE WHEN id % 1000 IN (6, 7) THEN 8 ELSE 1 END, paid_at + interval '10 minutes',
    CASE WHEN id % 1000 IN (6, 7) THEN '421 try again later' ELSE '' END,
    CASE WHEN id % 1000 IN (6, 7) THEN NULL ELSE paid_at + interval '10 minutes' END,
    paid_at + interval '5 minutes', paid_at + interval '10 minutes'
FROM payments_transaction WHERE status IN ('COMPLETED', 'REFUNDED');
UPDATE payments_transaction SET email_sent_at = NULL WHERE status = 'COMPLETED' AND id % 1000 IN (6, 7);
"""

REFUNDS_SQL = """
INSERT INTO payments_refund (sale_id, payment_id, amount, reason, origin, status, xendit_refund_id, failure_code,
    created_at, updated_at, gateway_called_at, settled_at)
SELECT id, xendit_payment_id, amount, 'Customer did not get their prints', CASE WHEN id % 3 = 0 THEN 'xendit'
    ELSE 'staff' END, 'SUCCEEDED', 'rfd_' || md5(external_id), '', paid_at + interval '1 hour',
    paid_at + interval '1 hour', paid_at + interval '1 hour', paid_at + interval '2 hours'
FROM payments_transaction WHERE status = 'REFUNDED';
INSERT INTO payments_salereview (sale_id, reason, at)
SELECT id, 'Amount missing or wrong: paid Rp 39.000 for Rp 40.000', created_at + interval '2 minutes'
FROM payments_transaction WHERE needs_review;
"""

# Every machine had an incident every few days over the year; one in ten machines has one open.
INCIDENTS_SQL = """
INSERT INTO locations_machineincident (location_id, kind, started_at, ended_at, detail)
SELECT 1 + i %% %(locations)s, (ARRAY['offline', 'paper_low', 'printer_error', 'camera_error'])[1 + i %% 4],
    now() - i * interval '17 minutes', now() - i * interval '17 minutes' + interval '40 minutes', 'bench'
FROM generate_series(1, %(incidents)s) i;
INSERT INTO locations_machineincident (location_id, kind, started_at, ended_at, detail)
SELECT i, 'offline', now() - interval '3 hours', NULL, 'bench' FROM generate_series(1, %(locations)s, 10) i;
"""


def seed(sales: int):
    """The seeding function for h.prepare_database."""
    vouchers = max(10, sales // 200)

    def run(conn: psycopg.Connection) -> None:
        h.seed_locations_and_price(conn)
        for price, amount, description in PACKAGES:
            conn.execute(
                "INSERT INTO pricing_price (id, amount, description, quota, is_active, created_at, updated_at)"
                " VALUES (%s, %s, %s, NULL, true, now(), now())",
                (price, amount, description),
            )
        conn.execute(VOUCHERS_SQL, {"vouchers": vouchers})
        with h.without_secondary_indexes(conn, "payments_transaction"):
            for start in range(1, sales + 1, 250_000):
                last = min(start + 250_000 - 1, sales)
                conn.execute(
                    h.SEED_SALES_SQL, {"price": h.PRICE_ID, "locations": h.LOCATIONS, "first": start, "last": last}
                )
            conn.execute(VARY_SALES_SQL, {"small": PACKAGES[0][0], "big": PACKAGES[1][0], "vouchers": vouchers})
        params = {"unknown": max(10, sales // 2000), "locations": h.LOCATIONS, "incidents": max(100, sales // 50)}
        for script in (EVENTS_SQL, INCIDENTS_SQL):
            # One statement at a time: psycopg binds parameters per statement.
            for statement in filter(str.strip, script.split(";\n")):
                conn.execute(statement, params)
        conn.execute(OUTBOX_SQL)
        conn.execute(REFUNDS_SQL)
        # The variations rewrote every sale: compact the table again, as a table grown row by row is.
        conn.execute("VACUUM FULL payments_transaction")
        for table in ("pricing_voucher", "payments_paymentevent", "payments_refund", "gallery_emailoutbox"):
            conn.execute(
                sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))").format(
                    sql.Literal(table), sql.Identifier(table)
                )
            )

    return run
