"""Auto-accept with a precision guarantee (``classifier.certify``), on numbers worked by hand.

The small cases use target 0.9 at alpha 0.05, where zero errors certify from 29 decisions
(0.9 ** 28 = 0.052 > 0.05 >= 0.9 ** 29 = 0.047) and one error from 46.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from classifier.certify import (
    AUTO_ACCEPTED,
    LABELLED,
    NEEDS_REVIEW,
    ROOT,
    AutoAcceptPolicy,
    apply,
    audit_needs,
    clopper_pearson_lower,
    errors_p_value,
    min_decisions,
    predicted_paths,
    statuses,
)
from classifier.tree import Tree

TREE = Tree.from_paths([("A", "a1"), ("A", "a2"), ("B", "b1")])
NODE = {name: i for i, name in enumerate(TREE.names)}
COL = {TREE.names[n]: int(TREE.leaf_index[n]) for n in TREE.leaves}


def rows(*spec: tuple[int, dict[str, float]]) -> np.ndarray:
    """``(count, {leaf: probability})`` pairs -> leaf probability rows."""
    out = []
    for count, probs in spec:
        row = np.zeros(TREE.n_leaves)
        for leaf, p in probs.items():
            row[COL[leaf]] = p
        out += [row] * count
    return np.array(out)


def truths(*spec: tuple[int, str]) -> np.ndarray:
    return np.array([NODE[name] for count, name in spec for _ in range(count)])


SURE_A1 = {"a1": 0.97, "a2": 0.02, "b1": 0.01}
SURE_B1 = {"b1": 0.97, "a1": 0.02, "a2": 0.01}
UNSURE_LEAF = {"a1": 0.7, "a2": 0.2, "b1": 0.1}  # A is 0.9


def test_clopper_pearson_matches_known_values():
    assert clopper_pearson_lower(300, 300) == pytest.approx(0.05 ** (1 / 300))  # 0.99006
    assert clopper_pearson_lower(300, 300) == pytest.approx(0.99006, abs=1e-5)
    assert clopper_pearson_lower(29, 30) == pytest.approx(0.85140, abs=1e-5)  # Beta(29, 2)
    assert clopper_pearson_lower(0, 10) == 0.0


def test_clopper_pearson_agrees_with_the_beta_quantile():
    beta = pytest.importorskip("scipy.stats").beta
    for k, n, alpha in [(1, 7, 0.05), (95, 100, 0.05), (950, 1000, 0.01), (470, 473, 0.05)]:
        expected = beta.ppf(alpha, k, n - k + 1)
        assert clopper_pearson_lower(k, n, alpha) == pytest.approx(expected, abs=1e-9)


def test_the_test_rejects_exactly_when_the_bound_clears_the_target():
    for errors, n in [(0, 299), (0, 298), (1, 473), (1, 472), (2, 628), (2, 627)]:
        rejects = errors_p_value(errors, n, 0.99) <= 0.05
        assert rejects == (clopper_pearson_lower(n - errors, n) >= 0.99)
    assert [min_decisions(0.99, 0.05, e) for e in range(3)] == [299, 473, 628]
    assert min_decisions(0.9, 0.05) == 29 and min_decisions(0.9, 0.05, 1) == 46


def test_paths_walk_down_the_most_probable_children():
    paths = predicted_paths(TREE, rows((1, {"a1": 0.4, "b1": 0.35, "a2": 0.25})))
    assert paths.nodes.tolist() == [[NODE["A"], NODE["a1"]]]
    np.testing.assert_allclose(paths.proba, [[0.65, 0.4]])
    node, conf = paths.accepted(0.6)
    assert node.tolist() == [NODE["A"]] and conf.tolist() == pytest.approx([0.65])


def test_it_keeps_the_lowest_threshold_of_an_unbroken_run_of_passes():
    # 30 audit items, no subtree has 29: one pooled unit. The model expects the test most
    # likely to pass at 0.8 (30 decisions, believed 0.947: 0.947^30 = 0.19; at 0.95 only 20,
    # too few; at 0.6 it believes 0.88). At 0.8 the unsure ones are accepted at A, all right:
    # 0.9^30 = 0.042 <= 0.05, pass. At 0.6 they go to a1 and 4 are a2: fail, stop.
    proba = rows((10, SURE_A1), (10, SURE_B1), (10, UNSURE_LEAF))
    y = truths((10, "a1"), (10, "b1"), (6, "a1"), (4, "a2"))
    policy = AutoAcceptPolicy(TREE, target=0.9, slack_errors=0, grid=(0.95, 0.8, 0.6))
    policy.fit(proba, y)
    [unit] = policy.units_
    assert (unit.node, unit.start, unit.threshold) == (ROOT, 0.8, 0.8)
    assert (unit.n_accepted, unit.n_errors, unit.alpha) == (30, 0, 0.05)
    assert unit.lower_bound == pytest.approx(0.05 ** (1 / 30))  # 0.905
    assert policy.thresholds_.tolist() == [0.8] * TREE.n_nodes


def test_it_stops_at_the_first_failure_even_where_a_lower_threshold_would_pass():
    # Start at 0.95 (believed 0.97: 0.97^30 = 0.40; at 0.8 46 decisions believed 0.91 give
    # P(<= 1 error) = 0.07). One error in 30 at 0.95: p = 0.18, stop: nothing certified,
    # although 0.8 alone (1 error in 46, p = 0.048) would have passed; scanning for it
    # would be a second look at the same labels.
    proba = rows(
        (15, SURE_A1), (15, SURE_B1),
        (8, {"a1": 0.8, "a2": 0.1, "b1": 0.1}), (8, {"b1": 0.8, "a1": 0.1, "a2": 0.1}),
    )  # fmt: skip
    y = truths((14, "a1"), (1, "b1"), (15, "b1"), (8, "a1"), (8, "b1"))
    policy = AutoAcceptPolicy(TREE, target=0.9, slack_errors=0, grid=(0.95, 0.8))
    [unit] = policy.fit(proba, y).units_
    assert unit.start == 0.95 and math.isinf(unit.threshold) and unit.lower_bound is None
    assert errors_p_value(1, 46, 0.9) <= 0.05
    assert np.isinf(policy.thresholds_).all()


def test_a_leaf_with_enough_audit_items_gets_its_own_threshold_and_the_rest_pool_to_the_root():
    # a1 holds 40 >= 29 expected audit items: a unit. Two units split alpha: 0.025 each,
    # where zero errors need 36 decisions (a1's 40 still suffice).
    proba = rows((40, SURE_A1), (10, {"a2": 0.97, "a1": 0.02, "b1": 0.01}), (10, SURE_B1))
    y = truths((40, "a1"), (10, "a2"), (10, "b1"))
    policy = AutoAcceptPolicy(TREE, target=0.9, slack_errors=0, grid=(0.95, 0.8), plan_share=1)
    policy.fit(proba, y)
    assert policy.unit_alpha_ == 0.025 and policy.unit_size_ == 36
    assert policy.unit_of_.tolist() == [ROOT, NODE["a1"], ROOT, ROOT, ROOT]  # A a1 a2 B b1
    leaf_unit, root = policy.units_
    # 0.9^40 = 0.015 <= 0.025 at 0.95, and at 0.8 (the same 40 decisions): 0.8 is kept.
    assert (leaf_unit.node, leaf_unit.threshold, leaf_unit.n_accepted) == (NODE["a1"], 0.8, 40)
    assert (root.node, root.n_audit) == (ROOT, 20)
    assert math.isinf(root.threshold)  # 20 decisions cannot certify 0.9 at 0.025
    assert policy.thresholds_[NODE["a1"]] == 0.8 and np.isinf(policy.thresholds_[NODE["b1"]])


def test_the_reference_items_not_the_audit_labels_size_the_units():
    # The same audit items, but in the catalog a1 is a tenth and b1 two thirds: a1 expects 6
    # of the 60 audit items, a2 15, b1 39 (>= 36, the size at two units' alpha 0.025).
    proba = rows((40, SURE_A1), (10, {"a2": 0.97, "a1": 0.02, "b1": 0.01}), (10, SURE_B1))
    y = truths((40, "a1"), (10, "a2"), (10, "b1"))
    reference = rows((10, SURE_A1), (65, SURE_B1), (25, {"a2": 0.97, "a1": 0.02, "b1": 0.01}))
    policy = AutoAcceptPolicy(TREE, target=0.9, slack_errors=0, grid=(0.95, 0.8), plan_share=1)
    policy.fit(proba, y, reference_proba=reference)
    assert [u.node for u in policy.units_] == [NODE["b1"], ROOT]
    assert policy.units_[0].n_audit == 10  # its threshold is still tested on audit items


def test_the_default_grid_adds_a_percent_of_the_catalog_per_step_from_where_counts_suffice():
    # 100 catalog items, A at 0.99, 0.986, ... 0.594: the k-th threshold accepts k of them.
    # 60 audit items expect 0.6 k decisions: N[1] = 46 first at k = 77 (0.99 - 76 x 0.004);
    # 40 never reach 46 and start at N[0] = 29 (k = 73); 20 cannot reach 29: no test.
    c = 0.99 - 0.004 * np.arange(100)
    catalog = np.stack([c, np.zeros(100), 1 - c], axis=1)  # columns a1, a2, b1
    for n_audit, start in [(60, 0.99 - 76 * 0.004), (40, 0.99 - 72 * 0.004), (20, None)]:
        policy = AutoAcceptPolicy(TREE, target=0.9)
        [unit] = policy.fit(
            rows((n_audit, SURE_A1)), truths((n_audit, "a1")), reference_proba=catalog
        ).units_
        assert unit.start == (None if start is None else pytest.approx(start))


def test_apply_accepts_at_the_deepest_path_node_that_clears_its_units_threshold():
    policy = AutoAcceptPolicy(TREE)
    policy.thresholds_ = np.array([0.8, 0.8, 0.8, math.inf, math.inf])  # A a1 a2 B b1
    proba = rows(
        (1, SURE_A1), (1, UNSURE_LEAF), (1, {"b1": 0.99, "a1": 0.01}),
        (1, {"a1": 0.5, "a2": 0.25, "b1": 0.25}),
    )  # fmt: skip
    decisions = apply(policy, proba)
    assert decisions.node.tolist() == [NODE["a1"], NODE["A"], -1, -1]
    assert decisions.accepted.tolist() == [True, True, False, False]
    np.testing.assert_allclose(decisions.confidence, [0.97, 0.9, 0.99, 0.5])
    labelled = np.array([False, False, False, True])
    assert statuses(decisions, labelled).tolist() == [
        AUTO_ACCEPTED, AUTO_ACCEPTED, NEEDS_REVIEW, LABELLED,
    ]  # fmt: skip


def test_audit_needs_says_how_many_more_uniform_labels_each_node_wants():
    # A unit's size at plan_share 1 is N[0] = 29 audit items. 10 audit items (5 through A):
    # the root lacks 19, A lacks 24 of its own, which takes 48 uniform draws (half the
    # catalog is in A).
    sure = {"a1": 0.999, "a2": 0.0005, "b1": 0.0005}
    proba = rows((5, sure), (5, {"b1": 0.999, "a1": 0.0005, "a2": 0.0005}))
    y = truths((5, "a1"), (5, "b1"))
    policy = AutoAcceptPolicy(TREE, target=0.9, slack_errors=0, grid=(0.99,), plan_share=1)
    needs = {n.node: n for n in audit_needs(policy.fit(proba, y))}
    assert (needs[ROOT].have, needs[ROOT].need, needs[ROOT].extra_audit) == (10, 29, 19)
    assert (needs[NODE["A"]].have, needs[NODE["A"]].need, needs[NODE["A"]].extra_audit) == (
        5, 29, 48,
    )  # fmt: skip
    assert NODE["a2"] not in needs  # nothing is predicted there
    assert not needs[ROOT].covered
    assert [n.node for n in policy.audit_needs([ROOT])] == [ROOT]


def test_it_certifies_nothing_without_audit_items():
    policy = AutoAcceptPolicy(TREE).fit(np.zeros((0, 3)), np.zeros(0, dtype=int))
    assert np.isinf(policy.thresholds_).all()
    assert not apply(policy, rows((2, SURE_A1))).accepted.any()


def test_it_rejects_thresholds_at_or_below_one_half_and_mismatched_labels():
    with pytest.raises(ValueError, match="grid"):
        AutoAcceptPolicy(TREE, grid=(0.9, 0.5)).fit(rows((1, SURE_A1)), truths((1, "a1")))
    with pytest.raises(ValueError, match="rows"):
        AutoAcceptPolicy(TREE).fit(rows((2, SURE_A1)), truths((1, "a1")))


def _calibrated(rng: np.random.Generator, tree: Tree, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A perfectly calibrated model: the true leaf is drawn from the predicted probabilities."""
    logits = rng.normal(size=(n, tree.n_leaves)) * rng.choice([2, 8, 15, 30], size=(n, 1))
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    leaf = (proba.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1).clip(max=tree.n_leaves - 1)
    return proba, tree.leaves[leaf]


def test_what_it_accepts_keeps_the_target_precision_in_at_least_95_percent_of_draws():
    tree = Tree.from_paths([(a, f"{a}{i}") for a in "ABCD" for i in range(5)])
    rng = np.random.default_rng(0)
    failures, certified = 0, 0
    for _ in range(30):
        audit, y_audit = _calibrated(rng, tree, 1500)
        catalog, y_catalog = _calibrated(rng, tree, 4000)
        policy = AutoAcceptPolicy(tree).fit(audit, y_audit, reference_proba=catalog)
        decided = policy.apply(catalog)
        if decided.accepted.any():
            certified += 1
            right = tree.ancestors[decided.node[decided.accepted], y_catalog[decided.accepted]]
            failures += int(right.mean() < 0.99)
    assert certified >= 20 and failures <= 2
