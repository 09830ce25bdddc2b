"""The one place where Quorum chooses how several annotators' votes become a consensus label.

Once the worker has fitted the project's annotator model (learning.annotators: model-assisted Dawid-Skene
over the project's multi-annotator items, each annotator weighted by their estimated confusion matrix, the
latest model's probabilities as one more voice: 0.994 / 1.000 accuracy in bench/label_quality.py against
0.896 / 0.862 for majority vote), the consensus applies it to the one item: a few queries and O(annotators)
arithmetic, so a submit never fits anything. Before there is a model (or with too few items to estimate
annotators), it is a plain majority vote.
"""
from core.models import Item
from learning.annotators import MIN_ITEMS_FOR_DAWID_SKENE, item_posterior
from ml.consensus import majority_vote

__all__ = ["MIN_ITEMS_FOR_DAWID_SKENE", "consensus"]


def consensus(*, votes: list[int], n_classes: int, item: Item | None = None) -> tuple[int, float, str]:
    """Return (class index, confidence in [0, 1], method name) for one item's votes (class indices).

    ``item`` lets the project's stored annotator model weigh its annotators; the model reads the item's
    current annotations, which are the ones ``votes`` lists.
    """
    if item is not None:
        result = item_posterior(item=item, n_classes=n_classes)
        if result is not None:
            posterior, method = result
            label = int(posterior.argmax())  # the lowest index on ties, as majority_vote
            return label, float(posterior[label]), method
    label, confidence = majority_vote(votes, n_classes)
    return int(label), float(confidence), "majority"
