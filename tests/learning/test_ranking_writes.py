"""How a ranking chunk writes on PostgreSQL: only the items whose values change, its keys checked once per chunk,
its database time reported; and the lookups of predictions keep an index without the single-column ones."""

import psycopg
import pytest
from django.db import connection

from core.models import Item, ItemRank
from learning import ranking
from learning.models import ModelVersion, Prediction
from tests.learning.ranked import ranked_version

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.pg_only,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL writes and plans")]


def _ranked(project, settings) -> ModelVersion:
    return ranked_version(project, settings, items=160, wrong=4, unlabeled=60, chunk=40)


def _row_versions(project) -> dict[int, str]:
    """Each item's xmin and its rank row's: one changes whenever that row is written, even with the values it had."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT i.id, i.xmin::text || '/' || r.xmin::text FROM labeling_item i "
                       "JOIN labeling_itemrank r ON r.item_id = i.id WHERE i.project_id = %s", [project.pk])
        return dict(cursor.fetchall())


def _other_connection():
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"],
                           dbname=s["NAME"], autocommit=True)


def test_a_chunk_ranked_again_writes_no_item_whose_values_it_already_has(image_project, settings):
    version = _ranked(image_project, settings)
    before = _row_versions(image_project)
    lo, hi = ranking.plan(version)[1]
    changed = ItemRank.objects.filter(pk__gte=lo, pk__lte=hi, item__needed__gt=0, priority__lt=1).order_by("pk").first()
    ItemRank.objects.filter(pk=changed.pk).update(priority=0.5)  # one item that the chunk must put back
    # The merge moved the head batch to priority >= 1; the chunk alone gives them their chunk priority again.
    head = set(ItemRank.objects.filter(pk__gte=lo, pk__lte=hi, priority__gte=1).values_list("pk", flat=True))
    before = _row_versions(image_project)

    result = ranking.rank_chunk(version, lo, hi)

    after = _row_versions(image_project)
    assert {i for i in before if after[i] != before[i]} == {changed.pk} | head
    assert len(before) == 160 and len(head) < 20
    assert ItemRank.objects.get(pk=changed.pk).priority == changed.priority
    assert result["db_seconds"] > 0


def test_the_chunk_locks_the_labels_its_pre_labels_point_at_while_it_writes(image_project, settings, monkeypatch):
    version = _ranked(image_project, settings)
    ItemRank.objects.filter(project=image_project).update(predicted_label=None, priority=0.0)
    label = image_project.labels.order_by("pk").first()
    write, seen = ranking._update_items_pg, []

    def checked(cursor, ids, values):
        with _other_connection() as other, pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("SELECT 1 FROM labeling_label WHERE id = %s FOR UPDATE NOWAIT", [label.pk])
        seen.append(len(ids))
        return write(cursor, ids, values)

    monkeypatch.setattr(ranking, "_update_items_pg", checked)
    lo, hi = ranking.plan(version)[0]
    ranking.rank_chunk(version, lo, hi)
    assert seen == [Item.objects.filter(pk__gte=lo, pk__lte=hi).count()]
    assert not ItemRank.objects.filter(pk__gte=lo, pk__lte=hi, predicted_label__isnull=True).exists()
    with connection.cursor() as cursor:  # every key written with the per-row checks skipped holds
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"
        cursor.execute("SELECT COUNT(*) FROM labeling_prediction p LEFT JOIN labeling_item i ON i.id = p.item_id "
                       "LEFT JOIN labeling_itemrank r ON r.item_id = i.id "
                       "LEFT JOIN labeling_label l ON l.id = r.predicted_label_id "
                       "WHERE i.id IS NULL OR (r.predicted_label_id IS NOT NULL AND l.id IS NULL)")
        assert cursor.fetchone()[0] == 0


def test_the_job_reports_the_chunks_database_time():
    results = [{"db_seconds": 0.5}, {"db_seconds": 1.5}, {"db_seconds": 1.0}]
    assert ranking.chunk_db_seconds(results) == {"chunks": 3, "mean": 1.0, "max": 1.5, "total": 3.0}


def test_predictions_by_item_and_by_version_still_use_an_index(image_project, settings):
    version = _ranked(image_project, settings)
    item = Item.objects.filter(project=image_project).first()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    try:
        assert "prediction_latest" in Prediction.objects.filter(item=item).explain()
        assert "prediction_unique" in Prediction.objects.filter(model_version=version).explain()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = on")


def _chunk_state(lo, hi) -> tuple[dict, dict]:
    """The chunk's items' written columns, and its predictions' row ids by item."""
    items = {i.pk: (i.rank.priority, i.rank.predicted_label_id, i.rank.predicted_confidence, i.label_quality)
             for i in Item.objects.filter(pk__gte=lo, pk__lte=hi).select_related("rank")}
    return items, dict(Prediction.objects.filter(item_id__gte=lo, item_id__lte=hi).values_list("item_id", "pk"))


