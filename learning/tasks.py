"""Celery tasks of the learning app: retrain, the ranking chord, auto-accept, the annotator model. Thin wrappers
over services."""
import logging
import os
import time
import traceback

from celery import chord, group, shared_task
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from core import jobs
from core.models import Job, Project
from learning import ranking
from learning.annotators import fit_annotator_model
from learning.job_kinds import RANK, RETRAIN
from learning.models import ModelVersion
from learning.retraining import retrain as retrain_service
from learning.schedule import request_retrain
from learning.signals import model_ranked
from ml.embedders import EmbedderError
from ml.training import NotEnoughLabels

log = logging.getLogger(__name__)


def _test_delay() -> None:
    """Test-only hook: the crash test slows a task down so it can kill the worker in the middle of it."""
    seconds = float(os.environ.get("QUORUM_TEST_TASK_DELAY", "0") or 0)
    if seconds > 0:
        time.sleep(seconds)


@shared_task(name="learning.tasks.retrain", bind=True, acks_late=True, reject_on_worker_lost=True)
def retrain(self, job_id: int) -> None:
    job = jobs.claim_or_retry(self, job_id, RETRAIN)
    if job is None:
        return
    fanned_out = False
    try:
        jobs.progress(job, 0, total=100, message="Computing features")
        _test_delay()
        version = retrain_service(job.project, job_id=job.pk, rank=False, on_progress=lambda d, t: jobs.progress(
            job, int(60 * d / max(t, 1)), message=f"Computing features ({d}/{t})"))
        fanned_out = start_ranking(version, job)
    except EmbedderError as exc:  # a bad QUORUM_EMBEDDER or project choice: say which and how to fix it
        jobs.fail(job, f"Item features could not be computed: {exc}. Change the embedder on the project's "
                       "Item features page (or QUORUM_EMBEDDER) and retrain.")
    except NotEnoughLabels as exc:
        picked = ranking.cold_start_queue(job.project)
        moved = f"; {len(picked)} representative items moved to the front of the queue" if picked else ""
        jobs.finish(job, result={"skipped": str(exc), "cold_start": len(picked)}, message=f"Not trained: {exc}{moved}")
    except Exception:
        jobs.fail(job, traceback.format_exc(limit=5))
        raise
    finally:
        if not fanned_out:  # a fanned-out ranking asks for the re-run when its merge finishes
            _rerun_if_asked(job)


def _rerun_if_asked(job: Job) -> None:
    job.refresh_from_db()
    if job.params.get("rerun"):
        request_retrain(project=job.project, user=None)


def start_ranking(version: ModelVersion, job: Job) -> bool:
    """Rank ``version`` for ``job``: in this task when it fits one chunk, else as a chord of chunk tasks.

    Returns True when a chord was sent (its rank_merge callback finishes the job), False when done here.
    """
    chunks = ranking.plan(version)
    if len(chunks) <= 1:
        ranking.rank_inline(version, job_id=job.pk)
        _finish_ranking(job.pk, version)
        return False
    Job.objects.filter(pk=job.pk).update(done=0, total=len(chunks), heartbeat_at=timezone.now(),
                                         message=f"Ranking in {len(chunks)} chunks")
    from quorum.celery import app  # this project's app, even if another Celery() became the current one

    header = group([app.signature("learning.tasks.rank_chunk", args=(version.pk, lo, hi, job.pk))
                    for lo, hi in chunks], app=app)
    chord(header, app=app)(app.signature("learning.tasks.rank_merge", args=(version.pk, job.pk)))
    return True


@shared_task(name="learning.tasks.rank_chunk", acks_late=True, reject_on_worker_lost=True, ignore_result=False)
def rank_chunk(version_id: int, lo: int, hi: int, job_id: int | None = None) -> dict:
    """One chunk of a ranking chord: predict and rank items lo..hi, return their best candidates."""
    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    try:
        result = ranking.rank_chunk(version, lo, hi, job_id=job_id)
    except Exception:
        if job_id is not None:
            jobs.fail(Job.objects.get(pk=job_id), traceback.format_exc(limit=5))
        raise
    if job_id is not None:  # one more chunk done (a redelivered chunk cannot push it past the total)
        Job.objects.filter(pk=job_id, state=Job.State.RUNNING).update(
            done=Least(F("done") + 1, F("total")), heartbeat_at=timezone.now())
    return result


@shared_task(name="learning.tasks.rank_merge", acks_late=True, reject_on_worker_lost=True)
def rank_merge(results: list[dict], version_id: int, job_id: int) -> None:
    """The chord callback: choose the head of the queue from every chunk's candidates, finish the job once."""
    version = ModelVersion.objects.select_related("project").get(pk=version_id)
    ranking.merge(version, results, job_id=job_id)
    job = _finish_ranking(job_id, version, chunk_db=ranking.chunk_db_seconds(results))
    if job is not None and job.kind == RETRAIN:
        _rerun_if_asked(job)


def _finish_ranking(job_id: int, version: ModelVersion, *, chunk_db: dict | None = None) -> Job | None:
    """Mark the job succeeded, once; after a retrain, look for mislabels. None if it was already finished."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, state=Job.State.RUNNING).first()
        if job is None:
            return None
        if job.kind == RETRAIN:
            jobs.finish(job, result={"model_version": version.pk, "cv_accuracy": version.cv_accuracy},
                        message=f"Trained {version.name}: cross-validated accuracy {version.cv_accuracy:.1%}")
        else:
            jobs.finish(job, result={"model_version": version.pk, **({"chunk_db_seconds": chunk_db} if chunk_db else {})},
                        message=f"Ranked the queue from {version.name}")
    if job.kind == RETRAIN:  # all read the new model: flags, spot checks ahead of ranked items, annotator weights
        jobs.send_task("learning.tasks.auto_accept", args=[version.pk])
        jobs.send_task("learning.tasks.fit_annotators", args=[version.project_id])
        model_ranked.send(sender=ModelVersion, version=version)
    return job


@shared_task(name="learning.tasks.rank", bind=True, acks_late=True, reject_on_worker_lost=True)
def rank(self, job_id: int) -> None:
    """Rank the queue from an existing model version (an upload too large to rank in its request)."""
    job = jobs.claim_or_retry(self, job_id, RANK)
    if job is None:
        return
    try:
        version = ModelVersion.objects.select_related("project").get(pk=job.params["model_version"])
        start_ranking(version, job)
    except Exception:
        jobs.fail(job, traceback.format_exc(limit=5))
        raise


@shared_task(name="learning.tasks.auto_accept", acks_late=True, reject_on_worker_lost=True)
def auto_accept(version_id: int) -> None:
    """After a retrain (or when a manager turns it on): label what the model is sure of. Idempotent."""
    from learning.autoaccept import run

    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is not None:
        run(version=version)


@shared_task(name="learning.tasks.fit_annotators", acks_late=True, reject_on_worker_lost=True)
def fit_annotators(project_id: int) -> None:
    """Fit and store the project's annotator model, which submits apply to the items they complete."""
    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        fit_annotator_model(project=project)
