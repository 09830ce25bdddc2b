"""Log each model version to MLflow when MLFLOW_TRACKING_URI is set and the optional mlflow extra is installed."""
import importlib
import logging
import time

from django.conf import settings

from learning.models import ModelVersion

log = logging.getLogger(__name__)


def _client(uri: str):
    """An MlflowClient for ``uri``, or None when mlflow is not installed."""
    try:
        tracking = importlib.import_module("mlflow.tracking")
    except ImportError:
        log.warning("MLFLOW_TRACKING_URI is set but mlflow is not installed: pip install 'quorum[mlflow]'")
        return None
    return tracking.MlflowClient(tracking_uri=uri)


# Functions (version, training_set_hash) -> extra tags, registered by higher apps from their ready().
TAG_PROVIDERS: list = []


def run_data(version: ModelVersion) -> tuple[dict, dict, dict]:
    """(params, metrics, tags) of ``version`` as MLflow wants them: strings, floats, strings."""
    params = {"algorithm": version.algorithm, "origin": version.origin,
              **{k: v for k, v in version.params.items() if k not in ("job", "artifact")}}
    m = version.metrics or {}
    metrics = {"cv_accuracy": version.cv_accuracy, "ece": m.get("ece"), "n_train": version.n_train,
               "estimated_noise_rate": m.get("estimated_noise_rate")}
    for name, row in (m.get("per_class") or {}).items():
        metrics[f"f1.{name}"] = row.get("f1")
    training_set = m.get("training_set_hash", "")
    tags = {"quorum.project": version.project.name, "quorum.project_id": str(version.project_id),
            "quorum.model_version": version.name, "quorum.model_version_id": str(version.pk),
            "quorum.training_set_hash": training_set}
    for provider in TAG_PROVIDERS:  # e.g. the data app names the dataset version with this training set
        tags.update(provider(version, training_set))
    return ({k: str(v)[:500] for k, v in params.items()},
            {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)},
            tags)


def log_model_version(version: ModelVersion) -> str | None:
    """Log ``version`` as one MLflow run; return its run id. Never raises: tracking must not fail a retrain."""
    uri = getattr(settings, "MLFLOW_TRACKING_URI", "")
    if not uri:
        return None
    try:
        client = _client(uri)
        if client is None:
            return None
        from mlflow.entities import Metric, Param

        name = settings.MLFLOW_EXPERIMENT_NAME
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
        params, metrics, tags = run_data(version)
        run = client.create_run(experiment_id, run_name=f"{version.project.name} {version.name}", tags=tags)
        now = int(time.time() * 1000)
        client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in params.items()],
                         metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
        client.set_terminated(run.info.run_id)
        return run.info.run_id
    except Exception:  # noqa: BLE001 - an unreachable tracking server must not fail the retrain
        log.warning("could not log model version %s to MLflow at %s", version.pk, uri, exc_info=True)
        return None
