import logging

from django.apps import AppConfig

logger = logging.getLogger("photobox.startup")

KIOSK_AUTH_WARNING = (
    "KIOSK_AUTH=optional: kiosks without a key are served, so a sale number alone (printed on the invoice, "
    "sent to Xendit) reads that sale's photos and uploads into it. Give every kiosk its key, then drop "
    "KIOSK_AUTH=optional: required is the default with DEBUG off."
)


class LocationsConfig(AppConfig):
    name = "locations"
    verbose_name = "Locations"

    def ready(self) -> None:
        from core.apps import start_up_warnings_wanted
        from locations import checks  # noqa: F401 - registers the system checks
        from locations.auth import kiosk_key_required

        # Once per process (each gunicorn worker, each manage.py command), with DEBUG off only.
        if start_up_warnings_wanted() and not kiosk_key_required():
            logger.warning(KIOSK_AUTH_WARNING)
