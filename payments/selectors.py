"""Reads: a sale by its external id (the kiosk API's lookup); for staff, the sale search, the problem
counts, a sale's history and the sales report. Each is a fixed number of queries, however many sales
there are.

The gallery's side of a sale (photos, the customer email's state) is read in gallery.selectors."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    prefetch_related_objects,
)
from django.db.models.functions import TruncDate

from core import errors
from core.formats import JAKARTA, jakarta_day_start
from locations.models import Location
from payments.models import (
    OPEN_UNMATCHED,
    PAID_STATUSES,
    PaymentEvent,
    Refund,
    RefundStatus,
    Sale,
    SaleCause,
    SaleHistory,
    SaleStatus,
    is_external_id,
    reviews_prefetch,
)
from pricing.models import Voucher, normalize_code


# --- One sale --------------------------------------------------------------------------------
class SaleNotFound(errors.NotFound):
    def __init__(self, external_id: str):
        super().__init__("Transaction not found", details={"external_id": external_id})


def sale_by_external_id(external_id: str, queryset: QuerySet[Sale] | None = None) -> Sale:
    """The sale with this sale number, or SaleNotFound; a number no sale can have is not looked up."""
    if not is_external_id(external_id):
        raise SaleNotFound(external_id)
    queryset = queryset if queryset is not None else Sale.objects.all()
    try:
        return queryset.get(external_id=external_id)
    except Sale.DoesNotExist:
        raise SaleNotFound(external_id) from None


# --- The sale list --------------------------------------------------------------------------
def sale_search_filter(term: str) -> Q:
    """The search box: a sale number, a Xendit QR or payment id, a customer's email, (part of) a
    machine's name or its code, or a voucher's code.

    Every alternative is an indexed equality on the sale table (matching machines and vouchers are
    looked up first, a small query each), so PostgreSQL can combine index scans instead of reading a million
    sales to compare names.
    """
    term = term.strip()
    location_ids = list(
        Location.objects.filter(Q(name__icontains=term) | Q(machine_code__iexact=term)).values_list("pk", flat=True)
    )
    # Looked up first, like the machines: a subquery inside the OR would make PostgreSQL read every
    # sale (about 2 s at 1,000,000) instead of combining the index scans (bench.admin).
    voucher_ids = list(Voucher.objects.filter(code=normalize_code(term)).values_list("pk", flat=True))
    condition = (
        Q(external_id__in=sorted({term, term.upper()}))
        | Q(xendit_qr_id=term)
        | Q(xendit_payment_id=term)
        | Q(email__iexact=term)
    )
    if location_ids:
        condition |= Q(location_id__in=location_ids)
    if voucher_ids:
        condition |= Q(voucher_id__in=voucher_ids)
    return condition


def payment_event_search_filter(term: str) -> Q:
    """The notifications' search box: the sale number a notification named or was matched to, a Xendit
    payment id, or a webhook id (each an indexed equality)."""
    term = term.strip()
    numbers = sorted({term, term.upper()})
    # The sales first (one indexed query): a subquery inside the OR reads every notification.
    sale_ids = list(Sale.objects.filter(external_id__in=numbers).values_list("pk", flat=True))
    condition = Q(reference__in=numbers) | Q(xendit_payment_id=term) | Q(webhook_id=term)
    return condition | Q(sale_id__in=sale_ids) if sale_ids else condition


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
    return PaymentEvent.objects.filter(OPEN_UNMATCHED)


def problem_counts(*, emails_failed: int) -> ProblemCounts:
    """Three small counts, each on a partial index: what needs a person today. The third, the
    customer emails that gave up, is the gallery's (gallery.selectors.failed_emails), counted by
    the caller: payments does not read the gallery."""
    return ProblemCounts(
        sales_to_review=Sale.objects.filter(needs_review=True).count(),
        unmatched_payments=open_unmatched_payments().count(),
        emails_failed=emails_failed,
    )


# --- One sale's story -----------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    what: str
    detail: str = ""
    amount: Decimal | None = None
    event: PaymentEvent | None = None


def sale_history(sale: Sale) -> list[HistoryEntry]:
    """What happened to a sale, oldest first: its history rows (started, expired, cancelled, failed),
    every payment notification with its outcome (and the change it made), the email, staff's
    review notes, refunds asked for and settled, photo deletion. Four queries: the history rows,
    the notifications, the refunds and the reviews (the last two shared with the sale page's refund
    and review boxes)."""
    from payments.refunds.history import refund_history  # it builds on HistoryEntry, above

    rows = list(SaleHistory.objects.filter(sale=sale))
    caused_by = {row.event_id: row for row in rows if row.event_id is not None}
    # A change a notification made is told on its line; the refund's own lines tell REFUNDED.
    entries = [
        _history_line(sale, row) for row in rows if row.event_id is None and row.to_status != SaleStatus.REFUNDED
    ]
    events = list(sale.payment_events.order_by("received_at", "pk"))
    refund_lines, settling_events = refund_history(sale, events)
    entries.extend(refund_lines)
    for event in events:
        if event.pk in settling_events:
            continue  # the refund's "went through" or "failed" line stands for it, with its link
        row = caused_by.get(event.pk)
        entries.append(
            HistoryEntry(
                at=event.received_at,
                what=f"{event.get_source_display()}: {event.get_outcome_display()}",
                detail=_change(row) if row is not None else event.outcome_detail,
                amount=event.amount,
                event=event,
            )
        )
    if sale.email_sent_at:
        entries.append(HistoryEntry(at=sale.email_sent_at, what="Photo email sent to the customer"))
    prefetch_related_objects([sale], reviews_prefetch())
    resolutions = {note.pk: note for review in sale.reviews.all() if (note := review.resolution) is not None}
    for note in sorted(resolutions.values(), key=lambda note: (note.resolved_at, note.pk)):
        who = note.resolved_by.get_username() if note.resolved_by else "a deleted user"
        entries.append(HistoryEntry(at=note.resolved_at, what=f"Review resolved by {who}", detail=note.note))
    if sale.photos_deleted_at:
        entries.append(HistoryEntry(at=sale.photos_deleted_at, what="Photos deleted (retention period over)"))
    return sorted(entries, key=lambda entry: entry.at)


# How staff read a history row that no notification caused, by the status it reached.
_REACHED: dict[str, str] = {
    SaleStatus.EXPIRED: "Expired: the QR code was not paid in time",
    SaleStatus.CANCELLED: "Cancelled at the kiosk: the customer gave up before paying",
    SaleStatus.FAILED: "Failed: the payment gateway could not make a QR code (no payment)",
}
# Causes its line already says.
_TOLD = (SaleCause.KIOSK_CANCEL, SaleCause.GATEWAY_ERROR)


def _history_line(sale: Sale, row: SaleHistory) -> HistoryEntry:
    if not row.from_status:
        return HistoryEntry(
            at=row.at,
            what="Sale started at the kiosk: awaiting payment",
            detail=f"QR code valid until {sale.expires_at.astimezone(JAKARTA):%H:%M:%S}",
        )
    what = _REACHED.get(row.to_status) or _change(row)
    return HistoryEntry(at=row.at, what=what, detail="" if row.cause in _TOLD else row.get_cause_display())


def _change(row: SaleHistory) -> str:
    """A history row's change as staff say it: "Awaiting payment → Paid"."""
    return f"{row.get_from_status_display()} → {row.get_to_status_display()}"


