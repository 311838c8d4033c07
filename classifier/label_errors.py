"""Suspected label errors: confident learning on out-of-fold predicted probabilities.

Confident learning (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty in
Dataset Labels", JAIR 70, 2021, sections 2-3) written from the paper's formulas; the cleanlab
package is AGPL-3.0 and this project is Apache-2.0. With ``n`` labelled items, ``k`` classes,
given labels ``y~`` and out-of-fold probabilities ``p`` (a model that never saw the item):

1. per-class thresholds ``t_j``: the mean of ``p_j`` over the items labelled ``j``
   (:func:`per_class_thresholds`); a class nobody labelled gets ``inf`` (never confident);
2. the confident joint ``C[i][j]``: items labelled ``i`` whose ``p_j >= t_j``, ``j`` the argmax
   of ``p`` among the classes above their threshold; items above no threshold are not counted
   (:func:`confident_joint`);
3. calibrated to the label counts: each row scaled to sum to ``n_i``; ``Q = C~ / n`` estimates
   the joint of given and true labels, so ``n * Q[i][j] = C~[i][j]`` (:func:`calibrated_joint`);
4. flags (``filter_by``): ``"prune_by_noise_rate"`` (the paper's Cl:PBNR: for each ``i != j``,
   the ``round(n * Q[i][j])`` items labelled ``i`` with the largest margin ``p_j - p_i``),
   ``"both"`` (Cl:both: flagged by PBNR *and* off the diagonal of the confident joint) or
   ``"confident_joint"`` (Cl:C_confusion). The default is ``"both"``: it never flags an item
   the model is not confidently sure belongs elsewhere, and on the fashion and BigBasket titles
   with 5% injected noise it flagged the same items as PBNR to within 0.1%, while C_confusion
   flagged 1.3-2.8x as many at lower precision
   (``docs/results/issue-17/label-errors.md``).

Flags are ranked by a label-quality score, lowest first: ``"self_confidence"`` (``p`` of the
given label; the default: the better queue head in 7 of 8 measured settings) or
``"normalized_margin"`` (``(p_given - max_{j != given} p_j + 1) / 2``). A weak model flags a
large share of the labels (47% on BigBasket at 2,000 labels, 0.50 accuracy), so a queue should
take the head of the ranking by quota rather than every flag. The suggested class is the best
other class, ``argmax_{j != given} p_j``: what a reviewer sees beside the given one, with both
shares as the evidence.

Labels are leaf columns (positions in ``Tree.leaves``). A negative label (``tree.leaf_index`` of
an inner node: a partial label) is skipped: it neither counts nor gets flagged. Items whose given
class has fewer than ``min_class_size`` labels are not flagged: out of fold, a class's only
label was judged by a model that never saw that class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.tree import Tree

FILTERS = ("both", "prune_by_noise_rate", "confident_joint")
RANKINGS = ("self_confidence", "normalized_margin")
UNKNOWN_FILTER = "filter_by must be one of {choices}, got {value!r}"
UNKNOWN_RANKING = "rank_by must be one of {choices}, got {value!r}"
BAD_SHAPES = "oof_proba must be (n, k) with one row per label; got labels {labels}, proba {proba}"
BAD_LABELS = "labels must be leaf columns below k={k}, or negative to skip"
TOO_FEW_GROUPS = "out-of-fold probabilities need at least {folds} groups of items, got {groups}"


@dataclass(frozen=True)
class LabelIssues:
    """Flagged items, most suspect first; every array has one entry per flag.

    Attributes:
        index: ``(m,)`` int64 row of each flagged item in the arrays given.
        given: ``(m,)`` int64 leaf column of the label it has.
        suggested: ``(m,)`` int64 leaf column the out-of-fold model prefers to it.
        p_given: ``(m,)`` float64 out-of-fold probability of the given leaf.
        p_suggested: ``(m,)`` float64 out-of-fold probability of the suggested leaf.
        score: ``(m,)`` float64 label quality in [0, 1] (``rank_by``), ascending.
    """

    index: np.ndarray
    given: np.ndarray
    suggested: np.ndarray
    p_given: np.ndarray
    p_suggested: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def records(self) -> list[dict[str, Any]]:
        """One JSON-friendly dict per flag, in rank order (for a task storing queue entries)."""
        names = ("index", "given", "suggested", "p_given", "p_suggested", "score")
        columns = [getattr(self, name).tolist() for name in names]
        return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


# -- the formulas --------------------------------------------------------------------------


def per_class_thresholds(labels: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """``(k,)`` float64 ``t_j``: mean ``proba[:, j]`` over rows labelled ``j``; ``inf`` for a
    class without labels. Rows with a negative label are ignored."""
    labels, proba = _checked(labels, proba)
    keep = labels >= 0
    k = proba.shape[1]
    counts = np.bincount(labels[keep], minlength=k)
    sums = np.bincount(labels[keep], weights=proba[keep, labels[keep]], minlength=k)
    out = np.full(k, np.inf)
    np.divide(sums, counts, out=out, where=counts > 0)
    return out


def confident_classes(proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``(n,)`` int64: per row, the most probable class among those at or above their
    threshold, or -1 when no class reaches its threshold."""
    proba = np.asarray(proba, dtype=np.float64)
    above = proba >= thresholds[None, :]
    masked = np.where(above, proba, -np.inf)
    best = masked.argmax(axis=1)
    return np.where(above.any(axis=1), best, -1).astype(np.int64)


