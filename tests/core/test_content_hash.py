"""An item's content hash is stored as its 32 bytes (issue 18) but reads, filters, sorts and shows as the hex;
the migration converts existing rows both ways, and the project's unique constraint on it still holds."""
import hashlib
import importlib

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from core.models import Item
from tests.conftest import add_texts

pytestmark = [pytest.mark.postgres]

BEFORE, AFTER = [("core", "0002_membership_annotation_count")], [("core", "0003_item_content_hash_bytes")]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def stored(pk: int):
    """The content_hash column as the database holds it, read with plain SQL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT content_hash FROM labeling_item WHERE id = %s", [pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_database_holds_the_digests_32_bytes_and_the_model_the_hex(text_project):
    item = Item.objects.create(project=text_project, text="good", content_hash=sha("good"))
    assert bytes(stored(item.pk)) == hashlib.sha256(b"good").digest()
    assert Item.objects.get(pk=item.pk).content_hash == sha("good")
    assert Item.objects.filter(pk=item.pk).values_list("content_hash", flat=True).get() == sha("good")


@pytest.mark.django_db
def test_lookups_and_order_follow_the_hex(text_project):
    texts = [f"text {n}" for n in range(20)]
    add_texts(text_project, texts)
    hashes = sorted(sha(t) for t in texts)
    items = Item.objects.filter(project=text_project)
    assert list(items.order_by("content_hash").values_list("content_hash", flat=True)) == hashes
    assert items.get(content_hash=hashes[3]).text == next(t for t in texts if sha(t) == hashes[3])
    assert items.get(content_hash=hashes[3].upper()).content_hash == hashes[3]
    assert sorted(items.filter(content_hash__in=hashes[:5]).values_list("content_hash", flat=True)) == hashes[:5]
    assert list(items.filter(content_hash__gt=hashes[16]).order_by("content_hash")
                .values_list("content_hash", flat=True)) == hashes[17:]


@pytest.mark.django_db
def test_a_value_that_is_not_a_sha256_in_hex_is_refused_saying_so(text_project):
    for bad in ("h1", "h" * 64, sha("x")[:-2]):
        with pytest.raises(ValueError, match="a content hash is a SHA-256 in 64 hex digits"):
            Item.objects.create(project=text_project, text="x", content_hash=bad)


@pytest.mark.django_db
def test_the_same_content_twice_in_a_project_is_refused_by_the_database(text_project, people):
    from core.services import project_create

    Item.objects.create(project=text_project, text="good", content_hash=sha("good"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.create(project=text_project, text="good", content_hash=sha("good"))
    other = project_create(name="Other", kind="text", labels=["a"], owner=people["manager"])
    Item.objects.create(project=other, text="good", content_hash=sha("good"))  # another project may hold it
    Item.objects.create(project=text_project, text="good!", content_hash=sha("good!"))
    assert Item.objects.filter(content_hash=sha("good")).count() == 2


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor


def _insert_old_items(apps, texts) -> list[int]:
    project = apps.get_model("core", "Project").objects.create(name="Old", kind="text")
    Item = apps.get_model("core", "Item")
    return [Item.objects.create(project=project, text=t, content_hash=sha(t)).pk for t in texts]


@pytest.mark.xdist_group("migrations")
@pytest.mark.django_db(transaction=True)
def test_the_migration_converts_hex_to_bytes_and_back(monkeypatch):
    monkeypatch.setattr(importlib.import_module("core.migrations.0003_item_content_hash_bytes"), "BATCH", 2)
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    texts = ["Great film, if you like sleeping.", "It was fine.", "It was fine!"]
    try:
        executor = _migrate(BEFORE)
        ids = _insert_old_items(executor.loader.project_state(BEFORE).apps, texts)
        assert [stored(pk) for pk in ids] == [sha(t) for t in texts]

        _migrate(AFTER)
        assert [bytes(stored(pk)) for pk in ids] == [hashlib.sha256(t.encode()).digest() for t in texts]
        assert [Item.objects.get(pk=pk).content_hash for pk in ids] == [sha(t) for t in texts]
        project_id = Item.objects.get(pk=ids[0]).project_id
        with pytest.raises(IntegrityError), transaction.atomic():  # the unique constraint came through
            Item.objects.create(project_id=project_id, text="again", content_hash=sha(texts[1]))

        _migrate(BEFORE)
        assert [stored(pk) for pk in ids] == [sha(t) for t in texts]
    finally:
        _migrate(leaves)
        Item.objects.all().delete()


@pytest.mark.xdist_group("migrations")
@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_at_a_value_that_is_not_a_sha256_and_names_the_item():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        executor = _migrate(BEFORE)
        good, bad = _insert_old_items(executor.loader.project_state(BEFORE).apps, ["fine", "broken"])
        with connection.cursor() as cursor:
            cursor.execute("UPDATE labeling_item SET content_hash = 'h1' WHERE id = %s", [bad])
        with pytest.raises(RuntimeError, match=rf"items \[{bad}\] have a content hash that is not a SHA-256"):
            _migrate(AFTER)
        assert (stored(good), stored(bad)) == (sha("fine"), "h1")  # nothing converted
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM labeling_item")
        _migrate(leaves)
