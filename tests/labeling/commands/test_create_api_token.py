"""manage.py create_api_token USERNAME [--rotate]."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.management.commands.create_api_token import UNKNOWN_USER


def create_api_token(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue().strip()


def test_it_prints_a_new_token_for_the_user(alice):
    printed = create_api_token("alice")
    assert printed == Token.objects.get(user=alice).key
    assert len(printed) == 40


def test_it_prints_the_same_token_when_run_again(alice):
    assert create_api_token("alice") == create_api_token("alice")
    assert Token.objects.count() == 1


def test_rotate_replaces_the_token(alice):
    old = create_api_token("alice")
    new = create_api_token("alice", "--rotate")
    assert new != old
    assert list(Token.objects.values_list("key", flat=True)) == [new]


def test_the_printed_token_authenticates_api_calls(alice):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_api_token('alice')}")
    response = client.get("/api/items/")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_it_refuses_an_unknown_username(db):
    with pytest.raises(CommandError) as error:
        create_api_token("mallory")
    assert str(error.value) == UNKNOWN_USER.format(username="mallory")
    assert not Token.objects.exists()
