"""Auto-accept with a precision guarantee: per-node thresholds certified on audit labels.

**What is guaranteed.** With probability at least ``1 - alpha`` over the draw of the audit
items, every threshold the policy certifies keeps the precision of the items it accepts at or
above ``target`` (hence so does the whole auto-accepted set, a mixture of them). Precision is
"the accepted node is the true node or one of its ancestors"; a decision below an inner-node
label cannot be checked and counts as an error here.

**Units (hierarchical pooling).** Items are grouped by their predicted path's leaf. A node
with enough audit items predicted into its subtree (after its descendants that are units took
theirs) is a *unit* with a threshold of its own; a node with too few pools its items into its
parent's count, up to a catch-all unit for everything left (``ROOT``). "Enough" is
``unit_size``: twice (``1 / plan_share``) the fewest decisions that can certify ``target``
with ``slack_errors`` errors, so that its most confident half can hold them (946 at 0.99 /
0.05 / 1 error); a smaller split would leave both it and the rest too few to certify.
Every node then has the threshold of the unit its items belong to (``thresholds_``), or
``inf`` (manual) where that unit certified nothing; within a unit one threshold rolls up: an
item is accepted at the deepest node of its predicted path whose probability clears it.

**How a unit's threshold is chosen: fixed-sequence testing (Learn then Test).** Candidate
thresholds are tested from the highest down; at each, H0 "precision of what this threshold
accepts < target" is rejected when the exact binomial test (``bounds.errors_p_value``, the
Clopper–Pearson bound at ``target``) gives p <= alpha_unit; the first non-rejection stops the
sequence and the lowest rejected threshold is kept. Testing a fixed sequence in order needs no
multiplicity correction (Angelopoulos, Bates, Candès, Jordan & Lei, "Learn then Test:
Calibrating Predictive Algorithms to Achieve Risk Control", 2021, sec. 3 and Prop. 3; fixed
sequence: Maurer, Hothorn & Lehmacher 1995); scanning every threshold and keeping the lowest
whose bound clears would not be valid. Across units the level is split (Bonferroni:
``alpha / n_units``) so the guarantee holds for all of them at once; Bates, Angelopoulos, Lei,
Malik & Jordan, "Distribution-free, risk-controlling prediction sets" (2021), give the
single-threshold version.

**Why the choices made from data keep it.** The units, the grid, where each sequence starts
and the per-unit level use only the model and the *unlabelled* reference items (the catalog;
``reference_proba``), never the audit labels; so, given them, the audit items of a unit are
still an i.i.d. sample of that unit's items and each test is exact. A unit's sequence starts
at the highest threshold at which the reference items say the unit's audit items should
hold ``N[slack_errors]`` decisions (the fewest that can certify with that many errors;
``N[0]`` when no threshold reaches it): above it too few are accepted to certify anything,
and a start chosen from the audit items' own counts would no longer be fixed in advance.
The model's confidences only rank items: the start and ``audit_needs`` read counts, not the
confidences' values, so an underconfident model (fashion's tops out near 0.97) costs
coverage, not validity. Without ``reference_proba`` the audit items' own predictions stand
in (their labels still unused; the counts then condition on the sample, a small departure).
The audit set must be a uniform sample of the items the policy is applied to, not used in
training, and its size must not depend on its labels (no "audit until it passes").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifier.tree import Tree

from .bounds import (
    clopper_pearson_lower,
    errors_p_value,
    min_decisions,
)
from .paths import Paths, predicted_paths

ROOT = -1  # the catch-all unit: items whose path meets no unit of their own
# Thresholds tried, highest first: denser near 1, where a calibrated model's precision is.
# The share of a queue batch audit may rise to while the policy lacks the labels to certify:
# the product's default (TAXOLOOP["MAX_AUDIT_SHARE"]) and the simulator's, so what the
# simulator measures is what the product does.
MAX_AUDIT_SHARE = 0.5
GRID_STEP = 0.01  # each candidate threshold accepts about 1% more of a unit's items
AUTO_ACCEPTED, NEEDS_REVIEW, LABELLED = "auto-accepted", "needs review", "labelled"


@dataclass(frozen=True)
class UnitResult:
    """One unit's test: ``node`` (``ROOT`` for the catch-all), audit items predicted into
    it, its level, the first threshold tested (None: too few audit items to test any), the
    certified threshold (``inf``: none) and,
    at that threshold, the audit items accepted, their errors and the precision's lower
    bound at the unit's level (None without a threshold)."""

    node: int
    n_audit: int
    alpha: float
    start: float | None
    threshold: float
    n_accepted: int
    n_errors: int
    lower_bound: float | None


