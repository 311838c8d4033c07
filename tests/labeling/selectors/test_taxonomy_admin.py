"""labeling.selectors.taxonomy_admin: the draft editor's type-ahead."""

from __future__ import annotations

from labeling.selectors.taxonomy_admin import category_suggestions


def test_suggestions_are_capped_and_shallowest_first(version, tree):
    assert category_suggestions(version=version, q="s", limit=3) == [
        ("accessories", "Accessories"),
        ("accessories/watches", "Accessories > Watches"),
        ("footwear/shoes", "Footwear > Shoes"),
    ]


def test_suggestions_match_a_key_prefix_and_are_case_blind(version, tree):
    assert category_suggestions(version=version, q="APPAREL/B") == [
        ("apparel/bottomwear", "Apparel > Bottomwear"),
        ("apparel/bottomwear/jeans", "Apparel > Bottomwear > Jeans"),
    ]
