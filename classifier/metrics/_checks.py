"""Input checks shared by the metrics: every failure is a ``ValueError`` that names the
argument."""

from __future__ import annotations

from typing import Any

import numpy as np

from classifier.tree import Tree

CHUNK_ROWS = 65_536  # bounds (rows, n_leaves or n_nodes) temporaries in memory


def check_labels(y: Any, what: str, *, allow_abstain: bool = False) -> np.ndarray:
    """``y`` as a non-empty 1-D int64 array; ``-1`` (abstain) allowed only when asked."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{what} is empty: a metric needs at least one item")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{what} must hold integer labels, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    low = -1 if allow_abstain else 0
    if arr.min() < low:
        allowed = "-1 (abstain) or >= 0" if allow_abstain else ">= 0"
        raise ValueError(f"{what} must be {allowed}, got {int(arr.min())}")
    return arr


def check_nodes(tree: Tree, y: Any, what: str, *, allow_abstain: bool = False) -> np.ndarray:
    """Node indices of ``tree`` (``-1`` = abstain where allowed)."""
    arr = check_labels(y, what, allow_abstain=allow_abstain)
    if arr.max() >= tree.n_nodes:
        raise ValueError(f"{what} holds node {int(arr.max())}; the tree has {tree.n_nodes} nodes")
    return arr


def check_proba(proba: Any, n_cols: int | None = None, what: str = "proba") -> np.ndarray:
    """A non-empty, finite ``(n, k)`` float array (``k == n_cols`` when given)."""
    arr = np.asarray(proba)
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n, k), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{what} is empty: a metric needs at least one item")
    if arr.shape[1] == 0 or (n_cols is not None and arr.shape[1] != n_cols):
        want = n_cols if n_cols is not None else ">= 1"
        raise ValueError(f"{what} must have {want} columns, got {arr.shape[1]}")
    if arr.dtype.kind != "f":
        if arr.dtype.kind not in "iu":
            raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return arr


def check_same_length(*pairs: tuple[str, np.ndarray]) -> None:
    lengths = {name: len(a) for name, a in pairs}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs must have the same length, got {lengths}")


def check_leaf_cols(y: Any, n_leaves: int, what: str = "y_true_leaf_col") -> np.ndarray:
    arr = check_labels(y, what)
    if arr.max() >= n_leaves:
        raise ValueError(f"{what} holds column {int(arr.max())}; proba has {n_leaves} columns")
    return arr


def chunks(n: int) -> list[slice]:
    return [slice(s, min(s + CHUNK_ROWS, n)) for s in range(0, n, CHUNK_ROWS)]


def safe_div(num: float, den: float) -> float:
    """``num / den``, or 0.0 when ``den`` is 0 (sklearn's ``zero_division=0``)."""
    return float(num / den) if den else 0.0
