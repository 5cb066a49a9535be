"""Every change of a sale's status: one function per transition, each writing one SaleHistory row.

States: PENDING -> COMPLETED | FAILED | EXPIRED | CANCELLED, and COMPLETED -> REFUNDED. A payment
for a sale that ended unpaid (EXPIRED, FAILED, CANCELLED) still completes it, flagged for review,
because the customer paid.

Each transition runs under the sale's row lock or as a conditional UPDATE, and a transition that
no longer applies (the sale left the state it starts from) changes nothing and writes no row. The
status change and its row are written together (one transaction, no savepoint: no extra queries).
Nothing else sets `Sale.status`.

A sale ending unpaid (FAILED, EXPIRED, CANCELLED) gives its voucher's use back in the same
transaction; a late payment completing it takes the use again.

Every change that takes or frees quota, or pays a sale, is counted in its price's counters in the
same transaction, only when the change was made (pricing.services.count_sales; the rule of which
change counts how is pricing.services.quota_change). A new sale's place is taken in the statement
that locks its price (pricing.services.place_taking_sql): with the sale and its first row in that
one statement (`start_taking_its_place`), or before `start` (pricing.services.lock_price_for_sale). Locks are taken in
one order: the sale, then its price, then its voucher (a new sale: its price, then its voucher).

Flagging for review changes no status: its row is a SaleReview (the reason, and the notice that
raised it), and `needs_review` is the fast flag the admin's list filters on.
"""

from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connections, router, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.sql import row_values
from payments.models import FREE_SESSION_CHANNEL, PaymentEvent, Sale, SaleCause, SaleHistory, SaleReview, SaleStatus
from pricing import vouchers
from pricing.services import count_sales

# The states a sale ends in unpaid; a payment arriving afterwards still completes it.
ENDED_UNPAID = (SaleStatus.EXPIRED, SaleStatus.FAILED, SaleStatus.CANCELLED)


def cause_of(event: PaymentEvent) -> str:
    """The cause a payment notice stands for: where it came from (webhook, reconciliation, simulator)."""
    return SaleCause(event.source)


def _record(
    *, sale: Sale, from_status: str, to_status: str, cause: str, at: datetime, event=None, actor_id=None, actor_text=""
) -> SaleHistory:
    return SaleHistory.objects.create(
        sale=sale,
        from_status=from_status,
        to_status=to_status,
        cause=cause,
        event=event,
        actor_id=actor_id,
        actor_text=actor_text,
        at=at,
    )


def start(*, sale: Sale, actor_text: str = "") -> SaleHistory:
    """The sale's first row: made PENDING (by a kiosk). Call in the transaction that creates it,
    whose pricing.services.lock_price_for_sale counted its place of quota."""
    return _record(
        sale=sale,
        from_status="",
        to_status=SaleStatus.PENDING,
        cause=SaleCause.KIOSK,
        at=sale.created_at,
        actor_text=actor_text,
    )


def start_taking_its_place(*, sale: Sale, place: tuple[str, tuple], actor_text: str) -> bool:
    """`start` for a sale without a voucher, on PostgreSQL, in ONE statement: take its place of its
    price's quota (`place`: pricing.services.place_taking_sql, an UPDATE … RETURNING that locks the
    price), insert the sale priced at that row's amount, and insert its first history row. One
    statement is one transaction: all three happen, or, when the price refused, none (False).
    `sale`: unsaved, its list price and amount set here from the price."""
    connection = connections[router.db_for_write(Sale)]
    # The sale's price, list price and amount come from the price's row ("taken"); its first
    # history row's sale from the sale's ("new_sale").
    priced = {"price_id": "taken.id", "list_price": "taken.amount", "amount": "taken.amount"}
    sql, params = _insert_from("taken", sale, priced, connection)
    first_row = SaleHistory(to_status=SaleStatus.PENDING, cause=SaleCause.KIOSK, at=sale.created_at)
    first_row.actor_text = actor_text
    history, history_params = _insert_from("new_sale", first_row, {"sale_id": "new_sale.id"}, connection)
    statement = (
        f"WITH taken AS ({place[0]}), new_sale AS ({sql} RETURNING id, price_id, list_price, amount), "  # noqa: S608
        f"first_row AS ({history}) SELECT id, price_id, list_price, amount FROM new_sale"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, (*place[1], *params, *history_params))
        row = cursor.fetchone()
    if row is None:
        return False
    sale.pk, sale.price_id, sale.list_price, sale.amount = row
    sale._state.adding, sale._state.db = False, connection.alias
    return True


