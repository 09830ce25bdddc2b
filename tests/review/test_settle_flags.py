"""A final-label change made anywhere settles (or re-scores) the item's open flags, in the same transaction."""
import pytest
from django.db import transaction

from core.models import Item, LabelSource
from core.services import set_final_labels_bulk
from review.decisions import undo_last
from review.models import Flag
from tests.review.helpers import client_for, flag, labeled_items, predictions

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def items(text_project):
    return labeled_items(text_project, [("great film", "negative"), ("awful", "negative"), ("fine", "neutral")])


def _relabel(project, user, items, label):
    return client_for(user).post(f"/projects/{project.pk}/review/confusion/{items[0].final_label_id}/{label.pk}/relabel/",
                                 {"items": [i.pk for i in items], "label": label.pk})


def test_bulk_relabel_settles_the_flags_with_a_history_line(text_project, people, items):
    positive = text_project.labels.get(name="positive")
    model_flag = flag(items[0], suggested="positive")
    people_flag = flag(items[1], reason=Flag.Reason.ANNOTATOR_DISAGREEMENT, suggested="neutral")
    untouched = flag(items[2], suggested="positive")
    _relabel(text_project, people["reviewer"], items[:2], positive)

    for f in (model_flag, people_flag):
        f.refresh_from_db()
        assert (f.status, f.action, f.resolved_by, f.label_changed) == ("resolved", "settled", people["reviewer"], True)
        assert f.resolution == "settled: reviewer set the label to positive (bulk relabel from the confusion view)"
        assert f.version == 2
    assert Flag.objects.get(pk=untouched.pk).status == "open"
    page = client_for(people["reviewer"]).get(f"/items/{items[0].pk}/").content.decode()
    assert f'data-settled-flag="{model_flag.pk}"' in page and "Flag settled" in page
    assert "reviewer set the label to positive" in page


def test_a_system_change_settles_only_the_flag_it_agrees_with_and_rescores_a_model_flag(text_project, items):
    positive, neutral = (text_project.labels.get(name=n) for n in ("positive", "neutral"))
    version = predictions(text_project, [(items[0], [0.7, 0.1, 0.2]), (items[1], [0.1, 0.1, 0.8])])
    agrees = flag(items[0], suggested="positive")
    disagrees = flag(items[1], suggested="positive")
    Flag.objects.filter(pk=disagrees.pk).update(model_version=version)
    with transaction.atomic():
        locked = list(Item.objects.select_for_update().filter(pk__in=[items[0].pk, items[1].pk]).order_by("pk"))
        set_final_labels_bulk(items=locked, labels=[positive, neutral], source=LabelSource.MODEL,
                              reasons=["auto", "auto"], cause="autoaccept:1")
    agrees.refresh_from_db()
    disagrees.refresh_from_db()
    assert (agrees.status, agrees.resolved_by, agrees.action) == ("resolved", None, "settled")
    assert "the system set the label to positive (autoaccept:1)" in agrees.resolution
    assert disagrees.status == "open" and disagrees.score == pytest.approx(0.2)
    assert disagrees.explanation.endswith("now neutral (the system, autoaccept:1)") and disagrees.version == 2


def test_deciding_one_flag_settles_the_items_other_open_flags(text_project, people, items):
    decided = flag(items[0], suggested="positive")
    other = flag(items[0], reason=Flag.Reason.LOW_CONSENSUS, suggested="neutral")
    positive = text_project.labels.get(name="positive")
    client_for(people["reviewer"]).post(f"/projects/{text_project.pk}/review/flags/{decided.pk}/resolve/",
                                        {"flag": decided.pk, "version": 1, "label": positive.pk})
    decided.refresh_from_db()
    other.refresh_from_db()
    assert (decided.action, other.action, other.status) == ("relabel", "settled", "resolved")
    assert f"(flag:{decided.pk})" in other.resolution


def test_undoing_a_bulk_relabel_reopens_the_flags_it_settled(text_project, people, items):
    f = flag(items[0], suggested="positive")
    _relabel(text_project, people["reviewer"], items[:1], text_project.labels.get(name="positive"))
    assert Flag.objects.get(pk=f.pk).status == "resolved"
    with transaction.atomic():
        undo_last(project=text_project, reviewer=people["reviewer"])
    f.refresh_from_db()
    assert (f.status, f.action, f.resolved_by) == ("open", "", None)
    assert Item.objects.get(pk=items[0].pk).final_label.name == "negative"


def test_a_relabel_rolled_back_leaves_the_flag_open(text_project, people, items):
    from review.decisions import bulk_relabel

    f = flag(items[0], suggested="positive")
    with pytest.raises(RuntimeError), transaction.atomic():
        bulk_relabel(project=text_project, reviewer=people["reviewer"], item_ids=[items[0].pk],
                     label_id=text_project.labels.get(name="positive").pk)
        assert Flag.objects.get(pk=f.pk).status == "resolved"  # settled inside the relabel's transaction
        raise RuntimeError("the request failed after the relabel")
    assert Flag.objects.get(pk=f.pk).status == "open"
