"""Reads for the labeling screens, each in a constant number of queries."""
import threading
from time import monotonic

from django.db import connection

from core.models import Job, Project
from core.stats import project_stats
from learning.job_kinds import RETRAIN

# Counting open items stops here: the labeling page shows "more than 200 remaining" rather than scan a big
# project. The count reads the partial rank_queue index only (is_open includes `excluded`), no item rows.
REMAINING_CAP = 200


# Both counts in one statement (one round trip, nothing for the ORM to build on the hot path). The two
# columns also ride on the statement that leases the next item (labeling.queue.LEASE_SQL), which saves the
# labeling screen this statement whenever it serves a new item.
PROGRESS_COLUMNS = """
  COALESCE((SELECT annotation_count FROM labeling_membership
   WHERE project_id = %(project)s AND user_id = %(annotator)s), 0),
  (SELECT COUNT(*) FROM (SELECT 1 FROM labeling_itemrank
   WHERE project_id = %(project)s AND is_open
   ORDER BY priority DESC, item_id LIMIT %(cap)s) open_items)
"""
PROGRESS_SQL = f"SELECT {PROGRESS_COLUMNS}"


def progress_params(project: Project, annotator) -> dict:
    return {"project": project.pk, "annotator": annotator.pk, "cap": REMAINING_CAP + 1}


def annotator_progress(project: Project, annotator, *, counts: tuple[int, int] | None = None) -> dict:
    """The annotator's own labels (exact) and the open items (exact up to REMAINING_CAP, then "at least").

    Neither count grows with the project or the annotator's history: ``done`` is one row, the membership's
    count that the submit keeps (Membership.annotation_count), ``remaining`` walks at most REMAINING_CAP + 1
    entries of the partial rank_queue index (the ORDER BY steers the planner onto it).
    ``percent`` is None when the remaining count is only a lower bound, so the page never shows a made-up
    figure. ``counts``: (done, open items up to the cap) when the caller read them already (PROGRESS_COLUMNS).
    """
    if counts is None:
        with connection.cursor() as cursor:
            cursor.execute(PROGRESS_SQL, progress_params(project, annotator))
            counts = cursor.fetchone()
    done, remaining = counts
    capped = remaining > REMAINING_CAP
    remaining = min(remaining, REMAINING_CAP)
    total = done + remaining
    percent = None if capped else (int(100 * done / total) if total else 100)
    return {"done": done, "remaining": remaining, "remaining_capped": capped, "percent": percent}


# The project's counts under the labeling screen's progress bar, when they come from the stats snapshot (big
# projects): the snapshot is itself up to QUORUM_STATS_MAX_AGE_SECONDS old, so each process keeps it a few
# seconds more rather than read it (and try to claim its recount) on every next item and every submit.
OVERALL_KEEP_SECONDS = 5.0
_overall: dict[tuple, tuple[float, dict]] = {}
_overall_lock = threading.Lock()


def overall_progress(project: Project) -> dict | None:
    """project_stats for the progress bar; a big project's snapshot (counted_at set), or its "not counted
    yet" (None), is reused for OVERALL_KEEP_SECONDS.

    Exact counts (small projects: counted_at None) are never reused, so a small project's bar moves with
    every label as before. The key holds created_at, so a project id that a
    test database hands out again never meets an old entry.
    """
    key = (project.pk, project.created_at)
    now = monotonic()
    kept = _overall.get(key)
    if kept is not None and kept[0] > now:
        return kept[1]
    stats = project_stats(project)
    if stats is None or stats["counted_at"] is not None:
        with _overall_lock:
            if len(_overall) > 1000:  # many projects in one process: drop the lot rather than grow
                _overall.clear()
            _overall[key] = (now + OVERALL_KEEP_SECONDS, stats)
    return stats


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
