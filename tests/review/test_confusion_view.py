"""The confusion view: out-of-fold matrix of the latest model, cell items, bulk relabel."""
import pytest

from core.models import Item, LabelEvent
from tests.review.helpers import client_for, labeled_items, predictions

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

POS, NEG, NEU = [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]


@pytest.fixture
def model(text_project):
    items = labeled_items(text_project, [("a", "positive"), ("b", "positive"), ("c", "positive"), ("d", "negative")])
    predictions(text_project, [(items[0], POS), (items[1], NEG), (items[2], NEG), (items[3], NEG)])
    return items


def test_matrix_counts_final_label_against_predicted_class(text_project, people, model):
    r = client_for(people["reviewer"]).get(f"/projects/{text_project.pk}/review/confusion/")
    matrix = r.context["matrix"]
    grid = [[c["n"] for c in row["cells"]] for row in matrix["rows"]]
    assert grid == [[1, 2, 0], [0, 1, 0], [0, 0, 0]]
    assert matrix["errors"] == 2 and matrix["accuracy"] == pytest.approx(0.5)
    pos, neg = text_project.labels.get(name="positive"), text_project.labels.get(name="negative")
    assert f"/review/confusion/{pos.pk}/{neg.pk}/" in r.content.decode()


def test_cell_lists_its_items_and_bulk_relabel_writes_one_event_each(text_project, people, model):
    pos, neg = text_project.labels.get(name="positive"), text_project.labels.get(name="negative")
    c = client_for(people["reviewer"])
    r = c.get(f"/projects/{text_project.pk}/review/confusion/{pos.pk}/{neg.pk}/")
    assert [row["item"].text for row in r.context["items"]] == ["b", "c"]
    r = c.post(f"/projects/{text_project.pk}/review/confusion/{pos.pk}/{neg.pk}/relabel/",
               {"items": [model[1].pk, model[2].pk], "label": neg.pk, "reason": "clearly negative"})
    assert r.status_code == 302
    for item in (model[1], model[2]):
        event = LabelEvent.objects.filter(item=item).last()
        assert (event.from_label, event.to_label, event.cause, event.reason) == (pos, neg, "bulk:confusion",
                                                                                "clearly negative")
    assert Item.objects.get(pk=model[0].pk).final_label == pos


def test_bulk_relabel_refuses_items_of_another_project_and_empty_selection(text_project, people, model):
    pos, neg = text_project.labels.get(name="positive"), text_project.labels.get(name="negative")
    c = client_for(people["reviewer"])
    url = f"/projects/{text_project.pk}/review/confusion/{pos.pk}/{neg.pk}/relabel/"
    r = c.post(url, {"items": [], "label": neg.pk}, follow=True)
    assert "Select at least one item" in r.content.decode()
    r = c.post(url, {"items": [model[1].pk, 999999], "label": neg.pk}, follow=True)
    assert "not in this project" in r.content.decode()
    assert LabelEvent.objects.filter(cause="bulk:confusion").count() == 0


def test_no_model_yet_shows_an_explanation(text_project, people):
    r = client_for(people["reviewer"]).get(f"/projects/{text_project.pk}/review/confusion/")
    assert "No model yet" in r.content.decode()
    assert client_for(people["outsider"]).get(f"/projects/{text_project.pk}/review/confusion/").status_code == 404
