from __future__ import annotations

from django.urls import reverse

from labeling.services.review.labels import label_create
from tests.factories import ItemFactory


def test_home_shows_the_catalog_counts(client, alice, tree):
    item = ItemFactory()
    ItemFactory()
    label_create(item=item, category=tree["Accessories > Watches"], author=alice, source="review")
    client.force_login(alice)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert response.context["counts"]["items"] == 2
    assert response.context["counts"]["labelled_items"] == 1
    assert b'id="stat-items">2<' in response.content


def test_home_sends_anonymous_visitors_to_the_login_page(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_refuses_a_user_without_a_role(client, charlie):
    client.force_login(charlie)
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert b"Reviewer" in response.content


def test_home_refuses_post(client, alice):
    client.force_login(alice)
    assert client.post(reverse("home")).status_code == 405


def test_logging_in_with_the_right_password_opens_home(client, alice):
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_a_wrong_password_shows_an_error_and_logs_nobody_in(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content
    assert client.get(reverse("home")).status_code == 302


def test_logout_needs_post_and_ends_the_session(client, alice):
    client.force_login(alice)
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302
