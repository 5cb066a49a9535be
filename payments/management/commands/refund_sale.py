from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from core.formats import rupiah as rupiah_text
from payments.models import RefundStatus, Sale
from payments.refunds import services as refunds


class Command(BaseCommand):
    help = (
        "Refund a paid sale through Xendit, in full or in part, as staff do from the admin: prints the refund's "
        "id and status; exits 1 with the reason when the refund is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("external_id", help="The sale number, e.g. TRX-1-20251215162229-57283A15")
        parser.add_argument("--reason", required=True, help="Why the money is given back (kept with the refund)")
        parser.add_argument("--amount", help="Rupiah to refund (default: all that is left of the payment)")
        parser.add_argument(
            "--payment", help="The Xendit payment id to refund (default: the payment that paid the sale)"
        )

    def handle(self, *args, external_id, reason, amount, payment, **options):
        sale = Sale.objects.filter(external_id=external_id).first()
        if sale is None:
            raise CommandError(f"No sale {external_id}")
        # Digits only: "25.000" is twenty-five thousand to an Indonesian reader, 25 to Decimal.
        if amount is not None and not amount.isdigit():
            raise CommandError(f"--amount is whole rupiah in digits only, e.g. 25000; got {amount!r}")
        rupiah = Decimal(amount) if amount is not None else None
        try:
            refund = refunds.request_refund(
                sale=sale, reason=reason, requested_by=None, amount=rupiah, payment_id=payment
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        xendit_id = refund.xendit_refund_id or "not confirmed by Xendit yet"
        self.stdout.write(f"refund {refund.pk} ({xendit_id}): {refund.status}, {rupiah_text(refund.amount)}")
        if refund.status == RefundStatus.FAILED:
            raise CommandError(f"Xendit refused the refund: {refunds.refund_failure_text(refund)}")
        if refund.status == RefundStatus.PENDING and not refund.xendit_refund_id:
            self.stderr.write("Xendit could not be asked now: `manage.py check_refunds` sends it again.")
