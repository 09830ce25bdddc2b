"""Writes on flags: raising them from models or disagreement, and reviewers' decisions."""
from collections import Counter

from django.db import IntegrityError, transaction

from core import jobs
from core.models import Item, Job, Label, LabelEvent, LabelSource
from learning.featurize import project_features, project_seed
from learning.models import ModelVersion, Prediction
from learning.neighbours import ensure as ensure_neighbour_index
from ml.noise import explain, search_mislabels
from quorum.lib.errors import QuorumError
from review.job_kinds import FLAG
from review.models import Flag


def open_flag(*, item: Item, reason: str, score: float, explanation: str, suggested: Label | None,
              model_version: ModelVersion | None = None) -> Flag | None:
    """Open a flag unless an open one for the same item and reason exists (then refresh its score)."""
    try:
        with transaction.atomic():
            return Flag.objects.create(project_id=item.project_id, item=item, reason=reason, score=score,
                                       explanation=explanation, suggested_label=suggested, model_version=model_version)
    except IntegrityError:
        Flag.objects.filter(item=item, reason=reason, status=Flag.Status.OPEN).update(
            score=score, explanation=explanation, suggested_label=suggested, model_version=model_version)
        return None


def flag_annotator_disagreement(*, item: Item, votes: list[int]) -> Flag | None:
    labels = {lab.pk: lab for lab in item.project.labels.all()}
    counts = Counter(votes)
    text = "; ".join(f"{n} × {labels[lid].name}" for lid, n in counts.most_common())
    top, top_n = counts.most_common(1)[0]
    share = top_n / len(votes)
    return open_flag(item=item, reason=Flag.Reason.ANNOTATOR_DISAGREEMENT, score=1.0 - share,
                      explanation=f"{len(votes)} annotators disagree: {text}", suggested=labels[top])


def _mislabel_issues(model_version: ModelVersion, rows: list[Prediction], given: list[int], n_classes: int,
                     *, slices, settled, reviewed=None):
    """Quorum's mislabel search (ml.noise.search_mislabels): for a model trained here, fresh out-of-fold
    probabilities of an ensemble on the item features; for uploaded predictions, the uploaded probabilities."""
    if model_version.origin == ModelVersion.Origin.TRAINED:
        ids, X = project_features(model_version.project)
        # A version trained before neighbour indexes existed gets one here, from features already in hand,
        # so its flags open in the review screen without a build of their own.
        ensure_neighbour_index(model_version, ids=ids, X=X)
        position = {int(i): n for n, i in enumerate(ids.tolist())}
        X_lab = X[[position[p.item_id] for p in rows]]
        if len(set(given)) > 1 and min(Counter(given).values()) >= 2:
            return search_mislabels(X_lab, given, n_classes, slices=slices, settled=settled, reviewed=reviewed,
                                    random_state=project_seed(model_version.project))
        return search_mislabels(X_lab, given, n_classes, slices=slices, settled=settled, reviewed=reviewed,
                                proba=[p.probabilities for p in rows])
    return search_mislabels(None, given, n_classes, slices=slices, settled=settled, reviewed=reviewed,
                            proba=[p.probabilities for p in rows])


REVIEWER_SETTLED_SCORE = 0.5  # a label a reviewer set without a flag is flagged again only above 0.5 + 0.25


def _settled_flags(project_id: int, rows: list[Prediction]) -> list[tuple]:
    """(item_id, score, created_at, label_changed) of the settled model-disagreement flags on these rows'
    items, oldest decision first: one read for both ``_settled`` and ``_verdicts``.

    By project, not a list of every labeled item's id (too many parameters for SQLite at 100,000 items).
    """
    wanted = {p.item_id for p in rows}
    found = (Flag.objects.filter(project_id=project_id, reason=Flag.Reason.MODEL_DISAGREEMENT)
             .exclude(status=Flag.Status.OPEN).order_by("item_id", "resolved_at", "id")
             .values_list("item_id", "score", "created_at", "label_changed"))
    return [flag for flag in found if flag[0] in wanted]


def _settled(rows: list[Prediction], flags: list[tuple]) -> dict[int, float]:
    """{row: score} of rows whose current label a reviewer settled.

    From each item's latest settled model-disagreement flag (``flags``: ``_settled_flags``): its score if the
    reviewer kept the label, 0 if the review changed it (the new label was never judged by the model); a label
    a reviewer set otherwise counts as settled at REVIEWER_SETTLED_SCORE.
    """
    latest = {item_id: 0.0 if changed else float(score) for item_id, score, _, changed in flags}
    orders = {}
    for n, p in enumerate(rows):
        if p.item_id in latest or p.item.final_source == LabelSource.REVIEWER:
            orders[n] = latest.get(p.item_id, REVIEWER_SETTLED_SCORE)
    return orders


