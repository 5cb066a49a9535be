from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from demo.fleet import DEMO_FLEET, load_demo_fleet
from locations.models import Location
from pricing.models import Price, Voucher, VoucherKind

DEMO_USERNAME = "staff"
DEMO_PASSWORD = "photobox-demo"  # noqa: S105 - the demo login the README states
# The packages as customers see them (kiosk page, invoice, email): in Indonesian.
DEMO_PRICES = (
    (Decimal("35000"), "2 strip foto", None),
    (Decimal("50000"), "4 strip foto + 1 cetak besar", 100),
)
# Two promotions to try at the demo kiosk: 25% off (many uses), and a free session. Codes avoid
# the look-alikes 0/O and 1/I, like every code.
DEMO_VOUCHERS = (
    ("HEMAT25", VoucherKind.PERCENT, Decimal(25), 1000, "Demo: 25% off every package"),
    ("BEBAS", VoucherKind.FREE, None, 1000, "Demo: a free session"),
)
# What earlier versions called them: a demo database made before is renamed, not doubled.
EARLIER_NAMES = {
    Decimal("35000"): "2 photo strips",
    Decimal("50000"): "4 photo strips + digital copies",
}


class Command(BaseCommand):
    help = (
        "Create demo data: one kiosk, two prices, two vouchers (HEMAT25: 25% off; BEBAS: a free session), a "
        "staff user (staff / photobox-demo) and a few more machines in every state for the fleet board. Safe to "
        "rerun (it brings the machines' states back)."
    )

    def handle(self, *args, **options):
        location, _ = Location.objects.get_or_create(
            machine_code="PB-001",
            defaults={"name": "Demo Mall Kota Kasablanka", "address": "Jl. Casablanca Raya Kav. 88, Jakarta"},
        )
        for amount, description, quota in DEMO_PRICES:
            if not Price.objects.filter(amount=amount, description=description).exists():
                Price.objects.filter(amount=amount, description=EARLIER_NAMES[amount]).update(
                    description=description, updated_at=timezone.now()
                )
            Price.objects.get_or_create(amount=amount, description=description, defaults={"quota": quota})
        for code, kind, value, max_uses, description in DEMO_VOUCHERS:
            Voucher.objects.get_or_create(
                code=code, defaults={"kind": kind, "value": value, "max_uses": max_uses, "description": description}
            )
        User = get_user_model()
        user = User.objects.filter(username=DEMO_USERNAME).first()
        if user is None:
            user = User.objects.create_superuser(DEMO_USERNAME, "staff@photobox.example", DEMO_PASSWORD)
        load_demo_fleet(user=user)
        self.stdout.write(f"Demo kiosk {location.machine_code} (location_id {location.pk}) with prices:")
        for price in Price.objects.order_by("amount"):
            self.stdout.write(f"  {price.pk}  {price}")
        self.stdout.write("Vouchers to type at the kiosk:")
        for code, *_, description in DEMO_VOUCHERS:
            self.stdout.write(f"  {code}  {description}")
        self.stdout.write(
            f"Fleet board: {len(DEMO_FLEET)} more machines (PB-101 to PB-108) online, stale, offline and out of "
            "service: /admin/locations/location/fleet/"
        )
        self.stdout.write(f"Admin login: {DEMO_USERNAME} / {DEMO_PASSWORD}")
