"""The site's icon: linked from every page and answered at /favicon.ico."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.templatetags.static import static


def test_favicon_ico_sends_the_browser_to_the_static_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static("favicon.ico")
    assert "max-age=86400" in response["Cache-Control"]
    assert finders.find("favicon.ico") is not None


def test_favicon_ico_needs_no_login_and_takes_no_post(client, db):
    assert client.head("/favicon.ico").status_code == 302
    assert client.post("/favicon.ico").status_code == 405


def test_every_page_links_the_svg_icon(client, alice):
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">' in html
    with open(finders.find("favicon.svg")) as icon:
        assert icon.read().startswith("<svg")
