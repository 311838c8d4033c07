"""API tokens at rest: the database holds no usable secret, and migration 0009 turned DRF's
plain authtoken keys into digests that keep their clients working."""

from __future__ import annotations

import importlib
import secrets
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from rest_framework.test import APIClient

from labeling.models import ApiToken
from tests.factories import api_token_for

migration = importlib.import_module("labeling.migrations.0009_api_tokens")


def status_with(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/items/").status_code


def test_the_database_holds_no_usable_token(alice):
    token = api_token_for(alice)
    row = ApiToken.objects.values().get()
    stored = [str(value) for value in row.values()]
    assert token not in stored
    assert all(status_with(value) == 401 for value in stored)  # a dump cannot log in
    assert status_with(token) == 200


def test_tokens_are_long_random_and_distinct(alice):
    tokens = {api_token_for(alice) for _ in range(20)}
    assert len(tokens) == 20
    assert min(len(t) for t in tokens) >= 4 + 8 + 1 + 43  # tlo_ prefix _ 32 random bytes


# -- migration 0009 ---------------------------------------------------------------------------


@pytest.fixture
def drf_token_table(db):
    """The table DRF's authtoken app left behind, as its migrations created it."""
    created = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created {created} "
            "NOT NULL, user_id bigint NOT NULL)"
        )
    MigrationRecorder(connection).record_applied("authtoken", "0001_initial")
    return connection


def insert_drf_token(user) -> str:
    key = secrets.token_hex(20)
    when = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [key, when, user.pk])
    return key


def run_migration() -> None:
    migration.hash_drf_tokens(apps, SimpleNamespace(connection=connection))


def test_the_migration_hashes_drf_tokens_and_their_clients_keep_working(
    drf_token_table, alice, bob
):
    keys = {user.username: insert_drf_token(user) for user in (alice, bob)}
    run_migration()
    rows = ApiToken.objects.order_by("user__username")
    assert [(r.user.username, r.name, r.prefix) for r in rows] == [
        ("alice", "legacy token", keys["alice"][:8]),
        ("bob", "legacy token", keys["bob"][:8]),
    ]
    assert not {r.digest for r in rows} & set(keys.values())
    assert [status_with(keys["alice"]), status_with(keys["bob"])] == [200, 200]


def test_the_migration_drops_the_plain_tokens_and_authtokens_migrations(drf_token_table, alice):
    insert_drf_token(alice)
    run_migration()
    assert "authtoken_token" not in connection.introspection.table_names()
    assert not MigrationRecorder(connection).migration_qs.filter(app="authtoken").exists()


def test_the_migration_does_nothing_without_a_drf_token_table(alice):
    run_migration()
    assert not ApiToken.objects.exists()
