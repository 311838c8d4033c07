"""Review assignments over the REST API (issue 16): taxonomy admins list, read, create or
replace and delete them for a reviewer or a group; reviewers are refused; bad reasons and
categories are 400s naming the field with the service's message; documented in the schema."""

from __future__ import annotations

from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from labeling.models import ReviewAssignment
from labeling.services.review.assignments import (
    ASSIGNMENT_NO_TARGET,
    ASSIGNMENT_UNKNOWN_CATEGORY,
    ASSIGNMENT_UNKNOWN_REASON,
    assignment_set,
)
from tests.factories import UserFactory, api_token_for

URL = "/api/review-assignments/"
TOPWEAR = "Apparel > Topwear"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def test_an_admin_creates_replaces_lists_and_deletes_a_reviewers_assignment(bob, alice, tree):
    client = client_for(bob)
    body = {"user": alice.pk, "categories": [TOPWEAR, "footwear"], "reasons": ["novel"]}
    created = client.put(URL, body, format="json")
    assert created.status_code == 201, created.json()
    row = created.json()
    assert row["user"] == {"id": alice.pk, "username": "alice"} and row["group"] is None
    assert row["categories"] == [
        {"key": tree[TOPWEAR].key, "path": TOPWEAR, "stale": False},
        {"key": "footwear", "path": "Footwear", "stale": False},
    ]
    assert row["reasons"] == ["novel"]

    replaced = client.put(URL, {"user": alice.pk, "reasons": ["audit"]}, format="json")
    assert replaced.status_code == 200
    assert replaced.json()["id"] == row["id"]
    assert replaced.json()["categories"] == [] and replaced.json()["reasons"] == ["audit"]
    assert ReviewAssignment.objects.count() == 1

    listed = client.get(URL).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == row["id"]
    assert client.get(f"{URL}{row['id']}/").json()["reasons"] == ["audit"]

    assert client.delete(f"{URL}{row['id']}/").status_code == 204
    assert not ReviewAssignment.objects.exists()
    assert client.get(f"{URL}{row['id']}/").status_code == 404
    assert client.delete(f"{URL}{row['id']}/").status_code == 404


def test_a_key_gone_from_the_current_version_is_shown_stale(bob, alice, tree):
    assignment = ReviewAssignment.objects.create(user=alice, category_keys=["gone", "footwear"])
    rows = client_for(bob).get(URL).json()["results"]
    assert rows[0]["id"] == assignment.pk
    assert rows[0]["categories"] == [
        {"key": "gone", "path": None, "stale": True},
        {"key": "footwear", "path": "Footwear", "stale": False},
    ]


def test_a_group_assignment(bob, tree):
    group = Group.objects.create(name="night shift")
    member = UserFactory(username="erin")
    member.groups.add(group)
    response = client_for(bob).put(
        URL, {"group": group.pk, "categories": ["Footwear"]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["group"] == {"id": group.pk, "name": "night shift"}
    assert response.json()["user"] is None
    assert ReviewAssignment.objects.get(group=group).category_keys == ["footwear"]


def test_a_reviewer_is_refused_and_an_anonymous_caller_asked_to_log_in(alice, tree):
    assignment = assignment_set(user=alice, reasons=["audit"])
    client = client_for(alice)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{assignment.pk}/").status_code == 403
    assert client.put(URL, {"user": alice.pk}, format="json").status_code == 403
    assert client.delete(f"{URL}{assignment.pk}/").status_code == 403
    assert APIClient().get(URL).status_code == 401
    assert ReviewAssignment.objects.get().reasons == ["audit"]


def test_an_unknown_reason_is_a_400_naming_reasons(bob, alice, tree):
    response = client_for(bob).put(
        URL, {"user": alice.pk, "reasons": ["novel", "bored"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"reasons": [ASSIGNMENT_UNKNOWN_REASON.format(names="bored")]}
    assert not ReviewAssignment.objects.exists()


def test_an_unknown_category_is_a_400_naming_categories(bob, alice, tree):
    body = {"user": alice.pk, "categories": ["Apparel > Hats"]}
    response = client_for(bob).put(URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "categories": [ASSIGNMENT_UNKNOWN_CATEGORY.format(name="Apparel > Hats")]
    }
    assert not ReviewAssignment.objects.exists()


def test_a_missing_or_unknown_target_is_a_400(bob, alice, tree):
    client = client_for(bob)
    group = Group.objects.create(name="g")
    neither = client.put(URL, {"reasons": ["audit"]}, format="json")
    assert neither.json() == {"non_field_errors": [ASSIGNMENT_NO_TARGET]}
    both = client.put(URL, {"user": alice.pk, "group": group.pk}, format="json")
    assert both.json() == {"non_field_errors": [ASSIGNMENT_NO_TARGET]}
    assert client.put(URL, {"user": 999999}, format="json").json() == {
        "user": ["User 999999 not found."]
    }
    assert client.put(URL, {"group": 999999}, format="json").status_code == 400
    assert not ReviewAssignment.objects.exists()


def test_the_schema_documents_the_assignment_paths(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    collection, member = schema["paths"][URL], schema["paths"][URL + "{id}/"]
    assert set(collection) == {"get", "put"} and set(member) == {"get", "delete"}
    assert "exactly one of them" in collection["put"]["description"]
    assert collection["put"]["requestBody"]["content"]["application/json"]["examples"]
    assert set(collection["put"]["responses"]) >= {"200", "201", "400", "401", "403"}


def test_a_bad_string_in_a_list_is_one_flat_message_naming_its_place(bob, alice, tree):
    # DRF would nest it by index ({"1": [...]}), which the documented 400 does not allow.
    body = {"user": alice.pk, "reasons": ["audit", "bad\x00"]}
    response = client_for(bob).put(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["reasons"] == ["item 1: Null characters are not allowed."]
