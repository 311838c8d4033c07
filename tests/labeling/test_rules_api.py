"""Rules over the REST API (issue 17): taxonomy admins create, read, list, replace, preview,
switch on and delete them; reviewers are refused; refusals are 400s with the service's
message; documented in the OpenAPI schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.models import Rule
from labeling.services.rules import crud, validation
from tests.factories import api_token_for
from tests.labeling.rules_data import SHIRTS, TSHIRTS, make_catalog

URL = "/api/rules/"
BODY = {
    "name": "shirts",
    "action": "assign",
    "category": SHIRTS,
    "priority": 5,
    "conditions": [{"kind": "words", "field": "title", "value": ["shirt"]}],
}


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.fixture
def api(bob, version, tree):
    make_catalog(version, tree)
    return client_for(bob)


def test_an_admin_creates_previews_switches_on_and_lists_a_rule(api, tree):
    created = api.post(URL, BODY, format="json")
    assert created.status_code == 201, created.json()
    rule = created.json()
    assert (rule["enabled"], rule["category"]["path"], rule["priority"]) == (False, SHIRTS, 5)
    assert rule["conditions"] == [
        {"kind": "words", "field": "title", "value": ["shirt"], "category": None}
    ]
    preview = api.post(f"{URL}{rule['id']}/preview/").json()
    assert (preview["hits"], preview["agrees"], preview["disagrees"]) == (3, 1, 2)
    assert preview["examples"][0]["external_id"] == "SKU-linen"
    switched = api.patch(f"{URL}{rule['id']}/", {"enabled": True}, format="json")
    assert switched.status_code == 200 and switched.json()["enabled"]
    listed = api.get(URL, {"enabled": "true"}).json()
    assert [r["id"] for r in listed["results"]] == [rule["id"]]
    assert api.get(URL, {"enabled": "false"}).json()["count"] == 0


def test_switching_on_before_a_preview_is_refused(api):
    rule = api.post(URL, BODY, format="json").json()
    response = api.patch(f"{URL}{rule['id']}/", {"enabled": True}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [crud.PREVIEW_FIRST]}


def test_replacing_a_rule_switches_it_off_and_forgets_its_preview(api, tree):
    rule = api.post(URL, BODY, format="json").json()
    api.post(f"{URL}{rule['id']}/preview/")
    replaced = api.put(f"{URL}{rule['id']}/", BODY | {"category": TSHIRTS}, format="json")
    assert replaced.status_code == 200
    body = replaced.json()
    assert (body["category"]["path"], body["enabled"], body["preview"]) == (TSHIRTS, False, {})
    assert body["stats"] == []


def test_a_bad_pattern_is_a_400_with_the_reason(api):
    bad = BODY | {"conditions": [{"kind": "regex", "field": "title", "value": "a*"}]}
    response = api.post(URL, bad, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": [validation.EMPTY_PATTERN.format(n=1, pattern="a*")]
    }
    assert not Rule.objects.exists()


def test_a_rule_without_conditions_is_refused_by_the_serializer(api):
    response = api.post(URL, BODY | {"conditions": []}, format="json")
    assert response.status_code == 400 and "conditions" in response.json()


def test_an_admin_deletes_a_rule(api):
    rule = api.post(URL, BODY, format="json").json()
    assert api.delete(f"{URL}{rule['id']}/").status_code == 204
    assert api.get(f"{URL}{rule['id']}/").status_code == 404


def test_a_reviewer_is_refused(alice, version, tree):
    client = client_for(alice)
    assert client.get(URL).status_code == 403
    assert client.post(URL, BODY, format="json").status_code == 403


def test_the_schema_documents_the_rules_endpoints(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/rules/"])
    assert {"get", "put", "patch", "delete"} <= set(paths["/api/rules/{id}/"])
    assert "post" in paths["/api/rules/{id}/preview/"]
    for operation in paths["/api/rules/{id}/"].values():
        assert {"401", "403", "404", "429"} <= set(operation["responses"])
