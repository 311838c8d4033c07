"""GET /api/items/, GET /api/items/<id>/."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from labeling.models import Item, ModelVersion, Prediction
from labeling.services.review.labels import label_create
from tests.factories import ItemFactory


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def predict(item, category, *, decided=True, confidence=0.9, candidates=None):
    model = ModelVersion.objects.filter(status="active").first() or ModelVersion.objects.create(
        taxonomy_version=category.version, status="active"
    )
    return Prediction.objects.create(
        item=item,
        model_version=model,
        top_category=category,
        decided_category=category if decided else None,
        candidates=candidates or [{"category": category.pk, "p": confidence}],
        confidence=confidence,
    )


def label(item, category, author):
    return label_create(item=item, category=category, author=author, source="review")


def test_the_list_shows_items_with_current_label_and_prediction(tree, alice):
    shirts = tree["Apparel > Topwear > Shirts"]
    item = ItemFactory(title="Blue shirt")
    label(item, shirts, alice)
    predict(item, shirts)
    body = client_for(alice).get("/api/items/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["current_label"]["category"]["path"] == shirts.path
    assert row["current_label"]["author"] == "alice"
    assert row["prediction"]["decided_category"]["id"] == shirts.pk


def test_an_item_without_label_or_prediction_shows_nulls(db, alice):
    ItemFactory()
    row = client_for(alice).get("/api/items/").json()["results"][0]
    assert row["current_label"] is None
    assert row["prediction"] is None


def test_the_list_filters_by_title_source_and_external_id(db, alice):
    ItemFactory(title="Red Dress", source="shop-a", external_id="A-1")
    ItemFactory(title="red shoe", source="shop-b", external_id="B-1")
    ItemFactory(title="Watch", source="shop-a", external_id="A-2")
    client = client_for(alice)
    assert [r["external_id"] for r in client.get("/api/items/?q=RED").json()["results"]] == [
        "A-1",
        "B-1",
    ]
    assert client.get("/api/items/?source=shop-a").json()["count"] == 2
    assert client.get("/api/items/?external_id=B-1").json()["results"][0]["title"] == "red shoe"


def test_the_list_filters_by_labelled(tree, alice):
    labelled, unlabelled = ItemFactory(), ItemFactory()
    label(labelled, tree["Accessories > Watches"], alice)
    client = client_for(alice)
    assert [r["id"] for r in client.get("/api/items/?labelled=true").json()["results"]] == [
        labelled.pk
    ]
    assert [r["id"] for r in client.get("/api/items/?labelled=false").json()["results"]] == [
        unlabelled.pk
    ]


def test_label_category_matches_the_whole_subtree(tree, alice):
    shirt, jeans, shoe = ItemFactory(), ItemFactory(), ItemFactory()
    label(shirt, tree["Apparel > Topwear > Shirts"], alice)
    label(jeans, tree["Apparel > Bottomwear > Jeans"], alice)
    label(shoe, tree["Footwear > Shoes > Sneakers"], alice)
    url = f"/api/items/?label_category={tree['Apparel'].pk}"
    ids = [r["id"] for r in client_for(alice).get(url).json()["results"]]
    assert ids == [shirt.pk, jeans.pk]


def test_predicted_category_matches_top_or_decided(tree, alice):
    watches = tree["Accessories > Watches"]
    decided, abstained, other = ItemFactory(), ItemFactory(), ItemFactory()
    predict(decided, watches)
    predict(abstained, watches, decided=False)
    predict(other, tree["Apparel > Topwear > Shirts"])
    url = f"/api/items/?predicted_category={watches.pk}"
    ids = [r["id"] for r in client_for(alice).get(url).json()["results"]]
    assert ids == [decided.pk, abstained.pk]


def test_updated_since_and_ordering(db, alice):
    old, new = ItemFactory(), ItemFactory()
    Item.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    client = client_for(alice)
    since = client.get("/api/items/", {"updated_since": "2021-01-01T00:00:00Z"}).json()
    assert [r["id"] for r in since["results"]] == [new.pk]
    newest_first = client.get("/api/items/?ordering=-updated_at").json()["results"]
    assert [r["id"] for r in newest_first] == [new.pk, old.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("labelled=maybe", "labelled"),
        ("updated_since=yesterday", "updated_since"),
        ("ordering=title", "ordering"),
        ("label_category=999999", "label_category"),
        ("limit=many", "limit"),
        ("offset=-1", "offset"),
        ("predicted_category=99999999999999999999", "predicted_category"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(db, alice, query, field):
    response = client_for(alice).get(f"/api/items/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_the_list_is_paginated_by_limit_and_offset(db, alice):
    items = ItemFactory.create_batch(5)
    body = client_for(alice).get("/api/items/?limit=2&offset=2").json()
    assert body["count"] == 5
    assert [r["id"] for r in body["results"]] == [items[2].pk, items[3].pk]
    assert "offset=4" in body["next"]


def test_the_list_runs_a_constant_number_of_queries(tree, alice, django_assert_max_num_queries):
    leaves = [c for c in tree.values() if c.is_leaf]
    for n in range(50):
        item = ItemFactory()
        label(item, leaves[n % len(leaves)], alice)
        predict(item, leaves[(n + 1) % len(leaves)])
    client = client_for(alice)
    with django_assert_max_num_queries(6):
        body = client.get("/api/items/").json()
    assert len(body["results"]) == 50
    assert all(r["current_label"] and r["prediction"] for r in body["results"])


def test_the_detail_shows_the_prediction_candidates_with_paths(tree, alice):
    shirts, tshirts = tree["Apparel > Topwear > Shirts"], tree["Apparel > Topwear > Tshirts"]
    item = ItemFactory()
    predict(
        item,
        shirts,
        candidates=[{"category": shirts.pk, "p": 0.7}, {"category": tshirts.pk, "p": 0.2}],
    )
    body = client_for(alice).get(f"/api/items/{item.pk}/").json()
    assert body["external_id"] == item.external_id
    assert body["prediction"]["candidates"] == [
        {"category": shirts.pk, "path": shirts.path, "p": 0.7},
        {"category": tshirts.pk, "path": tshirts.path, "p": 0.2},
    ]


def test_an_unknown_item_is_a_404(db, alice):
    response = client_for(alice).get("/api/items/999999/")
    assert response.status_code == 404
    assert "999999" in response.json()["detail"]


@pytest.mark.parametrize("url", ["/api/items/", "/api/items/1/"])
def test_charlie_and_anonymous_are_refused(db, charlie, url):
    ItemFactory()
    assert client_for(charlie).get(url).status_code == 403
    assert client_for().get(url).status_code == 401


def test_a_taxonomy_admin_and_a_superuser_may_read(db, bob, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    assert client_for(bob).get("/api/items/").status_code == 200
    assert client_for(root).get("/api/items/").status_code == 200


@pytest.mark.parametrize(("method", "url"), [("put", "/api/items/"), ("delete", "/api/items/1/")])
def test_wrong_methods_are_a_405(db, bob, method, url):
    ItemFactory()
    assert getattr(client_for(bob), method)(url).status_code == 405
