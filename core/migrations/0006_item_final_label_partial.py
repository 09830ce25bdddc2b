"""item_final_label becomes partial (final_label IS NOT NULL): imports of unlabeled items add no entry to it (issue 18)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0005_item_rank'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='item',
            name='item_final_label',
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(condition=models.Q(('final_label__isnull', False)), fields=['project', 'final_label'], name='item_final_label'),
        ),
    ]
