"""`manage.py demo [addr:]port` and its demo data.

The address is read as runserver reads it; a busy port is refused in one line before anything is
printed; and every link Photobox makes (gallery, photo URLs, the email, the kiosk's gallery QR
code) points at the port and address the demo runs on: with 0.0.0.0, this machine's LAN address,
which ALLOWED_HOSTS then allows. The last tests run the real command in a process of its own, as
the README has a newcomer run it.
"""

import contextlib
import io
import re
import socket
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image
from rest_framework.test import APIClient

from demo.management.commands.demo import DemoAddress, lan_address, parse_addrport, prepare, use_address
from payments.models import SaleStatus
from pricing.models import Price
from tests.support.live_instances import free_port
from tests.support.processes import PROJECT_ROOT, clean_environment

EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - what `demo 0.0.0.0:8000` listens on
BUSY = re.compile(r"Port (\d+) is in use \(another demo\?\): run `manage\.py demo (\S+)`, or stop the other one\.")


@pytest.fixture(autouse=True)
def no_api_base_url_in_environment(monkeypatch):
    """As on a newcomer's machine: links come from the demo's address unless API_BASE_URL is set."""
    monkeypatch.delenv("API_BASE_URL", raising=False)


@contextlib.contextmanager
def listening(addr: str = "127.0.0.1", family: int = socket.AF_INET):
    """Something else listening on a port (another demo, another program): yields the port."""
    with socket.socket(family, socket.SOCK_STREAM) as other:
        other.bind((addr, 0))
        other.listen()
        yield other.getsockname()[1]


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


# --- Reading the address, as runserver does -------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "addr", "port", "ipv6", "runserver_gets"),
    [
        ("8005", "127.0.0.1", 8005, False, "127.0.0.1:8005"),
        ("0.0.0.0:8005", EVERY_INTERFACE, 8005, False, "0.0.0.0:8005"),
        ("0:8005", "0", 8005, False, "0:8005"),
        ("192.168.1.20:8005", "192.168.1.20", 8005, False, "192.168.1.20:8005"),
        ("[::1]:8005", "::1", 8005, True, "[::1]:8005"),
        ("localhost:8005", "localhost", 8005, False, "localhost:8005"),
    ],
)
def test_the_address_is_read_as_runserver_reads_it(given, addr, port, ipv6, runserver_gets):
    assert parse_addrport(given) == (addr, port, ipv6)
    # What runserver then gets (prepare would also check the port, which may not exist here).
    address = DemoAddress(addr=addr, port=port, ipv6=ipv6, base_url="", base_url_origin="", allowed_hosts=[])
    assert address.addrport == runserver_gets


@pytest.mark.parametrize("given", ["http://127.0.0.1:8005", "8005/", "127.0.0.1:", "port", "0", "70000"])
def test_a_malformed_address_or_port_is_refused_in_one_line(given):
    with pytest.raises(CommandError) as refused:
        parse_addrport(given)

    assert "\n" not in str(refused.value)
    assert "8001" in str(refused.value)  # says what to type instead


# --- Where the links point -------------------------------------------------------------------------


def test_links_point_at_the_port_given(settings):
    port = free_port()

    address = prepare(str(port))

    assert address.addrport == f"127.0.0.1:{port}"
    assert address.base_url == f"http://127.0.0.1:{port}"
    assert "127.0.0.1" in address.allowed_hosts


def test_without_an_argument_the_demo_runs_on_port_8000(settings):
    with socket.socket() as probe:
        in_use = probe.connect_ex(("127.0.0.1", 8000)) == 0

    if in_use:  # on this machine, right now: the refusal names it
        with pytest.raises(CommandError, match=r"^Port 8000 is in use"):
            prepare(None)
    else:
        assert prepare(None).base_url == "http://127.0.0.1:8000"


def test_on_every_interface_links_use_this_machines_lan_address_and_it_is_an_allowed_host(settings):
    port = free_port()
    lan = lan_address()

    address = prepare(f"0.0.0.0:{port}")

    assert address.addrport == f"0.0.0.0:{port}"
    assert address.base_url == f"http://{lan}:{port}"
    assert lan in address.allowed_hosts
    assert set(settings.ALLOWED_HOSTS) <= set(address.allowed_hosts)  # added to, not replaced


def test_the_lan_address_is_an_address_of_this_machine():
    lan = lan_address()

    assert re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", lan)
    assert lan != EVERY_INTERFACE
    with socket.socket() as sock:
        sock.bind((lan, 0))  # fails unless one of this machine's interfaces has it


