from django.core.management.base import BaseCommand

from backoffice.alerts import watch_fleet


class Command(BaseCommand):
    help = (
        "Open and end `offline` incidents (machines silent during their opening hours) and email staff "
        "(STAFF_ALERT_EMAILS) once per incident, review and given-up customer email, and once when an "
        "incident clears. Run every minute from cron; safe to overlap."
    )

    def handle(self, *args, **options):
        report = watch_fleet()
        line = f"offline incidents: {report.offline_opened} opened, {report.offline_ended} ended"
        if report.alerts_on:
            line += f"; alerts: {report.queued} queued, {report.sent} sent"
        else:
            line += "; STAFF_ALERT_EMAILS is empty: no alerts are sent"
        self.stdout.write(line)
