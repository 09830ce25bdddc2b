"""Listeners for labeling's signals."""
from collections import Counter

from core import jobs
from core.models import Item, LabelEvent
from review.models import Flag
from review.services import flag_annotator_disagreement, flag_gold_failure, flag_low_consensus, open_flag


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


def on_given_labels_conflict(sender, *, project, item_ids: list[int], **kwargs):
    """Exact copies of an item were imported with different given labels: a data-quality flag for each item,
    naming the labels ("imported twice with labels red and green"), suggesting the label most copies carry."""
    votes: dict[int, Counter] = {pk: Counter() for pk in item_ids}
    events = (LabelEvent.objects.filter(item_id__in=item_ids, source="given", cause="import", to_label__isnull=False)
              .select_related("to_label").only("item_id", "to_label__name", "to_label__order"))
    labels = {}
    for event in events:
        votes[event.item_id][event.to_label.name] += 1
        labels[event.to_label.name] = event.to_label
    for item in Item.objects.filter(pk__in=item_ids, project=project):
        counts = votes[item.pk]
        if len(counts) < 2:
            continue
        total = sum(counts.values())
        times = "twice" if total == 2 else f"{total} times"
        named = [f"{name} ({n})" if total > len(counts) else name for name, n in counts.most_common()]
        listed = ", ".join(named[:-1]) + " and " + named[-1]
        top, n_top = counts.most_common(1)[0]
        open_flag(item=item, reason=Flag.Reason.DATA_QUALITY, score=1.0 - n_top / total / 2,
                   explanation=f"imported {times} with labels {listed}: exact copies whose given labels disagree",
                   suggested=labels[top] if n_top * 2 > total else None)