def test_a_specific_address_is_used_for_links_and_allowed(settings):
    lan = lan_address()
    port = free_port()

    address = prepare(f"{lan}:{port}")

    assert address.base_url == f"http://{lan}:{port}"
    assert lan in address.allowed_hosts


def test_an_ipv6_address_is_written_in_brackets(settings):
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
            port = sock.getsockname()[1]
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")

    address = prepare(f"[::1]:{port}")

    assert address.addrport == f"[::1]:{port}"
    assert address.base_url == f"http://[::1]:{port}"
    assert "[::1]" in address.allowed_hosts


def test_api_base_url_set_in_the_environment_wins(settings, monkeypatch):
    # Settings read the environment at start; here both say what a developer's .env would.
    monkeypatch.setenv("API_BASE_URL", "https://photobox-demo.example")
    settings.API_BASE_URL = "https://photobox-demo.example"

    address = prepare(f"0.0.0.0:{free_port()}")

    assert address.base_url == "https://photobox-demo.example"
    assert address.base_url_origin == "API_BASE_URL from the environment"
    assert "photobox-demo.example" in address.allowed_hosts
    assert lan_address() in address.allowed_hosts  # the phone may still open the LAN address


def test_a_loopback_api_base_url_as_env_example_has_it_does_not_hold_links_on_port_8000(settings, monkeypatch):
    # `cp .env.example .env` sets API_BASE_URL=http://127.0.0.1:8000: it only says "this machine".
    monkeypatch.setenv("API_BASE_URL", "http://127.0.0.1:8000")
    settings.API_BASE_URL = "http://127.0.0.1:8000"
    port = free_port()

    assert prepare(str(port)).base_url == f"http://127.0.0.1:{port}"
    assert prepare(f"0.0.0.0:{port}").base_url == f"http://{lan_address()}:{port}"


def test_allowed_hosts_of_star_stay_as_they_are(settings):
    settings.ALLOWED_HOSTS = ["*"]

    assert prepare(f"0.0.0.0:{free_port()}").allowed_hosts == ["*"]


@pytest.mark.django_db
def test_with_the_address_in_use_the_upload_links_the_email_and_the_qr_code_point_at_it(
    settings, tmp_path, make_sale, mailoutbox
):
    settings.DEBUG = True  # as the demo runs: the kiosk page and its QR endpoint are on
    settings.MEDIA_ROOT = tmp_path
    address = prepare(f"0.0.0.0:{free_port()}")
    use_address(address)
    host = address.base_url.removeprefix("http://")
    sale = make_sale(status=SaleStatus.COMPLETED)
    api = APIClient(HTTP_HOST=host)  # as a phone on the LAN asks

    uploaded = api.post(
        f"/api/v1/transactions/{sale.external_id}/photos",
        {"files": [SimpleUploadedFile("a.jpg", jpeg_bytes(), content_type="image/jpeg")]},
        format="multipart",
    ).json()
    listed = api.get(f"/api/v1/transactions/{sale.external_id}/photos").json()
    gallery_qr = api.get("/kiosk/gallery-qr.svg", {"url": uploaded["folder_url"]})
    gallery = api.get(uploaded["folder_url"].removeprefix(address.base_url))
    photo = api.get(listed["photos"][0]["url"].removeprefix(address.base_url))

    assert uploaded["folder_url"].startswith(f"{address.base_url}/gallery/{sale.external_id}/")
    assert uploaded["photos"][0]["url"].startswith(f"{address.base_url}/media/")
    assert [p["url"] for p in listed["photos"]] == [uploaded["photos"][0]["url"]]
    assert uploaded["folder_url"] in mailoutbox[0].body
    assert (gallery_qr.status_code, gallery.status_code, photo.status_code) == (200, 200, 200)
    assert uploaded["photos"][0]["url"] in gallery.content.decode()


# --- A busy port -----------------------------------------------------------------------------------


def test_a_busy_port_is_refused_in_one_line_naming_a_free_one():
    with listening() as port:
        with pytest.raises(CommandError) as refused:
            prepare(str(port))
        message = str(refused.value)

        match = BUSY.fullmatch(message)
        assert match, message
        assert int(match[1]) == port
        suggested = int(match[2])
        assert suggested > port
        prepare(str(suggested))  # free indeed


def test_a_port_taken_on_every_interface_is_busy_for_127_0_0_1_too():
    with listening(EVERY_INTERFACE) as port, pytest.raises(CommandError, match=f"Port {port} is in use"):
        prepare(str(port))


