"""The "Kiosk operator" group: sees sales, payments, photos, emails, machines and prices, may resend
a customer's email and ask Xendit whether a sale was paid; changes nothing else."""

from django.db import migrations

GROUP = "Kiosk operator"
PERMISSIONS = [
    ("locations", "view_location"),
    ("pricing", "view_price"),
    ("payments", "view_transaction"),
    ("payments", "view_paymentevent"),
    ("payments", "view_reviewnote"),
    ("payments", "resend_customer_email"),
    ("payments", "check_payment"),
    ("gallery", "view_photo"),
    ("gallery", "view_emailoutbox"),
]


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran (post_migrate); on a fresh
    # database they do not exist yet, so create them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, codename in PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("locations", "0001_initial"),
        ("pricing", "0001_initial"),
        ("gallery", "0001_initial"),
        ("payments", "0003_admin_reviews_and_indexes"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
