"""`manage.py demo [addr:]port`: migrate, load the demo data and run the development server.

`prepare` reads the address as runserver does (`8005`, `0.0.0.0:8005`, `192.168.1.20:8005`,
`[::1]:8005`), checks that the port is free before anything is printed, and works out the address
Photobox puts in its links (gallery, photo URLs, the customer's email, the kiosk's gallery QR
code). `handle` sets that address for this process and starts runserver on it.
"""

from __future__ import annotations

import errno
import os
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands.runserver import naiveip_re

DEFAULT_ADDR = "127.0.0.1"
DEFAULT_PORT = 8000
# An API_BASE_URL on these names only says "this machine": it does not hold the demo's links.
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Listening on every interface: the links then use this machine's address on the local network.
EVERYWHERE = ("0.0.0.0", "0", "::")  # noqa: S104 - the demo binds all interfaces only when asked to


@dataclass(frozen=True)
class DemoAddress:
    addr: str  # what the server binds to, as given (`::1` without brackets)
    port: int
    ipv6: bool
    base_url: str  # where Photobox's links point: http://host:port, no trailing slash
    base_url_origin: str  # why: in words, for the start-up message
    allowed_hosts: list[str]  # ALLOWED_HOSTS with the links' host (and the LAN address) added

    @property
    def addrport(self) -> str:
        """The argument runserver gets."""
        return f"[{self.addr}]:{self.port}" if self.ipv6 else f"{self.addr}:{self.port}"

    @property
    def everywhere(self) -> bool:
        return self.addr in EVERYWHERE


def parse_addrport(addrport: str) -> tuple[str, int, bool]:
    """`8005` → ("127.0.0.1", 8005, False); `[::1]:8005` → ("::1", 8005, True); as runserver reads it."""
    match = re.match(naiveip_re, addrport.strip())
    if match is None:
        raise CommandError(f"{addrport!r} is not a port or an address:port, e.g. 8001, 0.0.0.0:8001 or [::1]:8001.")
    addr, _ipv4, ipv6, _fqdn, port_text = match.groups()
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise CommandError(
            f"Port {port} is not a port number: pick one from 1024 to 65535, e.g. `manage.py demo 8001`."
        )
    if ipv6:
        return addr[1:-1], port, True
    return addr or DEFAULT_ADDR, port, False


def _bind(addr: str, port: int, ipv6: bool) -> None:
    """Bind (and release) the address as the development server will: OSError when it cannot."""
    bind_addr = "0.0.0.0" if addr == "0" else addr  # noqa: S104 - runserver's shorthand for all interfaces
    with socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As runserver's server does: a port left in TIME_WAIT by a demo just stopped is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bind_addr, port))


def _shown(addr: str, port: int, ipv6: bool) -> str:
    """The argument to type for this address and another port."""
    if addr == DEFAULT_ADDR and not ipv6:
        return str(port)
    return f"[{addr}]:{port}" if ipv6 else f"{addr}:{port}"


