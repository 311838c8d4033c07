"""``Prediction.label_disagrees`` (services.disagreement): written with every label and every
rescore chunk, the same test as the report used to run per row."""

from __future__ import annotations

import pytest

from labeling.models import ModelVersion, Prediction
from labeling.services.learning import scoring
from labeling.services.review.disagreement import disagreement_refresh
from labeling.services.review.labels import label_bulk_create, label_create, label_retract
from tests.factories import ItemFactory
from tests.labeling.services.loop_data import (
    clustered_items,
    fake_encoders,  # noqa: F401
    fresh_caches,  # noqa: F401
    leaves_of,
)
from tests.labeling.services.scoring_data import fit_and_store

SHIRTS, TSHIRTS = "Apparel > Topwear > Shirts", "Apparel > Topwear > Tshirts"
TOPWEAR, JEANS = "Apparel > Topwear", "Apparel > Bottomwear > Jeans"


@pytest.fixture
def predicted(version, tree):
    """Four items predicted Shirts by an active model, none labelled yet."""
    model = ModelVersion.objects.create(taxonomy_version=version, status="active")
    items = [ItemFactory(title=f"Shirt {n}") for n in range(4)]
    for n, item in enumerate(items):
        Prediction.objects.create(
            item=item,
            model_version=model,
            top_category=tree[SHIRTS],
            candidates=[{"category": tree[SHIRTS].pk, "p": 0.9}],
            confidence=0.9 - n / 10,
        )
    return items


def flags(items) -> list[bool]:
    by_item = dict(Prediction.objects.values_list("item_id", "label_disagrees"))
    return [by_item[item.pk] for item in items]


def test_a_label_write_sets_the_flag_of_its_items_prediction(predicted, tree, alice):
    a, b, c, d = predicted
    label_create(item=a, category=tree[SHIRTS], author=alice, source="review")  # the same
    label_create(item=b, category=tree[TOPWEAR], author=alice, source="review")  # above it
    label_create(item=c, category=tree[TSHIRTS], author=alice, source="review")  # a sibling
    assert flags(predicted) == [False, False, True, False]  # d: no label, no disagreement
    wrong = label_create(item=a, category=tree[JEANS], author=alice, source="review")
    assert flags(predicted) == [True, False, True, False]
    label_retract(label=wrong, author=alice)  # a's label is Shirts again
    assert flags(predicted) == [False, False, True, False]


def test_a_bulk_label_write_sets_the_flags_too(predicted, tree, alice):
    pairs = [(predicted[0], tree[JEANS]), (predicted[3], tree["Apparel"])]
    assert label_bulk_create(pairs=pairs, author=alice, source="import") == 2
    assert flags(predicted) == [True, False, False, False]


def test_a_prefix_of_a_name_is_not_an_ancestor(version, tree, predicted, alice):
    """The label "Apparel > Top" is no ancestor of "Apparel > Topwear > Shirts": paths compare whole
    segments (the " > " after the label's path)."""
    from tests.factories import CategoryFactory

    top = CategoryFactory(version=version, name="Top", parent=tree["Apparel"], is_leaf=True)
    assert top.path == "Apparel > Top"
    label_create(item=predicted[0], category=top, author=alice, source="review")
    assert flags(predicted)[0] is True


def test_the_refresh_rewrites_only_rows_whose_flag_changes(predicted, tree, alice):
    label_create(item=predicted[2], category=tree[JEANS], author=alice, source="review")
    Prediction.objects.update(label_disagrees=True)  # three wrong flags, one right
    assert disagreement_refresh() == 3
    assert flags(predicted) == [False, False, True, False]
    assert disagreement_refresh(item_ids=[p.pk for p in predicted]) == 0
    assert disagreement_refresh(item_ids=[]) == 0


@pytest.mark.usefixtures("fake_encoders", "fresh_caches")
def test_a_rescore_writes_the_flag_against_the_current_labels(version, tree, alice):
    truth = clustered_items(leaves_of(version), 6, seed=2)
    model = fit_and_store(version, list(truth.items()))
    items = list(truth)
    # Each item labelled with its true leaf, except two labelled with another leaf.
    wrong = {items[0].pk: tree[JEANS], items[7].pk: tree[SHIRTS]}
    for item in items:
        category = wrong.get(item.pk, truth[item])
        label_create(item=item, category=category, author=alice, source="review")
    assert scoring.rescore(model) == len(items)
    rows = Prediction.objects.select_related("top_category", "item__current_label__category")
    for row in rows:
        label = row.item.current_label.category
        agrees = label.pk == row.top_category_id or row.top_category.path.startswith(
            label.path + " > "
        )
        assert row.label_disagrees is (not agrees), (row.item_id, label.path)
    assert Prediction.objects.filter(label_disagrees=True).count() >= 1


def test_a_long_sparse_id_list_is_refreshed_in_lists_the_database_takes(
    predicted, tree, alice, settings, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    label_create(item=predicted[1], category=tree[JEANS], author=alice, source="review")
    label_create(item=predicted[3], category=tree[JEANS], author=alice, source="review")
    Prediction.objects.update(label_disagrees=False)
    monkeypatch.setattr(connection.features, "max_query_params", 3)  # 2 ids an IN list
    far = [p.item_id + 10_000 for p in Prediction.objects.all()]  # sparse: no range
    ids = [p.pk for p in predicted] + far
    with CaptureQueriesContext(connection) as queries:
        assert disagreement_refresh(item_ids=ids) == 2
    assert len(queries) == 4  # 8 ids, 2 a list
    assert flags(predicted) == [False, True, False, True]
