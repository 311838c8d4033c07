"""GET /api/predictions/ and GET /api/items/<id>/prediction/."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.models import ModelVersion, Prediction
from tests.factories import ItemFactory
from tests.labeling.rules_data import make_rule


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def model(version):
    return ModelVersion.objects.create(taxonomy_version=version, status="active")


def predict(model, top, *, decided=None, confidence=0.9, candidates=()):
    return Prediction.objects.create(
        item=ItemFactory(),
        model_version=model,
        top_category=top,
        decided_category=decided,
        candidates=list(candidates) or [{"category": top.pk, "p": confidence}],
        confidence=confidence,
    )


def test_predictions_list_with_candidate_paths(tree, model, alice):
    shirts, tops = tree["Apparel > Topwear > Shirts"], tree["Apparel > Topwear"]
    prediction = predict(
        model, shirts, decided=tops, candidates=[{"category": shirts.pk, "p": 0.6}]
    )
    row = client_for(alice).get("/api/predictions/").json()["results"][0]
    assert row["item"]["id"] == prediction.item_id
    assert (row["top_category"]["id"], row["decided_category"]["path"]) == (shirts.pk, tops.path)
    assert row["candidates"] == [{"category": shirts.pk, "path": shirts.path, "p": 0.6}]
    assert row["is_abstain"] is False


def test_a_prediction_names_the_rule_that_decided_it_or_null(tree, model, version, alice):
    rule = make_rule(version, name="shirts by title")
    by_rule = predict(model, tree["Apparel > Topwear > Shirts"])
    Prediction.objects.filter(pk=by_rule.pk).update(rule=rule)
    by_model = predict(model, tree["Accessories > Watches"])
    client = client_for(alice)
    rows = client.get("/api/predictions/").json()["results"]
    assert [r["rule"] for r in rows] == [{"id": rule.pk, "name": "shirts by title"}, None]
    one = client.get(f"/api/items/{by_rule.item_id}/prediction/").json()
    assert one["rule"] == {"id": rule.pk, "name": "shirts by title"}
    assert client.get(f"/api/items/{by_model.item_id}/prediction/").json()["rule"] is None


def test_predictions_filter_by_category_confidence_abstain_and_model(tree, model, version, alice):
    shirts, watches = tree["Apparel > Topwear > Shirts"], tree["Accessories > Watches"]
    sure = predict(model, shirts, decided=shirts, confidence=0.95)
    unsure = predict(model, watches, confidence=0.3)
    other = predict(ModelVersion.objects.create(taxonomy_version=version), watches, confidence=0.5)
    client = client_for(alice)

    def ids(query):
        return [r["item"]["id"] for r in client.get(f"/api/predictions/?{query}").json()["results"]]

    assert ids(f"category={shirts.pk}") == [sure.item_id]
    assert ids("min_confidence=0.4&max_confidence=0.96") == [sure.item_id, other.item_id]
    assert ids("abstain=true") == [unsure.item_id, other.item_id]
    assert ids("abstain=false") == [sure.item_id]
    assert ids(f"model_version={model.pk}") == [sure.item_id, unsure.item_id]


def test_a_bad_prediction_filter_is_a_400(db, alice):
    response = client_for(alice).get("/api/predictions/?min_confidence=2")
    assert response.status_code == 400
    assert "min_confidence" in response.json()


def test_the_list_runs_a_constant_number_of_queries(
    tree, model, version, alice, django_assert_max_num_queries
):
    leaves = [c for c in tree.values() if c.is_leaf]
    for n in range(50):
        predict(model, leaves[n % 6], candidates=[{"category": c.pk, "p": 0.1} for c in leaves])
    Prediction.objects.update(rule=make_rule(version))  # the rule comes with its prediction
    client = client_for(alice)
    with django_assert_max_num_queries(7):
        assert len(client.get("/api/predictions/").json()["results"]) == 50


def test_an_items_prediction(tree, model, alice):
    prediction = predict(model, tree["Accessories > Watches"])
    body = client_for(alice).get(f"/api/items/{prediction.item_id}/prediction/").json()
    assert body["top_category"]["path"] == "Accessories > Watches"
    assert body["model_version"] == model.pk
    assert body["is_abstain"] is True


def test_an_item_without_prediction_or_an_unknown_item_is_a_404(db, alice):
    item = ItemFactory()
    response = client_for(alice).get(f"/api/items/{item.pk}/prediction/")
    assert response.status_code == 404
    assert "no prediction" in response.json()["detail"]
    assert client_for(alice).get("/api/items/999999/prediction/").status_code == 404


@pytest.mark.parametrize("url", ["/api/predictions/", "/api/items/{pk}/prediction/"])
def test_outsiders_are_refused_and_writes_are_405(tree, model, charlie, alice, url):
    url = url.format(pk=predict(model, tree["Apparel"]).item_id)
    assert client_for(charlie).get(url).status_code == 403
    assert client_for().get(url).status_code == 401
    assert client_for(alice).post(url, {}).status_code == 405
