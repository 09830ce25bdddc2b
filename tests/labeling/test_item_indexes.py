"""Every lookup that lost its single-column index in the import-speed migration still has one (PostgreSQL plans)."""
import pytest
from django.db import connection

from core.models import Item, ItemRank, LabelEvent
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.pg_only,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans")]


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables: make the planner show its index choice
    return queryset.explain()


def test_label_and_user_deletion_lookups_use_the_partial_indexes(text_project, people):
    add_texts(text_project, ["a", "b"], labels=["positive", None])
    label = text_project.labels.get(name="positive")
    for field in ("given_label", "gold_label"):
        assert f"item_{field}_used" in _plan(Item.objects.filter(**{f"{field}__in": [label]})), field
    # item_final_label is partial over labeled items too (core 0006): on a table this small the planner may take
    # either; both hold only labeled items, so the lookup never scans the unlabeled ones
    plan = _plan(Item.objects.filter(final_label__in=[label]))
    assert "Index" in plan and "item_final_label" in plan, plan
    assert "rank_predicted_label_used" in _plan(ItemRank.objects.filter(predicted_label__in=[label]))
    assert "labelevent_from_label" in _plan(LabelEvent.objects.filter(from_label__in=[label]))
    assert "labelevent_actor" in _plan(LabelEvent.objects.filter(actor__in=[people["reviewer"]]))


def test_an_items_history_uses_the_composite_index(text_project):
    add_texts(text_project, ["a"], labels=["positive"])
    assert "labelevent_item" in _plan(LabelEvent.objects.filter(item=Item.objects.get()))


def test_the_dropped_indexes_are_gone():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename IN ('labeling_item', 'labeling_labelevent')")
        names = {row[0] for row in cursor.fetchall()}
    assert not {n for n in names if n.startswith(("labeling_item_project_id", "labeling_item_updated_at",
                                                  "labeling_item_given_label_id", "labeling_labelevent_item_id"))}
