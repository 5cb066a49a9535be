"""Machine incidents in the admin: a read-only list (machine, kind, start, end, duration, whether
staff were alerted), linked from the fleet board."""

import re
from datetime import datetime

import pytest
from django.contrib.auth import get_user_model

from core.formats import JAKARTA
from locations.models import MachineIncident

pytestmark = pytest.mark.django_db

URL = "/admin/locations/machineincident/"


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_the_list_shows_start_end_duration_and_alerts(staff_client, location):
    MachineIncident.objects.create(
        location=location,
        kind="paper_out",
        started_at=datetime(2026, 3, 2, 14, 0, tzinfo=JAKARTA),
        ended_at=datetime(2026, 3, 2, 15, 35, tzinfo=JAKARTA),
        alerted_at=datetime(2026, 3, 2, 14, 1, tzinfo=JAKARTA),
        resolved_alerted_at=datetime(2026, 3, 2, 15, 36, tzinfo=JAKARTA),
    )
    MachineIncident.objects.create(
        location=location, kind="offline", started_at=datetime(2026, 3, 2, 16, 0, tzinfo=JAKARTA)
    )

    page = text(staff_client.get(URL))

    assert "PB-001 Mall Taman Anggrek paper out 02 Mar 2026 14:00 02 Mar 2026 15:35 1 h 35 min" in page
    assert "yes, 02 Mar 2026 14:01; resolved 02 Mar 2026 15:36" in page
    assert "offline 02 Mar 2026 16:00 still open" in page
    assert "so far no" in page


def test_open_incidents_filter_and_no_way_to_edit(staff_client, location):
    MachineIncident.objects.create(
        location=location,
        kind="camera_error",
        started_at=datetime(2026, 3, 2, 14, 0, tzinfo=JAKARTA),
        ended_at=datetime(2026, 3, 2, 14, 5, tzinfo=JAKARTA),
    )
    assert "14:05" not in text(staff_client.get(URL + "?open=yes"))
    assert "camera error 02 Mar 2026 14:00 02 Mar 2026 14:05 5 min" in text(staff_client.get(URL + "?open=no"))
    assert staff_client.get(URL + "add/").status_code == 403


def test_the_fleet_board_links_to_the_incidents(staff_client):
    html = staff_client.get("/admin/locations/location/fleet/").content.decode()
    assert f'href="{URL}" id="fleet-incidents"' in html
