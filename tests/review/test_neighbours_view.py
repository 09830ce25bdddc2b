"""Nearest labeled items on the flag and item pages come from the index a retrain stored: nothing is fitted
in the request (issue 13)."""
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import NearestNeighbors

from core.models import Item
from learning import neighbours
from learning.models import ModelVersion
from learning.retraining import retrain
from tests.conftest import add_texts
from tests.review.helpers import client_for, flag, labeled_items

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TOPICS = [("the plot was thin but the actors were wonderful tonight", "positive"),
          ("shipping took three weeks and the box arrived crushed", "negative"),
          ("the recipe needs two eggs and a cup of flour", "neutral"),
          ("battery life is excellent and the screen is bright", "positive"),
          ("customer service never answered my emails", "negative"),
          ("the train leaves the station at nine every morning", "neutral")]


@pytest.fixture
def trained(text_project):
    """Twelve labeled texts on six topics (two wordings each), a near copy of the first, and a retrain."""
    pairs = [(t, lab) for t, lab in TOPICS] + [(f"{t} again", lab) for t, lab in TOPICS]
    pairs.append(("the plot was thin but the actors were wonderful", "negative"))
    items = labeled_items(text_project, pairs)
    retrain(text_project)
    return items


def _forbid_fitting(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("features were fitted inside the request")

    monkeypatch.setattr(TfidfVectorizer, "fit", refuse)
    monkeypatch.setattr(TfidfVectorizer, "fit_transform", refuse)
    monkeypatch.setattr(NearestNeighbors, "fit", refuse)
    monkeypatch.setattr("learning.featurize.project_features", refuse)
    monkeypatch.setattr("learning.neighbours.project_features", refuse)


def test_flag_and_item_pages_show_neighbours_without_fitting_anything(text_project, people, trained, monkeypatch):
    near_copy = trained[-1]
    f = flag(near_copy, suggested="positive")
    _forbid_fitting(monkeypatch)
    c = client_for(people["reviewer"])
    for url in (f"/projects/{text_project.pk}/review/flags/{f.pk}/", f"/items/{near_copy.pk}/"):
        r = c.get(url)
        assert r.status_code == 200
        shown = r.context["neighbours"]
        assert len(shown) == 5 and shown[0]["item"] == trained[0] and shown[0]["label"].name == "positive"
        assert near_copy not in [n["item"] for n in shown] and r.context["neighbours_note"] == ""
        assert [n["distance"] for n in shown] == sorted(n["distance"] for n in shown)
        assert 'id="neighbours"' in r.content.decode()


def test_the_same_wording_comes_before_other_topics(text_project, people, trained):
    r = client_for(people["reviewer"]).get(f"/items/{trained[1].pk}/")  # "shipping took three weeks ..."
    assert r.context["neighbours"][0]["item"] == trained[7]  # the same text with "again"


def test_labels_are_todays_and_items_excluded_since_are_left_out(text_project, people, trained):
    Item.objects.filter(pk=trained[0].pk).update(final_label=text_project.labels.get(name="neutral"))
    Item.objects.filter(pk=trained[6].pk).update(excluded=True)
    shown = client_for(people["reviewer"]).get(f"/items/{trained[-1].pk}/").context["neighbours"]
    assert shown[0]["item"] == trained[0] and shown[0]["label"].name == "neutral"
    assert trained[6] not in [n["item"] for n in shown] and len(shown) == 5


def test_before_any_model_there_are_no_neighbours_and_a_note(text_project, people):
    items = labeled_items(text_project, TOPICS)
    r = client_for(people["reviewer"]).get(f"/items/{items[0].pk}/")
    assert r.status_code == 200 and r.context["neighbours"] == []
    assert "once a model has been trained" in r.context["neighbours_note"]


def test_an_item_imported_after_the_retrain_gets_a_note(text_project, people, trained):
    add_texts(text_project, ["a brand new text"])
    item = Item.objects.get(project=text_project, text="a brand new text")
    r = client_for(people["reviewer"]).get(f"/items/{item.pk}/")
    assert r.status_code == 200 and r.context["neighbours"] == []
    assert "after the next retrain" in r.context["neighbours_note"]


def test_a_version_stored_without_an_index_has_one_built_by_a_worker_once(text_project, people, monkeypatch):
    items = labeled_items(text_project, TOPICS)
    version = ModelVersion.objects.create(project=text_project, name="uploaded",
                                          origin=ModelVersion.Origin.UPLOADED)
    sent = []
    monkeypatch.setattr(neighbours, "send_task", lambda name, args: sent.append((name, args)))
    c = client_for(people["reviewer"])
    for _ in range(2):
        r = c.get(f"/items/{items[0].pk}/")
        assert r.status_code == 200 and r.context["neighbours"] == []
        assert "being computed" in r.context["neighbours_note"]
    assert sent == [(neighbours.BUILD_TASK, [version.pk])]  # asked once, not once per page view
    neighbours.build_index(version.pk)  # what the worker runs
    r = c.get(f"/items/{items[0].pk}/")
    assert len(r.context["neighbours"]) == 5 and r.context["neighbours_note"] == ""


def test_a_new_retrain_replaces_the_older_index(text_project, trained):
    first = ModelVersion.objects.get(project=text_project)
    second = retrain(text_project)
    assert not neighbours.index_dir(text_project.pk, first.pk).exists()
    assert neighbours.open_index(text_project.pk, second.pk) is not None
