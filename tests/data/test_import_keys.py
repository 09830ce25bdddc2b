"""The one-pass COPY import checks its foreign keys once per import: the rows they point at are locked for the
whole import, as PostgreSQL's per-row checks would lock them, and every key holds afterwards."""
import io

import numpy as np
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
    # Batches of 12, 24, 48, 96, then 100 (the first ones smaller); every write is checked row by row.
    assert seen == [(n, "origin") for n in (12, 36, 84, 180, 280, 300)]
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


@pytest.mark.django_db
def test_duplicates_across_batches_are_found_from_8_byte_prefixes_confirmed_in_the_database(text_project, monkeypatch):
    monkeypatch.setattr(one_pass, "BATCH", 3)
    # Every hash gets the same prefix: every row after the first batch is a "maybe", and only the database
    # tells real copies from rows that merely share a prefix (nothing distinct may be dropped).
    monkeypatch.setattr(one_pass, "_prefixes", lambda hashes: np.full(len(hashes), 7, dtype=np.uint64))
    texts = ["a", "b", "c", "d", "a", "e", "b", "f", "f", "g", "c", "h"]
    data = b"".join(b'{"text": "%s"}\n' % t.encode() for t in texts)
    result = one_pass.import_text(project=text_project, name="items.jsonl", stream=io.BytesIO(data))
    assert (result.created, result.duplicates) == (8, 4)
    assert sorted(Item.objects.filter(project=text_project).values_list("text", flat=True)) == list("abcdefgh")


def test_the_upload_prefixes_take_8_bytes_a_row_and_find_what_was_added():
    prefixes = one_pass.Prefixes()
    rng = np.random.default_rng(0)
    added = rng.integers(0, 2**63, 100_000, dtype=np.uint64)
    for start in range(0, len(added), 20_000):
        prefixes.add(added[start:start + 20_000])
    assert sum(run.nbytes for run in prefixes.runs) == 8 * len(np.unique(added)) and len(prefixes.runs) <= 3
    others = rng.integers(0, 2**63, 1_000, dtype=np.uint64)
    assert prefixes.contains(added[::97]).all()
    assert not prefixes.contains(np.setdiff1d(others, added)).any()
