"""Dashboard counts at a cost that does not grow with the project.

A project of at most QUORUM_STATS_EXACT_MAX_ITEMS items is counted on every view (exact, and cheap at that
size). A bigger one shows a snapshot (ProjectStats) recounted from scratch by a background task when it is
older than QUORUM_STATS_MAX_AGE_SECONDS: a page view reads one row and never scans the project. The figures
are never maintained by increments, so they cannot drift; they can only be as old as the page says.
"""
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from core import jobs
from core.models import Item, Project, ProjectStats
from core.selectors import project_labels

# A recount whose task was lost (broker down, worker killed) is sent again after this long.
RECOUNT_RESEND_SECONDS = 600


def count_project(project: Project) -> dict:
    """Count the project's items in one statement (a scan of the project: call it only where that is fine)."""
    rows = (Item.objects.filter(project=project).order_by().values("final_label")
            .annotate(n=Count("id"), waiting=Count("id", filter=Q(needed__gt=0, annotation_count__lt=F("needed"),
                                                                   excluded=False))))
    counts = {"total": 0, "labeled": 0, "open": 0, "by_label": {}}
    for row in rows:
        counts["total"] += row["n"]
        counts["open"] += row["waiting"]
        if row["final_label"] is not None:
            counts["labeled"] += row["n"]
            counts["by_label"][str(row["final_label"])] = row["n"]
    return counts


def recount(project_id: int) -> ProjectStats | None:
    """Recount a project and store the snapshot (the background task's work); None if the project is gone."""
    project = Project.objects.filter(pk=project_id).only("pk").first()
    if project is None:
        return None
    started = timezone.now()
    counts = count_project(project)
    stats, _ = ProjectStats.objects.update_or_create(
        project_id=project_id, defaults={**counts, "counted_at": started, "recount_sent_at": None})
    return stats


def _is_small(project: Project) -> bool:
    """At most QUORUM_STATS_EXACT_MAX_ITEMS items? Reads at most that many entries of item_project_keyset."""
    limit = settings.QUORUM_STATS_EXACT_MAX_ITEMS
    return Item.objects.filter(project=project).order_by().values("pk")[: limit + 1].count() <= limit


def _send_recount(project: Project, stats: ProjectStats | None, now) -> None:
    """Ask for a recount unless one is already on its way (a conditional update claims the right to send)."""
    if stats is None:
        try:
            with transaction.atomic():
                ProjectStats.objects.create(project=project, recount_sent_at=now)
        except IntegrityError:
            return  # another request created it a moment ago and sent the recount
    else:
        lost = now - timedelta(seconds=RECOUNT_RESEND_SECONDS)
        claimed = (ProjectStats.objects.filter(pk=project.pk)
                   .filter(Q(recount_sent_at__isnull=True) | Q(recount_sent_at__lt=lost))
                   .update(recount_sent_at=now))
        if not claimed:
            return
    jobs.send_after_commit("core.tasks.recount_project", args=[project.pk])


def project_stats(project: Project) -> dict | None:
    """total, labeled, open, percent, by_label ({label id: count}) and counted_at (None: counted just now).

    None while the first recount of a big project is still running. A big project costs one query (its
    snapshot) and, when that is old, one more to claim the recount.
    """
    stats = ProjectStats.objects.filter(project=project).first()
    big = stats is not None and (stats.counted_at is None or stats.total > settings.QUORUM_STATS_EXACT_MAX_ITEMS)
    if not big and _is_small(project):
        counts = count_project(project)
        return {**counts, "counted_at": None, "percent": _percent(counts)}
    now = timezone.now()
    if stats is None or stats.counted_at is None or now - stats.counted_at > _max_age():
        _send_recount(project, stats, now)
    if stats is None or stats.counted_at is None:
        return None
    counts = {"total": stats.total, "labeled": stats.labeled, "open": stats.open, "by_label": stats.by_label}
    return {**counts, "counted_at": stats.counted_at, "percent": _percent(counts)}


def _percent(counts: dict) -> int:
    return int(100 * counts["labeled"] / counts["total"]) if counts["total"] else 0


def _max_age() -> timedelta:
    return timedelta(seconds=settings.QUORUM_STATS_MAX_AGE_SECONDS)


def class_counts(project: Project, stats: dict | None) -> list[dict]:
    """One row per label with its count of final labels and a bar width relative to the biggest class."""
    by_label = stats["by_label"] if stats else {}
    top = max(by_label.values(), default=0)
    return [{"label": lab, "count": by_label.get(str(lab.pk), 0),
             "percent": int(100 * by_label.get(str(lab.pk), 0) / top) if top else 0}
            for lab in project_labels(project)]
