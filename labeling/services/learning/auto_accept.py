"""Auto-accept with a precision guarantee in the product (issue 17).

``certify(mv)`` fits ``classifier.certify.AutoAcceptPolicy`` for a model version on the audit
labels of its taxonomy version (the random audit slice: every audit label is held out of
training, so the model never saw them) with a random sample of the unlabelled catalog as its
reference, at the version's ``target_precision``, and stores the outcome in
``mv.metrics["auto_accept"]``: the certified threshold of every leaf (its unit's), each
unit's test (audit items, accepted, errors, lower bound), and which nodes lack the audit
labels to certify. A rescore job certifies once when it is planned (``rescore_jobs``), so
every shard of the job applies one policy; the thresholds are read back by ``ChunkPolicy``,
which decides each scored chunk (the node an item is accepted at, or none).

An item's ``Prediction.status`` then follows from that and its label (``labelled`` wins),
kept by ``services.review.disagreement`` at every chunk and every label write.

``catalog_snapshot(mv)`` counts the catalog's statuses and auto-accepted depths once a
rescore job is done; the dashboard shows these snapshots over model versions.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from classifier.certify import (
    MAX_AUDIT_SHARE,
    ROOT,
    AutoAcceptPolicy,
    Paths,
    clopper_pearson_lower,
)
from labeling.models import Item, Label, ModelVersion, Prediction
from labeling.services.learning import ml

log = logging.getLogger(__name__)

ALPHA = 0.05  # one-sided 95%: the bound
# Unlabelled items the policy's units and test starts are planned on (never labels).
REFERENCE_ITEMS = 20_000
# audit_needs rows kept in the stored summary (cheapest first).
NEEDS_KEPT = 20
KEY = "auto_accept"
# The most of a queue batch the audit share is raised to while nodes lack audit labels.
DEFAULT_MAX_AUDIT_SHARE = MAX_AUDIT_SHARE  # 0.5, the simulator's default too


@dataclass(frozen=True)
class ChunkPolicy:
    """A certified policy's leaf thresholds for one model's tree (``inf``: manual)."""

    leaf_threshold: np.ndarray  # (n_nodes,) threshold of the unit of each node

    @classmethod
    def of(cls, mv: ModelVersion, vtree: ml.VersionTree) -> ChunkPolicy | None:
        """The policy stored for ``mv``, or None (not certified, nothing certified, off)."""
        stored = (mv.metrics or {}).get(KEY) or {}
        thresholds = stored.get("leaf_thresholds") or {}
        if not thresholds:
            return None
        out = np.full(vtree.tree.n_nodes, np.inf)
        index = {int(c): i for i, c in enumerate(vtree.category_ids)}
        for category, threshold in thresholds.items():
            node = index.get(int(category))
            if node is not None:
                out[node] = float(threshold)
        return cls(out)

    def accept(self, extras: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """``(n,)`` node each scored item is accepted at (-1: none) and that node's
        probability (NaN where none), from the chunk's predicted paths."""
        paths = Paths(nodes=extras["path_nodes"], proba=extras["path_proba"].astype(np.float64))
        # The rule of classifier.certify, with each item's threshold that of its leaf's unit.
        accepted, proba = paths.accepted(self.leaf_threshold[paths.leaf])
        confidence = np.where(accepted >= 0, proba, np.nan)
        return accepted.astype(np.int64), confidence


