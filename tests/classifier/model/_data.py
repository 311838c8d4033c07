"""Clustered toy features shared by the model tests."""

from __future__ import annotations

import numpy as np

from classifier.tree import Tree


def two_level_tree() -> Tree:
    """A > {a1, a2}, B > {b1, b2}: nodes 0 A, 1 a1, 2 a2, 3 B, 4 b1, 5 b2; leaf columns 0..3."""
    return Tree.from_paths([["A", "a1"], ["A", "a2"], ["B", "b1"], ["B", "b2"]])


def centres(seed: int = 0, n_leaves: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"text": rng.normal(size=(n_leaves, 8)), "image": rng.normal(size=(n_leaves, 6))}


def clustered(
    tree: Tree,
    n: int,
    seed: int = 0,
    image_missing: float = 0.0,
    noise: float = 0.4,
    leaf_p: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Features around one centre per leaf (same centres for every seed) and leaf node labels;
    ``leaf_p`` ``(n_leaves,)`` sets how often each leaf is drawn (default: equally)."""
    rng = np.random.default_rng(seed + 100)
    cols = rng.choice(tree.n_leaves, size=n, p=leaf_p)
    X = {
        m: (c[cols] + noise * rng.normal(size=(n, c.shape[1]))).astype(np.float32)
        for m, c in centres(n_leaves=tree.n_leaves).items()
    }
    X["image"][rng.random(n) < image_missing] = np.nan
    return X, tree.leaves[cols]


def accuracy(tree: Tree, proba: np.ndarray, y: np.ndarray) -> float:
    return float((tree.leaves[proba.argmax(1)] == y).mean())


def small_model_params() -> dict[str, object]:
    return {"bottleneck": 8, "max_epochs": 15, "patience": 3, "batch_size": 32, "lr": 1e-2}
