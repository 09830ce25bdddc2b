"""Consensus in the product: majority until the worker has fitted the annotator model, then the model,
applied to the one item a submit completes in a few queries whatever the size of the project."""
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Item, LabelSource
from labeling.consensus import MIN_ITEMS_FOR_DAWID_SKENE, consensus
from labeling.queue import next_assignment, submit_annotation
from learning.annotators import fit_annotator_model
from learning.models import AnnotatorModel
from learning.tasks import fit_annotators
from tests.conftest import add_texts
from tests.learning.crowd import add_crowd, truth, wrong

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()  # the refit counts live in the cache, keyed by project id


def _label_all(project, people, answers):
    """answers: {username: function(item_text) -> label name}; every annotator labels every item."""
    for name, answer in answers.items():
        while (a := next_assignment(project=project, annotator=people[name])) is not None:
            submit_annotation(project=project, annotator=people[name], assignment_id=a.pk,
                              label_id=project.labels.get(name=answer(a.item.text)).pk)


def _overlap_3(project):
    project.overlap = 3
    project.consensus_threshold = 0.0
    project.save()


def test_few_items_use_a_majority_vote(text_project):
    assert consensus(votes=[0, 1, 0], n_classes=3) == (0, pytest.approx(2 / 3), "majority")


def test_a_reliable_annotator_outweighs_two_unreliable_ones_who_agree(text_project, people):
    _overlap_3(text_project)
    n = MIN_ITEMS_FOR_DAWID_SKENE + 10
    texts = [f"t{i}" for i in range(n)]
    add_texts(text_project, texts)
    truth_of = {t: ("positive", "negative", "neutral")[i % 3] for i, t in enumerate(texts)}
    shift = {"positive": "negative", "negative": "neutral", "neutral": "positive"}
    # alice is always right; bob and carol each err on 12 items, and on 6 of them they make the same error
    bob_wrong, carol_wrong = set(texts[:12]), set(texts[:6] + texts[12:18])
    _label_all(text_project, people, {
        "alice": lambda t: truth_of[t],
        "bob": lambda t: shift[truth_of[t]] if t in bob_wrong else truth_of[t],
        "carol": lambda t: shift[truth_of[t]] if t in carol_wrong else truth_of[t],
    })
    item = Item.objects.get(text="t0")
    votes = [text_project.labels.get(name=n).order for n in (truth_of["t0"], shift[truth_of["t0"]],
                                                             shift[truth_of["t0"]])]
    assert consensus(votes=votes, n_classes=3, item=item)[2] == "majority"  # nothing fitted yet
    fit_annotators(text_project.pk)  # what the worker runs
    label, confidence, method = consensus(votes=votes, n_classes=3, item=item)
    assert method == "dawid_skene"  # no classifier yet
    majority, _ = consensus(votes=votes, n_classes=3)[:2]
    assert majority == votes[1]  # a plain majority would follow bob and carol
    assert label == votes[0] and confidence > 0.9  # Dawid-Skene trusts the annotator who is never wrong


def test_the_submit_applies_the_stored_model_so_reliable_annotators_outvote_a_weak_one(text_project, people,
                                                                                       make_user):
    # alice and bob are always right; carol is wrong on every other item. On the new item carol and a
    # newcomer (dave, whom the fit never saw) outvote alice: 2 to 1 for a majority, but the stored model
    # knows carol is unreliable and gives dave the average annotator's weight.
    _overlap_3(text_project)
    dave = make_user("dave")
    add_crowd(text_project, {people["alice"]: truth, people["bob"]: truth,
                             people["carol"]: lambda i: wrong(i) if i % 2 else truth(i)}, 60)
    fit_annotator_model(project=text_project)
    add_texts(text_project, ["new"])
    item = Item.objects.get(text="new")
    answers = [(people["alice"], "negative"), (people["carol"], "neutral"), (dave, "neutral")]
    for user, name in answers:
        a = next_assignment(project=text_project, annotator=user)
        assert a.item_id == item.pk
        submit_annotation(project=text_project, annotator=user, assignment_id=a.pk,
                          label_id=text_project.labels.get(name=name).pk)
    item.refresh_from_db()
    assert item.final_source == LabelSource.CONSENSUS
    assert item.final_label.name == "negative"
    assert item.events.latest("id").cause == "consensus:dawid_skene"


def _completing_submit_queries(project, people, make_user, n_history: int) -> list[str]:
    """SQL of the submit that completes an overlap-3 item, in a project with ``n_history`` such items."""
    add_crowd(project, {people["alice"]: truth, people["bob"]: truth, people["carol"]: truth}, n_history)
    fit_annotator_model(project=project)
    add_texts(project, ["last"])
    leases = {name: next_assignment(project=project, annotator=people[name]) for name in ("alice", "bob", "carol")}
    label = project.labels.get(name="positive").pk
    for name in ("alice", "bob"):
        submit_annotation(project=project, annotator=people[name], assignment_id=leases[name].pk, label_id=label)
    with CaptureQueriesContext(connection) as ctx:
        submit_annotation(project=project, annotator=people["carol"], assignment_id=leases["carol"].pk,
                          label_id=label)
    assert Item.objects.get(project=project, text="last").final_source == LabelSource.CONSENSUS
    return [re.sub(r"\d+(\.\d+)?(e-?\d+)?", "N", q["sql"]) for q in ctx.captured_queries]


def test_completing_a_multi_annotator_item_costs_the_same_queries_at_40_and_200_items(people, make_user):
    from core.models import Project, Role
    from core.services import membership_set, project_create

    def project(name):
        p = project_create(name=name, kind=Project.Kind.TEXT, labels=["positive", "negative", "neutral"],
                           owner=people["manager"], overlap=3, retrain_every=100000)
        for who in ("alice", "bob", "carol"):
            membership_set(project=p, user=people[who], role=Role.ANNOTATOR)
        return p

    small = _completing_submit_queries(project("Small"), people, make_user, 40)
    large = _completing_submit_queries(project("Large"), people, make_user, 200)
    assert small == large  # nothing read grows with the project's multi-annotator items (no id lists)
    assert len(large) <= 25
    assert AnnotatorModel.objects.count() == 2
