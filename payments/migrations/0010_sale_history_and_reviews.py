"""A sale's history and its review reasons become rows (filled from what is known in 0011)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0009_sale'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SaleHistory',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('from_status', models.CharField(blank=True, choices=[('PENDING', 'Awaiting payment'), ('COMPLETED', 'Paid'), ('FAILED', 'Failed'), ('EXPIRED', 'Expired'), ('REFUNDED', 'Refunded'), ('CANCELLED', 'Cancelled at the kiosk')], max_length=10)),
                ('to_status', models.CharField(choices=[('PENDING', 'Awaiting payment'), ('COMPLETED', 'Paid'), ('FAILED', 'Failed'), ('EXPIRED', 'Expired'), ('REFUNDED', 'Refunded'), ('CANCELLED', 'Cancelled at the kiosk')], max_length=10)),
                ('cause', models.CharField(choices=[('kiosk', 'The kiosk started it'), ('kiosk_poll', 'The kiosk asked after its expiry'), ('kiosk_cancel', 'The kiosk cancelled it'), ('gateway_error', 'The payment gateway could not make its QR code'), ('expire_sales', 'expire_sales (cron)'), ('webhook', 'Xendit webhook'), ('reconciliation', 'Checked with Xendit'), ('simulator', 'Simulator'), ('refund', 'Refund'), ('earlier', 'Recorded before the history was kept')], max_length=20)),
                ('actor_text', models.CharField(blank=True, help_text='Who or what, when no staff user did.', max_length=200)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('event', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='sale_history', to='payments.paymentevent')),
                ('sale', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='history', to='payments.sale')),
            ],
            options={
                'verbose_name_plural': 'sale history',
                'ordering': ['at', 'pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(('cause__in', ['kiosk', 'kiosk_poll', 'kiosk_cancel', 'gateway_error', 'expire_sales', 'webhook', 'reconciliation', 'simulator', 'refund', 'earlier'])), name='sale_history_cause_valid')],
            },
        ),
        migrations.CreateModel(
            name='SaleReview',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.TextField()),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('event', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='sale_reviews', to='payments.paymentevent')),
                ('resolution', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reviews', to='payments.reviewnote')),
                ('sale', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reviews', to='payments.sale')),
            ],
            options={
                'ordering': ['at', 'pk'],
                'indexes': [models.Index(condition=models.Q(('resolution__isnull', True)), fields=['sale'], name='review_open_idx')],
            },
        ),
    ]
