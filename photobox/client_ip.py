"""Who is asking: the client's IP address, as far as this service can trust it.

With TRUSTED_PROXY_COUNT=0 (no proxy in front) it is the connection's address, REMOTE_ADDR.
Behind N proxies that each append the address they received the request from to
X-Forwarded-For (nginx: `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`), it is
the Nth address from the right: the one the outermost trusted proxy saw. Whatever a client writes
into X-Forwarded-For itself stays to the left of that and is never read, so a forged header
cannot make a client look like someone else (and so cannot reset a rate limit or an admin
lockout). This is DRF's NUM_PROXIES rule (REST_FRAMEWORK["NUM_PROXIES"] is set from the same
setting); the rate limits, the admin lockout (django-axes) and the webhook's stored events use
this one function.
"""

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
