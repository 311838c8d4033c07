"""One answer to "which taxonomy version is current", wherever it is asked (issue 14: with two
taxonomies the Models page's Train button and the dashboard concerned different ones)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labeling.models import TrainingRun
from labeling.selectors.overview import overview_counts
from labeling.selectors.taxonomy import current_version, current_versions
from labeling.services.review.labels import require_current_version
from tests.factories import TaxonomyVersionFactory


@pytest.fixture
def two_taxonomies(db):
    """Two published taxonomies; the newer one is created second (higher id) but sorts last
    by name, so ``.first()`` in default ordering and "newest id" disagree."""
    older = TaxonomyVersionFactory(taxonomy__name="Apple shop")
    newer = TaxonomyVersionFactory(taxonomy__name="Zebra shop")
    return older, newer


def test_the_newest_published_version_is_current_by_default(two_taxonomies):
    older, newer = two_taxonomies
    assert current_version() == newer
    assert require_current_version() == newer
    assert overview_counts()["current_version"] == newer
    assert current_versions().values_list("pk", flat=True)[0] == newer.pk


def test_the_configured_taxonomy_wins(two_taxonomies, settings):
    older, newer = two_taxonomies
    settings.TAXOLOOP = {**settings.TAXOLOOP, "TAXONOMY": "Apple shop"}
    assert current_version() == older
    assert require_current_version() == older
    assert current_versions().values_list("pk", flat=True)[0] == older.pk


def test_an_unknown_configured_taxonomy_falls_back_to_the_newest(two_taxonomies, settings):
    settings.TAXOLOOP = {**settings.TAXOLOOP, "TAXONOMY": "No such shop"}
    assert current_version() == two_taxonomies[1]


def test_the_train_button_and_the_dashboard_concern_the_same_version(
    two_taxonomies, client, bob, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    older, newer = two_taxonomies
    client.force_login(bob)
    models_page = client.get(reverse("models:list"))
    assert models_page.context["version"] == newer
    dashboard = client.get(reverse("dashboard:index"))
    assert dashboard.status_code == 200
    assert newer.taxonomy.name in dashboard.content.decode()
    client.post(reverse("models:train"))
    assert list(TrainingRun.objects.values_list("taxonomy_version", flat=True)) == [newer.pk]
