"""The dashboard's SVG against hand-computed figures (issue 14): ticks that do not overlap,
axes scaled to the data with a unit chosen from it, counts in the calibration bins, one
colour per series name on every chart, labels a publish carried over left out of the day
counts.

Geometry of the default frame: 560 x 220, plot from x 46 to 560 - right, from y 18 down to
the axis at y 186 (168 px tall).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import pytest

from labeling.models import ModelVersion, Prediction
from labeling.selectors import dashboard_activity as activity_sel
from labeling.services.review.labels import label_create
from labeling.views import chart_axes, charts
from labeling.views import dashboard as views
from tests.factories import ItemFactory
from tests.labeling.migration_chain_data import publish_renaming_shirts

URL = "/dashboard/"
SHIRTS = "Apparel > Topwear > Shirts"
JEANS = "Apparel > Bottomwear > Jeans"
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def assert_no_overlap(ticks):
    """Side by side: centres apart by half of each label plus the gap. Rotated (parallel
    slanted lines): their baselines apart by a line's height."""
    for a, b in zip(ticks, ticks[1:], strict=False):
        if a.rotated:
            assert (b.x - a.x) * math.sin(math.radians(chart_axes.ROTATION)) >= chart_axes.LINE_H
        else:
            room = (
                chart_axes.text_width(a.text) + chart_axes.text_width(b.text)
            ) / 2 + chart_axes.GAP
            assert b.x - a.x >= room, (a, b)


def page_charts(client, user):
    client.force_login(user)
    context = client.get(URL).context
    return {chart.key: chart for chart in [*context["quality"], *context["activity"]]}


# -- axes and ticks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peak", "axis"),
    [(0.03, (0.03, 0.01)), (430, (500, 100)), (7, (8, 2)), (1, (1, 0.2)), (0, (1, 0.25))],
)
def test_an_axis_ends_on_a_round_number_just_above_the_data(peak, axis):
    assert chart_axes.nice_axis(peak) == pytest.approx(axis)


def test_learning_curve_ticks_are_round_and_do_not_overlap(version):
    for i in range(24):  # 50, 160, ... 2,580 labels: one tick per model would overlap
        ModelVersion.objects.create(
            taxonomy_version=version,
            status="retired",
            label_count=50 + 110 * i,
            metrics={"audit": {"leaf_accuracy": 0.5, "macro_f1": 0.4}},
        )
    chart = views.learning_curve_chart(version)
    # Step 200 would put "2,600" (33 px) 38 px from its neighbour: 500 it is, 0 to 3,000;
    # the right margin grows to half of "3,000" + 2 = 19 px, so x runs from 46 to 541.
    assert [t.text for t in chart.xticks] == ["0", "500", "1,000", "1,500", "2,000", "2,500",
                                              "3,000"]  # fmt: skip
    assert [t.x for t in chart.xticks] == [46.0, 128.5, 211.0, 293.5, 376.0, 458.5, 541.0]
    assert_no_overlap(chart.xticks)
    assert chart.xticks[-1].x + chart_axes.text_width("3,000") / 2 <= chart.width


def test_thirty_days_of_dates_show_every_third(db):
    frame, ticks = chart_axes.category_ticks(
        chart_axes.Frame(), [f"03-{d:02d}" for d in range(1, 31)], thin=True
    )
    # slot 502 / 30 = 16.7 px; "03-01" is 33 px + 6: every ceil(39 / 16.7) = 3rd label
    assert [t.text for t in ticks] == [f"03-{d:02d}" for d in range(1, 31, 3)]
    assert frame == chart_axes.Frame()
    assert_no_overlap(ticks)


def test_long_category_labels_are_rotated_and_the_frame_grows_to_hold_them():
    labels = ["previous model", "model #12", "imported 2026-03-10", "imported 2026-03-11"]
    frame, ticks = chart_axes.category_ticks(chart_axes.Frame(), labels, thin=False)
    assert [t.text for t in ticks] == labels and all(t.rotated for t in ticks)
    widest = chart_axes.text_width("imported 2026-03-10")  # 125.4 px
    drop = widest * math.sin(math.radians(40)) + chart_axes.LINE_H  # 92.6 px below the axis
    assert frame.bottom == math.ceil(drop + 6) and frame.height - frame.bottom == 186
    assert ticks[0].x - widest * math.cos(math.radians(40)) >= 0  # the first fits on the left
    assert_no_overlap(ticks)


