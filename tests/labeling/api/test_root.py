"""GET /api/: a JSON index of the endpoints, for reviewers and admins like the rest of the API."""

from __future__ import annotations

from rest_framework.test import APIClient


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_api_root_links_every_endpoint_and_the_docs(alice):
    response = client_for(alice).get("/api/")
    assert response.status_code == 200
    body = response.json()
    assert body["docs"] == "http://testserver/api/docs/"
    assert body["schema"] == "http://testserver/api/schema/"
    assert body["endpoints"]["items"] == "http://testserver/api/items/"
    assert body["endpoints"]["item"] == "http://testserver/api/items/{id}/"
    assert body["endpoints"]["label-retract"] == "http://testserver/api/labels/{id}/retract/"
    assert "not-found" not in body["endpoints"] and "root" not in body["endpoints"]


def test_every_link_of_the_api_root_answers(bob):
    client = client_for(bob)
    links = client.get("/api/").json()["endpoints"].values()
    for link in (url for url in links if "{" not in url):
        assert client.get(link).status_code in (200, 404, 405), link  # 404: no current version


def test_the_api_root_asks_for_credentials_and_a_role(charlie):
    assert APIClient().get("/api/").status_code == 401
    assert client_for(charlie).get("/api/").status_code == 403


def test_the_api_root_is_read_only(alice):
    assert client_for(alice).post("/api/", {}).status_code == 405