def certify(mv: ModelVersion) -> dict[str, Any]:
    """Certify ``mv`` on its version's audit labels; store and return the summary."""
    version = mv.taxonomy_version
    target = version.target_precision
    started = timezone.now()
    if target is None:
        summary: dict[str, Any] = {"target": None, "certified_at": started.isoformat()}
        return _store(mv, summary)
    vtree = ml.version_tree(version)
    model = ml.load_model(mv)
    audit_ids, audit_nodes = _audit_labels(mv, vtree)
    reference_ids = _reference_items(mv)
    proba_audit, audit_ids, audit_nodes = _proba(model, audit_ids, audit_nodes)
    proba_ref, reference_ids, _ = _proba(model, reference_ids, np.zeros(len(reference_ids)))
    policy = AutoAcceptPolicy(vtree.tree, target=target, alpha=ALPHA)
    policy.fit(proba_audit, audit_nodes.astype(np.int64), reference_proba=proba_ref)
    summary = _summary(policy, vtree, target, len(audit_ids), len(reference_ids), started)
    summary["branches"] = _branches(policy, vtree, proba_audit, audit_nodes)
    if len(reference_ids):
        accepted = policy.apply(proba_ref).accepted
        summary["reference_accepted_share"] = round(float(accepted.mean()), 6)
    log.info(
        "model %s certified at precision %s on %d audit labels: %d of %d units certified",
        mv.pk, target, len(audit_ids), summary["units_certified"], len(summary["units"]),
    )  # fmt: skip
    return _store(mv, summary)


def _store(mv: ModelVersion, summary: dict[str, Any]) -> dict[str, Any]:
    # Only this key is written: a training run may be filling in other metrics meanwhile.
    fresh = ModelVersion.objects.get(pk=mv.pk)
    fresh.metrics = {**(fresh.metrics or {}), KEY: summary}
    fresh.save(update_fields=["metrics"])
    mv.metrics = fresh.metrics
    return summary


def _audit_labels(mv: ModelVersion, vtree: ml.VersionTree) -> tuple[np.ndarray, np.ndarray]:
    rows = list(
        Item.objects.filter(
            current_label__taxonomy_version=mv.taxonomy_version,
            current_label__kind=Label.Kind.LABEL,
            current_label__is_audit=True,
        )
        .order_by("id")
        .values_list("id", "current_label__category_id")
    )
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return ids, vtree.nodes_of([r[1] for r in rows])


def _reference_items(mv: ModelVersion) -> np.ndarray:
    """Up to ``REFERENCE_ITEMS`` unlabelled items, a stable random sample (seeded by the
    model): what the policy will be applied to."""
    ids = np.array(
        Item.objects.filter(current_label__isnull=True).values_list("id", flat=True),
        dtype=np.int64,
    )
    if len(ids) > REFERENCE_ITEMS:
        rng = np.random.default_rng(mv.pk)
        ids = np.sort(rng.choice(ids, REFERENCE_ITEMS, replace=False))
    return ids


