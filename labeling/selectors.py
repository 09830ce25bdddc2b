"""Reads for the labeling screens, each in a constant number of queries."""
from django.db import connection

from core.models import Job, Project
from learning.job_kinds import RETRAIN

# Counting open items stops here: the labeling page shows "more than 200 remaining" rather than scan a big
# project. Each counted row is a heap visit (the partial index does not hold `excluded`): 1,000 cost ~3 ms.
REMAINING_CAP = 200


# Both counts in one statement (one round trip, nothing for the ORM to build on the hot path).
PROGRESS_SQL = """
SELECT
  (SELECT COUNT(*) FROM labeling_annotation
   WHERE project_id = %(project)s AND annotator_id = %(annotator)s AND supersedes_id IS NULL),
  (SELECT COUNT(*) FROM (SELECT 1 FROM labeling_item
   WHERE project_id = %(project)s AND annotation_count < needed AND NOT excluded
   ORDER BY priority DESC, id LIMIT %(cap)s) open_items)
"""


def annotator_progress(project: Project, annotator) -> dict:
    """The annotator's own labels (exact) and the open items (exact up to REMAINING_CAP, then "at least").

    Both counts walk an index and stop early, so the cost per request does not grow with the project:
    ``done`` reads the annotator's entries of annotation_first_by_annotator, ``remaining`` at most
    REMAINING_CAP + 1 entries of the partial item_queue index (the ORDER BY steers the planner onto it).
    ``percent`` is None when the remaining count is only a lower bound, so the page never shows a made-up
    figure.
    """
    with connection.cursor() as cursor:
        cursor.execute(PROGRESS_SQL, {"project": project.pk, "annotator": annotator.pk, "cap": REMAINING_CAP + 1})
        done, remaining = cursor.fetchone()
    capped = remaining > REMAINING_CAP
    remaining = min(remaining, REMAINING_CAP)
    total = done + remaining
    percent = None if capped else (int(100 * done / total) if total else 100)
    return {"done": done, "remaining": remaining, "remaining_capped": capped, "percent": percent}



def ranking_paused(project: Project) -> str:
    """A notice when the queue order is stale because a retrain cannot run (broker down, no worker); else ""."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from core.jobs import BROKER_DOWN_MESSAGE

    job = (Job.objects.filter(project=project, kind=RETRAIN, state=Job.State.QUEUED)
           .only("created_at", "message").order_by("created_at").first())
    if job is None:
        return ""
    waited = timezone.now() - job.created_at
    if job.message == BROKER_DOWN_MESSAGE or waited > timedelta(seconds=settings.QUORUM_RANKING_PAUSED_AFTER_SECONDS):
        return ("Ranking is paused: the model cannot retrain right now (the task queue is unavailable). "
                "Keep labeling: every label is saved, and ranking resumes by itself when the queue is back.")
    return ""
