"""Real threads against live PostgreSQL through the labeling screen's submit (submit_and_serve: the submit and the
next lease in one transaction): no deadlock, overlap k means exactly k, and the "done" counts stay exact."""
import threading

import pytest
from django.db import connection, connections
from django.db.models import Count

from core.models import Annotation, Membership
from labeling.queue import next_assignment, submit_and_serve, submit_annotation
from tests.labeling.threaded import THREADS, threaded_project

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.pg_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
]



def _in_threads(target, args_list) -> list:
    failures = []

    def run(*args):
        try:
            target(*args)
        except Exception as exc:  # noqa: BLE001 - surfaced by the caller's assert
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    return failures


def test_eight_annotators_labeling_through_submit_and_serve_give_each_item_exactly_3(people, make_user):
    project, users = threaded_project(people, make_user, name="serve", overlap=3, items=12)
    label_id = project.labels.first().pk
    start = threading.Barrier(THREADS)

    def annotate(user):
        start.wait()
        served = next_assignment(project=project, annotator=user)
        for _ in range(100):  # bounded: 36 slots in all
            if served is None:
                return
            _, created, served = submit_and_serve(project=project, annotator=user, assignment_id=served.pk,
                                                  label_id=label_id, open_lease=None)
            assert created

    failures = _in_threads(annotate, [(u,) for u in users])
    assert not failures, failures
    per_item = Annotation.objects.filter(project=project).values("item").annotate(n=Count("annotator", distinct=True))
    assert sorted(row["n"] for row in per_item) == [3] * 12
    for membership in Membership.objects.filter(project=project, user__in=users):
        assert membership.annotation_count == Annotation.objects.filter(
            project=project, annotator=membership.user, supersedes__isnull=True).count()


def test_the_same_assignment_submitted_twice_at_once_stores_and_counts_one_annotation(people, make_user):
    project, users = threaded_project(people, make_user, name="serve", overlap=1, items=3)
    alice = users[0]
    assignment = next_assignment(project=project, annotator=alice)
    label_id = project.labels.first().pk
    start, created = threading.Barrier(2), []

    def submit():
        start.wait()
        created.append(submit_annotation(project=project, annotator=alice, assignment_id=assignment.pk,
                                         label_id=label_id)[1])

    failures = _in_threads(submit, [(), ()])
    assert not failures, failures
    assert sorted(created) == [False, True]
    assert Annotation.objects.filter(assignment=assignment).count() == 1
    assert Membership.objects.get(project=project, user=alice).annotation_count == 1


def test_when_every_open_item_is_locked_the_submit_commits_before_the_serving_waits(people, make_user):
    """The serving inside the submit's transaction never waits for a row lock (it could deadlock with the
    holder): it gives up, the submit commits, and only then does the serving wait, holding nothing."""
    from django.db import transaction

    from core.models import Item
    from tests.labeling.test_queue_threads import _wait_until_blocked_on_a_lock

    project, users = threaded_project(people, make_user, name="serve", overlap=1, items=2)
    alice = users[0]
    first = next_assignment(project=project, annotator=alice)
    other = Item.objects.filter(project=project).exclude(pk=first.item_id).get()
    locked, release, results = threading.Event(), threading.Event(), []

    def hold_the_other_item():
        with transaction.atomic():
            list(Item.objects.select_for_update().filter(pk=other.pk))
            locked.set()
            release.wait(120)

    def submit():
        results.append(submit_and_serve(project=project, annotator=alice, assignment_id=first.pk,
                                        label_id=project.labels.first().pk, open_lease=None))

    holder = threading.Thread(target=lambda: _in_threads(hold_the_other_item, [()]))
    holder.start()
    assert locked.wait(120)
    submitter = threading.Thread(target=lambda: results.append(_in_threads(submit, [()])))
    submitter.start()
    try:
        _wait_until_blocked_on_a_lock()
        # The serving waits now: the annotation is committed already (this is another connection).
        assert Annotation.objects.filter(assignment_id=first.pk).exists()
    finally:
        release.set()
    holder.join(120)
    submitter.join(120)
    (annotation, created, served), failures = results
    assert failures == [] and created and served is not None and served.item_id == other.pk
