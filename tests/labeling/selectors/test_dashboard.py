"""Dashboard figures checked against hand-counted ledgers, metrics and predictions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import time_machine

from labeling.models import ModelVersion, Prediction, QueueEntry
from labeling.selectors import dashboard as sel
from labeling.selectors import dashboard_activity as activity_sel
from labeling.selectors.review import queue_size_by_reason
from labeling.services.review.labels import label_create, label_retract
from tests.factories import ItemFactory
from tests.labeling.migration_chain_data import publish_renaming_shirts

SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
JEANS = "Apparel > Bottomwear > Jeans"
SANDALS = "Footwear > Shoes > Sandals"
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def model(version, status, label_count, metrics=None, **kw):
    return ModelVersion.objects.create(
        taxonomy_version=version,
        status=status,
        label_count=label_count,
        metrics=metrics or {},
        **kw,
    )


def predict(mv, tree, path, confidence, decided="same", previous=None):
    decided_cat = tree[path] if decided == "same" else (tree[decided] if decided else None)
    return Prediction.objects.create(
        item=ItemFactory(),
        model_version=mv,
        top_category=tree[path],
        decided_category=decided_cat,
        previous_top_category=tree[previous] if previous else None,
        confidence=confidence,
    )


def test_the_learning_curve_orders_models_by_labels_and_reads_audit_metrics(version):
    model(
        version,
        "retired",
        200,
        {
            "leaf_accuracy": 0.7,
            "macro_f1": 0.6,
            "n_audit": 40,
            "audit": {"leaf_accuracy": 0.65, "macro_f1": 0.5},
        },
    )
    model(
        version,
        "active",
        500,
        {"leaf_accuracy": 0.8, "n_audit": 90, "audit": {"leaf_accuracy": 0.75, "macro_f1": 0.7}},
    )
    model(version, "rejected", 100, {"audit": None})
    model(version, "training", 900)  # not evaluated yet: not on the curve
    points = sel.learning_curve(version=version)
    assert [(p.label_count, p.status) for p in points] == [
        (100, "rejected"),
        (200, "retired"),
        (500, "active"),
    ]
    assert [p.audit_accuracy for p in points] == [None, 0.65, 0.75]
    assert [p.audit_macro_f1 for p in points] == [None, 0.5, 0.7]
    assert [p.n_audit for p in points] == [0, 40, 90]


def test_accuracy_by_depth_turns_json_keys_back_into_depths(version):
    mv = model(
        version,
        "active",
        10,
        {
            "accuracy_by_depth": {"1": 0.9, "2": 0.8, "3": 0.6},
            "audit": {"accuracy_by_depth": {"1": 0.95, "3": 0.5}, "macro_f1_by_depth": {"1": 0.9}},
        },
    )
    rows = sel.accuracy_by_depth(model=mv)
    assert [(r.depth, r.audit_accuracy, r.accuracy, r.audit_macro_f1) for r in rows] == [
        (1, 0.95, 0.9, 0.9),
        (2, None, 0.8, None),
        (3, 0.5, 0.6, None),
    ]
    assert sel.accuracy_by_depth(model=None) == []


def test_reliability_bins_the_active_models_confidence_against_audit_labels(version, tree, alice):
    mv = model(version, "active", 10)
    cases = [
        (0.95, SHIRTS, SHIRTS),
        (0.91, SHIRTS, TSHIRTS),
        (0.92, SHIRTS, "Apparel"),
        (0.35, JEANS, JEANS),
    ]
    for conf, predicted, truth in cases:
        p = predict(mv, tree, predicted, conf)
        label_create(
            item=p.item, category=tree[truth], author=alice, source="review", is_audit=True
        )
    p = predict(mv, tree, JEANS, 0.15)  # a non-audit label does not count
    label_create(item=p.item, category=tree[SHIRTS], author=alice, source="inline")
    # Two bins of two: (0.35 right, 0.91 wrong) and (0.92 right: "Apparel" is right for a
    # Shirts leaf, 0.95 right); equal-width bins would have had 3 of 4 items in one.
    bins = sel.reliability(version=version, n_bins=10, min_per_bin=2)
    assert [(b.low, b.high, b.count, b.accuracy) for b in bins] == [
        (0.35, 0.91, 2, 0.5),
        (0.92, 0.95, 2, 1.0),
    ]
    assert bins[0].confidence == pytest.approx((0.35 + 0.91) / 2)
    assert [b.count for b in sel.reliability(version=version)] == [4]  # fewer than 10 a bin


def test_equal_count_bins_never_split_a_run_of_equal_confidences():
    conf = np.array([0.99, 0.5, 0.9, 0.9, 0.97, 0.9, 0.9, 0.95])
    right = np.array([True, False, True, True, True, False, True, True])
    bins = sel.equal_count_bins(conf, right, n_bins=4, min_per_bin=2)
    # 4 bins of 2 wanted; the four 0.9s stay together, the 0.99 alone would be too few.
    assert [(b.low, b.high, b.count) for b in bins] == [(0.5, 0.9, 5), (0.95, 0.99, 3)]
    assert [b.accuracy for b in bins] == [pytest.approx(3 / 5), 1.0]
    assert sel.equal_count_bins(conf[:0], right[:0], n_bins=4, min_per_bin=2) == []


def test_one_confident_model_gets_bins_where_its_confidences_are(version, tree, alice):
    mv = model(version, "active", 10)
    for i in range(40):  # 0.960, 0.961, ... 0.999: all in the last tenth of 0..1
        p = predict(mv, tree, SHIRTS, 0.96 + i / 1000)
        truth = SHIRTS if i % 4 else JEANS
        label_create(
            item=p.item, category=tree[truth], author=alice, source="review", is_audit=True
        )
    bins = sel.reliability(version=version)
    assert [(b.count, round(b.low, 3), round(b.high, 3)) for b in bins] == [
        (10, 0.96, 0.969), (10, 0.97, 0.979), (10, 0.98, 0.989), (10, 0.99, 0.999),
    ]  # fmt: skip
    assert [b.accuracy for b in bins] == [0.7, 0.8, 0.7, 0.8]


def test_rollup_coverage_counts_decisions_per_depth_and_abstains(version, tree):
    mv = model(version, "active", 10)
    predict(mv, tree, SHIRTS, 0.9)
    predict(mv, tree, SHIRTS, 0.9)
    predict(mv, tree, TSHIRTS, 0.6, decided="Apparel > Topwear")
    predict(mv, tree, JEANS, 0.3, decided=None)
    rows = sel.rollup_coverage(version=version)
    assert [(r.depth, r.count, r.share) for r in rows] == [(0, 1, 0.25), (2, 1, 0.25), (3, 2, 0.5)]


def test_labels_per_day_count_decisions_by_source_not_retractions(tree, alice):
    item = ItemFactory()
    with time_machine.travel(T0 - timedelta(days=2), tick=False):
        label_create(item=item, category=tree[SHIRTS], author=alice, source="review")
        label_create(item=item, category=tree[JEANS], author=alice, source="inline")
    with time_machine.travel(T0, tick=False):
        wrong = label_create(item=item, category=tree[TSHIRTS], author=alice, source="inline")
        label_retract(label=wrong, author=alice)
        label_create(item=item, category=tree[TSHIRTS], author=None, source="import")
    with time_machine.travel(T0 - timedelta(days=40), tick=False):
        label_create(item=item, category=tree[JEANS], author=alice, source="review")  # too old
    daily = activity_sel.labels_per_day(days=3, now=T0)
    assert [d.isoformat() for d in daily.days] == ["2026-03-08", "2026-03-09", "2026-03-10"]
    assert daily.by_source["review"] == [1, 0, 0]
    assert daily.by_source["inline"] == [1, 0, 1]
    assert daily.by_source["import"] == [0, 0, 1] and daily.by_source["bulk"] == [0, 0, 0]


def test_labels_per_day_count_labels_a_publish_carried_over_apart(version, tree, alice, bob):
    item = ItemFactory()
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        label_create(item=item, category=tree[SHIRTS], author=alice, source="review")
    with time_machine.travel(T0, tick=False):
        publish_renaming_shirts(version, "Blouses", bob)  # one label carried over
    daily = activity_sel.labels_per_day(days=2, now=T0)
    assert "migration" not in daily.by_source
    assert daily.by_source["review"] == [1, 0]
    assert daily.migrated == [0, 1]


def test_labels_per_reviewer_busiest_first_with_undone(tree, alice, bob):
    items = [ItemFactory() for _ in range(3)]
    for item in items:
        label_create(item=item, category=tree[SHIRTS], author=bob, source="bulk")
    first = label_create(item=items[0], category=tree[JEANS], author=alice, source="inline")
    label_retract(label=first, author=alice)
    label_create(item=items[1], category=tree[JEANS], author=None, source="import")
    rows = activity_sel.labels_per_reviewer()
    assert [(r.username, r.labels, r.retractions, r.by_source) for r in rows] == [
        ("bob", 3, 0, {"bulk": 3}),
        ("alice", 1, 1, {"inline": 1}),
    ]


def test_latency_runs_from_each_new_label_to_the_promotion_that_learnt_it(version, tree, alice):
    item = ItemFactory()
    for hours in (0, 1, 2, 5):
        with time_machine.travel(T0 + timedelta(hours=hours), tick=False):
            label_create(item=item, category=tree[SHIRTS], author=alice, source="review")
    model(
        version,
        "retired",
        2,
        newest_label_at=T0 + timedelta(hours=1),
        promoted_at=T0 + timedelta(hours=3),
    )
    model(
        version,
        "active",
        4,
        newest_label_at=T0 + timedelta(hours=5),
        promoted_at=T0 + timedelta(hours=6),
    )
    model(version, "rejected", 4, newest_label_at=T0 + timedelta(hours=5))  # never promoted
    rows = activity_sel.label_latency(version=version)
    assert [(r.new_labels, r.fastest, r.slowest) for r in rows] == [
        (2, timedelta(hours=2), timedelta(hours=3)),
        (2, timedelta(hours=1), timedelta(hours=4)),
    ]


def test_drift_compares_previous_and_current_models_and_import_days(version, tree):
    old = model(version, "retired", 1)
    new = model(version, "active", 2)
    with time_machine.travel(T0, tick=False):
        predict(new, tree, SHIRTS, 0.9, previous=SANDALS)
        predict(new, tree, JEANS, 0.9, previous=SHIRTS)
        predict(new, tree, SANDALS, 0.9)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        predict(old, tree, SANDALS, 0.9)
    table = activity_sel.drift(version=version)
    assert table.columns == ["Apparel", "Footwear"]
    assert table.rows == [
        ("previous model", 2, [0.5, 0.5]),
        (f"model #{old.pk}", 1, [0.0, 1.0]),
        (f"model #{new.pk}", 3, [2 / 3, 1 / 3]),
        ("imported 2026-03-10", 3, [2 / 3, 1 / 3]),
        ("imported 2026-03-11", 1, [0.0, 1.0]),
    ]


def test_queue_size_by_reason_counts_every_reason(version, tree):
    mv = model(version, "active", 1)
    for reason in ("audit", "audit", "novel"):
        p = predict(mv, tree, SHIRTS, 0.5)
        QueueEntry.objects.create(item=p.item, priority=1.0, reason=reason)
    sizes = queue_size_by_reason()
    assert sizes["audit"] == 2 and sizes["novel"] == 1 and sizes["uncertain"] == 0
