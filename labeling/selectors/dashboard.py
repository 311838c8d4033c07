"""Read side of the dashboard: is the loop working?

Quality figures come from ``ModelVersion.metrics`` (written by ``labeling.services.learning.promotion``:
``audit`` holds the metrics on the audit slice alone, the unbiased estimate; the top level holds
them on every held-out label). Activity figures are grouped counts over the ledger, the queue
and the predictions: a handful of GROUP BY queries, no per-row Python over the catalog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Count, Max, Min
from django.db.models.functions import TruncDate
from django.utils import timezone

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
from labeling.selectors.review import queue_size_by_reason

__all__ = ["queue_size_by_reason"]

CURVE_STATUSES = ("candidate", "active", "rejected", "retired")
ACTIVITY_DAYS = 30
RELIABILITY_BINS = 10
RELIABILITY_MIN_PER_BIN = 10  # fewer items than this and a bin's share right is mostly noise
DRIFT_IMPORT_DAYS = 5
DRIFT_RECENT_ITEMS = 50_000  # "recent imports": the newest items, by id


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
        _predictions(version)
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


def _predictions(version: TaxonomyVersion) -> Any:
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


# -- activity ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyLabels:
    days: list[date]
    by_source: dict[str, list[int]]  # every source but migration, one count per day
    migrated: list[int]  # labels a taxonomy publish carried over, per day


def labels_per_day(*, days: int = ACTIVITY_DAYS, now: datetime | None = None) -> DailyLabels:
    """Decisions (not retractions) written per day and source over the last ``days`` days.

    Labels a publish carried over (source ``migration``) are no new decisions: they are
    counted apart, or one publish would dwarf a month of reviewing."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    rows = (
        Label.objects.filter(kind=Label.Kind.LABEL, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("day", "source")
        .annotate(n=Count("pk"))
    )
    span = [first + timedelta(days=i) for i in range(days)]
    by_source = {s: [0] * days for s in Label.Source.values}
    for r in rows:
        index = (r["day"] - first).days
        if 0 <= index < days:
            by_source[r["source"]][index] += r["n"]
    migrated = by_source.pop(Label.Source.MIGRATION)
    return DailyLabels(days=span, by_source=by_source, migrated=migrated)


@dataclass(frozen=True)
class ReviewerRow:
    username: str
    labels: int
    retractions: int
    by_source: dict[str, int]


def labels_per_reviewer(
    *, days: int = ACTIVITY_DAYS, now: datetime | None = None
) -> list[ReviewerRow]:
    """Ledger lines per author over the last ``days`` days, busiest first (imports without an
    author are left out: they are nobody's work)."""
    since = (now or timezone.now()) - timedelta(days=days)
    rows = (
        Label.objects.filter(created_at__gte=since, author__isnull=False)
        .order_by()
        .values("author__username", "kind", "source")
        .annotate(n=Count("pk"))
    )
    labels: dict[str, int] = defaultdict(int)
    undone: dict[str, int] = defaultdict(int)
    sources: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        who = r["author__username"]
        if r["kind"] == Label.Kind.RETRACTION:
            undone[who] += r["n"]
        else:
            labels[who] += r["n"]
            sources[who][r["source"]] += r["n"]
    names = sorted(set(labels) | set(undone), key=lambda u: (-labels[u], u))
    return [ReviewerRow(u, labels[u], undone[u], dict(sources[u])) for u in names]


@dataclass(frozen=True)
class LatencyRow:
    model_id: int
    promoted_at: datetime
    new_labels: int  # labels this model was the first to learn from
    fastest: timedelta | None  # newest of them to promotion
    slowest: timedelta | None  # oldest of them to promotion


