from django.core.management.base import BaseCommand

from payments import reconciliation


class Command(BaseCommand):
    help = (
        "Settle refunds still waiting for Xendit's webhook after 5 minutes: ask Xendit about each, and send a "
        "refund it never confirmed again (same idempotency key) only when Xendit has no such refund. Stops on "
        "Xendit's rate limit until the wait is over. Run every few minutes from cron; safe to overlap."
    )

    def handle(self, *args, **options):
        report = reconciliation.check_pending_refunds()
        self.stdout.write(
            f"checked {report.checked} refunds with the gateway, settled {report.settled}, sent again {report.resent}, "
            f"not asked for Xendit's rate limit {report.deferred}, check failures {len(report.failures)}"
        )
