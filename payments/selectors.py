"""Reads for staff: the admin's sale list and search, the problem counts, a sale's history and the
sales report. Each is a fixed number of queries, however many sales there are."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from gallery.models import EmailKind, EmailOutbox, EmailStatus, Photo
from locations.models import Location
from payments.models import EventOutcome, PaymentEvent, ReviewNote, SaleStatus, Transaction
from photobox.admin_tools import jakarta_day_start
from photobox.api import JAKARTA


# --- The sale list --------------------------------------------------------------------------
def _customer_email():
    return EmailOutbox.objects.filter(sale=OuterRef("pk"), kind=EmailKind.CUSTOMER_PHOTOS)


def with_photo_and_email_state(sales: list[Transaction]) -> list[Transaction]:
    """Give a page of sales their photo count and email state: two small queries for the page.

    Done after the page is cut, not as subqueries in the list's query: PostgreSQL would evaluate
    those for every row it sorts or skips (a million, when sorting by amount), not just the 50 shown.
    """
    ids = [sale.pk for sale in sales]
    if not ids:
        return sales
    photos = Photo.objects.filter(sale_id__in=ids).order_by().values("sale_id").annotate(n=Count("pk"))
    counts = dict(photos.values_list("sale_id", "n"))
    emails = {
        sale_id: (status, attempts)
        for sale_id, status, attempts in EmailOutbox.objects.filter(
            sale_id__in=ids, kind=EmailKind.CUSTOMER_PHOTOS
        ).values_list("sale_id", "status", "attempts")
    }
    for sale in sales:
        sale.photo_count = counts.get(sale.pk, 0)
        sale.email_status, sale.email_attempts = emails.get(sale.pk, (None, 0))
    return sales


def sales_for_export(sales: QuerySet[Transaction]) -> QuerySet[Transaction]:
    """The CSV export streams every row in the list's order, so each row's photo count comes from a
    correlated subquery (on the photo index) as it is read."""
    photo_count = (
        Photo.objects.filter(sale=OuterRef("pk")).order_by().values("sale").annotate(count=Count("pk")).values("count")
    )
    return sales.select_related("location", "price").annotate(
        photo_count=Coalesce(Subquery(photo_count, output_field=IntegerField()), Value(0))
    )


# Paid sales whose email has not gone out while their photos are kept: what staff can still act
# on. Matches the partial index sale_paid_unsent_idx.
_UNSENT = Q(status=SaleStatus.COMPLETED, email_sent_at__isnull=True, photos_deleted_at__isnull=True)

EMAIL_STATES = {
    "sent": ("Sent", Q(email_sent_at__isnull=False)),
    "no_photos": ("Not sent: no photos uploaded yet", _UNSENT & ~Exists(_customer_email())),
    "retrying": (
        "Not sent yet: trying again",
        _UNSENT & Exists(_customer_email().filter(status__in=[EmailStatus.PENDING, EmailStatus.SENDING])),
    ),
    "failed": (
        "Not sent: gave up (can be resent)",
        _UNSENT & Exists(_customer_email().filter(status=EmailStatus.FAILED)),
    ),
    "never": (
        "Never sent, photos deleted",
        Q(status=SaleStatus.COMPLETED, email_sent_at__isnull=True, photos_deleted_at__isnull=False),
    ),
}


def sale_search_filter(term: str) -> Q:
    """The search box: a sale number, a Xendit QR or payment id, a customer's email, or (part of) a
    machine's name or its code.

    Every alternative is an indexed equality on the sale table (matching machines are looked up
    first, one small query), so PostgreSQL can combine index scans instead of reading a million
    sales to compare names.
    """
    term = term.strip()
    location_ids = list(
        Location.objects.filter(Q(name__icontains=term) | Q(machine_code__iexact=term)).values_list("pk", flat=True)
    )
    condition = (
        Q(external_id__in=sorted({term, term.upper()}))
        | Q(xendit_qr_id=term)
        | Q(xendit_payment_id=term)
        | Q(email__iexact=term)
    )
    if location_ids:
        condition |= Q(location_id__in=location_ids)
    return condition


# --- Problems -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProblemCounts:
    sales_to_review: int
    unmatched_payments: int
    emails_failed: int

    @property
    def total(self) -> int:
        return self.sales_to_review + self.unmatched_payments + self.emails_failed


def open_unmatched_payments() -> QuerySet[PaymentEvent]:
    return PaymentEvent.objects.filter(outcome=EventOutcome.UNKNOWN_SALE, reviewed_at__isnull=True)


def failed_emails() -> QuerySet[Transaction]:
    """Paid sales whose email gave up and whose photos are still there to send."""
    return Transaction.objects.filter(EMAIL_STATES["failed"][1])


def problem_counts() -> ProblemCounts:
    """Three small counts, each on a partial index: what needs a person today."""
    return ProblemCounts(
        sales_to_review=Transaction.objects.filter(needs_review=True).count(),
        unmatched_payments=open_unmatched_payments().count(),
        emails_failed=failed_emails().count(),
    )


# --- One sale's story -----------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    what: str
    detail: str = ""
    amount: Decimal | None = None
    event: PaymentEvent | None = None


def sale_history(sale: Transaction) -> list[HistoryEntry]:
    """What happened to a sale, oldest first: created, every payment notification with its outcome,
    expiry, the email, staff's review notes, photo deletion. Two queries."""
    entries = [
        HistoryEntry(
            at=sale.created_at,
            what="Sale started at the kiosk: awaiting payment",
            detail=f"QR code valid until {sale.expires_at.astimezone(JAKARTA):%H:%M:%S}",
        )
    ]
    events = list(sale.payment_events.order_by("received_at", "pk"))
    for event in events:
        entries.append(
            HistoryEntry(
                at=event.received_at,
                what=f"{event.get_source_display()}: {event.get_outcome_display()}",
                detail=_readable_transition(event) if event.outcome == EventOutcome.APPLIED else event.outcome_detail,
                amount=event.amount,
                event=event,
            )
        )
    changed_by_event = {e.outcome_detail.rsplit(" ", 1)[-1] for e in events if e.outcome == EventOutcome.APPLIED}
    if sale.status == SaleStatus.EXPIRED and SaleStatus.EXPIRED not in changed_by_event:
        entries.append(HistoryEntry(at=sale.expires_at, what="Expired: the QR code was not paid in time"))
    if sale.status == SaleStatus.FAILED and SaleStatus.FAILED not in changed_by_event:
        entries.append(
            HistoryEntry(at=sale.updated_at, what="Failed: the payment gateway could not make a QR code (no payment)")
        )
    if sale.email_sent_at:
        entries.append(HistoryEntry(at=sale.email_sent_at, what="Photo email sent to the customer"))
    for note in ReviewNote.objects.filter(sale=sale).select_related("resolved_by"):
        who = note.resolved_by.get_username() if note.resolved_by else "a deleted user"
        entries.append(HistoryEntry(at=note.resolved_at, what=f"Review resolved by {who}", detail=note.note))
    if sale.photos_deleted_at:
        entries.append(HistoryEntry(at=sale.photos_deleted_at, what="Photos deleted (retention period over)"))
    return sorted(entries, key=lambda entry: entry.at)


