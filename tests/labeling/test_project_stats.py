"""Dashboard counts: exact for small projects, a background-recounted snapshot for big ones, never drifting."""
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import Item, LabelSource, Project, ProjectStats
from core.services import membership_set, project_create, set_final_label
from core.stats import project_stats, recount
from labeling.adjudication import set_item_marks
from labeling.queue import correct_annotation, last_annotation, next_assignment, submit_annotation
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _project(people, n, name="Stats"):
    project = project_create(name=f"{name} {n}", kind=Project.Kind.TEXT, labels=["yes", "no", "maybe"],
                             owner=people["manager"], overlap=1)
    for who in ("alice", "bob"):
        membership_set(project=project, user=people[who], role="annotator")
    add_texts(project, [f"text number {i}" for i in range(n)])
    return project


def _recount_by_hand(project) -> dict:
    """The figures computed the slow, obvious way, item by item in Python."""
    items = list(Item.objects.filter(project=project))
    by_label = {}
    for item in items:
        if item.final_label_id is not None:
            by_label[str(item.final_label_id)] = by_label.get(str(item.final_label_id), 0) + 1
    return {"total": len(items), "labeled": sum(by_label.values()), "by_label": by_label,
            "open": sum(1 for i in items if i.needed > 0 and i.annotation_count < i.needed and not i.excluded)}


def _figures(stats: dict) -> dict:
    return {k: stats[k] for k in ("total", "labeled", "open", "by_label")}


def _random_changes(project, people, rng, steps=40):
    """Submits, annotators' corrections, reviewer relabels and excludes, in a random order."""
    labels = list(project.labels.all())
    for _ in range(steps):
        action = rng.choice(["submit", "submit", "submit", "correct", "relabel", "exclude"])
        who = people[rng.choice(["alice", "bob"])]
        if action == "submit":
            lease = next_assignment(project=project, annotator=who)
            if lease is not None:
                submit_annotation(project=project, annotator=who, assignment_id=lease.pk,
                                  label_id=rng.choice(labels).pk)
        elif action == "correct":
            previous = last_annotation(project=project, annotator=who)
            if previous is not None:
                correct_annotation(project=project, annotator=who, annotation_id=previous.pk,
                                   label_id=rng.choice(labels).pk)
        elif action == "relabel":
            item = Item.objects.filter(project=project).order_by("?").first()
            set_final_label(item=item, label=rng.choice(labels), source=LabelSource.REVIEWER,
                            actor=people["reviewer"], reason="test")
        else:
            item = Item.objects.filter(project=project).order_by("?").first()
            set_item_marks(item=item, actor=people["reviewer"], reason="test", excluded=rng.random() < 0.8)


@pytest.mark.parametrize("seed", [1, 2])
def test_small_project_counts_equal_a_recount_after_random_changes(people, seed):
    project = _project(people, 30)
    _random_changes(project, people, random.Random(seed))
    stats = project_stats(project)
    assert stats["counted_at"] is None  # counted on the spot
    assert _figures(stats) == _recount_by_hand(project)
    assert stats["labeled"] > 0 and stats["open"] < stats["total"]


def test_big_project_shows_a_snapshot_recounted_in_the_background(people, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.QUORUM_STATS_EXACT_MAX_ITEMS = 10
    project = _project(people, 30)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert project_stats(project) is None  # first view: nothing counted yet, a recount is on its way
    assert len(sent) == 1
    first = project_stats(project)
    assert first["counted_at"] is not None and _figures(first) == _recount_by_hand(project)

    _random_changes(project, people, random.Random(3))
    with django_capture_on_commit_callbacks(execute=True) as sent:
        fresh_enough = project_stats(project)
    assert sent == [] and _figures(fresh_enough) == _figures(first)  # younger than the max age: as counted

    ProjectStats.objects.filter(project=project).update(counted_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True) as sent:
        project_stats(project)  # old: shown once more, and a recount is sent
        project_stats(project)  # ... only one, while it runs
    assert len(sent) == 1
    assert _figures(project_stats(project)) == _recount_by_hand(project)


def test_a_lost_recount_is_sent_again_later(people, settings, django_capture_on_commit_callbacks):
    settings.QUORUM_STATS_EXACT_MAX_ITEMS = 10
    project = _project(people, 30)
    project_stats(project)  # the recount is "sent" but its callback never runs: lost with the broker
    stats = ProjectStats.objects.get(project=project)
    assert stats.counted_at is None and stats.recount_sent_at is not None
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert project_stats(project) is None
    assert sent == []
    ProjectStats.objects.filter(project=project).update(recount_sent_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True) as sent:
        project_stats(project)
    assert len(sent) == 1
    assert _figures(project_stats(project)) == _recount_by_hand(project)


def _dashboard_queries(client, project) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("projects:project", args=[project.pk]))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("exact_max", [5000, 5], ids=["counted-on-view", "snapshot"])
def test_dashboard_runs_the_same_number_of_queries_for_10_and_200_items(client, people, settings, exact_max,
                                                                        django_capture_on_commit_callbacks):
    settings.QUORUM_STATS_EXACT_MAX_ITEMS = exact_max
    client.force_login(people["alice"])
    counts = []
    for n in (10, 200):
        project = _project(people, n)
        with django_capture_on_commit_callbacks(execute=True):
            client.get(reverse("projects:project", args=[project.pk]))  # a big project's first recount
        counts.append(_dashboard_queries(client, project))
    assert counts[0] == counts[1]
    # session, user, membership, labels, own progress, model, jobs, ranking notice, a running retrain (the model
    # card says "retraining now"), the latest finished audit (the model card's audit line); then the counts: a
    # snapshot of a big project is one row, a small project is its snapshot lookup, a capped size check and the
    # count.
    assert counts[0] == (10 + 1 if exact_max == 5 else 10 + 3)


def test_dashboard_page_says_when_a_big_project_was_counted(client, people, settings,
                                                            django_capture_on_commit_callbacks):
    settings.QUORUM_STATS_EXACT_MAX_ITEMS = 5
    client.force_login(people["alice"])
    project = _project(people, 12)
    url = reverse("projects:project", args=[project.pk])
    page = client.get(url).content.decode()
    assert 'id="counting"' in page  # no figures made up while the first recount runs
    ProjectStats.objects.filter(project=project).update(recount_sent_at=None)  # that send was lost
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
    page = client.get(url).content.decode()
    assert 'id="counted-at"' in page and "/ 12</span>" in page
    projects = client.get(reverse("projects:projects")).content.decode()
    assert "0 of 12 items" in projects and "counted" in projects


def test_a_recount_for_a_deleted_project_does_nothing(people):
    project = _project(people, 3)
    pk = project.pk
    project.delete()
    assert recount(pk) is None
    assert not ProjectStats.objects.filter(project_id=pk).exists()
