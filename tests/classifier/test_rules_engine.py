"""The rule engine (``classifier.rules``) on a five-item chunk worked by hand.

Tree: Apparel > {Shirts, Jeans}, Footwear > {Shoes, Boots}; leaf columns in that order.

    row  title               description               attributes                        top, p
    0    Red cotton Shirt    Slim-Fit, long sleeves    brand Acme, size "42", red/blue   Shirts .9
    1    Denim jeans 32W     -                         brand " acme ", size 32           Jeans .45
    2    Leather boots       waterproof\\nwinter         brand Boot&Co, size 44.0          Shoes .55
    3    Shampoo 250 ml      -                         (none)                            -, NaN
    4    T-shirt slim fit    -                         (not a dict)                      Shirts .3
"""

from __future__ import annotations

import numpy as np
import pytest

from classifier.rules import (
    ASSIGN,
    ATTRIBUTE_EQUALS,
    ATTRIBUTE_IN,
    ATTRIBUTE_RANGE,
    CONFIDENCE_ABOVE,
    CONFIDENCE_BELOW,
    FORBID,
    PHRASE,
    PREDICTED_IS,
    PREDICTED_UNDER,
    REGEX,
    REVIEW,
    WORDS,
    Condition,
    ItemBatch,
    Rule,
    RuleSet,
    forbid_renormalise,
    top_k,
)
from classifier.rules.text import EACH, JOINED, LINES, Pattern, regex_rows
from classifier.tree import Tree

TREE = Tree.from_paths(
    [("Apparel", "Shirts"), ("Apparel", "Jeans"), ("Footwear", "Shoes"), ("Footwear", "Boots")]
)
APPAREL, SHIRTS, JEANS, FOOTWEAR, SHOES, BOOTS = (
    TREE.index_of(k)
    for k in (
        "Apparel",
        "Apparel > Shirts",
        "Apparel > Jeans",
        "Footwear",
        "Footwear > Shoes",
        "Footwear > Boots",
    )
)
BATCH = ItemBatch(
    titles=[
        "Red cotton Shirt",
        "Denim jeans 32W",
        "Leather boots",
        "Shampoo 250 ml",
        "T-shirt slim fit",
    ],
    descriptions=["Slim-Fit, long sleeves", "", "waterproof\nwinter", "", ""],
    attributes=[
        {"brand": "Acme", "size": "42", "colors": ["Red", "Blue"]},
        {"brand": " acme ", "size": 32},
        {"brand": "Boot&Co", "size": 44.0},
        {},
        None,
    ],
    predicted=np.array([SHIRTS, JEANS, SHOES, -1, SHIRTS]),
    confidence=np.array([0.9, 0.45, 0.55, np.nan, 0.3]),
)


def hits_of(*conditions: Condition) -> list[int]:
    result = RuleSet([Rule(REVIEW, conditions, reason="r")], TREE).apply(BATCH)
    return sorted(result.hit_rows.tolist())


@pytest.mark.parametrize(
    ("condition", "rows"),
    [
        (Condition(WORDS, "title", ("shirt", "BOOTS")), [0, 2, 4]),
        (Condition(WORDS, "description", ("winter",)), [2]),
        (Condition(WORDS, "text", ("sleeves", "denim")), [0, 1]),
        (Condition(PHRASE, "text", "slim fit"), [0, 4]),
        (Condition(PHRASE, "title", "slim fit"), [4]),
        (Condition(PHRASE, "title", "fit slim"), []),
        (Condition(REGEX, "title", r"\d+\s*ml\b"), [3]),
        (Condition(REGEX, "title", r"^(red|leather)\b"), [0, 2]),
        (Condition(REGEX, "description", r"^winter$"), []),
        (Condition(REGEX, "description", r"proof\nwin"), [2]),
        (Condition(ATTRIBUTE_EQUALS, "brand", "ACME"), [0, 1]),
        (Condition(ATTRIBUTE_IN, "colors", ("blue", "green")), [0]),
        (Condition(ATTRIBUTE_RANGE, "size", (40, 45)), [0, 2]),
        (Condition(ATTRIBUTE_RANGE, "size", (None, 32)), [1]),
        (Condition(PREDICTED_IS, node=SHOES), [2]),
        (Condition(PREDICTED_UNDER, node=APPAREL), [0, 1, 4]),
        (Condition(CONFIDENCE_BELOW, value=0.5), [1, 4]),
        (Condition(CONFIDENCE_ABOVE, value=0.5), [0, 2]),
    ],
)
def test_each_condition_hits_the_rows_worked_by_hand(condition, rows):
    assert hits_of(condition) == rows


