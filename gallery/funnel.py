"""The customer funnel: of the sales started on a Jakarta day at a machine, how many were paid,
got their photos, their email, opened their gallery and downloaded photos.

Every step counts the same customers, the sales that *started* that day: a sale started at 23:58
and paid at 00:01 counts on the day it started (the sales report counts it on the day it was paid).
It reads the sale row (payments) and the gallery's side of it (the photo email, the visit counters),
which is why it lives here: gallery reads payments, never the reverse.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, FilteredRelation, Q
from django.db.models.functions import TruncDate

from core.formats import JAKARTA, jakarta_day_start
from gallery.models import EmailKind
from locations.models import Location
from payments.models import PAID_STATUSES, Sale

# The steps in order: (key, words staff read). Each is a subset of the one before, bar rare cases
# (photos stored for a sale refunded since, say): the page says so.
STEPS = [
    ("started", "Sales started (QR shown)"),
    ("paid", "Paid"),
    ("uploaded", "Photos uploaded"),
    ("emailed", "Email delivered"),
    ("opened", "Gallery opened"),
    ("downloaded", "Photos downloaded"),
]
STEP_KEYS = [key for key, _ in STEPS]


@dataclass(frozen=True)
class Counts:
    started: int = 0
    paid: int = 0
    uploaded: int = 0
    emailed: int = 0
    opened: int = 0
    downloaded: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(*(getattr(self, key) + getattr(other, key) for key in STEP_KEYS))

    def values(self) -> list[int]:
        return [getattr(self, key) for key in STEP_KEYS]


@dataclass(frozen=True)
class FunnelCell:
    day: date
    location: Location
    counts: Counts


@dataclass
class Funnel:
    date_from: date
    date_to: date
    totals: Counts = Counts()
    days: list[tuple[date, Counts]] = field(default_factory=list)  # every day of the period
    locations: list[tuple[Location, Counts]] = field(default_factory=list)  # most sales started first
    cells: list[FunnelCell] = field(default_factory=list)  # day, then machine code


def funnel(*, date_from: date, date_to: date, location_ids: list[int] | None = None) -> Funnel:
    """The funnel per Jakarta day (of the sale's start) and machine, `date_from` to `date_to`
    included. Two queries: the counts (the sales of the period, each joined to its photo email and
    its visit counters, one row or none each) and the machines named in them.

    - started: every sale created (the kiosk showed its QR code);
    - paid: COMPLETED, or REFUNDED since;
    - uploaded: the kiosk's upload finished, every photo stored (the photo email was queued);
    - emailed: the customer's email went out;
    - opened: the gallery link was used (the page, or a download);
    - downloaded: the ZIP or at least one photo was downloaded.
    """
    start, end = jakarta_day_start(date_from), jakarta_day_start(date_to + timedelta(days=1))
    sales = Sale.objects.filter(created_at__gte=start, created_at__lt=end)
    if location_ids:
        sales = sales.filter(location_id__in=location_ids)
    rows = (
        sales.annotate(
            photo_email=FilteredRelation("emails", condition=Q(emails__kind=EmailKind.CUSTOMER_PHOTOS)),
            day=TruncDate("created_at", tzinfo=JAKARTA),
        )
        .values("day", "location_id")
        .annotate(
            started=Count("pk"),
            paid=Count("pk", filter=Q(status__in=PAID_STATUSES)),
            uploaded=Count("photo_email__id"),
            emailed=Count("email_sent_at"),
            opened=Count("visits__sale_id"),
            downloaded=Count("pk", filter=Q(visits__zip_downloads__gt=0) | Q(visits__photo_downloads__gt=0)),
        )
        .order_by()
    )
    # A year at 200 machines is 73,000 rows: summed as plain lists, not dataclasses, to stay quick.
    counted = sorted(rows.values_list("day", "location_id", *STEP_KEYS))
    locations = Location.objects.in_bulk({row[1] for row in counted})
    by_day: dict[date, list[int]] = {}
    by_location: dict[int, list[int]] = {}
    totals = [0] * len(STEP_KEYS)
    cells = []
    for day, location_id, *values in counted:
        cells.append(FunnelCell(day, locations[location_id], Counts(*values)))
        for sums in (by_day.setdefault(day, [0] * len(values)), by_location.setdefault(location_id, [0] * len(values))):
            for index, value in enumerate(values):
                sums[index] += value
        for index, value in enumerate(values):
            totals[index] += value
    cells.sort(key=lambda cell: (cell.day, cell.location.machine_code))
    result = Funnel(date_from=date_from, date_to=date_to, totals=Counts(*totals), cells=cells)
    day = date_from
    while day <= date_to:
        result.days.append((day, Counts(*by_day.get(day, ()))))
        day += timedelta(days=1)
    result.locations = sorted(
        ((locations[pk], Counts(*sums)) for pk, sums in by_location.items()),
        key=lambda line: (-line[1].started, line[0].machine_code),
    )
    return result