# -- lines that coincide -----------------------------------------------------------------------


def test_macro_f1_is_drawn_over_accuracy_dashed_with_hollow_squares(version):
    for n in (100, 200):
        ModelVersion.objects.create(
            taxonomy_version=version,
            status="retired",
            label_count=n,
            metrics={"audit": {"leaf_accuracy": 0.6, "macro_f1": 0.6}},  # the same values
        )
    chart = views.learning_curve_chart(version)
    lines = [s for s in chart.shapes if s.kind == "polyline"]
    accuracy, f1 = lines  # drawn in this order: F1 on top
    assert accuracy.points == f1.points and (accuracy.dash, f1.dash) == ("", "6 4")
    assert accuracy.color != f1.color
    markers = [(s.kind, s.color) for s in chart.shapes if s.kind in ("circle", "square")]
    assert markers == [("circle", accuracy.color)] * 2 + [("square", f1.color)] * 2
    assert [(e.name, e.style, e.marker) for e in chart.legend] == [
        ("audit accuracy", "solid", "circle"),
        ("audit macro-F1", "dashed", "square"),
    ]


def test_the_page_draws_the_dashed_line_and_its_legend(client, alice, version):
    ModelVersion.objects.create(
        taxonomy_version=version,
        status="active",
        label_count=10,
        metrics={"audit": {"leaf_accuracy": 0.6, "macro_f1": 0.6}},
    )
    ModelVersion.objects.create(
        taxonomy_version=version,
        status="retired",
        label_count=5,
        metrics={"audit": {"leaf_accuracy": 0.5, "macro_f1": 0.5}},
    )
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert html.count('stroke-dasharray="6 4"') == 2  # the polyline and its legend swatch


# -- calibration -------------------------------------------------------------------------------


def confident_model(version, tree, alice, n):
    mv = ModelVersion.objects.create(taxonomy_version=version, status="active", label_count=9)
    for i in range(n):
        p = Prediction.objects.create(
            item=ItemFactory(),
            model_version=mv,
            top_category=tree[SHIRTS],
            decided_category=tree[SHIRTS],
            confidence=0.95 + i / 1000,
        )
        truth = SHIRTS if i % 4 else JEANS
        label_create(
            item=p.item, category=tree[truth], author=alice, source="review", is_audit=True
        )


def test_calibration_bins_are_where_the_confidences_are_and_show_their_counts(
    client, alice, version, tree
):
    confident_model(version, tree, alice, 50)  # confidences 0.950, 0.951, ... 0.999
    chart = page_charts(client, alice)["reliability"]
    counts = [s.text for s in chart.shapes if s.kind == "text"]
    assert counts == ["10"] * 5  # five bins of ten, not one bin of fifty
    bars = [s for s in chart.shapes if s.kind == "rect"]
    # bin 1: 0.950..0.959, items 0, 4, 8 wrong: 70 % right -> y = 186 - 0.7 * 168 = 68.4
    assert (bars[0].y, bars[0].h) == (68.4, 117.6)
    marks = [s.y for s in chart.shapes if s.cls == "expected"]
    assert marks[0] == round(186 - 0.9545 * 168, 1)  # the bin's mean confidence
    assert [t.text for t in chart.xticks] == ["0.95", "0.96", "0.97", "0.98", "0.99", "1.00"]
    assert_no_overlap(chart.xticks)
    assert chart.note == ""


def test_too_little_data_for_calibration_is_said(client, alice, version, tree):
    confident_model(version, tree, alice, 12)
    client.force_login(alice)
    html = client.get(URL).content.decode()
    note = views.FEW_RELIABILITY_ITEMS.format(n=12, least=views.RELIABILITY_MIN_ITEMS)
    assert note.replace("'", "&#x27;") in html
    chart = page_charts(client, alice)["reliability"]
    assert [s.text for s in chart.shapes if s.kind == "text"] == ["12"]  # one bin, counted


# -- latency -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "unit"),
    [([30, 90], "seconds"), ([30, 150], "minutes"), ([600, 7199], "minutes"), ([7200], "hours")],
)
def test_the_latency_unit_writes_the_longest_wait_as_two_or_more(seconds, unit):
    assert views.latency_unit(seconds)[0] == unit


