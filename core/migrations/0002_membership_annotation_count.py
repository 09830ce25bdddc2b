"""Each membership counts its member's annotations in force in the project (the labeling screen's "done")."""
from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_annotations(apps, schema_editor):
    """One UPDATE: every membership gets its member's first (not superseding) annotations in its project."""
    Annotation = apps.get_model("core", "Annotation")
    Membership = apps.get_model("core", "Membership")
    given = (Annotation.objects.filter(project_id=OuterRef("project_id"), annotator_id=OuterRef("user_id"),
                                       supersedes__isnull=True)
             .order_by().values("annotator_id").annotate(n=Count("id")).values("n"))
    Membership.objects.using(schema_editor.connection.alias).update(annotation_count=Coalesce(Subquery(given), 0))


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='membership',
            name='annotation_count',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_annotations, migrations.RunPython.noop, elidable=True),
    ]
