from django.core.management.base import BaseCommand

from gallery import services


class Command(BaseCommand):
    help = (
        "Send the customer emails that are due: new ones the upload could not send, retries of "
        "failed attempts, and those of sales whose upload was interrupted (the worker died), with "
        "the photos that were stored. Run every 5 minutes from cron; safe to overlap."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=200, help="At most this many emails per run (default 200).")

    def handle(self, *args, limit: int, **options):
        report = services.send_due_emails(limit=limit)
        line = f"sent {report.sent}, failed {report.failed}"
        if report.interrupted:
            count = report.interrupted
            line += f" ({count} after an interrupted upload{'' if count == 1 else 's'}, with the stored photos)"
        self.stdout.write(line)