def _verdicts(rows: list[Prediction], given: list[int], order: dict[int, int], project_id: int,
              flags: list[tuple]) -> dict[int, tuple[int, bool]]:
    """{row: (label order when flagged, label changed)}: reviewers' verdicts on each item's latest settled
    model-disagreement flag with a recorded verdict (``flags``: ``_settled_flags``). They tell the search how
    strongly the model must contradict a label for the flag to be right on this project
    (ml.noise.verdict_threshold).

    The label when flagged is the ``from_label`` of the item's first label event after the flag was raised
    (the change the review made, or a later one), else the item's current label.
    """
    position = {p.item_id: n for n, p in enumerate(rows)}
    latest = {item_id: (created, bool(changed)) for item_id, _, created, changed in flags if changed is not None}
    if not latest:
        return {}
    since = min(created for created, _ in latest.values())
    before = {}
    for item_id, created, from_label in (LabelEvent.objects.filter(project_id=project_id, created_at__gte=since,
                                                                    from_label__isnull=False)
                                         .order_by("created_at", "id").values_list("item_id", "created_at", "from_label")):
        if item_id in latest and created >= latest[item_id][0] and item_id not in before and from_label in order:
            before[item_id] = order[from_label]
    return {position[item_id]: (before.get(item_id, given[position[item_id]]), changed)
            for item_id, (_, changed) in latest.items()}


MAX_SLICE_VALUES = 10


def _slices(rows: list[Prediction]):
    """Slice of each row: the values of the first metadata field (by name) with 2..10 distinct values set on
    every row, e.g. "channel" = email / phone. None when no field qualifies (one slice)."""
    metas = [p.item.metadata or {} for p in rows]
    if not metas:
        return None
    common = set.intersection(*(set(m) for m in metas))
    for name in sorted(common):
        values = [str(m[name]) for m in metas]
        distinct = sorted(set(values))
        if 2 <= len(distinct) <= MAX_SLICE_VALUES:
            code = {v: n for n, v in enumerate(distinct)}
            return [code[v] for v in values]
    return None


def flag_mislabels(*, model_version: ModelVersion) -> int:
    """Check every labeled item again with fresh out-of-fold predictions; flag those whose final label the
    model confidently contradicts (settled labels only on much stronger evidence), with a reason."""
    project = model_version.project
    labels = list(project.labels.all())
    by_pk = {lab.pk: lab.order for lab in labels}
    rows = list(Prediction.objects.filter(model_version=model_version, out_of_fold=True,
                item__final_label__isnull=False).select_related("item").order_by("item_id"))
    if not rows:
        return 0
    given = [by_pk[p.item.final_label_id] for p in rows]
    flags = _settled_flags(project.pk, rows)
    settled = {n: (given[n], score) for n, score in _settled(rows, flags).items()}
    issues = _mislabel_issues(model_version, rows, given, len(labels), slices=_slices(rows), settled=settled,
                              reviewed=_verdicts(rows, given, by_pk, project.pk, flags))
    names = [lab.name for lab in labels]
    created = 0
    for issue in issues:
        item = rows[issue.index].item
        if open_flag(item=item, reason=Flag.Reason.MODEL_DISAGREEMENT, score=issue.score,
                      explanation=explain(issue, names), suggested=labels[issue.suggested],
                      model_version=model_version):
            created += 1
    return created


def flag_low_consensus(*, item: Item, votes: list[int], confidence: float, winner: int,
                       threshold: float) -> Flag | None:
    """The annotators' consensus is too weak to set a label on its own: a reviewer decides."""
    labels = {lab.pk: lab for lab in item.project.labels.all()}
    text = "; ".join(f"{n} × {labels[lid].name}" for lid, n in Counter(votes).most_common())
    return open_flag(item=item, reason=Flag.Reason.LOW_CONSENSUS, score=1.0 - confidence,
                      explanation=(f"consensus {labels[winner].name} at {confidence:.0%} is below the project "
                                   f"threshold {threshold:.0%} ({text})"),
                      suggested=labels[winner])


def flag_gold_failure(*, item: Item, annotator, given: Label) -> Flag | None:
    """An annotator answered a gold item wrong: show the item (and the gold answer) to a reviewer."""
    gold = item.gold_label
    return open_flag(item=item, reason=Flag.Reason.GOLD_FAILURE, score=1.0,
                      explanation=f"{annotator.get_username()} answered {given.name}; the gold answer is {gold.name}",
                      suggested=gold)


def request_flag_run(*, project, user) -> Job:
    """Queue a mislabel search over the latest model version (one at a time per project)."""
    if not ModelVersion.objects.filter(project=project).exists():
        raise QuorumError("There is no model yet: retrain first, then look for mislabels.")
    return jobs.request_job(project=project, kind=FLAG, user=user, total=3)[0]


def run_flag_job(job: Job) -> None:
    version = ModelVersion.objects.filter(project=job.project).first()
    jobs.progress(job, 1, total=3, message=f"Checking every labeled item with fresh out-of-fold predictions ({version.name})")
    created = flag_mislabels(model_version=version)
    open_count = Flag.objects.filter(project=job.project, status=Flag.Status.OPEN).count()
    jobs.finish(job, result={"created": created, "open": open_count, "model_version": version.pk},
                message=f"{created} new flag{'s' if created != 1 else ''}; {open_count} open in the review queue.")
