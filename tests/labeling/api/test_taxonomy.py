"""GET /api/taxonomy-versions/ (list, detail, current) and /<id>/categories/."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.models import Category, ModelVersion, TaxonomyVersion
from labeling.services.review.labels import label_create
from tests.conftest import shared_data_path
from tests.factories import ItemFactory, TaxonomyVersionFactory


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def test_the_version_list_shows_counts(tree, version, alice):
    label_create(item=ItemFactory(), category=tree["Apparel"], author=alice, source="review")
    ModelVersion.objects.create(taxonomy_version=version)
    TaxonomyVersionFactory(taxonomy=version.taxonomy, status="draft", is_current=False)
    body = client_for(alice).get("/api/taxonomy-versions/").json()
    assert body["count"] == 2
    current = next(v for v in body["results"] if v["is_current"])
    assert (current["taxonomy"], current["number"], current["status"]) == (
        "Shop",
        version.number,
        "published",
    )
    assert current["counts"] == {"categories": 12, "leaves": 6, "labels": 1, "model_versions": 1}


def test_the_detail_and_current_show_one_version(tree, version, alice):
    client = client_for(alice)
    detail = client.get(f"/api/taxonomy-versions/{version.pk}/").json()
    assert detail["id"] == version.pk
    assert detail["counts"]["categories"] == 12
    assert client.get("/api/taxonomy-versions/current/").json() == detail


def test_current_is_404_without_a_published_version(db, alice):
    TaxonomyVersionFactory(status="draft", is_current=False)
    assert client_for(alice).get("/api/taxonomy-versions/current/").status_code == 404
    assert client_for(alice).get("/api/taxonomy-versions/999999/").status_code == 404


def test_categories_come_flat_in_path_order(tree, version, alice):
    body = client_for(alice).get(f"/api/taxonomy-versions/{version.pk}/categories/").json()
    assert body["count"] == 12
    paths = [c["path"] for c in body["results"]]
    assert paths == sorted(paths)
    shirts = next(c for c in body["results"] if c["path"] == "Apparel > Topwear > Shirts")
    assert shirts["parent"] == tree["Apparel > Topwear"].pk
    assert (shirts["depth"], shirts["is_leaf"], shirts["name"]) == (3, True, "Shirts")


def test_categories_filter_by_text_synonym_depth_and_leaf(tree, version, alice):
    Category.objects.filter(pk=tree["Accessories > Watches"].pk).update(synonyms=["Timepiece"])
    url = f"/api/taxonomy-versions/{version.pk}/categories/"
    client = client_for(alice)
    assert [c["name"] for c in client.get(url, {"q": "timepiece"}).json()["results"]] == ["Watches"]
    assert [c["name"] for c in client.get(url, {"q": "topwear"}).json()["results"]] == [
        "Topwear",
        "Shirts",
        "Tshirts",
    ]
    assert client.get(url, {"depth": 1}).json()["count"] == 3
    assert client.get(url, {"leaf": "true"}).json()["count"] == 6
    assert client.get(url, {"leaf": "false", "depth": 2}).json()["count"] == 3


def test_a_bad_category_filter_is_a_400(version, alice):
    response = client_for(alice).get(f"/api/taxonomy-versions/{version.pk}/categories/?depth=0")
    assert response.status_code == 400
    assert "depth" in response.json()


def test_a_page_of_categories_may_hold_10000_but_not_more(
    version, alice, django_assert_max_num_queries
):
    Category.objects.bulk_create(
        Category(version=version, key=f"k{n}", name=f"C{n}", path=f"C{n:05d}", depth=1)
        for n in range(10_001)
    )
    client = client_for(alice)
    with django_assert_max_num_queries(6):
        body = client.get(f"/api/taxonomy-versions/{version.pk}/categories/?limit=20000").json()
    assert body["count"] == 10_001
    assert len(body["results"]) == 10_000


@pytest.mark.shared_data
def test_the_whole_google_taxonomy_comes_in_one_call(version, alice):
    lines = (
        shared_data_path("google_taxonomy", "taxonomy-with-ids.en-US.txt").read_text().splitlines()
    )
    rows = [line.split(" - ", 1) for line in lines if line and not line.startswith("#")]
    Category.objects.bulk_create(
        Category(
            version=version,
            key=key,
            name=path.split(" > ")[-1],
            path=path,
            depth=path.count(" > ") + 1,
        )
        for key, path in rows
    )
    body = (
        client_for(alice).get(f"/api/taxonomy-versions/{version.pk}/categories/?limit=10000").json()
    )
    assert body["count"] == len(rows) == 5595
    assert len(body["results"]) == 5595
    assert body["next"] is None


@pytest.mark.parametrize(
    "url",
    [
        "/api/taxonomy-versions/",
        "/api/taxonomy-versions/current/",
        "/api/taxonomy-versions/{pk}/categories/",
    ],
)
def test_outsiders_are_refused_and_writes_are_405(tree, version, charlie, alice, url):
    url = url.format(pk=version.pk)
    assert client_for(charlie).get(url).status_code == 403
    assert client_for().get(url).status_code == 401
    assert client_for(alice).post(url, {}).status_code == 405
    assert TaxonomyVersion.objects.count() == 1
