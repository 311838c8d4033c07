"""The simulated team of reviewers (``--team``): answers, policies by hand, the command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifier.simulate.team import (
    Answers,
    TeamSpec,
    blind_rows,
    collect,
    noisy_branches,
    top_branches,
    training_rows,
)
from classifier.tree import Tree
from tests.classifier.test_simulate import run_cli, write_catalog


def tree() -> Tree:
    return Tree.from_paths([["A", "a1"], ["A", "a2"], ["B", "b1"], ["C", "c1"]])


def test_each_leaf_knows_its_top_level_branch() -> None:
    assert top_branches(tree()).tolist() == [0, 0, 1, 2]


def test_the_confused_branches_hold_the_asked_share_of_items() -> None:
    branch = np.array([0, 0, 1, 2])
    truth = np.array([0] * 50 + [2] * 30 + [3] * 20)  # branch sizes 50, 30, 20
    confused = noisy_branches(branch, truth, 0.5, seed=0)
    sizes = np.array([50, 30, 20])
    assert sizes[confused].sum() >= 50
    assert confused.sum() < 3  # it stops once the share is reached (any two hold >= 50)


def test_the_unreliable_reviewer_errs_only_on_confused_items() -> None:
    spec = TeamSpec(reviewers=3, noisy_rate=1.0, overlap=0.0)
    truth = np.zeros(300, dtype=np.int64)
    confused = np.arange(300) < 150
    answers = collect(np.arange(300), truth, confused, spec, 1, 300, n_leaves=4, seed=0)
    wrong = answers.leaves != truth[answers.items]
    assert (answers.reviewers[wrong] == 2).all()
    assert confused[answers.items[wrong]].all()
    assert wrong.sum() == ((answers.reviewers == 2) & confused[answers.items]).sum()


def test_overlap_items_get_two_distinct_reviewers_and_the_budget_counts_answers() -> None:
    spec = TeamSpec(overlap=0.5)
    truth = np.zeros(1000, dtype=np.int64)
    answers = collect(np.arange(1000), truth, np.zeros(1000, bool), spec, 1, 600, 4, seed=1)
    assert 600 <= len(answers.items) <= 601
    per_item = np.bincount(answers.items)
    assert set(per_item[per_item > 0].tolist()) == {1, 2}
    assert 0.4 < (per_item == 2).sum() / (per_item > 0).sum() < 0.6
    for item in np.flatnonzero(per_item == 2):
        assert len(set(answers.reviewers[answers.items == item].tolist())) == 2


def test_policies_build_their_training_rows_by_hand() -> None:
    branch = np.array([0, 0, 1, 2])
    # item 0: three answers 1, 1, 3; item 1: 0, 2, 3 (a three-way tie); item 2: lone answer 2.
    answers = Answers(
        items=np.array([0, 0, 0, 1, 1, 1, 2]),
        reviewers=np.array([0, 1, 2, 0, 1, 2, 0]),
        leaves=np.array([1, 1, 3, 0, 2, 3, 2]),
    )
    items, leaves, w = training_rows("equal", answers, branch, 3)
    assert items.tolist() == [0, 0, 0, 1, 1, 1, 2] and w.tolist() == [1.0] * 7
    items, leaves, w = training_rows("majority", answers, branch, 3)
    assert items.tolist() == [0, 1, 2] and leaves.tolist() == [1, 0, 2]
    items, leaves, w = training_rows("weighted", answers, branch, 3)
    assert items.tolist() == [0, 1, 2]
    assert leaves[0] == 1  # two answers in branch 0 against one in branch 2
    assert 0.5 < w[0] < 1.0 and (w > 0).all() and (w <= 1).all()


def test_disputed_items_train_on_neither_answer_or_on_their_common_ancestor() -> None:
    t = tree()  # leaves a1, a2 (under A), b1, c1
    # item 0: a1 and a2 disagree under A; item 1: a1 and b1 share no branch; item 2: agree on b1;
    # item 3: a lone answer c1.
    answers = Answers(
        items=np.array([0, 0, 1, 1, 2, 2, 3]),
        reviewers=np.array([0, 1, 0, 2, 1, 2, 0]),
        leaves=np.array([0, 1, 0, 2, 2, 2, 3]),
    )
    items, nodes = blind_rows("neither", answers, t)
    assert items.tolist() == [2, 3]
    assert nodes.tolist() == [int(t.leaves[2]), int(t.leaves[3])]
    items, nodes = blind_rows("ancestor", answers, t)
    assert items.tolist() == [0, 2, 3]
    assert nodes.tolist() == [t.path(int(t.leaves[0]))[0], int(t.leaves[2]), int(t.leaves[3])]


def test_the_command_writes_every_policy_at_each_answer_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("classifier.model.training.MIN_STEPS", 20)  # 72 tiny fits: keep it quick
    out = tmp_path / "out"
    catalog = write_catalog(tmp_path / "catalog.csv")
    assert run_cli(catalog, out, "--team", "--budget", "40", "--repeats", "1") == 0
    table = (out / "team.md").read_text()
    for n in (10, 20, 40):
        for policy in ("equal", "weighted", "second", "majority", "neither", "ancestor"):
            assert f"| {n} | {policy} |" in table


def test_the_command_refuses_a_team_too_small_for_majority_vote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(tmp_path / "catalog.csv")
    with pytest.raises(SystemExit) as exit_info:
        run_cli(catalog, tmp_path / "out", "--team", "--team-reviewers", "2")
    assert exit_info.value.code == 2
    assert "--team-reviewers must be >= 3" in capsys.readouterr().err