def test_latency_in_minutes_with_the_axis_scaled_to_the_data(version, monkeypatch):
    rows = [
        activity_sel.LatencyRow(7, T0, 5, timedelta(minutes=2), timedelta(minutes=18)),
        activity_sel.LatencyRow(8, T0, 3, timedelta(minutes=4), timedelta(minutes=9)),
    ]
    monkeypatch.setattr(activity_sel, "label_latency", lambda version: rows)
    chart = views.latency_chart(version)
    assert "(minutes)" in chart.caption
    # peak 18 min: step nice(18 / 4) = 5, axis 0..20 min
    assert [text for _, text in chart.yticks] == ["0 min", "5 min", "10 min", "15 min", "20 min"]
    bars = [(s.tip, s.y, s.h) for s in chart.shapes if s.kind == "rect"]
    assert bars[:2] == [
        ("#7 · newest label: 2 min", 169.2, 16.8),  # 2 / 20 of 168 px
        ("#7 · oldest label: 18 min", 34.8, 151.2),
    ]
    assert chart.rows[0][3:] == ["2.0 min", "18 min"]


# -- one colour per series name ----------------------------------------------------------------


def test_a_series_name_has_the_same_colour_on_every_chart(client, alice, bob, version, tree):
    items = [ItemFactory() for _ in range(4)]
    label_create(item=items[0], category=tree[SHIRTS], author=alice, source="review")
    label_create(item=items[1], category=tree[SHIRTS], author=alice, source="inline")
    label_create(item=items[2], category=tree[JEANS], author=bob, source="bulk")
    label_create(item=items[3], category=tree[JEANS], author=None, source="import")
    ModelVersion.objects.create(
        taxonomy_version=version,
        status="active",
        label_count=4,
        metrics={"accuracy_by_depth": {"1": 0.9}, "audit": {"leaf_accuracy": 0.5,
                 "macro_f1": 0.4, "accuracy_by_depth": {"1": 0.8}}},
    )  # fmt: skip
    seen: dict[str, set[str]] = {}
    on_charts: dict[str, set[str]] = {}
    for key, chart in page_charts(client, alice).items():
        for entry in chart.legend:
            seen.setdefault(entry.name, set()).add(entry.color)
            on_charts.setdefault(entry.name, set()).add(key)
        for shape in chart.shapes:
            if shape.kind == "rect" and " · " in shape.tip:
                name = shape.tip.split(" · ")[1].rsplit(":", 1)[0]
                seen.setdefault(name, set()).add(shape.color)
    assert on_charts["review"] == {"labels-per-day", "per-reviewer"}
    assert on_charts["audit accuracy"] == {"learning-curve", "accuracy-by-depth"}
    assert {name: len(colors) for name, colors in seen.items() if len(colors) > 1} == {}
    assert seen["review"] == {charts.SERIES_COLORS["review"]}


def test_no_two_series_names_share_a_colour_but_the_neutral_ones():
    named = {n: c for n, c in charts.SERIES_COLORS.items() if n not in charts.NEUTRAL}
    assert len(set(named.values())) == len(named)
    assert not set(charts.POOL) & set(charts.SERIES_COLORS.values())
    colors = charts.series_colors(["Apparel", "review", "Footwear"])
    assert colors == {"Apparel": charts.POOL[0], "review": "#2558d6", "Footwear": charts.POOL[1]}


# -- labels a publish carried over -------------------------------------------------------------


def test_labels_a_publish_carried_over_are_left_out_of_labels_per_day(
    client, alice, bob, version, tree
):
    for _ in range(3):
        label_create(item=ItemFactory(), category=tree[SHIRTS], author=alice, source="review")
    publish_renaming_shirts(version, "Blouses", bob)  # 3 migration labels, today
    chart = page_charts(client, alice)["labels-per-day"]
    assert [e.name for e in chart.legend] == ["review"]
    assert chart.head == ["Day", "review"] and chart.rows[-1][1:] == [3]
    assert chart.note.startswith("Left out: 3 label(s) a taxonomy publish carried over")
    assert max(float(text) for _, text in chart.yticks) == 3  # the axis fits the 3 decisions
    assert not any("migration" in s.tip for s in chart.shapes)
    assert re.search(r"on \d\d-\d\d;", chart.note)
