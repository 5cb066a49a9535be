"""System checks (`manage.py check`, and `check --deploy` in production) for kiosk access."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

from locations.auth import kiosk_key_required


@register(Tags.security)
def kiosk_auth_required(app_configs, **kwargs):
    """photobox.W001: with DEBUG off, kiosk endpoints should need a kiosk key (KIOSK_AUTH=optional is
    only ever chosen explicitly there: `required` is the default)."""
    if settings.DEBUG or kiosk_key_required():
        return []
    return [
        Warning(
            "KIOSK_AUTH is not 'required': a sale number alone (printed on the invoice, sent to Xendit) is enough to "
            "read that sale's photos and to upload photos into it, which its customer is then emailed; anyone who "
            "finds the API can also create sales (filling price quotas and using up the payment gateway's rate "
            "limit).",
            hint="Give every kiosk a key (admin: Locations > a location > Generate kiosk key), then set "
            "KIOSK_AUTH=required, or leave it empty: required is the default with DEBUG off.",
            id="photobox.W001",
        )
    ]


@register(Tags.security)
def proxy_count_behind_a_proxy(app_configs, **kwargs):
    """photobox.W002: a proxy sets X-Forwarded-Proto, yet no proxy is trusted for X-Forwarded-For."""
    if settings.DEBUG or not settings.SECURE_PROXY_SSL_HEADER or getattr(settings, "TRUSTED_PROXY_COUNT", 0):
        return []
    return [
        Warning(
            "SECURE_PROXY_SSL_HEADER says a reverse proxy is in front, but TRUSTED_PROXY_COUNT is 0: every client "
            "looks like the proxy's address, so the rate limits and the admin lockout would hit all clients at once.",
            hint="Set TRUSTED_PROXY_COUNT to the number of proxies that append to X-Forwarded-For (nginx alone: 1).",
            id="photobox.W002",
        )
    ]