def confident_joint(
    labels: np.ndarray, proba: np.ndarray, thresholds: np.ndarray | None = None
) -> np.ndarray:
    """``(k, k)`` int64 ``C[i][j]``: rows labelled ``i`` that are confidently ``j``."""
    labels, proba = _checked(labels, proba)
    t = per_class_thresholds(labels, proba) if thresholds is None else np.asarray(thresholds)
    confident = confident_classes(proba, t)
    k = proba.shape[1]
    counted = (labels >= 0) & (confident >= 0)
    flat = np.bincount(labels[counted] * k + confident[counted], minlength=k * k)
    return flat.reshape(k, k).astype(np.int64)


def calibrated_joint(joint: np.ndarray, label_counts: np.ndarray) -> np.ndarray:
    """``(k, k)`` float64 ``C~``: each row of ``joint`` rescaled to sum to its class's label
    count (a row with no confident item puts its count on the diagonal). ``C~ / C~.sum()`` is
    the paper's ``Q``, and ``C~[i][j] = n * Q[i][j]``."""
    joint = np.asarray(joint, dtype=np.float64)
    counts = np.asarray(label_counts, dtype=np.float64)
    rows = joint.sum(axis=1)
    scaled = np.divide(joint, rows[:, None], out=np.zeros_like(joint), where=rows[:, None] > 0)
    scaled *= counts[:, None]
    empty = np.flatnonzero(rows == 0)
    scaled[empty, empty] = counts[empty]
    return scaled


def label_quality(
    labels: np.ndarray, proba: np.ndarray, rank_by: str = "self_confidence"
) -> np.ndarray:
    """``(n,)`` float64 in [0, 1], lower = more likely wrong; NaN for a negative label."""
    if rank_by not in RANKINGS:
        raise ValueError(UNKNOWN_RANKING.format(choices=RANKINGS, value=rank_by))
    labels, proba = _checked(labels, proba)
    given = np.take_along_axis(proba, np.maximum(labels, 0)[:, None], axis=1)[:, 0]
    if rank_by == "normalized_margin":
        given = (given - _best_other(labels, proba)[1] + 1.0) / 2.0
    return np.where(labels >= 0, given, np.nan)


# -- the flags -----------------------------------------------------------------------------


def label_issues(
    labels: np.ndarray,
    oof_proba: np.ndarray,
    *,
    filter_by: str = "both",
    rank_by: str = "self_confidence",
    min_class_size: int = 2,
) -> LabelIssues:
    """The labels confident learning suspects, most suspect first.

    Args:
        labels: ``(n,)`` int leaf column of each item's label; negative to skip an item.
        oof_proba: ``(n, k)`` out-of-fold probabilities (see :func:`out_of_fold_proba`).
        filter_by: ``"both"``, ``"prune_by_noise_rate"`` or ``"confident_joint"``.
        rank_by: ``"self_confidence"`` or ``"normalized_margin"`` (see :func:`label_quality`).
        min_class_size: items of a class with fewer labels than this are never flagged.
    """
    if filter_by not in FILTERS:
        raise ValueError(UNKNOWN_FILTER.format(choices=FILTERS, value=filter_by))
    labels, proba = _checked(labels, oof_proba)
    flagged = _flag_mask(labels, proba, filter_by)
    counts = np.bincount(labels[labels >= 0], minlength=proba.shape[1])
    flagged &= counts[np.maximum(labels, 0)] >= min_class_size
    score = label_quality(labels, proba, rank_by)
    index = np.flatnonzero(flagged)
    index = index[np.argsort(score[index], kind="stable")]
    suggested, p_suggested = _best_other(labels[index], proba[index])
    return LabelIssues(
        index=index.astype(np.int64),
        given=labels[index],
        suggested=suggested,
        p_given=proba[index, labels[index]],
        p_suggested=p_suggested,
        score=score[index],
    )


