"""The split re-review is re-ranked once the new version's own model has scored the items."""

from __future__ import annotations

import pytest

from labeling.models import ModelVersion, Prediction, QueueEntry
from labeling.services.review.re_review_rank import child_margin, rerank_split_re_review
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy import publish as svc
from tests.labeling.taxonomy_admin_data import keys, label_items

COUNTS = {"Apparel > Topwear > Shirts": 1, "Accessories > Watches": 4}


@pytest.fixture
def published(version, tree, bob):
    """v2 of the small tree with Accessories > Watches split into Analog and Digital; returns
    (v2, the four watch items, v2's categories by key)."""
    items = label_items(tree, COUNTS)
    watches = [i for i in items if i.current_label.category == tree["Accessories > Watches"]]
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=bob)
    drafts.category_split(
        draft=draft, key="accessories/watches", names=["Analog", "Digital"], author=bob
    )
    svc.taxonomy_publish(draft=draft, author=bob)
    return draft, watches, keys(draft)


def _predict(item, mv, top, candidates):
    Prediction.objects.update_or_create(
        item=item,
        defaults={
            "model_version": mv,
            "top_category": top,
            "confidence": candidates[0][1],
            "candidates": [{"category": c.pk, "p": p} for c, p in candidates],
        },
    )


def test_the_new_model_ranks_the_items_it_cannot_place_among_the_children_first(published, bob):
    v2, watches, cats = published
    analog, digital = cats["accessories/watches/analog"], cats["accessories/watches/digital"]
    shirts = cats["apparel/topwear/shirts"]
    mv = ModelVersion.objects.create(taxonomy_version=v2, status="active")
    # Shares under Watches: 0.5/0.95 vs 0.45/0.95 -> margin 0.05/0.95.
    _predict(watches[0], mv, analog, [(analog, 0.5), (digital, 0.45), (shirts, 0.05)])
    # 0.9/0.95 vs 0.05/0.95 -> margin 0.85/0.95.
    _predict(watches[1], mv, analog, [(analog, 0.9), (digital, 0.05), (shirts, 0.05)])
    # Nothing under Watches: the model doubts the label itself -> margin 0.
    _predict(watches[2], mv, shirts, [(shirts, 0.8)])
    before = QueueEntry.objects.get(item=watches[3]).priority  # not scored by mv: unchanged

    assert rerank_split_re_review(v2, mv) == 3

    priority = dict(QueueEntry.objects.values_list("item_id", "priority"))
    assert priority[watches[0].pk] == pytest.approx(2 - 0.05 / 0.95)
    assert priority[watches[1].pk] == pytest.approx(2 - 0.85 / 0.95)
    assert priority[watches[2].pk] == pytest.approx(2.0)
    assert priority[watches[3].pk] == before
    detail = QueueEntry.objects.get(item=watches[1]).detail
    assert detail["ranked_by_model"] == mv.pk and detail["child_margin"] == round(0.85 / 0.95, 4)
    assert detail["split"] and detail["publish"] == v2.pk  # the publish's record is kept


def test_a_model_of_another_version_does_not_re_rank(published, tree):
    v2, watches, cats = published
    old = ModelVersion.objects.create(taxonomy_version=tree["Apparel"].version, status="retired")
    analog = cats["accessories/watches/analog"]
    _predict(watches[0], old, analog, [(analog, 0.9)])
    before = dict(QueueEntry.objects.values_list("item_id", "priority"))
    assert rerank_split_re_review(v2, old) == 0
    assert dict(QueueEntry.objects.values_list("item_id", "priority")) == before


def test_child_margin_sums_leaves_below_each_child():
    # 1 -> {2, 3}; 2 -> {4, 5}; 3 -> {6}
    parents = {1: None, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: None}
    cands = [{"category": 4, "p": 0.3}, {"category": 5, "p": 0.2}, {"category": 6, "p": 0.4}]
    # child 2 holds 0.5, child 3 holds 0.4 -> shares 5/9, 4/9
    assert child_margin(cands, 1, parents) == pytest.approx(1 / 9)
    assert child_margin([{"category": 7, "p": 1.0}], 1, parents) == 0.0
    assert child_margin([{"category": 6, "p": 0.2}], 1, parents) == pytest.approx(1.0)
