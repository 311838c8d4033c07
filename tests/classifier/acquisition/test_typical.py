"""Typical (coverage) picks and the share of the batch they get."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.acquisition.queue_reasons import (
    TYPICAL,
    reason_inputs,
    reason_mixer,
    typical_quotas,
)
from classifier.acquisition.typical import typical_picks, typical_scores, typical_share


def _blob(direction: np.ndarray, n: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` points around ``direction``: the first exactly on it, the rest jittered."""
    jitter = rng.normal(scale=spread, size=(n, len(direction)))
    jitter[0] = 0.0
    return (direction + jitter).astype(np.float32)


@pytest.fixture
def two_regions() -> np.ndarray:
    """Rows 0-29: a large region around e0 (row 0 its centre); rows 30-39: a small one
    around e1 (row 30 its centre)."""
    rng = np.random.default_rng(0)
    e = np.eye(8, dtype=np.float32)
    return np.concatenate([_blob(e[0], 30, 0.05, rng), _blob(e[1], 10, 0.05, rng)])


def test_without_labels_the_first_pick_is_the_centre_of_the_largest_region(two_regions):
    picks, sizes = typical_picks(two_regions, np.zeros((0, 8), np.float32), n=2, seed=0)

    # k = 0 labelled + 2 wanted = 2 clusters: the regions. Largest first, each its centre
    # (the row whose neighbours are closest on average is the one with no jitter).
    assert picks.tolist() == [0, 30]
    assert sizes.tolist() == [30.0, 10.0]


def test_a_labelled_region_is_covered_and_the_pick_moves_to_the_other(two_regions):
    labelled = two_regions[:1] + 0.01  # one label near the large region's centre

    picks, sizes = typical_picks(two_regions[1:], labelled, n=1, seed=0)

    # Two clusters again (1 label + 1 wanted); the large one holds the label, so the pick
    # is the small region's centre (row 30 of the full array, 29 of the pool passed).
    assert picks.tolist() == [29]
    assert sizes.tolist() == [10.0]


def test_rows_without_a_vector_are_never_picked(two_regions):
    pool = two_regions.copy()
    pool[0] = np.nan  # the large region's centre has no embedding

    picks, _ = typical_picks(pool, np.zeros((0, 8), np.float32), n=2, seed=0)

    assert 0 not in picks.tolist()
    assert len(picks) == 2


def test_scores_rank_the_picks_in_order_and_nothing_else():
    scores = typical_scores(np.array([4, 1, 7]), 9)

    assert scores.tolist() == [0, 2, 0, 0, 3, 0, 0, 1, 0]


def test_mixer_takes_typical_picks_in_order_and_no_other_row():
    n_rows = 10
    uncertain = np.linspace(0.0, 1.0, n_rows)  # row 9 most uncertain, then 8, ...
    scores = {"uncertain": uncertain, TYPICAL: typical_scores(np.array([2, 5]), n_rows)}
    weights = {"uncertain": 0.5, TYPICAL: 0.5}
    mixer = reason_mixer(weights, np.eye(n_rows, dtype=np.float32))

    chosen, reasons = mixer.select_with_reasons(
        reason_inputs(scores, weights), np.arange(n_rows), 6
    )

    by_reason = {
        r: [c for c, rr in zip(chosen.tolist(), reasons, strict=True) if rr == r] for r in weights
    }
    # Typical has two picks: it gives them, in order, then hands its share to uncertain.
    assert by_reason[TYPICAL] == [2, 5]
    assert sorted(by_reason["uncertain"]) == [6, 7, 8, 9]


def test_share_is_the_expected_error_on_the_pool():
    assert typical_share(np.array([0.9, 0.7])) == pytest.approx(0.2)
    assert typical_share(np.array([0.5, np.nan])) == pytest.approx(0.5)
    assert typical_share(np.zeros(0)) == 0.0


def test_quotas_give_typical_its_share_of_the_ranked_part_only():
    quotas = {"uncertain": 0.4, "novel": 0.4, "audit": 0.2}

    mixed = typical_quotas(quotas, 0.25)

    # Ranked part 0.8: typical 0.25 * 0.8 = 0.2, the two ranked reasons 0.4 * 0.75 = 0.3.
    assert mixed == pytest.approx({"uncertain": 0.3, "novel": 0.3, "audit": 0.2, TYPICAL: 0.2})
    assert typical_quotas(quotas, 0.0) == quotas
    assert typical_quotas({"audit": 1.0}, 0.5) == {"audit": 1.0}


def test_an_empty_cluster_is_passed_over_not_the_end_of_the_picks(monkeypatch):
    from classifier.acquisition import typical

    pool = np.eye(4, dtype=np.float32)
    labelled = np.eye(4, dtype=np.float32)[2:]
    # k = 2 labels + 2 wanted = 4. Pool rows 0-1 in cluster 0 (no label), rows 2-3 in
    # cluster 1 with label 0; cluster 2 is empty; cluster 3 holds label 1 only.
    monkeypatch.setattr(typical, "_kmeans", lambda points, k, seed: np.array([0, 0, 1, 1, 1, 3]))

    picks, sizes = typical_picks(pool, labelled, n=2, seed=0)

    # Cluster 0 first (uncovered), then cluster 1 (covered, 2 rows per 1 + 1 labels): the
    # empty cluster 2, ranked between them, does not end the picks.
    assert len(picks) == 2 and picks[0] in (0, 1) and picks[1] in (2, 3)
    assert sizes.tolist() == [2.0, 2.0]
