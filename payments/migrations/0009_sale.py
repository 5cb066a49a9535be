"""The model Transaction is now Sale (beside django.db.transaction it read as the wrong thing), and
every foreign key to it is named `sale`. The table keeps its name, so nothing is copied: the table
name is pinned first, which makes the model rename a change of the migration state only."""

from django.db import migrations

ACTIONS = ("add", "change", "delete", "view")


def rename_permissions(apps, schema_editor, old="transaction", new="sale"):
    """Django renames the content type with the model but not its permissions' codenames: without
    this, groups and users holding "view_transaction" would lose the sales screens."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    # Forwards the content type is already renamed; backwards it is renamed after this runs.
    content_type = ContentType.objects.filter(app_label="payments", model__in=[old, new]).first()
    if content_type is None:  # a fresh database: post_migrate creates the new permissions
        return
    for action in ACTIONS:
        stale = Permission.objects.filter(content_type=content_type, codename=f"{action}_{old}").first()
        if stale is None:
            continue
        current = Permission.objects.filter(content_type=content_type, codename=f"{action}_{new}").first()
        if current is None:
            stale.codename, stale.name = f"{action}_{new}", f"Can {action} {new}"
            stale.save(update_fields=["codename", "name"])
            continue
        for group in stale.group_set.all():
            group.permissions.add(current)
        for user in stale.user_set.all():
            user.user_permissions.add(current)
        stale.delete()


def restore_permissions(apps, schema_editor):
    rename_permissions(apps, schema_editor, old="sale", new="transaction")


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0003_database_defaults"),
        ("payments", "0008_database_defaults"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelTable(name="transaction", table="payments_transaction"),
        migrations.RenameModel(old_name="Transaction", new_name="Sale"),
        migrations.RenameField(model_name="idempotencykey", old_name="transaction", new_name="sale"),
        migrations.RenameField(model_name="paymentevent", old_name="transaction", new_name="sale"),
        migrations.RunPython(rename_permissions, restore_permissions),
    ]
