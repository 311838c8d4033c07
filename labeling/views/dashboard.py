"""The dashboard: does the loop work? Charts drawn server-side as inline SVG.

No chart library: each chart is a few rectangles, lines and labels whose coordinates are
computed here and written out by ``templates/dashboard/_chart.html``, so the page needs no
JavaScript, no CDN and no vendored bundle, prints, and has a table behind every chart (for
screen readers and for copying the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling.models import TaxonomyVersion
from labeling.selectors import dashboard as sel
from labeling.selectors.taxonomy import current_version
from labeling.views.access import reviewer_required

TEMPLATE = "dashboard/index.html"
NO_CURRENT_VERSION = "There is no current taxonomy version: import or publish one first."
PALETTE = ["#2558d6", "#f79009", "#12b76a", "#b42318", "#7a5af8", "#0ba5ec", "#667085", "#ee46bc"]
W, H = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 46, 12, 12, 34


@dataclass(frozen=True)
class Shape:
    kind: str  # rect, line, polyline, circle
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    x2: float = 0.0
    y2: float = 0.0
    points: str = ""
    color: str = ""
    tip: str = ""
    cls: str = ""


@dataclass
class Chart:
    key: str
    title: str
    caption: str
    head: list[str]
    rows: list[list[Any]]
    shapes: list[Shape] = field(default_factory=list)
    xticks: list[tuple[float, str]] = field(default_factory=list)
    yticks: list[tuple[float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    empty: str = ""
    width: int = W
    height: int = H
    left: int = LEFT
    bottom_y: float = H - BOTTOM
    right_x: float = W - RIGHT


def _y(value: float, top: float) -> float:
    """Plot y of ``value`` on a 0..top axis."""
    span = H - TOP - BOTTOM
    return round(H - BOTTOM - (value / top if top else 0.0) * span, 1)


def _x(value: float, low: float, high: float) -> float:
    span = W - LEFT - RIGHT
    return round(LEFT + ((value - low) / (high - low) if high > low else 0.5) * span, 1)


def _yticks(top: float, percent: bool) -> list[tuple[float, str]]:
    steps = [top * i / 4 for i in range(5)]
    return [(_y(v, top), f"{v:.0%}" if percent else f"{v:g}") for v in steps]


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 × a power of ten)."""
    if value <= 0:
        return 1.0
    scale = 10 ** len(str(int(value))) / 10
    for m in (1, 2, 5, 10):
        if m * scale >= value:
            return float(m * scale)
    return float(value)


