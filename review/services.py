"""Writes on flags: raising them from models or disagreement, and reviewers' decisions."""
from collections import Counter

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import jobs
from core.models import Item, Job, Label, LabelSource
from core.services import set_final_label
from learning.featurize import project_features
from learning.models import ModelVersion, Prediction
from ml.noise import detect_mislabels, explain, find_label_issues
from quorum.lib.errors import Conflict, QuorumError
from review.job_kinds import FLAG
from review.models import Flag


def _open_flag(*, item: Item, reason: str, score: float, explanation: str, suggested: Label | None,
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
    return _open_flag(item=item, reason=Flag.Reason.ANNOTATOR_DISAGREEMENT, score=1.0 - share,
                      explanation=f"{len(votes)} annotators disagree: {text}", suggested=labels[top])


def _mislabel_issues(model_version: ModelVersion, rows: list[Prediction], given: list[int], n_classes: int):
    """Quorum's detector: for a model trained here, an out-of-fold ensemble on the item features (F1 1.09x
    cleanlab's baseline in bench/label_quality.py); for uploaded predictions, confident learning on them."""
    if model_version.origin == ModelVersion.Origin.TRAINED:
        ids, X = project_features(model_version.project)
        position = {int(i): n for n, i in enumerate(ids.tolist())}
        X_lab = X[[position[p.item_id] for p in rows]]
        if len(set(given)) > 1 and min(Counter(given).values()) >= 2:
            return detect_mislabels(X_lab, given, n_classes)
        return find_label_issues(given, [p.probabilities for p in rows], features=X_lab)
    return find_label_issues(given, [p.probabilities for p in rows])


def flag_mislabels(*, model_version: ModelVersion) -> int:
    """Flag labeled items whose out-of-fold prediction confidently rejects their final label, with a reason."""
    project = model_version.project
    labels = list(project.labels.all())
    by_pk = {lab.pk: lab.order for lab in labels}
    rows = list(Prediction.objects.filter(model_version=model_version, out_of_fold=True,
                item__final_label__isnull=False).select_related("item").order_by("item_id"))
    if not rows:
        return 0
    given = [by_pk[p.item.final_label_id] for p in rows]
    issues = _mislabel_issues(model_version, rows, given, len(labels))
    names = [lab.name for lab in labels]
    created = 0
    for issue in issues:
        item = rows[issue.index].item
        if item.final_source == LabelSource.REVIEWER:
            continue  # a reviewer already decided this item; the model does not overrule people
        if _open_flag(item=item, reason=Flag.Reason.MODEL_DISAGREEMENT, score=issue.score,
                      explanation=explain(issue, names), suggested=labels[issue.suggested],
                      model_version=model_version):
            created += 1
    return created


@transaction.atomic
def resolve_flag(*, flag_id: int, reviewer, version: int, label_id: int | None, note: str = "") -> Flag:
    """Apply a reviewer's decision: keep the label (label_id None or equal) or set another one.

    Refused with Conflict when the flag moved on since the reviewer saw it (optimistic locking).
    """
    flag = Flag.objects.select_for_update().select_related("item").get(pk=flag_id)
    if flag.version != version or flag.status != Flag.Status.OPEN:
        who = f" by {flag.resolved_by.get_username()}" if flag.resolved_by_id else ""
        raise Conflict(f"Another reviewer already acted on this flag{who}; here is its current state.")
    item = Item.objects.select_for_update().get(pk=flag.item_id)
    label = item.final_label if label_id is None else item.project.labels.filter(pk=label_id).first()
    if label is None:
        raise QuorumError("Choose a label from this project.")
    changed = label.pk != item.final_label_id
    reason = note or ("reviewer changed the label" if changed else "reviewer confirmed the label")
    set_final_label(item=item, label=label, source=LabelSource.REVIEWER, actor=reviewer, reason=reason,
                    cause=f"flag:{flag.pk}", confidence=1.0, always_record=True)
    flag.status = Flag.Status.RESOLVED
    flag.version += 1
    flag.resolved_by = reviewer
    flag.resolved_at = timezone.now()
    flag.resolution = f"set to {label.name}" if changed else f"kept {label.name}"
    flag.label_changed = changed
    flag.action = "relabel" if changed else "accept"
    flag.save()
    return flag


def flag_low_consensus(*, item: Item, votes: list[int], confidence: float, winner: int,
                       threshold: float) -> Flag | None:
    """The annotators' consensus is too weak to set a label on its own: a reviewer decides."""
    labels = {lab.pk: lab for lab in item.project.labels.all()}
    text = "; ".join(f"{n} × {labels[lid].name}" for lid, n in Counter(votes).most_common())
    return _open_flag(item=item, reason=Flag.Reason.LOW_CONSENSUS, score=1.0 - confidence,
                      explanation=(f"consensus {labels[winner].name} at {confidence:.0%} is below the project "
                                   f"threshold {threshold:.0%} ({text})"),
                      suggested=labels[winner])


def flag_gold_failure(*, item: Item, annotator, given: Label) -> Flag | None:
    """An annotator answered a gold item wrong: show the item (and the gold answer) to a reviewer."""
    gold = item.gold_label
    return _open_flag(item=item, reason=Flag.Reason.GOLD_FAILURE, score=1.0,
                      explanation=f"{annotator.get_username()} answered {given.name}; the gold answer is {gold.name}",
                      suggested=gold)


def request_flag_run(*, project, user) -> Job:
    """Queue a mislabel search over the latest model version (one at a time per project)."""
    if not ModelVersion.objects.filter(project=project).exists():
        raise QuorumError("There is no model yet: retrain first, then look for mislabels.")
    return jobs.request_job(project=project, kind=FLAG, user=user, total=3)[0]


def run_flag_job(job: Job) -> None:
    version = ModelVersion.objects.filter(project=job.project).first()
    jobs.progress(job, 1, total=3, message=f"Out-of-fold ensemble and confident learning on {version.name}")
    created = flag_mislabels(model_version=version)
    open_count = Flag.objects.filter(project=job.project, status=Flag.Status.OPEN).count()
    jobs.finish(job, result={"created": created, "open": open_count, "model_version": version.pk},
                message=f"{created} new flag{'s' if created != 1 else ''}; {open_count} open in the review queue.")
