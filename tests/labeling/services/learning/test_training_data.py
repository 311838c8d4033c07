"""labeling.services.learning.training_data: current labels from the ledger and the held-out split."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.models import Label
from labeling.services.learning.ml import version_tree
from labeling.services.learning.training_data import (
    LabelSet,
    current_labels,
    evaluation_mask,
    has_features,
    hash_unit,
)
from labeling.services.review import labels as label_svc
from tests.factories import CategoryFactory, ItemFactory, TaxonomyVersionFactory
from tests.labeling.services.loop_data import fresh_caches  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_caches")

SHIRTS, JEANS, WATCHES = (
    "Apparel > Topwear > Shirts",
    "Apparel > Bottomwear > Jeans",
    "Accessories > Watches",
)


def _label(item, category, **kw):
    return label_svc.label_create(item=item, category=category, author=None, source="review", **kw)


def test_current_labels_follow_corrections_and_retractions(tree, version):
    corrected, retracted, audited, plain = ItemFactory.create_batch(4)
    _label(corrected, tree[SHIRTS])
    _label(corrected, tree[JEANS])
    label_svc.label_retract(label=_label(retracted, tree[SHIRTS]), author=None)
    _label(audited, tree["Apparel > Topwear"], is_audit=True)  # an inner node is a label too
    last = _label(plain, tree[WATCHES])
    vt = version_tree(version)
    got = current_labels(version, vt)
    assert got.item_ids.tolist() == [corrected.pk, audited.pk, plain.pk]
    assert got.nodes.tolist() == [
        vt.node_of(tree[JEANS].pk),
        vt.node_of(tree["Apparel > Topwear"].pk),
        vt.node_of(tree[WATCHES].pk),
    ]
    assert got.is_audit.tolist() == [False, True, False]
    newest = Label.objects.order_by("-created_at").first()
    assert got.newest_label_at == newest.created_at >= last.created_at


def test_current_labels_leave_out_labels_of_another_version(tree, version):
    other = TaxonomyVersionFactory(is_current=False)
    elsewhere = CategoryFactory(version=other, name="Elsewhere")
    item = ItemFactory()
    label_svc.label_create(
        item=item, category=elsewhere, author=None, source="import", version=other
    )
    got = current_labels(version, version_tree(version))
    assert len(got) == 0 and got.newest_label_at is None


def _set(nodes, audit=None, start=1, titles=None):
    n = len(nodes)
    return LabelSet(
        item_ids=np.arange(start, start + n, dtype=np.int64),
        nodes=np.asarray(nodes, dtype=np.int64),
        is_audit=np.zeros(n, bool) if audit is None else np.asarray(audit, bool),
        newest_label_at=None,
        titles=None if titles is None else np.array(titles, dtype=object),
    )


def test_every_audit_label_is_held_out():
    labels = _set([0] * 6, audit=[True, False, True, False, False, False])
    held = evaluation_mask(labels, version_id=1, fraction=0.0)
    assert held.tolist() == [True, False, True, False, False, False]


def test_items_are_held_out_by_their_hash_below_the_fraction():
    labels = _set([0] * 50 + [1] * 50)
    unit = hash_unit(labels.item_ids, 7)
    held = evaluation_mask(labels, version_id=7, fraction=0.3)
    np.testing.assert_array_equal(held, unit < 0.3)
    for node in (0, 1):  # stratified: each category at about the same rate
        assert 0.1 < held[labels.nodes == node].mean() < 0.5


def test_an_item_keeps_its_side_when_more_labels_arrive():
    small = _set([0] * 40 + [1] * 40)
    grown = _set([0] * 40 + [1] * 40 + [0] * 30 + [2] * 30)
    before = evaluation_mask(small, version_id=3, fraction=0.2)
    after = evaluation_mask(grown, version_id=3, fraction=0.2)
    np.testing.assert_array_equal(after[:80], before)


def test_a_category_with_one_item_trains_on_it_and_two_items_split_one_one():
    labels = _set([0, 1, 1])
    held = evaluation_mask(labels, version_id=1, fraction=0.2)
    assert not held[0]
    assert held[1:].sum() == 1
    assert evaluation_mask(labels, version_id=1, fraction=0.99)[1:].sum() == 1


def test_hash_unit_is_stable_and_in_the_unit_interval():
    ids = np.array([5, 6, 7])
    first = hash_unit(ids, 1)
    np.testing.assert_array_equal(first, hash_unit(ids, 1))
    assert ((first >= 0) & (first < 1)).all()
    assert not np.array_equal(first, hash_unit(ids, 2))


def test_has_features_needs_at_least_one_modality():
    nan = np.full(3, np.nan)
    feats = {"text": np.array([[1.0, 2, 3], nan, nan]), "image": np.array([nan, [1.0, 1, 1], nan])}
    assert has_features(feats).tolist() == [True, True, False]


def _sides(titles, held):
    return {t for t, h in zip(titles, held, strict=True) if h}, {
        t for t, h in zip(titles, held, strict=True) if not h
    }


def test_identical_titles_never_straddle_the_held_out_split(tree, version):
    # 60 items over 3 leaves, 15 distinct titles each used 4 times (case and punctuation
    # vary: "Blue Shirt 3" and "blue shirt, 3" are one title).
    leaves = [tree[SHIRTS], tree[JEANS], tree[WATCHES]]
    for i in range(60):
        title = f"Blue Shirt {i // 4}" if i % 2 else f"blue shirt, {i // 4}"
        _label(ItemFactory(title=title), leaves[(i // 4) % 3])
    labels = current_labels(version, version_tree(version))
    held = evaluation_mask(labels, version_id=version.pk, fraction=0.3)
    normalised = [f"blue shirt {i // 4}" for i in range(60)]
    tested, trained = _sides(normalised, held)
    assert tested and trained and not tested & trained
    assert labels.titles.tolist()[:2] == ["blue shirt, 0", "Blue Shirt 0"]


def test_identical_embeddings_never_straddle_the_held_out_split():
    labels = _set([0] * 40, titles=[f"title {i}" for i in range(40)])
    vectors = np.repeat(np.arange(10.0), 4)[:, None] * np.ones((1, 3))  # 10 vectors x 4 items
    held = evaluation_mask(labels, version_id=5, fraction=0.3, vectors=vectors)
    for k in range(10):
        assert len(set(held[4 * k : 4 * k + 4].tolist())) == 1
    assert 0 < held.sum() < 40


def test_a_title_group_keeps_its_side_when_more_labels_arrive():
    titles = [f"title {i % 30}" for i in range(60)]
    small = _set([0] * 30 + [1] * 30, titles=titles)
    grown = _set([0] * 30 + [1] * 30 + [2] * 40, titles=titles + [f"new {i}" for i in range(40)])
    before = evaluation_mask(small, version_id=3, fraction=0.2)
    after = evaluation_mask(grown, version_id=3, fraction=0.2)
    np.testing.assert_array_equal(after[:60], before)


def test_an_audit_label_holds_out_its_title_twins_too():
    labels = _set([0] * 6, audit=[True] + [False] * 5, titles=["a", "a", "b", "c", "d", "e"])
    held = evaluation_mask(labels, version_id=1, fraction=0.0)
    assert held.tolist() == [True, True, False, False, False, False]
