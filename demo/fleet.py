"""Demo machines in every state, so the fleet board shows what it does (`manage.py load_demo_data`).

Their heartbeats are recorded as of now, at the ages each state needs, through the same service a
kiosk's heartbeat uses (so the incidents open as they would). A state ages like a real one: rerun
`load_demo_data` to bring the board back to this picture."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from locations.heartbeats import Beat, record_heartbeat
from locations.models import Location
from locations.services import take_out_of_service


@dataclass(frozen=True)
class DemoMachine:
    code: str
    name: str
    city: str
    beat: Beat | None = None  # None: never heard from (a new install)
    ago: timedelta = timedelta(seconds=30)
    needs_printer: bool = True
    staff_note: str = ""
    extra: dict = field(default_factory=dict)


def _beat(status="ok", printer="ok", prints_left=300, camera="ok", message="") -> Beat:
    return Beat(
        status=status,
        printer_status=printer,
        prints_left=prints_left,
        camera_status=camera,
        app_version="2.3.1",
        message=message,
    )


DEMO_FLEET = (
    DemoMachine("PB-101", "Grand Indonesia", "Jakarta", _beat(prints_left=320)),
    DemoMachine(
        "PB-102", "Pakuwon Mall", "Surabaya", _beat("degraded", "paper_low", 18, message="One roll left in the back")
    ),
    DemoMachine("PB-103", "Paris Van Java", "Bandung", _beat(prints_left=210), ago=timedelta(minutes=4)),
    DemoMachine(
        "PB-104", "Tunjungan Plaza", "Surabaya", _beat(camera="error", message="Camera not found"), timedelta(minutes=7)
    ),
    DemoMachine("PB-105", "Mall Bali Galeria", "Denpasar", _beat(prints_left=95), ago=timedelta(minutes=35)),
    DemoMachine("PB-106", "Centre Point", "Medan"),
    DemoMachine("PB-107", "Kota Kasablanka", "Jakarta", _beat("ok", "paper_out", 0, message="Out of paper")),
    DemoMachine(
        "PB-108",
        "Summarecon Mall Bekasi",
        "Bekasi",
        _beat(prints_left=150),
        staff_note="Screen cracked: technician booked for Thursday",
    ),
)


def load_demo_fleet(*, user) -> list[Location]:
    """The demo machines, each in its state as of now (safe to rerun)."""
    now = timezone.now()
    machines = []
    for demo in DEMO_FLEET:
        location, _ = Location.objects.update_or_create(
            machine_code=demo.code,
            defaults={"name": demo.name, "city": demo.city, "needs_printer": demo.needs_printer},
        )
        if demo.beat is not None:
            record_heartbeat(location=location, beat=demo.beat, now=now - demo.ago)
        if demo.staff_note:
            take_out_of_service(location=location, note=demo.staff_note, user=user)
        machines.append(location)
    return machines
