"""Failed logins are locked out per (address, username) by django-axes on every login path:
the login page, the admin's login and the API's token endpoint all go through Django's
``authenticate``. Settings: LOGIN_FAILURE_LIMIT (5) failures, LOGIN_FAILURE_WINDOW_SECONDS."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.utils import timezone
from rest_framework.test import APIClient

from labeling.models import ApiToken
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"  # UserFactory's
WINDOW = timedelta(minutes=10)


@pytest.fixture(autouse=True)
def _ten_minute_window(settings):
    settings.AXES_COOLOFF_TIME = WINDOW  # the limit stays the default, 5


def login(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username: str = "alice", times: int = 5, address: str = "10.0.0.1") -> list[int]:
    return [login(client, username, "wrong", address).status_code for _ in range(times)]


def test_the_settings_come_from_the_login_failure_variables():
    assert settings.AXES_FAILURE_LIMIT == settings.LOGIN_FAILURE_LIMIT == 5
    assert timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS) == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["ip_address", "username"]]


def test_the_fifth_failure_locks_and_says_how_long_to_wait(client, alice):
    codes = fail(client)
    assert codes == [200, 200, 200, 200, 429]  # the form again, with its error; then locked
    locked = login(client, "alice", "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "try again in 10 minutes" in locked.content.decode()
    assert locked["Retry-After"] == "600"


def test_the_right_password_is_refused_during_the_lockout(client, alice):
    fail(client)
    blocked = login(client, "alice", PASSWORD)
    assert blocked.status_code == 429
    assert SESSION_KEY not in client.session


def test_the_lockout_is_per_address_and_per_username(client, alice, bob):
    fail(client, "alice", address="10.0.0.1")
    assert login(client, "bob", PASSWORD, address="10.0.0.1").status_code == 302
    client.logout()
    assert login(client, "alice", PASSWORD, address="10.0.0.2").status_code == 302


def test_the_username_is_counted_case_insensitively(client, alice):
    for name in ("alice", "ALICE", "Alice", "aLICE", "alicE"):
        login(client, name, "wrong")
    assert login(client, "alice", PASSWORD).status_code == 429


def test_a_success_clears_the_count(client, alice):
    fail(client, times=4)
    assert login(client, "alice", PASSWORD).status_code == 302
    client.logout()
    assert fail(client, times=4) == [200] * 4
    assert login(client, "alice", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_window(client, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(client)
    with time_machine.travel(start + WINDOW - timedelta(seconds=1), tick=False):
        waiting = login(client, "alice", PASSWORD)
        assert waiting.status_code == 429 and waiting["Retry-After"] == "1"
    with time_machine.travel(start + WINDOW + timedelta(seconds=1), tick=False):
        assert login(client, "alice", PASSWORD).status_code == 302


def test_attempts_during_the_lockout_do_not_extend_it(client, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(client)
    with time_machine.travel(start + timedelta(minutes=9), tick=False):
        assert login(client, "alice", "wrong").status_code == 429
    with time_machine.travel(start + WINDOW + timedelta(seconds=1), tick=False):
        assert login(client, "alice", PASSWORD).status_code == 302


def test_the_count_is_kept_in_the_database(client, alice):
    fail(client, times=2)
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == (
        "alice",
        "10.0.0.1",
        2,
    )
    assert PASSWORD not in attempt.post_data and "wrong" not in attempt.post_data


def test_the_admin_login_is_locked_by_the_same_count(client, db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    fail(client, "root")
    response = client.post(
        "/admin/login/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_the_api_token_endpoint_is_locked_by_the_same_count_with_a_json_429(client, alice):
    fail(client)
    response = APIClient().post(
        "/api/token/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429
    assert response.json() == {
        "detail": "Too many failed logins for this account from your address; "
        "try again in 10 minutes."
    }
    assert not ApiToken.objects.exists()


def test_failures_on_the_api_token_endpoint_lock_the_login_page_too(client, alice):
    api = APIClient()
    codes = [
        api.post(
            "/api/token/", {"username": "alice", "password": "x"}, REMOTE_ADDR="10.0.0.1"
        ).status_code
        for _ in range(5)
    ]
    assert codes == [400, 400, 400, 400, 429]
    assert login(client, "alice", PASSWORD).status_code == 429


def test_the_login_page_still_works_normally(client, alice):
    assert client.get("/login/").status_code == 200
    wrong = login(client, "alice", "wrong")
    assert "match. Please try again" in wrong.content.decode()
    assert login(client, "alice", PASSWORD).status_code == 302


def test_the_test_clients_login_without_a_request_is_not_refused(client, alice):
    assert client.login(username="alice", password=PASSWORD)
