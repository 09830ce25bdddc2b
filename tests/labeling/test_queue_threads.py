"""Real threads against live PostgreSQL: no item goes to two annotators, overlap k means exactly k."""
import threading

import pytest
from django.db import connection, connections
from django.db.models import Count

from core.models import Annotation, Assignment, Item, Project, Role
from core.services import membership_set, project_create
from labeling.queue import next_assignment, submit_annotation
from tests.conftest import add_texts
from tests.labeling.threaded import threaded_project

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.pg_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]


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



def test_eight_threads_never_give_an_item_to_two_annotators_with_overlap_1(people, make_user):
    project, users = threaded_project(people, make_user, name="race", overlap=1, items=120)
    submitted = _race(project, users)
    assert len(submitted) == 120 == len(set(submitted))
    assert Annotation.objects.filter(project=project).count() == 120
    per_item = Assignment.objects.filter(project=project).values("item").annotate(n=Count("id"))
    assert {row["n"] for row in per_item} == {1}
    assert set(Item.objects.filter(project=project).values_list("annotation_count", flat=True)) == {1}
    # the work really was shared between threads, so the race was real
    assert Annotation.objects.filter(project=project).values("annotator").distinct().count() > 1


def test_eight_threads_with_overlap_3_give_each_item_exactly_3_distinct_annotators(people, make_user):
    project, users = threaded_project(people, make_user, name="race", overlap=3, items=40)
    submitted = _race(project, users)
    assert len(submitted) == 120 == len(set(submitted))
    per_item = (Annotation.objects.filter(project=project).values("item")
                .annotate(n=Count("id"), distinct=Count("annotator", distinct=True)))
    assert len(per_item) == 40
    assert all(row["n"] == 3 and row["distinct"] == 3 for row in per_item)
    assert set(Item.objects.filter(project=project).values_list("annotation_count", flat=True)) == {3}


def _wait_until_blocked_on_a_lock(deadline_s: float = 60.0) -> None:
    """Wait (by condition) until another backend of this database waits for a row lock."""
    import time
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
    raise AssertionError("no backend ever waited for the item's row lock")


def test_a_submit_that_commits_while_another_annotator_waits_leaves_the_item_to_them(people, make_user):
    """The last open slot must not look full to the annotator who waited for the submit's row lock.

    A's submit holds the only item's row; B's queue finds every open item locked and waits for it. When A
    commits, the item has one annotation and no lease: B must get it, not "the queue is empty" (the waiting
    statement saw A's lease as still open and the fresh annotation count too, and counted A twice).
    """
    from django.db import transaction

    project = project_create(name="wait", kind=Project.Kind.TEXT, labels=["a", "b"], owner=people["manager"],
                             overlap=2, retrain_every=10_000)
    a, b = make_user("waiter_a"), make_user("waiter_b")
    for user in (a, b):
        membership_set(project=project, user=user, role=Role.ANNOTATOR)
    add_texts(project, ["only item"])
    lease_a = next_assignment(project=project, annotator=a)
    label_id = project.labels.first().pk
    submitted, release, results, failures = threading.Event(), threading.Event(), [], []

    def submit_and_hold():
        try:
            with transaction.atomic():
                submit_annotation(project=project, annotator=a, assignment_id=lease_a.pk, label_id=label_id)
                submitted.set()
                release.wait(120)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
            failures.append(exc)
            submitted.set()
        finally:
            connections.close_all()

    def serve_b():
        try:
            results.append(next_assignment(project=project, annotator=b))
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            connections.close_all()

    holder = threading.Thread(target=submit_and_hold)
    holder.start()
    assert submitted.wait(120)
    waiter = threading.Thread(target=serve_b)
    waiter.start()
    try:
        _wait_until_blocked_on_a_lock()
    finally:
        release.set()
    holder.join(120)
    waiter.join(120)
    assert not failures, failures
    assert results and results[0] is not None, "B was told the queue is empty while the item needed B"
    assert results[0].item_id == lease_a.item_id
