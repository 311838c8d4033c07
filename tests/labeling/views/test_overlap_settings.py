"""The taxonomy admins' overlap settings page (issue 16): share, reviewers per item and
adjudication depth of the current taxonomy version."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from labeling.models import TaxonomyVersion
from labeling.roles import ADJUDICATOR
from labeling.services.review.overlap import BAD_REVIEWERS, BAD_SHARE
from labeling.views.overlap_settings import TOO_DEEP
from tests.factories import UserFactory

URL = "/taxonomy/overlap/"
GOOD = {"share": "0.25", "reviewers": "3", "depth": "2"}


@pytest.fixture
def as_bob(client, bob, tree):
    client.force_login(bob)
    return client


def settings_of(version: TaxonomyVersion) -> tuple[float, int, int | None]:
    version.refresh_from_db()
    return version.overlap_share, version.overlap_reviewers, version.adjudication_depth


def test_the_page_shows_the_current_settings(as_bob, version):
    html = as_bob.get(URL).content.decode()
    assert 'name="share" value="0.1"' in html and 'name="reviewers" value="2"' in html
    assert 'name="depth" value=""' in html and 'max="3"' in html


def test_an_admin_saves_the_settings(as_bob, version):
    response = as_bob.post(URL, GOOD)
    assert response.status_code == 302 and response.url == URL
    assert settings_of(version) == (0.25, 3, 2)
    assert "Overlap settings of" in as_bob.get(URL).content.decode()


def test_an_empty_depth_means_the_leaf(as_bob, version):
    version.adjudication_depth = 2
    version.save()
    as_bob.post(URL, GOOD | {"depth": ""})
    assert settings_of(version) == (0.25, 3, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("share", "1.5", BAD_SHARE.format(value="1.5")),
        ("share", "ten", BAD_SHARE.format(value="ten")),
        ("reviewers", "6", BAD_REVIEWERS.format(value="6")),
        ("reviewers", "1", BAD_REVIEWERS.format(value="1")),
    ],
)
def test_a_bad_value_is_refused_with_the_input_kept(as_bob, version, field, value, message):
    response = as_bob.post(URL, GOOD | {field: value})
    html = response.content.decode()
    assert response.status_code == 400 and message.replace("'", "&#x27;") in html
    assert f'name="{field}" value="{value}"' in html
    assert settings_of(version) == (0.1, 2, None)


def test_a_depth_past_the_deepest_level_is_refused(as_bob, version):
    response = as_bob.post(URL, GOOD | {"depth": "4"})
    assert response.status_code == 400
    assert TOO_DEEP.format(deepest=3, version=version, value="4").split(";")[0] in (
        response.content.decode()
    )
    assert settings_of(version) == (0.1, 2, None)


def test_the_taxonomy_index_links_to_the_page(as_bob, version):
    assert f'href="{URL}"' in as_bob.get(reverse("taxonomy:index")).content.decode()


def test_reviewers_adjudicators_and_outsiders_are_refused(client, alice, charlie, version):
    for user in (alice, charlie, UserFactory(username="judy", roles=[ADJUDICATOR])):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert client.post(URL, GOOD).status_code == 403
    assert settings_of(version) == (0.1, 2, None)


def test_anonymous_users_are_sent_to_log_in(client, version):
    assert client.get(URL).url.startswith(reverse("login"))


def test_the_wrong_method_gets_405(as_bob, version):
    assert as_bob.delete(URL).status_code == 405


def test_a_post_without_the_csrf_token_is_refused(bob, version):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.post(URL, GOOD).status_code == 403
    assert settings_of(version) == (0.1, 2, None)
