"""The review card's candidates after a taxonomy publish: predictions made before it name the
old version's categories until the new version's model is active; the card maps them."""

from __future__ import annotations

import pytest

from labeling.models import Category, TaxonomyVersion
from labeling.selectors import review as sel
from labeling.selectors.category_index import candidates_in_version, category_index_clear
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy.publish import taxonomy_publish
from tests.factories import TaxonomyVersionFactory, make_tree
from tests.labeling.review_data import JEANS, SHIRTS, TSHIRTS, candidates_of


@pytest.fixture(autouse=True)
def _fresh_search_index():
    category_index_clear()
    yield
    category_index_clear()


def publish(version: TaxonomyVersion, bob, *edits) -> tuple[TaxonomyVersion, dict[str, Category]]:
    """Start a draft of ``version``, apply ``edits(draft)``, publish it; the new version and
    its categories by path."""
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=bob)
    for edit in edits:
        edit(draft)
    taxonomy_publish(draft=draft, author=bob)
    return draft, {c.path: c for c in Category.objects.filter(version=draft)}


def merge_tshirts_into_shirts(bob):
    return lambda d: drafts.category_merge(
        draft=d,
        source_keys=["apparel/topwear/tshirts"],
        target_key="apparel/topwear/shirts",
        author=bob,
    )


def by_path(candidates: list[dict]) -> list[tuple[str, float]]:
    names = dict(Category.objects.values_list("pk", "path"))
    return [(names[c["category"]], c["p"]) for c in candidates]


def test_current_candidates_pass_unchanged_and_cost_no_query(
    version, tree, django_assert_num_queries
):
    candidates_in_version(candidates_of(tree), version)  # builds the cached index
    with django_assert_num_queries(0):
        mapped = candidates_in_version(candidates_of(tree), version)
    assert mapped == candidates_of(tree)


def test_old_candidates_are_mapped_and_merged_candidates_summed(version, tree, bob):
    new, new_tree = publish(version, bob, merge_tshirts_into_shirts(bob))
    mapped = candidates_in_version(candidates_of(tree), new)
    assert by_path(mapped) == [(SHIRTS, 0.95), (JEANS, 0.05)]  # 0.55 + 0.40 merged
    assert {c["category"] for c in mapped} <= {c.pk for c in new_tree.values()}


def test_a_merge_can_move_a_candidate_up(version, tree, bob):
    new, _ = publish(
        version,
        bob,
        lambda d: drafts.category_merge(
            draft=d,
            source_keys=["apparel/topwear/shirts"],
            target_key="apparel/bottomwear/jeans",
            author=bob,
        ),
    )
    assert by_path(candidates_in_version(candidates_of(tree), new)) == [
        (JEANS, 0.6),
        (TSHIRTS, 0.4),  # Jeans 0.05 + Shirts 0.55, now first
    ]


def test_a_deprecated_category_rolls_up_to_its_parent(version, tree, bob):
    new, _ = publish(
        version,
        bob,
        lambda d: drafts.category_deprecate(draft=d, key="apparel/bottomwear/jeans", author=bob),
    )
    assert by_path(candidates_in_version(candidates_of(tree), new)) == [
        (SHIRTS, 0.55),
        (TSHIRTS, 0.4),
        ("Apparel > Bottomwear", 0.05),
    ]


def test_mappings_are_followed_over_two_publishes(version, tree, bob):
    middle, _ = publish(version, bob, merge_tshirts_into_shirts(bob))
    rename = lambda d: drafts.category_rename(  # noqa: E731
        draft=d, key="apparel/topwear/shirts", name="Shirts & Blouses", author=bob
    )
    newest, _ = publish(middle, bob, rename)
    assert by_path(candidates_in_version(candidates_of(tree), newest)) == [
        ("Apparel > Topwear > Shirts & Blouses", 0.95),
        (JEANS, 0.05),
    ]


def test_a_candidate_that_maps_to_nothing_is_dropped(version, tree):
    elsewhere = make_tree(TaxonomyVersionFactory(is_current=False), {"Garden": {"Tools": {}}})
    candidates = [{"category": elsewhere["Garden > Tools"].pk, "p": 0.7}, *candidates_of(tree)]
    assert by_path(candidates_in_version(candidates, version)) == [
        (SHIRTS, 0.55),
        (TSHIRTS, 0.4),
        (JEANS, 0.05),
    ]


def test_the_card_rows_get_keys_after_mapping(version, tree, bob):
    new, new_tree = publish(version, bob, merge_tshirts_into_shirts(bob))
    rows = sel.card_candidates(candidates=candidates_of(tree), version=new)
    assert [(r.shortcut, r.category.pk, r.category.path, r.p) for r in rows] == [
        (1, new_tree[SHIRTS].pk, SHIRTS, 0.95),
        (2, new_tree[JEANS].pk, JEANS, 0.05),
    ]
