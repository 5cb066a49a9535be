"""Staff alerts (`manage.py watch_fleet`, every minute): what staff must hear about, emailed once to
STAFF_ALERT_EMAILS through the customer emails' outbox (gallery.outbox: same sending and retries).

- a machine offline during its opening hours (locations.offline opens and ends those incidents);
- the incidents its heartbeats open: paper low, paper out, printer or camera error, out of service;
- a sale landing in the review queue (each `SaleReview`);
- a customer email that gave up (`gallery.selectors.failed_emails`).

One alert per incident, review or given-up email, and for incidents one "resolved" alert when it
ends. Never twice, even with two runs at once: each alert's outbox row has a unique `alert_key`
(the insert skips a key already there), and an incident's `alerted_at` / `resolved_alerted_at` are
set by conditional UPDATEs. Never a flood: an incident that ended before it was alerted is not
alerted at all, and reviews and given-up emails older than ALERT_LOOKBACK (from before the alerts
were switched on, say) are not alerted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from backoffice.tools import jakarta_time
from core.formats import rupiah
from gallery.models import EmailKind, EmailOutbox, EmailStatus
from gallery.outbox import queue_staff_alerts, send_email
from gallery.selectors import failed_emails
from locations.models import IncidentKind, MachineIncident
from locations.offline import sync_offline_incidents
from payments.models import SaleReview

ALERT_LOOKBACK = timedelta(hours=24)
SEND_LIMIT = 100

Alert = tuple[str, str, str]  # alert_key, subject, body


@dataclass(frozen=True)
class WatchReport:
    offline_opened: int
    offline_ended: int
    alerts_on: bool
    queued: int = 0
    sent: int = 0


def watch_fleet(*, now: datetime | None = None) -> WatchReport:
    """Open and end `offline` incidents, queue the alerts not queued yet, and send them."""
    now = now or timezone.now()
    offline = sync_offline_incidents(now=now)
    recipients = settings.STAFF_ALERT_EMAILS
    if not recipients:
        return WatchReport(offline_opened=offline.opened, offline_ended=offline.ended, alerts_on=False)
    opened = list(
        MachineIncident.objects.filter(ended_at__isnull=True, alerted_at__isnull=True).select_related("location")
    )
    resolved = list(
        MachineIncident.objects.filter(
            ended_at__isnull=False, alerted_at__isnull=False, resolved_alerted_at__isnull=True
        ).select_related("location")
    )
    alerts = [
        *(_incident_alert(incident) for incident in opened),
        *(_resolved_alert(incident) for incident in resolved),
        *_review_alerts(now=now),
        *_gave_up_alerts(now=now),
    ]
    already = set(
        EmailOutbox.objects.filter(alert_key__in=[key for key, _, _ in alerts]).values_list("alert_key", flat=True)
    )
    new = [alert for alert in alerts if alert[0] not in already]
    queue_staff_alerts(alerts=new, recipients=recipients, now=now)
    MachineIncident.objects.filter(pk__in=[i.pk for i in opened], alerted_at__isnull=True).update(alerted_at=now)
    MachineIncident.objects.filter(pk__in=[i.pk for i in resolved], resolved_alerted_at__isnull=True).update(
        resolved_alerted_at=now
    )
    return WatchReport(
        offline_opened=offline.opened,
        offline_ended=offline.ended,
        alerts_on=True,
        queued=len(new),
        sent=_send_due_alerts(now=now),
    )


def _send_due_alerts(*, now: datetime) -> int:
    """Send the alerts due now (this run's, and retries): each claimed by a conditional UPDATE in
    `send_email`, so a concurrent run or `send_emails` never sends one twice."""
    due = EmailOutbox.objects.filter(kind=EmailKind.STAFF_ALERT, status=EmailStatus.PENDING, next_attempt_at__lte=now)
    return sum(send_email(outbox=outbox, now=now) for outbox in due.order_by("next_attempt_at")[:SEND_LIMIT])


def _admin_url(name: str, *args) -> str:
    return f"{settings.API_BASE_URL}{reverse(name, args=args)}"


def _incident_alert(incident: MachineIncident) -> Alert:
    machine = f"{incident.location.machine_code} ({incident.location.name})"
    what = "offline" if incident.kind == IncidentKind.OFFLINE else incident.get_kind_display()
    lines = [
        f"{machine}: {what}, since {jakarta_time(incident.started_at)} (Jakarta time).",
        *([incident.detail] if incident.detail else []),
        "",
        f"Fleet board: {_admin_url('admin:locations_location_fleet')}",
        "You will get one more email when it clears.",
    ]
    return f"incident:{incident.pk}", f"{machine}: {what}", "\n".join(lines)


def _resolved_alert(incident: MachineIncident) -> Alert:
    machine = f"{incident.location.machine_code} ({incident.location.name})"
    what = "offline" if incident.kind == IncidentKind.OFFLINE else incident.get_kind_display()
    assert incident.ended_at is not None
    minutes = max(1, round((incident.ended_at - incident.started_at).total_seconds() / 60))
    body = (
        f"{machine}: {what} is over, since {jakarta_time(incident.ended_at)} (Jakarta time), "
        f"after {minutes} minutes.\n\nIncidents: {_admin_url('admin:locations_machineincident_changelist')}"
    )
    return f"incident:{incident.pk}:resolved", f"Resolved: {machine}: {what}", body


def _review_alerts(*, now: datetime) -> list[Alert]:
    reviews = SaleReview.objects.filter(resolution__isnull=True, at__gte=now - ALERT_LOOKBACK).select_related(
        "sale__location"
    )
    return [
        (
            f"review:{review.pk}",
            f"Sale {review.sale.external_id} needs review",
            f"Sale {review.sale.external_id} ({rupiah(review.sale.amount)}, {review.sale.location.machine_code}) "
            f"needs review: {review.reason}\n\n{_admin_url('admin:payments_sale_change', review.sale_id)}",
        )
        for review in reviews
    ]


def _gave_up_alerts(*, now: datetime) -> list[Alert]:
    sales = (
        failed_emails()
        .filter(emails__kind=EmailKind.CUSTOMER_PHOTOS, emails__updated_at__gte=now - ALERT_LOOKBACK)
        .annotate(gave_up_at=F("emails__updated_at"), error=F("emails__last_error"))
        .select_related("location")
    )
    return [
        (
            f"email-gave-up:{sale.pk}:{int(sale.gave_up_at.timestamp())}",
            f"Customer email gave up: {sale.external_id}",
            f"The photo email of sale {sale.external_id} ({sale.location.machine_code}) to {sale.email} gave up "
            f"at {jakarta_time(sale.gave_up_at)} (Jakarta time): {sale.error}\n"
            f"It can be resent, to a corrected address too: {_admin_url('admin:payments_sale_change', sale.pk)}",
        )
        for sale in sales
    ]
