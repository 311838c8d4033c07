"""The auto-accept section of the dashboard and the target precision on the review and
auto-accept settings page (issue 17)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from labeling.models import TaxonomyVersion
from labeling.services.learning.auto_accept_settings import BAD_TARGET
from labeling.services.review.overlap import BAD_SHARE
from labeling.views import dashboard_auto_accept as views
from labeling.views.overlap_settings import TARGET_SAVED
from tests.labeling.auto_accept_data import (
    SHIRTS,
    certification,
    certified_model,
    predict,
    snapshot,
)

DASHBOARD = "/dashboard/"
SETTINGS = "/taxonomy/overlap/"
GOOD = {"share": "0.1", "reviewers": "2", "depth": "", "target": "0.95"}


@pytest.fixture
def active(version, tree):
    """The active model, certified at 0.99, its job's snapshot written; four predictions."""
    mv = certified_model(
        version, "active", 2000, certification(tree, catalog=snapshot(1000, 400, {3: 400}))
    )
    for status, at in [
        ("labelled", None),
        ("auto_accepted", SHIRTS),
        ("auto_accepted", SHIRTS),
        ("needs_review", None),
    ]:
        predict(mv, tree, status, at)
    return mv


def page(client: Client, user) -> str:
    client.force_login(user)
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    return response.content.decode()


def rows(html: str, table_id: str) -> list[list[str]]:
    start = html.index(f'id="{table_id}"')
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.split("<tr>")[1:]]


def target_of(version: TaxonomyVersion) -> float | None:
    version.refresh_from_db()
    return version.target_precision


# -- the dashboard -----------------------------------------------------------------------------


def test_the_dashboard_shows_the_target_and_the_catalog_status_now(client, alice, active):
    html = page(client, alice)
    assert 'id="auto-accept"' in html and "Target precision <strong>0.99</strong>" in html
    assert rows(html, "table-catalog-status") == [
        ["labelled", "1", "25.0%"],
        ["auto-accepted", "2", "50.0%"],
        ["… at depth 3", "2", "50.0%"],
        ["needs review", "1", "25.0%"],
    ]
    assert rows(html, "table-auto-accepted-by-depth") == [["depth 3", "2", "50.0%", "100.0%"]]
    assert 'id="chart-catalog-status"' in html and "auto-accepted · share: 50%" in html


def test_each_top_level_branch_shows_its_audit_precision_and_bound(client, alice, active):
    html = page(client, alice)
    assert rows(html, "table-auto-accept-branches") == [
        ["Apparel", "480", "1", "99.79%", "99.01%"],
        ["Footwear", "0", "0", "—", "—"],
    ]
    assert f"Model #{active.pk} certified on 2026-03-10 12:00 at target 0.99" in html


def test_nodes_short_of_audit_labels_are_listed_with_what_the_queue_asks_for(client, alice, active):
    html = page(client, alice)
    assert rows(html, "table-auto-accept-needs") == [
        ["Footwear", "120", "946", "8260", "no"],
        ["Accessories", "40", "946", "27000", "yes"],
    ]
    assert "up to 50% of the queue" in html
    assert '<strong id="auto-accept-wanted">8260</strong> more' in html


def test_the_history_shows_each_certified_model_by_labels(client, alice, version, tree, active):
    early = certified_model(
        version,
        "retired",
        500,
        certification(tree, root_bound=None, catalog=snapshot(1000, 50, {3: 50})),
    )
    html = page(client, alice)
    assert rows(html, "table-auto-accept-history") == [
        [f"#{early.pk}", "retired", "500", "1200", "0.99", "5.0%", "5.0%", "—", "1"],
        [f"#{active.pk}", "active", "2000", "1200", "0.99", "40.0%", "40.0%", "99.05%", "2"],
    ]
    assert "auto-accepted at 2000 labels: 40.0%" in html
    assert "catch-all bound at 2000 labels: 99.1%" in html


