"""List reports and confused pairs between a publish and the new version's first model: the
v1 model's predictions take part with their categories mapped into v2 (issue 6). The rows and
their expected figures are in ``tests/labeling/across_versions_data.py``."""

from __future__ import annotations

import pytest

from labeling.models import ModelVersion, Prediction
from labeling.selectors import reports as rsel
from labeling.selectors import version_mapping as vmap
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy.publish import taxonomy_publish
from tests.labeling.across_versions_data import (
    DENIM,
    JEANS,
    SANDALS,
    SHIRTS,
    SLIDES,
    SNEAKERS,
    TOPWEAR,
    WATCHES,
    publish_v2,
    rescore_with_v2,
)

pytestmark = pytest.mark.usefixtures("fresh_category_index")


def page(av, **kw):
    return rsel.report_page(version=av.v2, filters=rsel.ReportFilters(**kw))


def names(result):
    return [r.item.title.removeprefix("Item ") for r in result.rows]


def shown_paths(result):
    return [r.shown.top.path for r in result.rows]


def test_the_catalog_shows_every_v1_prediction_mapped_into_v2(av):
    result = page(av)
    assert names(result) == ["A", "B", "C", "D", "E", "F", "G", "H"]
    assert shown_paths(result) == [
        SHIRTS,
        SHIRTS,
        DENIM,
        SANDALS,
        SNEAKERS,
        WATCHES,
        SHIRTS,
        SANDALS,
    ]
    assert {r.shown.top.version_id for r in result.rows} == {av.v2.pk}
    assert {r.shown.from_version for r in result.rows} == {av.v1.number}


def test_only_the_split_categorys_rows_need_review(av):
    assert [r.shown.needs_review for r in page(av).rows] == [False] * 3 + [True] + [False] * 3 + [
        True
    ]


def test_decided_and_previous_categories_are_mapped_too(av):
    rows = {r.item.title: r for r in page(av).rows}
    assert rows["Item B"].shown.decided == av.new[SHIRTS]  # decided Tshirts in v1
    assert rows["Item F"].shown.decided is None  # abstained stays abstained
    assert rows["Item G"].shown.previous == av.new[SHIRTS]


def test_a_node_of_v2_selects_the_v1_predictions_that_map_under_it(av):
    assert names(page(av, node=av.new[TOPWEAR].pk)) == ["A", "B", "G"]  # Tshirts merged in
    assert names(page(av, node=av.new[DENIM].pk)) == ["C"]  # renamed from Jeans
    assert names(page(av, node=av.new[SANDALS].pk)) == ["D", "H"]  # split: still the node
    assert names(page(av, node=av.new["Footwear"].pk)) == ["D", "E", "H"]
    assert names(page(av, node=av.new[SLIDES].pk)) == []  # no v1 prediction is that fine


def test_the_disagreement_filter_compares_the_label_with_the_mapped_category(av):
    # B: label Jeans (now Denim) against Tshirts (now Shirts); E: Sandals against Sneakers.
    # A and D agree; H's label Slides is below Sandals, which the split left coarse: no conflict.
    assert names(page(av, disagreement=True)) == ["B", "E"]


def test_confidence_filters_and_low_confidence_keep_the_mapped_rows(av):
    assert names(page(av, conf_min=0.5, conf_max=0.8)) == ["B", "C", "D", "E"]
    assert names(page(av, report=rsel.LOW)) == ["H", "G", "F", "E"]
    assert names(page(av, labelled=False)) == ["C", "F", "G"]


def test_changed_compares_what_the_previous_top_stands_for_now(av):
    # F: Shirts → Watches is a change; G: Shirts → Tshirts is none in v2 (merged).
    assert names(page(av, report=rsel.CHANGED)) == ["F"]
    assert names(page(av, changed=True, disagreement=False)) == ["F"]


def test_keyset_pages_walk_the_mapped_rows(av):
    first = page(av, size=3)
    second = page(av, size=3, after=first.next_cursor)
    assert names(first) + names(second) == ["A", "B", "C", "D", "E", "F"]
    assert shown_paths(second) == [SANDALS, SNEAKERS, WATCHES]


