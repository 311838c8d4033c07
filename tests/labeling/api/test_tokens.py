"""/api/tokens/: list, create and revoke one's own API tokens; what a token may then do."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from labeling.api.authentication import INVALID_TOKEN, TOKEN_EXPIRED, TOKEN_REVOKED
from labeling.api.views.auth import NO_TOKEN_ID, TOKEN_CANNOT_CREATE_TOKENS
from labeling.models import ApiToken
from tests.factories import api_token_for


def session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_creating_a_token_shows_it_once_and_it_authenticates(alice):
    response = session(alice).post(
        "/api/tokens/", {"name": "nightly import", "expires_days": 7}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    row = ApiToken.objects.get(pk=body["id"])
    assert (row.user, row.name, body["prefix"]) == (alice, "nightly import", row.prefix)
    assert body["token"].startswith(row.prefix)
    assert abs(row.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert with_token(body["token"]).get("/api/items/").status_code == 200


def test_the_list_never_shows_a_token(alice):
    token = api_token_for(alice, name="ci")
    response = session(alice).get("/api/tokens/")
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["name"] == "ci" and "token" not in row
    assert token not in response.content.decode()


def test_a_user_may_hold_several_tokens_that_all_work(alice):
    tokens = [api_token_for(alice, name=name) for name in ("ci", "import", "laptop")]
    assert [with_token(t).get("/api/items/").status_code for t in tokens] == [200, 200, 200]
    names = [row["name"] for row in session(alice).get("/api/tokens/").json()["results"]]
    assert sorted(names) == ["ci", "import", "laptop"]


def test_the_list_shows_only_my_live_tokens(alice, bob):
    api_token_for(bob, name="bob's")
    revoked = ApiToken.objects.get(prefix=api_token_for(alice, name="old")[:12])
    revoked.revoked_at = timezone.now()
    revoked.save()
    api_token_for(alice, name="current")
    names = [row["name"] for row in session(alice).get("/api/tokens/").json()["results"]]
    assert names == ["current"]


def test_revoking_a_token_makes_it_a_401_and_leaves_the_others(alice):
    revoked, kept = api_token_for(alice, name="leaked"), api_token_for(alice, name="kept")
    pk = ApiToken.objects.get(name="leaked").pk
    response = with_token(kept).post(f"/api/tokens/{pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    refused = with_token(revoked).get("/api/items/")
    assert (refused.status_code, refused.json()) == (401, {"detail": TOKEN_REVOKED})
    assert with_token(kept).get("/api/items/").status_code == 200


def test_another_user_cannot_revoke_my_token(alice, bob):
    token = api_token_for(alice)
    pk = ApiToken.objects.get(user=alice).pk
    response = session(bob).post(f"/api/tokens/{pk}/revoke/")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": NO_TOKEN_ID.format(value=pk)},
    )
    assert ApiToken.objects.get(pk=pk).revoked_at is None
    assert with_token(token).get("/api/items/").status_code == 200


def test_an_expired_token_is_a_401(alice):
    token = api_token_for(alice, expires_at=timezone.now() + timedelta(days=1))
    assert with_token(token).get("/api/items/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = with_token(token).get("/api/items/")
    assert (response.status_code, response.json()) == (401, {"detail": TOKEN_EXPIRED})


def test_a_token_cannot_create_tokens(alice):
    response = with_token(api_token_for(alice)).post("/api/tokens/", {"name": "x"}, format="json")
    assert (response.status_code, response.json()) == (403, {"detail": TOKEN_CANNOT_CREATE_TOKENS})
    assert ApiToken.objects.count() == 1


def test_creating_needs_a_name_and_a_sane_expiry(alice):
    client = session(alice)
    assert client.post("/api/tokens/", {}, format="json").json() == {
        "name": ["This field is required."]
    }
    blank = client.post("/api/tokens/", {"name": "  "}, format="json")
    assert blank.status_code == 400 and "name" in blank.json()
    zero = client.post("/api/tokens/", {"name": "x", "expires_days": 0}, format="json")
    assert zero.status_code == 400 and "expires_days" in zero.json()
    assert not ApiToken.objects.exists()


def test_using_a_token_records_its_last_use_at_most_once_a_minute(alice):
    token = api_token_for(alice)
    client = with_token(token)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.get("/api/items/")
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        client.get("/api/items/")
    assert ApiToken.objects.get().last_used_at == start
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        client.get("/api/items/")
    assert ApiToken.objects.get().last_used_at == start + timedelta(minutes=2)


def test_a_token_that_matches_no_row_is_a_401(alice):
    token = api_token_for(alice)
    forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")  # same prefix
    response = with_token(forged).get("/api/items/")
    assert (response.status_code, response.json()) == (401, {"detail": INVALID_TOKEN})


@pytest.mark.parametrize(
    ("method", "path"), [("put", "/api/tokens/"), ("get", "/api/tokens/1/revoke/")]
)
def test_other_methods_are_405(alice, method, path):
    assert getattr(session(alice), method)(path).status_code == 405


def test_anonymous_callers_get_401(db):
    assert APIClient().get("/api/tokens/").status_code == 401
    assert APIClient().post("/api/tokens/", {"name": "x"}, format="json").status_code == 401
    assert APIClient().post("/api/tokens/1/revoke/").status_code == 401


def test_the_password_endpoint_takes_a_name_and_an_expiry(alice):
    response = APIClient().post(
        "/api/token/",
        {
            "username": "alice",
            "password": "correct horse battery staple",
            "name": "laptop",
            "expires_days": 1,
        },
        format="json",
    )
    assert response.status_code == 201
    row = ApiToken.objects.get(pk=response.json()["id"])
    assert row.name == "laptop"
    assert abs(row.expires_at - (timezone.now() + timedelta(days=1))) < timedelta(minutes=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        assert with_token(response.json()["token"]).get("/api/items/").status_code == 401
