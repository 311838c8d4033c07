"""The simulator's auto-accept rounds (``--target-precision``, issue 17)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classifier.simulate import certify_loop
from classifier.simulate.certify_report import audit_quota, certify_problem
from classifier.simulate.loop import LoopSettings, Task
from classifier.tree import Tree
from tests.classifier.test_simulate import LEAVES, run_cli, write_catalog


def test_the_audit_share_rises_to_what_the_pooled_unit_lacks_within_the_cap():
    assert audit_quota(100, wanted=0, share=0.1, max_share=0.5) == 10
    assert audit_quota(100, wanted=30, share=0.1, max_share=0.5) == 30
    assert audit_quota(100, wanted=400, share=0.1, max_share=0.5) == 50
    assert audit_quota(7, wanted=0, share=0.1, max_share=0.5) == 1


def test_it_names_the_option_that_is_out_of_range():
    assert "--target-precision" in (certify_problem(1.5, 0.1, 0.5) or "")
    assert "--max-audit-share" in (certify_problem(0.99, 0.6, 0.5) or "")
    assert certify_problem(None, 0.1, 0.5) is None


def _task(seed: int = 0, n: int = 400) -> Task:
    tree = Tree.from_paths([tuple(p.split(" > ")) for p in LEAVES])
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(tree.n_leaves, 16)) * 3
    y_leaf = rng.integers(tree.n_leaves, size=n)
    X = (centers[y_leaf] + rng.normal(size=(n, 16))).astype(np.float32)
    y = tree.leaves[y_leaf]
    return Task(tree, "text", {"text": X[:300]}, y[:300], {"text": X[300:]}, y[300:])


@pytest.fixture
def one_thread():
    """Many tiny fits: one torch thread is ten times faster on a busy machine (run.py)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_audit_items_count_against_the_budget_and_are_never_trained_on(monkeypatch, one_thread):
    trained: list[np.ndarray] = []
    audited: list[np.ndarray] = []
    real_fit, real_certify = certify_loop.fit_model, certify_loop._certify

    def fit(task: Task, index: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        trained.append(index.copy())
        return real_fit(task, index, *args, **kwargs)

    def certify(task: Task, model: Any, audit: np.ndarray, *args: Any) -> Any:
        audited.append(audit.copy())
        return real_certify(task, model, audit, *args)

    monkeypatch.setattr(certify_loop, "fit_model", fit)
    monkeypatch.setattr(certify_loop, "_certify", certify)
    settings = LoopSettings(seed_size=20, batch=40, budget=140, max_epochs=5, target_precision=0.9)
    rows = certify_loop.run_certify_curve(_task(), "queue", 0, settings)
    assert [r["n_labels"] for r in rows] == [20, 60, 100, 140]
    assert all(r["n_labels"] == r["n_train_labels"] + r["n_audit"] for r in rows)
    assert all(not np.intersect1d(t, a).size for t, a in zip(trained, audited, strict=True))
    assert rows[-1]["n_audit"] >= 12  # at least the queue's 10% of each batch


@pytest.mark.slow
def test_the_cli_reports_auto_accept_per_round_and_in_the_summary(tmp_path: Path):
    out = tmp_path / "out"
    code = run_cli(
        write_catalog(tmp_path / "catalog.csv", per_class=100), out,
        "--strategies", "queue", "--repeats", "1", "--seed-size", "20", "--batch", "40",
        "--budget", "180", "--target-precision", "0.9", "--max-audit-share", "0.6",
    )  # fmt: skip
    assert code == 0
    with (out / "curves.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {"certify_accepted_share", "certify_accepted_depth_3", "n_audit"} <= set(rows[0])
    last = rows[-1]
    assert int(last["n_audit"]) > 18  # the pooled unit asked for more than 10%
    if last["certify_true_precision"]:
        assert float(last["certify_true_precision"]) >= 0.9
    assert "Auto-accept at target precision 0.9" in (out / "summary.md").read_text()
