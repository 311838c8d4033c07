"""An inline correction on the catalog report, and the catalog page itself, after a publish
(v2 without a model yet: the v1 model's rows mapped) in a pinned number of queries. The
target (inline correction p95 under 50 ms on a million items, ``benchmarks/bench_reports.py
--after-publish``) rests on it: the chain of older versions is read once per request, in one
query, so a walk per hop or a second read fails here first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labeling.models import Label, ModelVersion
from labeling.selectors import dashboard as dsel
from labeling.selectors import version_mapping as vmap
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy.publish import taxonomy_publish
from tests.labeling.across_versions_data import DENIM

HTMX = {"HX-Request": "true"}

# Counted on a cold category index (the fixture clears it): the session, the user, the roles
# (3); the current version (1, once per request); the item with its prediction (1); the card
# index's stamp, load, second stamp and the mapping of the old candidate (4); the category (1);
# label_create's savepoint, lock, insert, update, the prediction's disagreement flag,
# release (6); the row: the version chain (1),
# the prediction with its mapped categories (1), the mapped categories (1); the training
# trigger after commit (1). The same on SQLite and PostgreSQL. It was 23: a second read of the
# current version, label_create's own, and for the chain a query per hop (1 here), one for the
# models and one for the version numbers instead of one in all (19; 20 with the flag).
CORRECTION_QUERIES = 20
# The session, the user, the roles (3); the current version (1); the chain (1); the page (1);
# the mapped categories (1); the template's roles and node list (2). It was 12 on both.
CATALOG_QUERIES = 9

pytestmark = pytest.mark.usefixtures("fresh_category_index")


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def test_an_inline_correction_after_a_publish_stays_within_its_queries(
    as_alice, av, django_assert_num_queries, django_capture_on_commit_callbacks
):
    data = {"item": av.items["C"].pk, "category": av.new[DENIM].pk, "report": "catalog"}
    with (
        django_assert_num_queries(CORRECTION_QUERIES),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = as_alice.post(reverse("reports:correct"), data, headers=HTMX)
    assert response.status_code == 200
    label = Label.objects.get(item=av.items["C"], source="inline")
    assert label.category == av.new[DENIM] and label.taxonomy_version == av.v2
    assert label.model_version == av.model  # the v1 model's prediction was on screen


def test_the_catalog_page_after_a_publish_stays_within_its_queries(
    as_alice, av, django_assert_num_queries
):
    url = reverse("reports:report", args=["catalog"])
    with django_assert_num_queries(CATALOG_QUERIES):
        html = as_alice.get(url).content.decode()
    assert html.count(f"from the previous model (v{av.v1.number})") == 8


def test_the_chain_of_two_publishes_is_read_in_one_query(av, bob, django_assert_num_queries):
    draft = drafts.draft_start(taxonomy=av.v2.taxonomy, author=bob)
    taxonomy_publish(draft=draft, author=bob)
    draft.refresh_from_db()
    with django_assert_num_queries(1):
        numbers = vmap.older_version_numbers(draft)
    assert numbers == {av.v2.pk: av.v2.number, av.v1.pk: av.v1.number}
    assert list(numbers) == vmap.older_versions(draft) == [av.v2.pk, av.v1.pk]


def test_the_chain_ends_at_the_oldest_version_with_a_model(av, bob):
    draft = drafts.draft_start(taxonomy=av.v2.taxonomy, author=bob)
    taxonomy_publish(draft=draft, author=bob)
    ModelVersion.objects.create(taxonomy_version=av.v2, status="candidate")
    av.model.delete()  # and v1's predictions with it: v1 has nothing left to map
    draft.refresh_from_db()
    assert vmap.older_versions(draft) == [av.v2.pk]  # read afresh: nothing cached to go stale


def test_the_stand_in_model_is_found_without_a_query_per_version(av, django_assert_num_queries):
    with django_assert_num_queries(3):  # v2's active model, the chain, the older active models
        assert dsel.stand_in_model(version=av.v2) == av.model
