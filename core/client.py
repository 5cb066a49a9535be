"""Who is asking: the client's IP address, as far as this service can trust it.

With TRUSTED_PROXY_COUNT=0 (no proxy in front) it is the connection's address, REMOTE_ADDR.
Behind N proxies that each append the address they received the request from to
X-Forwarded-For (nginx: `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`), it is
the Nth address from the right: the one the outermost trusted proxy saw. Whatever a client writes
into X-Forwarded-For itself stays to the left of that and is never read, so a forged header
cannot make a client look like someone else (and so cannot reset a rate limit or an admin
lockout). This is DRF's NUM_PROXIES rule (REST_FRAMEWORK["NUM_PROXIES"] is set from the same
setting); the webhook's stored events and the logs use this one function, and the rate limits and
the admin lockout (django-axes) count by `client_network`, which groups an IPv6 client's network.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    address = address.strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the Nth X-Forwarded-For entry from the right ("" if
    neither is an IP address, e.g. gunicorn on a unix socket without a proxy count)."""
    meta = getattr(request, "META", {})
    remote_addr = meta.get("REMOTE_ADDR") or ""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [a for a in forwarded.split(",") if a.strip()]
        if addresses:
            # Fewer entries than proxies means a proxy was bypassed or misconfigured; the leftmost
            # one is then the best guess (DRF does the same).
            chosen = _valid(addresses[-min(proxies, len(addresses))])
            if chosen is not None:
                return chosen
    return _valid(remote_addr) or ""


def client_network(request: HttpRequest) -> str:
    """Whom rate limits and the admin lockout count: an IPv4 client by its address, an IPv6 client
    by its network (RATE_LIMIT_IPV6_PREFIX, default /64), written as the network's first address.

    One IPv6 subscriber gets a whole /64 (or more) and may use any address in it: counted by
    address, a client would get a fresh limit with every request. The first address of the
    network is still an address, so it fits where addresses are stored (django-axes).
    """
    address = client_ip(request)
    if ":" not in address:
        return address
    prefix = getattr(settings, "RATE_LIMIT_IPV6_PREFIX", 64)
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def header_token_matches(provided: str, expected: str) -> bool:
    """A token from a request header against a configured secret, in constant time; never true
    when no secret is configured. WSGI hands header values over as latin-1 text, so compare bytes."""
    return bool(expected) and hmac.compare_digest(provided.encode("latin-1", "replace"), expected.encode("utf-8"))
