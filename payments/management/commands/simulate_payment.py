from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from payments import simulation
from payments.models import Sale


class Command(BaseCommand):
    help = "Pay a sale through the payment simulator (PAYMENT_GATEWAY=simulator only)."

    def add_arguments(self, parser):
        parser.add_argument("external_id", help="The sale number, e.g. TRX-1-20251215162229-57283A15")
        parser.add_argument("--amount", help="Pay this many rupiah instead of the sale's amount (to test mismatches)")

    def handle(self, *args, external_id, amount, **options):
        sale = Sale.objects.filter(external_id=external_id).first()
        if sale is None:
            raise CommandError(f"No sale {external_id}")
        try:
            paid = Decimal(amount) if amount is not None else None
        except InvalidOperation:
            raise CommandError(f"--amount must be a number, got {amount!r}") from None
        try:
            event = simulation.simulate_payment(sale=sale, amount=paid)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        sale.refresh_from_db()
        self.stdout.write(f"{sale.external_id}: {event.get_outcome_display()} (sale is now {sale.status})")
