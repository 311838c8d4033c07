"""Draft operations, diff, publish and rollback through the REST API (TaxonomyAdmin)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.models import TaxonomyOperation, TaxonomyVersion
from labeling.services.taxonomy.drafts import draft_start
from tests.labeling.taxonomy_admin_data import current_paths, keys, label_items, ledger_size


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def labelled(tree):
    return label_items(tree, {"Apparel > Topwear > Shirts": 2, "Apparel > Topwear > Tshirts": 3})


@pytest.fixture
def draft(version, labelled, bob):
    return draft_start(taxonomy=version.taxonomy, author=bob)


def test_an_admin_starts_a_draft(bob, version, tree):
    response = client_for(bob).post(f"/api/taxonomies/{version.taxonomy.pk}/drafts/")
    assert response.status_code == 201
    draft = TaxonomyVersion.objects.get(status="draft")
    assert response.json() == {
        "id": draft.pk,
        "taxonomy": "Shop",
        "number": version.number + 1,
        "status": "draft",
        "is_current": False,
        "based_on": version.pk,
    }


def test_a_reviewer_cannot_edit_a_draft(alice, draft):
    response = client_for(alice).post(
        f"/api/taxonomy-drafts/{draft.pk}/rename/",
        {"key": "apparel", "name": "Clothing"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "This needs the TaxonomyAdmin role."


def test_rename_answers_the_operation_and_the_category(bob, draft):
    before = ledger_size()
    response = client_for(bob).post(
        f"/api/taxonomy-drafts/{draft.pk}/rename/",
        {"key": "apparel", "name": "Clothing"},
        format="json",
    )
    body = response.json()
    assert response.status_code == 201 and body["kind"] == "rename"
    assert body["operation"] == TaxonomyOperation.objects.get().pk
    assert body["categories"][0]["path"] == "Clothing"
    assert keys(draft)["apparel/topwear/shirts"].path == "Clothing > Topwear > Shirts"
    assert ledger_size() == before


def test_a_refused_operation_is_a_400_with_the_services_message(bob, draft):
    response = client_for(bob).post(
        f"/api/taxonomy-drafts/{draft.pk}/deprecate/", {"key": "apparel"}, format="json"
    )
    assert response.status_code == 400
    assert "top-level category" in response.json()["detail"][0]
    response = client_for(bob).post(
        f"/api/taxonomy-drafts/{draft.pk}/split/",
        {"key": "apparel", "names": ["One"]},
        format="json",
    )
    assert response.status_code == 400 and "names" in response.json()


def test_an_unknown_draft_is_a_404(bob, version):
    response = client_for(bob).post(
        f"/api/taxonomy-drafts/{version.pk}/add/", {"name": "X"}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["detail"].startswith(f"Draft {version.pk} not found")


def test_merge_diff_publish_and_rollback_through_the_api(bob, draft, version):
    api = client_for(bob)
    response = api.post(
        f"/api/taxonomy-drafts/{draft.pk}/merge/",
        {"source_keys": ["apparel/topwear/tshirts"], "target_key": "apparel/topwear/shirts"},
        format="json",
    )
    assert response.status_code == 201
    diff = api.get(f"/api/taxonomy-drafts/{draft.pk}/diff/").json()
    assert [(r["kind"], r["key"], r["labels"]) for r in diff] == [
        ("merged", "apparel/topwear/tshirts", 3)
    ]
    before = ledger_size()
    body = api.post(f"/api/taxonomy-drafts/{draft.pk}/publish/").json()
    assert (body["migrated"], body["re_review"], body["version"]["id"]) == (5, 0, draft.pk)
    assert current_paths(draft) == {"Apparel > Topwear > Shirts": 5} and ledger_size() == before + 5
    body = api.post(f"/api/taxonomy-versions/{draft.pk}/rollback/").json()
    assert (body["restored"], body["current"]["id"]) == (5, version.pk)
    assert current_paths(version) == {
        "Apparel > Topwear > Shirts": 2,
        "Apparel > Topwear > Tshirts": 3,
    }


def test_add_move_edit_and_split_through_the_api(bob, draft):
    api = client_for(bob)
    url = f"/api/taxonomy-drafts/{draft.pk}"
    assert (
        api.post(
            f"{url}/add/",
            {"parent_key": "accessories", "name": "Bags", "synonyms": ["handbag"]},
            format="json",
        ).status_code
        == 201
    )
    assert (
        api.post(
            f"{url}/move/", {"key": "accessories/bags", "parent_key": None}, format="json"
        ).status_code
        == 201
    )
    assert (
        api.post(
            f"{url}/edit/",
            {"key": "accessories/bags", "description": "Carry things"},
            format="json",
        ).status_code
        == 201
    )
    body = api.post(
        f"{url}/split/", {"key": "accessories/bags", "names": ["Backpacks", "Totes"]}, format="json"
    ).json()
    assert [c["path"] for c in body["categories"]] == ["Bags > Backpacks", "Bags > Totes"]
    bags = keys(draft)["accessories/bags"]
    assert (bags.path, bags.description, bags.synonyms, bags.is_leaf) == (
        "Bags",
        "Carry things",
        ["handbag"],
        False,
    )
