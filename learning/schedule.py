"""When the model retrains: after every ``retrain_every`` new labels, or when someone asks."""
import json

from django.db import connection, transaction

from core import jobs
from core.models import Annotation, Job, Project
from learning.job_kinds import RETRAIN

# The latest retrain job of the project, and the id of the ``every``-th first annotation made since it was
# queued (NULL when there are fewer): OFFSET on the annotation_new index, never a count of the whole project.
RETRAIN_DUE_SQL = """
SELECT j.state, j.params,
  (SELECT a.id FROM labeling_annotation a
   WHERE a.project_id = %(project)s AND a.supersedes_id IS NULL AND a.created_at > j.created_at
   LIMIT 1 OFFSET %(offset)s)
FROM labeling_job j WHERE j.project_id = %(project)s AND j.kind = 'retrain'
ORDER BY j.created_at DESC, j.id DESC LIMIT 1
"""


def retrain_due_params(project: Project, *, unseen: int = 0) -> dict:
    """RETRAIN_DUE_SQL's parameters; ``unseen``: new annotations the statement cannot see yet (0 or 1), as
    when it runs in the same statement that inserts the annotation (labeling.queue)."""
    return {"project": project.pk, "offset": max(max(project.retrain_every, 1) - 1 - unseen, 0)}


NOT_READ = object()


def maybe_retrain(*, project: Project, due=NOT_READ, unseen: int = 0) -> Job | None:
    """Queue a retrain after ``retrain_every`` new annotations; never two at once for one project.

    Runs in every submit, so it is one indexed query (RETRAIN_DUE_SQL, written out: building it through the
    ORM cost more than running it), or none when the caller read its row (``due``, None when the project has
    no retrain job) along with its own write, ``unseen`` annotations short. Before the project's first
    retrain, a second query asks the same of all its annotations.
    """
    every = max(project.retrain_every, 1)
    if due is NOT_READ:
        with connection.cursor() as cursor:
            cursor.execute(RETRAIN_DUE_SQL, retrain_due_params(project))
            due, unseen = cursor.fetchone(), 0
    if due is not None:
        state, params, enough = due
        params = json.loads(params) if isinstance(params, str) else (params or {})
        if state == Job.State.QUEUED or (state == Job.State.RUNNING and params.get("rerun")):
            return None  # a retrain that has not started (or will run again) takes the new labels anyway
        if enough is None and unseen < every:
            return None
    elif not list(Annotation.objects.filter(project=project, supersedes__isnull=True).order_by()
                  .values_list("pk", flat=True)[every - 1:every]):
        return None
    return request_retrain(project=project, user=None)


def request_retrain(*, project: Project, user) -> Job:
    """Queue a retrain, or, if one is already queued or running, ask it to run once more afterwards."""
    with transaction.atomic():
        job, created = jobs.request_job(project=project, kind=RETRAIN, user=user)
        if not created and job.state == Job.State.RUNNING and not job.params.get("rerun"):
            job.params = {**job.params, "rerun": True}
            job.save(update_fields=["params"])
        return job
