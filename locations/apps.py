import logging

from django.apps import AppConfig

logger = logging.getLogger("photobox.startup")


class LocationsConfig(AppConfig):
    name = "locations"
    verbose_name = "Locations"

    def ready(self) -> None:
        from locations import checks  # noqa: F401 - registers the system checks
        from photobox.startup import start_up_warnings

        # Once per process (each gunicorn worker, each manage.py command), with DEBUG off only.
        for warning in start_up_warnings():
            logger.warning(warning)