@dataclass(frozen=True)
class Decisions:
    """``accepted`` ``(n,)`` bool, ``node`` ``(n,)`` the node accepted at (-1: needs
    review) and ``confidence`` ``(n,)`` that node's probability (the leaf's when not)."""

    accepted: np.ndarray
    node: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True)
class AuditNeed:
    """A node without a threshold of its own: audit items predicted into it (``have``),
    how many it needs (``need``, see ``audit_needs``), how many more uniform audit labels
    bring that many (``extra_audit``), and whether its items can already be accepted through
    a pooled unit (``covered``)."""

    node: int
    have: int
    need: int
    extra_audit: int
    covered: bool


class AutoAcceptPolicy:
    """Certified per-node auto-accept thresholds.

    Args:
        tree: the category tree; probabilities' columns follow ``tree.leaves``.
        target: precision to guarantee (0.99).
        alpha: 1 - the confidence of the guarantee (0.05), shared by all units.
        grid: candidate thresholds, all in ``(0.5, 1]``, tested from the highest; default
            per unit, where its reference items' confidences reach ``grid_step``,
            ``2 grid_step``, ... of them (each step adds as many items, wherever the
            model's confidences bunch; fashion's sit between 0.93 and 0.97).
        slack_errors: errors the first test of a unit can afford: sets where it starts
            (1: 473 decisions at 0.99 / 0.05) and, with ``plan_share``, a unit's size.
        plan_share: the share of a node's items a unit's size plans to certify.

    Learned: ``thresholds_`` ``(n_nodes,)`` (``inf``: manual), ``unit_of_`` ``(n_nodes,)``
    (the unit node, or ``ROOT``), ``units_`` (``UnitResult``, the catch-all last),
    ``unit_alpha_``, ``unit_size_`` and ``root_threshold_``.
    """

    def __init__(
        self, tree: Tree, *, target: float = 0.99, alpha: float = 0.05,
        grid: tuple[float, ...] | None = None, slack_errors: int = 1, plan_share: float = 0.5,
        grid_step: float = GRID_STEP,
    ) -> None:  # fmt: skip
        self.tree = tree
        self.target = target
        self.alpha = alpha
        self.grid = grid
        self.slack_errors = slack_errors
        self.plan_share = plan_share
        self.grid_step = grid_step

    def fit(
        self, proba: np.ndarray, y_true: np.ndarray, *, reference_proba: np.ndarray | None = None
    ) -> AutoAcceptPolicy:
        """Certify on audit items: ``proba`` ``(n, n_leaves)`` and ``y_true`` ``(n,)`` true
        node indices; ``reference_proba`` ``(m, n_leaves)``: the unlabelled items the policy
        will be applied to (sizes the units and starts the tests; see the module doc)."""
        self._check(proba, y_true)
        tree = self.tree
        audit = predicted_paths(tree, proba)
        ref = audit if reference_proba is None else predicted_paths(tree, reference_proba)
        self.n_audit_ = len(audit)
        self.reference_ = ref
        self.audit_through_ = _through_counts(tree, audit)
        scale = self.n_audit_ / max(len(ref), 1)  # expected audit items per reference item
        own = np.bincount(ref.leaf, minlength=tree.n_nodes) * scale if len(ref) else np.zeros(0)
        is_unit, self.unit_alpha_, self.unit_size_ = self._structure(own)
        self.unit_of_ = _unit_of(tree, is_unit)
        y = np.asarray(y_true, dtype=np.int64)
        units = [*np.flatnonzero(is_unit).tolist(), ROOT]
        self.units_ = [self._test_unit(u, audit, y, ref, scale) for u in units]
        by_unit = {r.node: r.threshold for r in self.units_}
        self.thresholds_ = np.array([by_unit[u] for u in self.unit_of_], dtype=np.float64)
        self.root_threshold_ = by_unit[ROOT]
        return self

    def apply(self, proba: np.ndarray) -> Decisions:
        """Decisions for ``(n, n_leaves)`` probabilities (see ``apply``)."""
        return apply(self, proba)

    def audit_needs(self, nodes: Sequence[int] | None = None) -> list[AuditNeed]:
        """Nodes without a threshold of their own (see ``audit_needs``)."""
        return audit_needs(self, nodes)

    # -- fitting --------------------------------------------------------------------------

    def _check(self, proba: np.ndarray, y_true: np.ndarray) -> None:
        if not 0.0 < self.target < 1.0 or not 0.0 < self.alpha < 1.0:
            raise ValueError("target and alpha must be in (0, 1)")
        if not 0.0 < self.plan_share <= 1.0:
            raise ValueError(f"plan_share must be in (0, 1], got {self.plan_share}")
        if self.grid is not None and (min(self.grid) <= 0.5 or max(self.grid) > 1.0):
            raise ValueError("grid thresholds must be in (0.5, 1]")
        if not 0.0 < self.grid_step <= 0.5:
            raise ValueError(f"grid_step must be in (0, 0.5], got {self.grid_step}")
        y = np.asarray(y_true)
        if np.asarray(proba).shape[0] != len(y):
            raise ValueError(f"proba has {np.asarray(proba).shape[0]} rows, y_true {len(y)}")
        if len(y) and (y.min() < 0 or y.max() >= self.tree.n_nodes):
            raise ValueError("y_true must hold node indices of the tree")

    def _grid(self, ref: Paths) -> tuple[float, ...]:
        """Candidate thresholds of a unit, highest first (from its reference items only)."""
        if self.grid is not None:
            return tuple(sorted(self.grid, reverse=True))
        top = np.sort(ref.proba[:, 0])[::-1] if len(ref) else np.ones(1)
        shares = np.arange(1, int(1 / self.grid_step) + 1) * self.grid_step
        at = np.minimum(np.ceil(shares * len(top)).astype(np.int64), len(top)) - 1
        grid = np.unique(top[at][top[at] > 0.5])[::-1]
        return tuple(float(t) for t in grid) if len(grid) else (1.0,)

    def _structure(self, own: np.ndarray) -> tuple[np.ndarray, float, int]:
        """Units from the expected audit items per leaf node, and the level each gets. The
        level depends on the number of units and the units' size on the level: grow the
        guess until the units it gives are no more than it (at most ``n_nodes + 1`` steps)."""
        guess = 1
        while True:
            size = unit_size(self, self.alpha / guess)
            is_unit = _bottom_up_units(self.tree, own, size)
            n_units = int(is_unit.sum()) + 1
            if n_units <= guess:
                return is_unit, self.alpha / n_units, unit_size(self, self.alpha / n_units)
            guess = n_units

    def _test_unit(
        self, unit: int, audit: Paths, y: np.ndarray, ref: Paths, scale: float
    ) -> UnitResult:
        """The fixed sequence of one unit, from its start down to the first failure."""
        mine = self.unit_of_[audit.leaf] == unit if len(audit) else np.zeros(0, dtype=bool)
        ref_mine = self.unit_of_[ref.leaf] == unit if len(ref) else np.zeros(0, dtype=bool)
        grid = self._grid(_subset(ref, ref_mine))
        start = _start(self, _subset(ref, ref_mine), scale, grid)
        sub, y_sub = _subset(audit, mine), y[mine]
        chosen: tuple[float, int, int] | None = None
        for t in grid[len(grid) if start is None else start :]:
            node, _ = sub.accepted(t)
            hit = node >= 0
            n, errors = int(hit.sum()), int((~self.tree.ancestors[node[hit], y_sub[hit]]).sum())
            if errors_p_value(errors, n, self.target) > self.unit_alpha_:
                break
            chosen = (t, n, errors)
        t, n, errors = chosen if chosen else (math.inf, 0, 0)
        bound = clopper_pearson_lower(n - errors, n, self.unit_alpha_) if chosen else None
        first = None if start is None else grid[start]
        return UnitResult(unit, int(mine.sum()), self.unit_alpha_, first, t, n, errors, bound)


