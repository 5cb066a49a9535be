"""The review reasons live in SaleReview rows now (moved there by 0011)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0011_fill_sale_history_and_reviews"),
    ]

    operations = [
        migrations.RemoveField(model_name="sale", name="review_reason"),
    ]
