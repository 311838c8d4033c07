"""Judging and promoting models: metrics on held-out labels, the promotion rule, the swap.

``ModelVersion.metrics`` holds ``classifier.metrics.evaluate`` of the model on the held-out
labels (``leaf_accuracy``, ``macro_f1``, ``hierarchical_f1``, ``ece``, ``rollup``, …) plus
``score`` (hierarchical F1, the promotion criterion: it credits a sibling mistake partly),
``score_name``, ``audit`` (the same metrics on the audit slice alone, or None), ``n_eval``,
``n_audit``, ``n_train``, and, when there was an active model:

- ``baseline``: the active model's figures on the *same* held-out labels (``model``,
  ``score``, ``leaf_accuracy``, ``macro_f1``; ``error`` when it could not be scored);
- ``comparison``: the paired bootstrap of the candidate's hierarchical F1 minus the active
  model's on those labels (``classifier.metrics.paired_bootstrap``, items resampled
  together): ``difference``, ``low``, ``high`` (the interval at ``confidence``), ``n``,
  ``resamples``, ``model`` (the active one) and ``margin``;
- ``common``: ``{"n_eval", "n_audit", "models": {pk: figures}}``, the active model and the
  few models retired last, scored on the same held-out labels, so the models page can set
  them side by side on one set instead of each on the set of its own run.

Promotion (``promotion_decision``) rejects a candidate only when it is worse with confidence:
the upper end of the interval is below ``-PROMOTION_MARGIN`` (default 0). One or two items'
difference on a few dozen labels is noise, and a rejection leaves the newest labels in no
active model until the next run.

``per_node_accuracy`` ``{category key: share}`` (what the taxonomy admin tree shows) and
``per_node_support`` ``{category key: items}``: for a node, of the held-out items whose true
label is the node or below it, the share whose predicted leaf (the argmax, as for
``accuracy_by_depth``) is also the node or below it. It is the node's recall in the tree: a
prediction in the right branch counts for every ancestor they share, so a sibling mistake
costs the leaf but not its parent. Items labelled above a node (a partial label) say nothing
about it and are left out; nodes without held-out items have no entry (unknown, not zero).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from django.utils import timezone

from classifier.metrics import ancestor_table, evaluate, hierarchical_f1_parts, paired_bootstrap
from classifier.model import HierarchicalClassifier
from classifier.tree import Tree
from labeling.models import ModelVersion
from labeling.services import dispatch
from labeling.services.learning.ml import VersionTree, load_model
from labeling.services.learning.training_data import LabelSet

log = logging.getLogger(__name__)

SCORE_NAME = "hierarchical_f1"
NO_ACTIVE = "promoted: there was no active model"
PROMOTED = "promoted: {detail}"
REJECTED = "rejected: {detail}"
SCORES = (
    "{name} {cand:.4f} vs active model #{active} {base:.4f} on {n} held-out labels ({audit} audit)"
)
INTERVAL = "difference {diff:+.4f}, {level:.0%} interval [{low:+.4f}, {high:+.4f}]"
WORSE = "{scores}; {interval}: worse with confidence (the interval is below {limit:g})"
NOT_WORSE = "{scores}; {interval}: not worse with confidence"
NO_COMPARISON = "{scores}; no paired comparison was made"
NO_EVAL = "no held-out labels to compare with the active model #{active}"
REPLACES_COLD_START = "no held-out labels; it replaces the cold-start model #{active}"
BASELINE_FAILED = "the active model #{active} could not be scored ({error})"
# Models besides the active one scored on each run's held-out labels, newest retired first.
COMMON_PEERS = 3
# The paired bootstrap of a promotion: fixed, so a decision can be reproduced.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_CONFIDENCE = 0.95
BOOTSTRAP_SEED = 0


def model_metrics(
    model: HierarchicalClassifier,
    vt: VersionTree,
    held: LabelSet,
    features: dict[str, np.ndarray],
    threshold: float,
) -> dict[str, Any]:
    """Every metric of ``model`` on the held-out labels, and on their audit part alone."""
    proba = model.predict_proba(features) if len(held) else None
    return proba_metrics(proba, vt, held, threshold)


def proba_metrics(
    proba: np.ndarray | None, vt: VersionTree, held: LabelSet, threshold: float
) -> dict[str, Any]:
    """``model_metrics`` from the ``(n, n_leaves)`` probabilities of the held-out items."""
    counts = {"n_eval": len(held), "n_audit": int(held.is_audit.sum())}
    if proba is None or not len(held):
        return {**counts, "score": None, "score_name": SCORE_NAME, "audit": None}
    report = evaluate(vt.tree, proba, held.nodes, threshold)
    audit = held.is_audit
    audit_report = (
        evaluate(vt.tree, proba[audit], held.nodes[audit], threshold) if audit.any() else None
    )
    accuracy, support = per_node_accuracy(vt.tree, held.nodes, vt.tree.leaves[proba.argmax(1)])
    return {
        **report,
        **counts,
        "score": report[SCORE_NAME],
        "score_name": SCORE_NAME,
        "audit": audit_report,
        "per_node_accuracy": accuracy,
        "per_node_support": support,
    }


def per_node_accuracy(
    tree: Tree, true_nodes: np.ndarray, pred_nodes: np.ndarray
) -> tuple[dict[str, float], dict[str, int]]:
    """``({key: accuracy}, {key: support})`` over ``(n,)`` true and predicted node indices
    (module docstring). Depth by depth, through each item's ancestor at that depth, so it
    costs ``depth x n`` rather than ``nodes x n`` (5,595 nodes in the Google taxonomy)."""
    table = ancestor_table(tree)
    support = np.zeros(tree.n_nodes, dtype=np.int64)
    hits = np.zeros(tree.n_nodes, dtype=np.int64)
    for depth in range(tree.max_depth):
        true_at, pred_at = table[depth, true_nodes], table[depth, pred_nodes]
        known = true_at >= 0
        support += np.bincount(true_at[known], minlength=tree.n_nodes)
        hits += np.bincount(true_at[known & (true_at == pred_at)], minlength=tree.n_nodes)
    seen = np.flatnonzero(support)
    return (
        {tree.keys[v]: float(hits[v] / support[v]) for v in seen},
        {tree.keys[v]: int(support[v]) for v in seen},
    )


def judge(
    model: HierarchicalClassifier,
    active: ModelVersion | None,
    vt: VersionTree,
    held: LabelSet,
    features: dict[str, np.ndarray],
    threshold: float,
    *,
    margin: float = 0.0,
) -> dict[str, Any]:
    """The candidate's metrics, the active model's on the same held-out labels, their paired
    comparison, and the figures of the active and recently retired models on those labels
    (module docstring). One peer's probabilities at a time: at 20,000 held-out labels over
    the Google taxonomy's 4,719 leaves each matrix is 380 MB."""
    proba = model.predict_proba(features) if len(held) else None
    metrics = proba_metrics(proba, vt, held, threshold)
    metrics |= {"baseline": None, "comparison": None, "common": None}
    if proba is None:
        return metrics
    figures: dict[str, Any] = {}
    for peer in _peers(active):
        try:
            peer_proba = load_model(peer).predict_proba(features)
        except Exception as error:  # a broken or incompatible artifact must not block training
            log.warning("model %s could not be scored", peer.pk, exc_info=True)
            if peer == active:
                metrics["baseline"] = {"model": peer.pk, "score": None, "error": str(error)}
            continue
        figures[str(peer.pk)] = _figures(vt, held, peer_proba, threshold)
        if peer == active:
            metrics["baseline"] = {"model": peer.pk, **figures[str(peer.pk)]}
            compared = paired_comparison(vt.tree, held.nodes, proba, peer_proba)
            metrics["comparison"] = {"model": peer.pk, "margin": margin, **compared}
    metrics["common"] = {"n_eval": len(held), "n_audit": metrics["n_audit"], "models": figures}
    return metrics


