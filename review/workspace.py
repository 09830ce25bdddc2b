"""Reads for the reviewer's item view: everything needed to decide one item, in a constant number of queries."""
from core.models import Annotation, Item, LabelEvent
from labeling.consensus import consensus
from learning.models import Prediction
from learning.neighbours import latest_index
from review.models import Comment, Flag
from review.quality import annotator_quality

ACTION_KEYS = set("aeimxczjkl")  # keys the review screen keeps for actions; see review_keys
NEIGHBOURS = 5


def review_keys(labels) -> dict[int, str]:
    """Keyboard key per label on the review screen (label id -> key).

    One-character label names (digits "0".."9") are their own key; otherwise labels are numbered 1-9 then 0.
    Labels beyond ten are chosen from the "other label" list (key L).
    """
    names = [lab.name.lower() for lab in labels]
    if all(len(n) == 1 and n not in ACTION_KEYS for n in names) and len(set(names)) == len(names):
        return {lab.pk: lab.name.lower() for lab in labels}
    keys = "1234567890"
    return {lab.pk: keys[i] for i, lab in enumerate(labels[:10])}


def model_top(item: Item, labels, k: int = 3) -> tuple[list[dict], str]:
    """The latest model version's top ``k`` labels for the item, and which predictions those are (a flag's own
    confidence comes from the out-of-fold mislabel check, so the two numbers are named apart)."""
    prediction = (Prediction.objects.filter(item=item).select_related("model_version")
                  .order_by("-model_version_id").first())
    if prediction is None:
        return [], ""
    ranked = sorted(enumerate(prediction.probabilities), key=lambda p: -p[1])[:k]
    kind = "out-of-fold: a model that did not train on this item" if prediction.out_of_fold else \
        "trained on this item's label"
    source = f"current model {prediction.model_version.name}, {kind}"
    return [{"label": labels[i], "p": p, "percent": int(round(100 * p))} for i, p in ranked if i < len(labels)], source


def item_consensus(annotations, labels) -> dict | None:
    active = [a for a in annotations if not getattr(a, "is_replaced", False)]
    if len(active) < 2:
        return None
    order = {lab.pk: i for i, lab in enumerate(labels)}
    winner, confidence, method = consensus(votes=[order[a.label_id] for a in active], n_classes=len(labels),
                                           item=active[0].item)
    return {"label": labels[winner], "confidence": confidence, "percent": int(round(100 * confidence)),
            "method": method, "n": len(active)}


def _index(project, cache: dict | None):
    key = ("neighbours", project.pk)
    if cache is not None and key in cache:
        return cache[key]
    value = latest_index(project)
    if cache is not None:
        cache[key] = value
    return value


def nearest_labeled(item: Item, labels, *, k: int = NEIGHBOURS, cache: dict | None = None) -> tuple[list[dict], str]:
    """The ``k`` most similar labeled items, closest first, and a note when there are none to show.

    Read from the neighbour index the worker stored with the latest model version (learning.neighbours):
    nothing is fitted here. Labels are today's: an item unlabeled or excluded since the index was built is
    skipped, so a few spare candidates are asked for.
    """
    index, note = _index(item.project, cache)
    if index is None:
        return [], note
    if item.pk not in index:
        return [], "This item is newer than the model: similar labeled items appear after the next retrain."
    candidates = index.nearest(item.pk, 4 * k)
    current = Item.objects.filter(pk__in=[pk for pk, _ in candidates], final_label__isnull=False,
                                  excluded=False).in_bulk()
    by_pk = {lab.pk: lab for lab in labels}
    picked = [{"item": current[pk], "label": by_pk[current[pk].final_label_id], "distance": d}
              for pk, d in candidates if pk in current and current[pk].final_label_id in by_pk]
    return picked[:k], ""


def item_detail(item: Item, *, cache: dict | None = None) -> dict:
    """Item, annotations with each annotator's measured quality, consensus, model top 3, neighbours (or a note
    why there are none), history."""
    labels = list(item.project.labels.all())
    annotations = list(Annotation.objects.filter(item=item).select_related("annotator", "label")
                       .order_by("created_at", "id"))
    superseded = {a.supersedes_id for a in annotations if a.supersedes_id}
    for a in annotations:
        a.is_replaced = a.pk in superseded
    quality = annotator_quality(item.project, annotator_ids=[a.annotator_id for a in annotations])
    for a in annotations:
        a.quality = quality.get(a.annotator_id, {}).get("final")
    events = list(LabelEvent.objects.filter(item=item).select_related("actor", "from_label", "to_label"))
    comments = list(Comment.objects.filter(item=item).select_related("author"))
    settled = list(Flag.objects.filter(item=item, action="settled").select_related("resolved_by"))
    keys = review_keys(labels)
    neighbours, neighbours_note = nearest_labeled(item, labels, cache=cache)
    top, top_source = model_top(item, labels)
    return {
        "item": item, "labels": [{"label": lab, "key": keys.get(lab.pk)} for lab in labels],
        "annotations": annotations, "consensus": item_consensus(annotations, labels),
        "top": top, "top_source": top_source, "neighbours": neighbours, "neighbours_note": neighbours_note,
        "events": events, "comments": comments, "timeline": _timeline(events, comments, settled),
    }


def _timeline(events, comments, settled=()) -> list[dict]:
    """Label changes, comments and flags a label change settled, newest first."""
    rows = [{"kind": "event", "at": e.created_at, "event": e} for e in events]
    rows += [{"kind": "comment", "at": c.created_at, "comment": c} for c in comments]
    rows += [{"kind": "settled", "at": f.resolved_at, "flag": f} for f in settled]
    return sorted(rows, key=lambda r: r["at"], reverse=True)


def flag_detail(flag: Flag, *, cache: dict | None = None) -> dict:
    return {"flag": flag, "other_flags": list(Flag.objects.filter(item=flag.item_id, status=Flag.Status.OPEN)
                                              .exclude(pk=flag.pk)),
            **item_detail(flag.item, cache=cache)}
