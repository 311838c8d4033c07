"""The card's reason line (``card_reason``): true of the prediction shown beside it, even when
the queue entry's detail was written for an older prediction (issue 14)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from labeling.models import ModelVersion, Prediction, QueueEntry
from labeling.selectors import review as sel
from labeling.selectors.category_index import category_index_clear
from labeling.selectors.review_reason import card_reason
from tests.factories import ItemFactory
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS

SANDALS = "Footwear > Shoes > Sandals"
WATCHES = "Accessories > Watches"
TOPWEAR = "Apparel > Topwear"
BOTTOMWEAR = "Apparel > Bottomwear"


@pytest.fixture(autouse=True)
def _fresh_search_index():
    category_index_clear()
    yield
    category_index_clear()


@pytest.fixture
def old(version):
    return ModelVersion.objects.create(taxonomy_version=version, status="retired")


@pytest.fixture
def new(version):
    return ModelVersion.objects.create(taxonomy_version=version, status="active")


def queued(tree, *, reason, detail, scores, queued_by, scored_by) -> QueueEntry:
    """An entry (``detail`` with paths for ids) whose item ``scored_by`` predicted ``scores``
    (path, p), loaded as the lease loads it."""
    item = ItemFactory()
    Prediction.objects.create(
        item=item,
        model_version=scored_by,
        top_category=tree[scores[0][0]],
        candidates=[{"category": tree[path].pk, "p": p} for path, p in scores],
        confidence=scores[0][1],
    )
    ids = {
        k: [tree[x].pk for x in v] if k == "between" else tree[v].pk if isinstance(v, str) else v
        for k, v in detail.items()
    }
    entry = QueueEntry.objects.create(
        item=item, reason=reason, detail=ids, priority=1.0, model_version=queued_by
    )
    return QueueEntry.objects.select_related("item", "item__prediction").get(pk=entry.pk)


def reason_of(entry, version) -> str:
    rows = sel.card_candidates(candidates=entry.item.prediction.candidates, version=version)
    return card_reason(entry=entry, rows=rows, version=version)


def test_an_uncertain_pair_the_model_still_doubts_between_reads_as_stored(version, tree, new):
    entry = queued(
        tree,
        reason="uncertain",
        detail={"between": [SHIRTS, TSHIRTS], "margin": 0.15},
        scores=[(SHIRTS, 0.55), (TSHIRTS, 0.4), (JEANS, 0.05)],
        queued_by=new,
        scored_by=new,
    )
    assert reason_of(entry, version) == "uncertain between Shirts and Tshirts"


def test_uncertain_then_rescored_sure_says_what_the_new_model_says(version, tree, old, new):
    entry = queued(
        tree,
        reason="uncertain",
        detail={"between": [SANDALS, WATCHES], "margin": 0.02},
        scores=[(SANDALS, 0.998), (WATCHES, 0.002)],
        queued_by=old,
        scored_by=new,
    )
    assert reason_of(entry, version) == (
        f"queued as uncertain by model #{old.pk}; rescored by model #{new.pk} since: "
        "now Sandals at 1.00"
    )


def test_an_uncertain_pair_that_is_not_the_top_two_is_recomputed_from_them(version, tree, new):
    entry = queued(
        tree,
        reason="uncertain",
        detail={"between": [SANDALS, WATCHES], "margin": 0.02},
        scores=[(SHIRTS, 0.5), (TSHIRTS, 0.45), (SANDALS, 0.05)],
        queued_by=new,
        scored_by=new,
    )
    assert reason_of(entry, version) == "uncertain between Shirts and Tshirts"


def test_the_heads_votes_are_named_while_the_prediction_is_the_queued_one(version, tree, new):
    entry = queued(
        tree,
        reason="disagreement",
        detail={"disagreement": 0.4, "text_says": WATCHES, "image_says": SHIRTS},
        scores=[(SHIRTS, 0.67), (TSHIRTS, 0.3)],
        queued_by=new,
        scored_by=new,
    )
    assert reason_of(entry, version) == "text says Watches, image says Shirts"


def test_the_heads_votes_are_dropped_with_a_note_once_rescored(version, tree, old, new):
    entry = queued(
        tree,
        reason="disagreement",
        detail={"disagreement": 0.4, "text_says": WATCHES, "image_says": SHIRTS},
        scores=[(SHIRTS, 0.67), (TSHIRTS, 0.3)],
        queued_by=old,
        scored_by=new,
    )
    assert reason_of(entry, version) == (
        f"queued by model #{old.pk} as its text and image heads disagreed; rescored by model "
        f"#{new.pk} since, the heads' current votes unknown: now Shirts at 0.67"
    )


def test_a_rescore_by_the_same_model_after_queueing_also_drops_the_votes(version, tree, new):
    entry = queued(
        tree,
        reason="disagreement",
        detail={"text_says": WATCHES, "image_says": SHIRTS},
        scores=[(SHIRTS, 0.5), (TSHIRTS, 0.45)],
        queued_by=new,
        scored_by=new,
    )
    entry.item.prediction.created_at = entry.created_at + timedelta(minutes=1)
    assert reason_of(entry, version) == (
        f"queued by model #{new.pk} as its text and image heads disagreed; rescored since, "
        "the heads' current votes unknown: now Shirts at 0.50, Tshirts at 0.45"
    )


def test_a_boundary_between_sibling_inner_nodes_holds_by_their_summed_leaves(version, tree, new):
    entry = queued(
        tree,
        reason="boundary",
        detail={"between": [TOPWEAR, BOTTOMWEAR], "margin": 0.1},
        scores=[(JEANS, 0.45), (SHIRTS, 0.3), (TSHIRTS, 0.25)],
        queued_by=new,
        scored_by=new,
    )
    assert reason_of(entry, version) == "on the boundary between Topwear and Bottomwear"


def test_a_boundary_the_prediction_left_says_where_it_is_now(version, tree, old, new):
    entry = queued(
        tree,
        reason="boundary",
        detail={"between": [TOPWEAR, BOTTOMWEAR], "margin": 0.1},
        scores=[(SANDALS, 0.9), (JEANS, 0.1)],
        queued_by=old,
        scored_by=new,
    )
    assert reason_of(entry, version) == (
        f"queued as near a category boundary by model #{old.pk}; rescored by model #{new.pk} "
        "since: now Sandals at 0.90"
    )


def test_a_re_review_whose_model_now_agrees_with_the_label_says_so(version, tree, old, new):
    entry = queued(
        tree,
        reason="re-review",
        detail={"label": SHIRTS, "model_says": JEANS, "p": 0.97},
        scores=[(SHIRTS, 0.9), (JEANS, 0.1)],
        queued_by=old,
        scored_by=new,
    )
    assert reason_of(entry, version) == (
        f"queued by model #{old.pk} to re-review its label; rescored by model #{new.pk} "
        "since: now Shirts at 0.90"
    )


@pytest.mark.parametrize(
    ("reason", "detail", "words"),
    [
        (
            "re-review",
            {"label": SHIRTS, "model_says": JEANS, "p": 0.97},
            "labelled Shirts, but the model says Jeans (p 0.97)",
        ),
        (
            "novel",
            {"novelty": 0.8, "nearest": JEANS},
            "unlike anything labelled so far (nearest: Jeans)",
        ),
        ("audit", {"audit": True}, "random audit"),
    ],
)
def test_reasons_the_prediction_bears_out_read_as_stored(version, tree, new, reason, detail, words):
    entry = queued(
        tree, reason=reason, detail=detail, scores=[(JEANS, 0.97)], queued_by=new, scored_by=new
    )
    assert reason_of(entry, version) == words


def test_the_reason_costs_no_query_when_its_categories_are_current(
    version, tree, old, new, django_assert_num_queries
):
    entry = queued(
        tree,
        reason="uncertain",
        detail={"between": [SANDALS, WATCHES], "margin": 0.02},
        scores=[(SANDALS, 0.998), (WATCHES, 0.002)],
        queued_by=old,
        scored_by=new,
    )
    rows = sel.card_candidates(candidates=entry.item.prediction.candidates, version=version)
    with django_assert_num_queries(0):
        assert card_reason(entry=entry, rows=rows, version=version).startswith("queued")
