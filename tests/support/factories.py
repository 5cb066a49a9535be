"""Rows made directly, without the API or a gateway call, for tests about what happens after.
Each factory fills in what a test does not state; tests/conftest.py wraps them as fixtures
(`make_location`, `make_price`, `make_sale`, `make_photo`)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from gallery.models import Photo
from locations.models import Location
from payments import transitions
from payments.models import PAID_STATUSES, Sale, SaleCause, SaleHistory, SaleReview, SaleStatus
from payments.services import new_external_id
from pricing.models import Price, Voucher, VoucherKind
from pricing.services import count_sales


def create_location(*, number: int, **fields) -> Location:
    """Machine `PB-<number>` in `Mall <number>`, unless `fields` name them."""
    fields.setdefault("machine_code", f"PB-{number:03d}")
    fields.setdefault("name", f"Mall {number}")
    return Location.objects.create(**fields)


def create_price(amount: int | str = 40000, **fields) -> Price:
    fields.setdefault("description", "4 photo strips")
    return Price.objects.create(amount=Decimal(amount), **fields)


def create_sale(*, location: Location, price: Price, **fields) -> Sale:
    """A sale stored directly (no gateway call). Its history says it started, and how it reached
    its status when that is not PENDING (cause EARLIER), and its price's counters count it;
    `review_reason` lines become its open reviews."""
    now = timezone.now()
    reasons = fields.pop("review_reason", "").splitlines()
    fields.setdefault("created_at", now)
    fields.setdefault("expires_at", fields["created_at"] + timedelta(minutes=15))
    fields.setdefault("status", SaleStatus.PENDING)
    fields.setdefault("email", "customer@example.com")
    fields.setdefault("xendit_qr_id", f"qr_test_{Sale.objects.count() + 1}")
    fields.setdefault("qr_string", "00020101021226...")
    if fields["status"] in PAID_STATUSES:
        fields.setdefault("paid_at", now)
    amount = fields.pop("amount", price.amount)
    fields.setdefault("list_price", Decimal(amount) + fields.get("discount", 0))
    sale = Sale.objects.create(
        external_id=fields.pop("external_id", None) or new_external_id(location_id=location.pk, now=now),
        location=location,
        price=price,
        amount=amount,
        **fields,
    )
    transitions.start(sale=sale)
    # Counted in its price's counters as if it had been made, then reached its status.
    count_sales(price_ids=[price.pk], from_status="", to_status=sale.status)
    if sale.status != SaleStatus.PENDING:
        SaleHistory.objects.create(
            sale=sale, from_status=SaleStatus.PENDING, to_status=sale.status, cause=SaleCause.EARLIER
        )
    for reason in reasons:
        SaleReview.objects.create(sale=sale, reason=reason)
    return sale


def create_photo(sale: Sale, position: int = 1, *, stored: bool = True, **fields) -> Photo:
    """Photo `position` of `sale`, as a finished upload records it: a 64x48 JPEG of 1000 bytes under
    `photos/<external id>/<position>.jpg`, served from the test server's /media/, stored now.
    With stored=False its upload never finished: no delivery URL and no stored_at. The checksum is
    unique per sale and position, as the database requires."""
    storage_key = fields.pop("storage_key", f"photos/{sale.external_id}/{position:02d}.jpg")
    fields.setdefault("url", f"http://testserver/media/{storage_key}" if stored else "")
    fields.setdefault("stored_at", timezone.now() if stored else None)
    fields.setdefault("bytes", 1000)
    fields.setdefault("width", 64)
    fields.setdefault("height", 48)
    fields.setdefault("format", "JPEG")
    fields.setdefault("checksum", f"{sale.pk:032x}{position:032x}")
    return Photo.objects.create(sale=sale, position=position, storage_key=storage_key, **fields)


def create_voucher(code: str = "HEMAT25", **fields) -> Voucher:
    """A voucher: 10% off, valid from an hour ago, one use, unless told otherwise."""
    prices, locations = fields.pop("prices", ()), fields.pop("locations", ())
    fields.setdefault("kind", VoucherKind.PERCENT)
    fields.setdefault("value", None if fields["kind"] == VoucherKind.FREE else Decimal(10))
    fields.setdefault("valid_from", timezone.now() - timedelta(hours=1))
    voucher = Voucher.objects.create(code=code, **fields)
    voucher.prices.set(prices)
    voucher.locations.set(locations)
    return voucher
