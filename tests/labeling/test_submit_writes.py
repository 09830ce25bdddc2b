"""A submit writes the annotation, its assignment's DONE, the label event and the item, and settles open flags:
the same rows on both databases (PostgreSQL writes them in fewer statements)."""
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.members import member_add, member_remove
from core.models import Annotation, Assignment, Item, ItemRank, Job, LabelEvent, LabelSource
from labeling.queue import next_assignment, submit_annotation
from labeling.selectors import annotator_progress
from learning.job_kinds import RETRAIN
from learning.schedule import ANNOTATIONS_AT, annotation_total, maybe_retrain, request_retrain
from review.models import Flag
from tests.conftest import add_texts
from tests.review.helpers import flag

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _serve_and_submit(project, user, label_name):
    assignment = next_assignment(project=project, annotator=user)
    label = project.labels.get(name=label_name)
    with CaptureQueriesContext(connection) as queries:
        annotation, created = submit_annotation(project=project, annotator=user, assignment_id=assignment.pk,
                                                label_id=label.pk, seconds=2.5)
    assert created
    return assignment, annotation, [q["sql"] for q in queries]


def test_a_submit_writes_the_annotation_the_done_assignment_the_event_and_the_item(text_project, people):
    add_texts(text_project, ["only item"])
    before = Item.objects.get(project=text_project)
    assignment, annotation, _ = _serve_and_submit(text_project, people["alice"], "negative")

    stored = Annotation.objects.get(pk=annotation.pk)
    negative = text_project.labels.get(name="negative")
    assert (stored.item_id, stored.annotator, stored.label, stored.seconds, stored.assignment_id) == (
        before.pk, people["alice"], negative, 2.5, assignment.pk)
    assert stored.created_at == annotation.created_at
    assert Assignment.objects.get(pk=assignment.pk).state == Assignment.State.DONE
    item = Item.objects.get(pk=before.pk)
    assert (item.final_label, item.final_source, item.final_confidence, item.annotation_count) == (
        negative, LabelSource.ANNOTATOR, None, 1)
    assert item.updated_at > before.updated_at
    event = LabelEvent.objects.get(item=item, source=LabelSource.ANNOTATOR)
    assert (event.actor, event.from_label_id, event.to_label, event.cause, event.reason, event.undoes_id) == (
        people["alice"], None, negative, f"annotation:{annotation.pk}", "labelled by annotator", None)
    assert annotation.created_at <= event.created_at <= item.updated_at
    # The history stays append-only: the event the submit returned through cannot be saved over.
    with pytest.raises(ValueError):
        event.save()


def test_a_submit_settles_the_items_open_flags_and_leaves_other_items_flags(text_project, people):
    add_texts(text_project, ["flagged item", "other item"])
    flagged, other = (Item.objects.get(project=text_project, text=t) for t in ("flagged item", "other item"))
    ItemRank.objects.filter(pk=other.pk).update(priority=-1.0)  # the flagged item is served first
    open_one = flag(flagged, reason=Flag.Reason.DATA_QUALITY, suggested="positive")
    untouched = flag(other, reason=Flag.Reason.DATA_QUALITY, suggested="positive")

    _, annotation, _ = _serve_and_submit(text_project, people["alice"], "neutral")

    assert annotation.item_id == flagged.pk
    open_one.refresh_from_db()
    assert (open_one.status, open_one.action, open_one.resolved_by, open_one.label_changed, open_one.version) == (
        Flag.Status.RESOLVED, "settled", people["alice"], True, 2)
    assert open_one.resolution == f"settled: alice set the label to neutral (annotation:{annotation.pk})"
    assert Flag.objects.get(pk=untouched.pk).status == Flag.Status.OPEN


def test_a_submit_on_an_item_without_open_flags_asks_for_them_once_and_reads_no_flag_rows(text_project, people):
    add_texts(text_project, ["plain item"])
    _, _, queries = _serve_and_submit(text_project, people["alice"], "positive")
    on_flags = [sql for sql in queries if "review_flag" in sql]
    # One written-out id lookup; before, the ORM read whole flag rows (with their suggested label) to find none.
    assert len(on_flags) == 1 and '"review_flag"."explanation"' not in on_flags[0]
    statements = {"postgresql": 6, "sqlite": 11}[connection.vendor]
    # Savepoint, lock, the project's labels (the view has them with the membership), annotation, open flags,
    # retrain check, release. PostgreSQL: the annotation statement also locks
    # the assignment and its item first, marks the assignment DONE, counts it in the annotator's membership and
    # reads the retrain check; the label event and the item's UPDATE are one statement. SQLite
    # writes and asks each in its own statement (the membership's count: +1 there, where the labeling
    # screen's submit saves two).
    assert len(queries) == statements, "\n".join(q[:60] for q in queries)


@pytest.mark.parametrize("every", [1, 3])
def test_a_retrain_is_queued_by_the_every_th_submit_since_the_last_one(text_project, people, every):
    add_texts(text_project, [f"item {n}" for n in range(5)])
    text_project.retrain_every = every
    text_project.save(update_fields=["retrain_every"])
    Job.objects.create(project=text_project, kind=RETRAIN, state=Job.State.SUCCEEDED)
    queued = []
    for _ in range(every + 1):
        _serve_and_submit(text_project, people["alice"], "positive")
        queued.append(Job.objects.filter(project=text_project, kind=RETRAIN, state=Job.State.QUEUED).count())
    # The every-th label queues it (the statement that reads the check cannot see the label it inserts, and
    # counts it all the same); the next one finds it queued and adds none.
    assert queued == [0] * (every - 1) + [1, 1]
    # its reference is the count at the label that queued it, that label included (the submit passes on what
    # its statement read, plus the label it could not see)
    job = Job.objects.get(project=text_project, kind=RETRAIN, state=Job.State.QUEUED)
    assert job.params[ANNOTATIONS_AT] == every


