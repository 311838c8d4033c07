"""labeling.selectors.prediction_fallback: the old model's predictions until the new version
has a model of its own."""

from __future__ import annotations

import pytest

from labeling.models import Category, ModelVersion, Prediction
from labeling.selectors import prediction_fallback as fallback
from labeling.selectors.reports import ReportFilters, report_queryset
from labeling.services import scoring
from labeling.services import taxonomy_drafts as drafts
from labeling.services.taxonomy_publish import taxonomy_publish
from tests.labeling.services.loop_data import clustered_items, leaves_of
from tests.labeling.services.scoring_data import fit_and_store

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_loop")]

SANDALS, SNEAKERS = "footwear/shoes/sandals", "footwear/shoes/sneakers"


@pytest.fixture
def published(tree, version, bob, monkeypatch):
    """v1 scored by its model (30 items), then v2 published with sneakers merged into sandals."""
    from labeling.services import dispatch

    monkeypatch.setattr(dispatch, "enqueue_now", lambda name, *args: True)
    truth = clustered_items(leaves_of(version), 5, seed=1)
    scoring.rescore(fit_and_store(version, truth.items()))
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=bob)
    drafts.category_merge(draft=draft, source_keys=[SNEAKERS], target_key=SANDALS, author=bob)
    return taxonomy_publish(draft=draft, author=bob).version


def _cat(version, key):
    return Category.objects.get(version=version, key=key)


def test_the_reports_keep_to_the_new_version_s_categories_so_they_show_nothing_yet(published):
    assert Prediction.objects.count() == 30
    assert not report_queryset(version=published, filters=ReportFilters()).exists()


def test_until_its_first_model_the_old_predictions_stand_in_for_the_new_version(published, version):
    assert fallback.stand_in_version(version=published) == version
    assert Prediction.objects.filter(fallback.prediction_scope(version=published)).count() == 30
    sandals = _cat(published, SANDALS)
    assert fallback.mapped_from(version=published, category_ids=[sandals.pk]) == sorted(
        [_cat(version, SANDALS).pk, _cat(version, SNEAKERS).pk]
    )
    assert fallback.mapped_categories(version=published)[_cat(version, SNEAKERS).pk] == sandals


def test_once_the_new_version_has_a_model_only_its_own_predictions_count(published, version):
    ModelVersion.objects.create(taxonomy_version=published, status="active")
    assert fallback.stand_in_version(version=published) is None
    assert not Prediction.objects.filter(fallback.prediction_scope(version=published)).exists()
    assert fallback.mapped_from(version=published, category_ids=[_cat(published, SANDALS).pk]) == []
    assert fallback.mapped_categories(version=published) == {}


def test_a_version_that_was_not_published_from_another_has_no_stand_in(version):
    assert fallback.stand_in_version(version=version) is None
