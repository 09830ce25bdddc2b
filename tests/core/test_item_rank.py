"""Every item has one rank row (core.models.ItemRank), made and kept open or closed by database triggers whichever
path writes the item; the queue serves by it; deleting an item or its project deletes it."""
import hashlib
import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from core.models import Item, ItemRank, Project
from core.services import project_create
from labeling.adjudication import escalate_item, revert_escalation, set_item_marks
from labeling.queue import next_assignment, submit_annotation
from labeling.selectors import annotator_progress
from quorum.lib import pg
from tests.conftest import add_texts
from tests.data.import_paths import EVERY_PATH

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TEXTS = b"".join(b'{"text": "item %d"%s}\n' % (i, b', "label": "positive"' if i % 3 == 0 else b"") for i in range(30))


def _assert_each_item_has_its_rank(project) -> None:
    """One rank row per item of ``project``, in the project, open exactly when the item is, priority in [0, 1)."""
    items = {pk: (count < needed and not excluded) for pk, count, needed, excluded in
             Item.objects.filter(project=project).values_list("pk", "annotation_count", "needed", "excluded")}
    ranks = {pk: (is_open, priority) for pk, is_open, priority in
             ItemRank.objects.filter(project=project).values_list("pk", "is_open", "priority")}
    assert items and set(ranks) == set(items)
    assert {pk: is_open for pk, (is_open, _) in ranks.items()} == items
    assert all(0 <= priority < 1 for _, priority in ranks.values())
    assert ItemRank.objects.count() == Item.objects.count()  # none in another project, none left over


def _is_open(item) -> bool:
    return ItemRank.objects.get(pk=item.pk).is_open


