"""Drop item and label-event indexes that bulk imports paid for and no query needs (issue #7).

The single-column FK indexes go by name only: dropping them through AlterField would also drop and
re-validate the foreign keys, a full scan of a large table. Label lookups keep partial indexes.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _drop_index(name: str, table: str, column: str) -> migrations.RunSQL:
    return migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"', reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")')


class Migration(migrations.Migration):

    dependencies = [
        ('labeling', '0007_auto_accept'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.AlterField(
                model_name='item',
                name='final_label',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='labeling.label'),
            ),
            migrations.AlterField(
                model_name='item',
                name='given_label',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='labeling.label'),
            ),
            migrations.AlterField(
                model_name='item',
                name='gold_label',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='labeling.label'),
            ),
            migrations.AlterField(
                model_name='item',
                name='predicted_label',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='labeling.label'),
            ),
            migrations.AlterField(
                model_name='item',
                name='project',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='items', to='labeling.project'),
            ),
            migrations.AlterField(
                model_name='item',
                name='updated_at',
                field=models.DateTimeField(auto_now=True),
            ),
            migrations.AlterField(
                model_name='labelevent',
                name='actor',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
            ),
            migrations.AlterField(
                model_name='labelevent',
                name='from_label',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='labeling.label'),
            ),
            migrations.AlterField(
                model_name='labelevent',
                name='item',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='labeling.item'),
            ),
            ],
            database_operations=[
                _drop_index("labeling_item_final_label_id_5f0b54d9", "labeling_item", "final_label_id"),
                _drop_index("labeling_item_given_label_id_a0490adc", "labeling_item", "given_label_id"),
                _drop_index("labeling_item_gold_label_id_52b0a5f3", "labeling_item", "gold_label_id"),
                _drop_index("labeling_item_predicted_label_id_1dc8ef28", "labeling_item", "predicted_label_id"),
                _drop_index("labeling_item_project_id_79d60f44", "labeling_item", "project_id"),
                _drop_index("labeling_item_updated_at_fbf8c8e0", "labeling_item", "updated_at"),
                _drop_index("labeling_labelevent_actor_id_cba00e99", "labeling_labelevent", "actor_id"),
                _drop_index("labeling_labelevent_from_label_id_31b162bf", "labeling_labelevent", "from_label_id"),
                _drop_index("labeling_labelevent_item_id_10be401f", "labeling_labelevent", "item_id"),
            ],
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(condition=models.Q(('given_label__isnull', False)), fields=['given_label'], name='item_given_label_used'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(condition=models.Q(('final_label__isnull', False)), fields=['final_label'], name='item_final_label_used'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(condition=models.Q(('predicted_label__isnull', False)), fields=['predicted_label'], name='item_predicted_label_used'),
        ),
        migrations.AddIndex(
            model_name='item',
            index=models.Index(condition=models.Q(('gold_label__isnull', False)), fields=['gold_label'], name='item_gold_label_used'),
        ),
        migrations.AddIndex(
            model_name='labelevent',
            index=models.Index(condition=models.Q(('actor__isnull', False)), fields=['actor', 'created_at'], name='labelevent_actor'),
        ),
        migrations.AddIndex(
            model_name='labelevent',
            index=models.Index(condition=models.Q(('from_label__isnull', False)), fields=['from_label'], name='labelevent_from_label'),
        ),
    ]
