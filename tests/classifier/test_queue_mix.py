"""The review queue's default mix in the simulator (``--strategies queue``)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from classifier.simulate.queue_mix import QUEUE_QUOTAS, queue_scores
from classifier.tree import Tree
from taxoloop.settings.base import TAXOLOOP
from tests.classifier.test_simulate import run_cli, write_catalog

TREE = Tree.from_paths([("A", "a1"), ("A", "a2"), ("B", "b1")])


def test_the_mix_uses_the_queue_settings_defaults_without_re_review():
    expected = {r: q for r, q in TAXOLOOP["QUEUE_QUOTAS"].items() if r != "re-review"}
    assert expected == QUEUE_QUOTAS


def test_each_reason_scores_as_the_queue_does():
    leaf = {TREE.names[n]: TREE.leaf_index[n] for n in TREE.leaves}
    # Item 0: a1 0.5, a2 0.4, b1 0.1 (sure of A, unsure of the leaf); item 1: b1 0.95.
    top_idx = np.array([[leaf["a1"], leaf["a2"], leaf["b1"]], [leaf["b1"], leaf["a1"], -1]])
    top_p = np.array([[0.5, 0.4, 0.1], [0.95, 0.05, 0.0]])
    extras = {
        "margin": np.array([0.1, 0.9], dtype=np.float32),
        "consensus_kl": np.array([0.02, 0.0], dtype=np.float32),
        "novelty": np.array([0.3, 0.7], dtype=np.float32),
    }
    scores = queue_scores(TREE, top_idx, top_p, extras, threshold=0.85)
    np.testing.assert_allclose(scores["uncertain"], [0.9, 0.1], atol=1e-6)
    np.testing.assert_allclose(scores["disagreement"], [0.02, 0.0], atol=1e-6)
    np.testing.assert_allclose(scores["novel"], [0.3, 0.7], atol=1e-6)
    # Item 0 is decided at A (0.9 >= 0.85); between its leaves a1 0.5 and a2 0.4: margin 0.1.
    # Item 1 is sure down to its leaf b1: no boundary pair, score 0.
    np.testing.assert_allclose(scores["boundary"], [0.9, 0.0], atol=1e-6)


def test_the_simulator_runs_the_queue_mix_and_reports_it(tmp_path: Path):
    out = tmp_path / "out"
    code = run_cli(
        write_catalog(tmp_path / "catalog.csv"), out,
        "--strategies", "random,queue", "--repeats", "1",
        "--seed-size", "12", "--batch", "10", "--budget", "32",
    )  # fmt: skip
    assert code == 0
    with (out / "curves.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["strategy"] == "queue"]
    assert [int(r["n_labels"]) for r in rows] == [12, 22, 32]
    assert float(rows[-1]["leaf_accuracy"]) > 0.5