def _start(
    policy: AutoAcceptPolicy, ref: Paths, scale: float, grid: tuple[float, ...]
) -> int | None:
    """Index of the highest threshold whose expected audit decisions (``scale x`` the
    reference items it accepts: those whose top-level node clears it) reach the unit's
    size ``N[slack_errors]``, else ``N[0]``; None when not even that is expected."""
    top = ref.proba[:, 0] if len(ref) else np.zeros(0)
    expected = np.array([scale * float((top >= t).sum()) for t in grid])
    for errors in (policy.slack_errors, 0):
        size = min_decisions(policy.target, policy.unit_alpha_, errors)
        reach = np.flatnonzero(expected >= size)
        if len(reach):
            return int(reach[0])
    return None


def _subset(paths: Paths, mask: np.ndarray) -> Paths:
    return Paths(nodes=paths.nodes[mask], proba=paths.proba[mask])


def unit_size(policy: AutoAcceptPolicy, alpha: float) -> int:
    """Audit items a node needs for a threshold of its own: ``N[slack_errors] / plan_share``."""
    return math.ceil(min_decisions(policy.target, alpha, policy.slack_errors) / policy.plan_share)


def _bottom_up_units(tree: Tree, own: np.ndarray, min_audit: int) -> np.ndarray:
    """Deepest first: a node whose remaining expected audit items reach ``min_audit`` is a
    unit; otherwise its remainder pools into its parent."""
    is_unit = np.zeros(tree.n_nodes, dtype=bool)
    if not len(own):
        return is_unit
    remaining = own.astype(np.float64).copy()
    for v in np.argsort(-tree.depth, kind="stable"):
        if remaining[v] >= min_audit:
            is_unit[v] = True
        elif tree.parents[v] >= 0:
            remaining[tree.parents[v]] += remaining[v]
    return is_unit


