"""Expected calibration error and the reliability curve on hand-made confidences."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.metrics import expected_calibration_error, reliability_curve

PROBA = np.array([[0.95, 0.05], [0.95, 0.05], [0.90, 0.10], [0.65, 0.35], [0.65, 0.35]])
Y = [0, 1, 0, 0, 1]  # right, wrong, right, right, wrong


def test_ece_with_fifteen_equal_width_bins() -> None:
    # bins of width 1/15: 0.95 in (14/15, 1], 0.90 in (13/15, 14/15], 0.65 in (9/15, 10/15]
    # (14/15, 1]:     2 items, conf 0.95, acc 1/2 -> 2/5 * |0.5 - 0.95| = 0.18
    # (13/15, 14/15]: 1 item,  conf 0.90, acc 1   -> 1/5 * |1.0 - 0.90| = 0.02
    # (9/15, 10/15]:  2 items, conf 0.65, acc 1/2 -> 2/5 * |0.5 - 0.65| = 0.06
    assert expected_calibration_error(PROBA, Y) == pytest.approx(0.26)


def test_ece_with_one_bin_compares_mean_confidence_with_accuracy() -> None:
    # mean confidence (0.95 + 0.95 + 0.90 + 0.65 + 0.65) / 5 = 0.82, accuracy 3/5 = 0.6
    assert expected_calibration_error(PROBA, Y, n_bins=1) == pytest.approx(0.22)


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    proba = np.array([[0.5, 0.5], [0.5, 0.5], [1.0, 0.0]])
    # bin (0.4, 0.6]: conf 0.5, one of two right; bin (0.8, 1]: conf 1, right
    assert expected_calibration_error(proba, [0, 1, 0], n_bins=5) == pytest.approx(0.0)


def test_the_reliability_curve_per_bin_and_nan_for_empty_bins() -> None:
    conf, acc, count = reliability_curve(PROBA, Y, n_bins=5)
    # bins (0, .2], (.2, .4], (.4, .6], (.6, .8], (.8, 1]
    assert count.tolist() == [0, 0, 0, 2, 3]
    assert np.isnan(conf[:3]).all() and np.isnan(acc[:3]).all()
    assert conf[3:].tolist() == pytest.approx([0.65, (0.95 + 0.95 + 0.90) / 3])
    assert acc[3:].tolist() == pytest.approx([0.5, 2 / 3])


def test_a_confidence_on_a_bin_edge_falls_in_the_lower_bin() -> None:
    _, _, count = reliability_curve(np.array([[0.5, 0.5], [1.0, 0.0]]), [0, 0], n_bins=2)
    assert count.tolist() == [1, 1]  # 0.5 in (0, 0.5], 1.0 in (0.5, 1]


def test_it_refuses_bad_bins_and_empty_or_mismatched_input() -> None:
    with pytest.raises(ValueError, match="n_bins must be an integer >= 1, got 0"):
        expected_calibration_error(PROBA, Y, n_bins=0)
    with pytest.raises(ValueError, match="proba is empty: a metric needs at least one item"):
        expected_calibration_error(np.zeros((0, 2)), [])
    with pytest.raises(ValueError, match="inputs must have the same length"):
        expected_calibration_error(PROBA, [0, 1])
    with pytest.raises(ValueError, match="proba contains NaN or infinite values"):
        expected_calibration_error(np.array([[np.nan, 1.0]]), [0])
