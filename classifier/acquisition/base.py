"""What every sampling strategy shares: input checks and "top n, most wanted first".

A strategy scores each candidate (higher = more wanted) and returns the ``n`` best
candidates. Inputs cover the whole pool (row ``i`` belongs to item ``i``); ``candidates``
are row indices into it, and only those rows are read (a NaN in a row that is not a
candidate is not an error).
"""

from __future__ import annotations

import operator
from typing import Any, ClassVar

import numpy as np

# float32 softmax rows sum to 1 within ~1e-6; a looser bound still catches logits.
PROBA_SUM_TOLERANCE = 1e-3


class Strategy:
    """Base class of the sampling strategies.

    Subclasses implement ``_gather`` (check the input and take the candidates' rows) and
    ``_score`` (one score per candidate, higher = more wanted).

    Attributes:
        last_scores_: ``(len(candidates),)`` float64 scores of the last ``select`` call,
            aligned with ``candidates`` (higher = more wanted).
    """

    name: ClassVar[str] = ""
    needs_input: ClassVar[bool] = True
    last_scores_: np.ndarray

    def select(self, scores_or_proba: Any, candidates: Any, n: int) -> np.ndarray:
        """Choose up to ``n`` candidates, most wanted first.

        Args:
            scores_or_proba: the strategy's input over the whole pool (see the subclass).
            candidates: ``(c,)`` distinct row indices into the input.
            n: how many to choose (``>= 0``).

        Returns:
            ``(min(n, c),)`` int64 indices, a subset of ``candidates``; ties are broken by
            candidate order.
        """
        n = check_n(n)
        cand = check_candidates(candidates)
        rows = self._gather(scores_or_proba, cand)
        scores = np.asarray(self._score(rows), dtype=np.float64)
        self.last_scores_ = scores
        return cand[top_positions(scores, n)]

    def _gather(self, data: Any, cand: np.ndarray) -> Any:
        raise NotImplementedError

    def _score(self, rows: Any) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({params})"


def check_n(n: Any) -> int:
    """``n`` as a non-negative int; ``ValueError`` otherwise."""
    if isinstance(n, bool):
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    try:
        value = operator.index(n)
    except TypeError:
        raise ValueError(f"n must be a non-negative integer, got {n!r}") from None
    if value < 0:
        raise ValueError(f"n must be a non-negative integer, got {value}")
    return value


def check_candidates(candidates: Any) -> np.ndarray:
    """``candidates`` as a 1-D int64 array of distinct non-negative indices."""
    cand = np.asarray(candidates)
    if cand.ndim != 1:
        raise ValueError(f"candidates must be 1-D, got shape {cand.shape}")
    if cand.size == 0:
        return np.zeros(0, dtype=np.int64)
    if cand.dtype.kind not in "iu":
        raise ValueError(f"candidates must be integer indices, got dtype {cand.dtype}")
    cand = cand.astype(np.int64, copy=False)
    if cand.min() < 0:
        raise ValueError(f"candidates must be non-negative, got {int(cand.min())}")
    if _has_duplicates(cand):
        raise ValueError("candidates must not contain duplicates")
    return cand


def _has_duplicates(cand: np.ndarray) -> bool:
    top = int(cand.max())
    if top < 8 * len(cand) + 1024:  # dense ids: counting beats sorting
        return bool(np.bincount(cand, minlength=top + 1).max() > 1)
    return len(np.unique(cand)) != len(cand)


def take_rows(arr: np.ndarray, cand: np.ndarray, axis: int = 0) -> np.ndarray:
    """``arr``'s rows (along ``axis``) at ``cand``; a view when ``cand`` is the whole
    pool in order, the usual case when a queue is rebuilt."""
    n = arr.shape[axis]
    if len(cand) == n and n > 0 and cand[0] == 0 and (np.diff(cand) == 1).all():
        return arr
    return np.take(arr, cand, axis=axis)


def check_in_range(cand: np.ndarray, n_rows: int) -> None:
    if cand.size and cand.max() >= n_rows:
        raise ValueError(
            f"candidate {int(cand.max())} is out of range for an input with {n_rows} rows"
        )


def as_float_array(data: Any, ndim: int, what: str) -> np.ndarray:
    """``data`` as a float ndarray with ``ndim`` dimensions, else ``ValueError``."""
    if data is None:
        raise ValueError(f"{what} is required, got None")
    arr = np.asarray(data)
    if arr.ndim != ndim:
        raise ValueError(f"{what} must be {ndim}-D, got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr


def check_finite(arr: np.ndarray, what: str) -> None:
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinite values")


def check_proba_rows(rows: np.ndarray, what: str = "proba") -> None:
    """Rows of ``rows`` (last axis = classes) must be finite, >= 0 and sum to 1."""
    if rows.shape[-1] == 0:
        raise ValueError(f"{what} needs at least one class column")
    if rows.size == 0:
        return
    check_finite(rows, what)
    if rows.min() < 0:
        raise ValueError(f"{what} contains negative values; pass probabilities, not logits")
    sums = rows.sum(axis=-1)
    if np.abs(sums - 1.0).max() > PROBA_SUM_TOLERANCE:
        raise ValueError(
            f"rows of {what} must sum to 1 (row sums range from {sums.min():.4g} to "
            f"{sums.max():.4g}); pass probabilities, not logits"
        )


def gather_proba(proba: Any, cand: np.ndarray) -> np.ndarray:
    """Check ``(N, k)`` probabilities and return the candidates' rows ``(c, k)``."""
    arr = as_float_array(proba, 2, "proba")
    check_in_range(cand, arr.shape[0])
    rows = take_rows(arr, cand)
    check_proba_rows(rows)
    return rows


def top_positions(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores, best first, ties in position order."""
    c = len(scores)
    n = min(n, c)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n < c // 8:
        # Partition first so a small batch from a big pool does not sort the whole pool.
        kth = np.partition(scores, c - n)[c - n]
        pos = np.flatnonzero(scores >= kth)
        return pos[np.argsort(-scores[pos], kind="stable")][:n]
    return np.argsort(-scores, kind="stable")[:n].astype(np.int64)


def xlogx(p: np.ndarray) -> np.ndarray:
    """``p * log(p)`` with ``0 log 0 = 0``, in ``p``'s float dtype."""
    return p * np.log(np.maximum(p, np.finfo(p.dtype).tiny))


def row_chunks(n: int, size: int = 16_384) -> list[slice]:
    """Row slices small enough for a few temporaries to stay in cache."""
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]
