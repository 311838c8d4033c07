"""Request bodies that once crashed the API with a 500 now get a 400 naming the problem."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.api.parsers import JSON_TOO_DEEP, MAX_JSON_DEPTH
from labeling.models import Item
from labeling.services.catalog.item_fields import ITEM_ATTRIBUTES_UNSTORABLE

DEEP = "[" * 100_000 + "]" * 100_000  # past the json module's own recursion limit
NESTED = "[" * 900 + "]" * 900  # decodes, but encoding it again recurses too deep


@pytest.fixture
def api(bob) -> APIClient:
    client = APIClient()
    client.force_login(bob)
    return client


def post(api: APIClient, path: str, body: str):
    return api.generic("POST", path, body, content_type="application/json")


@pytest.mark.parametrize(
    ("value", "problem"),
    [('"nul \\u0000"', "a NUL character"), ('"\\ud800"', "a lone surrogate (not valid Unicode)")],
)
def test_attributes_no_database_can_store_are_a_400(api, value, problem):
    body = '{"external_id": "a", "title": "t", "attributes": {"k": ' + value + "}}"
    response = post(api, "/api/items/", body)
    assert response.status_code == 400
    assert response.json() == {"attributes": [ITEM_ATTRIBUTES_UNSTORABLE.format(problem=problem)]}
    assert not Item.objects.exists()


@pytest.mark.parametrize("path", ["/api/items/", "/api/items/bulk/", "/api/labels/"])
@pytest.mark.parametrize("nesting", [DEEP, NESTED])
def test_json_nested_too_deeply_is_a_400(api, path, nesting):
    response = post(api, path, '{"attributes": {"k": ' + nesting + "}}")
    assert response.status_code == 400
    assert response.json() == {"detail": JSON_TOO_DEEP.format(limit=MAX_JSON_DEPTH)}


def test_deeply_nested_attributes_in_a_multipart_form_are_a_400(api):
    form = {"external_id": "m", "title": "t", "attributes": '{"k": ' + NESTED + "}"}
    response = api.post("/api/items/", form)
    assert response.status_code == 400
    assert response.json() == {"attributes": ["Value must be valid JSON."]}
    assert not Item.objects.exists()


def test_an_unknown_api_path_or_a_negative_id_is_a_json_404(api):
    for path in ("/api/items/-1/", "/api/no-such-thing/", "/api/items/1/nothing/"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": f"There is no API endpoint at {path}."}


def test_the_json_404_still_asks_for_credentials_first(charlie):
    assert APIClient().get("/api/no-such-thing/").status_code == 401
    client = APIClient()
    client.force_login(charlie)
    assert client.get("/api/no-such-thing/").status_code == 403