def check_port(addr: str, port: int, ipv6: bool) -> None:
    """Raise CommandError, in one line saying what to do, unless the server can listen there."""
    try:
        _bind(addr, port, ipv6)
    except socket.gaierror:
        raise CommandError(
            f"{addr} is not a host name of this machine: use 127.0.0.1 or 0.0.0.0, "
            f"e.g. `manage.py demo 0.0.0.0:{port}`."
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            free = next((p for p in range(port + 1, min(port + 50, 65536)) if _is_free(addr, p, ipv6)), None)
            suggestion = _shown(addr, free if free else port + 1, ipv6)
            raise CommandError(
                f"Port {port} is in use (another demo?): run `manage.py demo {suggestion}`, or stop the other one."
            ) from None
        if exc.errno == errno.EACCES:
            raise CommandError(
                f"Port {port} needs administrator rights: pick one from 1024 up, "
                f"e.g. `manage.py demo {_shown(addr, 8000, ipv6)}`."
            ) from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise CommandError(
                f"{addr} is not an address of this machine: to be reachable from other devices, "
                f"listen on all of them with `manage.py demo 0.0.0.0:{port}`."
            ) from None
        raise CommandError(f"Cannot listen on {_shown(addr, port, ipv6)}: {exc.strerror or exc}.") from None


def _is_free(addr: str, port: int, ipv6: bool) -> bool:
    try:
        _bind(addr, port, ipv6)
    except OSError:
        return False
    return True


def lan_address() -> str:
    """This machine's IPv4 address on the local network (what a phone on the same Wi-Fi reaches).

    The address the system would send from towards a private address: connecting a UDP socket
    sends nothing. 127.0.0.1 when the machine has no network.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.254.254.254", 9))
            address = sock.getsockname()[0]
        except OSError:
            return "127.0.0.1"
    return address if address != "0.0.0.0" else "127.0.0.1"  # noqa: S104


def _host_entry(host: str) -> str:
    """A host as ALLOWED_HOSTS lists it (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host else host


def _url_host(addr: str, ipv6: bool) -> str:
    return f"[{addr}]" if ipv6 else addr


def prepare(addrport: str | None = None) -> DemoAddress:
    """Parse `[addr:]port`, check the port is free, and work out the address links use.

    Links use the address given; when listening on every interface (`0.0.0.0`), this machine's
    LAN address, which is added to ALLOWED_HOSTS. API_BASE_URL set in the environment (or .env)
    wins over both (a tunnel, a host name), unless it only names this machine's loopback, as
    .env.example's http://127.0.0.1:8000 does: on another port or for a phone, that would be wrong.
    """
    addr, port, ipv6 = parse_addrport(addrport or str(DEFAULT_PORT))
    check_port(addr, port, ipv6)

    extra_hosts = []
    if addr in EVERYWHERE:
        lan = lan_address()
        extra_hosts.append(lan)
        base_url = f"http://{lan}:{port}"
        origin = (
            "this machine's address on the local network"
            if lan != DEFAULT_ADDR
            else "no local network found: this machine only"
        )
    else:
        extra_hosts.append(_host_entry(addr))
        base_url, origin = f"http://{_url_host(addr, ipv6)}:{port}", "the address the demo listens on"
    if os.environ.get("API_BASE_URL", "").strip():
        if urlsplit(settings.API_BASE_URL).hostname in LOOPBACK:
            origin += f"; API_BASE_URL={settings.API_BASE_URL} names only this machine, so the demo's own address wins"
        else:
            base_url, origin = settings.API_BASE_URL, "API_BASE_URL from the environment"
            extra_hosts.append(_host_entry(urlsplit(base_url).hostname or ""))

    allowed_hosts = list(settings.ALLOWED_HOSTS)
    if "*" not in allowed_hosts:
        allowed_hosts += [host for host in dict.fromkeys(extra_hosts) if host and host not in allowed_hosts]
    return DemoAddress(
        addr=addr, port=port, ipv6=ipv6, base_url=base_url, base_url_origin=origin, allowed_hosts=allowed_hosts
    )


def use_address(address: DemoAddress) -> None:
    """Make this process's links point at the demo's address (the server runs in this process)."""
    settings.API_BASE_URL = address.base_url
    settings.ALLOWED_HOSTS = address.allowed_hosts


class Command(BaseCommand):
    help = (
        "Set up and run the demo: migrate, load demo data, start the development server (DEBUG only). "
        "Links (gallery, photos, email, QR codes) point at the address given; with 0.0.0.0 at this "
        "machine's LAN address, so a phone on the same network can open the kiosk page."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "addrport",
            nargs="?",
            default=str(DEFAULT_PORT),
            help="Port, or address:port, as for runserver: 8001, 0.0.0.0:8000 (reachable from a phone), [::1]:8000.",
        )

    def handle(self, *args, addrport, **options):
        if not settings.DEBUG:
            raise CommandError("The demo runs with DEBUG=true (it uses the payment simulator and the dev server).")
        address = prepare(addrport)
        use_address(address)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("load_demo_data")
        url = address.base_url
        lines = [
            "",
            f"Payment gateway: {settings.PAYMENT_GATEWAY}",
            f"Kiosk:  {url}/kiosk/  (open this: buy a session, pay, upload photos, see the gallery)",
            f"Admin:  {url}/admin/",
            f"API:    {url}/api/v1/transactions  (see README: 'Try the pay flow')",
            f"Links in galleries, photos, emails and QR codes start with {url} ({address.base_url_origin}).",
        ]
        if address.everywhere and urlsplit(url).hostname != DEFAULT_ADDR:
            lines.append(
                f"From a phone on the same network: {url}/kiosk/ (if it does not load, allow port "
                f"{address.port} in this machine's firewall)."
            )
        self.stdout.write("\n".join(lines) + "\n")
        # No autoreloader: it would run this whole command twice.
        call_command("runserver", address.addrport, use_reloader=False)
