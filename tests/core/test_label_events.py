"""An event is undone at most once: the database refuses a second undo, while events that undo nothing (all of an
import's) are unconstrained."""
import pytest
from django.db import IntegrityError, connection, transaction

from core.models import Item, LabelEvent
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_an_event_is_undone_at_most_once_and_events_that_undo_nothing_are_free(text_project):
    add_texts(text_project, ["good", "bad", "meh"], labels=["positive", "negative", "neutral"])
    assert LabelEvent.objects.filter(project=text_project, undoes__isnull=True).count() == 3
    item = Item.objects.get(text="good")
    first = LabelEvent.objects.get(item=item)
    undo = LabelEvent.objects.create(project=text_project, item=item, source="reviewer", undoes=first)
    assert list(first.undone_by.all()) == [undo]
    assert set(LabelEvent.objects.filter(project=text_project, undone_by__isnull=True)) == (
        set(LabelEvent.objects.filter(project=text_project)) - {first})
    with pytest.raises(IntegrityError), transaction.atomic():
        LabelEvent.objects.create(project=text_project, item=item, source="reviewer", undoes=first)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_undo_index_holds_only_events_that_undo_something(text_project):
    add_texts(text_project, [f"text {n}" for n in range(50)], labels=["positive"] * 50)
    item = Item.objects.get(text="text 0")
    LabelEvent.objects.create(project=text_project, item=item, source="reviewer", undoes=item.events.get())
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'labeling_labelevent' AND indexdef LIKE '%undoes_id%'")
        assert [row[0] for row in cursor.fetchall()] == [
            'CREATE UNIQUE INDEX labelevent_undoes_once ON public.labeling_labelevent USING btree (undoes_id) '
            'WHERE (undoes_id IS NOT NULL)']
