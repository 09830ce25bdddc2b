import numpy as np
import pytest

from ml import calibration

CONF = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6])
CORRECT = np.array([1, 1, 1, 0, 1, 0], dtype=bool)
# precision of items at or above each threshold: 1, 1, 1, 3/4, 4/5, 4/6


def test_ece_hand_worked():
    proba = np.array([[0.85, 0.15], [0.85, 0.15], [0.65, 0.35], [0.25, 0.75]])
    y = np.array([0, 1, 0, 1])
    # bins: (0.8, 0.9] two items acc 0.5 conf 0.85; (0.6, 0.7] acc 1 conf 0.65; (0.7, 0.8] acc 1 conf 0.75
    assert calibration.ece(proba, y) == pytest.approx((2 * 0.35 + 0.35 + 0.25) / 4)


def test_ece_is_zero_when_confidence_matches_accuracy():
    proba = np.tile([0.75, 0.25], (4, 1))
    assert calibration.ece(proba, [0, 0, 0, 1]) == pytest.approx(0.0)


def test_ece_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="labels"):
        calibration.ece(np.eye(2), [0])


def test_per_class_report_matches_hand_counts():
    report = calibration.per_class_report([0, 0, 1, 1, 2], [0, 1, 1, 1, 0])
    assert report["labels"].tolist() == [0, 1, 2]
    assert report["precision"] == pytest.approx([0.5, 2 / 3, 0.0])
    assert report["recall"] == pytest.approx([0.5, 1.0, 0.0])
    assert report["f1"] == pytest.approx([0.5, 0.8, 0.0])
    assert report["support"].tolist() == [2, 2, 1]


@pytest.mark.parametrize("target, expected", [(0.75, 0.7), (0.8, 0.7), (0.9, 0.9), (1.0, 0.9), (0.6, 0.6)])
def test_auto_accept_threshold_is_the_lowest_that_meets_the_target(target, expected):
    assert calibration.auto_accept_threshold(CONF, CORRECT, target, min_support=1) == expected


def test_auto_accept_threshold_is_none_when_min_support_cannot_be_met_at_target():
    assert calibration.auto_accept_threshold(CONF, CORRECT, 0.9, min_support=4) is None
    assert calibration.auto_accept_threshold(CONF, CORRECT, 0.75, min_support=4) == 0.7


def test_auto_accept_threshold_is_none_when_the_target_is_unreachable():
    assert calibration.auto_accept_threshold(CONF, np.zeros(6, bool), 0.5, min_support=1) is None


def test_auto_accept_threshold_counts_every_tied_item():
    # At 0.9 both tied items are accepted (one wrong), so 0.9 only gives precision 2/3.
    conf = np.array([0.95, 0.9, 0.9])
    correct = np.array([True, True, False])
    assert calibration.auto_accept_threshold(conf, correct, 0.9, min_support=1) == 0.95


def test_wilson_bound_makes_the_threshold_stricter():
    conf = np.linspace(1.0, 0.5, 200)
    correct = np.ones(200, bool)
    correct[[60, 120, 150, 170, 190]] = False
    plain = calibration.auto_accept_threshold(conf, correct, 0.95, min_support=30)
    strict = calibration.auto_accept_threshold(conf, correct, 0.95, min_support=30, z=1.645)
    assert plain == 0.5  # 195 of 200 correct
    assert strict is not None and strict > plain
    assert calibration.wilson_lower_bound(99, 100, 0.0) == pytest.approx(0.99)


def test_fit_temperature_softens_an_overconfident_model():
    proba = np.tile([0.95, 0.05], (100, 1))
    y = np.array([0] * 70 + [1] * 30)
    t = calibration.fit_temperature(proba, y)
    # softmax(log p / T) should give 0.7: (0.95 / 0.05) ** (1 / T) = 0.7 / 0.3
    assert t == pytest.approx(np.log(19) / np.log(7 / 3), rel=1e-3)
    assert calibration.apply_temperature(proba, t)[0, 0] == pytest.approx(0.7, abs=1e-3)
    assert calibration.ece(calibration.apply_temperature(proba, t), y) < calibration.ece(proba, y)


def test_fit_auto_accept_without_calibration_is_auto_accept_threshold():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(3) * 0.3, size=400)
    y = np.where(rng.random(400) < proba.max(axis=1), proba.argmax(axis=1), (proba.argmax(axis=1) + 1) % 3)
    fit = calibration.fit_auto_accept(proba, y, 0.95, calibrate=False)
    correct = proba.argmax(axis=1) == y
    assert fit.temperature == 1.0 and fit.n_heldout == 400
    assert fit.threshold == calibration.auto_accept_threshold(proba.max(axis=1), correct, 0.95, min_support=30, z=1.0)
    above = proba.max(axis=1) >= fit.threshold
    assert fit.n_above == above.sum() and fit.precision_above == pytest.approx(correct[above].mean())


def test_fit_auto_accept_threshold_is_on_the_calibrated_scale():
    # An underconfident model: right on every 0.7-sure item. Calibration sharpens it (T < 1), so the
    # threshold reads as the probability it really has, and accept_confidence puts new items on that scale.
    proba = np.tile([0.7, 0.2, 0.1], (60, 1))
    fit = calibration.fit_auto_accept(proba, np.zeros(60, dtype=int), 0.98)
    assert fit.temperature < 1 and fit.threshold > 0.95
    assert calibration.accept_confidence(np.array([[0.7, 0.2, 0.1]]), fit.temperature)[0] == pytest.approx(fit.threshold)
    assert fit.precision_above == 1.0 and fit.n_above == 60
