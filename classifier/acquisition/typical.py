"""Typical picks: one item from each of the largest regions of the catalog no label covers yet.

With a few labels per leaf (436 leaves and 1,000 labels on BigBasket) a model's uncertainty
is mostly noise: it is unsure everywhere, and the items it is *least* sure about are odd
ones that teach it little. What pays there is coverage: a label on a typical item of a dense,
unlabelled region (TypiClust: Hacohen, Dekel and Weinshall, "Active Learning on a Budget",
ICML 2022). Once the model is mostly right, uncertainty pays again. The queue mixes the two
by ``typical_share``: the model's own expected error on the pool.

``typical_picks`` clusters the pool's and the labelled items' embeddings into ``labelled + n``
clusters (k-means, capped at ``MAX_CLUSTERS``), ranks the clusters that hold no labelled
item by size (then the covered ones by unlabelled items per label), and picks in each the
member with the densest neighbourhood (inverse mean distance to its ``TYPICALITY_NEIGHBOURS``
nearest members), with the number of unlabelled items in each pick's cluster ("typical of 57
unlabelled items" is what a reviewer is told). ``typical_scores`` turns the picks into a
ranking the queue's ``QuotaMixer`` takes like any other reason's scores.
"""

from __future__ import annotations

import numpy as np

# k-means over more clusters than this costs more than a queue rebuild should; past it the
# covered clusters are ranked by unlabelled items per label instead.
MAX_CLUSTERS = 2000
# Pool rows clustered at most (a seeded sample of the candidates beyond it).
MAX_POINTS = 20_000
# Density is measured among this many nearest members of a cluster...
TYPICALITY_NEIGHBOURS = 20
# ...within a seeded sample of at most this many members (a quadratic step).
TYPICALITY_SAMPLE = 2000
# Rows scoring below this in ``typical_scores`` are not picks (the mixer's floor).
TYPICAL_FLOOR = 0.5


def typical_picks(
    pool: np.ndarray, labelled: np.ndarray, n: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``pool`` ``(N, d)`` to label next for coverage, and each pick's score.

    Returns ``(picks, sizes)``: up to ``n`` distinct int64 row indices, most wanted first, and
    the float64 number of sampled unlabelled rows in each pick's cluster.
    """
    rng = np.random.default_rng(seed)
    usable = np.flatnonzero(_has_vector(pool))
    if n <= 0 or len(usable) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    if len(usable) > MAX_POINTS:
        usable = np.sort(rng.choice(usable, MAX_POINTS, replace=False))
    lab = labelled[_has_vector(labelled)] if len(labelled) else labelled
    if len(lab) > MAX_POINTS:
        lab = lab[rng.choice(len(lab), MAX_POINTS, replace=False)]
    points = _unit(np.concatenate([pool[usable], lab]) if len(lab) else pool[usable])
    k = int(min(len(lab) + n, MAX_CLUSTERS, len(points)))
    assign = _kmeans(points, k, seed)
    pool_assign, lab_assign = assign[: len(usable)], assign[len(usable) :]
    sizes = np.bincount(pool_assign, minlength=k).astype(np.float64)
    covered = np.bincount(lab_assign, minlength=k).astype(np.float64)
    # Uncovered clusters first, largest first; then unlabelled rows per label.
    order = np.lexsort((-sizes / (1.0 + covered), covered > 0))
    picks: list[int] = []
    scores: list[float] = []
    for c in order:
        if len(picks) >= n:
            break
        if sizes[c] == 0:  # labels only (or an empty cluster): nothing to ask for there
            continue
        members = np.flatnonzero(pool_assign == c)
        picks.append(int(usable[members[_most_typical(points[members], rng)]]))
        scores.append(float(sizes[c]))
    return np.asarray(picks, dtype=np.int64), np.asarray(scores, dtype=np.float64)


def typical_scores(picks: np.ndarray, n_rows: int) -> np.ndarray:
    """``(n_rows,)`` float64: ``len(picks) - i`` for the ``i``-th pick, 0 elsewhere, so a
    ranking by score is the picks' order and every pick scores above ``TYPICAL_FLOOR``."""
    scores = np.zeros(n_rows, dtype=np.float64)
    scores[np.asarray(picks, dtype=np.int64)] = np.arange(len(picks), 0, -1, dtype=np.float64)
    return scores


def typical_share(confidence: np.ndarray) -> float:
    """The share of a batch to give to coverage: ``1 -`` the mean top-1 probability over the
    pool, the model's own estimate of how often it is wrong there (0 for an empty pool).

    Measured with the simulator (titles, grouped split, 1,000 labels): on BigBasket, where the
    model is right about half the time, this is ~0.45 of the ranked part of the batch; on
    fashion, right nine times in ten, ~0.1."""
    conf = np.asarray(confidence, dtype=np.float64)
    conf = conf[np.isfinite(conf)]
    if len(conf) == 0:
        return 0.0
    return float(np.clip(1.0 - conf.mean(), 0.0, 1.0))


def _has_vector(x: np.ndarray) -> np.ndarray:
    """``(n,)`` bool: finite rows that are not all zero (``diversity_embeddings`` turns a
    missing vector into zeros)."""
    finite = np.isfinite(x).all(axis=1)
    return finite & (np.abs(np.where(finite[:, None], x, 0.0)).sum(axis=1) > 0)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _kmeans(points: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cluster index of each row (mini-batch k-means; one init: the picks need regions, not
    the optimal partition)."""
    from sklearn.cluster import MiniBatchKMeans

    if k <= 1:
        return np.zeros(len(points), dtype=np.int64)
    km = MiniBatchKMeans(k, random_state=seed, batch_size=4096, n_init=1, max_iter=30)
    return km.fit_predict(points).astype(np.int64)


def _most_typical(members: np.ndarray, rng: np.random.Generator) -> int:
    """Position in ``members`` (unit rows) of the row with the smallest mean distance to
    its nearest neighbours; a sample of ``TYPICALITY_SAMPLE`` stands in for a huge cluster."""
    if len(members) <= 2:
        return 0
    rows = np.arange(len(members))
    if len(rows) > TYPICALITY_SAMPLE:
        rows = np.sort(rng.choice(rows, TYPICALITY_SAMPLE, replace=False))
    sub = members[rows]
    dist = np.sqrt(np.maximum(2.0 - 2.0 * (sub @ sub.T), 0.0))
    k = min(TYPICALITY_NEIGHBOURS, len(sub) - 1)
    # The k + 1 smallest of a row are the row itself (distance 0) and its k nearest.
    nearest = np.partition(dist, k, axis=1)[:, : k + 1].sum(axis=1)
    return int(rows[np.argmin(nearest)])
