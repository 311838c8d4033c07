"""The lexical view (classifier/lexical.py): char n-gram TF-IDF, its head and the pooling,
with numbers worked out by hand on tiny inputs."""

from __future__ import annotations

import numpy as np
import pytest

from classifier import lexical

TITLES = ["red apple", "green apple", "blue jeans", "black jeans", "apple", "jeans"]
LEAVES = np.array([0, 0, 1, 1, 0, 1])


def test_the_view_gives_unit_rows_and_a_zero_row_for_an_empty_title() -> None:
    view = lexical.CharNgramView(n_features=2**12).fit(TITLES)
    rows = view.transform(["red apple", "", "red apple"]).toarray()
    assert rows.shape == (3, 2**12)
    assert np.linalg.norm(rows, axis=1) == pytest.approx([1.0, 0.0, 1.0], abs=1e-6)
    assert rows[0] == pytest.approx(rows[2])


def test_the_head_puts_a_new_title_under_the_leaf_whose_titles_share_its_ngrams() -> None:
    view = lexical.CharNgramView(n_features=2**12).fit(TITLES)
    head = lexical.LexicalHead(3, epochs=20).fit(view.transform(TITLES), LEAVES)
    proba = head.predict_proba(view.transform(["yellow apple", "grey jeans"]))
    assert proba.shape == (2, 3)
    assert proba.argmax(axis=1).tolist() == [0, 1]
    assert proba.sum(axis=1) == pytest.approx([1.0, 1.0], abs=1e-6)


def test_a_leaf_the_head_never_saw_gets_the_rows_least_seen_probability() -> None:
    out = lexical.fill_unseen(np.array([[0.6, 0.3, 0.1]]), np.array([0, 2, 3]), 5)
    # [0.6, 0.1, 0.3, 0.1, 0.1] / 1.2
    assert out[0] == pytest.approx([0.5, 1 / 12, 0.25, 1 / 12, 1 / 12], abs=1e-6)


def test_the_head_is_uniform_without_labels_and_sure_with_one_leaf() -> None:
    view = lexical.CharNgramView(n_features=2**10).fit(TITLES)
    X = view.transform(TITLES)
    none = lexical.LexicalHead(4).fit(X, np.full(6, -1))  # partial labels only: left out
    assert none.predict_proba(X[:1])[0] == pytest.approx([0.25] * 4)
    one = lexical.LexicalHead(4).fit(X[:2], np.array([2, 2]))
    assert one.predict_proba(X[:1])[0].tolist() == [0.0, 0.0, 1.0, 0.0]


def test_pooling_halfway_takes_the_geometric_mean() -> None:
    fused = lexical.pool(np.array([[0.5, 0.5]]), np.array([[0.9, 0.1]]), 0.5)
    # sqrt(0.5 * 0.9) : sqrt(0.5 * 0.1) = 3 : 1
    assert fused[0] == pytest.approx([0.75, 0.25], abs=1e-5)


def test_pooling_with_weight_0_is_the_model_and_the_temperature_softens() -> None:
    p = np.array([[0.7, 0.2, 0.1]])
    assert lexical.pool(p, np.array([[0.0, 0.0, 1.0]]), 0.0)[0] == pytest.approx(p[0], abs=1e-5)
    # weight 1, T = 2: sqrt(0.8) : sqrt(0.2) = 2 : 1
    soft = lexical.pool(np.array([[0.5, 0.5]]), np.array([[0.8, 0.2]]), 1.0, 2.0)
    assert soft[0] == pytest.approx([2 / 3, 1 / 3], abs=1e-5)


def test_pooling_rejects_a_weight_outside_0_1() -> None:
    with pytest.raises(ValueError, match="weight"):
        lexical.pool(np.ones((1, 2)) / 2, np.ones((1, 2)) / 2, 1.5)


def test_the_pool_trusts_the_head_that_is_right_out_of_fold() -> None:
    truth = np.array([0, 1, 0, 1])
    right = np.eye(2)[truth] * 0.8 + 0.1  # 0.9 on the true leaf
    wrong = np.eye(2)[1 - truth] * 0.8 + 0.1
    assert lexical.fit_pool(wrong, right, truth)[0] == 1.0
    assert lexical.fit_pool(right, wrong, truth)[0] == 0.0


def test_the_pool_keeps_the_model_alone_without_held_out_rows() -> None:
    empty = np.zeros((0, 3))
    assert lexical.fit_pool(empty, empty, np.zeros(0, dtype=np.int64)) == (0.0, 1.0)


def test_nll_is_the_mean_minus_log_of_the_true_leaf() -> None:
    proba = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert lexical.nll(proba, np.array([0, 1])) == pytest.approx(-(np.log(0.5) + np.log(0.75)) / 2)


def test_the_pool_softens_an_overconfident_model_to_its_held_out_accuracy() -> None:
    model = np.tile([0.9, 0.1], (4, 1))  # says 0.9, right 3 times in 4
    uniform = np.full((4, 2), 0.5)  # the lexical head knows nothing
    weight, temperature = lexical.fit_pool(model, uniform, np.array([0, 0, 0, 1]))
    # NLL is least where the pooled confidence is 0.75 (at weight 0: 9 ** (1 / T) = 3, T = 2)
    fused = lexical.pool(model[:1], uniform[:1], weight, temperature)
    assert fused[0, 0] == pytest.approx(0.75, abs=1e-3)


def test_the_head_weighs_rows_by_their_leafs_count_to_the_minus_balance() -> None:
    head = lexical.LexicalHead(2, class_balance=0.5)
    # counts 3 and 1: weights 3 ** -0.5 and 1, divided by their mean (3 * 0.57735 + 1) / 4
    w = head._weights(np.array([0, 0, 0, 1]))
    mean = (3 * 3**-0.5 + 1) / 4
    assert w == pytest.approx([3**-0.5 / mean] * 3 + [1 / mean])