def test_the_triggers_are_in_the_database():
    """A later migration that rebuilds labeling_item on SQLite drops its triggers: it must create them again."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'labeling_item'::regclass "
                           "AND tgname LIKE 'item_rank_%%'")
            assert dict(cursor.fetchall()) == {"item_rank_insert": "A", "item_rank_open": "A"}  # A: ENABLE ALWAYS
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'labeling_item'")
            assert {row[0] for row in cursor.fetchall()} == {"item_rank_insert", "item_rank_open"}


@EVERY_PATH
def test_every_import_path_gives_each_item_its_rank_row(run, text_project, tmp_path):
    result = run(text_project, "items.jsonl", TEXTS, tmp_path)
    assert result.created == 30
    _assert_each_item_has_its_rank(text_project)
    given = Item.objects.get(text="item 3")
    assert given.needed == 0 and not _is_open(given)  # a given label skips the queue
    assert _is_open(Item.objects.get(text="item 1"))


def test_items_made_by_the_orm_and_by_generate_items_have_their_rank_row(text_project):
    Item.objects.create(project=text_project, text="one", content_hash=hashlib.sha256(b"one").hexdigest())
    Item.objects.bulk_create([Item(project=text_project, text=f"bulk {n}", content_hash=hashlib.sha256(f"bulk {n}".encode()).hexdigest(), needed=n % 2)
                              for n in range(4)])
    call_command("generate_items", project=text_project.pk, count=25, stdout=io.StringIO())
    assert Item.objects.filter(project=text_project).count() == 30
    _assert_each_item_has_its_rank(text_project)
    assert not _is_open(Item.objects.get(text="bulk 0"))  # needed 0


def test_an_item_closes_and_reopens_in_the_queue_as_its_counts_and_marks_change(text_project, people):
    add_texts(text_project, ["only"])
    item = Item.objects.get()
    assert _is_open(item)
    assignment = next_assignment(project=text_project, annotator=people["alice"])
    submit_annotation(project=text_project, annotator=people["alice"], assignment_id=assignment.pk,
                      label_id=text_project.labels.first().pk)
    assert not _is_open(item)  # labelled: annotation_count reached needed
    escalate_item(item=item, k=2, actor=people["reviewer"])
    assert _is_open(item) and ItemRank.objects.get(pk=item.pk).priority >= 2
    revert_escalation(item=Item.objects.get(), k=2)
    assert not _is_open(item)
    escalate_item(item=item, k=1, actor=people["reviewer"])
    set_item_marks(item=Item.objects.get(), actor=people["reviewer"], reason="off topic", excluded=True)
    assert not _is_open(item)  # excluded items are not served
    set_item_marks(item=Item.objects.get(), actor=people["reviewer"], reason="on topic after all", excluded=False)
    assert _is_open(item)
    Item.objects.filter(pk=item.pk).update(needed=0)  # any path, even a plain update
    assert not _is_open(item)


def test_the_queue_serves_by_rank_and_counts_open_items_by_it(text_project, people):
    add_texts(text_project, ["low", "high", "middle"])
    for text, priority in (("low", 0.1), ("high", 0.9), ("middle", 0.5)):
        ItemRank.objects.filter(item__text=text).update(priority=priority)
    alice = people["alice"]
    assert annotator_progress(text_project, alice)["remaining"] == 3
    Item.objects.filter(text="high").update(excluded=True)
    assert annotator_progress(text_project, alice)["remaining"] == 2
    served = []
    while (a := next_assignment(project=text_project, annotator=alice)) is not None:
        assert a.item.rank.priority == ItemRank.objects.get(pk=a.item.pk).priority  # loaded with the item
        served.append(a.item.text)
        submit_annotation(project=text_project, annotator=alice, assignment_id=a.pk,
                          label_id=text_project.labels.first().pk)
    assert served == ["middle", "low"]
    assert annotator_progress(text_project, alice)["remaining"] == 0


def test_deleting_an_item_or_its_project_deletes_its_rank_rows(text_project, people):
    add_texts(text_project, ["a", "b", "c"])
    other = project_create(name="Other", kind=Project.Kind.TEXT, labels=["x", "y"], owner=people["manager"])
    add_texts(other, ["d"])
    Item.objects.get(text="a").delete()
    assert ItemRank.objects.filter(project=text_project).count() == 2
    text_project.delete()
    assert list(ItemRank.objects.values_list("item__text", flat=True)) == ["d"]


def test_deleting_a_label_clears_the_pre_labels_that_use_it(text_project):
    add_texts(text_project, ["a", "b"])
    positive, negative = (text_project.labels.get(name=n) for n in ("positive", "negative"))
    ItemRank.objects.filter(item__text="a").update(predicted_label=positive, predicted_confidence=0.8)
    ItemRank.objects.filter(item__text="b").update(predicted_label=negative, predicted_confidence=0.7)
    positive.delete()
    assert dict(ItemRank.objects.values_list("item__text", "predicted_label")) == {"a": None, "b": negative.pk}


@pytest.mark.pg_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="session_replication_role")
def test_the_triggers_fire_with_the_per_row_checks_off(text_project):
    """Imports and ranking chunks write with session_replication_role = replica (quorum.lib.pg.row_checks_off):
    ordinary triggers are skipped then, these are ENABLE ALWAYS."""
    with connection.cursor() as cursor:
        assert pg.may_skip_row_checks(cursor)  # so the imports above ran with the checks off too
        with transaction.atomic(), pg.row_checks_off(cursor, True):
            cursor.execute("INSERT INTO labeling_item (project_id, text, image, source_name, metadata, content_hash, "
                           "final_source, needed, annotation_count, is_gold, excluded, ambiguous, created_at, "
                           "updated_at) SELECT %s, 'raw ' || n, '', '', '{}', sha256(n::text::bytea), '', 1, 0, false, false, "
                           "false, now(), now() FROM generate_series(1, 3) n", [text_project.pk])
            cursor.execute("UPDATE labeling_item SET annotation_count = 1 WHERE text = 'raw 1'")
    _assert_each_item_has_its_rank(text_project)
    assert not _is_open(Item.objects.get(text="raw 1")) and _is_open(Item.objects.get(text="raw 2"))


@pytest.mark.pg_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans")
def test_the_queue_and_the_open_count_walk_the_rank_index(text_project, people):
    from labeling.queue import CANDIDATES_SQL
    from labeling.selectors import PROGRESS_SQL, progress_params

    add_texts(text_project, [f"text {n}" for n in range(50)])
    params = {"project": text_project.pk, "annotator": people["alice"].pk, "now": "2026-01-01T00:00:00Z", "limit": 5}
    with connection.cursor() as cursor:
        # Tiny tables: make the planner show the index that gives the order (bench/serve.py's plans at 1,000,000).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("EXPLAIN " + CANDIDATES_SQL.format(exclude="", lock="FOR UPDATE OF i SKIP LOCKED"), params)
        candidates = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN " + PROGRESS_SQL, progress_params(text_project, people["alice"]))
        progress = "\n".join(row[0] for row in cursor.fetchall())
    assert "rank_queue" in candidates and "Sort" not in candidates.split("rank_queue")[0]
    assert "rank_queue" in progress
