"""Category search, tree levels, the reason in words and the queue figures."""

from __future__ import annotations

import pytest

from labeling.models import Category, QueueEntry
from labeling.selectors import review as sel
from labeling.selectors.category_index import category_index_clear, node_probabilities
from labeling.selectors.category_search import category_search, category_tree_level
from labeling.selectors.review_reason import reason_in_words
from tests.factories import CategoryFactory, TaxonomyVersionFactory, make_tree
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, candidates_of, make_queue


@pytest.fixture(autouse=True)
def _fresh_search_index():
    """Test databases reuse ids, so a cached index could belong to another test's tree."""
    category_index_clear()
    yield
    category_index_clear()


def paths(matches):
    return [m.path for m in matches]


def test_an_exact_name_beats_a_prefix_beats_a_word_beats_a_substring(version):
    make_tree(
        version,
        {"Bags": {"Shirt bags": {}, "Tote": {}}, "Shirt": {}, "Overshirt": {}, "Dress Shirt": {}},
    )
    found = category_search(version=version, q="shirt")
    assert paths(found) == ["Shirt", "Bags > Shirt bags", "Dress Shirt", "Overshirt"]
    assert [m.how for m in found] == [
        "exact",
        "name starts with",
        "word starts with",
        "in the name",
    ]


def test_ties_are_broken_by_the_models_probability(version, tree):
    found = category_search(version=version, q="shirts", candidates=candidates_of(tree))
    assert paths(found) == [SHIRTS, TSHIRTS]  # exact name before substring
    reversed_p = [{"category": tree[TSHIRTS].pk, "p": 0.9}, {"category": tree[SHIRTS].pk, "p": 0.1}]
    found = category_search(version=version, q="wear", candidates=reversed_p)
    # Three names contain "wear": the model's favourite first, then the shallower one.
    assert paths(found)[:3] == ["Apparel > Topwear", "Footwear", "Apparel > Bottomwear"]
    assert [round(m.p, 2) for m in found[:3]] == [1.0, 0.0, 0.0]


def test_synonyms_match_and_are_reported(version, tree):
    Category.objects.filter(pk=tree[TSHIRTS].pk).update(synonyms=["Tee", "T-shirt"])
    category_index_clear()  # an edit, not an addition: the cache would wait its TTL
    found = category_search(version=version, q="tee")
    assert paths(found) == [TSHIRTS] and found[0].synonym == "Tee" and found[0].how == "exact"


def test_a_word_in_an_ancestor_finds_the_descendants(version, tree):
    found = category_search(version=version, q="footwear")
    assert paths(found) == [
        "Footwear",
        "Footwear > Shoes",
        "Footwear > Shoes > Sandals",
        "Footwear > Shoes > Sneakers",
    ]
    assert [m.how for m in found] == ["exact", "in the path", "in the path", "in the path"]


def test_several_words_must_all_appear_in_the_path(version, tree):
    assert paths(category_search(version=version, q="shoes snea")) == [
        "Footwear > Shoes > Sneakers"
    ]


def test_deprecated_categories_and_other_versions_are_left_out(version, tree):
    Category.objects.filter(pk=tree[JEANS].pk).update(deprecated=True)
    other = TaxonomyVersionFactory(is_current=False)
    CategoryFactory(version=other, name="Jeans jackets")
    assert category_search(version=version, q="jeans") == []


def test_an_empty_query_finds_nothing(version, tree):
    assert category_search(version=version, q="   ") == []


def test_a_new_category_is_found_without_a_restart(version, tree):
    assert category_search(version=version, q="boots") == []
    CategoryFactory(version=version, name="Boots", parent=tree["Footwear > Shoes"])
    assert paths(category_search(version=version, q="boots")) == ["Footwear > Shoes > Boots"]


QUERIES_PER_WARM_SEARCH = 1


