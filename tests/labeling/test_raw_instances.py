"""core.access.raw_instances loads the same instances as Model.objects.raw, with its column plan kept."""
import pytest

from core.access import _ROW_PLANS, raw_instances
from core.models import Item
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SQL = "SELECT i.*, i.id * 2 AS twice FROM labeling_item i WHERE i.project_id = %(project)s ORDER BY i.id"
FIELDS = [f.attname for f in Item._meta.concrete_fields]


def test_raw_instances_match_the_orms_raw_with_converted_values_and_extra_columns(text_project):
    add_texts(text_project, ["one", "two"], ["positive", None])
    Item.objects.filter(text="one").update(metadata={"source": "a", "n": [1, 2]}, final_confidence=0.25)
    expected = list(Item.objects.raw(SQL, {"project": text_project.pk}))
    for _ in range(2):  # the second call uses the kept plan
        got = raw_instances(Item, SQL, {"project": text_project.pk})
        assert [[getattr(i, f) for f in FIELDS] for i in got] == [[getattr(i, f) for f in FIELDS] for i in expected]
        assert [i.twice for i in got] == [i.pk * 2 for i in expected]
        assert got[0].metadata == {"source": "a", "n": [1, 2]} and got[0].created_at.tzinfo is not None
        assert not got[0]._state.adding and got[0]._state.db == "default"
    assert sum(1 for key in _ROW_PLANS if key[1] is Item and "twice" in key[2]) == 1


def test_raw_instances_need_the_primary_key(text_project):
    add_texts(text_project, ["one"])
    with pytest.raises(ValueError, match="primary key"):
        raw_instances(Item, "SELECT text FROM labeling_item", [])
