"""The queue order and the pre-label move from the wide item row to a narrow table, labeling_itemrank (issue 18).

Triggers on labeling_item keep it whole, whichever path writes items: an item's insert creates its rank row
(priority a random draw in [0, 1), so items are served in random order before the first model; open as
the item is), and a change of annotation_count, needed or excluded that opens or closes the item sets
is_open. On PostgreSQL they are ENABLE ALWAYS, so they also fire under ``session_replication_role =
replica`` (the bulk imports' quorum.lib.pg.row_checks_off), and the insert trigger is per statement, over
the statement's new rows (a transition table): one INSERT ... SELECT for a COPY of 100,000 items.

On SQLite, a migration that rebuilds labeling_item (most AlterField / RemoveField) drops its triggers:
such a migration must run CREATE_TRIGGERS["sqlite"] again (tests/core/test_item_rank.py checks they exist).
"""
import django.db.models.deletion
from django.db import migrations, models

COPY_ROWS = """
INSERT INTO labeling_itemrank (item_id, project_id, priority, is_open, predicted_label_id, predicted_confidence)
SELECT id, project_id, priority, annotation_count < needed AND NOT excluded, predicted_label_id, predicted_confidence
FROM labeling_item
"""

OPEN = "({row}.annotation_count < {row}.needed AND NOT {row}.excluded)"

CREATE_TRIGGERS = {
    "postgresql": [
        """CREATE FUNCTION item_rank_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO labeling_itemrank (item_id, project_id, priority, is_open)
  SELECT id, project_id, random(), annotation_count < needed AND NOT excluded FROM new_items;
  RETURN NULL;
END $$""",
        """CREATE TRIGGER item_rank_insert AFTER INSERT ON labeling_item REFERENCING NEW TABLE AS new_items
FOR EACH STATEMENT EXECUTE FUNCTION item_rank_insert()""",
        "ALTER TABLE labeling_item ENABLE ALWAYS TRIGGER item_rank_insert",
        f"""CREATE FUNCTION item_rank_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE labeling_itemrank SET is_open = {OPEN.format(row="NEW")} WHERE item_id = NEW.id;
  RETURN NULL;
END $$""",
        f"""CREATE TRIGGER item_rank_open AFTER UPDATE OF annotation_count, needed, excluded ON labeling_item
FOR EACH ROW WHEN ({OPEN.format(row="OLD")} IS DISTINCT FROM {OPEN.format(row="NEW")})
EXECUTE FUNCTION item_rank_open()""",
        "ALTER TABLE labeling_item ENABLE ALWAYS TRIGGER item_rank_open",
    ],
    "sqlite": [
        # random() is a signed 64-bit integer: scaled to [0, 1).
        f"""CREATE TRIGGER item_rank_insert AFTER INSERT ON labeling_item FOR EACH ROW BEGIN
  INSERT INTO labeling_itemrank (item_id, project_id, priority, is_open)
  VALUES (NEW.id, NEW.project_id, (random() / 18446744073709551616.0) + 0.5, {OPEN.format(row="NEW")});
END""",
        f"""CREATE TRIGGER item_rank_open AFTER UPDATE OF annotation_count, needed, excluded ON labeling_item
FOR EACH ROW WHEN {OPEN.format(row="OLD")} IS NOT {OPEN.format(row="NEW")} BEGIN
  UPDATE labeling_itemrank SET is_open = {OPEN.format(row="NEW")} WHERE item_id = NEW.id;
END""",
    ],
}
DROP_TRIGGERS = {
    "postgresql": ["DROP TRIGGER IF EXISTS item_rank_insert ON labeling_item",
                   "DROP TRIGGER IF EXISTS item_rank_open ON labeling_item",
                   "DROP FUNCTION IF EXISTS item_rank_insert()", "DROP FUNCTION IF EXISTS item_rank_open()"],
    "sqlite": ["DROP TRIGGER IF EXISTS item_rank_insert", "DROP TRIGGER IF EXISTS item_rank_open"],
}
COPY_BACK = """
UPDATE labeling_item SET priority = r.priority, predicted_label_id = r.predicted_label_id,
  predicted_confidence = r.predicted_confidence
FROM labeling_itemrank r WHERE r.item_id = labeling_item.id
"""


def _run(statements: dict):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0004_labelevent_undoes_unique_where_set'),
    ]

    operations = [
        migrations.CreateModel(
            name='ItemRank',
            fields=[
                ('item', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='rank', serialize=False, to='core.item')),
                ('priority', models.FloatField(default=0.0, help_text='Queue order: higher is served first.')),
                ('is_open', models.BooleanField(default=True, help_text='Waiting for annotators (kept by database triggers).')),
                ('predicted_confidence', models.FloatField(blank=True, null=True)),
                ('predicted_label', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.label')),
                ('project', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.project')),
            ],
            options={
                'db_table': 'labeling_itemrank',
            },
        ),
        # UPDATE ... FROM is PostgreSQL's and SQLite's (3.33+) both; back: the values return to the item row.
        migrations.RunSQL(COPY_ROWS, COPY_BACK),
        migrations.AddIndex(
            model_name='itemrank',
            index=models.Index(models.F('project'), models.OrderBy(models.F('priority'), descending=True), models.F('item'), condition=models.Q(('is_open', True)), name='rank_queue'),
        ),
        migrations.AddIndex(
            model_name='itemrank',
            index=models.Index(condition=models.Q(('predicted_label__isnull', False)), fields=['predicted_label'], name='rank_predicted_label_used'),
        ),
        migrations.RemoveIndex(
            model_name='item',
            name='item_queue',
        ),
        migrations.RemoveIndex(
            model_name='item',
            name='item_predicted_label_used',
        ),
        migrations.RemoveField(
            model_name='item',
            name='predicted_confidence',
        ),
        migrations.RemoveField(
            model_name='item',
            name='predicted_label',
        ),
        migrations.RemoveField(
            model_name='item',
            name='priority',
        ),
        migrations.RunPython(_run(CREATE_TRIGGERS), _run(DROP_TRIGGERS)),
    ]
