"""The OpenAPI 3 schema at /api/schema/ and its browsable UI at /api/docs/."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from labeling.api.errors import BULK_TOO_MANY


@pytest.fixture
def schema(db) -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_a_valid_openapi_3_document(schema):
    validate(schema)  # raises OpenAPIValidationError with the offending path
    assert schema["openapi"].startswith("3.")
    assert sorted(schema["paths"]) == [
        "/api/",
        "/api/catalog/",
        "/api/categories/{id}/guideline/",
        "/api/items/",
        "/api/items/bulk/",
        "/api/items/{id}/",
        "/api/items/{id}/prediction/",
        "/api/labels/",
        "/api/labels/{id}/retract/",
        "/api/model-versions/",
        "/api/model-versions/{id}/",
        "/api/overlaps/",
        "/api/overlaps/{id}/",
        "/api/overlaps/{id}/adjudicate/",
        "/api/predictions/",
        "/api/review-assignments/",
        "/api/review-assignments/{id}/",
        "/api/review-quality/",
        "/api/reviewer-reliability/",
        "/api/rules/",
        "/api/rules/{id}/",
        "/api/rules/{id}/preview/",
        "/api/taxonomies/{id}/drafts/",
        "/api/taxonomy-drafts/{id}/add/",
        "/api/taxonomy-drafts/{id}/deprecate/",
        "/api/taxonomy-drafts/{id}/diff/",
        "/api/taxonomy-drafts/{id}/edit/",
        "/api/taxonomy-drafts/{id}/merge/",
        "/api/taxonomy-drafts/{id}/move/",
        "/api/taxonomy-drafts/{id}/publish/",
        "/api/taxonomy-drafts/{id}/rename/",
        "/api/taxonomy-drafts/{id}/split/",
        "/api/taxonomy-versions/",
        "/api/taxonomy-versions/current/",
        "/api/taxonomy-versions/{id}/",
        "/api/taxonomy-versions/{id}/categories/",
        "/api/taxonomy-versions/{id}/guidelines/",
        "/api/taxonomy-versions/{id}/rollback/",
        "/api/token/",
        "/api/tokens/",
        "/api/tokens/{id}/revoke/",
    ]


def test_the_schema_is_served_as_yaml_by_default(db):
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


@pytest.mark.parametrize(
    ("query", "content_type", "start"),
    [({}, "text/plain", b"openapi: 3."), ({"format": "json"}, "application/json", b"{")],
)
def test_a_browser_is_shown_the_schema_instead_of_downloading_it(db, query, content_type, start):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = APIClient().get("/api/schema/", query, headers={"accept": browser})
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type
    assert response["Content-Disposition"].startswith("inline")
    assert response.content.startswith(start)


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("*/*", "application/vnd.oai.openapi"),
        ("application/vnd.oai.openapi+json", "application/vnd.oai.openapi+json"),
        ("application/json", "application/json"),
    ],
)
def test_clients_still_get_the_schema_type_they_ask_for(db, accept, content_type):
    response = APIClient().get("/api/schema/", headers={"accept": accept})
    assert response["Content-Type"].split(";")[0] == content_type


def test_the_schema_names_both_ways_to_authenticate(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": 'Token-based authentication with required prefix "Token"',
    }
    assert schemes["cookieAuth"]["in"] == "cookie"
    assert schema["paths"]["/api/items/"]["get"]["security"] == [
        {"tokenAuth": []},
        {"cookieAuth": []},
    ]


def test_every_protected_operation_documents_its_error_answers(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            expected = {"429"} | ({"401", "403"} if path != "/api/token/" else set())
            expected |= {"404"} if "{id}" in path else set()
            filters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            expected |= {"400"} if method != "get" or filters else set()
            assert expected <= codes, (method, path, codes)


def test_the_bulk_create_documents_its_limit_and_all_or_nothing(schema):
    operation = schema["paths"]["/api/items/bulk/"]["post"]
    rows = schema["components"]["schemas"]["ItemBulkCreateInputRequest"]["properties"]["items"]
    assert (rows["minItems"], rows["maxItems"]) == (1, 1000)
    assert "all or nothing" in operation["description"]
    error = operation["responses"]["400"]["content"]["application/json"]
    too_many = error["examples"]["TooManyRows"]["value"]
    assert too_many == {"items": [BULK_TOO_MANY.format(max_length=1000, count=1001)]}


def test_list_operations_document_their_pagination(schema):
    ok = schema["paths"]["/api/items/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"] == "#/components/schemas/PaginatedItemList"
    page = schema["components"]["schemas"]["PaginatedItemList"]["properties"]
    assert set(page) == {"count", "next", "previous", "results"}
    names = {p["name"] for p in schema["paths"]["/api/items/"]["get"]["parameters"]}
    assert {"limit", "offset", "q", "labelled"} <= names


def test_the_docs_page_is_swagger_ui_reading_the_schema(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "SwaggerUIBundle" in html
    assert '"/api/schema/"' in html
    assert "cdn" not in html.lower()  # served from our static files (sidecar), never a CDN


def test_schema_generation_has_no_warnings(db, tmp_path):
    # The same check as `manage.py spectacular --validate --fail-on-warn`: a warning (an
    # unresolvable field type, a colliding component name) fails it.
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.read_text().startswith("openapi: 3.")