def test_with_auto_accept_off_the_section_says_so(client, alice, version, tree):
    version.target_precision = None
    version.save()
    certified_model(version, "active", 10, {"target": None, "certified_at": "2026-03-10T12:00:00"})
    html = page(client, alice)
    assert "Auto-accept is <strong>off</strong>" in html
    assert views.AUTO_ACCEPT_OFF in html and views.NOTHING_SCORED in html
    assert html.count("Auto-accept was off when the model was certified.") == 2


def test_a_target_changed_since_the_certification_waits_for_the_next_rescore(
    client, alice, version, active
):
    version.target_precision = 0.95
    version.save()
    html = page(client, alice)
    assert views.NEW_TARGET.format(pk=active.pk, old="0.99", new="0.95") in html


def test_a_model_not_certified_yet_is_said(client, alice, version, tree):
    mv = certified_model(version, "active", 10, None)
    html = page(client, alice)
    assert views.NOT_CERTIFIED.format(pk=mv.pk) in html and views.NOTHING_CERTIFIED in html


def test_only_a_taxonomy_admin_gets_the_link_to_change_the_target(client, alice, bob, active):
    assert f'href="{SETTINGS}">Change the target' not in page(client, alice)
    assert f'href="{SETTINGS}">Change the target' in page(client, bob)


def test_an_outsider_gets_no_dashboard(client, charlie, active):
    client.force_login(charlie)
    assert client.get(DASHBOARD).status_code == 403


def test_the_dashboard_refuses_post(client, alice, active):
    client.force_login(alice)
    assert client.post(DASHBOARD).status_code == 405


# -- the target precision setting ------------------------------------------------------------


@pytest.fixture
def as_bob(client, bob, tree):
    client.force_login(bob)
    return client


def test_the_settings_page_shows_the_target(as_bob, version):
    html = as_bob.get(SETTINGS).content.decode()
    assert "<h1>Review and auto-accept settings" in html
    assert 'name="target" value="0.99"' in html and "next rescore" in html


def test_an_admin_sets_the_target(as_bob, version):
    response = as_bob.post(SETTINGS, GOOD)
    assert response.status_code == 302 and target_of(version) == 0.95
    html = as_bob.get(SETTINGS).content.decode()
    assert TARGET_SAVED.format(version=version, target=0.95) in html


def test_an_empty_target_turns_auto_accept_off(as_bob, version):
    as_bob.post(SETTINGS, GOOD | {"target": ""})
    assert target_of(version) is None
    assert 'name="target" value=""' in as_bob.get(SETTINGS).content.decode()


def test_a_form_without_the_target_leaves_it_as_it_is(as_bob, version):
    as_bob.post(SETTINGS, {k: v for k, v in GOOD.items() if k != "target"})
    assert target_of(version) == 0.99


@pytest.mark.parametrize("value", ["1", "0.4", "99", "abc", "nan"])
def test_a_bad_target_is_refused_with_the_input_kept_and_nothing_saved(as_bob, version, value):
    response = as_bob.post(SETTINGS, GOOD | {"share": "0.3", "target": value})
    html = response.content.decode()
    assert response.status_code == 400
    assert BAD_TARGET.format(value=value).replace("'", "&#x27;") in html
    assert f'name="target" value="{value}"' in html and 'name="share" value="0.3"' in html
    version.refresh_from_db()
    assert (version.target_precision, version.overlap_share) == (0.99, 0.1)


def test_a_bad_overlap_value_leaves_the_target_unsaved(as_bob, version):
    response = as_bob.post(SETTINGS, GOOD | {"share": "2"})
    assert response.status_code == 400 and target_of(version) == 0.99
    assert BAD_SHARE.format(value="2").replace("'", "&#x27;") in response.content.decode()


def test_a_reviewer_cannot_set_the_target(client, alice, version):
    client.force_login(alice)
    assert client.post(SETTINGS, GOOD).status_code == 403
    assert target_of(version) == 0.99


def test_the_settings_page_refuses_the_wrong_method(as_bob, version):
    assert as_bob.put(SETTINGS, GOOD).status_code == 405


def test_setting_the_target_needs_the_csrf_token(bob, version):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.post(SETTINGS, GOOD).status_code == 403
    assert target_of(version) == 0.99