def test_a_rule_hits_only_where_every_condition_holds():
    both = (Condition(WORDS, "title", ("shirt",)), Condition(CONFIDENCE_BELOW, value=0.5))
    assert hits_of(*both) == [4]


def test_a_word_matches_whole_tokens_only():
    assert hits_of(Condition(WORDS, "title", ("jean", "ml"))) == [3]


def test_the_first_assign_rule_wins_and_every_hit_is_counted():
    rules = [
        Rule(ASSIGN, (Condition(PREDICTED_UNDER, node=APPAREL),), node=JEANS),
        Rule(ASSIGN, (Condition(WORDS, "title", ("shirt",)),), node=SHIRTS),
    ]
    result = RuleSet(rules, TREE).apply(BATCH)
    assert result.assigned.tolist() == [JEANS, JEANS, -1, -1, JEANS]
    assert result.assigned_rule.tolist() == [0, 0, -1, -1, 0]
    assert result.hits.tolist() == [3, 2]


def test_forbid_rules_add_up_their_leaves_per_row():
    rules = [
        Rule(FORBID, (Condition(WORDS, "title", ("shirt",)),), node=SHIRTS),
        Rule(FORBID, (Condition(CONFIDENCE_BELOW, value=0.5),), node=FOOTWEAR),
    ]
    result = RuleSet(rules, TREE).apply(BATCH)
    assert result.forbid_rows.tolist() == [0, 1, 4]
    assert result.forbid_leaves.tolist() == [
        [True, False, False, False],
        [False, False, True, True],
        [True, False, True, True],
    ]


def test_review_rules_give_their_reason():
    rules = [Rule(REVIEW, (Condition(WORDS, "title", ("shampoo",)),), reason="liquids: check")]
    result = RuleSet(rules, TREE).apply(BATCH)
    assert [result.review_reason(i) for i in range(5)] == [None, None, None, "liquids: check", None]


