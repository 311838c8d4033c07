"""Charts drawn server-side as inline SVG: a few rectangles, lines and labels whose coordinates
are computed here and written out by ``templates/dashboard/_chart.html``.

No chart library, so the page needs no JavaScript, no CDN and no vendored bundle, and prints.
What a chart library would do for us is done here and in ``labeling.views.chart_axes`` (round
axes, ticks that never overlap), and tested against hand-computed figures:

- one palette for the page: a series name has the same colour on every chart
  (``SERIES_COLORS``; names not listed, such as top-level categories, take the pool's colours
  in order);
- lines differ in more than colour (dash and marker), so one hidden under another still shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from labeling.views.chart_axes import (
    GAP,
    Frame,
    Tick,
    category_ticks,
    fmt_number,
    nice_axis,
    numeric_xticks,
    text_width,
    yticks,
)

# One palette for the dashboard: a series name always has the same colour, and no two
# names share one, but for the neutral greys of one-series charts and reference marks.
SERIES_COLORS = {
    # label sources
    "review": "#2558d6",
    "inline": "#f79009",
    "import": "#12b76a",
    "api": "#0ba5ec",
    "bulk": "#7a5af8",
    "migration": "#98a2b3",
    # model quality
    "audit accuracy": "#101828",
    "audit macro-F1": "#dd2590",
    "held-out accuracy": "#b54708",
    "share right": "#0e9384",
    # auto-accept (issue 17)
    "auto-accepted": "#039855",
    "catch-all bound": "#6941c6",
    # latency
    "newest label": "#4e5ba6",
    "oldest label": "#c4320a",
    # neutral: a reference mark, and charts of one series (no legend)
    "mean confidence": "#344054",
    "share": "#475467",
    "items": "#475467",
}
NEUTRAL = frozenset({"mean confidence", "share", "items"})
# Names not listed above (top-level categories in the drift chart) take these in order: light
# tints, a family apart from the saturated colours above, so none reads as a source or metric.
POOL = [
    "#8dd3c7", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#d9d9d9",
    "#bc80bd", "#ccebc5", "#ffed6f", "#e5d8bd",
]  # fmt: skip


def series_colors(names: Sequence[str]) -> dict[str, str]:
    """The colour of each series: its own when listed, else the pool's next one."""
    pool = iter(POOL * (1 + len(names) // len(POOL)))
    return {name: SERIES_COLORS.get(name) or next(pool) for name in names}


@dataclass(frozen=True)
class Shape:
    kind: str  # rect, line, polyline, circle, square, text
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
    dash: str = ""  # stroke-dasharray of a polyline
    text: str = ""


@dataclass(frozen=True)
class LegendEntry:
    color: str
    name: str
    style: str = "bar"  # bar, solid, dashed, marker
    marker: str = ""  # circle, square, line


@dataclass
class Chart:
    key: str
    title: str
    caption: str
    head: list[str]
    rows: list[list[Any]]
    shapes: list[Shape] = field(default_factory=list)
    xticks: list[Tick] = field(default_factory=list)
    yticks: list[tuple[float, str]] = field(default_factory=list)
    legend: list[LegendEntry] = field(default_factory=list)
    empty: str = ""
    note: str = ""  # shown above the chart: too little data, a unit
    xlabel: str = ""
    frame: Frame = field(default_factory=Frame)

    # What the template reads.
    @property
    def width(self) -> int:
        return self.frame.width

    @property
    def height(self) -> int:
        return self.frame.height

    @property
    def left(self) -> int:
        return self.frame.left

    @property
    def bottom_y(self) -> float:
        return self.frame.base

    @property
    def right_x(self) -> float:
        return self.frame.x1

    @property
    def xlabel_y(self) -> float:
        return self.frame.height - 4.0


# -- charts ------------------------------------------------------------------------------------


def bar_chart(
    chart: Chart,
    labels: list[str],
    series: dict[str, list[float]],
    *,
    stacked: bool,
    percent: bool = False,
    legend: bool = False,
    thin: bool = False,
    fmt: Callable[[float], str] = fmt_number,
) -> Chart:
    """Grouped or stacked bars, one group per label, one colour per series name."""
    if not labels or not any(any(v for v in vals) for vals in series.values()):
        chart.empty = chart.empty or "Nothing to show yet."
        return chart
    chart.frame, chart.xticks = category_ticks(chart.frame, labels, thin=thin)
    frame = chart.frame
    totals = [sum(vals[i] for vals in series.values()) for i in range(len(labels))]
    peak = max(totals) if stacked else max(max(v) for v in series.values())
    top, step = (1.0, 0.25) if percent else nice_axis(peak)
    colors = series_colors(list(series))
    slot = (frame.x1 - frame.x0) / len(labels)
    width = slot * 0.7 / (1 if stacked else len(series))
    for i, label in enumerate(labels):
        base, x0 = 0.0, frame.x0 + i * slot + slot * 0.15
        for j, (name, vals) in enumerate(series.items()):
            v = vals[i]
            if v:
                y_hi, y_lo = frame.y(base + v, top), frame.y(base, top)
                shown = f"{v:.0%}" if percent else fmt(v)
                chart.shapes.append(
                    Shape(
                        "rect",
                        x=round(x0 if stacked else x0 + j * width, 1),
                        y=y_hi,
                        w=round(width, 1),
                        h=round(y_lo - y_hi, 1),
                        color=colors[name],
                        tip=f"{label} · {name}: {shown}",
                    )
                )
            if stacked:
                base += v
    chart.yticks = yticks(frame, top, step, (lambda v: f"{v:.0%}") if percent else fmt)
    if len(series) > 1 or legend:
        chart.legend = [LegendEntry(colors[name], name) for name in series]
    return chart


@dataclass(frozen=True)
class LineStyle:
    dash: str = ""
    marker: str = "circle"  # circle (filled) or square (hollow)


def line_chart(
    chart: Chart,
    xs: list[float],
    series: dict[str, list[float | None]],
    styles: dict[str, LineStyle] | None = None,
) -> Chart:
    """Lines over a numeric x axis on a 0–100% y axis; a None value leaves a gap. Series are
    drawn in order, so the last is on top: give it a dash and a hollow marker and the one
    below shows through where they coincide."""
    if not xs:
        chart.empty = chart.empty or "No model has been evaluated yet."
        return chart
    styles = styles or {}
    chart.frame, low, high, chart.xticks = numeric_xticks(chart.frame, min(xs), max(xs))
    frame = chart.frame
    colors = series_colors(list(series))
    for name, vals in series.items():
        style, color = styles.get(name, LineStyle()), colors[name]
        pts = [
            (frame.x(x, low, high), frame.y(v, 1.0), x, v)
            for x, v in zip(xs, vals, strict=True)
            if v is not None
        ]
        if len(pts) > 1:
            points = " ".join(f"{a},{b}" for a, b, _, _ in pts)
            chart.shapes.append(Shape("polyline", points=points, color=color, dash=style.dash))
        chart.shapes += [
            Shape(style.marker, x=a, y=b, color=color, tip=f"{name} at {x:g} labels: {v:.1%}")
            for a, b, x, v in pts
        ]
    chart.yticks = yticks(frame, 1.0, 0.25, lambda v: f"{v:.0%}")
    chart.legend = [
        LegendEntry(
            colors[name],
            name,
            "dashed" if styles.get(name, LineStyle()).dash else "solid",
            styles.get(name, LineStyle()).marker,
        )
        for name in series
    ]
    return chart


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    confidence: float
    accuracy: float


def reliability_chart(chart: Chart, bins: Sequence[Bin]) -> Chart:
    """One slot per bin (bins of about equal counts, so not equally wide): a bar for the share
    right, a dark mark at the mean confidence (where a calibrated model's bar would end) and
    the number of items above. Slot edges are labelled with the bins' confidences."""
    frame = chart.frame
    slot = (frame.x1 - frame.x0) / len(bins)
    colors = series_colors(["share right", "mean confidence"])
    digits = _digits([b.low for b in bins] + [bins[-1].high])
    for i, b in enumerate(bins):
        x, y = frame.x0 + i * slot, frame.y(b.accuracy, 1.0)
        tip = f"{b.low:.{digits}f}–{b.high:.{digits}f}: {b.accuracy:.0%} right of {b.count}"
        chart.shapes += [
            Shape("rect", x=round(x + 3, 1), y=y, w=round(slot - 6, 1), h=round(frame.base - y, 1),
                  color=colors["share right"], tip=tip),
            Shape("line", x=round(x + 1, 1), y=frame.y(b.confidence, 1.0), x2=round(x + slot - 1, 1),
                  y2=frame.y(b.confidence, 1.0), cls="expected", color=colors["mean confidence"]),
            Shape("text", x=round(x + slot / 2, 1), y=round(min(y, frame.y(b.confidence, 1.0)) - 3, 1),
                  text=f"{b.count:,}", cls="count"),
        ]  # fmt: skip
    edges = [b.low for b in bins] + [bins[-1].high]
    labels = [f"{e:.{digits}f}" for e in edges]
    every = max(1, math.ceil((max(map(text_width, labels)) + GAP) / slot))
    chart.xticks = [
        Tick(round(frame.x0 + i * slot, 1), label)
        for i, label in enumerate(labels)
        if i % every == 0
    ]
    chart.yticks = yticks(frame, 1.0, 0.25, lambda v: f"{v:.0%}")
    chart.legend = [
        LegendEntry(colors["share right"], "share right"),
        LegendEntry(colors["mean confidence"], "mean confidence", "solid", "line"),
    ]
    return chart


def _digits(edges: Sequence[float]) -> int:
    """Decimals enough to tell neighbouring edges apart (2 to 4)."""
    for digits in (2, 3, 4):
        texts = [f"{e:.{digits}f}" for e in edges]
        if len(set(texts)) == len(texts):
            return digits
    return 4
