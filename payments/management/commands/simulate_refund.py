from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from payments import simulation
from payments.models import Refund


class Command(BaseCommand):
    help = "Send the simulated Xendit refund webhook for a refund (PAYMENT_GATEWAY=simulator only)."

    def add_arguments(self, parser):
        parser.add_argument("refund", type=int, help="The refund's number, as refund_sale printed it")
        parser.add_argument("--fail", metavar="FAILURE_CODE", help="Fail it instead, e.g. INSUFFICIENT_BALANCE")

    def handle(self, *args, refund, fail, **options):
        found = Refund.objects.filter(pk=refund).first()
        if found is None:
            raise CommandError(f"No refund {refund}")
        try:
            event = simulation.simulate_refund_webhook(refund=found, succeeded=not fail, failure_code=fail or "")
        except DomainError as exc:
            raise CommandError(exc.message) from None
        found.refresh_from_db()
        self.stdout.write(f"refund {found.pk}: {event.outcome_detail} (refund is now {found.status})")
