from django.core.management.base import BaseCommand

from core import counters
from payments import events, idempotency, reconciliation


class Command(BaseCommand):
    help = (
        "Expire PENDING sales past their expiry, first asking Xendit whether each was paid (a paid one is "
        "completed instead); then ask once about sales the kiosk's poll expired in the last "
        "LATE_PAYMENT_CHECK_HOURS (a payment found completes the sale, flagged as a late payment). "
        "Stops calling Xendit on its rate limit until the wait is over. Run every minute from cron; safe to overlap."
    )

    def handle(self, *args, **options):
        report = reconciliation.expire_overdue_sales()
        purged = idempotency.purge_expired_keys()
        counters.purge_expired()  # rate-limit windows that are over (when there is no Redis)
        rejected = events.purge_rejected_events()
        self.stdout.write(
            f"checked {report.checked} with the gateway, completed {report.completed}, "
            f"expired {report.expired}, late checks {report.late_checked} (paid late {report.late_completed}), "
            f"not asked for Xendit's rate limit {report.deferred}, check failures {len(report.check_failures)}, "
            f"old idempotency keys purged {purged}, refused webhook requests over 30 days old purged {rejected}"
        )
        for external_id in report.check_failures:
            self.stderr.write(f"could not check {external_id} with the gateway; it is asked again on a later run")
