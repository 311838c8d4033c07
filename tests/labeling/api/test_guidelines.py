"""Guidelines over the REST API (issue 16): reviewers read a version's and a category's (the
Markdown and its safe HTML), taxonomy admins write them; documented in the OpenAPI schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.models import Guideline, TaxonomyOperation
from labeling.services.taxonomy.guidelines import GUIDELINE_MAX_CHARS, guideline_set
from tests.factories import api_token_for

SHIRTS = "Apparel > Topwear > Shirts"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def url(category) -> str:
    return f"/api/categories/{category.pk}/guideline/"


@pytest.fixture
def guided(tree, bob):
    guideline_set(category=tree[SHIRTS], text="Collared. <script>x()</script>", author=bob)
    guideline_set(category=tree["Accessories"], text="Worn, not *used*.", author=bob)
    return tree


def test_a_reviewer_lists_a_versions_guidelines_in_path_order(alice, version, guided):
    response = client_for(alice).get(f"/api/taxonomy-versions/{version.pk}/guidelines/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["category"]["path"] for r in rows] == ["Accessories", SHIRTS]
    assert rows[0]["html"] == "<p>Worn, not <em>used</em>.</p>\n"
    assert rows[1]["text"] == "Collared. <script>x()</script>"
    assert "<script>" not in rows[1]["html"] and rows[1]["updated_by"] == "bob"


def test_a_reviewer_reads_one_categorys_guideline(alice, guided):
    body = client_for(alice).get(url(guided[SHIRTS])).json()
    assert body["category"]["key"] == "apparel/topwear/shirts"
    assert body["html"].startswith("<p>Collared. &lt;script&gt;")


def test_a_category_without_a_guideline_or_unknown_is_a_404(alice, guided):
    client = client_for(alice)
    assert client.get(url(guided["Footwear"])).json() == {
        "detail": f"Category {guided['Footwear'].pk} has no guideline."
    }
    assert client.get("/api/categories/999999/guideline/").status_code == 404
    assert client.get("/api/taxonomy-versions/999999/guidelines/").status_code == 404


def test_an_admin_writes_and_clears_a_guideline(bob, tree):
    client = client_for(bob)
    response = client.put(url(tree[SHIRTS]), {"text": "**Buttoned**."}, format="json")
    assert response.status_code == 200
    assert response.json()["html"] == "<p><strong>Buttoned</strong>.</p>\n"
    assert TaxonomyOperation.objects.filter(kind="guideline").count() == 1
    assert client.put(url(tree[SHIRTS]), {"text": ""}, format="json").status_code == 204
    assert not Guideline.objects.exists()


def test_a_reviewer_cannot_write_a_guideline(alice, tree):
    response = client_for(alice).put(url(tree[SHIRTS]), {"text": "mine"}, format="json")
    assert response.status_code == 403 and not Guideline.objects.exists()
    assert APIClient().put(url(tree[SHIRTS]), {"text": "x"}, format="json").status_code == 401


def test_too_long_a_guideline_is_a_400_naming_text(bob, tree):
    text = "z" * (GUIDELINE_MAX_CHARS + 1)
    response = client_for(bob).put(url(tree[SHIRTS]), {"text": text}, format="json")
    assert response.status_code == 400
    assert "10,001 characters long" in response.json()["text"][0]


def test_the_schema_documents_the_guideline_endpoints(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    member = schema["paths"]["/api/categories/{id}/guideline/"]
    assert set(member) >= {"get", "put"} and "204" in member["put"]["responses"]
    assert "get" in schema["paths"]["/api/taxonomy-versions/{id}/guidelines/"]
