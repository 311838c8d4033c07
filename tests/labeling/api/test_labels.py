"""POST /api/labels/, GET /api/labels/, POST /api/labels/<id>/retract/."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.api.errors import IDEMPOTENCY_KEY_REUSED
from labeling.api.permissions import RETRACT_OWN_ONLY
from labeling.models import Label
from labeling.services.review.labels import ALREADY_RETRACTED, CATEGORY_DEPRECATED, label_create
from tests.factories import CategoryFactory, ItemFactory, TaxonomyVersionFactory


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def item(db):
    return ItemFactory(external_id="SKU-1")


def test_a_reviewer_labels_an_item_by_ids(item, tree, alice):
    shirts = tree["Apparel > Topwear > Shirts"]
    payload = {"item": item.pk, "category": shirts.pk, "note": "obvious"}
    response = client_for(alice).post("/api/labels/", payload, format="json")
    assert response.status_code == 201
    label = Label.objects.get()
    assert (label.category, label.author, label.source, label.note) == (
        shirts,
        alice,
        "api",
        "obvious",
    )
    item.refresh_from_db()
    assert item.current_label == label
    assert response.json()["category"]["path"] == shirts.path


def test_a_label_can_name_the_external_id_and_the_category_path(item, tree, bob):
    payload = {"item_external_id": "SKU-1", "category_path": "Footwear > Shoes > Sandals"}
    response = client_for(bob).post("/api/labels/", payload, format="json")
    assert response.status_code == 201
    assert Label.objects.get().category == tree["Footwear > Shoes > Sandals"]
    assert response.json()["author"] == "bob"


def test_an_unknown_category_is_a_400_naming_category(item, tree, alice):
    response = client_for(alice).post(
        "/api/labels/", {"item": item.pk, "category": 123456}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"category": ["No category 123456 in the current taxonomy version"]}
    assert not Label.objects.exists()


def test_a_category_of_another_version_is_unknown_here(item, tree, version, alice):
    draft = TaxonomyVersionFactory(taxonomy=version.taxonomy, status="draft", is_current=False)
    foreign = CategoryFactory(version=draft, name="Shirts")
    response = client_for(alice).post(
        "/api/labels/", {"item": item.pk, "category": foreign.pk}, format="json"
    )
    assert response.status_code == 400
    assert "category" in response.json()


def test_a_service_refusal_is_a_400_on_category(item, tree, alice):
    watches = tree["Accessories > Watches"]
    watches.deprecated = True
    watches.save()
    response = client_for(alice).post(
        "/api/labels/", {"item": item.pk, "category": watches.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"category": [CATEGORY_DEPRECATED.format(path=watches.path)]}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"category": 1}, "item"),
        ({"item": 999999, "category_path": "Apparel"}, "item"),
        ({"item_external_id": "nope", "category_path": "Apparel"}, "item_external_id"),
        ({"item_external_id": "SKU-1"}, "category"),
        ({"item_external_id": "SKU-1", "category_path": "Apparel > Nope"}, "category_path"),
        ({"item": "one", "category": 1}, "item"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(item, tree, alice, payload, field):
    response = client_for(alice).post("/api/labels/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_replayed_idempotency_key_returns_the_same_label_with_200(item, tree, alice):
    client = client_for(alice)
    payload = {"item": item.pk, "category": tree["Apparel"].pk}
    first = client.post("/api/labels/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/labels/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert Label.objects.count() == 1


def test_the_idempotency_key_may_travel_in_the_body(item, tree, alice):
    client = client_for(alice)
    payload = {"item": item.pk, "category": tree["Apparel"].pk, "idempotency_key": "k-2"}
    assert client.post("/api/labels/", payload, format="json").status_code == 201
    assert client.post("/api/labels/", payload, format="json").status_code == 200
    assert Label.objects.get().idempotency_key == "k-2"


def test_reusing_a_key_for_a_different_label_is_a_400(item, tree, alice):
    client = client_for(alice)
    client.post(
        "/api/labels/",
        {"item": item.pk, "category": tree["Apparel"].pk, "idempotency_key": "k"},
        format="json",
    )
    other = {"item": item.pk, "category": tree["Footwear"].pk, "idempotency_key": "k"}
    response = client.post("/api/labels/", other, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "idempotency_key": [IDEMPOTENCY_KEY_REUSED.format(pk=Label.objects.get().pk)]
    }


def test_charlie_and_anonymous_may_not_label(item, tree, charlie):
    payload = {"item": item.pk, "category": tree["Apparel"].pk}
    assert client_for(charlie).post("/api/labels/", payload, format="json").status_code == 403
    assert client_for().post("/api/labels/", payload, format="json").status_code == 401
    assert client_for(charlie).get("/api/labels/").status_code == 403
    assert not Label.objects.exists()


def test_the_ledger_lists_labels_newest_first_with_filters(item, tree, alice, bob):
    first = label_create(item=item, category=tree["Apparel"], author=alice, source="review")
    second = label_create(item=item, category=tree["Footwear"], author=bob, source="inline")
    client = client_for(alice)
    assert [r["id"] for r in client.get("/api/labels/").json()["results"]] == [second.pk, first.pk]
    assert [r["id"] for r in client.get("/api/labels/?author=alice").json()["results"]] == [
        first.pk
    ]
    assert [r["id"] for r in client.get("/api/labels/?source=inline").json()["results"]] == [
        second.pk
    ]
    url = f"/api/labels/?category={tree['Apparel'].pk}&item={item.pk}&version={first.taxonomy_version_id}"
    assert [r["id"] for r in client.get(url).json()["results"]] == [first.pk]
    assert client.get("/api/labels/?kind=retraction").json()["count"] == 0
    assert client.get("/api/labels/?since=2999-01-01T00:00:00Z").json()["count"] == 0


def test_a_bad_ledger_filter_is_a_400(db, alice):
    response = client_for(alice).get("/api/labels/?kind=maybe")
    assert response.status_code == 400
    assert "kind" in response.json()


def test_the_ledger_runs_a_constant_number_of_queries(
    item, tree, alice, django_assert_max_num_queries
):
    for _ in range(50):
        label_create(item=ItemFactory(), category=tree["Apparel"], author=alice, source="review")
    client = client_for(alice)
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/labels/").json()["results"]) == 50


def test_a_reviewer_retracts_their_own_label(item, tree, alice):
    label = label_create(item=item, category=tree["Apparel"], author=alice, source="review")
    response = client_for(alice).post(
        f"/api/labels/{label.pk}/retract/", {"note": "oops"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "retraction"
    assert response.json()["retracts"] == label.pk
    item.refresh_from_db()
    assert item.current_label is None


def test_a_reviewer_may_not_retract_someone_elses_label(item, tree, alice, bob):
    label = label_create(item=item, category=tree["Apparel"], author=bob, source="review")
    response = client_for(alice).post(f"/api/labels/{label.pk}/retract/")
    assert response.status_code == 403
    assert response.json()["detail"] == RETRACT_OWN_ONLY
    assert not Label.objects.filter(kind="retraction").exists()


def test_a_taxonomy_admin_may_retract_anyones_label(item, tree, alice, bob):
    label = label_create(item=item, category=tree["Apparel"], author=alice, source="review")
    assert client_for(bob).post(f"/api/labels/{label.pk}/retract/").status_code == 201
    assert Label.objects.get(kind="retraction").author == bob


def test_retracting_twice_is_a_400_naming_label(item, tree, alice):
    label = label_create(item=item, category=tree["Apparel"], author=alice, source="review")
    client = client_for(alice)
    client.post(f"/api/labels/{label.pk}/retract/")
    response = client.post(f"/api/labels/{label.pk}/retract/")
    assert response.status_code == 400
    assert response.json() == {"label": [ALREADY_RETRACTED.format(pk=label.pk)]}


def test_a_replayed_retraction_returns_it_with_200(item, tree, alice):
    label = label_create(item=item, category=tree["Apparel"], author=alice, source="review")
    client = client_for(alice)
    first = client.post(f"/api/labels/{label.pk}/retract/", HTTP_IDEMPOTENCY_KEY="r-1")
    again = client.post(f"/api/labels/{label.pk}/retract/", HTTP_IDEMPOTENCY_KEY="r-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]


def test_retract_refuses_outsiders_unknown_labels_and_get(item, tree, alice, charlie):
    label = label_create(item=item, category=tree["Apparel"], author=alice, source="review")
    assert client_for(charlie).post(f"/api/labels/{label.pk}/retract/").status_code == 403
    assert client_for().post(f"/api/labels/{label.pk}/retract/").status_code == 401
    assert client_for(alice).post("/api/labels/999999/retract/").status_code == 404
    assert client_for(alice).get(f"/api/labels/{label.pk}/retract/").status_code == 405
    assert client_for(alice).delete("/api/labels/").status_code == 405