def test_forbidding_renormalises_what_is_left():
    proba = np.array([[0.5, 0.3, 0.2, 0.0], [0.5, 0.3, 0.2, 0.0], [0.6, 0.4, 0.0, 0.0]])
    forbidden = np.array(
        [[True, False, False, False], [True, True, False, False], [True, True, False, False]]
    )
    out, applied = forbid_renormalise(proba, forbidden)
    np.testing.assert_allclose(out[0], [0.0, 0.6, 0.4, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[1], [0.0, 0.0, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[2], proba[2], atol=1e-6)  # nothing left: kept as it was
    assert applied.tolist() == [True, True, False]


def test_top_k_after_a_forbid_gives_the_next_best_with_its_figures():
    stats = top_k(np.array([[0.0, 0.6, 0.4, 0.0]]), 2)
    assert stats["top_idx"].tolist() == [[1, 2]]
    assert stats["margin"][0] == pytest.approx(0.2, abs=1e-6)
    assert stats["entropy"][0] == pytest.approx(0.673012, abs=1e-5)


def test_a_catastrophic_pattern_times_out_counts_as_no_match_and_is_switched_off():
    batch = ItemBatch(titles=["a" * 40 + "b", "aaa", "a" * 41 + "b", "a" * 42 + "b", "x"])
    rules = [Rule(REVIEW, (Condition(REGEX, "title", r"(a|aa)+$"),), reason="r")]
    ruleset = RuleSet(rules, TREE, regex_timeout=0.01, max_timeouts=2)
    first = ruleset.apply(batch)
    assert first.timed_out == {0: [0, 2]}
    assert ruleset.disabled_ == {0} and first.hits.tolist() == [0]
    assert ruleset.apply(batch).hit_rows.tolist() == []  # off for the rest of the rescore


def test_a_timeout_is_charged_only_to_the_items_that_cause_it():
    batch = ItemBatch(titles=["aaa", "a" * 40 + "b", "aa"])
    rules = [Rule(REVIEW, (Condition(REGEX, "title", r"(a|aa)+$"),), reason="r")]
    result = RuleSet(rules, TREE, regex_timeout=0.01, max_timeouts=3).apply(batch)
    assert result.hit_rows.tolist() == [0, 2] and result.timed_out == {0: [1]}


@pytest.mark.parametrize(
    ("source", "mode"),
    [
        (r"\bslim\b", JOINED),
        (r"^red", LINES),
        (r"[^x]y", LINES),
        (r"(?<=a)b", EACH),
        (r"b\Z", EACH),
    ],
)
def test_patterns_that_look_outside_a_match_are_not_searched_joined(source, mode):
    assert Pattern.compile(source).mode == mode


def test_the_joined_search_finds_exactly_what_one_search_per_item_finds():
    rng = np.random.default_rng(0)
    alphabet = list("ab \n-1")
    texts = ["".join(rng.choice(alphabet, size=int(rng.integers(0, 9)))) for _ in range(400)]
    rows = np.arange(len(texts))
    for source in [r"a\s+b", r"(?s)a.*b", r"^a", r"b$", r"\bab\b", r"\W+", r"-?1", r"(?<=b)a"]:
        pattern = Pattern.compile(source)
        expected = [i for i, t in enumerate(texts) if pattern.compiled.search(t)]
        found = regex_rows(pattern, texts, rows, timeout=1.0, max_timeouts=1)
        assert found.matched.tolist() == expected, source


def test_a_word_with_a_letter_that_folds_to_two_is_still_found():
    batch = ItemBatch(titles=["Große Straße", "STRASSE 5", "strass"])
    assert RuleSet(
        [Rule(REVIEW, (Condition(WORDS, "title", ("strasse",)),), reason="r")], TREE
    ).apply(batch).hit_rows.tolist() == [0, 1]


def test_prediction_conditions_without_predictions_hit_nothing():
    batch = ItemBatch(titles=["Red shirt"])
    rules = [Rule(REVIEW, (Condition(CONFIDENCE_BELOW, value=1.0),), reason="r")]
    assert RuleSet(rules, TREE).apply(batch).hits.tolist() == [0]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (Rule(REVIEW, (), reason="r"), "rule 0: a rule needs at least one condition"),
        (Rule(ASSIGN, (Condition(WORDS, "title", ("x",)),)), "rule 0: assign needs a node"),
        (Rule(REVIEW, (Condition(REGEX, "title", "(unclosed"),)), "rule 0: missing )"),
        (Rule(REVIEW, (Condition(WORDS, "title", ("t-shirt",)),)), "rule 0: each word must be"),
        (Rule(REVIEW, (Condition("colour", "title", "x"),)), "rule 0: unknown condition"),
        (Rule(REVIEW, (Condition(ATTRIBUTE_RANGE, "size", (5, 1)),)), "rule 0: attribute_range"),
    ],
)
def test_it_refuses_a_rule_it_cannot_evaluate(rule, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RuleSet([rule], TREE)


def test_it_says_what_the_rules_read():
    rules = [
        Rule(REVIEW, (Condition(WORDS, "text", ("x",)), Condition(CONFIDENCE_BELOW, value=0.5))),
        Rule(REVIEW, (Condition(ATTRIBUTE_EQUALS, "brand", "x"),)),
    ]
    assert RuleSet(rules, TREE).reads == {"title", "description", "prediction", "attributes"}


def test_top_k_orders_as_a_stable_sort_ties_by_the_lower_column():
    rng = np.random.default_rng(3)
    proba = rng.integers(0, 6, size=(200, 40)).astype(np.float32)  # many exact ties
    proba /= proba.sum(axis=1, keepdims=True)
    stats = top_k(proba, 5)
    expected = np.argsort(-proba, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(stats["top_idx"], expected)
    np.testing.assert_array_equal(stats["top_proba"], np.take_along_axis(proba, expected, 1))


def test_top_k_of_a_row_without_order_falls_back_to_the_full_sort():
    proba = np.array([[0.2, np.nan, 0.5, 0.3], [0.1, 0.6, 0.2, 0.1]], dtype=np.float32)
    stats = top_k(proba, 2)
    np.testing.assert_array_equal(stats["top_idx"][1], [1, 2])
    assert stats["top_idx"].shape == (2, 2)