def test_labels_given_before_a_retrain_was_queued_do_not_count_towards_the_next(text_project, people):
    add_texts(text_project, [f"item {n}" for n in range(6)])
    text_project.retrain_every = 3
    text_project.save(update_fields=["retrain_every"])
    for _ in range(2):
        _serve_and_submit(text_project, people["alice"], "positive")
    job = request_retrain(project=text_project, user=None)
    assert job.params[ANNOTATIONS_AT] == annotation_total(text_project) == 2
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED)
    queued = []
    for _ in range(3):
        _serve_and_submit(text_project, people["alice"], "positive")
        queued.append(Job.objects.filter(project=text_project, kind=RETRAIN, state=Job.State.QUEUED).count())
    assert queued == [0, 0, 1]  # the third label since the retrain was queued, not the first after five


def test_a_member_leaving_or_coming_back_does_not_move_the_next_retrain(text_project, people):
    add_texts(text_project, [f"item {n}" for n in range(8)])
    text_project.retrain_every = 3
    text_project.save(update_fields=["retrain_every"])
    job = request_retrain(project=text_project, user=None)
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED)
    for _ in range(2):
        _serve_and_submit(text_project, people["bob"], "positive")
    member_remove(project=text_project, username="bob")  # bob's 2 labels leave the memberships' sum
    assert annotation_total(text_project) == 0
    _serve_and_submit(text_project, people["alice"], "positive")  # the third label since the retrain
    assert Job.objects.filter(project=text_project, kind=RETRAIN, state=Job.State.QUEUED).count() == 1
    queued = Job.objects.get(project=text_project, kind=RETRAIN, state=Job.State.QUEUED)
    Job.objects.filter(pk=queued.pk).update(state=Job.State.SUCCEEDED)
    member_add(project=text_project, username="bob", role="annotator")  # back, with his 2 labels counted in
    assert annotation_total(text_project) == 3
    for expected in (0, 0, 1):
        _serve_and_submit(text_project, people["alice"], "positive")
        assert Job.objects.filter(project=text_project, kind=RETRAIN, state=Job.State.QUEUED).count() == expected


def test_the_retrain_check_reads_counters_not_annotations_however_large_retrain_every_is(text_project, people):
    add_texts(text_project, ["one", "two"])
    text_project.retrain_every = 1_000_000
    text_project.save(update_fields=["retrain_every"])
    Job.objects.create(project=text_project, kind=RETRAIN, state=Job.State.SUCCEEDED, params={ANNOTATIONS_AT: 0})
    _serve_and_submit(text_project, people["alice"], "positive")
    with CaptureQueriesContext(connection) as queries:
        assert maybe_retrain(project=text_project) is None
    # one statement, on the memberships' counters and the job: the annotations since the job are never walked
    assert len(queries) == 1 and "labeling_annotation" not in queries[0]["sql"]
    assert not Job.objects.filter(project=text_project, state=Job.State.QUEUED).exists()


def _synchronous_commit_per_statement(call):
    """Run ``call``; return the session's synchronous_commit as each of its statements left it."""
    seen, asking = [], []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not asking:
            asking.append(True)
            with connection.cursor() as cursor:
                cursor.execute("SHOW synchronous_commit")
                seen.append(cursor.fetchone()[0])
            asking.clear()
        return result

    with connection.execute_wrapper(wrapper):
        out = call()
    return out, seen


@pytest.mark.pg_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_lease_commits_without_waiting_for_the_disk_and_a_submit_waits(text_project, people):
    add_texts(text_project, ["one", "two"])
    alice = people["alice"]
    assignment, serving = _synchronous_commit_per_statement(
        lambda: next_assignment(project=text_project, annotator=alice))
    assert serving[0] == "off" and set(serving) == {"off"}  # from the open-lease query on, to its COMMIT
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # SET LOCAL: gone with the serving transaction
    label = text_project.labels.get(name="positive").pk
    _, submitting = _synchronous_commit_per_statement(lambda: submit_annotation(
        project=text_project, annotator=alice, assignment_id=assignment.pk, label_id=label))
    assert submitting and set(submitting) == {"on"}  # a label is committed durably
    # Inside a caller's transaction, serving leaves the caller's setting alone.
    with transaction.atomic():
        _, nested = _synchronous_commit_per_statement(lambda: next_assignment(project=text_project, annotator=alice))
    assert nested and set(nested) == {"on"}


def test_the_progress_that_comes_back_with_a_lease_counts_as_the_progress_query(text_project, people, client):
    add_texts(text_project, ["a", "b", "c"])
    client.force_login(people["alice"])
    url = f"/projects/{text_project.pk}/label/"
    page = client.get(url, HTTP_HX_REQUEST="true")
    assert page.context["mine"] == {"done": 0, "remaining": 3, "remaining_capped": False, "percent": 0}
    label = text_project.labels.get(name="positive").pk
    after = client.post(f"{url}submit/", {"assignment": page.context["assignment"].pk, "label": label},
                        HTTP_HX_REQUEST="true")
    assert after.context["assignment"].progress_counts == (1, 2)  # read with the lease, not by its own query
    assert after.context["mine"] == {"done": 1, "remaining": 2, "remaining_capped": False, "percent": 33}
    assert after.context["mine"] == annotator_progress(text_project, people["alice"])
