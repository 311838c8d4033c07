"""Does a rule agree with a person's label? For the preview and the stats over time.

A label agrees with ``assign X`` when it is ``X`` or below it, and disagrees when it lies
elsewhere; a label above ``X`` (coarser: "Apparel" for a rule that says "Apparel > Shirts")
neither agrees nor disagrees, as the label cannot tell. ``forbid X`` is the mirror image: a
label at or below ``X`` is what the rule forbids (it disagrees), one elsewhere agrees. A
review rule asserts no category: its hits neither agree nor disagree.
"""

from __future__ import annotations

import numpy as np

from classifier.rules.spec import ASSIGN, FORBID
from classifier.tree import Tree

AGREES, UNDECIDED, DISAGREES = 1, 0, -1


def label_agreement(action: str, node: int, labels: np.ndarray, tree: Tree) -> np.ndarray:
    """``(m,)`` int8 ``AGREES``/``DISAGREES``/``UNDECIDED`` of each label node (-1: none)."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.zeros(len(labels), dtype=np.int8)
    known = labels >= 0
    if action not in (ASSIGN, FORBID) or node < 0 or not known.any():
        return out
    lab = labels[known]
    at_or_below = tree.ancestors[node, lab]
    above = tree.ancestors[lab, node] & ~at_or_below
    elsewhere = ~at_or_below & ~above
    verdict = np.zeros(len(lab), dtype=np.int8)
    verdict[at_or_below] = AGREES if action == ASSIGN else DISAGREES
    verdict[elsewhere] = DISAGREES if action == ASSIGN else AGREES
    out[known] = verdict
    return out
