"""labeling.services.review.reliability: reviewers' accuracy and trust from the team's answers."""

from __future__ import annotations

import numpy as np
import pytest

from labeling import tasks
from labeling.models import Label, Overlap, ReviewerReliability
from labeling.roles import REVIEWER
from labeling.services.review import labels as label_svc
from labeling.services.review import overlap
from labeling.services.review.reliability import reliability_refresh, reliability_refresh_stale
from taxoloop.celery import app
from tests.factories import ItemFactory, UserFactory, make_tree
from tests.labeling import overlap_data

BRANCHES = {name: {f"{name}1": {}, f"{name}2": {}} for name in ("North", "East", "South", "West")}
ERROR_RATES = {"ann": 0.02, "ben": 0.02, "cal": 0.30}  # wrong top-level branch this often
N_ITEMS = 300
TOLERANCE = 0.05


@pytest.fixture
def leaves(version):
    made = make_tree(version, BRANCHES)
    return {b: [made[f"{b} > {leaf}"] for leaf in kids] for b, kids in BRANCHES.items()}


@pytest.fixture
def team(db):
    return {name: UserFactory(username=name, roles=[REVIEWER]) for name in ERROR_RATES}


def _answer(version, item, reviewer, category, context="overlap"):
    return Label(
        item=item,
        category=category,
        taxonomy_version=version,
        author=reviewer,
        source=Label.Source.REVIEW,
        context=context,
    )


@pytest.fixture
def overlap_answers(version, leaves, team):
    """Every item answered blind by the three reviewers, each wrong at their rate (a wrong
    answer: a leaf of another branch)."""
    rng = np.random.default_rng(16)
    names = list(BRANCHES)
    rows = []
    for item in ItemFactory.create_batch(N_ITEMS):
        truth = int(rng.integers(len(names)))
        for name, reviewer in team.items():
            branch = truth
            if rng.random() < ERROR_RATES[name]:
                branch = (truth + int(rng.integers(1, len(names)))) % len(names)
            leaf = leaves[names[branch]][int(rng.integers(2))]
            rows.append(_answer(version, item, reviewer, leaf))
    return Label.objects.bulk_create(rows)


def _by_user(rows):
    return {row.user.username: row for row in rows}


def test_it_recovers_each_reviewers_error_rate_from_overlap_answers(version, overlap_answers):
    got = _by_user(reliability_refresh(version=version))
    for name, rate in ERROR_RATES.items():
        assert got[name].accuracy == pytest.approx(1 - rate, abs=TOLERANCE)
        assert (got[name].answers, got[name].shared) == (N_ITEMS, N_ITEMS)
    assert got["cal"].accuracy < overlap.second_opinion_below() < got["ann"].accuracy


def test_trust_is_per_top_level_branch_and_lowest_for_the_unreliable_reviewer(
    version, leaves, overlap_answers
):
    got = _by_user(reliability_refresh(version=version))
    keys = {leaves[b][0].parent.key for b in BRANCHES}
    assert set(got["cal"].trust) == set(got["ann"].trust) == keys
    for key in keys:
        assert got["cal"].trust[key] < 0.85 < got["ann"].trust[key]


def test_a_reviewer_with_only_single_answers_gets_the_team_neutral_value(
    version, leaves, overlap_answers
):
    newcomers = [UserFactory(username=name, roles=[REVIEWER]) for name in ("dee", "eve")]
    for reviewer in newcomers:
        for item in ItemFactory.create_batch(5):
            label_svc.label_create(
                item=item, category=leaves["North"][0], author=reviewer, source="review"
            )
    got = _by_user(reliability_refresh(version=version))
    team_mean = np.mean([1 - rate for rate in ERROR_RATES.values()])
    assert (got["dee"].answers, got["dee"].shared) == (5, 0)
    assert got["dee"].accuracy == pytest.approx(got["eve"].accuracy)
    assert got["dee"].accuracy == pytest.approx(team_mean, abs=TOLERANCE)


def test_retracted_answers_are_ignored(version, team, overlap_answers):
    branch_of_ann = {
        a.item_id: a.category.parent_id for a in overlap_answers if a.author == team["ann"]
    }
    wrong = [
        a
        for a in overlap_answers
        if a.author == team["cal"] and a.category.parent_id != branch_of_ann[a.item_id]
    ]
    for label in wrong:
        label_svc.label_retract(label=label, author=team["cal"])
    got = _by_user(reliability_refresh(version=version))
    assert got["cal"].answers == N_ITEMS - len(wrong) < N_ITEMS - 60
    assert got["cal"].accuracy > overlap.second_opinion_below()


def test_the_adjudicator_counts_as_one_more_reviewer_on_the_item(version, leaves, team, bob):
    item = ItemFactory()
    for reviewer, leaf in ((team["ann"], leaves["North"][0]), (team["cal"], leaves["East"][0])):
        overlap_data.answer(reviewer, item, leaf)
    disputed = Overlap.objects.get(item=item)
    assert disputed.status == "disputed"
    overlap.adjudicate(overlap=disputed, adjudicator=bob, category=leaves["North"][1])
    got = _by_user(reliability_refresh(version=version))
    assert {name: (r.answers, r.shared) for name, r in got.items()} == {
        "ann": (1, 1),
        "cal": (1, 1),
        "bob": (1, 1),
    }


def test_a_refresh_when_stale_skips_an_unchanged_ledger(version, leaves, team):
    label_svc.label_create(
        item=ItemFactory(), category=leaves["West"][0], author=team["ann"], source="review"
    )
    assert len(reliability_refresh_stale(version=version)) == 1
    assert reliability_refresh_stale(version=version) is None


def test_the_task_refreshes_the_working_version_hourly(version, overlap_answers):
    assert tasks.reliability_refresh_task.delay().get() == len(ERROR_RATES)
    assert ReviewerReliability.objects.filter(taxonomy_version=version).count() == 3
    entry = app.conf.beat_schedule["refresh-reviewer-reliability"]
    assert entry == {"task": "labeling.tasks.reliability_refresh_task", "schedule": 3600.0}


def test_a_refresh_takes_a_fixed_number_of_queries(
    version, overlap_answers, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        reliability_refresh(version=version)