def _unit_of(tree: Tree, is_unit: np.ndarray) -> np.ndarray:
    """Each node's nearest unit, itself or an ancestor, else ``ROOT``."""
    out = np.full(tree.n_nodes, ROOT, dtype=np.int64)
    for v in np.argsort(tree.depth, kind="stable"):
        parent = tree.parents[v]
        out[v] = v if is_unit[v] else (out[parent] if parent >= 0 else ROOT)
    return out


def _through_counts(tree: Tree, paths: Paths) -> np.ndarray:
    """``(n_nodes,)`` items whose predicted path passes through each node."""
    on_path = paths.nodes[paths.nodes >= 0]
    return np.bincount(on_path, minlength=tree.n_nodes)


def apply(policy: AutoAcceptPolicy, proba: np.ndarray) -> Decisions:
    """Each item is accepted at the deepest node of its predicted path whose probability
    clears the threshold of the item's unit (the threshold ``thresholds_`` gives its
    predicted leaf); items whose unit certified nothing need review."""
    paths = predicted_paths(policy.tree, proba)
    threshold = policy.thresholds_[paths.leaf] if len(paths) else np.zeros(0)
    node, confidence = paths.accepted(threshold)
    return Decisions(accepted=node >= 0, node=node, confidence=confidence)


def statuses(decisions: Decisions, labelled: np.ndarray | None = None) -> np.ndarray:
    """``(n,)`` ``AUTO_ACCEPTED``, ``NEEDS_REVIEW`` or, where ``labelled`` is True,
    ``LABELLED`` (a person's label wins over any decision)."""
    out = np.where(decisions.accepted, AUTO_ACCEPTED, NEEDS_REVIEW).astype(object)
    if labelled is not None:
        out[np.asarray(labelled, dtype=bool)] = LABELLED
    return out


def audit_needs(policy: AutoAcceptPolicy, nodes: Sequence[int] | None = None) -> list[AuditNeed]:
    """The nodes (``ROOT`` included; or only those of ``nodes``) that have no unit of their
    own, or whose unit certified nothing, with the audit items they would need, cheapest
    first. ``need`` = ``unit_size_``, audit items predicted into the node: enough that its
    most confident ``plan_share`` of items can certify with ``slack_errors`` errors (946 at
    0.99 / 0.05 / 1 error / half). A planning rule, not a promise: whether those
    decisions are right enough is what the audit finds out. It reads no audit label and no
    confidence value, so raising the audit share by it keeps the guarantee."""
    ref, tree = policy.reference_, policy.tree
    own_unit = {r.node: r.threshold for r in policy.units_}
    need = policy.unit_size_
    needs = []
    for node in [ROOT, *range(tree.n_nodes)] if nodes is None else nodes:
        if np.isfinite(own_unit.get(node, math.inf)):
            continue
        through = len(ref) if node == ROOT else int((ref.nodes == node).any(axis=1).sum())
        if not through:
            continue
        have = policy.n_audit_ if node == ROOT else int(policy.audit_through_[node])
        extra = math.ceil(max(0, need - have) * len(ref) / through)
        threshold = policy.root_threshold_ if node == ROOT else policy.thresholds_[node]
        needs.append(AuditNeed(node, have, need, extra, bool(np.isfinite(threshold))))
    return sorted(needs, key=lambda n: (n.extra_audit, n.node))