def label_latency(*, version: TaxonomyVersion) -> list[LatencyRow]:
    """How long a label waits until a promoted model has learnt from it, per promoted model:
    the labels newer than the previous promoted model's newest label, up to this model's."""
    models = ModelVersion.objects.filter(
        taxonomy_version=version, promoted_at__isnull=False, newest_label_at__isnull=False
    ).order_by("promoted_at", "pk")
    out: list[LatencyRow] = []
    previous: datetime | None = None
    for mv in models:
        window = Label.objects.filter(
            taxonomy_version=version, kind=Label.Kind.LABEL, created_at__lte=mv.newest_label_at
        )
        if previous is not None:
            window = window.filter(created_at__gt=previous)
        agg = window.aggregate(n=Count("pk"), oldest=Min("created_at"))
        oldest = agg["oldest"]
        out.append(
            LatencyRow(
                model_id=mv.pk,
                promoted_at=mv.promoted_at,
                new_labels=int(agg["n"]),
                fastest=mv.promoted_at - mv.newest_label_at if agg["n"] else None,
                slowest=mv.promoted_at - oldest if oldest else None,
            )
        )
        previous = mv.newest_label_at
    return out


@dataclass(frozen=True)
class DriftTable:
    columns: list[str]  # top-level category names
    rows: list[tuple[str, int, list[float]]]  # (what, items, share per column)


def drift(*, version: TaxonomyVersion, recent: int = DRIFT_RECENT_ITEMS) -> DriftTable:
    """Distribution of predicted top-level categories: the previous model against the models
    behind the current predictions, and the newest ``recent`` items by the day they arrived.

    Three GROUP BY queries; the import-day one reads only the newest items (an id range), so
    the dashboard does not scan the catalog once per import day.
    """
    top = _top_level(version)
    preds = _predictions(version)
    rows: list[tuple[str, dict[str, int]]] = [
        ("previous model", _tally(preds, "previous_top_category_id", top))
    ]
    by_model: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for mv, cat, n in (
        preds.values("model_version_id", "top_category_id")
        .annotate(n=Count("pk"))
        .values_list("model_version_id", "top_category_id", "n")
    ):
        if cat in top:
            by_model[mv][top[cat]] += n
    rows += [(f"model #{mv}", dict(by_model[mv])) for mv in sorted(by_model)]
    rows += _by_import_day(preds, top, recent, DRIFT_IMPORT_DAYS)
    columns = sorted({name for _, counts in rows for name in counts})
    table = [
        (what, sum(c.values()), [c.get(col, 0) / sum(c.values()) for col in columns])
        for what, c in rows
        if sum(c.values())
    ]
    return DriftTable(columns=columns, rows=table)


def _top_level(version: TaxonomyVersion) -> dict[int, str]:
    """``{category id: top-level name in version}``, the categories of the versions it was
    published from included (the stand-in model's and the previous tops), mapped."""
    top = {
        pk: path.split(" > ", 1)[0]
        for pk, path in Category.objects.filter(version=version).values_list("pk", "path")
    }
    older = vmap.older_versions(version)
    old = Category.objects.filter(version_id__in=older).values_list("pk", flat=True)
    now = vmap.to_current(version=version, ids=old) if older else {}
    return top | {pk: top[new] for pk, new in now.items() if new in top}


def _tally(qs: Any, column: str, top: Mapping[int, str]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for cat, n in qs.values(column).annotate(n=Count("pk")).values_list(column, "n"):
        if cat in top:
            out[top[cat]] += n
    return dict(out)


def _by_import_day(
    preds: Any, top: Mapping[int, str], recent: int, days: int
) -> list[tuple[str, dict[str, int]]]:
    newest = preds.aggregate(m=Max("item_id"))["m"]
    if newest is None:
        return []
    rows = (
        preds.filter(item_id__gt=newest - recent)
        .annotate(day=TruncDate("item__created_at"))
        .values("day", "top_category_id")
        .annotate(n=Count("pk"))
        .values_list("day", "top_category_id", "n")
    )
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, cat, n in rows:
        if cat in top:
            by_day[day][top[cat]] += n
    return [(f"imported {d:%Y-%m-%d}", dict(by_day[d])) for d in sorted(by_day)[-days:]]
