"""Auto-accept: calibrated threshold on held-out human labels, bulk model labels, spot checks, automatic stop."""
import numpy as np
import pytest
from django.test import TestCase

from core.models import Item, LabelEvent, LabelSource
from core.services import set_final_label
from labeling.queue import next_assignment, submit_annotation
from learning import autoaccept
from learning.models import AutoAcceptCheck, AutoAcceptRun, ModelVersion, Prediction
from ml.calibration import accept_confidence
from quorum.lib.errors import QuorumError
from tests.conftest import add_texts

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SURE = [0.97, 0.02, 0.01]  # the model is right on every held-out item this sure
UNSURE = [0.6, 0.3, 0.1]  # and right on only half of these


def _build(project, *, sure_heldout=80, unsure_heldout=20, open_sure=10, open_unsure=10, source=LabelSource.ANNOTATOR,
           name="v1"):
    """A model version with out-of-fold predictions on human-labelled items and predictions on open ones.

    Returns (version, open sure items, open unsure items). Held-out: every SURE item is labelled "positive"
    (the model's class), half the UNSURE ones "negative" (the model was wrong).
    """
    labels = list(project.labels.all())
    n = sure_heldout + unsure_heldout + open_sure + open_unsure
    start = Item.objects.filter(project=project).count()
    add_texts(project, [f"{name} text {start + i}" for i in range(n)])
    items = list(Item.objects.filter(project=project).order_by("pk"))[start:]
    version = ModelVersion.objects.create(project=project, name=name, n_train=sure_heldout + unsure_heldout)
    preds = []
    for i, item in enumerate(items):
        heldout = i < sure_heldout + unsure_heldout
        proba = SURE if i < sure_heldout or sure_heldout + unsure_heldout <= i < n - open_unsure else UNSURE
        if heldout:
            wrong = i >= sure_heldout and (i - sure_heldout) % 2 == 0
            set_final_label(item=item, label=labels[1] if wrong else labels[0], source=source)
        preds.append(Prediction(model_version=version, item=item, probabilities=proba, out_of_fold=heldout))
    Prediction.objects.bulk_create(preds)
    Item.objects.filter(pk__in=[i.pk for i in items[:sure_heldout + unsure_heldout]]).update(annotation_count=1)
    open_items = items[sure_heldout + unsure_heldout:]
    return version, open_items[:open_sure], open_items[open_sure:]


def _enable(project, *, target=0.98, rate=0.05):
    return autoaccept.configure(project=project, enabled=True, target=target, spot_check_rate=rate)


def test_sure_open_items_get_the_model_label_and_leave_the_queue(text_project):
    version, sure, unsure = _build(text_project, open_sure=19)
    _enable(text_project, rate=0.05)
    run = autoaccept.run(version=version)
    assert run.threshold == pytest.approx(accept_confidence(np.array([SURE]), run.temperature)[0])
    assert run.accepted == 19 and run.spot_checks == 1 and run.n_heldout == 100
    positive = text_project.labels.get(name="positive")
    for item in Item.objects.filter(pk__in=[i.pk for i in sure]):
        assert item.final_label == positive and item.final_source == LabelSource.MODEL
        assert item.final_confidence == pytest.approx(run.threshold)
    out = Item.objects.filter(pk__in=[i.pk for i in sure], needed=0)
    assert out.count() == 18  # all but the spot check left the queue
    check = AutoAcceptCheck.objects.get()
    assert check.item.needed == 1 and check.item.rank.priority == autoaccept.SPOT_CHECK_PRIORITY
    assert not Item.objects.filter(pk__in=[i.pk for i in unsure], final_label__isnull=False).exists()
    event = LabelEvent.objects.filter(item=sure[0], source=LabelSource.MODEL).get()
    assert event.reason.startswith(f"auto-accepted: model v1 confidence {run.threshold:.3f} >= threshold")
    assert event.reason.split(" (spot check")[0].endswith("for target 98%") and event.cause == f"auto-accept:{version.pk}"


def test_the_threshold_excludes_a_confidence_level_below_target(text_project):
    # Held-out precision of UNSURE is 50%: even with a 50% target it needs 30 items above, and SURE ones
    # alone reach 98%, so only SURE-level items are accepted at a 98% target.
    version, sure, unsure = _build(text_project, unsure_heldout=40)
    _enable(text_project)
    run = autoaccept.run(version=version)
    assert run.heldout_precision == 1.0 and run.n_heldout == 120
    assert Item.objects.filter(final_source=LabelSource.MODEL).count() == len(sure)


