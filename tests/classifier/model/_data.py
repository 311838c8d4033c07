"""Clustered toy features shared by the model tests."""

from __future__ import annotations

import numpy as np

from classifier.tree import Tree


def centres(seed: int = 0, n_leaves: int = 4) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"text": rng.normal(size=(n_leaves, 8)), "image": rng.normal(size=(n_leaves, 6))}


def clustered(
    tree: Tree, n: int, seed: int = 0, image_missing: float = 0.0, noise: float = 0.4
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Features around one centre per leaf (same centres for every seed) and leaf node labels."""
    rng = np.random.default_rng(seed + 100)
    cols = rng.integers(0, tree.n_leaves, size=n)
    X = {
        m: (c[cols] + noise * rng.normal(size=(n, c.shape[1]))).astype(np.float32)
        for m, c in centres(n_leaves=tree.n_leaves).items()
    }
    X["image"][rng.random(n) < image_missing] = np.nan
    return X, tree.leaves[cols]


def small_model_params() -> dict[str, object]:
    return {"bottleneck": 8, "max_epochs": 15, "patience": 3, "batch_size": 32, "lr": 1e-2}
