"""The Reviewer quality page: admins see the team, a reviewer only their own figures."""

from __future__ import annotations

from itertools import count

import pytest
from django.urls import reverse

from labeling.models import ReviewerReliability, TaxonomyVersion
from labeling.services.review.overlap import adjudicate
from labeling.views import review_quality as views
from tests.factories import ItemFactory
from tests.labeling import overlap_data

HTMX = {"HX-Request": "true"}
URL = "/reports/quality/"
SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
_keys = count()


def answer(item, user, category):
    overlap_data.answer(user, item, category)


@pytest.fixture
def overlap(tree, alice, carol, bob):
    """Two items answered by alice and carol: one agreed, one adjudicated."""
    agreed, disputed = ItemFactory(), ItemFactory()
    answer(agreed, alice, tree[SHIRTS])
    answer(agreed, carol, tree[SHIRTS])
    answer(disputed, alice, tree[SHIRTS])
    answer(disputed, carol, tree[TSHIRTS])
    adjudicate(overlap=disputed.overlaps.get(), adjudicator=bob, category=tree[SHIRTS])
    ReviewerReliability.objects.create(
        user=carol, taxonomy_version=tree[SHIRTS].version, accuracy=0.7
    )


def test_the_url_is_the_reports_quality_page():
    assert reverse("reports:quality") == URL


def test_an_admin_sees_every_reviewer_and_the_team(client, bob, overlap):
    client.force_login(bob)
    html = client.get(URL).content.decode()
    assert "alice" in html and "carol" in html and "alice and carol" in html
    assert 'id="quality-overall"' in html and 'id="quality-branches"' in html
    assert "Krippendorff" in html and "Cohen's kappa" in html and "10 minutes" in html
    assert "50% <small" in html  # leaf agreement: 1 of 2 items
    assert "70%" in html and "not estimated yet" in html


def test_a_reviewer_sees_only_their_own_figures(client, alice, overlap):
    client.force_login(alice)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "carol" not in html and "Colleague 1" in html and "alice" in html
    assert 'id="quality-overall"' not in html and 'id="quality-branches"' not in html
    assert [r.username for r in response.context["quality"].reviewers] == ["alice"]
    assert "70%" not in html  # carol's estimated accuracy


def test_the_page_explains_how_to_turn_overlap_on_when_there_is_none(client, bob, tree):
    TaxonomyVersion.objects.filter(pk=tree[SHIRTS].version_id).update(overlap_share=0.25)
    client.force_login(bob)
    html = client.get(URL).content.decode()
    assert 'id="quality-empty"' in html and "No overlap yet" in html
    assert "overlap share" in html and "now 25%" in html
    assert 'id="quality-overall"' not in html


def test_a_window_narrows_the_answers_and_a_bad_date_is_ignored(client, bob, overlap):
    client.force_login(bob)
    html = client.get(URL, {"since": "2000-01-01", "until": "2000-01-31"}).content.decode()
    assert "No overlap yet in this window" in html
    html = client.get(URL, {"since": "yesterday"}).content.decode()
    assert views.BAD_DATE.format(field="since") in html and 'id="quality-overall"' in html


def test_the_htmx_request_gets_only_the_report(client, bob, overlap):
    client.force_login(bob)
    html = client.get(URL, headers=HTMX).content.decode().strip()
    assert html.startswith('<div id="quality-report"') and "<html" not in html
    assert "alice and carol" in html and "50% <small" in html


def test_anonymous_users_go_to_the_login_page(client, version):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_outsider_is_refused(client, charlie, version):
    client.force_login(charlie)
    assert client.get(URL).status_code == 403


def test_the_wrong_method_gets_405(client, alice, version):
    client.force_login(alice)
    assert client.post(URL).status_code == 405


def test_the_reports_navigation_links_to_the_page(client, alice, version):
    client.force_login(alice)
    html = client.get(reverse("reports:confused")).content.decode()
    assert f'href="{URL}"' in html
