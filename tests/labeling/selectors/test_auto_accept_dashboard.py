"""The dashboard's auto-accept figures (labeling.selectors.auto_accept) from hand-set
statuses and hand-made certifications: the catalog now, one model's certification, the
history over model versions."""

from __future__ import annotations

import pytest

from labeling.selectors import auto_accept as sel
from tests.labeling.auto_accept_data import (
    SHIRTS,
    certification,
    certified_model,
    predict,
    snapshot,
)


@pytest.fixture
def active(version, tree):
    return certified_model(version, "active", 900, certification(tree))


def test_the_catalog_now_counts_each_status_and_the_depth_accepted_at(active, tree):
    for status, at in [
        ("labelled", None), ("labelled", SHIRTS),  # a label wins over an accepted node
        ("auto_accepted", SHIRTS), ("auto_accepted", SHIRTS), ("auto_accepted", "Apparel"),
        ("auto_accepted", None),  # its node was deleted since: in no depth
        ("needs_review", None),
    ]:  # fmt: skip
        predict(active, tree, status, at)
    now = sel.catalog_status_now()
    assert now == sel.CatalogStatus(
        7, {"labelled": 2, "auto_accepted": 4, "needs_review": 1}, {1: 1, 3: 2}
    )
    assert now.share("auto_accepted") == pytest.approx(4 / 7)
    assert now.depth_share(3) == pytest.approx(2 / 7) and now.depth_share(2) == 0.0


def test_the_catalog_now_is_one_query(active, tree, django_assert_num_queries):
    predict(active, tree, "auto_accepted", SHIRTS)
    with django_assert_num_queries(1):
        sel.catalog_status_now()


def test_an_empty_catalog_has_no_shares(db):
    now = sel.catalog_status_now()
    assert now.items == 0 and now.share("labelled") is None and now.depth_share(1) is None


def test_the_certification_names_branches_and_needs_and_reads_the_catch_all_bound(active, tree):
    cert = sel.certification(model=active)
    assert (cert.model_id, cert.target, cert.n_audit) == (active.pk, 0.99, 1200)
    assert (cert.units, cert.units_certified, cert.catch_all_bound) == (2, 2, 0.9905)
    assert cert.certified_at.isoformat() == "2026-03-10T12:00:00+00:00"
    assert cert.branches == [
        sel.BranchRow(tree["Apparel"].pk, "Apparel", 480, 1, 0.997917, 0.990127),
        sel.BranchRow(tree["Footwear"].pk, "Footwear", 0, 0, None, None),
    ]
    assert cert.needs == [
        sel.NeedRow(tree["Footwear"].pk, "Footwear", 120, 946, 8260, False),
        sel.NeedRow(tree["Accessories"].pk, "Accessories", 40, 946, 27000, True),
    ]


def test_the_catch_all_pool_is_named_as_such(active, tree):
    active.metrics["auto_accept"]["audit_needs"] = [
        {"category": None, "have": 200, "need": 299, "extra_audit": 99, "covered": False}
    ]
    active.save()
    assert sel.certification(model=active).needs == [
        sel.NeedRow(None, sel.CATCH_ALL, 200, 299, 99, False)
    ]


def test_a_model_without_a_certification_has_none(version, tree):
    assert sel.certification(model=certified_model(version, "active", 10, None)) is None
    assert sel.certification(model=None) is None


def test_a_catch_all_unit_that_certified_nothing_has_no_bound(version, tree):
    mv = certified_model(version, "active", 10, certification(tree, root_bound=None))
    assert sel.certification(model=mv).catch_all_bound is None


def test_the_history_lists_certified_models_by_labels_with_their_snapshots(version, tree):
    late = certified_model(
        version, "active", 2000, certification(tree, catalog=snapshot(1000, 400, {1: 100, 3: 300}))
    )
    early = certified_model(
        version,
        "retired",
        500,
        certification(tree, root_bound=None, catalog=snapshot(1000, 50, {3: 50})),
    )
    pending = certified_model(version, "candidate", 2500, certification(tree))  # job not done
    certified_model(version, "retired", 100, None)  # never certified: not a point
    certified_model(version, "training", 3000, certification(tree))  # not evaluated yet
    points = sel.history(version=version)
    assert [p.model_id for p in points] == [early.pk, late.pk, pending.pk]
    assert [p.label_count for p in points] == [500, 2000, 2500]
    assert [p.share for p in points] == [0.05, 0.4, None]
    assert [p.depth_share(3) for p in points] == [0.05, 0.3, None]
    assert points[1].depth_share(1) == 0.1 and points[0].depth_share(1) == 0.0
    assert [p.catch_all_bound for p in points] == [None, 0.9905, 0.9905]
    assert [p.units_certified for p in points] == [1, 2, 2]
