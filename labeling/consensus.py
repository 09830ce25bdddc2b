"""The one place where Quorum chooses how several annotators' votes become a consensus label."""
from ml.consensus import majority_vote

# Swap the default consensus method here (and only here): a function (votes, n_classes) -> (class, confidence).
DEFAULT_METHOD = majority_vote
DEFAULT_METHOD_NAME = "majority"


def consensus(*, votes: list[int], n_classes: int) -> tuple[int, float, str]:
    """Return (class index, confidence in [0, 1], method name) for one item's votes (class indices)."""
    label, confidence = DEFAULT_METHOD(votes, n_classes)
    return int(label), float(confidence), DEFAULT_METHOD_NAME
