"""When the model retrains: after every ``retrain_every`` new labels, or when someone asks."""
import json

from django.db import connection, transaction
from django.db.models import Sum

from core import jobs
from core.models import Job, Membership, Project
from learning.job_kinds import RETRAIN

# The project's latest retrain job (state and params; NULL before the first) and its count of first
# annotations, the sum of its memberships' counters (Membership.annotation_count, kept by every submit): one
# row read through the membership_unique index, as cheap at retrain_every = 1,000,000 as at 50. (An OFFSET
# walk over the annotations since the job took 42-48 ms per submit with 300,000 of them.)
RETRAIN_DUE_SQL = """
SELECT j.state, j.params, c.total
FROM (SELECT COALESCE(SUM(annotation_count), 0) AS total FROM labeling_membership
      WHERE project_id = %(project)s) c
LEFT JOIN (SELECT state, params FROM labeling_job WHERE project_id = %(project)s AND kind = 'retrain'
           ORDER BY created_at DESC, id DESC LIMIT 1) j ON 1 = 1
"""
# Stored in a retrain job's params when it is queued: the project's count of first annotations then.
ANNOTATIONS_AT = "annotations_at"


def annotation_total(project: Project) -> int:
    """The project's first annotations (corrections add none), from its memberships' counters."""
    total = Membership.objects.filter(project=project).aggregate(total=Sum("annotation_count"))["total"]
    return int(total or 0)


NOT_READ = object()


def maybe_retrain(*, project: Project, due=NOT_READ, unseen: int = 0) -> Job | None:
    """Queue a retrain after ``retrain_every`` new annotations; never two at once for one project.

    Runs in every submit, so it is one small query (RETRAIN_DUE_SQL, written out: building it through the ORM
    cost more than running it), or none when the caller read its row (``due``) along with its own write,
    ``unseen`` annotations short. New annotations: the project's count now less the count stored with the
    latest retrain job when it was queued (0 for a job queued before that was stored, and before the first).
    """
    every = max(project.retrain_every, 1)
    if due is NOT_READ:
        with connection.cursor() as cursor:
            cursor.execute(RETRAIN_DUE_SQL, {"project": project.pk})
            due, unseen = cursor.fetchone(), 0
    state, params, total = due
    params = json.loads(params) if isinstance(params, str) else (params or {})
    if state == Job.State.QUEUED or (state == Job.State.RUNNING and params.get("rerun")):
        return None  # a retrain that has not started (or will run again) takes the new labels anyway
    now = int(total or 0) + unseen
    if now - int(params.get(ANNOTATIONS_AT, 0)) < every:
        return None
    return request_retrain(project=project, user=None, annotations_at=now)


def on_annotation_total_shifted(sender, project_id: int, delta: int, **kwargs) -> None:
    """A member left (or came back) with their annotations: the memberships' sum moved by ``delta`` without a
    new label, so the latest retrain job's reference moves with it and the labels counted since stay the same.
    (Before the project's first retrain there is no reference: the sum of the current members' counts counts.)"""
    job = (Job.objects.select_for_update().filter(project_id=project_id, kind=RETRAIN)
           .order_by("-created_at", "-id").first())
    if job is not None:
        job.params = {**job.params, ANNOTATIONS_AT: int(job.params.get(ANNOTATIONS_AT, 0)) + delta}
        job.save(update_fields=["params"])


def request_retrain(*, project: Project, user, annotations_at: int | None = None) -> Job:
    """Queue a retrain, or, if one is already queued or running, ask it to run once more afterwards.

    ``annotations_at``: the project's count of first annotations now, when the caller has just read it
    (``maybe_retrain``); otherwise it is summed here (``annotation_total``)."""
    if annotations_at is None:
        annotations_at = annotation_total(project)
    with transaction.atomic():
        job, created = jobs.request_job(project=project, kind=RETRAIN, user=user, params={ANNOTATIONS_AT: annotations_at})
        if not created and job.state == Job.State.RUNNING and not job.params.get("rerun"):
            job.params = {**job.params, "rerun": True}
            job.save(update_fields=["params"])
        return job