def paired_comparison(
    tree: Tree, true_nodes: np.ndarray, proba: np.ndarray, base_proba: np.ndarray
) -> dict[str, Any]:
    """The paired bootstrap of hierarchical F1 (argmax leaves) of ``proba`` minus
    ``base_proba`` on the same ``(n,)`` true nodes: ``difference``, ``low``, ``high``, ``n``,
    ``confidence``, ``resamples``."""
    num, den = hierarchical_f1_parts(tree, true_nodes, tree.leaves[proba.argmax(1)])
    base_num, base_den = hierarchical_f1_parts(tree, true_nodes, tree.leaves[base_proba.argmax(1)])
    return paired_bootstrap(
        num,
        base_num,
        denominator_a=den,
        denominator_b=base_den,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence=BOOTSTRAP_CONFIDENCE,
        seed=BOOTSTRAP_SEED,
    ).as_dict()


def _peers(active: ModelVersion | None) -> list[ModelVersion]:
    """The active model and the COMMON_PEERS models retired last (their trees are the
    version's: same taxonomy version); none without an active model."""
    if active is None:
        return []
    retired = (
        ModelVersion.objects.filter(
            taxonomy_version_id=active.taxonomy_version_id, status=ModelVersion.Status.RETIRED
        )
        .exclude(artifact="")
        .order_by("-promoted_at", "-id")[:COMMON_PEERS]
    )
    return [active, *retired]


