"""manage.py create_api_token USERNAME [--name N] [--expires-days D] [--rotate], and
list_api_tokens / revoke_api_tokens."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from labeling.management.commands.create_api_token import DEFAULT_NAME, UNKNOWN_USER
from labeling.management.commands.revoke_api_tokens import SAY_WHICH
from labeling.models import ApiToken
from labeling.models.tokens import token_prefix


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue().strip()


def create_api_token(*args: str) -> str:
    return run("create_api_token", *args)


def answers(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/items/").status_code


def test_it_prints_a_new_token_and_stores_only_its_digest(alice):
    printed = create_api_token("alice")
    row = ApiToken.objects.get(user=alice)
    assert printed.startswith("tlo_") and len(printed) > 40
    assert (row.name, row.prefix, row.expires_at) == (DEFAULT_NAME, token_prefix(printed), None)
    assert printed not in (row.digest, row.prefix)


def test_each_run_creates_another_token_and_both_work(alice):
    first, second = create_api_token("alice"), create_api_token("alice")
    assert first != second
    assert ApiToken.objects.filter(user=alice).count() == 2
    assert (answers(first), answers(second)) == (200, 200)


def test_name_and_expiry_are_stored(alice):
    create_api_token("alice", "--name", "nightly import", "--expires-days", "30")
    row = ApiToken.objects.get(user=alice)
    assert row.name == "nightly import"
    assert abs(row.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_rotate_revokes_the_tokens_with_that_name_only(alice):
    old = create_api_token("alice", "--name", "ci")
    other = create_api_token("alice", "--name", "import")
    new = create_api_token("alice", "--name", "ci", "--rotate")
    assert (answers(old), answers(other), answers(new)) == (401, 200, 200)


def test_the_printed_token_authenticates_api_calls(alice):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_api_token('alice')}")
    response = client.get("/api/items/")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_it_refuses_an_unknown_username_or_a_bad_expiry(alice):
    with pytest.raises(CommandError) as error:
        create_api_token("mallory")
    assert str(error.value) == UNKNOWN_USER.format(username="mallory")
    with pytest.raises(CommandError):
        create_api_token("alice", "--expires-days", "0")
    assert not ApiToken.objects.exists()


def test_list_shows_prefixes_and_names_never_tokens(alice):
    token = create_api_token("alice", "--name", "ci")
    listed = run("list_api_tokens", "alice")
    assert token_prefix(token) in listed and "\tci\t" in listed
    assert token not in listed


def test_revoke_by_prefix_revokes_that_token_only(alice):
    leaked, kept = create_api_token("alice"), create_api_token("alice")
    assert run("revoke_api_tokens", "alice", "--prefix", token_prefix(leaked)) == (
        "Revoked 1 token(s) of alice."
    )
    assert (answers(leaked), answers(kept)) == (401, 200)


def test_revoke_needs_to_be_told_which_tokens(alice):
    create_api_token("alice")
    with pytest.raises(CommandError) as error:
        run("revoke_api_tokens", "alice")
    assert str(error.value) == SAY_WHICH
    run("revoke_api_tokens", "alice", "--all")
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
