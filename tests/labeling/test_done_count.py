"""The labeling screen's "done" is the membership's count of the member's annotations in force, kept by the
submit: it must equal a fresh count of those annotations after every way labels change."""
import hashlib
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from core.members import member_add, member_remove
from core.models import Annotation, Assignment, Item, ItemRank, Membership
from labeling.queue import correct_annotation, next_assignment, skip, submit_and_serve, submit_annotation
from labeling.selectors import annotator_progress
from quorum.lib.errors import QuorumError
from review.decisions import bulk_relabel
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HX = {"HTTP_HX_REQUEST": "true"}


def _counted(project, user) -> int:
    return Membership.objects.get(project=project, user=user).annotation_count


def _in_force(project, user) -> int:
    return Annotation.objects.filter(project=project, annotator=user, supersedes__isnull=True).count()


def _label(project, user, name="positive"):
    assignment = next_assignment(project=project, annotator=user)
    annotation, _ = submit_annotation(project=project, annotator=user, assignment_id=assignment.pk,
                                      label_id=project.labels.get(name=name).pk)
    return assignment, annotation


def test_a_submit_counts_one_for_its_annotator_only_and_a_retry_counts_nothing(text_project, people):
    add_texts(text_project, ["one", "two", "three"])
    alice, bob = people["alice"], people["bob"]
    assignment, _ = _label(text_project, alice)
    _label(text_project, alice)
    submit_annotation(project=text_project, annotator=alice, assignment_id=assignment.pk,  # a double click
                      label_id=text_project.labels.get(name="negative").pk)
    _label(text_project, bob)

    assert (_counted(text_project, alice), _counted(text_project, bob)) == (2, 1)
    assert (_in_force(text_project, alice), _in_force(text_project, bob)) == (2, 1)
    assert annotator_progress(text_project, alice)["done"] == 2


def test_a_refused_submit_counts_nothing(text_project, people):
    add_texts(text_project, ["one"])
    assignment = next_assignment(project=text_project, annotator=people["alice"])
    with pytest.raises(QuorumError, match="not part of this project"):
        submit_and_serve(project=text_project, annotator=people["alice"], assignment_id=assignment.pk,
                         label_id=-1, open_lease=None)
    assert _counted(text_project, people["alice"]) == 0 == _in_force(text_project, people["alice"])


def test_a_skip_a_correction_and_a_reviewers_relabel_leave_the_count_as_the_annotations_in_force(text_project,
                                                                                                  people):
    add_texts(text_project, ["one", "two", "three"])
    alice = people["alice"]
    _, first = _label(text_project, alice)
    skip(project=text_project, annotator=alice, assignment_id=next_assignment(project=text_project, annotator=alice).pk)
    correct_annotation(project=text_project, annotator=alice, annotation_id=first.pk,
                       label_id=text_project.labels.get(name="neutral").pk)
    bulk_relabel(project=text_project, reviewer=people["reviewer"], item_ids=[first.item_id],
                 label_id=text_project.labels.get(name="negative").pk)

    assert Annotation.objects.filter(annotator=alice).count() == 2  # the first and its correction
    assert _counted(text_project, alice) == 1 == _in_force(text_project, alice)


def test_a_member_removed_and_added_again_keeps_the_count_of_their_annotations(text_project, people):
    add_texts(text_project, ["one", "two", "three"])
    alice = people["alice"]
    _label(text_project, alice)
    _label(text_project, alice)
    member_remove(project=text_project, username="alice")
    member_add(project=text_project, username="alice", role="annotator")
    assert _counted(text_project, alice) == 2
    member_add(project=text_project, username="alice", role="reviewer")  # a role change keeps it too
    assert _counted(text_project, alice) == 2
    _label(text_project, alice)
    assert _counted(text_project, alice) == 3 == _in_force(text_project, alice)


def test_the_screen_shows_the_count_after_each_submit_through_the_view(client, text_project, people):
    add_texts(text_project, [f"text {i}" for i in range(4)])
    client.force_login(people["alice"])
    label = str(text_project.labels.first().pk)
    response = client.get(reverse("labeling:label", args=[text_project.pk]), **HX)
    for done in (1, 2, 3):
        assignment = re.search(r'name="assignment" value="(\d+)"', response.content.decode()).group(1)
        response = client.post(reverse("labeling:submit", args=[text_project.pk]),
                               {"assignment": assignment, "label": label}, **HX)
        assert f"<strong>{done}</strong> done" in response.content.decode()
    assert _counted(text_project, people["alice"]) == 3 == _in_force(text_project, people["alice"])


def test_submit_and_serve_leases_the_next_item_in_the_same_transaction_with_the_new_count(text_project, people):
    add_texts(text_project, ["one", "two"])
    alice = people["alice"]
    assignment = next_assignment(project=text_project, annotator=alice)
    annotation, created, served = submit_and_serve(
        project=text_project, annotator=alice, assignment_id=assignment.pk,
        label_id=text_project.labels.first().pk, open_lease=None)
    assert created and served is not None and served.item_id != annotation.item_id
    assert served.progress_counts[0] == 1  # read after the count, in the same transaction
    # Nothing left: the next call serves none, and the count still moves.
    _, _, served_last = submit_and_serve(project=text_project, annotator=alice, assignment_id=served.pk,
                                         label_id=text_project.labels.first().pk, open_lease=None)
    assert served_last is None and _counted(text_project, alice) == 2


def test_submit_and_serve_renews_another_open_lease_after_its_commit(text_project, people):
    """A second tab's lease is renewed, not left for a new item, whichever way the serving runs."""
    add_texts(text_project, ["one", "two", "three"])
    alice = people["alice"]
    first = next_assignment(project=text_project, annotator=alice)
    ItemRank.objects.filter(item_id=first.item_id).update(priority=10)
    second_item = Item.objects.exclude(pk=first.item_id).first()
    other = Assignment.objects.create(project=text_project, item=second_item, annotator=alice,
                                      expires_at=first.expires_at)
    _, _, served = submit_and_serve(project=text_project, annotator=alice, assignment_id=first.pk,
                                    label_id=text_project.labels.first().pk, open_lease=other.pk)
    assert served.pk == other.pk


@pytest.mark.xdist_group("migrations")
@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_each_members_annotations_in_force():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    before = [("core", "0001_initial")]
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        executor.loader.build_graph()
        apps = executor.loader.project_state(before).apps
        model = apps.get_model
        ann, bea = (model("auth", "User").objects.create(username=name) for name in ("ann", "bea"))
        project, other = (model("core", "Project").objects.create(name=name, kind="text") for name in ("a", "b"))
        for user in (ann, bea):
            for p in (project, other):
                model("core", "Membership").objects.create(project=p, user=user, role="annotator")
        label = model("core", "Label").objects.create(project=project, name="yes", key="1", order=0)
        items = [model("core", "Item").objects.create(project=project, text=str(i), content_hash=hashlib.sha256(str(i).encode()).hexdigest())
                 for i in range(3)]
        new = model("core", "Annotation").objects.create
        first = new(project=project, item=items[0], annotator=ann, label=label)
        new(project=project, item=items[0], annotator=ann, label=label, supersedes=first)  # a correction
        new(project=project, item=items[1], annotator=ann, label=label)
        new(project=project, item=items[2], annotator=bea, label=label)

        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
        counts = {(m.user.username, m.project.name): m.annotation_count
                  for m in Membership.objects.select_related("user", "project")}
        assert counts == {("ann", "a"): 2, ("bea", "a"): 1, ("ann", "b"): 0, ("bea", "b"): 0}
    finally:
        MigrationExecutor(connection).migrate(leaves)
