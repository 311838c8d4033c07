"""GET /api/catalog/ (issue 17): every item's status and final category, filtered by status and
by category, in keyset pages; and the status of GET /api/predictions/."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.models import Prediction
from tests.factories import ItemFactory, api_token_for
from tests.labeling import catalog_data
from tests.labeling.catalog_data import JEANS, SHIRTS, SNEAKERS, TOPWEAR, TSHIRTS

URL = "/api/catalog/"


@pytest.fixture
def cat(version, tree, alice):
    return catalog_data.build(version, tree, alice)


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def ids(client, query=""):
    body = client.get(f"{URL}?{query}").json()
    return [row["item"]["external_id"] for row in body["results"]]


def test_each_row_has_the_items_status_final_category_and_the_models_opinion(cat, tree, alice):
    body = client_for(alice).get(URL).json()
    rows = {r["item"]["external_id"]: r for r in body["results"]}
    assert list(rows) == ["SKU-A", "SKU-B", "SKU-C", "SKU-D", "SKU-E", "SKU-F"]
    assert body["next"] is None
    topwear = tree[TOPWEAR]
    assert rows["SKU-B"] == {
        "item": {"id": cat.items["B"].pk, "external_id": "SKU-B", "title": "Item B"},
        "status": "auto_accepted",
        "category": {"id": topwear.pk, "key": topwear.key, "name": "Topwear",
                     "path": TOPWEAR, "depth": 2},
        "depth": 2,
        "confidence": 0.995,
        "model_version": cat.model.pk,
        "predicted_category": {"id": tree[TSHIRTS].pk, "key": tree[TSHIRTS].key,
                               "name": "Tshirts", "path": TSHIRTS, "depth": 3},
        "decided_category": {"id": tree[TSHIRTS].pk, "key": tree[TSHIRTS].key,
                             "name": "Tshirts", "path": TSHIRTS, "depth": 3},
        "label": None,
    }  # fmt: skip
    a = rows["SKU-A"]
    assert (a["status"], a["category"]["path"], a["confidence"]) == ("labelled", SHIRTS, None)
    assert a["label"] == {"id": cat.labels["A"].pk, "author": "alice", "source": "review"}
    c = rows["SKU-C"]
    assert (c["category"], c["depth"], c["confidence"], c["decided_category"]) == (
        None, None, 0.4, None,
    )  # fmt: skip
    assert c["predicted_category"]["path"] == JEANS
    d = rows["SKU-D"]  # never scored
    assert (d["status"], d["model_version"], d["predicted_category"]) == (
        "needs_review",
        None,
        None,
    )


def test_status_filters_combine_and_a_bad_one_is_a_400(cat, alice):
    client = client_for(alice)
    assert ids(client, "status=auto_accepted") == ["SKU-B", "SKU-F"]
    assert ids(client, "status=auto_accepted&status=labelled") == [
        "SKU-A", "SKU-B", "SKU-E", "SKU-F",
    ]  # fmt: skip
    assert ids(client, "status=needs_review") == ["SKU-C", "SKU-D"]
    response = client.get(f"{URL}?status=done")
    assert response.status_code == 400 and "status" in response.json()


def test_the_category_filter_takes_final_categories_under_a_node(cat, tree, alice):
    client = client_for(alice)
    assert ids(client, f"category={tree['Apparel'].pk}") == ["SKU-A", "SKU-B"]
    # B is accepted at Topwear only: it is not final under Tshirts, where the model put it.
    assert ids(client, f"category={tree[TSHIRTS].pk}") == []
    assert ids(client, f"category={tree['Footwear'].pk}&status=labelled") == []
    assert ids(client, f"category={tree[SNEAKERS].pk}") == ["SKU-F"]


def test_a_category_of_no_current_version_is_a_400(cat, alice):
    response = client_for(alice).get(f"{URL}?category=999999")
    assert response.status_code == 400
    assert response.json() == {"category": ["No category 999999 in the current taxonomy version"]}


def test_keyset_pages_follow_next_to_the_last_one(cat, alice):
    client = client_for(alice)
    first = client.get(f"{URL}?limit=3&status=needs_review&status=labelled").json()
    assert [r["item"]["external_id"] for r in first["results"]] == ["SKU-A", "SKU-C", "SKU-D"]
    after = cat.items["D"].pk
    assert first["next"] == (
        f"http://testserver{URL}?after={after}&limit=3&status=needs_review&status=labelled"
    )
    last = client.get(first["next"]).json()
    assert [r["item"]["external_id"] for r in last["results"]] == ["SKU-E"]
    assert last["next"] is None
    resumed = client.get(f"{URL}?after={cat.items['B'].pk}").json()
    assert [r["item"]["external_id"] for r in resumed["results"]] == [
        "SKU-C", "SKU-D", "SKU-E", "SKU-F",
    ]  # fmt: skip


@pytest.mark.parametrize("query", ["limit=0", "limit=many", "after=-1", "after=x"])
def test_a_bad_limit_or_after_is_a_400_naming_it(cat, alice, query):
    response = client_for(alice).get(f"{URL}?{query}")
    assert response.status_code == 400 and list(response.json()) == [query.split("=")[0]]


def test_a_page_costs_a_constant_number_of_queries(cat, tree, alice, django_assert_max_num_queries):
    for _ in range(40):
        catalog_data.predict(cat.model, ItemFactory(), tree[SHIRTS], 0.5)
    client = client_for(alice)
    with django_assert_max_num_queries(8):  # session, user, roles, version, page, categories
        assert len(client.get(URL).json()["results"]) == 46


def test_a_downstream_token_reads_it(cat, alice):
    token = api_token_for(alice)
    response = APIClient().get(URL, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and len(response.json()["results"]) == 6


def test_outsiders_are_refused_and_writes_are_405(cat, charlie, alice):
    assert client_for().get(URL).status_code == 401
    assert client_for(charlie).get(URL).status_code == 403
    assert client_for(alice).post(URL, {}).status_code == 405


def test_without_a_current_version_it_is_a_404(db, alice):
    response = client_for(alice).get(URL)
    assert response.status_code == 404
    assert response.json() == {"detail": "There is no current taxonomy version."}


def test_predictions_show_and_filter_by_status(cat, tree, alice):
    client = client_for(alice)
    body = client.get("/api/predictions/?status=auto_accepted").json()
    rows = [(r["item"]["external_id"], r["status"], r["accepted_category"]["path"],
             r["accepted_confidence"]) for r in body["results"]]  # fmt: skip
    assert rows == [
        ("SKU-B", "auto_accepted", TOPWEAR, 0.995),
        ("SKU-F", "auto_accepted", SNEAKERS, 0.97),
    ]
    others = client.get("/api/predictions/?status=labelled&status=needs_review").json()["results"]
    assert [(r["item"]["external_id"], r["status"], r["accepted_category"]) for r in others] == [
        ("SKU-A", "labelled", None),
        ("SKU-C", "needs_review", None),
    ]
    assert client.get("/api/predictions/?status=nope").status_code == 400


def test_an_older_models_accepted_category_is_found_under_what_it_maps_to(av, alice):
    # v1's model accepted G at Tshirts, which v2 merged into Shirts.
    Prediction.objects.filter(item=av.items["G"]).update(
        accepted_category=av.old[TSHIRTS], accepted_confidence=0.99, status="auto_accepted"
    )
    body = client_for(alice).get(f"{URL}?category={av.new[SHIRTS].pk}").json()
    rows = [(r["item"]["external_id"], r["status"], r["category"]["path"]) for r in body["results"]]
    assert rows == [("SKU-A", "labelled", SHIRTS), ("SKU-G", "auto_accepted", SHIRTS)]
