from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from gallery import funnel_summary


class Command(BaseCommand):
    help = (
        "Summarise the customer funnel of closed Jakarta days (per machine: the funnel's steps, paid "
        "sales per hour, per payment channel and time to pay), so the staff funnel page reads them "
        "quickly. Rewrites every closed day never summarised and every day that may have changed "
        "since (a gallery still open, a sale paid, refunded or emailed since). Run it hourly from cron "
        "(README, Deploying, 6. Cron); overlapping runs are safe, and running it again changes nothing "
        "when no sale changed. The first run summarises every day with sales: it takes a while."
    )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The funnel is counted by PostgreSQL: run Photobox on PostgreSQL (DATABASE_URL).")
        report = funnel_summary.summarise_funnel()
        if report.days:
            span = f"{report.days[0]:%Y-%m-%d} to {report.days[-1]:%Y-%m-%d}"
            self.stdout.write(f"summarised {len(report.days)} day(s), {span}, in {report.seconds:.1f} s")
        else:
            self.stdout.write(f"nothing to summarise ({report.seconds:.1f} s)")
