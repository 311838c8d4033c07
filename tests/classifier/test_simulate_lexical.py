"""The simulator's ``--lexical`` option (classifier/simulate/lexical_loop.py) on a tiny
synthetic catalog with the fake encoder of test_simulate."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from classifier.lexical import CharNgramView
from classifier.model import HierarchicalClassifier
from classifier.simulate.lexical_loop import CHARS, LexicalFusion, _HeldOutLogits, fit_with_lexical
from classifier.tree import Tree
from tests.classifier.test_simulate import run_cli, write_catalog

PATHS = [("a", "x"), ("a", "y"), ("b", "z")]
WORDS = ["shirt", "jeans", "apple"]


def tiny(n_per_leaf: int = 12) -> tuple[Tree, dict[str, object], np.ndarray]:
    tree = Tree.from_paths(PATHS)
    rng = np.random.default_rng(0)
    titles, y = [], []
    for leaf, word in enumerate(WORDS):
        for i in range(n_per_leaf):
            titles.append(f"{word} {rng.choice(['red', 'blue', 'big'])} {i}")
            y.append(tree.leaves[leaf])
    dense = rng.normal(size=(len(titles), 8)).astype(np.float32)
    dense[:, 0] += np.repeat(np.arange(3), n_per_leaf)  # a weak signal in the embedding
    X = {"text": dense, CHARS: CharNgramView(n_features=2**12).fit_transform(titles)}
    return tree, X, np.array(y)


def test_the_held_out_capture_leaves_the_estimator_unchanged() -> None:
    tree, X, y = tiny()
    plain = HierarchicalClassifier(tree, modalities=("text",), seed=0, max_epochs=5)
    plain.fit({"text": X["text"]}, y)
    kept = _HeldOutLogits(tree, modalities=("text",), seed=0, max_epochs=5)
    kept.fit({"text": X["text"]}, y)
    assert kept.temperature_ == pytest.approx(plain.temperature_)
    assert kept.held_out_ is not None and sorted(kept.held_out_[0]) == list(range(len(y)))


def test_fusion_adds_the_lexical_head_to_the_committee_and_pools_the_answer() -> None:
    tree, X, y = tiny()
    model = fit_with_lexical(tree, X, y, "both", {"modalities": ("text",), "max_epochs": 5})
    assert isinstance(model, LexicalFusion)
    assert 0.0 <= model.weight_ <= 1.0
    committee = model.predict_committee(X)
    assert committee.shape == (3, len(y), tree.n_leaves)  # fused, text, lexical
    proba = model.predict_proba(X)
    assert proba.sum(axis=1) == pytest.approx(np.ones(len(y)), abs=1e-5)
    top_idx, top_proba, extras = model.predict_topk(X, k=2)
    assert top_idx.shape == (len(y), 2) and {"consensus_kl", "novelty"} <= set(extras)


def test_the_simulator_runs_every_strategy_with_the_lexical_view(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = run_cli(
        write_catalog(tmp_path / "catalog.csv"),
        out,
        "--strategies",
        "random,vote_entropy,queue",
        "--repeats",
        "1",
        "--seed-size",
        "12",
        "--batch",
        "10",
        "--budget",
        "22",
        "--lexical",
        "both",
    )
    assert code == 0
    with (out / "curves.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["strategy"], r["n_labels"]) for r in rows] == [
        (s, n) for s in ("random", "vote_entropy", "queue") for n in ("12", "22")
    ]


def test_the_simulator_refuses_an_unknown_lexical_mode(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        run_cli(write_catalog(tmp_path / "c.csv"), tmp_path / "o", "--lexical", "sideways")
