"""Auto-accept: after a retrain, the model labels the items it is sure of; spot checks keep measuring it.

How it decides (ml.calibration.fit_auto_accept, the same function bench/active_learning.py measures):
the latest model's out-of-fold predictions on items with a human final label (annotator, consensus or
reviewer; never given or model labels) are held-out evidence, since the fold model that produced each
one did not train on that item. A temperature is fitted on them, and the threshold is the lowest
calibrated confidence whose held-out items reach the target precision (Wilson lower bound at z=1, at
least 30 items above it). Open items nobody has labelled yet whose calibrated confidence reaches it get
the model's label (source ``model``) and leave the annotator queue (``needed`` = 0), except a random
spot-check sample that keeps its place (ahead of ranked items) for one blind human label.

When to stop: each spot check that a human answers counts as agreed or not. Once MIN_CHECKS are in,
auto-accept stops by itself when the upper end of the 95% Wilson interval of the agreement is below the
target, i.e. when the checks show with 97.5% confidence that the model falls short (a single early
disagreement at a 98% target does not stop it, a clear shortfall does). On a stop, the auto-accepted
items nobody checked go back to the queue; their model labels stay (and their history) until a person
labels them, so nothing is lost and exports keep saying ``model`` for them meanwhile.
"""
import math
import random

import numpy as np
from django.db import transaction
from django.db.models import Case, Count, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.jobs import send_after_commit
from core.models import Item, ItemRank, LabelSource, Project
from core.services import set_final_labels_bulk
from learning.featurize import project_seed
from learning.models import AutoAcceptCheck, AutoAcceptRun, ModelVersion, Prediction
from ml.calibration import accept_confidence, fit_auto_accept
from ml.stats import wilson_interval
from quorum.lib.errors import QuorumError

MIN_HELDOUT = 50  # held-out human labels before auto-accept acts at all
MIN_CHECKS = 20  # answered spot checks before the stop rule may fire
STOP_Z = 1.959963984540054  # 95% two-sided Wilson interval: stop when its upper end is below the target
SPOT_CHECK_PRIORITY = 1.5  # above every ranking score (in [0, 1]), below escalations (2.0)
HUMAN_SOURCES = (LabelSource.ANNOTATOR, LabelSource.CONSENSUS, LabelSource.REVIEWER)
TARGET_RANGE = (0.5, 0.999)
BATCH = 2000


# --- settings -------------------------------------------------------------------------------------------

@transaction.atomic
def configure(*, project: Project, enabled: bool, target: float, spot_check_rate: float) -> Project:
    """A manager's auto-accept settings. Turning it on starts a new period (fresh spot-check count) and
    runs it on the latest model at once; turning it off stops labelling, keeping the labels already given."""
    low, high = TARGET_RANGE
    if not low <= target <= high:
        raise QuorumError(f"Target precision must be between {low:.0%} and {high:.1%}; got {target:.1%}.")
    if not 0.0 <= spot_check_rate <= 1.0:
        raise QuorumError(f"Spot-check rate must be between 0% and 100%; got {spot_check_rate:.1%}.")
    project = Project.objects.select_for_update().get(pk=project.pk)
    was_on = project.auto_accept
    turning_on = enabled and not was_on
    project.auto_accept, project.auto_accept_target = enabled, target
    project.auto_accept_spot_check_rate = spot_check_rate
    if turning_on:
        project.auto_accept_since = timezone.now()
    if enabled or was_on:  # an automatic stop's reason stays visible until the manager turns it on again
        project.auto_accept_stopped_at, project.auto_accept_stopped_reason = None, ""
    project.save(update_fields=["auto_accept", "auto_accept_target", "auto_accept_spot_check_rate",
                                "auto_accept_since", "auto_accept_stopped_at", "auto_accept_stopped_reason"])
    if enabled:
        # A raised target may already be out of reach; judged after commit, holding no lock (see check_spot_checks).
        transaction.on_commit(lambda: check_spot_checks(project=Project.objects.get(pk=project.pk)))
        version = ModelVersion.objects.filter(project=project, origin=ModelVersion.Origin.TRAINED).first()
        if turning_on and version is not None:
            send_after_commit("learning.tasks.auto_accept", args=[version.pk])
    return project


# --- after a retrain ------------------------------------------------------------------------------------

