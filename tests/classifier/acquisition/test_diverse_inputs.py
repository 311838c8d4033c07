"""The review queue's inputs to DiverseBatch: the shortlist, and the projected embeddings."""

from __future__ import annotations

import numpy as np

from classifier.acquisition.diverse import diversity_embeddings, diversity_shortlist


def test_the_shortlist_is_the_union_of_each_rankings_best_rows() -> None:
    uncertain = np.array([0.9, 0.1, 0.8, 0.2, 0.0])
    novel = np.array([0.0, 0.3, 0.1, 0.9, 0.2])
    rows = diversity_shortlist([uncertain, novel], keep=2)
    np.testing.assert_array_equal(rows, [0, 1, 2, 3])


def test_ties_go_to_the_lower_row_and_a_large_keep_takes_every_row() -> None:
    flat = np.zeros(6)
    np.testing.assert_array_equal(diversity_shortlist([flat], keep=2), [0, 1])
    np.testing.assert_array_equal(diversity_shortlist([flat], keep=6), np.arange(6))
    np.testing.assert_array_equal(diversity_shortlist([flat], keep=50), np.arange(6))


def test_no_ranking_gives_an_empty_shortlist() -> None:
    rows = diversity_shortlist([], keep=3)
    assert rows.shape == (0,) and rows.dtype == np.int64


def test_narrow_modalities_are_normalised_side_by_side_missing_as_zeros() -> None:
    text = np.array([[3.0, 4.0], [0.0, 2.0]])
    image = np.array([[1.0, 0.0, 0.0], [np.nan, np.nan, np.nan]])
    emb = diversity_embeddings([text, image], dim=8)
    np.testing.assert_allclose(emb, [[0.6, 0.8, 1, 0, 0], [0, 1, 0, 0, 0]], atol=1e-6)
    assert emb.dtype == np.float32


def test_wide_embeddings_are_projected_the_same_way_every_time() -> None:
    rng = np.random.default_rng(5)
    # Four clusters of near-duplicates: near stays near and far stays far.
    a = np.repeat(rng.normal(size=(4, 100)), 10, axis=0) + 0.05 * rng.normal(size=(40, 100))
    b = np.repeat(rng.normal(size=(4, 60)), 10, axis=0) + 0.05 * rng.normal(size=(40, 60))
    emb = diversity_embeddings([a, b], dim=16)
    assert emb.shape == (40, 16)
    np.testing.assert_array_equal(emb, diversity_embeddings([a, b], dim=16))
    assert not np.array_equal(emb, diversity_embeddings([a, b], dim=16, seed=1))
    # Johnson-Lindenstrauss: a pair's distance survives the projection up to a common scale.
    joined = np.concatenate([v / np.linalg.norm(v, axis=1, keepdims=True) for v in (a, b)], axis=1)
    before = np.linalg.norm(joined[:, None] - joined[None], axis=2)[np.triu_indices(40, 1)]
    after = np.linalg.norm(emb[:, None] - emb[None], axis=2)[np.triu_indices(40, 1)]
    assert np.corrcoef(before, after)[0, 1] > 0.9


def test_no_modality_gives_an_empty_embedding() -> None:
    assert diversity_embeddings([], dim=4).shape == (0, 1)
