"""Reviewer quality: agreement figures checked against numbers worked out by hand.

The team (``team`` fixture), in the shop's small tree, times from T0:

    item   alice             carol             outcome
    1      Shirts    (+0s)   Shirts    (+5s)   agreed Shirts
    2      Shirts*   (+20s)  Tshirts   (+30s)  disputed, bob adjudicates Tshirts (+200s)
    3      Jeans*    (+60s)  Jeans*    (+100s) agreed Jeans
    4      Sandals   (+760s) -                 open (one answer)
    (* an audit answer)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
import time_machine

from labeling.models import Overlap, ReviewerReliability
from labeling.selectors.review_quality import review_quality, review_quality_for_reviewer
from labeling.selectors.review_quality_figures import Share, median_gap
from labeling.services.review.labels import label_retract
from labeling.services.review.overlap import adjudicate
from tests.factories import ItemFactory
from tests.labeling import overlap_data

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday: ISO week 2025-W10
SHIRTS = "Apparel > Topwear > Shirts"
TSHIRTS = "Apparel > Topwear > Tshirts"
JEANS = "Apparel > Bottomwear > Jeans"
SANDALS = "Footwear > Shoes > Sandals"
_keys = count()


def answer(item, user, category, seconds, audit=False):
    with time_machine.travel(T0 + timedelta(seconds=seconds), tick=False):
        return overlap_data.answer(user, item, category, audit=audit)


@pytest.fixture
def team(tree, alice, carol, bob):
    items = [ItemFactory() for _ in range(4)]
    answer(items[0], alice, tree[SHIRTS], 0)
    answer(items[0], carol, tree[SHIRTS], 5)
    answer(items[1], alice, tree[SHIRTS], 20, audit=True)
    disputed = answer(items[1], carol, tree[TSHIRTS], 30).overlap
    answer(items[2], alice, tree[JEANS], 60, audit=True)
    answer(items[2], carol, tree[JEANS], 100, audit=True)
    with time_machine.travel(T0 + timedelta(seconds=200), tick=False):
        adjudicate(overlap=disputed, adjudicator=bob, category=tree[TSHIRTS])
    answer(items[3], alice, tree[SANDALS], 760)
    return items


def row_of(report, username):
    return next(r for r in report.reviewers if r.username == username)


def test_leaf_agreement_is_the_share_of_items_the_two_reviewers_agree_on(version, team):
    overall = review_quality(version=version).overall
    assert (overall.items, overall.answers) == (3, 6)  # item 4 has one answer: left out
    assert overall.leaf == Share(2, 3)


def test_agreement_at_each_depth_counts_the_same_ancestor_there(version, team):
    depths = {d.depth: d.agreement for d in review_quality(version=version).overall.depths}
    assert depths == {1: Share(3, 3), 2: Share(3, 3), 3: Share(2, 3)}


def test_alpha_with_the_tree_distance_forgives_near_misses_more_than_nominal(version, team):
    overall = review_quality(version=version).overall
    # Values S, S | S, T | J, J: n_S=3, n_T=1, n_J=2, n=6. Nominal: D_o = 2/6,
    # D_e = 2(3*1 + 3*2 + 1*2)/30 = 22/30. Tree (S-T 2 edges, S-J and T-J 4): D_o = 4/6,
    # D_e = 2(3*1*2 + 3*2*4 + 1*2*4)/30 = 76/30.
    assert overall.alpha_nominal == pytest.approx(1 - (2 / 6) / (22 / 30))  # 6/11
    assert overall.alpha_tree == pytest.approx(1 - (4 / 6) / (76 / 30))  # 14/19


def test_the_pair_has_three_items_in_common_and_kappa_of_one_half(version, team, alice):
    (pair,) = review_quality(version=version).pairs
    assert (pair.first_name, pair.second_name, pair.items) == ("alice", "carol", 3)
    # p_o = 2/3; alice S,S,J and carol S,T,J: p_e = 2/3*1/3 + 1/3*1/3 = 1/3 -> (1/3)/(2/3)
    assert pair.agreement == Share(2, 3)
    assert pair.kappa == pytest.approx(0.5)


def test_agreement_with_the_adjudicator_counts_answers_on_adjudicated_items(version, team):
    report = review_quality(version=version)
    assert row_of(report, "alice").agreement.vs_adjudicated == Share(0, 1)
    assert row_of(report, "carol").agreement.vs_adjudicated == Share(1, 1)


def test_audit_answers_are_compared_with_the_items_resulting_label(version, team):
    report = review_quality(version=version)
    assert row_of(report, "alice").agreement.on_audit == Share(1, 2)  # item 2 no, item 3 yes
    assert row_of(report, "carol").agreement.on_audit == Share(1, 1)


def test_each_reviewer_counts_answers_pairs_and_the_branch_they_disagree_in(version, team):
    alice = row_of(review_quality(version=version), "alice")
    assert (alice.answers, alice.agreement.overlap_answers) == (4, 4)
    assert alice.agreement.vs_others == Share(2, 3)
    assert [(b.name, b.count) for b in alice.agreement.disagree_branches] == [("Apparel", 1)]


def test_speed_is_the_median_gap_between_decisions_without_breaks(version, team):
    report = review_quality(version=version)
    alice, carol = row_of(report, "alice"), row_of(report, "carol")
    assert (alice.median_seconds, alice.timed_gaps) == (30, 2)  # 20, 40; 700 is a break
    assert (carol.median_seconds, carol.timed_gaps) == (47.5, 2)  # 25, 70; agreed rows aside
    assert row_of(report, "bob").answers == 1  # the adjudication
    assert median_gap([T0]) == (None, 0)


def test_reliability_shows_when_estimated_and_is_none_otherwise(version, team, alice):
    ReviewerReliability.objects.create(user=alice, taxonomy_version=version, accuracy=0.8)
    report = review_quality(version=version)
    assert row_of(report, "alice").reliability == 0.8
    assert row_of(report, "carol").reliability is None


def test_branches_and_weeks_group_the_items(version, team, tree):
    report = review_quality(version=version)
    (branch,) = report.branches
    assert (branch.name, branch.category_id, branch.items, branch.leaf) == (
        "Apparel",
        tree["Apparel"].pk,
        3,
        Share(2, 3),
    )
    assert branch.alpha_tree == pytest.approx(14 / 19)
    assert [(w.week, w.items, w.leaf) for w in report.weeks] == [("2025-W10", 3, Share(2, 3))]


def test_a_window_keeps_the_answers_given_inside_it(version, team):
    report = review_quality(version=version, start=T0 + timedelta(seconds=50))
    assert (report.overall.items, report.overall.leaf) == (1, Share(1, 1))  # item 3 only
    assert row_of(report, "alice").answers == 2


def test_a_retracted_answer_is_not_counted(version, team, alice):
    first = Overlap.objects.get(item=team[0]).answers.get(reviewer=alice)
    label_retract(label=first.label, author=alice, note="test")
    overall = review_quality(version=version).overall
    assert (overall.items, overall.leaf) == (2, Share(1, 2))


def test_a_reviewers_own_view_keeps_their_row_and_hides_the_colleague(version, team, alice):
    report = review_quality_for_reviewer(version=version, reviewer_id=alice.pk)
    assert [r.username for r in report.reviewers] == ["alice"]
    (pair,) = report.pairs
    assert (pair.first_name, pair.second_id, pair.second_name) == ("alice", None, "Colleague 1")
    assert report.overall is None and report.branches == () and report.weeks == ()
    assert report.has_overlap


def test_without_overlap_answers_the_report_is_empty(version, tree, alice):
    report = review_quality(version=version)
    assert not report.has_overlap and report.pairs == () and report.reviewers == ()
    assert report.overall.leaf.value is None