def test_the_csv_names_the_mapped_categories_and_the_model(av):
    rows = rsel.rows_for_csv(page(av, node=av.new["Footwear"].pk).rows)
    assert rows[0][-1] == "model"
    note = f"previous model (v{av.v1.number}), mapped"
    assert rows[1][:4] == ["SKU-D", "Item D", SANDALS, "0.6000"]
    assert [r[2] for r in rows[1:]] == [SANDALS, SNEAKERS, SANDALS]
    assert [r[4] for r in rows[1:]] == [SANDALS, SNEAKERS, ""]
    assert [r[5] for r in rows[1:]] == [SANDALS, SANDALS, SLIDES]  # labels are on v2
    review = f"{note}; mapping needs review"
    assert [r[8] for r in rows[1:]] == [review, note, review]


def test_one_row_after_a_correction_is_mapped_too(av):
    row = rsel.report_row(item_id=av.items["B"].pk, version=av.v2)
    assert row is not None and row.shown.top == av.new[SHIRTS]
    assert row.shown.from_version == av.v1.number


def test_confused_pairs_map_the_v1_predictions(av):
    pairs = rsel.confused_pairs(version=av.v2)
    # Audit labels: A agrees, D agrees (Sandals), B: label Denim, predicted Tshirts → Shirts.
    assert [(p.true.path, p.predicted.path, p.count) for p in pairs] == [(DENIM, SHIRTS, 1)]
    assert pairs[0].item_ids == [av.items["B"].pk]


def test_once_v2_has_scored_only_its_own_predictions_are_used(av):
    rescore_with_v2(av)
    result = page(av)
    assert names(result) == ["A", "B", "C", "D", "E", "F", "G", "H"]
    assert all(r.shown.from_version is None and not r.shown.needs_review for r in result.rows)
    assert [r.top_category.version_id for r in result.rows] == [av.v2.pk] * 8
    assert [r.confidence for r in result.rows] == [0.85, 0.75, 0.65, 0.55, 0.45, 0.35, 0.25, 0.2]
    assert names(page(av, node=av.new[TOPWEAR].pk)) == ["A", "B", "G"]
    assert names(page(av, disagreement=True)) == ["B", "E"]


def test_a_previous_top_of_v1_on_a_v2_prediction_is_compared_mapped(av):
    rescore_with_v2(av)  # previous top = the item's v1 top; only the split refined D and H
    assert names(page(av, report=rsel.CHANGED)) == ["D", "H"]  # Sandals (split) → Slides
    Prediction.objects.filter(item=av.items["C"]).update(previous_top_category=av.old[SHIRTS])
    assert names(page(av, report=rsel.CHANGED)) == ["C", "D", "H"]  # Shirts (v1) → Denim
    row = page(av, report=rsel.CHANGED).rows[0]
    assert (row.shown.previous, row.shown.top) == (av.new[SHIRTS], av.new[DENIM])


def test_a_first_version_needs_no_mapping_sql(version, tree):
    ModelVersion.objects.create(taxonomy_version=version, status="active")
    assert vmap.older_versions(version) == []
    filters = rsel.ReportFilters(disagreement=True, changed=True)
    sql = str(rsel.report_queryset(version=version, filters=filters).query)
    assert "labeling_categorymapping" not in sql  # the plain, index-friendly query


def test_a_version_published_from_one_without_models_maps_nothing(version, tree, bob):
    v2 = publish_v2(version, bob)
    assert vmap.older_versions(v2) == []


def test_two_publishes_later_a_v1_prediction_is_still_mapped(av, bob):
    draft = drafts.draft_start(taxonomy=av.v2.taxonomy, author=bob)
    denim = av.new[DENIM]
    drafts.category_rename(draft=draft, key=denim.key, name="Jeanswear", author=bob)
    taxonomy_publish(draft=draft, author=bob)
    draft.refresh_from_db()
    v3_jeanswear = draft.categories.get(path="Apparel > Bottomwear > Jeanswear")
    assert vmap.older_versions(draft) == [av.v2.pk, av.v1.pk]
    result = rsel.report_page(version=draft, filters=rsel.ReportFilters(node=v3_jeanswear.pk))
    assert names(result) == ["C"]  # a v1 Jeans prediction, two publishes later
    assert result.rows[0].shown.top == v3_jeanswear
    assert av.old[JEANS].pk in vmap.ids_mapping_into(
        version=draft, older=[av.v2.pk, av.v1.pk], targets=[v3_jeanswear.pk]
    )
    assert names(
        rsel.report_page(version=draft, filters=rsel.ReportFilters(disagreement=True))
    ) == ["B", "E"]
