from django.core.management.base import BaseCommand

from gallery import services


class Command(BaseCommand):
    help = (
        "Send the customer emails that are due: new ones the upload could not send, and retries "
        "of failed attempts. Run every 5 minutes from cron; safe to overlap."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=200, help="At most this many emails per run (default 200).")

    def handle(self, *args, limit: int, **options):
        report = services.send_due_emails(limit=limit)
        self.stdout.write(f"sent {report.sent}, failed {report.failed}")
