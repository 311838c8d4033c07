"""Calibration: does a 0.9 confidence mean right nine times out of ten?"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check_leaf_cols, check_proba, check_same_length


def reliability_curve(
    proba: Any, y_true_leaf_col: Any, n_bins: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean confidence and accuracy of the top-1 prediction per confidence bin.

    Bins are ``n_bins`` equal-width intervals ``(i / n_bins, (i + 1) / n_bins]`` of the
    top-1 probability (a confidence of exactly 0 falls in the first bin).

    Args:
        proba: ``(n, n_leaves)`` probabilities.
        y_true_leaf_col: ``(n,)`` true leaf columns.

    Returns:
        ``bin_conf``, ``bin_acc`` ``(n_bins,)`` float64 (NaN for an empty bin, which a plot
        skips) and ``bin_count`` ``(n_bins,)`` int64.
    """
    count, conf_sum, acc_sum = _binned(proba, y_true_leaf_col, n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return conf_sum / count, acc_sum / count, count


def expected_calibration_error(proba: Any, y_true_leaf_col: Any, n_bins: int = 15) -> float:
    """ECE (Guo et al., 2017): ``sum_b (n_b / n) |acc_b - conf_b|`` over the bins of
    ``reliability_curve``; 0 = perfectly calibrated."""
    return ece_from_bins(*_binned(proba, y_true_leaf_col, n_bins))


def _binned(
    proba: Any, y_true_leaf_col: Any, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    proba = check_proba(proba)
    y = check_leaf_cols(y_true_leaf_col, proba.shape[1])
    check_same_length(("proba", proba), ("y_true_leaf_col", y))
    return bin_confidence(proba.max(axis=1), proba.argmax(axis=1) == y, n_bins)


def bin_confidence(
    conf: np.ndarray, correct: np.ndarray, n_bins: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin item count, sum of confidence and number correct, from ``(n,)`` top-1
    confidences and ``(n,)`` bool correctness."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    conf = conf.astype(np.float64)
    inner_edges = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    b = np.searchsorted(inner_edges, conf, side="left")  # (e_i, e_i+1] -> bin i
    count = np.bincount(b, minlength=n_bins)
    conf_sum = np.bincount(b, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(b, weights=correct.astype(np.float64), minlength=n_bins)
    return count, conf_sum, acc_sum


def ece_from_bins(count: np.ndarray, conf_sum: np.ndarray, acc_sum: np.ndarray) -> float:
    # n_b * |acc_b - conf_b| == |number correct - sum of confidence| within the bin
    return float(np.abs(acc_sum - conf_sum).sum() / count.sum())
