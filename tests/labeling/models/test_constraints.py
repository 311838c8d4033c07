"""Rules the database enforces whatever code writes the rows."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from labeling.models import Label, ModelVersion, TaxonomyVersion, TrainingRun
from tests.factories import CategoryFactory, ItemFactory, TaxonomyVersionFactory


def _raises_integrity(fn) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_it_refuses_a_second_item_with_the_same_external_id(db):
    ItemFactory(external_id="SKU-1")
    _raises_integrity(lambda: ItemFactory(external_id="SKU-1"))


def test_it_refuses_two_current_versions_of_one_taxonomy(version):
    _raises_integrity(lambda: TaxonomyVersionFactory(taxonomy=version.taxonomy, is_current=True))


def test_it_allows_current_versions_in_different_taxonomies(version):
    other = TaxonomyVersionFactory(taxonomy__name="Other", is_current=True)
    assert TaxonomyVersion.objects.filter(is_current=True).count() == 2
    assert other.taxonomy_id != version.taxonomy_id


def test_it_refuses_a_current_version_that_is_a_draft(db):
    _raises_integrity(lambda: TaxonomyVersionFactory(status="draft", is_current=True))


def test_it_refuses_two_active_models_for_one_taxonomy_version(version):
    ModelVersion.objects.create(taxonomy_version=version, status="active")
    _raises_integrity(
        lambda: ModelVersion.objects.create(taxonomy_version=version, status="active")
    )


def test_it_allows_many_candidate_models_beside_the_active_one(version):
    ModelVersion.objects.create(taxonomy_version=version, status="active")
    ModelVersion.objects.create(taxonomy_version=version, status="candidate")
    ModelVersion.objects.create(taxonomy_version=version, status="candidate")
    assert ModelVersion.objects.filter(taxonomy_version=version).count() == 3


def test_it_refuses_a_label_whose_category_is_from_another_version(tree, version):
    other_version = TaxonomyVersionFactory(
        taxonomy=version.taxonomy, status="draft", is_current=False
    )
    foreign = CategoryFactory(version=other_version, name="Shirts")
    item = ItemFactory()
    _raises_integrity(
        lambda: Label.objects.create(
            item=item, category=foreign, taxonomy_version=version, source="api"
        )
    )


def test_it_accepts_a_label_whose_category_is_from_its_version(tree, version):
    label = Label.objects.create(
        item=ItemFactory(),
        category=tree["Apparel > Topwear > Shirts"],
        taxonomy_version=version,
        source="api",
    )
    assert label.pk is not None


def test_it_refuses_to_change_a_label_in_place(tree, version):
    label = Label.objects.create(
        item=ItemFactory(),
        category=tree["Apparel > Topwear > Shirts"],
        taxonomy_version=version,
        source="api",
    )
    _raises_integrity(
        lambda: Label.objects.filter(pk=label.pk).update(category=tree["Accessories > Watches"])
    )


def test_it_refuses_a_retraction_without_a_target(tree, version):
    _raises_integrity(
        lambda: Label.objects.create(
            item=ItemFactory(), kind="retraction", taxonomy_version=version, source="api"
        )
    )


def test_it_allows_one_training_run_in_flight_per_taxonomy_version(version):
    TrainingRun.objects.create(taxonomy_version=version, status="running")
    _raises_integrity(lambda: TrainingRun.objects.create(taxonomy_version=version, status="queued"))
    TrainingRun.objects.create(taxonomy_version=version, status="failed")
    assert TrainingRun.objects.count() == 2


def test_it_refuses_progress_outside_zero_to_one(version):
    _raises_integrity(lambda: TrainingRun.objects.create(taxonomy_version=version, progress=1.5))


def test_a_category_lists_its_ancestors_from_the_top(tree):
    shirts = tree["Apparel > Topwear > Shirts"]
    assert [c.name for c in shirts.ancestors()] == ["Apparel", "Topwear"]
