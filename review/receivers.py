"""Listeners for labeling's signals."""
from core import jobs
from core.models import Item
from review.services import flag_annotator_disagreement, flag_gold_failure, flag_low_consensus


def on_annotations_complete(sender, *, item: Item, votes: list[int], disagreement: bool, confidence=None,
                            winner=None, threshold=None, **kwargs):
    if confidence is not None and threshold is not None and confidence < threshold:
        flag_low_consensus(item=item, votes=votes, confidence=confidence, winner=winner, threshold=threshold)
    elif disagreement and item.needed <= item.project.overlap:
        # A confident consensus still deserves a look; after an escalation the consensus has the last word.
        flag_annotator_disagreement(item=item, votes=votes)


def on_gold_answered(sender, *, item: Item, annotation, correct: bool, **kwargs):
    if not correct:
        flag_gold_failure(item=item, annotator=annotation.annotator, given=annotation.label)


def on_model_ranked(sender, *, version, **kwargs):
    """After a retrain has ranked the queue, look for mislabels in the new out-of-fold predictions."""
    jobs.send_task("review.tasks.flag_mislabels", args=[version.pk])
