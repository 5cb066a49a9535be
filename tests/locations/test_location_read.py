"""The machine as a sale reads it (locations.selectors.location_with_status): the location and its
last heartbeat in one query, so whether it may sell is decided without another."""

from datetime import timedelta

import pytest
from django.utils import timezone

from locations.models import MachineStatus, PrinterStatus, ReportedStatus
from locations.selectors import is_out_of_service, location_with_status, status_of

pytestmark = pytest.mark.django_db


def test_a_machine_that_never_sent_a_heartbeat_is_read_with_none(location, django_assert_num_queries):
    with django_assert_num_queries(1):
        read = location_with_status(location.pk)
        assert status_of(read) is None
        assert not is_out_of_service(read)

    assert (read.pk, read.machine_code, read.name, read.is_active) == (
        location.pk,
        location.machine_code,
        location.name,
        location.is_active,
    )


def test_a_machine_is_read_with_its_last_heartbeat(location, django_assert_num_queries):
    beat_at = timezone.now() - timedelta(seconds=30)
    MachineStatus.objects.create(
        location=location,
        beat_at=beat_at,
        status=ReportedStatus.OUT_OF_SERVICE,
        printer_status=PrinterStatus.OK,
        prints_left=12,
        message="Lens cover stuck",
    )

    with django_assert_num_queries(1):
        read = location_with_status(location.pk)
        status = status_of(read)
        assert is_out_of_service(read)

    assert (status.beat_at, status.status, status.prints_left, status.message) == (
        beat_at,
        ReportedStatus.OUT_OF_SERVICE,
        12,
        "Lens cover stuck",
    )
    assert status.location is read


def test_an_unknown_machine_is_not_found():
    assert location_with_status(987_654) is None
