"""A reviewer's keys: the settings page (review:keys) saves and checks them, the review page
shows and hands them to review.js, and each reviewer's keys are their own."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from labeling.models import HotkeyMap
from labeling.roles import REVIEWER
from labeling.selectors.hotkeys import HOTKEY_DEFAULTS
from labeling.services.review import hotkeys as svc
from labeling.views import hotkeys as views
from tests.factories import UserFactory
from tests.labeling.review_data import make_queue

KEYS_URL = "/review/keys/"
HTMX = {"HX-Request": "true"}


pytestmark = pytest.mark.usefixtures("fresh_caches")


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def keys(**changed: str) -> dict[str, str]:
    return HOTKEY_DEFAULTS | changed


def page_keys(client) -> dict[str, str]:
    html = client.get("/review/").content.decode()
    start = html.index('<script id="review-hotkeys" type="application/json">')
    return json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])


def test_the_page_lists_every_action_with_its_key(as_alice):
    response = as_alice.get(KEYS_URL)
    html = response.content.decode()
    assert response.status_code == 200 and reverse("review:keys") == KEYS_URL
    for name, key in HOTKEY_DEFAULTS.items():
        assert f'name="{name}" value="{key}"' in html
    assert "csrfmiddlewaretoken" in html and "Back to review" in html


def test_saving_stores_the_keys_and_redirects(as_alice, alice):
    response = as_alice.post(KEYS_URL, keys(skip="k", tree="b"))
    assert response.status_code == 302 and response["Location"] == KEYS_URL
    assert HotkeyMap.objects.get(user=alice).keys == keys(skip="k", tree="b")
    assert views.SAVED in as_alice.get(KEYS_URL).content.decode()


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"skip": ""}, svc.KEY_MISSING.format(action="skip")),
        ({"skip": "ks"}, svc.KEY_NOT_ONE.format(key="ks")),
        ({"skip": "3"}, svc.KEY_FOR_CANDIDATES.format(key="3")),
        ({"skip": "r"}, svc.KEY_FOR_RETRY),
        ({"undo": "s"}, svc.KEY_TWICE.format(key="s", other="skip")),
    ],
)
def test_a_refused_key_is_explained_and_nothing_is_saved(as_alice, changed, message):
    response = as_alice.post(KEYS_URL, keys(**changed))
    html = response.content.decode()
    assert response.status_code == 200 and views.NOT_SAVED in html
    assert escape(message) in html and 'aria-invalid="true"' in html
    assert not HotkeyMap.objects.exists()


def test_back_to_the_defaults(as_alice, alice):
    as_alice.post(KEYS_URL, keys(skip="k"))
    as_alice.post(KEYS_URL, {"reset": "1"})
    assert not HotkeyMap.objects.exists() and page_keys(as_alice) == HOTKEY_DEFAULTS


def test_the_htmx_post_gets_the_form_back_with_its_notice(as_alice):
    html = as_alice.post(KEYS_URL, keys(zoom="x"), headers=HTMX).content.decode().strip()
    assert html.startswith('<form id="hotkey-form"') and "<html" not in html
    assert views.SAVED in html and 'name="zoom" value="x"' in html
    refused = as_alice.post(KEYS_URL, keys(zoom="1"), headers=HTMX).content.decode()
    assert refused.strip().startswith('<form id="hotkey-form"') and views.NOT_SAVED in refused


def test_the_review_page_shows_and_hands_over_the_reviewers_keys(as_alice, version, tree):
    make_queue(version, tree, n=2)
    as_alice.post(KEYS_URL, keys(skip="k", help="h"))
    html = as_alice.get("/review/").content.decode()
    assert page_keys(as_alice) == keys(skip="k", help="h")
    assert '<kbd data-hotkey="skip">k</kbd> Skip' in html
    assert "<dt><kbd>k</kbd></dt><dd>skip</dd>" in html
    assert "<dt><kbd>h</kbd></dt><dd>show or hide the list of keys</dd>" in html
    assert 'id="hotkey-help"' in html and f'href="{KEYS_URL}"' in html


def test_another_reviewers_keys_are_unaffected(as_alice, alice):
    dave = UserFactory(username="dave", roles=[REVIEWER])
    as_alice.post(KEYS_URL, keys(skip="k"))
    other = Client()
    other.force_login(dave)
    assert page_keys(other) == HOTKEY_DEFAULTS
    other.post(KEYS_URL, keys(skip="j"))
    assert page_keys(as_alice)["skip"] == "k" and page_keys(other)["skip"] == "j"


def test_a_csrf_token_is_required(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(KEYS_URL, keys(skip="k")).status_code == 403
    assert not HotkeyMap.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    for method in (client.get, client.post):
        response = method(KEYS_URL)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not HotkeyMap.objects.exists()


def test_a_user_without_a_role_is_refused(client, charlie):
    client.force_login(charlie)
    response = client.post(KEYS_URL, keys(skip="k"))
    assert response.status_code == 403 and not HotkeyMap.objects.exists()


def test_the_wrong_method_is_refused(as_alice):
    assert as_alice.put(KEYS_URL).status_code == 405
    assert as_alice.delete(KEYS_URL).status_code == 405
