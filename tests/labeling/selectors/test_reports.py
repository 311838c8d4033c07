"""List reports (filters, sorting, keyset pages), confused pairs and the ledger of one item."""

from __future__ import annotations

import pytest

from labeling.models import ModelVersion, Prediction
from labeling.selectors import reports as rsel
from labeling.services.review.labels import label_create, label_retract
from tests.factories import ItemFactory

SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
JEANS = "Apparel > Bottomwear > Jeans"
SANDALS = "Footwear > Shoes > Sandals"


@pytest.fixture
def model(version):
    return ModelVersion.objects.create(taxonomy_version=version, status="active")


def predict(model, tree, path, confidence, *, decided=True, previous=None, title="x"):
    item = ItemFactory(title=title)
    return Prediction.objects.create(
        item=item,
        model_version=model,
        top_category=tree[path],
        decided_category=tree[path] if decided else None,
        previous_top_category=tree[previous] if previous else None,
        candidates=[{"category": tree[path].pk, "p": confidence}],
        confidence=confidence,
    )


def page(version, **kw):
    return rsel.report_page(version=version, filters=rsel.ReportFilters(**kw))


def confidences(result):
    return [r.confidence for r in result.rows]


@pytest.fixture
def five(model, tree):
    """Shirts .9, Tshirts .7 (was Shirts), Jeans .5 abstained, Sandals .3, Shirts .95 (was Jeans)."""
    return [
        predict(model, tree, SHIRTS, 0.9),
        predict(model, tree, TSHIRTS, 0.7, previous=SHIRTS),
        predict(model, tree, JEANS, 0.5, decided=False),
        predict(model, tree, SANDALS, 0.3),
        predict(model, tree, SHIRTS, 0.95, previous=JEANS),
    ]


def test_the_catalog_sorts_by_confidence_both_ways_and_by_item(version, five):
    assert confidences(page(version)) == [0.95, 0.9, 0.7, 0.5, 0.3]
    assert confidences(page(version, sort="confidence")) == [0.3, 0.5, 0.7, 0.9, 0.95]
    assert [r.pk for r in page(version, sort="item").rows] == [p.pk for p in five]
    assert [r.pk for r in page(version, sort="-item").rows] == [p.pk for p in five][::-1]


def test_a_node_selects_the_items_predicted_at_or_below_it(version, tree, five):
    assert confidences(page(version, node=tree["Apparel > Topwear"].pk)) == [0.95, 0.9, 0.7]
    assert confidences(page(version, node=tree["Apparel"].pk)) == [0.95, 0.9, 0.7, 0.5]
    assert confidences(page(version, node=tree[SANDALS].pk)) == [0.3]


def test_a_confidence_range_is_inclusive(version, five):
    assert confidences(page(version, conf_min=0.5, conf_max=0.9)) == [0.9, 0.7, 0.5]


def test_low_confidence_holds_the_uncertain_and_the_abstained(version, model, tree, five):
    predict(model, tree, JEANS, 0.99, decided=False)
    assert confidences(page(version, report=rsel.LOW)) == [0.3, 0.5, 0.99]


def test_changed_holds_items_whose_top_category_moved(version, model, tree, five):
    predict(model, tree, SHIRTS, 0.8, previous=SHIRTS)  # the same category: not a change
    assert confidences(page(version, report=rsel.CHANGED)) == [0.95, 0.7]
    assert confidences(page(version, changed=True, sort="confidence")) == [0.7, 0.95]


def test_labelled_unlabelled_and_disagreement_filters(version, tree, alice, five):
    label_create(item=five[0].item, category=tree[SHIRTS], author=alice, source="inline")
    label_create(
        item=five[1].item, category=tree["Apparel > Topwear"], author=alice, source="inline"
    )
    label_create(item=five[3].item, category=tree[JEANS], author=alice, source="inline")
    assert confidences(page(version, labelled=True)) == [0.9, 0.7, 0.3]
    assert confidences(page(version, labelled=False)) == [0.95, 0.5]
    # An ancestor of the prediction ("Topwear" over "Tshirts") is no disagreement.
    assert confidences(page(version, disagreement=True)) == [0.3]


def test_keyset_pages_cover_every_row_once_even_with_ties(version, model, tree):
    made = [predict(model, tree, SHIRTS, 0.5) for _ in range(7)]
    first = page(version, size=3)
    second = page(version, size=3, after=first.next_cursor)
    third = page(version, size=3, after=second.next_cursor)
    seen = [r.pk for r in first.rows + second.rows + third.rows]
    assert sorted(seen) == sorted(p.pk for p in made) and len(set(seen)) == 7
    assert len(third.rows) == 1 and third.next_cursor == ""