def test_thousands_of_categories_are_searched_in_the_cached_index(
    version, django_assert_num_queries
):
    """5,550 nodes: after the first search loads the index, a search reads only its stamp
    (its speed is bench_review's figure, not a timed test)."""
    spec = {
        f"Dept {i}": {
            f"Aisle {i}-{j}": {f"Shelf {i}-{j}-{k}": {} for k in range(10)} for j in range(10)
        }
        for i in range(50)
    }  # 5,550 nodes
    make_tree(version, spec)
    category_search(version=version, q="warm-up")
    with django_assert_num_queries(QUERIES_PER_WARM_SEARCH * 4):
        for q in ("shelf 7-3", "aisle 12", "dept 4", "9-9-9"):
            category_search(version=version, q=q)
    assert paths(category_search(version=version, q="shelf 7-3-1"))[0] == (
        "Dept 7 > Aisle 7-3 > Shelf 7-3-1"
    )


def test_inner_nodes_get_the_sum_of_their_leaves(version, tree):
    parents = {c.pk: c.parent_id for c in tree.values()}
    probs = node_probabilities(candidates_of(tree), parents)
    assert probs[tree["Apparel > Topwear"].pk] == pytest.approx(0.95)
    assert probs[tree["Apparel"].pk] == pytest.approx(1.0)
    assert tree["Footwear"].pk not in probs


def test_the_tree_shows_a_level_with_its_trail_and_probabilities(version, tree):
    level = category_tree_level(
        version=version, node_id=tree["Apparel > Topwear"].pk, candidates=candidates_of(tree)
    )
    assert [c.name for c in level.trail] == ["Apparel", "Topwear"]
    assert [(c.name, round(p, 2)) for c, p in level.children] == [
        ("Shirts", 0.55),
        ("Tshirts", 0.4),
    ]
    top = category_tree_level(version=version, node_id=None)
    assert top.node is None and [c.name for c, _ in top.children] == [
        "Accessories",
        "Apparel",
        "Footwear",
    ]


def test_candidates_get_keys_in_order_and_deprecated_ones_are_dropped(version, tree):
    Category.objects.filter(pk=tree[TSHIRTS].pk).update(deprecated=True)
    rows = sel.candidate_rows(candidates_of(tree))
    assert [(r.category.path, r.shortcut, r.p) for r in rows] == [
        (SHIRTS, 1, 0.55),
        (JEANS, 2, 0.05),
    ]


def test_proposal_targets_are_the_candidates_ancestors_then_the_top_level(version, tree):
    rows = sel.candidate_rows(candidates_of(tree))
    targets = [t.path for t in sel.proposal_targets(rows, version)]
    assert targets == [
        "Apparel > Topwear",
        "Apparel",
        "Apparel > Bottomwear",
        "Accessories",
        "Footwear",
    ]


@pytest.mark.parametrize(
    ("reason", "detail", "words"),
    [
        ("audit", {"audit": True}, "random audit"),
        ("uncertain", {"between": [SHIRTS, TSHIRTS]}, "uncertain between Shirts and Tshirts"),
        (
            "boundary",
            {"between": ["Apparel", "Footwear"]},
            "on the boundary between Apparel and Footwear",
        ),
        (
            "disagreement",
            {"text_says": "Accessories > Watches", "image_says": JEANS},
            "text says Watches, image says Jeans",
        ),
        ("disagreement", {"disagreement": 0.3}, "the model's text and image heads disagree"),
        (
            "novel",
            {"novelty": 0.8, "nearest": JEANS},
            "unlike anything labelled so far (nearest: Jeans)",
        ),
        (
            "re-review",
            {"label": SHIRTS, "model_says": JEANS, "p": 0.97},
            "labelled Shirts, but the model says Jeans (p 0.97)",
        ),
    ],
)
def test_the_reason_reads_as_words(version, tree, reason, detail, words):
    ids = {
        k: ([tree[p].pk for p in v] if k == "between" else tree[v].pk)
        if k in ("between", "text_says", "image_says", "nearest", "label", "model_says")
        else v
        for k, v in detail.items()
    }
    assert reason_in_words(reason, ids) == words


def test_the_queue_size_is_counted_by_reason(version, tree):
    make_queue(version, tree, n=2)
    make_queue(version, tree, n=1, reason="audit")
    counts = sel.queue_size_by_reason()
    assert counts == {r: 0 for r in QueueEntry.Reason.values} | {"uncertain": 2, "audit": 1}
