"""Evaluation metrics for hierarchical predictions (pure numpy).

Conventions: ``proba`` is ``(n, n_leaves)`` with columns in the order of ``tree.leaves``;
``*_leaf_col`` arrays hold leaf column indices; ``*_node`` arrays hold node indices, where
a prediction of ``-1`` means abstain. Empty or malformed input raises ``ValueError``.

Macro-F1 (flat and per depth) averages over the classes present in the truth: a true class
never predicted scores 0, a class only predicted is not averaged in (see ``macro_f1``).
``evaluate`` returns every metric at once as a JSON-ready dict; ``paired_bootstrap``
compares two models on the same items.
"""

from __future__ import annotations

from .calibration import expected_calibration_error, reliability_curve
from .flat import confusion_pairs, leaf_accuracy, macro_f1, recall_at_k
from .hierarchy import accuracy_by_depth, ancestor_table, hierarchical_prf, macro_f1_by_depth
from .paired import PairedInterval, hierarchical_f1_parts, paired_bootstrap
from .report import evaluate
from .rollup import depth_thresholds, rollup_decide, rollup_report

__all__ = [
    "PairedInterval",
    "accuracy_by_depth",
    "ancestor_table",
    "confusion_pairs",
    "depth_thresholds",
    "evaluate",
    "expected_calibration_error",
    "hierarchical_f1_parts",
    "hierarchical_prf",
    "leaf_accuracy",
    "macro_f1",
    "macro_f1_by_depth",
    "paired_bootstrap",
    "recall_at_k",
    "reliability_curve",
    "rollup_decide",
    "rollup_report",
]