def run(*, version: ModelVersion) -> AutoAcceptRun | None:
    """Auto-accept with ``version`` if the project has it on and ``version`` is its latest trained model.

    Idempotent: a second call for the same version and period returns the stored run and labels nothing.
    """
    project = Project.objects.get(pk=version.project_id)
    if not project.auto_accept or project.auto_accept_since is None:
        return None
    latest = ModelVersion.objects.filter(project=project, origin=ModelVersion.Origin.TRAINED).first()
    if latest is None or latest.pk != version.pk:
        return None  # a newer model exists; its own run decides
    _boost_spot_checks(project)  # the retrain just re-ranked the open spot checks
    done = AutoAcceptRun.objects.filter(model_version=version, since=project.auto_accept_since).first()
    if done is not None:
        return done
    n_classes = project.labels.count()
    proba, y = _heldout(version, n_classes)
    target = project.auto_accept_target
    if len(y) < MIN_HELDOUT:
        return _record(project, version, message=(
            f"Waiting: needs {MIN_HELDOUT - len(y)} more human labels the model did not train on "
            f"({len(y)} of {MIN_HELDOUT}) before it can measure its precision."))
    fit = fit_auto_accept(proba, y, target)
    if fit.threshold is None:
        return _record(project, version, fit=fit, message=(
            f"Waiting: on {fit.n_heldout} held-out human labels, {version.name} reaches {_pct(target)} precision "
            f"at no confidence level yet (it needs at least 30 items above the threshold). More labels help."))
    ids, orders, confidence = _candidates(version, n_classes, fit)
    with transaction.atomic():
        # Runs of one model version write in turn. The lock is on the version, not the project: a submit
        # holds an item and then takes the project row (to queue a retrain), so project-then-items here
        # could deadlock with it; nothing else locks a version row.
        ModelVersion.objects.select_for_update().get(pk=version.pk)
        project = Project.objects.get(pk=project.pk)
        if not project.auto_accept:
            return None
        done = AutoAcceptRun.objects.filter(model_version=version, since=project.auto_accept_since).first()
        if done is not None:
            return done
        return _accept(project, version, fit, ids, orders, confidence)


