from django.core.management.base import BaseCommand

from payments import idempotency, services


class Command(BaseCommand):
    help = (
        "Expire PENDING sales past their expiry, first asking Xendit whether each was paid "
        "(a paid one is completed instead). Run every minute from cron; safe to overlap."
    )

    def handle(self, *args, **options):
        report = services.expire_overdue_sales()
        purged = idempotency.purge_expired_keys()
        self.stdout.write(
            f"checked {report.checked} with the gateway, completed {report.completed}, "
            f"expired {report.expired}, check failures {len(report.check_failures)}, "
            f"old idempotency keys purged {purged}"
        )
        for external_id in report.check_failures:
            self.stderr.write(f"could not check {external_id} with the gateway; expired it anyway")