def _readable_transition(event: PaymentEvent) -> str:
    """ "PENDING -> COMPLETED" as staff say it: "Awaiting payment → Paid"."""
    labels = dict(SaleStatus.choices)
    before, _, after = event.outcome_detail.partition(" -> ")
    if before in labels and after in labels:
        return f"{labels[before]} → {labels[after]}"
    return event.outcome_detail


# --- The sales report -----------------------------------------------------------------------
@dataclass(frozen=True)
class Totals:
    sales: int = 0
    revenue: Decimal = Decimal(0)


@dataclass(frozen=True)
class DayLine:
    day: date
    totals: Totals


@dataclass(frozen=True)
class LocationLine:
    location: Location
    totals: Totals


@dataclass(frozen=True)
class Cell:
    day: date
    location: Location
    totals: Totals


@dataclass
class SalesReport:
    date_from: date
    date_to: date
    days: list[DayLine] = field(default_factory=list)
    locations: list[LocationLine] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    totals: Totals = Totals()


def sales_report(*, date_from: date, date_to: date, location_ids: list[int] | None = None) -> SalesReport:
    """Paid sales and revenue per Jakarta day and per machine, from `date_from` to `date_to` (both
    included). A sale counts on the day its payment arrived (Asia/Jakarta), at the amount it was
    sold for. Two queries: the aggregate (from the index sale_paid_idx alone) and the machines."""
    paid = Transaction.objects.filter(
        status=SaleStatus.COMPLETED,
        paid_at__gte=jakarta_day_start(date_from),
        paid_at__lt=jakarta_day_start(date_to + timedelta(days=1)),
    )
    if location_ids:
        paid = paid.filter(location_id__in=location_ids)
    rows = list(
        paid.annotate(day=TruncDate("paid_at", tzinfo=JAKARTA))
        .values("day", "location_id")
        .annotate(sales=Count("*"), revenue=Sum("amount"))
        .order_by("day", "location_id")
    )
    locations = Location.objects.in_bulk({row["location_id"] for row in rows})
    report = SalesReport(date_from=date_from, date_to=date_to)
    by_day: dict[date, Totals] = {}
    by_location: dict[int, Totals] = {}
    for row in rows:
        totals = Totals(row["sales"], row["revenue"] or Decimal(0))
        report.cells.append(Cell(row["day"], locations[row["location_id"]], totals))
        by_day[row["day"]] = _add(by_day.get(row["day"], Totals()), totals)
        by_location[row["location_id"]] = _add(by_location.get(row["location_id"], Totals()), totals)
        report.totals = _add(report.totals, totals)
    day = date_from
    while day <= date_to:
        report.days.append(DayLine(day, by_day.get(day, Totals())))
        day += timedelta(days=1)
    report.locations = sorted(
        (LocationLine(locations[pk], totals) for pk, totals in by_location.items()),
        key=lambda line: (-line.totals.revenue, line.location.machine_code),
    )
    return report


def _add(a: Totals, b: Totals) -> Totals:
    return Totals(a.sales + b.sales, a.revenue + b.revenue)
