"""An event is undone at most once: unique where undoes is set, not a unique index holding every import event's NULL
(issue 18). Queries by undoes_id (undone_by, the PROTECT check on delete) name a value, so the partial index serves them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_item_content_hash_bytes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='labelevent',
            name='undoes',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='undone_by', to='core.labelevent'),
        ),
        migrations.AddConstraint(
            model_name='labelevent',
            constraint=models.UniqueConstraint(condition=models.Q(('undoes__isnull', False)), fields=('undoes',), name='labelevent_undoes_once'),
        ),
    ]
