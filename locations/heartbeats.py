"""A kiosk's heartbeat: the machine's latest report, stored in place, and the incidents it opens
and ends.

A beat is cheap, since every kiosk sends one a minute: on PostgreSQL one statement upserts the
machine's row and hands back what the previous beat said (no history row per beat). Only when the
conditions a beat reports differ from the previous beat's (paper low, paper out, a printer or camera
error, out of service) are incidents opened or ended, in the same transaction, under the machine
row's lock, so two beats at once cannot both open or both miss one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from locations.models import (
    CameraStatus,
    IncidentKind,
    Location,
    MachineIncident,
    MachineStatus,
    PrinterStatus,
    ReportedStatus,
)
from locations.selectors import accepting_sales


@dataclass(frozen=True)
class Beat:
    """What a kiosk reports (the heartbeat's body, validated); empty strings and None: not reported."""

    status: str
    printer_status: str = ""
    prints_left: int | None = None
    camera_status: str = ""
    app_version: str = ""
    message: str = ""


@dataclass(frozen=True)
class BeatReceived:
    location_id: int
    accepting_sales: bool
    server_time: datetime


def conditions(*, status: str, printer_status: str, camera_status: str) -> set[str]:
    """The incident kinds a report describes."""
    found = set()
    if status == ReportedStatus.OUT_OF_SERVICE:
        found.add(IncidentKind.OUT_OF_SERVICE.value)
    if printer_status == PrinterStatus.PAPER_LOW:
        found.add(IncidentKind.PAPER_LOW.value)
    elif printer_status == PrinterStatus.PAPER_OUT:
        found.add(IncidentKind.PAPER_OUT.value)
    elif printer_status == PrinterStatus.ERROR:
        found.add(IncidentKind.PRINTER_ERROR.value)
    if camera_status == CameraStatus.ERROR:
        found.add(IncidentKind.CAMERA_ERROR.value)
    return found


def record_heartbeat(*, location: Location, beat: Beat, now: datetime | None = None) -> BeatReceived:
    """Store `beat` as `location`'s latest report; open an incident for each condition it reports
    that the previous beat did not, end those it no longer reports."""
    now = now or timezone.now()
    with transaction.atomic():
        previous = _store(location_id=location.pk, beat=beat, now=now)
        before = conditions(**previous) if previous else set()
        after = conditions(status=beat.status, printer_status=beat.printer_status, camera_status=beat.camera_status)
        if before != after:
            _record_incidents(location_id=location.pk, opened=after - before, ended=before - after, beat=beat, now=now)
    location.machine_status = MachineStatus(
        location=location,
        beat_at=now,
        status=beat.status,
        printer_status=beat.printer_status,
        prints_left=beat.prints_left,
        camera_status=beat.camera_status,
        app_version=beat.app_version,
        message=beat.message,
    )
    return BeatReceived(location_id=location.pk, accepting_sales=accepting_sales(location), server_time=now)


_COLUMNS = ("beat_at", "status", "printer_status", "prints_left", "camera_status", "app_version", "message")

# The previous beat's conditions come from a CTE that locks the row (FOR UPDATE: a concurrent beat
# of the same machine waits, then reads what this one wrote). The insert reads that CTE, so it runs
# first and its rows are kept: a row this very statement updates would be invisible to it afterwards.
_UPSERT = """
WITH previous AS MATERIALIZED (
    SELECT status, printer_status, camera_status FROM {table} WHERE location_id = %(location_id)s FOR UPDATE
), stored AS (
    INSERT INTO {table} (location_id, {columns})
    SELECT %(location_id)s, {values} FROM (SELECT 1) AS one LEFT JOIN previous ON TRUE
    ON CONFLICT (location_id) DO UPDATE SET {updates}
    RETURNING location_id
)
SELECT previous.status, previous.printer_status, previous.camera_status FROM stored LEFT JOIN previous ON TRUE
"""
_TYPES = {"beat_at": "timestamptz", "prints_left": "integer"}


def _store(*, location_id: int, beat: Beat, now: datetime) -> dict | None:
    """Upsert the machine's row; the previous beat's status, printer and camera, or None."""
    values = {
        "location_id": location_id,
        "beat_at": now,
        "status": beat.status,
        "printer_status": beat.printer_status,
        "prints_left": beat.prints_left,
        "camera_status": beat.camera_status,
        "app_version": beat.app_version,
        "message": beat.message,
    }
    if connection.vendor != "postgresql":
        # SQLite (a laptop): two statements under the transaction's database lock.
        row = MachineStatus.objects.filter(pk=location_id).values("status", "printer_status", "camera_status").first()
        MachineStatus.objects.update_or_create(location_id=location_id, defaults=values)
        return row
    quote = connection.ops.quote_name
    sql = _UPSERT.format(
        table=quote(MachineStatus._meta.db_table),
        columns=", ".join(quote(column) for column in _COLUMNS),
        values=", ".join(f"%({column})s::{_TYPES.get(column, 'text')}" for column in _COLUMNS),
        updates=", ".join(f"{quote(column)} = EXCLUDED.{quote(column)}" for column in _COLUMNS),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        status, printer_status, camera_status = cursor.fetchone()
    if status is None:
        return None
    return {"status": status, "printer_status": printer_status, "camera_status": camera_status}


def _record_incidents(*, location_id: int, opened: set[str], ended: set[str], beat: Beat, now: datetime) -> None:
    if ended:
        MachineIncident.objects.filter(location_id=location_id, kind__in=ended, ended_at__isnull=True).update(
            ended_at=now
        )
    if opened:
        detail = _detail(beat)
        # An incident of that kind already open (a constraint allows one) stays as it is.
        MachineIncident.objects.bulk_create(
            [
                MachineIncident(location_id=location_id, kind=kind, started_at=now, detail=detail)
                for kind in sorted(opened)
            ],
            ignore_conflicts=True,
        )


def _detail(beat: Beat) -> str:
    parts = []
    if beat.prints_left is not None:
        parts.append(f"{beat.prints_left} prints left")
    if beat.message:
        parts.append(beat.message)
    return "; ".join(parts)[:500]