def test_the_suggestion_keeps_the_address_given():
    with listening(EVERY_INTERFACE) as port, pytest.raises(CommandError) as refused:
        prepare(f"0.0.0.0:{port}")

    assert BUSY.fullmatch(str(refused.value))[2].startswith("0.0.0.0:")


def test_an_address_of_another_machine_is_refused_in_one_line():
    with pytest.raises(CommandError, match=r"^203\.0\.113\.7 is not an address of this machine: .* 0\.0\.0\.0:\d+`\.$"):
        prepare(f"203.0.113.7:{free_port()}")


def test_a_busy_port_stops_the_command_before_it_prints_or_migrates_anything(settings):
    settings.DEBUG = True
    output = io.StringIO()

    with listening() as port, pytest.raises(CommandError, match=BUSY):
        call_command("demo", str(port), stdout=output)

    assert output.getvalue() == ""  # load_demo_data, which follows migrate, would have printed


# --- The real command, in a process of its own ---------------------------------------------------


def demo_environment(tmp_path) -> dict[str, str]:
    return clean_environment(
        DEBUG="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        PYTHONUNBUFFERED="1",
    )


def test_manage_py_demo_on_a_busy_port_exits_with_one_line(tmp_path):
    with listening() as port:
        finished = subprocess.run(
            [sys.executable, "manage.py", "demo", str(port)],
            cwd=PROJECT_ROOT,
            env=demo_environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert finished.returncode == 1
    assert finished.stdout == ""
    assert finished.stderr.count("\n") == 1, finished.stderr
    assert BUSY.fullmatch(finished.stderr.strip().removeprefix("CommandError: ")), finished.stderr
    assert not (tmp_path / "demo.sqlite3").exists()  # nothing migrated


def test_manage_py_demo_on_another_port_makes_every_link_with_that_port(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "demo", str(port)],
            cwd=PROJECT_ROOT,
            env=demo_environment(tmp_path),
            stdout=out,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, stderr.read_text()
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/kiosk/", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.2)
        printed = stdout.read_text()
        location_id = re.search(r"\(location_id (\d+)\)", printed)[1]
        price_id = re.search(r"^  ([0-9a-f-]{36})  Rp 35\.000 – 2 strip foto$", printed, re.MULTILINE)[1]

        sale = requests.post(
            f"{url}/api/v1/transactions",
            json={"location_id": int(location_id), "price_id": price_id, "email": "budi@example.com"},
            timeout=10,
        ).json()["data"]
        paid = requests.post(f"{url}/api/v1/simulator/transactions/{sale['external_id']}/pay", timeout=10)
        uploaded = requests.post(
            f"{url}/api/v1/transactions/{sale['external_id']}/photos",
            files=[("files", ("a.jpg", jpeg_bytes(), "image/jpeg"))],
            timeout=30,
        ).json()
        assert uploaded["folder_url"].startswith(f"{url}/gallery/{sale['external_id']}/")
        assert uploaded["photos"][0]["url"].startswith(f"{url}/media/")
        gallery = requests.get(uploaded["folder_url"], timeout=10)
        photo = requests.get(uploaded["photos"][0]["url"], timeout=10)
        gallery_qr = requests.get(f"{url}/kiosk/gallery-qr.svg", params={"url": uploaded["folder_url"]}, timeout=10)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    assert f"Kiosk:  {url}/kiosk/" in printed
    assert f"Admin:  {url}/admin/" in printed
    assert paid.status_code == 200
    assert (gallery.status_code, photo.status_code, gallery_qr.status_code) == (200, 200, 200)
    assert photo.headers["Content-Type"] == "image/jpeg"
    assert uploaded["folder_url"] in stdout.read_text()  # the email, printed by the console backend


# --- The demo data ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_packages_are_named_in_indonesian_at_their_prices():
    call_command("load_demo_data", stdout=io.StringIO())

    assert list(Price.objects.values_list("amount", "description", "quota")) == [
        (Decimal("35000"), "2 strip foto", None),
        (Decimal("50000"), "4 strip foto + 1 cetak besar", 100),
    ]


@pytest.mark.django_db
def test_a_demo_database_from_before_gets_the_indonesian_names_not_two_more_packages():
    earlier = [
        Price.objects.create(amount=Decimal("35000"), description="2 photo strips"),
        Price.objects.create(amount=Decimal("50000"), description="4 photo strips + digital copies", quota=100),
    ]

    call_command("load_demo_data", stdout=io.StringIO())
    call_command("load_demo_data", stdout=io.StringIO())

    assert list(Price.objects.values_list("pk", "description")) == [
        (earlier[0].pk, "2 strip foto"),
        (earlier[1].pk, "4 strip foto + 1 cetak besar"),
    ]