def _flag_mask(labels: np.ndarray, proba: np.ndarray, filter_by: str) -> np.ndarray:
    thresholds = per_class_thresholds(labels, proba)
    confident = confident_classes(proba, thresholds)
    off_diagonal = (labels >= 0) & (confident >= 0) & (confident != labels)
    if filter_by == "confident_joint":
        return off_diagonal
    pruned = prune_by_noise_rate(labels, proba, thresholds)
    return pruned & off_diagonal if filter_by == "both" else pruned


def prune_by_noise_rate(
    labels: np.ndarray, proba: np.ndarray, thresholds: np.ndarray | None = None
) -> np.ndarray:
    """``(n,)`` bool, Cl:PBNR: for each ``i != j`` the ``round(n * Q[i][j])`` items labelled
    ``i`` with the largest ``p_j - p_i`` (ties: the earlier row), half rounded up."""
    labels, proba = _checked(labels, proba)
    k = proba.shape[1]
    counts = np.bincount(labels[labels >= 0], minlength=k)
    joint = calibrated_joint(confident_joint(labels, proba, thresholds), counts)
    to_prune = np.floor(joint + 0.5).astype(np.int64)
    flagged = np.zeros(len(labels), dtype=bool)
    for i, j in zip(*np.nonzero(to_prune), strict=True):
        if i == j:
            continue
        rows = np.flatnonzero(labels == i)
        margin = proba[rows, j] - proba[rows, i]
        flagged[rows[np.argsort(-margin, kind="stable")[: to_prune[i, j]]]] = True
    return flagged


def _best_other(labels: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n,)`` int64 column and ``(n,)`` float64 probability of the best class other than the
    label (for a negative label: the best class)."""
    others = proba.copy()
    rows = np.flatnonzero(labels >= 0)
    others[rows, labels[rows]] = -np.inf
    best = others.argmax(axis=1).astype(np.int64)
    return best, np.take_along_axis(proba, best[:, None], axis=1)[:, 0]


def _checked(labels: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[0] != len(labels) or proba.shape[1] < 2:
        raise ValueError(BAD_SHAPES.format(labels=labels.shape, proba=proba.shape))
    if (labels >= proba.shape[1]).any():
        raise ValueError(BAD_LABELS.format(k=proba.shape[1]))
    return labels, proba


# -- out-of-fold probabilities with the project's model -------------------------------------


def out_of_fold_proba(
    tree: Tree,
    X: Mapping[str, np.ndarray],
    y: np.ndarray,
    *,
    n_folds: int = 5,
    seed: int = 0,
    groups: np.ndarray | None = None,
    params: Mapping[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """``(n, n_leaves)`` float32 leaf probabilities of each item from a model that did not
    train on it: ``n_folds`` ``HierarchicalClassifier`` fits, each on the other folds.

    Args:
        tree: the category tree; ``y`` holds its node indices (partial labels train too).
        X: ``{modality: (n, d)}`` features, as ``HierarchicalClassifier.fit`` takes them.
        groups: ``(n,)`` group ids kept in one fold (``classifier.splits.duplicate_groups`` of
            the titles); by default identical rows of the first modality.
        params: more ``HierarchicalClassifier`` arguments (``modalities``, ``max_epochs``...).
        progress: called as ``progress(folds_done, n_folds)`` after each fold's fit.
    """
    from classifier.model import HierarchicalClassifier, training

    y = np.asarray(y, dtype=np.int64).reshape(-1)
    if groups is None:
        groups = training.row_groups(np.asarray(next(iter(X.values()))))
    folds = training.group_folds(np.asarray(groups), n_folds, seed)
    if folds is None:
        raise ValueError(TOO_FEW_GROUPS.format(folds=n_folds, groups=len(np.unique(groups))))
    out = np.zeros((len(y), tree.n_leaves), dtype=np.float32)
    for k in range(n_folds):
        held, rest = np.flatnonzero(folds == k), np.flatnonzero(folds != k)
        model = HierarchicalClassifier(tree, **{"seed": seed, **(params or {})})
        model.fit({m: v[rest] for m, v in X.items()}, y[rest])
        out[held] = model.predict_proba({m: v[held] for m, v in X.items()})
        if progress is not None:
            progress(k + 1, n_folds)
    return out