def _proba(model: Any, ids: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Leaf probabilities of the items that have features (the others are left out)."""
    n_leaves = model.tree.n_leaves
    if not len(ids):
        return np.zeros((0, n_leaves)), ids, nodes
    features = ml.item_features(ids)
    usable = np.zeros(len(ids), dtype=bool)
    for m in model.modalities_:
        if m in features:
            usable |= np.isfinite(features[m]).all(axis=1)
    rows = {m: a[usable] for m, a in features.items() if m in model.modalities_}
    if not usable.any():
        return np.zeros((0, n_leaves)), ids[usable], nodes[usable]
    return np.asarray(model.predict_proba(rows)), ids[usable], nodes[usable]


def _summary(
    policy: AutoAcceptPolicy, vtree: ml.VersionTree, target: float, n_audit: int,
    n_reference: int, started: Any,
) -> dict[str, Any]:  # fmt: skip
    cats = vtree.category_ids
    leaves = vtree.tree.leaves
    finite = {
        int(cats[node]): round(float(policy.thresholds_[node]), 6)
        for node in leaves.tolist()
        if math.isfinite(policy.thresholds_[node])
    }
    units = [
        {
            "category": None if u.node == ROOT else int(cats[u.node]),
            "n_audit": u.n_audit,
            "threshold": None if not math.isfinite(u.threshold) else round(u.threshold, 6),
            "n_accepted": u.n_accepted,
            "n_errors": u.n_errors,
            "lower_bound": None if u.lower_bound is None else round(u.lower_bound, 6),
            "alpha": u.alpha,
        }
        for u in policy.units_
    ]
    needs = [
        {
            "category": None if n.node == ROOT else int(cats[n.node]),
            "have": n.have,
            "need": n.need,
            "extra_audit": n.extra_audit,
            "covered": n.covered,
        }
        for n in policy.audit_needs([ROOT, *np.flatnonzero(vtree.tree.depth == 1).tolist()])[
            :NEEDS_KEPT
        ]
    ]
    return {
        "target": target,
        "alpha": ALPHA,
        "n_audit": n_audit,
        "n_reference": n_reference,
        "unit_size": int(policy.unit_size_),
        "units": units,
        "units_certified": sum(1 for u in units if u["threshold"] is not None),
        "leaf_thresholds": finite,
        "audit_needs": needs,
        "certified_at": started.isoformat(),
    }


def _branches(
    policy: AutoAcceptPolicy, vtree: ml.VersionTree, proba: np.ndarray, y: np.ndarray
) -> list[dict[str, Any]]:
    """Per top-level branch, the audit items the certified policy accepts there: how many,
    how many wrong, and the precision's one-sided 95% Clopper-Pearson lower bound (a
    per-branch reading of the same audit labels; the guarantee itself is per unit)."""
    tree = vtree.tree
    decided = policy.apply(proba) if len(proba) else None
    out = []
    for branch in np.flatnonzero(tree.depth == 1).tolist():
        n = errors = 0
        if decided is not None:
            at = decided.node
            hit = decided.accepted & tree.ancestors[branch, np.maximum(at, 0)]
            n = int(hit.sum())
            errors = int((~tree.ancestors[at[hit], y[hit]]).sum())
        out.append(
            {
                "category": int(vtree.category_ids[branch]),
                "n_accepted": n,
                "n_errors": errors,
                "precision": round((n - errors) / n, 6) if n else None,
                "lower_bound": round(clopper_pearson_lower(n - errors, n, ALPHA), 6) if n else None,
            }
        )
    return out


def audit_wanted(mv: ModelVersion | None) -> int:
    """Extra uniform audit labels the stored certification asks for: the fewest that would
    give a node still manual (the catch-all pool or a top-level branch) the audit items to
    certify; 0 when every one of them is covered or auto-accept is off. Read from counts of
    unlabelled items only, never from audit labels (see ``classifier.certify.policy``), so
    raising the audit share by it keeps the guarantee."""
    stored = ((mv.metrics or {}).get(KEY) or {}) if mv is not None else {}
    if stored.get("target") is None:
        return 0
    wanted = [int(n["extra_audit"]) for n in stored.get("audit_needs") or [] if not n["covered"]]
    return min((w for w in wanted if w > 0), default=0)


def audit_target(mv: ModelVersion | None, fillable: int, base: int) -> int:
    """Audit picks of a queue batch of ``fillable`` entries: ``base`` (the quota's share),
    raised up to ``MAX_AUDIT_SHARE`` of the batch (default 0.5) while ``audit_wanted``."""
    wanted = audit_wanted(mv)
    if not wanted:
        return base
    share = float(settings.TAXOLOOP.get("MAX_AUDIT_SHARE", DEFAULT_MAX_AUDIT_SHARE))
    return max(base, min(wanted, int(math.floor(fillable * share))))


def catalog_snapshot(mv: ModelVersion) -> dict[str, Any]:
    """The catalog's statuses and auto-accepted depths now; stored with ``mv`` (the
    dashboard's history over model versions)."""
    by_status = dict(
        Prediction.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    depth_rows = (
        Prediction.objects.filter(status=Prediction.Status.AUTO_ACCEPTED)
        .values_list("accepted_category__depth")
        .annotate(n=Count("id"))
    )
    snapshot = {
        "at": timezone.now().isoformat(),
        "items": sum(by_status.values()),
        "by_status": {s: int(by_status.get(s, 0)) for s in Prediction.Status.values},
        "auto_accepted_by_depth": {str(d): int(n) for d, n in depth_rows if d is not None},
    }
    fresh = ModelVersion.objects.get(pk=mv.pk)
    summary = {**((fresh.metrics or {}).get(KEY) or {}), "catalog": snapshot}
    fresh.metrics = {**(fresh.metrics or {}), KEY: summary}
    fresh.save(update_fields=["metrics"])
    return snapshot