# --- The sales report -----------------------------------------------------------------------
@dataclass(frozen=True)
class Totals:
    """Paid sales and their money. List price: what the packages sold cost before vouchers.
    Discounts: what vouchers took off. Gross: what customers paid (list price - discounts).
    Refunded: refunds of sales' own payments that went through. Net: what the business kept."""

    sales: int = 0
    gross: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    discounts: Decimal = Decimal(0)

    @property
    def list_price(self) -> Decimal:
        return self.gross + self.discounts

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunded

    @property
    def revenue(self) -> Decimal:
        """Gross, under the name the admin index's "Paid today" reads."""
        return self.gross


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


@dataclass(frozen=True)
class VoucherLine:
    """One voucher's paid sales in the range (free sessions included) and what it took off."""

    code: str
    redemptions: int
    discounts: Decimal


@dataclass
class SalesReport:
    date_from: date
    date_to: date
    days: list[DayLine] = field(default_factory=list)
    locations: list[LocationLine] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    totals: Totals = Totals()
    vouchers: list[VoucherLine] = field(default_factory=list)


def sales_report(*, date_from: date, date_to: date, location_ids: list[int] | None = None) -> SalesReport:
    """Gross, refunded and net per Jakarta day and per machine, from `date_from` to `date_to` (both
    included).

    Gross: a paid sale (COMPLETED, or REFUNDED since) counts on the Jakarta day its payment arrived,
    at the amount it was sold for; so does the number of sales. Refunded: a successful refund of a
    sale's own payment counts on the Jakarta day it went through, at the sale's machine, so it may
    fall on a later day than the sale (or outside the range). A refund of a second, extra payment is
    not counted: that money was never revenue. Net = gross - refunded, and can be negative.

    List price and discounts: the sale's own, as it was sold (a free session: its whole list
    price as discount, gross 0). Redemptions per voucher: the paid sales using each voucher.

    Four queries: the sales (from the index sale_paid_idx alone), the refunds (the index
    refund_settled_idx, joined to their sales), the machines and the vouchers' redemptions.
    """
    start, end = jakarta_day_start(date_from), jakarta_day_start(date_to + timedelta(days=1))
    paid = Sale.objects.filter(status__in=PAID_STATUSES, paid_at__gte=start, paid_at__lt=end)
    refunds = Refund.objects.filter(
        status=RefundStatus.SUCCEEDED,
        settled_at__gte=start,
        settled_at__lt=end,
        payment_id=F("sale__xendit_payment_id"),
    )
    if location_ids:
        paid = paid.filter(location_id__in=location_ids)
        refunds = refunds.filter(sale__location_id__in=location_ids)
    sold = {
        (row["day"], row["location_id"]): (row["sales"], row["gross"], row["discounts"])
        for row in paid.annotate(day=TruncDate("paid_at", tzinfo=JAKARTA))
        .values("day", "location_id")
        .annotate(sales=Count("*"), gross=Sum("amount"), discounts=Sum("discount"))
        .order_by()
    }
    refunded = {
        (row["day"], row["location_id"]): row["refunded"]
        for row in refunds.annotate(day=TruncDate("settled_at", tzinfo=JAKARTA))
        .values("day", location_id=F("sale__location_id"))
        .annotate(refunded=Sum("amount"))
        .order_by()
    }
    keys = sorted(sold.keys() | refunded.keys())
    locations = Location.objects.in_bulk({location_id for _, location_id in keys})
    report = SalesReport(date_from=date_from, date_to=date_to)
    by_day: dict[date, Totals] = {}
    by_location: dict[int, Totals] = {}
    for day, location_id in keys:
        sales, gross, discounts = sold.get((day, location_id), (0, None, None))
        totals = Totals(
            sales, gross or Decimal(0), refunded.get((day, location_id)) or Decimal(0), discounts or Decimal(0)
        )
        report.cells.append(Cell(day, locations[location_id], totals))
        by_day[day] = _add(by_day.get(day, Totals()), totals)
        by_location[location_id] = _add(by_location.get(location_id, Totals()), totals)
        report.totals = _add(report.totals, totals)
    day = date_from
    while day <= date_to:
        report.days.append(DayLine(day, by_day.get(day, Totals())))
        day += timedelta(days=1)
    report.locations = sorted(
        (LocationLine(locations[pk], totals) for pk, totals in by_location.items()),
        key=lambda line: (-line.totals.gross, line.location.machine_code),
    )
    report.vouchers = [
        VoucherLine(row["voucher_code"], row["redemptions"], row["discounts"])
        for row in paid.exclude(voucher_code="")
        .values("voucher_code")
        .annotate(redemptions=Count("*"), discounts=Sum("discount"))
        .order_by("-redemptions", "voucher_code")
    ]
    return report


def _add(a: Totals, b: Totals) -> Totals:
    return Totals(a.sales + b.sales, a.gross + b.gross, a.refunded + b.refunded, a.discounts + b.discounts)


# --- The fleet board -----------------------------------------------------------------------------
def paid_sales_per_location(*, since: datetime) -> dict[int, int]:
    """How many sales each machine was paid for since `since` (one query, from the paid-sales index)."""
    rows = Sale.objects.filter(status__in=PAID_STATUSES, paid_at__gte=since).values("location_id")
    return {row["location_id"]: row["count"] for row in rows.annotate(count=Count("pk")).order_by()}


def last_sale(column: str) -> Subquery:
    """`column` of the newest sale started at the location being queried (index location, -created_at):
    `Location.objects.annotate(last_sale_at=last_sale("created_at"))`."""
    newest = Sale.objects.filter(location=OuterRef("pk")).order_by("-created_at")
    return Subquery(newest.values(column)[:1])
