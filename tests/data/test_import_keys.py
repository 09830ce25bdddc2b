"""The one-pass COPY import checks its foreign keys once per import: the rows they point at are locked for the
whole import, as PostgreSQL's per-row checks would lock them, and every key holds afterwards."""
import io

import psycopg
import pytest
from django.db import connection

from core.models import Item, Label, LabelEvent
from core.services import project_create
from data import copy_insert, one_pass
from quorum.lib import pg

pytestmark = [pytest.mark.pg_only, pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL COPY")]

JSONL = b"".join(b'{"text": "item %d", "label": "%s"}\n' % (i, b"positive" if i % 2 else b"negative")
                 for i in range(300))


def _other_connection():
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"], port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"],
                           dbname=s["NAME"], autocommit=True)


@pytest.mark.django_db(transaction=True)
def test_labels_are_locked_during_the_import_and_every_key_holds_after(text_project, monkeypatch):
    monkeypatch.setattr(one_pass, "BATCH", 100)
    positive = Label.objects.get(project=text_project, name="positive")
    seen = []

    def during(rows_read):
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            role = cursor.fetchone()[0]
        with _other_connection() as other:  # a delete of the label would wait: it is locked FOR KEY SHARE
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(f"SELECT 1 FROM {Label._meta.db_table} WHERE id = %s FOR UPDATE NOWAIT", [positive.pk])
        seen.append((rows_read, role))

    result = one_pass.import_text(project=text_project, name="items.jsonl", stream=io.BytesIO(JSONL),
                                  on_progress=during)
    assert result.created == 300
    assert seen == [(100, "origin"), (200, "origin"), (300, "origin")]  # later writes are checked row by row
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {LabelEvent._meta.db_table} e LEFT JOIN {Item._meta.db_table} i "
                       "ON i.id = e.item_id WHERE i.id IS NULL")
        assert cursor.fetchone()[0] == 0
    assert Item.objects.filter(project=text_project, given_label__project=text_project).count() == 300
    assert LabelEvent.objects.filter(item__project=text_project, cause="import").count() == 300


@pytest.mark.django_db
def test_a_label_of_another_project_keeps_the_per_row_checks(text_project, people):
    other = project_create(name="Other", kind="text", labels=["x"], owner=people["manager"])
    ours = [lab.pk for lab in text_project.labels.all()]
    assert copy_insert._lock_referenced(text_project, ours)
    assert not copy_insert._lock_referenced(text_project, [*ours, other.labels.get().pk])


@pytest.mark.django_db
def test_a_role_that_may_not_skip_the_checks_imports_the_same_with_per_row_checks(text_project, monkeypatch):
    monkeypatch.setattr(pg, "may_skip_row_checks", lambda cursor: False)
    assert not copy_insert._lock_referenced(text_project, [lab.pk for lab in text_project.labels.all()])
    result = one_pass.import_text(project=text_project, name="items.jsonl", stream=io.BytesIO(JSONL))
    assert (result.created, result.labeled) == (300, 300)
    assert LabelEvent.objects.filter(item__project=text_project, cause="import").count() == 300


@pytest.mark.django_db
def test_past_the_hash_limit_duplicates_across_batches_are_still_found(text_project, monkeypatch):
    monkeypatch.setattr(one_pass, "BATCH", 3)
    monkeypatch.setattr(one_pass, "SEEN_LIMIT", 4)  # the set is dropped after the second batch
    texts = ["a", "b", "c", "d", "e", "f", "a", "g", "b", "h", "f", "h"]
    data = b"".join(b'{"text": "%s"}\n' % t.encode() for t in texts)
    take, held = one_pass._Outcome.take, []

    def measured(self, batch):
        unique = take(self, batch)
        held.append(len(self.seen))
        return unique

    monkeypatch.setattr(one_pass._Outcome, "take", measured)
    result = one_pass.import_text(project=text_project, name="items.jsonl", stream=io.BytesIO(data))
    assert max(held) <= 4 + 3  # the limit and one batch: flat however long the upload
    assert (result.created, result.duplicates) == (8, 4)
    assert sorted(Item.objects.filter(project=text_project).values_list("text", flat=True)) == list("abcdefgh")
