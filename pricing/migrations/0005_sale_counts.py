from django.db import migrations, models
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

# As pricing.selectors names them then: the statuses holding quota, and the paid one.
HOLDING_QUOTA = ("COMPLETED", "PENDING")
SOLD = "COMPLETED"


def count_sales(apps, schema_editor):
    """Every price's counters from its sales, counted in full (one UPDATE). Run while no sale is
    made (a deploy's migrate); `manage.py check_quotas --fix` repairs them under the lock anyway."""
    Price = apps.get_model("pricing", "Price")
    Sale = apps.get_model("payments", "Sale")

    def counted(condition):
        sales = Sale.objects.filter(condition, price=OuterRef("pk")).order_by().values("price")
        return Coalesce(Subquery(sales.annotate(count=Count("pk")).values("count"), output_field=IntegerField()), 0)

    Price.objects.update(
        quota_used=counted(Q(status__in=HOLDING_QUOTA)),
        paid_sales=counted(Q(status=SOLD)),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("pricing", "0004_merge_price_locations_and_vouchers"),
        ("payments", "0013_vouchers"),
    ]

    operations = [
        migrations.AddField(
            model_name="price",
            name="paid_sales",
            field=models.PositiveIntegerField(db_default=0, default=0, editable=False, verbose_name="paid sales"),
        ),
        migrations.AddField(
            model_name="price",
            name="quota_used",
            field=models.PositiveIntegerField(db_default=0, default=0, editable=False, verbose_name="quota used"),
        ),
        # Going back drops the columns: nothing to undo.
        migrations.RunPython(count_sales, migrations.RunPython.noop),
    ]