def test_an_unreadable_cursor_means_the_first_page(version, five):
    assert confidences(page(version, after="nonsense")) == [0.95, 0.9, 0.7, 0.5, 0.3]


def test_predictions_of_another_version_stay_out(version, model, tree, five):
    from tests.factories import TaxonomyVersionFactory, make_tree

    other = TaxonomyVersionFactory(taxonomy__name="Other", is_current=True)
    other_tree = make_tree(other, {"Toys": {}})
    predict(model, other_tree, "Toys", 0.99)
    assert confidences(page(version)) == [0.95, 0.9, 0.7, 0.5, 0.3]


def audit(item, category, shown_top, user):
    shown = {"candidates": [{"category": shown_top.pk, "p": 0.6}]} if shown_top else {}
    return label_create(
        item=item,
        category=category,
        author=user,
        source="review",
        is_audit=True,
        prediction_shown=shown,
    )


def test_confused_pairs_count_standing_audit_labels_most_frequent_first(version, tree, alice, five):
    shirts, tshirts, jeans = tree[SHIRTS], tree[TSHIRTS], tree[JEANS]
    audit(five[0].item, tshirts, shirts, alice)  # Tshirts predicted as Shirts
    audit(five[1].item, tshirts, shirts, alice)  # again
    audit(five[2].item, shirts, jeans, alice)  # Shirts predicted as Jeans
    wrong = audit(five[3].item, shirts, jeans, alice)
    label_retract(label=wrong, author=alice)  # retracted: no evidence
    audit(five[4].item, shirts, None, alice)  # no shown prediction: current one (Shirts) agrees
    label_create(item=five[3].item, category=jeans, author=alice, source="review")  # not audit
    pairs = rsel.confused_pairs(version=version)
    assert [(p.true.path, p.predicted.path, p.count) for p in pairs] == [
        (TSHIRTS, SHIRTS, 2),
        (SHIRTS, JEANS, 1),
    ]
    assert pairs[0].item_ids == [five[0].item_id, five[1].item_id]
    items = rsel.confused_pair_items(version=version, true_id=shirts.pk, predicted_id=jeans.pk)
    assert [i.pk for i in items] == [five[2].item_id]


def test_an_audit_label_at_an_ancestor_of_the_prediction_is_no_confusion(
    version, tree, alice, five
):
    audit(five[0].item, tree["Apparel"], tree[SHIRTS], alice)
    assert rsel.confused_pairs(version=version) == []


def test_the_ledger_lists_every_line_oldest_first_with_what_the_model_said(tree, alice, bob, five):
    item = five[1].item
    first = audit(item, tree[TSHIRTS], tree[SHIRTS], alice)
    second = label_create(
        item=item, category=tree[JEANS], author=bob, source="inline", context="catalog"
    )
    undo = label_retract(label=second, author=bob)
    ledger = rsel.item_ledger(item_id=item.pk)
    assert [line.label.pk for line in ledger.lines] == [first.pk, second.pk, undo.pk]
    assert [line.retracted for line in ledger.lines] == [False, True, False]
    assert [line.is_current for line in ledger.lines] == [True, False, False]
    assert ledger.lines[0].shown_top == tree[SHIRTS] and ledger.lines[1].shown_top is None
    assert ledger.prediction.previous_top_category == tree[SHIRTS]
    assert rsel.item_ledger(item_id=10**9) is None


def test_csv_rows_hold_what_the_page_shows(version, tree, alice, five):
    label_create(item=five[3].item, category=tree[JEANS], author=alice, source="inline")
    rows = rsel.rows_for_csv(page(version, sort="confidence", size=2).rows)
    assert rows[0][:4] == ["external_id", "title", "predicted", "confidence"]
    assert rows[1][2:] == [SANDALS, "0.3000", SANDALS, JEANS, "inline", "alice", ""]
    assert rows[2][2:] == [JEANS, "0.5000", "", "", "", "", ""]
    assert len(rows) == 3


def test_the_confidence_orders_have_an_index_with_the_tie_breaker():
    """A confident model gives many rows the same confidence (1.0 in float32): without the
    id in the index, PostgreSQL sorted every tied row to find the first page (measured: 2.2 s
    with 200,000 ties at 1M items; 1.7 ms with this index)."""
    from labeling.models import Prediction

    indexed = {tuple(f.lstrip("-") for f in index.fields) for index in Prediction._meta.indexes}
    for order in ("-confidence", "confidence"):
        assert tuple(f.lstrip("-") for f in rsel._ordering(order)) in indexed
