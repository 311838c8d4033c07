"""Failed logins are counted per (address, username) on every login path: the login page,
the admin's login and the API's token endpoint all go through one authentication backend."""

from __future__ import annotations

import time

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from rest_framework.test import APIClient

from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"  # UserFactory's


@pytest.fixture(autouse=True)
def _three_failures(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600


def login(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_right_password_is_refused_with_429_after_too_many_failures(client, alice):
    codes = [login(client, "alice", "wrong").status_code for _ in range(3)]
    blocked = login(client, "alice", PASSWORD)
    assert codes == [200, 200, 200]  # the form again, with its error
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.content.decode()
    assert "try again in 10 minute(s)" in blocked.content.decode()
    assert SESSION_KEY not in client.session


def test_the_count_is_per_address_and_per_username(client, alice, bob):
    for _ in range(3):
        login(client, "alice", "wrong", address="10.0.0.1")
    assert login(client, "bob", PASSWORD, address="10.0.0.1").status_code == 302
    client.logout()
    assert login(client, "alice", PASSWORD, address="10.0.0.2").status_code == 302


def test_the_username_is_counted_case_insensitively(client, alice):
    for name in ("alice", "ALICE", "Alice"):
        login(client, name, "wrong")
    assert login(client, "alice", PASSWORD).status_code == 429


def test_a_success_clears_the_count(client, alice):
    for _ in range(2):
        login(client, "alice", "wrong")
    assert login(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        login(client, "alice", "wrong")
    assert login(client, "alice", PASSWORD).status_code == 302


def test_the_window_ends(client, alice):
    for _ in range(3):
        login(client, "alice", "wrong")
    assert login(client, "alice", PASSWORD).status_code == 429
    with time_machine.travel(time.time() + 601):  # the cache entry expires with the window
        assert login(client, "alice", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_by_the_same_count(client, db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    for _ in range(3):
        login(client, "root", "wrong")
    response = client.post(
        "/admin/login/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 200  # the admin shows its form again
    assert SESSION_KEY not in client.session


def test_the_api_token_endpoint_is_throttled_by_the_same_count(alice):
    client = APIClient()
    for _ in range(3):
        client.post("/api/token/", {"username": "alice", "password": "x"}, REMOTE_ADDR="10.0.0.1")
    response = client.post(
        "/api/token/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 400
    assert "token" not in response.json()


def test_the_login_page_still_works_normally(client, alice):
    assert client.get("/login/").status_code == 200
    wrong = login(client, "alice", "wrong")
    assert "match. Please try again" in wrong.content.decode()
    assert login(client, "alice", PASSWORD).status_code == 302