def test_a_rerun_for_the_same_model_labels_nothing_twice(text_project):
    version, sure, _ = _build(text_project, open_sure=40)
    _enable(text_project, rate=0.1)
    first = autoaccept.run(version=version)
    events = LabelEvent.objects.count()
    again = autoaccept.run(version=version)
    assert again.pk == first.pk
    assert LabelEvent.objects.count() == events
    assert AutoAcceptRun.objects.count() == 1 and AutoAcceptCheck.objects.count() == 4


def test_spot_check_sample_is_the_rate_rounded_up(text_project):
    version, sure, _ = _build(text_project, open_sure=41)
    _enable(text_project, rate=0.1)
    run = autoaccept.run(version=version)
    assert run.spot_checks == 5 == AutoAcceptCheck.objects.count()  # ceil(4.1)
    checked = set(AutoAcceptCheck.objects.values_list("item_id", flat=True))
    assert set(Item.objects.filter(final_source=LabelSource.MODEL, needed=1).values_list("pk", flat=True)) == checked


def test_it_waits_for_enough_held_out_human_labels(text_project):
    version, sure, _ = _build(text_project, sure_heldout=30, unsure_heldout=0)
    _enable(text_project)
    run = autoaccept.run(version=version)
    assert run.threshold is None and run.accepted == 0
    assert run.message.startswith("Waiting: needs 20 more human labels")
    assert not Item.objects.filter(final_source=LabelSource.MODEL).exists()


def test_given_labels_are_not_evidence(text_project):
    version, _, _ = _build(text_project, source=LabelSource.GIVEN)
    _enable(text_project)
    run = autoaccept.run(version=version)
    assert "needs 50 more human labels" in run.message


def test_off_by_default_and_only_with_the_latest_model(text_project):
    old, _, _ = _build(text_project, name="v1")
    assert text_project.auto_accept is False
    assert autoaccept.run(version=old) is None
    new, _, _ = _build(text_project, name="v2")
    _enable(text_project)
    assert autoaccept.run(version=old) is None
    assert autoaccept.run(version=new) is not None


def test_items_a_person_labelled_or_that_are_gold_or_excluded_are_never_auto_accepted(text_project):
    version, sure, _ = _build(text_project)
    Item.objects.filter(pk=sure[0].pk).update(annotation_count=1)
    Item.objects.filter(pk=sure[1].pk).update(is_gold=True)
    Item.objects.filter(pk=sure[2].pk).update(excluded=True)
    _enable(text_project)
    autoaccept.run(version=version)
    model = set(Item.objects.filter(final_source=LabelSource.MODEL).values_list("pk", flat=True))
    assert model == {i.pk for i in sure[3:]}


def test_settings_refuse_out_of_range_values(text_project):
    with pytest.raises(QuorumError, match="between 50% and 99.9%"):
        autoaccept.configure(project=text_project, enabled=True, target=0.9999, spot_check_rate=0.05)
    with pytest.raises(QuorumError, match="Spot-check rate"):
        autoaccept.configure(project=text_project, enabled=True, target=0.98, spot_check_rate=1.5)


def test_turning_it_on_runs_it_with_the_latest_model_at_once(text_project, django_capture_on_commit_callbacks):
    version, sure, _ = _build(text_project)
    with django_capture_on_commit_callbacks(execute=True):
        _enable(text_project)
    assert AutoAcceptRun.objects.get().model_version == version
    assert Item.objects.filter(final_source=LabelSource.MODEL).count() == len(sure)


def _label_spot_checks(project, person, *, wrong: int, total: int):
    """``person`` answers ``total`` spot checks (served first), the first ``wrong`` with another label."""
    negative = project.labels.get(name="negative")
    positive = project.labels.get(name="positive")
    for n in range(total):
        assignment = next_assignment(project=project, annotator=person)
        assert AutoAcceptCheck.objects.filter(item=assignment.item_id).exists()  # spot checks come first
        with TestCase.captureOnCommitCallbacks(execute=True):  # the stop rule runs once the label is committed
            submit_annotation(project=project, annotator=person, assignment_id=assignment.pk,
                              label_id=(negative if n < wrong else positive).pk)


