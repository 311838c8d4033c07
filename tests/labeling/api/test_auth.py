"""Authentication (session with CSRF, token), role checks on every operation, 405s, throttles."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from labeling.api.permissions import REVIEWER_REQUIRED, TAXONOMY_ADMIN_REQUIRED
from labeling.api.views.overlaps import ADJUDICATOR_REQUIRED, REVIEWER_OR_ADJUDICATOR_REQUIRED
from labeling.models import ApiToken, Item, Label
from tests.factories import ItemFactory, api_token_for

PASSWORD = "correct horse battery staple"  # UserFactory's
CSRF_SECRET = "abcdefghijklmnopqrstuvwxyzABCDEF"  # any 32 letters are a valid CSRF secret
WRITE_METHODS = ("post", "put", "patch", "delete")


def schema_operations() -> list[tuple[str, str]]:
    """(path, method) of every operation in the published schema, ``{id}`` filled with 1."""
    paths = APIClient().get("/api/schema/", {"format": "json"}).json()["paths"]
    return [
        (path.replace("{id}", "1"), method)
        for path, operations in paths.items()
        for method in operations
        if method in ("get", *WRITE_METHODS)
    ]


def call(client: APIClient, method: str, path: str):
    return getattr(client, method)(path, {}, format="json") if method != "get" else client.get(path)


def with_rates(**rates: str):
    """override_settings with some throttle rates changed (scope names use dashes)."""
    merged = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}
    merged.update({scope.replace("_", "-"): rate for scope, rate in rates.items()})
    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": merged}
    )


@pytest.fixture
def label_payload(tree):
    item = ItemFactory(external_id="SKU-1")
    return {"item": item.pk, "category": tree["Apparel > Topwear > Shirts"].pk}


def test_every_operation_refuses_anonymous_callers_with_401_and_a_token_challenge(db):
    operations = [op for op in schema_operations() if op[0] != "/api/token/"]
    # so that a schema that lost its paths cannot pass (38: review assignments' list, put,
    # get and delete; 43: overlaps' list, detail and adjudicate, reviewer reliability and
    # review quality; 44: the catalog; 51: rules' list, create, get, put, patch, delete and
    # preview)
    assert len(operations) == 51
    for path, method in operations:
        response = call(APIClient(), method, path)
        assert response.status_code == 401, (method, path)
        assert response["WWW-Authenticate"] == "Token"
    assert not Item.objects.exists() and not Label.objects.exists()


def test_every_operation_refuses_a_user_without_a_role_with_403(charlie):
    client = APIClient()
    client.force_login(charlie)
    for path, method in schema_operations():
        if path.startswith("/api/token"):  # getting and managing one's tokens needs no role
            continue
        response = call(client, method, path)
        assert response.status_code == 403, (method, path)
        assert response.json()["detail"] in (
            REVIEWER_REQUIRED,
            TAXONOMY_ADMIN_REQUIRED,
            REVIEWER_OR_ADJUDICATOR_REQUIRED,
            ADJUDICATOR_REQUIRED,
        )
    assert not Item.objects.exists() and not Label.objects.exists()


def test_every_url_answers_an_unsupported_method_with_405(db, django_user_model):
    client = APIClient()
    client.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "x"))
    by_path: dict[str, set[str]] = {}
    for path, method in schema_operations():
        by_path.setdefault(path, set()).add(method)
    for path, methods in by_path.items():
        unsupported = next(m for m in ("delete", "put", "patch", "post") if m not in methods)
        response = call(client, unsupported, path)
        assert response.status_code == 405, (unsupported, path)
        assert response.json() == {"detail": f'Method "{unsupported.upper()}" not allowed.'}


def test_session_auth_refuses_an_unsafe_request_without_csrf_token(alice, label_payload):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/api/labels/", label_payload, format="json")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert not Label.objects.exists()
    assert client.get("/api/labels/").status_code == 200  # safe methods need no token


def test_session_auth_accepts_an_unsafe_request_with_csrf_token(alice, label_payload):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    response = client.post(
        "/api/labels/", label_payload, format="json", HTTP_X_CSRFTOKEN=CSRF_SECRET
    )
    assert response.status_code == 201
    assert Label.objects.get().author == alice


def test_token_auth_needs_no_csrf_token(alice, label_payload):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(alice)}")
    response = client.post("/api/labels/", label_payload, format="json")
    assert response.status_code == 201
    label = Label.objects.get()
    assert (label.author, label.source) == (alice, "api")


def test_an_unknown_token_is_a_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get("/api/items/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_the_token_of_a_user_without_a_role_is_refused_with_403(charlie):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(charlie)}")
    response = client.get("/api/items/")
    assert response.status_code == 403
    assert response.json() == {"detail": REVIEWER_REQUIRED}


def test_the_token_of_a_deactivated_user_is_refused(alice):
    key = api_token_for(alice)
    alice.is_active = False
    alice.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/items/").json() == {"detail": "User inactive or deleted."}


def test_the_token_endpoint_trades_a_password_for_a_new_token(alice):
    response = APIClient().post(
        "/api/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    token = response.json()["token"]
    row = ApiToken.objects.get(user=alice)
    assert (row.pk, row.name, row.expires_at) == (response.json()["id"], "password login", None)
    assert row.digest != token and token not in (row.digest, row.prefix)
    again = APIClient().post(
        "/api/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert again.json()["token"] != token  # stored hashed: each call makes a new one
    for key in (token, again.json()["token"]):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert client.get("/api/items/").status_code == 200


def test_the_token_endpoint_refuses_a_wrong_password_or_a_missing_field(alice):
    wrong = APIClient().post(
        "/api/token/", {"username": "alice", "password": "nope"}, format="json"
    )
    assert wrong.status_code == 400
    assert wrong.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    missing = APIClient().post("/api/token/", {"username": "alice"}, format="json")
    assert missing.json() == {"password": ["This field is required."]}
    assert not ApiToken.objects.exists()
    assert APIClient().get("/api/token/").status_code == 405


def test_password_guessing_is_throttled_per_address(alice):
    with with_rates(login="2/min"):
        codes = [
            APIClient()
            .post("/api/token/", {"username": "alice", "password": "x"}, format="json")
            .status_code
            for _ in range(3)
        ]
        right = APIClient().post(
            "/api/token/", {"username": "alice", "password": PASSWORD}, format="json"
        )
    assert codes == [400, 400, 429]
    assert right.status_code == 429  # even the right password waits
    assert right.json()["detail"].startswith("Request was throttled.")


def test_bulk_creates_are_throttled_by_their_own_scope(bob):
    client = APIClient()
    client.force_login(bob)
    with with_rates(items_bulk="1/min"):
        first = client.post(
            "/api/items/bulk/", {"items": [{"external_id": "A", "title": "a"}]}, format="json"
        )
        second = client.post(
            "/api/items/bulk/", {"items": [{"external_id": "B", "title": "b"}]}, format="json"
        )
        single = client.post("/api/items/", {"external_id": "C", "title": "c"}, format="json")
    assert (first.status_code, second.status_code, single.status_code) == (201, 429, 201)
    assert sorted(Item.objects.values_list("external_id", flat=True)) == ["A", "C"]


def test_label_writes_are_throttled_per_user(alice, bob, label_payload):
    alice_client, bob_client = APIClient(), APIClient()
    alice_client.force_login(alice)
    bob_client.force_login(bob)
    with with_rates(labels_write="1/min"):
        codes = [
            alice_client.post("/api/labels/", label_payload, format="json").status_code
            for _ in range(2)
        ]
        bob_code = bob_client.post("/api/labels/", label_payload, format="json").status_code
    assert (codes, bob_code) == ([201, 429], 201)
    assert sorted(Label.objects.values_list("author__username", flat=True)) == ["alice", "bob"]
