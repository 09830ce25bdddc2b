"""Real threads against live PostgreSQL: no item goes to two annotators, overlap k means exactly k."""
import threading

import pytest
from django.db import connection, connections
from django.db.models import Count

from core.models import Annotation, Assignment, Item, Project, Role
from core.services import membership_set, project_create
from labeling.queue import next_assignment, submit_annotation
from tests.conftest import add_texts

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.pg_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]
THREADS = 8


def _race(project, users) -> list[int]:
    """Every user labels in its own thread until the queue is empty; returns the assignment ids submitted."""
    label_id = project.labels.first().pk
    start = threading.Barrier(len(users))
    submitted, failures = [], []
    lock = threading.Lock()

    def annotate(user):
        try:
            start.wait()
            for _ in range(1000):  # bounded: the queue is much smaller
                assignment = next_assignment(project=project, annotator=user)
                if assignment is None:
                    return
                _, created = submit_annotation(project=project, annotator=user, assignment_id=assignment.pk,
                                               label_id=label_id)
                with lock:
                    submitted.append((assignment.pk, created))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=annotate, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    assert all(created for _, created in submitted)
    return [pk for pk, _ in submitted]


def _project(people, make_user, *, overlap, items):
    project = project_create(name=f"race k={overlap}", kind=Project.Kind.TEXT, labels=["a", "b"],
                             owner=people["manager"], overlap=overlap, retrain_every=10_000)
    users = [make_user(f"racer{overlap}_{i}") for i in range(THREADS)]
    for user in users:
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    add_texts(project, [f"item {i}" for i in range(items)])
    return project, users


def test_eight_threads_never_give_an_item_to_two_annotators_with_overlap_1(people, make_user):
    project, users = _project(people, make_user, overlap=1, items=120)
    submitted = _race(project, users)
    assert len(submitted) == 120 == len(set(submitted))
    assert Annotation.objects.filter(project=project).count() == 120
    per_item = Assignment.objects.filter(project=project).values("item").annotate(n=Count("id"))
    assert {row["n"] for row in per_item} == {1}
    assert set(Item.objects.filter(project=project).values_list("annotation_count", flat=True)) == {1}
    # the work really was shared between threads, so the race was real
    assert Annotation.objects.filter(project=project).values("annotator").distinct().count() > 1


def test_eight_threads_with_overlap_3_give_each_item_exactly_3_distinct_annotators(people, make_user):
    project, users = _project(people, make_user, overlap=3, items=40)
    submitted = _race(project, users)
    assert len(submitted) == 120 == len(set(submitted))
    per_item = (Annotation.objects.filter(project=project).values("item")
                .annotate(n=Count("id"), distinct=Count("annotator", distinct=True)))
    assert len(per_item) == 40
    assert all(row["n"] == 3 and row["distinct"] == 3 for row in per_item)
    assert set(Item.objects.filter(project=project).values_list("annotation_count", flat=True)) == {3}
