"""Overlap answers stay blind in the item's ledger (the selector and its page) while their
overlap is open or disputed: only their author and adjudicators see them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labeling.models import Item
from labeling.roles import is_adjudicator
from labeling.selectors.labels import LedgerViewer, label_list
from labeling.selectors.report_pairs import item_ledger
from tests.labeling.overlap_data import SHIRTS, TSHIRTS, answer, make_overlaps


@pytest.fixture
def ov(alice, tree):
    return make_overlaps(alice, tree)


def reader(user):
    if user is None:
        return None
    return LedgerViewer(user.pk, sees_every_answer=is_adjudicator(user))


def authors(item_id, user):
    ledger = item_ledger(item_id=item_id, viewer=reader(user))
    assert ledger is not None
    return [
        (line.label.author.username if line.label.author else "", line.label.kind)
        for line in ledger.lines
    ]


def test_a_reviewer_sees_only_their_own_answer_to_a_disputed_overlap(ov, alice):
    assert authors(ov.disputed.item_id, alice) == [("alice", "label")]
    assert authors(ov.disputed.item_id, ov.carol) == [("carol", "label")]


def test_adjudicators_and_admins_see_every_answer(ov, bob):
    expected = [("alice", "label"), ("carol", "label")]
    assert authors(ov.disputed.item_id, ov.dora) == authors(ov.disputed.item_id, bob) == expected


def test_without_a_viewer_no_live_answer_is_shown(ov):
    assert authors(ov.disputed.item_id, None) == []
    assert len(authors(ov.agreed.item_id, None)) == 3  # resolved: two answers and the label


def test_a_replaced_answer_and_its_retraction_stay_blind(ov, alice, tree):
    item = Item.objects.get(pk=ov.open.item_id)
    answer(ov.carol, item, tree[TSHIRTS])  # carol answers again: the first is retracted
    assert authors(item.pk, alice) == []
    assert [kind for _, kind in authors(item.pk, ov.carol)] == ["label", "label", "retraction"]


def test_the_ledger_list_hides_them_from_other_reviewers(ov, alice, tree):
    visible = label_list(item_id=ov.disputed.item_id, viewer=reader(alice))
    assert [label.author.username for label in visible] == ["alice"]
    assert {label.category.path for label in label_list(viewer=reader(ov.dora))} == {
        SHIRTS,
        TSHIRTS,
    }


def test_the_item_ledger_page_hides_another_reviewers_live_answer(client, ov, alice):
    client.force_login(alice)
    response = client.get(reverse("reports:item", args=[ov.disputed.item_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "carol" not in html and TSHIRTS not in html
