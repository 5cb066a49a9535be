"""Kiosk operators look after the booths: they see the machines' incidents (the fleet board links
to them) as they see the machines."""

from django.db import migrations

GROUP = "Kiosk operator"


def allow(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # On a fresh database permissions are created after all migrations (post_migrate): make them now.
    app_config = apps.get_app_config("locations")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        Permission = apps.get_model("auth", "Permission")
        group.permissions.add(Permission.objects.get(content_type__app_label="locations", codename="view_machineincident"))


def disallow(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(*group.permissions.filter(codename="view_machineincident"))


class Migration(migrations.Migration):
    dependencies = [
        ("locations", "0005_incident_alerted"),
        ("payments", "0004_kiosk_operator_group"),
    ]

    operations = [migrations.RunPython(allow, disallow)]
