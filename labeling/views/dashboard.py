"""The dashboard: does the loop work? Charts drawn server-side as inline SVG.

Which figures make which chart is decided here; how a chart is drawn (axes, ticks, colours)
is ``labeling.views.charts``. Every chart has a table behind it (for screen readers and for
copying the numbers).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling.models import Label, TaxonomyVersion
from labeling.selectors import dashboard as sel
from labeling.selectors import dashboard_activity as activity_sel
from labeling.selectors.review import queue_size_by_reason
from labeling.selectors.taxonomy import current_version
from labeling.views import charts
from labeling.views.access import reviewer_required
from labeling.views.chart_axes import fmt_number
from labeling.views.charts import Chart, LineStyle
from labeling.views.dashboard_auto_accept import auto_accept_section

TEMPLATE = "dashboard/index.html"
NO_CURRENT_VERSION = "There is no current taxonomy version: import or publish one first."
NO_RELIABILITY = "No audit-labelled item has a prediction of the active model yet."
RELIABILITY_MIN_ITEMS = 50
FEW_RELIABILITY_ITEMS = (
    "Only {n} audit-labelled item(s) with a prediction: too few for the shares to mean much "
    "(at least {least} make a useful diagram)."
)
MIGRATED_LEFT_OUT = (
    "Left out: {n:,} label(s) a taxonomy publish carried over (source migration) on {days}; "
    "they are no new decisions."
)
# (unit, seconds in one, how it is written); the largest whose maximum is at least 2 of it
UNITS = [("hours", 3600.0, "h"), ("minutes", 60.0, "min"), ("seconds", 1.0, "s")]
CURVE_STYLES = {
    # Drawn in this order: macro-F1 on top, dashed with hollow squares, so an accuracy line
    # under it still shows where the two coincide.
    "audit accuracy": LineStyle(marker="circle"),
    "audit macro-F1": LineStyle(dash="6 4", marker="square"),
}


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def latency_unit(seconds: list[float]) -> tuple[str, float, str]:
    """The unit that writes the longest of ``seconds`` as 2 or more: hours, minutes, seconds."""
    longest = max(seconds, default=0.0)
    return next((u for u in UNITS if longest >= 2 * u[1]), UNITS[-1])


def _duration(d: timedelta | None, unit: tuple[str, float, str]) -> str:
    if d is None:
        return "—"
    value = d.total_seconds() / unit[1]
    return f"{value:.1f} {unit[2]}" if value < 10 else f"{value:,.0f} {unit[2]}"


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
        xlabel="labels trained on",
    )
    xs = [float(p.label_count) for p in points]
    series = {
        "audit accuracy": [p.audit_accuracy for p in points],
        "audit macro-F1": [p.audit_macro_f1 for p in points],
    }
    return charts.line_chart(chart, xs, series, CURVE_STYLES)


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
        "audit accuracy": [r.audit_accuracy or 0.0 for r in rows],
        "held-out accuracy": [r.accuracy or 0.0 for r in rows],
    }
    labels = [f"depth {r.depth}" for r in rows]
    return charts.bar_chart(chart, labels, series, stacked=False, percent=True)


def reliability_chart(version: TaxonomyVersion) -> Chart:
    bins = sel.reliability(version=version)
    chart = Chart(
        "reliability",
        "Reliability of the active model",
        "Share right on audit-labelled items, in bins of about equal size over the confidences "
        "the model gave; a calibrated model's bar ends at the dark mark (the bin's mean "
        "confidence). The number above each bar is its items.",
        ["Confidence", "Items", "Mean confidence", "Share right"],
        [
            [f"{b.low:.3f}–{b.high:.3f}", b.count, _pct(b.confidence), _pct(b.accuracy)]
            for b in bins
        ],
        xlabel="confidence",
    )
    if not bins:
        chart.empty = NO_RELIABILITY
        return chart
    total = sum(b.count for b in bins)
    if total < RELIABILITY_MIN_ITEMS:
        chart.note = FEW_RELIABILITY_ITEMS.format(n=total, least=RELIABILITY_MIN_ITEMS)
    bars = [charts.Bin(b.low, b.high, b.count, b.confidence, b.accuracy) for b in bins]
    return charts.reliability_chart(chart, bars)


def coverage_chart(version: TaxonomyVersion) -> Chart:
    rows = sel.rollup_coverage(version=version)
    labels = ["abstained" if r.depth == 0 else f"depth {r.depth}" for r in rows]
    chart = Chart(
        "coverage",
        "Roll-up coverage per depth",
        "Where the roll-up policy decides across the catalog's current predictions.",
        ["Decided at", "Items", "Share"],
        [[label, r.count, _pct(r.share)] for label, r in zip(labels, rows, strict=True)],
    )
    series = {"share": [r.share for r in rows]}
    return charts.bar_chart(chart, labels, series, stacked=True, percent=True)


def daily_chart() -> Chart:
    daily = activity_sel.labels_per_day()
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
    if any(daily.migrated):
        days = ", ".join(f"{d:%m-%d}" for d, n in zip(daily.days, daily.migrated, strict=True) if n)
        chart.note = MIGRATED_LEFT_OUT.format(n=sum(daily.migrated), days=days)
    labels = [f"{d:%m-%d}" for d in daily.days]
    return charts.bar_chart(chart, labels, series, stacked=True, legend=True, thin=True)


def reviewer_chart() -> Chart:
    rows = activity_sel.labels_per_reviewer()
    used = {s for r in rows for s in r.by_source}
    sources = [s for s in Label.Source.values if s in used]  # the order labels per day uses
    chart = Chart(
        "per-reviewer",
        "Labels per reviewer",
        f"Last {activity_sel.ACTIVITY_DAYS} days, by source; undone = retractions.",
        ["Reviewer", "Labels", *sources, "Undone"],
        [
            [r.username, r.labels, *(r.by_source.get(s, 0) for s in sources), r.retractions]
            for r in rows
        ],
    )
    series = {s: [float(r.by_source.get(s, 0)) for r in rows] for s in sources}
    return charts.bar_chart(chart, [r.username for r in rows], series, stacked=True, legend=True)


def queue_chart() -> Chart:
    sizes = queue_size_by_reason()
    chart = Chart(
        "queue",
        "Queue size by reason",
        "Items waiting for review.",
        ["Reason", "Items"],
        [[k, v] for k, v in sizes.items()],
    )
    series = {"items": [float(v) for v in sizes.values()]}
    return charts.bar_chart(chart, list(sizes), series, stacked=True)


def latency_chart(version: TaxonomyVersion) -> Chart:
    rows = activity_sel.label_latency(version=version)
    waits = {
        "newest label": [(r.fastest or timedelta()).total_seconds() for r in rows],
        "oldest label": [(r.slowest or timedelta()).total_seconds() for r in rows],
    }
    unit = latency_unit([s for values in waits.values() for s in values])
    chart = Chart(
        "latency",
        "Label-to-model latency",
        f"Per promoted model: from its newest and its oldest new label to promotion ({unit[0]}).",
        ["Model", "Promoted", "New labels", "Newest label waited", "Oldest label waited"],
        [
            [
                f"#{r.model_id}",
                f"{r.promoted_at:%Y-%m-%d %H:%M}",
                r.new_labels,
                _duration(r.fastest, unit),
                _duration(r.slowest, unit),
            ]
            for r in rows
        ],
    )
    series = {name: [s / unit[1] for s in values] for name, values in waits.items()}
    return charts.bar_chart(
        chart,
        [f"#{r.model_id}" for r in rows],
        series,
        stacked=False,
        fmt=lambda v: f"{fmt_number(v)} {unit[2]}",
    )


def drift_chart(version: TaxonomyVersion) -> Chart:
    table = activity_sel.drift(version=version)
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
    labels = [what for what, _, _ in table.rows]
    return charts.bar_chart(chart, labels, series, stacked=True, percent=True, legend=True)


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
        "auto_accept": auto_accept_section(
            version=version, model=model, history_of=model_version, user=request.user
        ),
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
