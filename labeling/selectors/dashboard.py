"""Read side of the dashboard, model quality: is the loop learning?

Which model the dashboard reads (the active one, or the stand-in right after a publish), its
learning curve, accuracy by depth, calibration and how deep the roll-up decides. Quality figures
come from ``ModelVersion.metrics`` (written by ``labeling.services.learning.promotion``:
``audit`` holds the metrics on the audit slice alone, the unbiased estimate; the top level holds
them on every held-out label). The activity figures (labels per day and reviewer, latency,
drift) are ``labeling.selectors.dashboard_activity``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.db.models import Count

from labeling.models import (
    Category,
    Label,
    ModelVersion,
    Prediction,
    TaxonomyVersion,
    TrainingRun,
)
from labeling.selectors import version_mapping as vmap
from labeling.selectors.report_pairs import agrees

CURVE_STATUSES = ("candidate", "active", "rejected", "retired")
RELIABILITY_BINS = 10
RELIABILITY_MIN_PER_BIN = 10  # fewer items than this and a bin's share right is mostly noise


def active_model(*, version: TaxonomyVersion) -> ModelVersion | None:
    return ModelVersion.objects.filter(taxonomy_version=version, status="active").first()


def stand_in_model(*, version: TaxonomyVersion) -> ModelVersion | None:
    """The model whose predictions the catalog still holds while ``version`` has no active
    model of its own (right after a publish): the active model of the nearest version it was
    published from. None once ``version`` has an active model, or when no older one has."""
    if active_model(version=version) is not None:
        return None
    older = vmap.older_versions(version)
    models = ModelVersion.objects.filter(taxonomy_version_id__in=older, status="active")
    by_version = {m.taxonomy_version_id: m for m in models}  # one active each: model_one_active
    return next((by_version[v] for v in older if v in by_version), None)


def first_model_training(*, version: TaxonomyVersion) -> bool:
    """A training of ``version`` is queued or running (what the stand-in waits for)."""
    waiting = (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING)
    return TrainingRun.objects.filter(taxonomy_version=version, status__in=waiting).exists()


# -- quality -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurvePoint:
    model_id: int
    status: str
    label_count: int
    created_at: datetime
    audit_accuracy: float | None
    audit_macro_f1: float | None
    n_audit: int
    accuracy: float | None  # on every held-out label (biased towards hard, chosen items)
    macro_f1: float | None


def learning_curve(*, version: TaxonomyVersion) -> list[CurvePoint]:
    """Every evaluated model of ``version`` by labels used, with its audit-slice accuracy and
    macro-F1 (None where the model had no audit labels to be judged on)."""
    models = ModelVersion.objects.filter(taxonomy_version=version, status__in=CURVE_STATUSES)
    points = []
    for mv in models.order_by("label_count", "created_at", "pk"):
        metrics: Mapping[str, Any] = mv.metrics or {}
        audit: Mapping[str, Any] = metrics.get("audit") or {}
        points.append(
            CurvePoint(
                model_id=mv.pk,
                status=mv.status,
                label_count=mv.label_count,
                created_at=mv.created_at,
                audit_accuracy=audit.get("leaf_accuracy"),
                audit_macro_f1=audit.get("macro_f1"),
                n_audit=int(metrics.get("n_audit") or 0),
                accuracy=metrics.get("leaf_accuracy"),
                macro_f1=metrics.get("macro_f1"),
            )
        )
    return points


@dataclass(frozen=True)
class DepthRow:
    depth: int
    audit_accuracy: float | None
    accuracy: float | None
    audit_macro_f1: float | None


def accuracy_by_depth(*, model: ModelVersion | None) -> list[DepthRow]:
    """The model's accuracy (and macro-F1) at each depth of the tree, audit slice and all
    held-out labels. JSON turned the depth keys into strings; they come back as ints."""
    if model is None:
        return []
    metrics = model.metrics or {}
    audit = metrics.get("audit") or {}
    every = _int_keys(metrics.get("accuracy_by_depth"))
    audit_acc = _int_keys(audit.get("accuracy_by_depth"))
    audit_f1 = _int_keys(audit.get("macro_f1_by_depth"))
    depths = sorted(set(every) | set(audit_acc))
    return [DepthRow(d, audit_acc.get(d), every.get(d), audit_f1.get(d)) for d in depths]


def _int_keys(raw: Mapping[str, Any] | None) -> dict[int, Any]:
    return {int(k): v for k, v in (raw or {}).items()}


@dataclass(frozen=True)
class ReliabilityBin:
    low: float  # lowest confidence in the bin
    high: float  # highest
    count: int
    confidence: float  # mean confidence in the bin
    accuracy: float  # share right in the bin


def reliability(
    *,
    version: TaxonomyVersion,
    n_bins: int = RELIABILITY_BINS,
    min_per_bin: int = RELIABILITY_MIN_PER_BIN,
) -> list[ReliabilityBin]:
    """Reliability diagram of the active model: its stored confidence against whether the
    item's standing audit label agrees with its prediction, in bins of about equal counts
    over the confidences it gave (``equal_count_bins``): a confident model's predictions all
    sit above 0.9, where equal-width bins over 0–1 would make one bar of everything.

    Audit labels are the random slice, so the sample is not skewed towards hard items; some of
    them may have been training data of this model, which flatters it (the held-out ECE is in
    the model's metrics).
    """
    model = active_model(version=version) or stand_in_model(version=version)
    if model is None:
        return []
    rows = list(
        Prediction.objects.filter(
            model_version=model,
            item__current_label__is_audit=True,
            item__current_label__kind=Label.Kind.LABEL,
        ).values_list("confidence", "top_category_id", "item__current_label__category_id")
    )
    paths = dict(Category.objects.filter(version=version).values_list("pk", "path"))
    now = vmap.to_current(version=version, ids={r[1] for r in rows})
    right = np.array([_right(paths, now, r[2], r[1]) for r in rows], dtype=bool)
    conf = np.array([r[0] for r in rows], dtype=np.float64)
    return equal_count_bins(conf, right, n_bins=n_bins, min_per_bin=min_per_bin)


def equal_count_bins(
    conf: np.ndarray, right: np.ndarray, *, n_bins: int, min_per_bin: int
) -> list[ReliabilityBin]:
    """``(n,)`` confidences and ``(n,)`` bools in at most ``n_bins`` bins of about equal
    counts, each of ``min_per_bin`` items or more (fewer items in all: one bin); a run of
    equal confidences is never split, so bins may hold more."""
    order = np.argsort(conf, kind="stable")
    conf, right = conf[order], right[order]
    n = len(conf)
    least = max(min_per_bin, 1)
    k = max(1, min(n_bins, n // least))
    cuts = [0]
    for i in range(1, k):
        value = conf[round(i * n / k)]
        cut = int(np.searchsorted(conf, value, side="left"))  # where its run of ties starts
        if cut - cuts[-1] < least:  # or after the run, when the bin before would be too small
            cut = int(np.searchsorted(conf, value, side="right"))
        if cut - cuts[-1] >= least and cut < n:
            cuts.append(cut)
    if len(cuts) > 1 and n - cuts[-1] < least:  # a short last bin joins the one before
        cuts.pop()
    bounds = [*cuts, n] if n else []
    return [
        ReliabilityBin(
            float(conf[a]),
            float(conf[b - 1]),
            b - a,
            float(conf[a:b].mean()),
            float(right[a:b].mean()),
        )
        for a, b in zip(bounds, bounds[1:], strict=False)
    ]


def _right(paths: Mapping[int, str], now: Mapping[int, int], label: int, top: int) -> bool:
    """The label agrees with the prediction in ``paths``' version. An older model's category
    is mapped first, and a label below what it maps to agrees too (a split or a deprecation
    maps an old leaf to an inner node, which a finer label does not contradict)."""
    mapped = now.get(top)
    if mapped is None:
        return False
    if mapped == top:
        return agrees(paths, label, top)
    return agrees(paths, label, mapped) or agrees(paths, mapped, label)


@dataclass(frozen=True)
class CoverageRow:
    depth: int  # 0: abstained
    count: int
    share: float


def rollup_coverage(*, version: TaxonomyVersion) -> list[CoverageRow]:
    """How deep the roll-up policy decides across the catalog's current predictions: items
    decided at each depth, and abstained (depth 0). Grouped by category id without a join
    (one pass over the predictions), depths looked up afterwards."""
    rows = (
        version_predictions(version)
        .values("decided_category_id")
        .annotate(n=Count("pk"))
        .values_list("decided_category_id", "n")
    )
    rows = list(rows)
    now = vmap.to_current(version=version, ids={cat for cat, _ in rows})
    depth = dict(Category.objects.filter(version=version).values_list("pk", "depth"))
    counts: dict[int, int] = defaultdict(int)
    for cat, n in rows:
        counts[depth.get(now.get(cat, 0), 0) if cat is not None else 0] += n
    total = sum(counts.values())
    return [CoverageRow(d, n, n / total) for d, n in sorted(counts.items()) if total]


def version_predictions(version: TaxonomyVersion) -> Any:
    """The predictions of ``version``'s models, and of the stand-in model while ``version``
    has no active one (a short IN list, no join on the categories; their categories are
    mapped into ``version`` after grouping)."""
    models = list(
        ModelVersion.objects.filter(taxonomy_version=version).values_list("pk", flat=True)
    )
    stand_in = stand_in_model(version=version)
    if stand_in is not None:
        models.append(stand_in.pk)
    return Prediction.objects.filter(model_version_id__in=models).order_by()
