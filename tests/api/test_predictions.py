"""Uploaded predictions: validated first, all or nothing, re-rank open items by margin uncertainty."""
import pytest
from django.urls import reverse

from core.models import Item, ItemRank
from learning.models import ModelVersion, Prediction
from tests.api.conftest import results
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def three(text_project):
    add_texts(text_project, ["a", "b", "c"], labels=["positive", None, None])
    return text_project, {i.text: i.pk for i in Item.objects.filter(project=text_project)}


def _post(client, project, body):
    return client.post(reverse("api:predictions", args=[project.pk]), body, format="json")


def test_upload_creates_an_uploaded_version_and_reranks_open_items(api_as, people, three):
    project, ids = three
    response = _post(api_as(people["manager"]), project, {"model_version": "bert-1", "params": {"epochs": 3}, "predictions": [
        {"item": ids["a"], "probabilities": [0.9, 0.05, 0.05]},
        {"item": ids["b"], "probabilities": [0.5, 0.45, 0.05], "embedding": [0.1, 0.2]},
        {"item": ids["c"], "probabilities": {"positive": 0.1, "negative": 0.1, "neutral": 0.8}, "embedding": [1, 2]},
    ]})
    assert response.status_code == 201, response.content
    assert response.json()["predictions"] == 3
    version = ModelVersion.objects.get(project=project, name="bert-1")
    assert version.origin == ModelVersion.Origin.UPLOADED and version.params == {"epochs": 3}
    b, c, a = (ItemRank.objects.select_related("item").get(pk=ids[t]) for t in "bca")
    assert (b.predicted_label.name, b.predicted_confidence) == ("positive", 0.5)
    assert c.predicted_label.name == "neutral"
    assert b.priority == pytest.approx(1 - (0.5 - 0.45)) and c.priority == pytest.approx(1 - (0.8 - 0.1))
    assert b.priority > c.priority  # the less certain item is served first
    assert a.item.needed == 0 and a.priority != pytest.approx(1 - (0.9 - 0.05))  # labeled, not in the queue: not re-ranked
    assert Prediction.objects.get(item_id=ids["c"]).probabilities == [0.1, 0.1, 0.8]
    assert Prediction.objects.get(item_id=ids["b"]).embedding == [0.1, 0.2]
    listed = results(api_as(people["alice"]).get(reverse("api:predictions", args=[project.pk]), {"item": ids["b"]}))
    assert [(p["model_version"], p["probabilities"]) for p in listed] == [("bert-1", [0.5, 0.45, 0.05])]
    models = results(api_as(people["alice"]).get(reverse("api:model_versions", args=[project.pk]), {"origin": "uploaded"}))
    assert [m["name"] for m in models] == ["bert-1"]


def test_every_bad_row_is_named_and_nothing_is_stored(api_as, people, three):
    project, ids = three
    response = _post(api_as(people["manager"]), project, {"model_version": "bad", "predictions": [
        {"item": ids["a"], "probabilities": [0.9, 0.05, 0.05], "embedding": [1, 2, 3]},
        {"item": 999999, "probabilities": [0.9, 0.05, 0.05]},
        {"item": ids["b"], "probabilities": [0.5, 0.5]},
        {"item": ids["c"], "probabilities": [0.5, 0.4, 0.05]},
        {"item": ids["a"], "probabilities": [0.9, 0.05, 0.05]},
        {"item": ids["c"] + 1000, "probabilities": [1, 0, 0], "embedding": [1, 2]},
    ]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "predictions_invalid"
    by_row = {d["row"]: d["reason"] for d in error["details"]}
    assert "no item 999999" in by_row[2]
    assert "has 2 values but the project has 3 labels" in by_row[3]
    assert "sum to 0.95" in by_row[4]
    assert "appears twice" in by_row[5]
    assert "'embedding' has 2 values; earlier rows have 3" in by_row[6]
    assert error["message"].startswith("Nothing was stored: 5 problems found.\nrow 2 (item 999999): no item 999999")
    assert "row 4 (item" in error["message"]
    assert not ModelVersion.objects.exists() and not Prediction.objects.exists()
    assert ItemRank.objects.filter(predicted_label__isnull=False).count() == 0


def test_sum_within_tolerance_is_accepted(api_as, people, three):
    project, ids = three
    ok = _post(api_as(people["manager"]), project, {"model_version": "m", "predictions": [
        {"item": ids["b"], "probabilities": [0.3334, 0.3333, 0.3337]}]})
    assert ok.status_code == 201


def test_unknown_label_names_and_a_taken_name_are_refused(api_as, people, three):
    project, ids = three
    client = api_as(people["manager"])
    bad = _post(client, project, {"model_version": "m", "predictions": [
        {"item": ids["b"], "probabilities": {"positive": 0.5, "sarcastic": 0.5}}]})
    assert bad.status_code == 400 and "unknown: sarcastic" in bad.json()["error"]["details"][0]["reason"]
    assert bad.json()["error"]["message"].startswith("Nothing was stored: 1 problem found.\nrow 1 (item")
    row = {"item": ids["b"], "probabilities": [1, 0, 0]}
    assert _post(client, project, {"model_version": "m", "predictions": [row]}).status_code == 201
    taken = _post(client, project, {"model_version": "m", "predictions": [row]})
    assert taken.status_code == 409 and "already exists" in taken.json()["error"]["message"]
    assert _post(client, project, {"model_version": "", "predictions": [row]}).status_code == 400
    assert _post(client, project, {"model_version": "n", "predictions": []}).status_code == 400


def test_annotator_403_and_outsider_404_on_upload(api_as, people, three):
    project, ids = three
    body = {"model_version": "m", "predictions": [{"item": ids["b"], "probabilities": [1, 0, 0]}]}
    assert _post(api_as(people["alice"]), project, body).status_code == 403
    assert _post(api_as(people["outsider"]), project, body).status_code == 404
    assert api_as(people["outsider"]).get(reverse("api:model_versions", args=[project.pk])).status_code == 404
    assert not ModelVersion.objects.exists()