def _insert_from(source: str, obj, from_source: dict[str, str], connection) -> tuple[str, list]:
    """INSERT INTO `obj`'s table … SELECT its values FROM `source`: the columns named in
    `from_source` (by attname) take the SQL given there, every other its value as the ORM would
    write it (defaults, auto_now), as a parameter (core.sql.row_values)."""
    quote = connection.ops.quote_name
    columns, params = row_values(obj, connection, skip=frozenset(from_source))
    taken = [quote(type(obj)._meta.get_field(name).column) for name in from_source]
    values = ["%s"] * len(params) + list(from_source.values())
    table = quote(obj._meta.db_table)
    # Names from the models and the caller's constant SQL, every value a parameter.
    return f"INSERT INTO {table} ({', '.join(columns + taken)}) SELECT {', '.join(values)} FROM {source}", params  # noqa: S608


def _from_pending(*, sale: Sale, to_status: str, cause: str, event=None, now: datetime | None = None) -> bool:
    """PENDING -> `to_status` (an unpaid end) as one conditional UPDATE: a sale a payment completed
    meanwhile is left as it is. True when it changed. `sale` as read whole (its voucher)."""
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        changed = Sale.objects.filter(pk=sale.pk, status=SaleStatus.PENDING).update(status=to_status, updated_at=now)
        if changed:
            _record(sale=sale, from_status=SaleStatus.PENDING, to_status=to_status, cause=cause, event=event, at=now)
            count_sales(price_ids=[sale.price_id], from_status=SaleStatus.PENDING, to_status=to_status)
            vouchers.give_back(voucher_ids=[sale.voucher_id])
    if changed:
        sale.status = to_status
    return bool(changed)


def fail(*, sale: Sale, cause: str, event: PaymentEvent | None = None, now: datetime | None = None) -> bool:
    """PENDING -> FAILED: the gateway could not make the QR code, or a notice said so."""
    return _from_pending(sale=sale, to_status=SaleStatus.FAILED, cause=cause, event=event, now=now)


def cancel(*, sale: Sale, now: datetime | None = None) -> bool:
    """PENDING -> CANCELLED: the kiosk gave the sale up before it was paid."""
    return _from_pending(sale=sale, to_status=SaleStatus.CANCELLED, cause=SaleCause.KIOSK_CANCEL, now=now)


def expire(*, sales: QuerySet[Sale], cause: str, now: datetime, event: PaymentEvent | None = None) -> list[int]:
    """PENDING -> EXPIRED for those of `sales` still PENDING (the caller chooses which: overdue
    ones, or the one a notice named). Under their row locks, taken in id order so concurrent runs
    never deadlock; a sale a payment completed while we waited for its lock is skipped. Returns
    the ids of the sales expired."""
    with transaction.atomic(savepoint=False):
        due = sales.filter(status=SaleStatus.PENDING).select_for_update().order_by("pk")
        rows = list(due.values_list("pk", "price_id", "voucher_id"))
        ids = [pk for pk, _, _ in rows]
        if ids:
            count_sales(
                price_ids=[price_id for _, price_id, _ in rows],
                from_status=SaleStatus.PENDING,
                to_status=SaleStatus.EXPIRED,
            )
            vouchers.give_back(voucher_ids=[voucher_id for _, _, voucher_id in rows])
            Sale.objects.filter(pk__in=ids).update(status=SaleStatus.EXPIRED, updated_at=now)
            SaleHistory.objects.bulk_create(
                SaleHistory(
                    sale_id=pk,
                    from_status=SaleStatus.PENDING,
                    to_status=SaleStatus.EXPIRED,
                    cause=cause,
                    event=event,
                    at=now,
                )
                for pk in ids
            )
    return ids


class PaymentOnAnotherSale(Exception):
    """The payment id is already on another sale: one payment is never applied twice."""


