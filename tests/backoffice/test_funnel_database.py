"""The funnel is counted by PostgreSQL; the SQLite demo shows the page with a note instead of an error."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_page_says_when_its_database_cannot_count_it(admin_client):
    page = admin_client.get(reverse("admin:payments_sale_funnel"))
    csv = admin_client.get(reverse("admin:payments_sale_funnel_csv", args=["funnel"]))

    assert page.status_code == 200
    on_postgresql = connection.vendor == "postgresql"
    assert ("The funnel is counted by PostgreSQL" in page.content.decode()) is not on_postgresql
    assert csv.status_code == (200 if on_postgresql else 302)


def test_the_summary_command_says_when_its_database_cannot_count_it(capsys):
    if connection.vendor == "postgresql":
        call_command("summarise_funnel")
        assert capsys.readouterr().out.startswith("nothing to summarise")  # no sales yet
    else:
        with pytest.raises(CommandError, match="The funnel is counted by PostgreSQL"):
            call_command("summarise_funnel")
