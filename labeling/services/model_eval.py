"""Judging and promoting models: metrics on held-out labels, the promotion rule, the swap.

``ModelVersion.metrics`` holds ``classifier.metrics.evaluate`` of the model on the held-out
labels (``leaf_accuracy``, ``macro_f1``, ``hierarchical_f1``, ``ece``, ``rollup``, …) plus
``score`` (hierarchical F1, the promotion criterion: it credits a sibling mistake partly),
``score_name``, ``audit`` (the same metrics on the audit slice alone, or None), ``n_eval``,
``n_audit``, ``n_train`` and ``baseline`` (the active model's score on the same labels).

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

from classifier.metrics import ancestor_table, evaluate
from classifier.model import HierarchicalClassifier
from classifier.tree import Tree
from labeling.models import ModelVersion
from labeling.services import dispatch
from labeling.services.ml import VersionTree, load_model
from labeling.services.training_data import LabelSet

log = logging.getLogger(__name__)

SCORE_NAME = "hierarchical_f1"
NO_ACTIVE = "promoted: there was no active model"
PROMOTED = "promoted: {detail}"
REJECTED = "rejected: {detail}"
SCORES = (
    "{name} {cand:.4f} vs active model #{active} {base:.4f} on {n} held-out labels ({audit} audit)"
)
WORSE = "{scores}: worse by more than the tolerance {tol:g}"
NOT_WORSE = "{scores}, within the tolerance {tol:g}"
NO_EVAL = "no held-out labels to compare with the active model #{active}"
REPLACES_COLD_START = "no held-out labels; it replaces the cold-start model #{active}"
BASELINE_FAILED = "the active model #{active} could not be scored ({error})"


def model_metrics(
    model: HierarchicalClassifier,
    vt: VersionTree,
    held: LabelSet,
    features: dict[str, np.ndarray],
    threshold: float,
) -> dict[str, Any]:
    """Every metric of ``model`` on the held-out labels, and on their audit part alone."""
    counts = {"n_eval": len(held), "n_audit": int(held.is_audit.sum())}
    if not len(held):
        return {**counts, "score": None, "score_name": SCORE_NAME, "audit": None}
    proba = model.predict_proba(features)
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
) -> dict[str, Any]:
    """The candidate's metrics plus the active model's score on the same held-out labels."""
    metrics = model_metrics(model, vt, held, features, threshold)
    metrics["baseline"] = None
    if active is not None and len(held):
        try:
            base = model_metrics(load_model(active), vt, held, features, threshold)
            metrics["baseline"] = {"model": active.pk, "score": base["score"]}
        except Exception as error:  # a broken or incompatible artifact must not block training
            log.warning("active model %s could not be scored", active.pk, exc_info=True)
            metrics["baseline"] = {"model": active.pk, "score": None, "error": str(error)}
    return metrics


def promotion_decision(
    metrics: Mapping[str, Any], active: ModelVersion | None, tolerance: float
) -> tuple[bool, str]:
    """Promote unless the candidate scores worse than the active model by more than
    ``tolerance`` on the same held-out labels; the reason reads as a sentence."""
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
    if metrics["score"] < baseline["score"] - tolerance:
        return False, REJECTED.format(detail=WORSE.format(scores=scores, tol=tolerance))
    return True, PROMOTED.format(detail=NOT_WORSE.format(scores=scores, tol=tolerance))


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
