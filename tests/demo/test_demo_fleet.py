"""The demo data has machines in every state, so the fleet board shows what it does; rerunning it
brings them back to that picture without doubling anything."""

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from locations.models import Location, MachineIncident
from locations.selectors import with_state

pytestmark = pytest.mark.django_db


def states() -> Counter:
    return Counter(
        location.state for location in with_state(Location.objects.exclude(machine_code="PB-001"), now=timezone.now())
    )


def test_the_demo_has_machines_in_every_state_and_reruns_cleanly():
    call_command("load_demo_data", stdout=io.StringIO())
    first = states()
    call_command("load_demo_data", stdout=io.StringIO())

    assert first == states() == Counter({"online": 2, "stale": 2, "offline": 2, "out_of_service": 2})
    assert sorted(MachineIncident.objects.filter(ended_at=None).values_list("kind", flat=True)) == [
        "camera_error",
        "paper_low",
        "paper_out",
    ]
