"""Item features per project: the embedder chosen, recorded on each model version, cached, or uploaded; and the seed."""
import io

import numpy as np
import pytest
from django.urls import reverse

from core.models import Item
from data.parse import parse_zip
from data.write import import_rows
from learning import featurize
from learning.featurize import project_embedding, project_features
from learning.models import LearningSettings, ModelVersion
from learning.predictions import predictions_upload
from learning.retraining import retrain
from ml.embedders import EmbedderError, get_embedder
from tests.conftest import add_texts, digits_zip
from tests.ml.test_embedders import _tiny_onnx

pytestmark = pytest.mark.django_db(transaction=True)


def _load_digits(project, n=120, unlabeled=40, seed=0):
    data, _ = digits_zip(n, seed=seed)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    for row in rows[:unlabeled]:
        row.label = None
    import_rows(project=project, rows=rows, errors=errors, name="d.zip")


def test_a_retrain_records_the_default_image_features_and_the_models_page_names_them(image_project, people, client):
    _load_digits(image_project)
    version = retrain(image_project)
    emb = get_embedder("default", "image")
    assert version.features == {"name": "descriptors", "version": emb.version, "dim": emb.dim, "source": "embedder"}
    assert version.params["seed"] == LearningSettings.of(image_project).seed
    client.force_login(people["manager"])
    page = client.get(reverse("learning:models", args=[image_project.pk])).content.decode()
    assert f"descriptors v{emb.version} ({emb.dim}-d)" in page


def test_a_project_can_choose_its_embedder_and_the_global_default_applies_otherwise(image_project, settings):
    _load_digits(image_project)
    settings.QUORUM_EMBEDDER = "pixels"
    assert retrain(image_project).features["name"] == "pixels"
    LearningSettings.objects.update_or_create(project=image_project, defaults={"embedder": "descriptors"})
    version = retrain(image_project)
    assert version.features["name"] == "descriptors" and version.features["dim"] == get_embedder("descriptors", "image").dim


def test_an_onnx_model_from_the_setting_makes_the_features(image_project, settings, tmp_path):
    _load_digits(image_project, n=60, unlabeled=10)
    path = tmp_path / "encoder.onnx"
    _tiny_onnx(path, out_dim=4)
    settings.QUORUM_EMBEDDER = f"onnx:{path}?size=16"
    ids, X = project_features(image_project)
    assert X.shape == (60, 4) and X.dtype == np.float32
    assert retrain(image_project).features["name"] == "onnx:encoder.onnx"


def test_a_missing_onnx_file_fails_the_retrain_with_a_clear_error(image_project, settings):
    _load_digits(image_project, n=40, unlabeled=0)
    settings.QUORUM_EMBEDDER = "onnx:/models/missing.onnx"
    with pytest.raises(EmbedderError, match="missing.onnx not found"):
        retrain(image_project)
    assert not ModelVersion.objects.filter(project=image_project).exists()


def test_vectors_are_cached_per_content_hash_and_only_new_items_are_embedded(image_project, monkeypatch):
    _load_digits(image_project, n=50, unlabeled=0)
    seen = []
    real = featurize._embed_batches
    monkeypatch.setattr(featurize, "_embed_batches", lambda emb, rows, *a: seen.append(len(rows)) or real(emb, rows, *a))
    progress = []
    first = project_embedding(image_project, on_progress=lambda d, t: progress.append((d, t)))
    again = project_embedding(image_project)
    assert seen == [50] and progress[-1] == (50, 50)
    np.testing.assert_array_equal(first.X, again.X)


def test_a_text_project_gets_tfidf_plus_wordllama(text_project):
    add_texts(text_project, [f"great product number {i}" for i in range(12)] + [f"awful service {i}" for i in range(12)],
              ["positive"] * 12 + ["negative"] * 12)
    version = retrain(text_project)
    assert version.features["name"] == "tfidf+wordllama" and version.features["dim"] > 256


def test_uploaded_embeddings_become_the_features_once_they_cover_every_item(text_project):
    add_texts(text_project, [f"text {i}" for i in range(30)], ["positive", "negative"] * 15)
    items = list(Item.objects.filter(project=text_project).order_by("id"))
    rng = np.random.default_rng(0)
    vectors = rng.random((30, 8)).round(4)
    rows = [{"item": it.pk, "probabilities": {"positive": 0.5, "negative": 0.3, "neutral": 0.2},
             "embedding": vectors[n].tolist()} for n, it in enumerate(items)]
    predictions_upload(project=text_project, model_version="ext-1", rows=rows[:29])
    assert project_embedding(text_project).info["name"] == "tfidf+wordllama"  # one item has no vector yet
    predictions_upload(project=text_project, model_version="ext-2", rows=rows)
    features = project_embedding(text_project)
    assert features.info["source"] == "upload" and features.info["version"] == "ext-2"
    np.testing.assert_allclose(features.X, vectors, rtol=1e-6)
    version = retrain(text_project)
    assert version.features["source"] == "upload" and version.features_text == "uploaded embeddings (8-d)"


def _queue(project) -> list[int]:
    """The head of the queue as positions in import order, so two projects' queues compare."""
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    head = Item.objects.filter(project=project, needed__gt=0).order_by("-rank__priority", "id").values_list("id", flat=True)
    return [ids.index(i) for i in head[:50]]


def test_the_same_data_and_seed_give_the_same_queue_and_another_seed_another(people):
    from core.services import project_create

    def run(seed, strategy="random"):
        project = project_create(name=f"Digits {seed} {LearningSettings.objects.count()}", kind="image",
                                 labels=[str(d) for d in range(10)], owner=people["manager"], retrain_every=1000)
        project.query_strategy = strategy
        project.save(update_fields=["query_strategy"])
        LearningSettings.objects.create(project=project, seed=seed)
        _load_digits(project, n=150, unlabeled=90)
        retrain(project)
        return _queue(project)

    first = run(7)
    assert run(7) == first
    assert run(8) != first
    diverse = run(7, "margin_diverse_balanced")
    assert run(7, "margin_diverse_balanced") == diverse


def test_a_manager_chooses_the_embedder_and_seed_and_a_bad_spec_is_refused(client, image_project, people):
    url = reverse("learning:features", args=[image_project.pk])
    client.force_login(people["manager"])
    assert "Now: <strong>descriptors</strong>" in client.get(url).content.decode()
    response = client.post(url, {"embedder": "onnx:/models/none.onnx", "seed": "5"})
    assert response.status_code == 200 and "none.onnx not found" in response.content.decode()
    assert LearningSettings.of(image_project).embedder == ""
    assert client.post(url, {"embedder": "pixels", "seed": "5"}).status_code == 302
    saved = LearningSettings.of(image_project)
    assert (saved.embedder, saved.seed) == ("pixels", 5)


def test_only_managers_change_features(client, image_project, people):
    url = reverse("learning:features", args=[image_project.pk])
    for who, code in (("alice", 403), ("outsider", 404)):
        client.force_login(people[who])
        assert client.post(url, {"embedder": "pixels", "seed": "1"}).status_code == code
    assert LearningSettings.of(image_project).embedder == ""


def test_a_retrain_job_with_a_bad_embedder_ends_failed_with_a_clear_error(image_project):
    from core.models import Job
    from learning.schedule import request_retrain

    _load_digits(image_project, n=40, unlabeled=0)
    LearningSettings.objects.update_or_create(project=image_project, defaults={"embedder": "onnx:/models/gone.onnx"})
    job = request_retrain(project=image_project, user=None)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "gone.onnx not found" in job.error and "Item features page" in job.error
    assert not ModelVersion.objects.filter(project=image_project).exists()
