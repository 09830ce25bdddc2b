"""Consensus in the product: majority for a few items, Dawid-Skene once annotators can be measured."""
import pytest

from core.models import Item
from labeling.consensus import MIN_ITEMS_FOR_DAWID_SKENE, consensus
from labeling.queue import next_assignment, submit_annotation
from tests.conftest import add_texts

pytestmark = pytest.mark.django_db


def _label_all(project, people, answers):
    """answers: {username: function(item_text) -> label name}; every annotator labels every item."""
    for name, answer in answers.items():
        while (a := next_assignment(project=project, annotator=people[name])) is not None:
            submit_annotation(project=project, annotator=people[name], assignment_id=a.pk,
                              label_id=project.labels.get(name=answer(a.item.text)).pk)


def test_few_items_use_a_majority_vote(text_project):
    assert consensus(votes=[0, 1, 0], n_classes=3) == (0, pytest.approx(2 / 3), "majority")


def test_a_reliable_annotator_outweighs_two_unreliable_ones_who_agree(text_project, people):
    text_project.overlap = 3
    text_project.consensus_threshold = 0.0
    text_project.save()
    n = MIN_ITEMS_FOR_DAWID_SKENE + 10
    texts = [f"t{i}" for i in range(n)]
    add_texts(text_project, texts)
    truth = {t: ("positive", "negative", "neutral")[i % 3] for i, t in enumerate(texts)}
    shift = {"positive": "negative", "negative": "neutral", "neutral": "positive"}
    # alice is always right; bob and carol each err on 12 items, and on 6 of them they make the same error
    bob_wrong, carol_wrong = set(texts[:12]), set(texts[:6] + texts[12:18])
    _label_all(text_project, people, {
        "alice": lambda t: truth[t],
        "bob": lambda t: shift[truth[t]] if t in bob_wrong else truth[t],
        "carol": lambda t: shift[truth[t]] if t in carol_wrong else truth[t],
    })
    item = Item.objects.get(text="t0")
    votes = [text_project.labels.get(name=n).order for n in (truth["t0"], shift[truth["t0"]], shift[truth["t0"]])]
    label, confidence, method = consensus(votes=votes, n_classes=3, item=item)
    assert method == "dawid_skene"  # no model yet
    majority, _ = consensus(votes=votes, n_classes=3)[:2]
    assert majority == votes[1]  # a plain majority would follow bob and carol
    assert label == votes[0] and confidence > 0.9  # Dawid-Skene trusts the annotator who is never wrong
