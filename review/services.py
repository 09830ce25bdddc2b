"""Writes on flags: raising them from models or disagreement, and reviewers' decisions."""
from collections import Counter

from django.db import IntegrityError, transaction

from core import jobs
from core.models import Item, Job, Label, LabelSource
from learning.featurize import project_features
from learning.models import ModelVersion, Prediction
from learning.neighbours import ensure as ensure_neighbour_index
from ml.noise import detect_mislabels, explain, find_label_issues
from quorum.lib.errors import QuorumError
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
        # A version trained before neighbour indexes existed gets one here, from features already in hand,
        # so its flags open in the review screen without a build of their own.
        ensure_neighbour_index(model_version, ids=ids, X=X)
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
