"""The estimator's inputs: checking ``{modality: (n, d)}`` feature dicts and stacking them into
float32 tensors, whole (training rows) or chunk by chunk (prediction)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch

Features = Mapping[str, np.ndarray]


def present(x: np.ndarray, n_labels: int) -> bool:
    """A modality takes part unless labelled rows exist and none of them has it: a catalog
    without images gives an all-NaN image block, whose heads would learn nothing yet cost
    most of each step and of every prediction (1280-d against a 384-d title: 5,000 labels
    over the Google taxonomy's 4,719 leaves, 300 steps, fit in 75.9 s with it, 24.4 s
    without)."""
    if n_labels == 0 or len(x) == 0:
        return True
    return bool(np.isfinite(x).all(axis=1).any())


def check_features(
    X: Features, modalities: Sequence[str], dims: Mapping[str, int] | None
) -> dict[str, np.ndarray]:
    """The arrays of ``X`` for ``modalities`` (``{modality: (n, d)}``), checked.

    ``dims`` ``{modality: d}`` are the fitted widths, or None before the fit (any width).
    Raises ``TypeError`` when ``X`` is no mapping and ``ValueError`` when it has none of the
    modalities, arrays of different lengths, or an array of the wrong shape.
    """
    if not isinstance(X, Mapping):
        raise TypeError("X must be a dict {modality: (n, d) array}")
    arrays = {m: X[m] for m in modalities if m in X}
    if not arrays:
        raise ValueError(f"X has none of the modalities {modalities}")
    if len({len(a) for a in arrays.values()}) > 1:
        raise ValueError("all arrays in X must have the same number of rows")
    for m, a in arrays.items():
        if a.ndim != 2 or (dims is not None and a.shape[1] != dims[m]):
            raise ValueError(
                f"X[{m!r}] must be (n, {dims.get(m, 'd') if dims is not None else 'd'})"
            )
    return arrays


def n_rows(X: Features) -> int:
    """Rows of checked features (all arrays have the same length)."""
    return len(next(iter(X.values())))


def row_tensors(
    X: Features, modalities: Sequence[str], rows: np.ndarray
) -> dict[str, torch.Tensor]:
    """``{modality: (len(rows), d)}`` tensors of the selected rows (contiguous copies)."""
    return {m: torch.from_numpy(np.ascontiguousarray(X[m][rows])) for m in modalities}


def feature_chunks(
    X: Features, modalities: Sequence[str], dims: Mapping[str, int], chunk_size: int
) -> Iterator[dict[str, torch.Tensor]]:
    """``{modality: (chunk, dims[modality])}`` float32 tensors for ``modalities``, chunk by
    chunk; a modality missing from ``X`` is all NaN (its items lack it)."""
    n = n_rows(X)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        yield {
            m: torch.from_numpy(np.asarray(X[m][start:stop], dtype=np.float32))
            if m in X
            else torch.full((stop - start, dims[m]), float("nan"))
            for m in modalities
        }


def check_weights(weights: np.ndarray | None, n: int) -> np.ndarray | None:
    """``(n,)`` float32 sample weights, finite and >= 0, not all zero, scaled to mean 1 (None
    stays None): they say which rows count more, not how long to train."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float32).reshape(-1)
    if len(w) != n:
        raise ValueError(f"sample_weight has {len(w)} weights for {n} labels")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight must be finite and >= 0")
    if n and not w.any():
        raise ValueError("sample_weight is zero for every row: nothing to learn from")
    return w / w.mean() if n else w


def weighted_rows(
    X: Features, y: np.ndarray, weights: np.ndarray | None
) -> tuple[Features, np.ndarray, np.ndarray | None]:
    """``X``, ``y`` and checked weights (see :func:`check_weights`) without the rows of weight
    0: a label known to be wrong must not steer early stopping or the temperature either."""
    w = check_weights(weights, len(y))
    if w is None or w.all():
        return X, y, w
    keep = w > 0
    return {m: x[keep] for m, x in X.items()}, y[keep], w[keep] / w[keep].mean()
