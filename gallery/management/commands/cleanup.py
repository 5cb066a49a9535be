from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gallery import cleanup


class Command(BaseCommand):
    help = (
        "Delete the photos of sales whose email went out more than --days days ago (default "
        "PHOTO_RETENTION_DAYS) and mark them cleaned up; their gallery then answers 'expired'. "
        "Run it hourly from cron (README, Deploying, 6. Cron): photos then go within the hour their "
        "retention ends, and a run stopped by the storage's hourly Admin API budget goes on with the next "
        "hour's; overlapping runs are safe. The run stops early, exit status 0, when that budget runs "
        "low: the rest follow next run. Folders that failed are "
        "listed on stderr and retried next run; the exit status is then 1, so cron and monitoring "
        "notice a failure that keeps coming back. --dry-run lists what would be deleted and "
        "changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep photos this many days after the email went out (default: PHOTO_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List the sales whose photos would be deleted; delete nothing."
        )

    def handle(self, *args, days, dry_run, **options):
        days = settings.PHOTO_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be at least 1")
        report = cleanup.cleanup_photos(days=days, dry_run=dry_run)
        if dry_run:
            for external_id in report.deleted:
                self.stdout.write(f"would delete {external_id}")
            self.stdout.write(f"dry run: {len(report.deleted)} folders would be deleted (older than {days} days)")
            return
        for external_id in report.deleted:
            self.stdout.write(f"deleted {external_id}", self.style.SUCCESS)
        self.stdout.write(
            f"deleted {len(report.deleted)} folders, failed {len(report.failed)}, storage API calls {report.api_calls}"
        )
        if report.stopped_for_budget:
            self.stdout.write(
                "stopped early to stay within the storage's Admin API budget; the rest follow next run",
                self.style.WARNING,
            )
        for external_id in report.failed:
            self.stderr.write(f"failed to delete {external_id}; it is retried next run")
        if report.failed:
            raise CommandError(f"{len(report.failed)} folders could not be deleted", returncode=1)
