import logging

from django.apps import AppConfig

from core.env import characters, help_only

logger = logging.getLogger("photobox.startup")


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Once per process (each gunicorn worker, each manage.py command), with DEBUG off only.
        for warning in start_up_warnings():
            logger.warning(warning)


def start_up_warnings_wanted() -> bool:
    """A process with DEBUG off says once as it starts which choices leave it weaker than the
    defaults, made on purpose (each app's ready() says its own). Nothing for the demo or for help."""
    from django.conf import settings

    return not settings.DEBUG and not help_only()


def start_up_warnings() -> list[str]:
    """Core's own start-up warnings (see start_up_warnings_wanted)."""
    from django.conf import settings

    if not start_up_warnings_wanted():
        return []
    warnings = []
    if settings.ENCRYPTION_ENABLED and settings.ENCRYPTION_MODE == "cbc" and settings.ENCRYPTION_LEGACY_KEY_PADDING:
        warnings.append(
            f"ENCRYPTION_LEGACY_KEY_PADDING=true: ENCRYPTION_KEY ({characters(settings.ENCRYPTION_KEY)}) and "
            f"ENCRYPTION_IV ({characters(settings.ENCRYPTION_IV)}) are truncated or padded with '0' to 32 and 16, "
            "as kiosks built for the earlier service expect. Give new kiosks exact values, or ENCRYPTION_MODE=gcm."
        )
    return warnings
