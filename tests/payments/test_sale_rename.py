"""The sale model was called Transaction: staff's bookmarks and granted permissions survive the rename."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db
def test_an_old_sales_bookmark_leads_to_the_same_screen(admin_client, make_sale):
    sale = make_sale()

    listing = admin_client.get("/admin/payments/transaction/?status__exact=PENDING")
    page = admin_client.get(f"/admin/payments/transaction/{sale.pk}/change/")

    assert (listing.status_code, listing["Location"]) == (301, "/admin/payments/sale/?status__exact=PENDING")
    assert (page.status_code, page["Location"]) == (301, f"/admin/payments/sale/{sale.pk}/change/")
    assert admin_client.get(page["Location"]).status_code == 200


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_group_allowed_to_view_transactions_may_view_sales_after_the_rename():
    executor = MigrationExecutor(connection)
    executor.migrate([("payments", "0008_database_defaults")])
    try:
        group = Group.objects.create(name="Auditors")
        # Migrating back renamed the permission too: the database is as it was before the rename.
        group.permissions.add(Permission.objects.get(content_type__app_label="payments", codename="view_transaction"))
    finally:
        call_command("migrate", verbosity=0)

    assert list(group.permissions.values_list("codename", flat=True)) == ["view_sale"]
    assert not Permission.objects.filter(codename__endswith="_transaction").exists()
