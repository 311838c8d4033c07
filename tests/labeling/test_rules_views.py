"""The taxonomy admins' rules pages (issue 17): list, form with live preview, switch, delete."""

from __future__ import annotations

from html import escape

import pytest
from django.test import Client

from labeling.models import Rule
from labeling.services.rules import crud
from tests.labeling.rules_data import SHIRTS, make_catalog, make_rule

LIST = "/taxonomy/rules/"
NEW = "/taxonomy/rules/new/"
FORM = {
    "name": "shirts",
    "action": "assign",
    "category": SHIRTS,
    "reason": "",
    "priority": "10",
    "cond-0-kind": "words",
    "cond-0-field": "title",
    "cond-0-value": "shirt",
}


@pytest.fixture
def as_bob(client, bob, version, tree):
    make_catalog(version, tree)
    client.force_login(bob)
    return client


def test_the_list_shows_each_rule_with_its_state(as_bob, version):
    make_rule(version)
    html = as_bob.get(LIST).content.decode()
    assert "shirts" in html and escape(SHIRTS) in html and "Switch on" in html
    assert "not previewed since its last edit" in html


def test_the_taxonomy_page_links_to_the_rules(as_bob):
    assert 'href="/taxonomy/rules/"' in as_bob.get("/taxonomy/").content.decode()


@pytest.mark.parametrize("persona", ["alice", "charlie"])
def test_someone_without_the_admin_role_is_refused(client, request, persona, version, tree):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(LIST).status_code == 403
    assert client.post(NEW, FORM).status_code == 403
    assert not Rule.objects.exists()


def test_an_anonymous_visitor_is_sent_to_the_login(client, version):
    response = client.get(LIST)
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_a_post_without_the_csrf_token_is_refused(bob, version, tree):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.post(NEW, FORM).status_code == 403


def test_the_wrong_method_gets_405(as_bob, version):
    rule = make_rule(version)
    assert as_bob.get(f"/taxonomy/rules/{rule.pk}/enable/").status_code == 405
    assert as_bob.put(LIST).status_code == 405


def test_saving_stores_the_rule_off_with_its_preview_and_shows_it(as_bob):
    response = as_bob.post(NEW, FORM)
    rule = Rule.objects.get()
    assert response.status_code == 302 and response.url == f"/taxonomy/rules/{rule.pk}/"
    assert not rule.enabled and rule.preview["hits"] == 3 and rule.priority == 10
    html = as_bob.get(response.url).content.decode()
    assert "1 right, 2 wrong" in html and "SKU-linen" in html and "Switch on" in html


def test_preview_evaluates_the_form_as_typed_without_saving(as_bob):
    html = as_bob.post(NEW, FORM | {"preview": "1"}).content.decode()
    assert "Preview of the rule as typed" in html and "3 of 7 items read" in html
    assert not Rule.objects.exists()


def test_the_htmx_preview_renders_the_partial_only(as_bob):
    response = as_bob.post(NEW, FORM | {"preview": "1"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="rule-preview"') and "<html" not in html
    assert "1 right, 2 wrong" in html


def test_a_refused_rule_comes_back_in_the_form_with_the_reason(as_bob):
    response = as_bob.post(NEW, FORM | {"cond-0-kind": "regex", "cond-0-value": "(unclosed"})
    html = response.content.decode()
    assert response.status_code == 400 and "is not a valid regular expression" in html
    assert 'value="(unclosed"' in html and not Rule.objects.exists()


def test_an_admin_switches_a_previewed_rule_on_and_off(as_bob):
    as_bob.post(NEW, FORM)
    rule = Rule.objects.get()
    as_bob.post(f"/taxonomy/rules/{rule.pk}/enable/", {"enabled": "1"})
    rule.refresh_from_db()
    assert rule.enabled
    as_bob.post(f"/taxonomy/rules/{rule.pk}/enable/", {"enabled": "0", "next": "list"})
    rule.refresh_from_db()
    assert not rule.enabled


def test_switching_on_an_unpreviewed_rule_says_why_not(as_bob, version):
    rule = make_rule(version)
    response = as_bob.post(f"/taxonomy/rules/{rule.pk}/enable/", {"enabled": "1"}, follow=True)
    assert crud.PREVIEW_FIRST in response.content.decode()
    rule.refresh_from_db()
    assert not rule.enabled


def test_editing_a_rule_switches_it_off_until_it_is_previewed_again(as_bob):
    as_bob.post(NEW, FORM)
    rule = Rule.objects.get()
    Rule.objects.filter(pk=rule.pk).update(enabled=True)
    as_bob.post(f"/taxonomy/rules/{rule.pk}/", FORM | {"name": "shirts, renamed"})
    rule.refresh_from_db()
    assert (rule.name, rule.enabled, rule.preview["hits"]) == ("shirts, renamed", False, 3)


def test_an_admin_deletes_a_rule(as_bob, version):
    rule = make_rule(version)
    response = as_bob.post(f"/taxonomy/rules/{rule.pk}/delete/")
    assert response.status_code == 302 and not Rule.objects.exists()


def test_an_unknown_rule_is_404(as_bob):
    assert as_bob.get("/taxonomy/rules/999999/").status_code == 404