def test_items_a_chunk_does_not_write_are_still_locked_against_deletion_and_its_commit_does_not_wait(
        image_project, settings, monkeypatch):
    version = _ranked(image_project, settings)
    lo, hi = ranking.plan(version)[1]
    head = set(ItemRank.objects.filter(pk__gte=lo, pk__lte=hi, priority__gte=1).values_list("pk", flat=True))
    unwritten = ItemRank.objects.filter(pk__gte=lo, pk__lte=hi, priority__lt=1).order_by("pk").first()
    store, seen = ranking._store_predictions, []

    def checked(cursor, version, out, present):
        cursor.execute("SHOW synchronous_commit")
        seen.append((cursor.fetchone()[0], len(present)))
        with _other_connection() as other, pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("SELECT 1 FROM labeling_item WHERE id = %s FOR UPDATE NOWAIT", [unwritten.pk])
        return store(cursor, version, out, present)

    monkeypatch.setattr(ranking, "_store_predictions", checked)
    before = _row_versions(image_project)
    ranking.rank_chunk(version, lo, hi)  # ranked already: only the merge's head batch is written again
    after = _row_versions(image_project)
    assert {i for i in before if after[i] != before[i]} == head and len(head) < 20
    assert seen == [("off", Item.objects.filter(pk__gte=lo, pk__lte=hi).count())]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


def test_a_twin_run_that_stored_the_predictions_first_leaves_the_chunk_to_store_only_the_missing_ones(
        image_project, settings, monkeypatch):
    version = _ranked(image_project, settings)
    lo, hi = ranking.plan(version)[1]
    ranking.rank_chunk(version, lo, hi)  # the merge's head batch back to its chunk priority
    items, stored = _chunk_state(lo, hi)
    gone = sorted(stored)[::3]
    Prediction.objects.filter(model_version=version, item_id__in=gone).delete()
    moved = sorted(items)[1]
    ItemRank.objects.filter(pk=moved).update(priority=0.123)
    # As if the twin committed its predictions between this chunk's look and its COPY: the COPY collides.
    monkeypatch.setattr(ranking, "STORED_SQL", ranking.STORED_SQL.replace("WHERE", "WHERE false AND"))

    ranking.rank_chunk(version, lo, hi)

    items_after, stored_after = _chunk_state(lo, hi)
    assert items_after == items  # the item writes before the COPY stay: only the COPY was rolled back
    assert set(stored_after) == set(stored)
    assert {i: stored_after[i] for i in stored if i not in gone} == {i: stored[i] for i in stored if i not in gone}


def test_a_chunk_with_some_items_deleted_since_training_ranks_and_stores_the_others(image_project, settings):
    version = _ranked(image_project, settings)
    lo, hi = ranking.plan(version)[2]
    ids = list(Item.objects.filter(pk__gte=lo, pk__lte=hi).order_by("pk").values_list("pk", flat=True))
    Prediction.objects.filter(model_version=version, item_id__gte=lo, item_id__lte=hi).delete()
    Item.objects.filter(pk__in=ids[::4]).delete()
    ItemRank.objects.filter(pk__in=ids).update(priority=0.0, predicted_label=None)

    result = ranking.rank_chunk(version, lo, hi)

    kept = [i for i in ids if i not in ids[::4]]
    assert result["items"] == len(kept)
    assert sorted(Prediction.objects.filter(model_version=version, item_id__gte=lo, item_id__lte=hi)
                  .values_list("item_id", flat=True)) == kept
    assert not ItemRank.objects.filter(pk__in=kept, predicted_label__isnull=True).exists()


def test_an_item_deleted_while_the_chunk_writes_gets_no_prediction(image_project, settings, monkeypatch):
    version = _ranked(image_project, settings)
    lo, hi = ranking.plan(version)[1]
    ranking.rank_chunk(version, lo, hi)  # the merge's head batch back to its chunk priority: nothing left to write
    Prediction.objects.filter(model_version=version, item_id__gte=lo, item_id__lte=hi).delete()
    victim = Item.objects.filter(pk__gte=lo, pk__lte=hi, final_label__isnull=True).order_by("pk").first()
    write = ranking._update_items_pg

    def deleted_meanwhile(cursor, ids, values):
        written = write(cursor, ids, values)
        assert victim.pk in ids and victim.pk not in written
        with _other_connection() as other:  # not locked yet: the delete goes through
            other.execute("DELETE FROM labeling_prediction WHERE item_id = %s", [victim.pk])
            other.execute("DELETE FROM labeling_itemrank WHERE item_id = %s", [victim.pk])
            other.execute("DELETE FROM labeling_item WHERE id = %s", [victim.pk])
        return written

    monkeypatch.setattr(ranking, "_update_items_pg", deleted_meanwhile)
    ranking.rank_chunk(version, lo, hi)

    stored = set(Prediction.objects.filter(model_version=version).values_list("item_id", flat=True))
    others = set(Item.objects.filter(pk__gte=lo, pk__lte=hi).values_list("pk", flat=True))
    assert victim.pk not in stored and others <= stored and others
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM labeling_prediction p LEFT JOIN labeling_item i ON i.id = p.item_id "
                       "WHERE i.id IS NULL")
        assert cursor.fetchone()[0] == 0
