"""Auto-accept figures of the simulator (``--target-precision``, issue 17).

Each round the policy (``classifier.certify.AutoAcceptPolicy``) is certified on the audit
items, a uniform random share of each batch that is labelled but never trained on, with the
unlabelled pool as its reference, and applied to every item of the pool. The oracle knows
every label, so the round also reports the *true* precision of what was accepted, which the
guarantee says is >= the target with 95% confidence. Columns added to ``curves.csv``:
``n_audit`` (audit labels spent, part of ``n_labels``), ``n_train_labels``,
``certify_accepted_share`` (of the pool) and ``certify_accepted_depth_<d>``,
``certify_true_precision`` (empty when nothing was accepted), ``certify_wrong``,
``certify_units`` / ``certify_units_certified``, ``certify_root_threshold``,
``certify_lower_bound`` (the lowest bound of a certified unit) and ``certify_audit_wanted``
(the extra audit labels the pooled unit asked for; label-free, see ``audit_quota``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from classifier.certify import ROOT, AutoAcceptPolicy
from classifier.tree import Tree

Row = dict[str, Any]
ALPHA = 0.05


def certify_round(
    tree: Tree, proba_audit: np.ndarray, y_audit: np.ndarray, proba_pool: np.ndarray,
    y_pool: np.ndarray, target: float,
) -> tuple[Row, int]:  # fmt: skip
    """The round's figures and the extra audit labels the pooled unit asks for."""
    policy = AutoAcceptPolicy(tree, target=target, alpha=ALPHA)
    policy.fit(proba_audit, y_audit, reference_proba=proba_pool)
    decided = policy.apply(proba_pool)
    accepted = decided.accepted
    right = tree.ancestors[decided.node[accepted], y_pool[accepted]]
    depth = tree.depth[decided.node[accepted]]
    n_pool = max(len(y_pool), 1)
    certified = [u for u in policy.units_ if math.isfinite(u.threshold)]
    row: Row = {
        "certify_accepted_share": float(accepted.sum() / n_pool),
        "certify_true_precision": float(right.mean()) if accepted.any() else math.nan,
        "certify_wrong": int((~right).sum()),
        "certify_units": len(policy.units_),
        "certify_units_certified": len(certified),
        "certify_root_threshold": float(policy.root_threshold_),
        "certify_lower_bound": min((u.lower_bound or 0.0) for u in certified)
        if certified
        else math.nan,
    }
    for d in range(1, tree.max_depth + 1):
        row[f"certify_accepted_depth_{d}"] = float((depth == d).sum() / n_pool)
    root = policy.audit_needs([ROOT])  # empty once the pooled unit is certified
    wanted = (root[0].extra_audit or 0) if root else 0
    row["certify_audit_wanted"] = wanted
    return row, wanted


def certify_problem(target: float | None, share: float, max_share: float) -> str | None:
    """What is wrong with the auto-accept options, or None."""
    if target is not None and not 0.0 < target < 1.0:
        return f"--target-precision must be between 0 and 1, got {target}"
    if not 0.0 <= share <= max_share <= 1.0:
        return f"need 0 <= --audit-share ({share}) <= --max-audit-share ({max_share}) <= 1"
    return None


def audit_quota(n: int, wanted: int, share: float, max_share: float) -> int:
    """Audit items of a batch of ``n``: ``share`` of it, raised up to ``max_share`` while
    the pooled unit lacks the labels to certify (``wanted``). ``wanted`` comes from the
    model's confidences on unlabelled items, never from audit labels, so the audit's size
    does not peek at its outcome (no "audit until it passes")."""
    base = int(round(n * share))
    return max(base, min(int(wanted), int(math.floor(n * max_share))))


def certification_summary(rows: Sequence[Row], target: float) -> dict[str, Any]:
    """Per (split, modality, strategy) and labels spent: means over repeats of the auto-
    accepted share (overall and per depth) and of the audit labels, and the *minimum* true
    precision over repeats (None where no repeat accepted anything)."""
    grouped: dict[tuple[str, str, str, int], list[Row]] = defaultdict(list)
    for row in rows:
        if "certify_accepted_share" in row:
            key = (row["split"], row["modality"], row["strategy"], int(row["n_labels"]))
            grouped[key].append(row)
    rounds = []
    for (split, modality, strategy, n_labels), group in sorted(grouped.items()):
        depths = sorted(k for k in group[0] if k.startswith("certify_accepted_depth_"))
        precisions = [r["certify_true_precision"] for r in group]
        precisions = [p for p in precisions if not math.isnan(p)]
        rounds.append(
            {
                "split": split,
                "modality": modality,
                "strategy": strategy,
                "n_labels": n_labels,
                "repeats": len(group),
                "n_audit": _mean(group, "n_audit"),
                "accepted_share": _mean(group, "certify_accepted_share"),
                "accepted_by_depth": {k.rsplit("_", 1)[1]: _mean(group, k) for k in depths},
                "min_true_precision": min(precisions) if precisions else None,
                "repeats_accepting": len(precisions),
                "repeats_below_target": sum(p < target for p in precisions),
            }
        )
    return {"target": target, "alpha": ALPHA, "rounds": rounds}


def _mean(group: Sequence[Row], key: str) -> float:
    return float(np.mean([float(r[key]) for r in group]))


def certification_markdown(certification: Mapping[str, Any] | None) -> list[str]:
    """The summary.md section: one table per (split, modality, strategy)."""
    if not certification:
        return []
    target = certification["target"]
    lines = [
        f"## Auto-accept at target precision {target} (one-sided {1 - certification['alpha']:.0%})",
        "",
        "Audit items are a uniform share of each batch, labelled and never trained on; the "
        "policy is certified on them and applied to the unlabelled pool. Share = of the pool, "
        "mean over repeats; true precision = the oracle's, minimum over repeats.",
        "",
    ]
    by_curve: dict[tuple[str, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for r in certification["rounds"]:
        by_curve[(r["split"], r["modality"], r["strategy"])].append(r)
    for (split, modality, strategy), rounds in by_curve.items():
        depths = list(rounds[0]["accepted_by_depth"])
        lines += [
            f"### {strategy}, {modality} ({split} split)",
            "",
            "| labels | audit labels | auto-accepted | "
            + " | ".join(f"depth {d}" for d in depths)
            + " | true precision (min) | repeats below target |",
            "|---" * (5 + len(depths)) + "|",
        ]
        for r in rounds:
            low = r["min_true_precision"]
            lines.append(
                f"| {r['n_labels']:,} | {r['n_audit']:.0f} | {r['accepted_share']:.3f} | "
                + " | ".join(f"{r['accepted_by_depth'][d]:.3f}" for d in depths)
                + f" | {'–' if low is None else f'{low:.4f}'} | "
                f"{r['repeats_below_target']} of {r['repeats_accepting']} |"
            )
        lines.append("")
    return lines