def _heldout(version: ModelVersion, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities of items with a human final label, and that label's class index."""
    rows = (Prediction.objects.filter(model_version=version, out_of_fold=True, item__final_source__in=HUMAN_SOURCES,
                                      item__excluded=False, item__ambiguous=False)
            .values_list("probabilities", "item__final_label__order").iterator(chunk_size=BATCH))
    kept = [(p, order) for p, order in rows if order is not None and len(p) == n_classes]
    proba = np.array([p for p, _ in kept], dtype=np.float64).reshape(len(kept), n_classes)
    return proba, np.array([order for _, order in kept], dtype=int)


def _open_unlabelled(prefix: str = "") -> Q:
    """Items auto-accept may label: in the queue, no annotation, no final label, not gold, not set aside."""
    return Q(**{prefix + k: v for k, v in {"final_label__isnull": True, "annotation_count": 0, "needed__gt": 0,
                                           "is_gold": False, "excluded": False, "ambiguous": False}.items()})


def _candidates(version: ModelVersion, n_classes: int, fit) -> tuple[list[int], list[int], list[float]]:
    """Item ids whose calibrated confidence reaches the threshold, with the predicted class and confidence."""
    ids, orders, confidence = [], [], []
    rows = (Prediction.objects.filter(_open_unlabelled("item__"), model_version=version, out_of_fold=False)
            .values_list("item_id", "probabilities").iterator(chunk_size=BATCH))
    chunk = []
    for row in rows:
        if len(row[1]) == n_classes:
            chunk.append(row)
        if len(chunk) == BATCH:
            _take(chunk, fit, ids, orders, confidence)
            chunk = []
    _take(chunk, fit, ids, orders, confidence)
    return ids, orders, confidence


def _take(chunk, fit, ids, orders, confidence) -> None:
    if not chunk:
        return
    proba = np.array([p for _, p in chunk], dtype=np.float64)
    conf = accept_confidence(proba, fit.temperature)
    for n in np.flatnonzero(conf >= fit.threshold):
        ids.append(chunk[n][0])
        orders.append(int(proba[n].argmax()))
        confidence.append(float(conf[n]))


def _accept(project, version, fit, ids, orders, confidence) -> AutoAcceptRun:
    """Label the candidates still open (re-checked under row locks), keep a spot-check sample in the queue."""
    labels = {lab.order: lab for lab in project.labels.all()}
    by_id = dict(zip(ids, zip(orders, confidence, strict=True), strict=True))
    items, ids = [], sorted(ids)  # rows are locked in id order, as everyone else locks them
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        items += list(Item.objects.select_for_update().filter(_open_unlabelled(), pk__in=batch).order_by("pk"))
    rate = project.auto_accept_spot_check_rate
    n_checks = min(len(items), math.ceil(rate * len(items))) if rate > 0 else 0
    checked = set(random.Random(f"{project_seed(project)}:{version.pk}").sample([i.pk for i in items], n_checks))
    target = project.auto_accept_target
    chosen = [labels[by_id[i.pk][0]] for i in items]
    reasons = [f"auto-accepted: model {version.name} confidence {by_id[i.pk][1]:.3f} >= threshold "
               f"{fit.threshold:.3f} for target {_pct(target)}" + (" (spot check: a person will label it too)"
                                                                  if i.pk in checked else "") for i in items]
    set_final_labels_bulk(items=items, labels=chosen, source=LabelSource.MODEL, reasons=reasons,
                          cause=f"auto-accept:{version.pk}", confidences=[by_id[i.pk][1] for i in items])
    out = [i.pk for i in items if i.pk not in checked]
    for start in range(0, len(out), BATCH):
        Item.objects.filter(pk__in=out[start:start + BATCH]).update(needed=0)
    run_row = _record(project, version, fit=fit, accepted=len(items), spot_checks=n_checks, message=(
        f"{version.name} labelled {len(items)} items at calibrated confidence >= {fit.threshold:.3f} "
        f"(held-out precision {fit.precision_above:.1%} on the {fit.n_above} of {fit.n_heldout} human labels "
        f"above it); {n_checks} of them go to annotators as spot checks."))
    AutoAcceptCheck.objects.bulk_create(
        [AutoAcceptCheck(project=project, run=run_row, item=i, model_label=chosen[n])
         for n, i in enumerate(items) if i.pk in checked], batch_size=BATCH)
    _boost_spot_checks(project)
    return run_row


def _boost_spot_checks(project: Project) -> None:
    """Unanswered spot checks go ahead of ranked items (a retrain re-ranks them, so this runs after each)."""
    ItemRank.objects.filter(project=project, item__auto_accept_check__checked_at__isnull=True, is_open=True,
                            priority__lt=SPOT_CHECK_PRIORITY).update(priority=SPOT_CHECK_PRIORITY)


def _record(project, version, *, message: str, fit=None, accepted: int = 0, spot_checks: int = 0) -> AutoAcceptRun:
    return AutoAcceptRun.objects.create(
        project=project, model_version=version, since=project.auto_accept_since, target=project.auto_accept_target,
        threshold=fit.threshold if fit else None, temperature=fit.temperature if fit else None,
        n_heldout=fit.n_heldout if fit else 0, heldout_precision=fit.precision_above if fit else None,
        accepted=accepted, spot_checks=spot_checks, message=message)


# --- spot checks ----------------------------------------------------------------------------------------

def on_annotations_complete(sender, *, item: Item, winner=None, prior_source: str = "", **kwargs) -> None:
    """Signal receiver: nothing unless the item carried a model label (a spot check is auto-accepted first).

    The human label has already replaced the model's as the final label (queue._resolve, source annotator
    or consensus); here the check records whether they agreed, and the stop rule is evaluated.
    """
    if winner is None or prior_source != LabelSource.MODEL:
        return
    found = AutoAcceptCheck.objects.filter(item_id=item.pk).update(
        human_label_id=winner, agreed=Case(When(model_label_id=winner, then=Value(True)), default=Value(False)),
        checked_at=Coalesce(F("checked_at"), Value(timezone.now())))
    if found:
        project_id = item.project_id
        transaction.on_commit(lambda: check_spot_checks(project=Project.objects.get(pk=project_id)))


def measured(project: Project) -> dict:
    """Spot checks answered in the current period: n, agreed, precision and its 95% Wilson interval."""
    checks = AutoAcceptCheck.objects.filter(project=project, checked_at__isnull=False)
    if project.auto_accept_since is not None:
        checks = checks.filter(created_at__gte=project.auto_accept_since)
    n = checks.count()
    agreed = checks.filter(agreed=True).count()
    low, high = wilson_interval(agreed, n, z=STOP_Z)
    return {"n": n, "agreed": agreed, "precision": agreed / n if n else None, "low": low, "high": high}


def check_spot_checks(*, project: Project) -> bool:
    """Stop auto-accept when the spot checks show it below target; True if it stopped now.

    Called after the annotator's transaction commits, and written as two single-statement updates (the
    project, then its items) so it never holds a project row and item rows at once: a retrain takes them
    in one order and a submit in the other, and holding both here could deadlock with either.
    """
    if not project.auto_accept:
        return False
    m = measured(project)
    target = project.auto_accept_target
    if m["n"] < MIN_CHECKS or m["high"] >= target:
        return False
    now = timezone.now()
    unchecked = _unchecked(project)
    n_back = unchecked.count()
    reason = (f"Stopped {now:%Y-%m-%d}: spot checks agree on {m['agreed']} of {m['n']} ({m['precision']:.0%}, "
              f"95% CI {m['low']:.0%}–{m['high']:.0%}), below the {_pct(target)} target. {n_back} auto-accepted "
              f"item{'s' if n_back != 1 else ''} nobody had checked went back to the annotator queue; their model "
              f"labels stay until a person labels them. Turn auto-accept on again once the model has improved.")
    # A conditional update claims the stop, so two spot checks answered at once stop it once.
    if not Project.objects.filter(pk=project.pk, auto_accept=True).update(
            auto_accept=False, auto_accept_stopped_at=now, auto_accept_stopped_reason=reason):
        return False
    unchecked.update(needed=project.overlap)  # after the claim, so a run that starts now labels nothing more
    project.auto_accept, project.auto_accept_stopped_at, project.auto_accept_stopped_reason = False, now, reason
    return True


def _pct(value: float) -> str:
    """98% or 99.5%: a target shown as the manager typed it."""
    return f"{value:.1%}".replace(".0%", "%")


def _unchecked(project: Project):
    """Auto-accepted items out of the queue that no person has labelled."""
    return Item.objects.filter(project=project, final_source=LabelSource.MODEL, annotation_count=0, needed=0,
                               is_gold=False)


# --- what the pages show --------------------------------------------------------------------------------

def status(project: Project) -> dict:
    """Auto-accept at a glance: state (off, waiting, active, stopped), measured vs target, what it labelled.

    Five queries whatever the project size: the latest run, the two spot-check counts, the item counts.
    """
    run_row = None
    if project.auto_accept_since is not None:
        run_row = (AutoAcceptRun.objects.select_related("model_version")
                   .filter(project=project, since=project.auto_accept_since).first())
    if project.auto_accept:
        state = "active" if run_row is not None and run_row.threshold is not None else "waiting"
    else:
        state = "stopped" if project.auto_accept_stopped_reason else "off"
    counts = Item.objects.filter(project=project).aggregate(
        labeled=Count("id", filter=Q(final_label__isnull=False)),
        model=Count("id", filter=Q(final_source=LabelSource.MODEL)),
        pending=Count("id", filter=Q(auto_accept_check__checked_at__isnull=True,
                                     auto_accept_check__isnull=False, annotation_count__lt=F("needed"))))
    m = measured(project)
    return {
        "state": state, "run": run_row, "target": project.auto_accept_target,
        "spot_check_rate": project.auto_accept_spot_check_rate, "measured": m,
        "model_labels": counts["model"], "labeled": counts["labeled"], "pending_checks": counts["pending"],
        "share": counts["model"] / counts["labeled"] if counts["labeled"] else None,
        "min_checks": MIN_CHECKS, "stopped_reason": project.auto_accept_stopped_reason,
        "stopped_at": project.auto_accept_stopped_at,
        "gauge": _gauge(m, project.auto_accept_target),
        "text": {"target": _pct(project.auto_accept_target), "rate": _pct(project.auto_accept_spot_check_rate),
                 "precision": f"{m['precision']:.1%}" if m["n"] else "—",
                 "ci": f"{m['low']:.0%}–{m['high']:.0%}" if m["n"] else "",
                 "share": f"{counts['model'] / counts['labeled']:.0%}" if counts["labeled"] else "—",
                 "threshold": f"{run_row.threshold:.3f}" if run_row is not None and run_row.threshold is not None
                 else "—"},
    }


def _gauge(m: dict, target: float) -> dict:
    """Positions in % on a 50%..100% scale for the measured-vs-target bar."""
    def pos(value: float) -> float:
        return round(max(0.0, min(1.0, (value - 0.5) / 0.5)) * 100, 1)

    out = {"target": pos(target)}
    if m["n"]:
        out.update(point=pos(m["precision"]), low=pos(m["low"]), width=round(pos(m["high"]) - pos(m["low"]), 1),
                   below=m["high"] < target, meets=m["low"] >= target)
    return out
