"""Fill the new history and review rows from what earlier versions kept.

History, per sale: it started (at its creation); each applied payment or refund notice whose
outcome says "A -> B" (the only record of a change a notice made); and whatever change must have
happened to reach the status the sale has now (an expiry, a cancellation, a failure, a refund
answered at once), marked EARLIER. Reviews: each line of `review_reason` becomes an open review;
each resolved note's problem lines become reviews resolved by it.

Sales are read in chunks, so a large table is filled without holding it in memory.
"""

import re

from django.db import migrations

CHUNK = 2000
STATUSES = ("PENDING", "COMPLETED", "FAILED", "EXPIRED", "REFUNDED", "CANCELLED")
# The end of an applied notice's outcome: "PENDING -> COMPLETED", "...; sale COMPLETED -> REFUNDED".
CHANGE = re.compile(r"\b([A-Z]+) -> ([A-Z]+)$")
EVENT_CAUSES = ("webhook", "reconciliation", "simulator")


def _lines(text: str) -> list[str]:
    return [line for line in (text or "").splitlines() if line.strip()]


def _history(sale, events, SaleHistory) -> list:
    rows = [SaleHistory(sale_id=sale.pk, from_status="", to_status="PENDING", cause="kiosk", at=sale.created_at)]
    current, last_at = "PENDING", sale.created_at

    def reach(status: str, at, **fields) -> None:
        nonlocal current, last_at
        if status == "REFUNDED" and current != "COMPLETED":
            reach("COMPLETED", sale.paid_at or at)
        at = max(at, last_at)
        rows.append(SaleHistory(sale_id=sale.pk, from_status=current, to_status=status, at=at, **fields))
        current, last_at = status, at

    for event in events:
        match = CHANGE.search(event.outcome_detail)
        if match is None or not {match[1], match[2]} <= set(STATUSES):
            continue
        before, after = match[1], match[2]
        at = event.processed_at or event.received_at
        if before != current:
            reach(before, min(sale.expires_at, at) if before == "EXPIRED" else at, cause="earlier")
        if after == "REFUNDED":
            cause = "refund"
        else:
            cause = event.source if event.source in EVENT_CAUSES else "earlier"
        reach(after, at, cause=cause, event_id=event.pk)
    if current != sale.status:
        at = {"EXPIRED": sale.expires_at, "COMPLETED": sale.paid_at}.get(sale.status) or sale.updated_at
        reach(sale.status, at, cause="earlier")
    return rows


def fill(apps, schema_editor):
    Sale = apps.get_model("payments", "Sale")
    PaymentEvent = apps.get_model("payments", "PaymentEvent")
    ReviewNote = apps.get_model("payments", "ReviewNote")
    SaleHistory = apps.get_model("payments", "SaleHistory")
    SaleReview = apps.get_model("payments", "SaleReview")
    last = 0
    while True:
        sales = list(Sale.objects.filter(pk__gt=last).order_by("pk")[:CHUNK])
        if not sales:
            break
        last = sales[-1].pk
        events = {}
        applied = PaymentEvent.objects.filter(sale__in=[sale.pk for sale in sales], outcome="applied")
        for event in applied.order_by("received_at", "pk").only(
            "pk", "sale_id", "source", "outcome_detail", "received_at", "processed_at"
        ):
            events.setdefault(event.sale_id, []).append(event)
        history, reviews = [], []
        for sale in sales:
            history.extend(_history(sale, events.get(sale.pk, []), SaleHistory))
            reasons = _lines(sale.review_reason) or ([""] if sale.needs_review else [])
            reviews.extend(SaleReview(sale_id=sale.pk, reason=reason, at=sale.updated_at) for reason in reasons)
        SaleHistory.objects.bulk_create(history)
        SaleReview.objects.bulk_create(reviews)
    for note in ReviewNote.objects.filter(sale__isnull=False).iterator(chunk_size=CHUNK):
        SaleReview.objects.bulk_create(
            SaleReview(sale_id=note.sale_id, reason=reason, at=note.resolved_at, resolution_id=note.pk)
            for reason in _lines(note.problem) or [""]
        )


def unfill(apps, schema_editor):
    """Back to one text field of open reasons; the rows go."""
    Sale = apps.get_model("payments", "Sale")
    SaleHistory = apps.get_model("payments", "SaleHistory")
    SaleReview = apps.get_model("payments", "SaleReview")
    reasons = {}
    for review in SaleReview.objects.filter(resolution__isnull=True).exclude(reason="").order_by("at", "pk"):
        reasons.setdefault(review.sale_id, []).append(review.reason)
    for sale_id, lines in reasons.items():
        Sale.objects.filter(pk=sale_id).update(review_reason="\n".join(lines))
    SaleReview.objects.all().delete()
    SaleHistory.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0010_sale_history_and_reviews"),
    ]

    operations = [
        migrations.RunPython(fill, unfill),
    ]