def bar_chart(
    chart: Chart,
    labels: list[str],
    series: dict[str, list[float]],
    *,
    stacked: bool,
    percent: bool = False,
    top: float | None = None,
    legend: bool = False,
) -> Chart:
    """Grouped or stacked bars, one group per label, one colour per series."""
    if not labels or not any(any(v for v in vals) for vals in series.values()):
        chart.empty = chart.empty or "Nothing to show yet."
        return chart
    totals = [sum(vals[i] for vals in series.values()) for i in range(len(labels))]
    peak = max(totals) if stacked else max(max(v) for v in series.values())
    top = top or (1.0 if percent else _nice_max(peak))
    slot = (W - LEFT - RIGHT) / len(labels)
    width = slot * 0.7 / (1 if stacked else len(series))
    every = max(1, len(labels) // 10)
    for i, label in enumerate(labels):
        base = 0.0
        x0 = LEFT + i * slot + slot * 0.15
        for j, (name, vals) in enumerate(series.items()):
            v = vals[i]
            if v:
                y_hi, y_lo = _y(base + v, top), _y(base, top)
                x = x0 if stacked else x0 + j * width
                tip = f"{label} · {name}: {v:.0%}" if percent else f"{label} · {name}: {v:g}"
                chart.shapes.append(
                    Shape(
                        "rect",
                        x=round(x, 1),
                        y=y_hi,
                        w=round(width, 1),
                        h=round(y_lo - y_hi, 1),
                        color=PALETTE[j % len(PALETTE)],
                        tip=tip,
                    )
                )
            if stacked:
                base += v
        if i % every == 0:
            chart.xticks.append((round(LEFT + (i + 0.5) * slot, 1), label))
    chart.yticks = _yticks(top, percent)
    if len(series) > 1 or legend:
        chart.legend = [(PALETTE[j % len(PALETTE)], name) for j, name in enumerate(series)]
    return chart


def line_chart(chart: Chart, xs: list[float], series: dict[str, list[float | None]]) -> Chart:
    """Lines over a numeric x axis on a 0–100% y axis; a None value leaves a gap."""
    if not xs:
        chart.empty = chart.empty or "No model has been evaluated yet."
        return chart
    low, high = min(xs), max(xs)
    for j, (name, vals) in enumerate(series.items()):
        color = PALETTE[j % len(PALETTE)]
        pts = [
            (_x(x, low, high), _y(v, 1.0), x, v)
            for x, v in zip(xs, vals, strict=True)
            if v is not None
        ]
        if len(pts) > 1:
            chart.shapes.append(
                Shape("polyline", points=" ".join(f"{a},{b}" for a, b, _, _ in pts), color=color)
            )
        chart.shapes += [
            Shape("circle", x=a, y=b, color=color, tip=f"{name} at {x:g} labels: {v:.1%}")
            for a, b, x, v in pts
        ]
    chart.xticks = [(_x(x, low, high), f"{x:g}") for x in sorted(set(xs))][:12]
    chart.yticks = _yticks(1.0, True)
    chart.legend = [(PALETTE[j % len(PALETTE)], name) for j, name in enumerate(series)]
    return chart


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _duration(d: timedelta | None) -> str:
    if d is None:
        return "—"
    minutes = d.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


# -- the charts --------------------------------------------------------------------------------


def learning_curve_chart(version: TaxonomyVersion) -> Chart:
    points = sel.learning_curve(version=version)
    chart = Chart(
        "learning-curve",
        "Learning curve",
        "Audit-slice leaf accuracy and macro-F1 of each model against the labels it was trained on.",
        [
            "Model",
            "Status",
            "Labels",
            "Audit labels",
            "Audit accuracy",
            "Audit macro-F1",
            "Held-out accuracy",
        ],
        [
            [
                f"#{p.model_id}",
                p.status,
                p.label_count,
                p.n_audit,
                _pct(p.audit_accuracy),
                _pct(p.audit_macro_f1),
                _pct(p.accuracy),
            ]
            for p in points
        ],
    )
    xs = [float(p.label_count) for p in points]
    series = {
        "audit accuracy": [p.audit_accuracy for p in points],
        "audit macro-F1": [p.audit_macro_f1 for p in points],
    }
    return line_chart(chart, xs, series)


def depth_chart(model: Any) -> Chart:
    rows = sel.accuracy_by_depth(model=model)
    chart = Chart(
        "accuracy-by-depth",
        "Accuracy by depth",
        f"Model #{model.pk} (v{model.taxonomy_version.number}): how often it is right at each"
        " level of the tree."
        if model
        else "No active model.",
        ["Depth", "Audit accuracy", "Held-out accuracy", "Audit macro-F1"],
        [[r.depth, _pct(r.audit_accuracy), _pct(r.accuracy), _pct(r.audit_macro_f1)] for r in rows],
    )
    series = {
        "audit": [r.audit_accuracy or 0.0 for r in rows],
        "held-out": [r.accuracy or 0.0 for r in rows],
    }
    return bar_chart(chart, [f"depth {r.depth}" for r in rows], series, stacked=False, percent=True)


def reliability_chart(version: TaxonomyVersion) -> Chart:
    bins = sel.reliability(version=version)
    chart = Chart(
        "reliability",
        "Reliability of the active model",
        "Share right per confidence bin on audit-labelled items; a calibrated model sits on the diagonal.",
        ["Confidence", "Items", "Mean confidence", "Share right"],
        [
            [f"{b.low:.1f}–{b.high:.1f}", b.count, _pct(b.confidence), _pct(b.accuracy)]
            for b in bins
        ],
    )
    if not any(b.count for b in bins):
        chart.empty = "No audit-labelled item has a prediction of the active model yet."
        return chart
    slot = (W - LEFT - RIGHT) / len(bins)
    for i, b in enumerate(bins):
        if b.accuracy is not None:
            y = _y(b.accuracy, 1.0)
            chart.shapes.append(
                Shape(
                    "rect",
                    x=round(LEFT + i * slot + 2, 1),
                    y=y,
                    w=round(slot - 4, 1),
                    h=round(_y(0, 1) - y, 1),
                    color=PALETTE[0],
                    tip=f"{b.low:.1f}–{b.high:.1f}: {b.accuracy:.0%} right of {b.count}",
                )
            )
    chart.shapes.append(Shape("line", x=LEFT, y=_y(0, 1), x2=W - RIGHT, y2=_y(1, 1), cls="diag"))
    chart.xticks = [(round(LEFT + i * slot, 1), f"{b.low:.1f}") for i, b in enumerate(bins)] + [
        (W - RIGHT, "1.0")
    ]
    chart.yticks = _yticks(1.0, True)
    return chart


def coverage_chart(version: TaxonomyVersion) -> Chart:
    rows = sel.rollup_coverage(version=version)
    chart = Chart(
        "coverage",
        "Roll-up coverage per depth",
        "Where the roll-up policy decides across the catalog's current predictions.",
        ["Decided at", "Items", "Share"],
        [
            ["abstained" if r.depth == 0 else f"depth {r.depth}", r.count, _pct(r.share)]
            for r in rows
        ],
    )
    labels = ["abstained" if r.depth == 0 else f"depth {r.depth}" for r in rows]
    return bar_chart(chart, labels, {"share": [r.share for r in rows]}, stacked=True, percent=True)


def daily_chart() -> Chart:
    daily = sel.labels_per_day()
    series = {s: v for s, v in daily.by_source.items() if any(v)}
    chart = Chart(
        "labels-per-day",
        "Labels per day by source",
        f"Decisions written in the last {len(daily.days)} days.",
        ["Day", *series],
        [
            [d.isoformat(), *(series[s][i] for s in series)]
            for i, d in enumerate(daily.days)
            if any(series[s][i] for s in series)
        ],
    )
    return bar_chart(chart, [f"{d:%m-%d}" for d in daily.days], series, stacked=True)


def reviewer_chart() -> Chart:
    rows = sel.labels_per_reviewer()
    sources = sorted({s for r in rows for s in r.by_source})
    chart = Chart(
        "per-reviewer",
        "Labels per reviewer",
        f"Last {sel.ACTIVITY_DAYS} days, by source; undone = retractions.",
        ["Reviewer", "Labels", *sources, "Undone"],
        [
            [r.username, r.labels, *(r.by_source.get(s, 0) for s in sources), r.retractions]
            for r in rows
        ],
    )
    series = {s: [float(r.by_source.get(s, 0)) for r in rows] for s in sources}
    return bar_chart(chart, [r.username for r in rows], series, stacked=True)


def queue_chart() -> Chart:
    sizes = sel.queue_size_by_reason()
    chart = Chart(
        "queue",
        "Queue size by reason",
        "Items waiting for review.",
        ["Reason", "Items"],
        [[k, v] for k, v in sizes.items()],
    )
    return bar_chart(
        chart, list(sizes), {"items": [float(v) for v in sizes.values()]}, stacked=True
    )


def latency_chart(version: TaxonomyVersion) -> Chart:
    rows = sel.label_latency(version=version)
    chart = Chart(
        "latency",
        "Label-to-model latency",
        "Per promoted model: from its newest and its oldest new label to promotion (hours).",
        ["Model", "Promoted", "New labels", "Newest label waited", "Oldest label waited"],
        [
            [
                f"#{r.model_id}",
                f"{r.promoted_at:%Y-%m-%d %H:%M}",
                r.new_labels,
                _duration(r.fastest),
                _duration(r.slowest),
            ]
            for r in rows
        ],
    )
    hours = {
        "newest label": [(r.fastest or timedelta()).total_seconds() / 3600 for r in rows],
        "oldest label": [(r.slowest or timedelta()).total_seconds() / 3600 for r in rows],
    }
    return bar_chart(chart, [f"#{r.model_id}" for r in rows], hours, stacked=False)


def drift_chart(version: TaxonomyVersion) -> Chart:
    table = sel.drift(version=version)
    chart = Chart(
        "drift",
        "Drift of predicted top-level categories",
        "Share of items per top-level category: previous model, current models, recent imports.",
        ["Predictions of", "Items", *table.columns],
        [[what, n, *(_pct(s) for s in shares)] for what, n, shares in table.rows],
    )
    series = {
        col: [shares[j] for _, _, shares in table.rows] for j, col in enumerate(table.columns)
    }
    return bar_chart(
        chart, [what for what, _, _ in table.rows], series, stacked=True, percent=True, legend=True
    )


@require_GET
@reviewer_required
def index(request: HttpRequest) -> HttpResponse:
    version = current_version()
    if version is None:
        return render(request, TEMPLATE, {"error": NO_CURRENT_VERSION, "charts": []})
    stand_in = sel.stand_in_model(version=version)
    model = sel.active_model(version=version) or stand_in
    # Until the new version's first model, the quality charts are the stand-in's own version's
    # (its learning curve and latencies), its predictions mapped into the current version.
    model_version = stand_in.taxonomy_version if stand_in is not None else version
    quality = [
        learning_curve_chart(model_version),
        depth_chart(model),
        reliability_chart(version),
        coverage_chart(version),
    ]
    activity = [
        daily_chart(),
        reviewer_chart(),
        queue_chart(),
        latency_chart(model_version),
        drift_chart(version),
    ]
    context = {
        "version": version,
        "model": model,
        "stand_in": stand_in_note(version, stand_in),
        "quality": quality,
        "activity": activity,
    }
    return render(request, TEMPLATE, context)


def stand_in_note(version: TaxonomyVersion, stand_in: Any) -> str:
    """What the page says when an older version's model stands in (empty otherwise)."""
    if stand_in is None:
        return ""
    old, new = stand_in.taxonomy_version.number, version.number
    waiting = (
        f"the first model of v{new} is training"
        if sel.first_model_training(version=version)
        else f"v{new} has no model yet: start a training on the Models page"
    )
    return (
        f"Model of v{old} (#{stand_in.pk}), mapped into v{new}; {waiting}. "
        "Until then these figures are the previous model's, its categories mapped."
    )
