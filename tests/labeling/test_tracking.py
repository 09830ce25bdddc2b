"""Model versions are logged to MLflow only when MLFLOW_TRACKING_URI is set; tracking never fails a retrain."""
import io
import logging
import sys

import pytest

from data.datasets import version_create
from data.parse import parse_zip
from data.write import import_rows
from learning import tracking
from learning.models import ModelVersion
from learning.retraining import retrain
from tests.conftest import digits_zip

pytestmark = pytest.mark.django_db


def _load(project):
    data, _ = digits_zip(120, wrong=0)
    rows, errors = parse_zip("d.zip", io.BytesIO(data))
    for row in rows[:20]:
        row.label = None
    import_rows(project=project, rows=rows, errors=errors, name="d.zip")


def test_each_model_version_is_logged_as_an_mlflow_run(image_project, settings, tmp_path, monkeypatch):
    mlflow_tracking = pytest.importorskip("mlflow.tracking")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store for tests like this
    settings.MLFLOW_TRACKING_URI = f"file:{tmp_path / 'mlruns'}"
    settings.MLFLOW_EXPERIMENT_NAME = "quorum-tests"
    _load(image_project)
    frozen = version_create(project=image_project, name="labels-1")
    version = retrain(image_project)

    client = mlflow_tracking.MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI)
    experiment = client.get_experiment_by_name("quorum-tests")
    [run] = client.search_runs([experiment.experiment_id])
    assert run.data.params["algorithm"] == "logistic_regression"
    assert run.data.params["C"] == str(version.params["C"])
    assert "job" not in run.data.params and "artifact" not in run.data.params
    assert run.data.metrics["cv_accuracy"] == pytest.approx(version.cv_accuracy)
    assert run.data.metrics["ece"] == pytest.approx(version.metrics["ece"])
    assert run.data.metrics["n_train"] == 100
    assert run.data.metrics["f1.3"] == pytest.approx(version.metrics["per_class"]["3"]["f1"])
    tags = run.data.tags
    assert tags["quorum.project"] == "Digits" and tags["quorum.model_version"] == version.name
    # The training set is exactly the frozen dataset version: same content hash, so the run names it.
    assert tags["quorum.training_set_hash"] == version.metrics["training_set_hash"] == frozen.content_hash
    assert tags["quorum.dataset_version"] == "labels-1"
    assert run.info.status == "FINISHED"


def test_without_a_tracking_uri_mlflow_is_never_touched(image_project, settings, monkeypatch):
    settings.MLFLOW_TRACKING_URI = ""

    def boom(uri):
        raise AssertionError("mlflow must not be imported without MLFLOW_TRACKING_URI")

    monkeypatch.setattr(tracking, "_client", boom)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # an import attempt would raise ImportError
    _load(image_project)
    version = retrain(image_project)
    assert tracking.log_model_version(version) is None


def test_a_missing_mlflow_or_a_broken_server_only_logs_a_warning(image_project, settings, monkeypatch, caplog):
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9/"
    _load(image_project)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)  # the extra is not installed
    with caplog.at_level(logging.WARNING, logger="learning.tracking"):
        version = retrain(image_project)
    assert ModelVersion.objects.filter(pk=version.pk).exists()
    assert "mlflow is not installed" in caplog.text

    class Broken:
        def get_experiment_by_name(self, name):
            raise ConnectionError("tracking server down")

    monkeypatch.setattr(tracking, "_client", lambda uri: Broken())
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="learning.tracking"):
        assert tracking.log_model_version(version) is None
    assert "could not log model version" in caplog.text
