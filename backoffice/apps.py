from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The staff screens (Django's admin) for every app. It sits above the apps: it may import any
    of them, and none imports it, so the apps' own dependencies stay one-way."""

    name = "backoffice"
    verbose_name = "Staff screens"
