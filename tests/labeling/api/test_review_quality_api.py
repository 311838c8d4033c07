"""GET /api/review-quality/: the agreement figures of the reviewer-quality page, by role."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from labeling.api.views.review_quality import BAD_DATE
from labeling.services.review.overlap import adjudicate
from tests.labeling.overlap_data import TSHIRTS, make_overlaps


def get(user, query: str = ""):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client.get(f"/api/review-quality/{query}")


@pytest.fixture
def ov(alice, tree):
    """alice and carol: one disputed item (Shirts vs Tshirts), one agreed (Shirts), one open."""
    return make_overlaps(alice, tree)


def test_an_adjudicator_gets_the_teams_figures(alice, tree, ov):
    adjudicate(overlap=ov.disputed, adjudicator=ov.dora, category=tree[TSHIRTS])
    body = get(ov.dora).json()
    assert body["own_view"] is False
    # Two items with two answers: they agree on one of two pairs at the leaf, both at depth 2.
    assert body["overall"]["items"] == 2
    assert body["overall"]["leaf"] == {"hits": 1, "total": 2, "value": 0.5}
    by_depth = {d["depth"]: d["agreement"]["value"] for d in body["overall"]["depths"]}
    assert by_depth[1] == 1.0 and by_depth[2] == 1.0
    rows = {r["username"]: r for r in body["reviewers"]}
    assert set(rows) >= {"alice", "carol"}
    # The adjudicator chose Tshirts: carol's answer on that item agrees, alice's does not.
    assert rows["alice"]["agreement"]["vs_adjudicated"]["value"] == 0.0
    assert rows["carol"]["agreement"]["vs_adjudicated"]["value"] == 1.0
    assert [p["items"] for p in body["pairs"]] == [2]


def test_a_reviewer_gets_only_their_own_figures(alice, tree, ov):
    body = get(alice).json()
    assert body["own_view"] is True and body["overall"] is None
    assert [r["username"] for r in body["reviewers"]] == ["alice"]
    assert "carol" not in str(body)


def test_a_bad_date_is_a_400_naming_the_parameter(alice, ov):
    response = get(alice, "?since=yesterday")
    assert response.status_code == 400
    assert response.json() == {"since": [BAD_DATE]}


def test_the_window_leaves_out_answers_outside_it(ov):
    body = get(ov.dora, "?until=2000-01-01").json()
    assert body["overall"]["items"] == 0


def test_anonymous_and_roleless_callers_are_refused(charlie, ov):
    assert get(None).status_code in (401, 403)
    assert get(charlie).status_code == 403