def _figures(
    vt: VersionTree, held: LabelSet, proba: np.ndarray, threshold: float
) -> dict[str, Any]:
    """The few figures the models page compares: score, leaf accuracy, macro-F1."""
    report = evaluate(vt.tree, proba, held.nodes, threshold)
    return {
        "score": report[SCORE_NAME],
        "leaf_accuracy": report["leaf_accuracy"],
        "macro_f1": report["macro_f1"],
    }


def promotion_decision(
    metrics: Mapping[str, Any], active: ModelVersion | None, margin: float
) -> tuple[bool, str]:
    """Promote unless the candidate is worse than the active model with confidence: the
    upper end of the paired interval of the score difference on the same held-out labels
    is below ``-margin``. The reason reads as a sentence."""
    if active is None:
        return True, NO_ACTIVE
    baseline = metrics.get("baseline") or {}
    if metrics.get("score") is None:
        if active.config.get("kind") == "cold_start":
            return True, PROMOTED.format(detail=REPLACES_COLD_START.format(active=active.pk))
        return False, REJECTED.format(detail=NO_EVAL.format(active=active.pk))
    if baseline.get("score") is None:
        detail = BASELINE_FAILED.format(active=active.pk, error=baseline.get("error", "no score"))
        return True, PROMOTED.format(detail=detail)
    scores = SCORES.format(
        name=metrics.get("score_name", SCORE_NAME),
        cand=metrics["score"],
        active=active.pk,
        base=baseline["score"],
        n=metrics["n_eval"],
        audit=metrics["n_audit"],
    )
    comparison = metrics.get("comparison")
    if not comparison:
        return True, PROMOTED.format(detail=NO_COMPARISON.format(scores=scores))
    interval = INTERVAL.format(
        diff=comparison["difference"],
        level=comparison["confidence"],
        low=comparison["low"],
        high=comparison["high"],
    )
    if comparison["high"] < -margin:
        detail = WORSE.format(scores=scores, interval=interval, limit=-margin if margin else 0)
        return False, REJECTED.format(detail=detail)
    return True, PROMOTED.format(detail=NOT_WORSE.format(scores=scores, interval=interval))


def promote_model(candidate: ModelVersion, current: ModelVersion | None) -> None:
    """Retire ``current`` and activate ``candidate`` (call inside a transaction that locked
    the active row), then rescore the catalog with it once committed.

    The old model is retired first: the one-active-per-version constraint is checked per
    statement on PostgreSQL.
    """
    if current is not None:
        ModelVersion.objects.filter(pk=current.pk).update(status=ModelVersion.Status.RETIRED)
    candidate.status, candidate.promoted_at = ModelVersion.Status.ACTIVE, timezone.now()
    candidate.parent = current or candidate.parent
    candidate.save(update_fields=["status", "promoted_at", "parent"])
    dispatch.enqueue_on_commit("rescore_task", candidate.pk)
