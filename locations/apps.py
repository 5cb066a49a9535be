from django.apps import AppConfig


class LocationsConfig(AppConfig):
    name = "locations"
    verbose_name = "Locations"

    def ready(self) -> None:
        from locations import checks  # noqa: F401 - registers the system checks
