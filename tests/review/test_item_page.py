"""The item page: full history for reviewers and managers, 403 for annotators; comments; gold answers."""
import pytest

from core.models import Item
from learning.retraining import retrain
from review.models import Comment
from tests.review.helpers import client_for, labeled_items

pytestmark = pytest.mark.django_db


def test_reviewer_sees_the_history_and_annotators_get_403(text_project, people):
    (item,) = labeled_items(text_project, [("hello", "neutral")])
    r = client_for(people["reviewer"]).get(f"/items/{item.pk}/")
    assert r.status_code == 200 and "Given at import" in r.content.decode()
    assert client_for(people["alice"]).get(f"/items/{item.pk}/").status_code == 403
    assert client_for(people["outsider"]).get(f"/items/{item.pk}/").status_code == 404


def test_comment_and_gold_forms(text_project, people):
    (item,) = labeled_items(text_project, [("hello", "neutral")])
    client_for(people["reviewer"]).post(f"/items/{item.pk}/comment/", {"text": "looks sarcastic"})
    assert Comment.objects.get(item=item).text == "looks sarcastic"
    negative = text_project.labels.get(name="negative")
    assert client_for(people["reviewer"]).post(f"/items/{item.pk}/gold/", {"label": negative.pk}).status_code == 403
    client_for(people["manager"]).post(f"/items/{item.pk}/gold/", {"label": negative.pk})
    item = Item.objects.get(pk=item.pk)
    assert item.is_gold and item.gold_label == negative and item.final_label == negative
    page = client_for(people["manager"]).get(f"/items/{item.pk}/").content.decode()
    assert "gold answer set by a manager" in page and "looks sarcastic" in page


def test_nearest_labeled_neighbours_are_shown_closest_first(text_project, people):
    items = labeled_items(text_project, [("the cat sat on the mat", "positive"), ("the cat sat on a mat", "negative"),
                                         ("stock prices fell sharply", "neutral")]
                          + [(f"review number {n} of a long film", ("positive", "negative", "neutral")[n % 3]) for n in range(8)])
    retrain(text_project)  # the worker stores the neighbour index with the model version
    r = client_for(people["reviewer"]).get(f"/items/{items[0].pk}/")
    neighbours = r.context["neighbours"]
    assert [n["item"].pk for n in neighbours][0] == items[1].pk and neighbours[0]["label"].name == "negative"
    assert all(n["item"].pk != items[0].pk for n in neighbours)