def test_a_human_label_on_a_spot_check_replaces_the_model_label_and_is_recorded(text_project, people):
    version, sure, _ = _build(text_project, open_sure=20)
    _enable(text_project, rate=0.05)
    autoaccept.run(version=version)
    _label_spot_checks(text_project, people["alice"], wrong=1, total=1)
    check = AutoAcceptCheck.objects.select_related("item").get()
    assert check.agreed is False and check.human_label.name == "negative" and check.checked_at is not None
    assert check.item.final_source == LabelSource.ANNOTATOR and check.item.final_label.name == "negative"
    history = list(LabelEvent.objects.filter(item=check.item).values_list("source", "to_label__name"))
    assert history == [(LabelSource.MODEL, "positive"), (LabelSource.ANNOTATOR, "negative")]
    m = autoaccept.measured(text_project)
    assert (m["n"], m["agreed"]) == (1, 0)


def test_spot_checks_below_target_stop_it_and_send_unchecked_items_back(text_project, people):
    version, sure, _ = _build(text_project, open_sure=100)
    _enable(text_project, rate=0.25)
    autoaccept.run(version=version)
    assert Item.objects.filter(final_source=LabelSource.MODEL, needed=0).count() == 75
    _label_spot_checks(text_project, people["alice"], wrong=4, total=19)
    text_project.refresh_from_db()
    assert text_project.auto_accept  # 19 checks: not enough to judge yet
    _label_spot_checks(text_project, people["alice"], wrong=0, total=1)
    text_project.refresh_from_db()
    assert text_project.auto_accept is False and text_project.auto_accept_stopped_at is not None
    reason = text_project.auto_accept_stopped_reason
    assert "spot checks agree on 16 of 20 (80%, 95% CI 58%–92%), below the 98% target" in reason
    assert "75 auto-accepted items nobody had checked went back to the annotator queue" in reason
    back = Item.objects.filter(final_source=LabelSource.MODEL, annotation_count=0)
    assert back.count() == 80 and not back.filter(needed=0).exists()  # 75 returned + 5 spot checks never taken
    assert autoaccept.run(version=version) is None  # and it labels nothing more


def test_spot_checks_that_agree_keep_it_running(text_project, people):
    version, _, _ = _build(text_project, open_sure=100)
    _enable(text_project, rate=0.25)
    autoaccept.run(version=version)
    _label_spot_checks(text_project, people["alice"], wrong=0, total=25)
    text_project.refresh_from_db()
    assert text_project.auto_accept and autoaccept.measured(text_project)["precision"] == 1.0


def test_turning_it_on_again_starts_a_fresh_count(text_project, people):
    version, _, _ = _build(text_project, open_sure=100)
    _enable(text_project, rate=0.25)
    autoaccept.run(version=version)
    _label_spot_checks(text_project, people["alice"], wrong=5, total=20)
    text_project.refresh_from_db()
    assert not text_project.auto_accept
    project = _enable(text_project)
    assert project.auto_accept_stopped_reason == "" and autoaccept.measured(project)["n"] == 0


def test_model_labels_do_not_train_the_next_model(text_project):
    from learning.retraining import _labeled

    version, sure, _ = _build(text_project)
    _enable(text_project)
    autoaccept.run(version=version)
    ids = np.array(Item.objects.filter(project=text_project).order_by("pk").values_list("pk", flat=True))
    idx, _ = _labeled(text_project, ids)
    assert not set(ids[idx].tolist()) & {i.pk for i in sure}
    assert len(idx) == 100


def test_raising_the_target_above_what_the_checks_show_stops_it(text_project, people, django_capture_on_commit_callbacks):
    version, _, _ = _build(text_project, open_sure=100)
    _enable(text_project, target=0.8, rate=0.25)
    autoaccept.run(version=version)
    _label_spot_checks(text_project, people["alice"], wrong=3, total=20)  # 85%: fine for an 80% target
    text_project.refresh_from_db()
    assert text_project.auto_accept
    with django_capture_on_commit_callbacks(execute=True):
        _enable(text_project, target=0.99, rate=0.25)
    text_project.refresh_from_db()
    assert not text_project.auto_accept and "below the 99% target" in text_project.auto_accept_stopped_reason


def test_turning_it_off_by_hand_keeps_the_model_labels(text_project):
    version, sure, _ = _build(text_project)
    _enable(text_project)
    autoaccept.run(version=version)
    project = autoaccept.configure(project=text_project, enabled=False, target=0.98, spot_check_rate=0.05)
    assert autoaccept.status(project)["state"] == "off"
    assert Item.objects.filter(final_source=LabelSource.MODEL, needed=0).count() == len(sure) - 1