def complete(
    *,
    sale: Sale,
    paid_at: datetime,
    paid_amount,
    payment_id: str | None,
    channel: str,
    receipt_id: str,
    cause: str,
    event: PaymentEvent | None = None,
) -> None:
    """PENDING -> COMPLETED; or, a late payment, EXPIRED, FAILED or CANCELLED -> COMPLETED,
    flagged for review (keep it and let the customer take photos, or refund it). For a sale the
    caller locked, inside its transaction. Raises PaymentOnAnotherSale, changing nothing."""
    previous = sale.status
    if previous != SaleStatus.PENDING and previous not in ENDED_UNPAID:
        raise ValueError(f"A {previous} sale cannot be completed")
    before = (sale.paid_at, sale.paid_amount, sale.xendit_payment_id, sale.payment_channel, sale.payment_receipt_id)
    sale.status, sale.paid_at, sale.paid_amount = SaleStatus.COMPLETED, paid_at, paid_amount
    sale.xendit_payment_id, sale.payment_channel, sale.payment_receipt_id = payment_id or None, channel, receipt_id
    fields = ["status", "paid_at", "paid_amount", "xendit_payment_id", "payment_channel", "payment_receipt_id"]
    try:
        with transaction.atomic():
            sale.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        sale.status = previous
        sale.paid_at, sale.paid_amount, sale.xendit_payment_id, sale.payment_channel, sale.payment_receipt_id = before
        raise PaymentOnAnotherSale(payment_id) from None
    _record(
        sale=sale, from_status=previous, to_status=SaleStatus.COMPLETED, cause=cause, event=event, at=sale.updated_at
    )
    # A late payment takes its place of quota back even when that oversells the price: the money
    # was received, the customer gets the session; sales of it are refused until places free up.
    count_sales(price_ids=[sale.price_id], from_status=previous, to_status=SaleStatus.COMPLETED)
    if previous != SaleStatus.PENDING:
        vouchers.take_again(voucher_id=sale.voucher_id)
        flag(
            sale=sale,
            reason=f"Paid after the sale was marked {previous} (late payment {payment_id or 'without id'}): "
            "keep it and let the customer take photos, or refund it",
            event=event,
        )


def complete_free(*, sale: Sale, now: datetime) -> None:
    """PENDING -> COMPLETED with nothing to pay: a voucher covered the whole price (a free
    session). Paid now, at Rp 0, through the channel VOUCHER; no QR code and no Xendit payment.
    In the transaction that creates the sale."""
    with transaction.atomic(savepoint=False):
        changed = Sale.objects.filter(pk=sale.pk, status=SaleStatus.PENDING, amount=0).update(
            status=SaleStatus.COMPLETED,
            paid_at=now,
            paid_amount=Decimal(0),
            payment_channel=FREE_SESSION_CHANNEL,
            qr_string=None,
            updated_at=now,
        )
        if not changed:
            raise ValueError(f"{sale.external_id} is not a new sale with nothing to pay")
        _record(
            sale=sale, from_status=SaleStatus.PENDING, to_status=SaleStatus.COMPLETED, cause=SaleCause.VOUCHER, at=now
        )
        count_sales(price_ids=[sale.price_id], from_status=SaleStatus.PENDING, to_status=SaleStatus.COMPLETED)
    sale.status, sale.paid_at, sale.paid_amount = SaleStatus.COMPLETED, now, Decimal(0)
    sale.payment_channel, sale.qr_string, sale.updated_at = FREE_SESSION_CHANNEL, None, now


def refund(
    *, sale: Sale, event: PaymentEvent | None = None, actor_id: int | None = None, now: datetime | None = None
) -> bool:
    """COMPLETED -> REFUNDED: all of the sale's payment was given back. A conditional UPDATE, for a
    sale the caller locked; `actor_id`: the staff user who asked for the refund, if one did."""
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        changed = Sale.objects.filter(pk=sale.pk, status=SaleStatus.COMPLETED).update(
            status=SaleStatus.REFUNDED, updated_at=now
        )
        if changed:
            _record(
                sale=sale,
                from_status=SaleStatus.COMPLETED,
                to_status=SaleStatus.REFUNDED,
                cause=SaleCause.REFUND,
                event=event,
                actor_id=actor_id,
                at=now,
            )
            count_sales(price_ids=[sale.price_id], from_status=SaleStatus.COMPLETED, to_status=SaleStatus.REFUNDED)
    if changed:
        sale.status = SaleStatus.REFUNDED
    return bool(changed)


def flag(*, sale: Sale, reason: str, event: PaymentEvent | None = None) -> SaleReview | None:
    """Put the sale on staff's review list with `reason`, for a sale the caller locked. A reason
    that is already open is not added again (Xendit repeats its notices); None then."""
    if sale.reviews.filter(resolution__isnull=True, reason=reason).exists():
        return None
    review = SaleReview.objects.create(sale=sale, reason=reason, event=event)
    if not sale.needs_review:
        sale.needs_review = True
        sale.save(update_fields=["needs_review", "updated_at"])
    return review
