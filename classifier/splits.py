"""Held-out splits that keep duplicates on one side (pure numpy).

Catalogs repeat themselves: on the fashion data 39 % of the titles a split by item id holds
out also occur, verbatim, in training. A model that memorised a title is then credited for
"generalising" to its twin, and every held-out figure (promotion, the models page, the
simulator) reads too high. Every held-out split of the project therefore goes through
:func:`duplicate_groups`, which puts rows with the same normalised title, or the same
embedding, in one group, and a split then sends whole groups to one side:

- ``holdout_mask`` with ``group_units``: the loop's evaluation split. Stable: a group's side
  is a hash of (salt, the group's key), so an item keeps its side as labels arrive.
- ``classifier.model.training.validation_split``: the estimator's early-stopping split.
- ``classifier.simulate.data.split_indices``: the simulator's train/test split.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_NOT_WORD = re.compile(r"[^\w\s]")


def normalise_title(title: str) -> str:
    """Lower case, punctuation as space, runs of white space as one space."""
    return " ".join(_NOT_WORD.sub(" ", (title or "").lower()).split())


def duplicate_groups(
    *, titles: Sequence[str] | np.ndarray | None = None, vectors: np.ndarray | None = None
) -> np.ndarray:
    """``(n,)`` int64 group id per row, numbered ``0..g-1`` in order of the smallest row.

    Rows whose normalised titles are equal, or whose ``(n, d)`` vectors are identical (an
    exact duplicate embedding), share a group, transitively. A vector row with a NaN or an
    infinity (a missing modality) joins no one through its vector.
    """
    keysets = []
    if titles is not None:
        normalised = np.array([normalise_title(t) for t in titles], dtype=object)
        keysets.append(np.unique(normalised, return_inverse=True)[1].ravel())
    if vectors is not None:
        keysets.append(_vector_keys(np.asarray(vectors)))
    if not keysets:
        raise ValueError("duplicate_groups needs titles, vectors or both")
    n = len(keysets[0])
    if any(len(k) != n for k in keysets):
        raise ValueError("titles and vectors must have one row per item")
    return _components(keysets, n)


def _vector_keys(x: np.ndarray) -> np.ndarray:
    """``(n,)`` int64: equal for identical finite rows, unique for every other row."""
    n = len(x)
    keys = np.arange(n, dtype=np.int64) + n
    if x.ndim != 2 or x.shape[1] == 0 or n == 0:
        return keys
    finite = np.isfinite(x).all(axis=1)
    if finite.any():
        rows = np.ascontiguousarray(x[finite]) + 0.0  # + 0.0 turns -0.0 into 0.0
        width = rows.dtype.itemsize * rows.shape[1]
        void = rows.view(np.dtype((np.void, width))).ravel()
        keys[finite] = np.unique(void, return_inverse=True)[1].ravel()
    return keys


def _components(keysets: list[np.ndarray], n: int) -> np.ndarray:
    """Connected components of "shares a key in some key set": each row takes the smallest
    row index reachable, one hop per key set per pass, until nothing changes."""
    component = np.arange(n, dtype=np.int64)
    while True:
        new = component
        for keys in keysets:
            smallest = np.full(int(keys.max()) + 1 if n else 0, n, dtype=np.int64)
            np.minimum.at(smallest, keys, new)
            new = smallest[keys]
        if np.array_equal(new, component):
            break
        component = new
    return np.unique(component, return_inverse=True)[1].ravel().astype(np.int64)


def stable_unit(keys: Sequence[str], salt: str | int) -> np.ndarray:
    """``(n,)`` float64 in [0, 1): a stable pseudo-random number per (salt, key)."""
    return np.array(
        [
            int.from_bytes(hashlib.sha256(f"{salt}:{k}".encode()).digest()[:8], "big") / 2**64
            for k in keys
        ],
        dtype=np.float64,
    )


def group_units(groups: np.ndarray, keys: Sequence[str], salt: str | int) -> np.ndarray:
    """``(n,)`` float64 in [0, 1), the same for every row of a group: the hash of (salt, the
    smallest key of the group's rows). With titles as keys, a group's number depends only on
    its title (and on another title only when an identical embedding joins the two)."""
    smallest: dict[int, str] = {}
    for group, key in zip(np.asarray(groups).tolist(), keys, strict=True):
        if group not in smallest or key < smallest[group]:
            smallest[group] = key
    ordered = sorted(smallest)
    unit = dict(zip(ordered, stable_unit([smallest[g] for g in ordered], salt), strict=True))
    return np.array([unit[g] for g in np.asarray(groups).tolist()], dtype=np.float64)


def holdout_mask(
    labels: np.ndarray,
    groups: np.ndarray,
    units: np.ndarray,
    fraction: float,
    *,
    always: np.ndarray | None = None,
) -> np.ndarray:
    """``(n,)`` bool: rows held out; every group wholly on one side.

    A group is held out when one of its rows is ``always`` (e.g. an audit label) or its unit
    (``group_units``) is below ``fraction``: every label is split at about the same rate.
    Per label, over the groups of its rows that are not ``always``: a label with one such
    group trains on it; with two or more, at least one is held out (the smallest unit) and at
    least one trains (the largest unit). Those adjustments are the only way a group's side can
    depend on other rows.

    Args:
        labels: ``(n,)`` class of each row.
        groups: ``(n,)`` int group ids ``0..g-1`` (``duplicate_groups``).
        units: ``(n,)`` float in [0, 1), equal within a group (``group_units``).
        always: ``(n,)`` bool rows that must be held out (their whole group is).
    """
    labels, groups, units = np.asarray(labels), np.asarray(groups), np.asarray(units)
    always = np.zeros(len(labels), bool) if always is None else np.asarray(always, bool)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    unit = np.zeros(n_groups)
    unit[groups] = units
    forced = np.zeros(n_groups, bool)
    forced[groups[always]] = True
    held = forced | (unit < fraction)
    for label in np.unique(labels):
        own = np.unique(groups[(labels == label) & ~always])
        free = own[~forced[own]]
        if len(own) < 2:
            held[free] = False
            continue
        order = free[np.argsort(unit[free], kind="stable")]
        if len(order) and not held[own].any() and fraction > 0:
            held[order[0]] = True
        if len(order) and held[own].all():
            held[order[-1]] = False
    return held[groups]


def title_leakage(titles: Sequence[str] | np.ndarray, held: np.ndarray) -> float:
    """Share of held-out rows whose normalised title also occurs among the training rows
    (0.0 when nothing is held out)."""
    normalised = [normalise_title(t) for t in titles]
    held = np.asarray(held, bool)
    trained = {t for t, h in zip(normalised, held, strict=True) if not h}
    tested = [t for t, h in zip(normalised, held, strict=True) if h]
    return sum(t in trained for t in tested) / len(tested) if tested else 0.0
