from __future__ import annotations

import pytest

from labeling.models import Category, TaxonomyOperation, TaxonomyVersion
from labeling.services.taxonomy import drafts as svc
from labeling.services.taxonomy.draft_checks import TaxonomyDraftError
from tests.labeling.taxonomy_admin_data import keys, label_items, ledger_size


@pytest.fixture
def labelled(tree):
    """Three shirts, two sneakers, one watch: six labels on the current version."""
    return label_items(
        tree,
        {
            "Apparel > Topwear > Shirts": 3,
            "Footwear > Shoes > Sneakers": 2,
            "Accessories > Watches": 1,
        },
    )


@pytest.fixture
def draft(version, tree, labelled, bob):
    return svc.draft_start(taxonomy=version.taxonomy, author=bob)


def test_a_draft_copies_every_category_with_the_same_keys(draft, version, tree):
    copied, original = keys(draft), keys(version)
    assert copied.keys() == original.keys() and len(copied) == 12
    shoes = copied["footwear/shoes"]
    assert shoes.parent == copied["footwear"] and shoes.path == "Footwear > Shoes"
    assert shoes.pk != original["footwear/shoes"].pk
    assert (draft.status, draft.based_on, draft.number) == ("draft", version, version.number + 1)


def test_a_second_draft_is_refused_while_one_is_open(draft, version, bob):
    with pytest.raises(TaxonomyDraftError, match="already has an open draft"):
        svc.draft_start(taxonomy=version.taxonomy, author=bob)


def test_a_taxonomy_without_a_current_version_cannot_start_a_draft(version, bob):
    TaxonomyVersion.objects.filter(pk=version.pk).update(is_current=False)
    with pytest.raises(TaxonomyDraftError, match="has no current version"):
        svc.draft_start(taxonomy=version.taxonomy, author=bob)


def test_add_creates_a_leaf_and_turns_its_parent_into_an_inner_node(draft, bob):
    before = ledger_size()
    cat = svc.category_add(
        draft=draft,
        parent_key="accessories/watches",
        name="Smart watches",
        synonyms=["smartwatch", " "],
        author=bob,
    )
    assert (cat.path, cat.depth, cat.key) == (
        "Accessories > Watches > Smart watches",
        3,
        "accessories/watches/smart-watches",
    )
    assert cat.synonyms == ["smartwatch"]
    assert not keys(draft)["accessories/watches"].is_leaf
    op = TaxonomyOperation.objects.get(version=draft)
    assert (op.kind, op.payload["key"], op.author) == ("add", cat.key, bob)
    assert ledger_size() == before == 6


def test_add_refuses_a_name_that_exists_under_the_same_parent(draft, bob):
    with pytest.raises(TaxonomyDraftError, match="'Footwear > Shoes' already exists"):
        svc.category_add(draft=draft, parent_key="footwear", name="Shoes", author=bob)
    assert not TaxonomyOperation.objects.exists()


def test_rename_rewrites_the_paths_of_the_subtree_and_keeps_the_key(draft, bob):
    before = ledger_size()
    svc.category_rename(draft=draft, key="footwear/shoes", name="Shoes & Boots", author=bob)
    k = keys(draft)
    assert k["footwear/shoes"].path == "Footwear > Shoes & Boots"
    assert k["footwear/shoes/sandals"].path == "Footwear > Shoes & Boots > Sandals"
    assert TaxonomyOperation.objects.get().payload["old_path"] == "Footwear > Shoes"
    assert ledger_size() == before


def test_rename_refuses_the_path_separator_and_empty_names(draft, bob):
    with pytest.raises(TaxonomyDraftError, match="contains '>'"):
        svc.category_rename(draft=draft, key="footwear", name="A > B", author=bob)
    with pytest.raises(TaxonomyDraftError, match="name is empty"):
        svc.category_rename(draft=draft, key="footwear", name="  ", author=bob)


def test_edit_changes_description_and_synonyms_only(draft, bob):
    svc.category_edit(
        draft=draft,
        key="accessories/watches",
        description=" Wrist watches ",
        synonyms=["wristwatch", "wristwatch"],
        author=bob,
    )
    watches = keys(draft)["accessories/watches"]
    assert (watches.description, watches.synonyms, watches.name) == (
        "Wrist watches",
        ["wristwatch"],
        "Watches",
    )


def test_move_reparents_the_subtree_and_updates_depths_and_leaves(draft, bob):
    before = ledger_size()
    svc.category_move(draft=draft, key="apparel/bottomwear", parent_key="accessories", author=bob)
    k = keys(draft)
    assert k["apparel/bottomwear/jeans"].path == "Accessories > Bottomwear > Jeans"
    assert k["apparel/bottomwear/jeans"].depth == 3
    svc.category_move(draft=draft, key="apparel/topwear", parent_key=None, author=bob)
    k = keys(draft)
    assert (k["apparel/topwear"].depth, k["apparel/topwear/shirts"].depth) == (1, 2)
    assert k["apparel"].is_leaf
    assert ledger_size() == before


def test_move_refuses_a_cycle_and_a_no_op(draft, bob):
    with pytest.raises(TaxonomyDraftError, match="cannot move under itself"):
        svc.category_move(draft=draft, key="footwear", parent_key="footwear/shoes", author=bob)
    with pytest.raises(TaxonomyDraftError, match="is already there"):
        svc.category_move(draft=draft, key="footwear/shoes", parent_key="footwear", author=bob)


def test_merge_removes_the_sources_and_moves_their_children_to_the_target(draft, bob):
    before = ledger_size()
    svc.category_add(draft=draft, parent_key="apparel/bottomwear", name="Shirts", author=bob)
    svc.category_merge(
        draft=draft, source_keys=["apparel/bottomwear"], target_key="apparel/topwear", author=bob
    )
    k = keys(draft)
    assert "apparel/bottomwear" not in k and "apparel/bottomwear/shirts" not in k
    assert k["apparel/bottomwear/jeans"].path == "Apparel > Topwear > Jeans"
    op = TaxonomyOperation.objects.filter(kind="merge").get()
    assert op.payload["mapped"] == {
        "apparel/bottomwear": "apparel/topwear",
        "apparel/bottomwear/shirts": "apparel/topwear/shirts",
    }
    assert ledger_size() == before


def test_merge_refuses_itself_an_ancestor_and_nothing(draft, bob):
    with pytest.raises(TaxonomyDraftError, match="cannot be merged into itself"):
        svc.category_merge(draft=draft, source_keys=["footwear"], target_key="footwear", author=bob)
    with pytest.raises(TaxonomyDraftError, match="contains the merge target"):
        svc.category_merge(
            draft=draft, source_keys=["footwear"], target_key="footwear/shoes", author=bob
        )
    with pytest.raises(TaxonomyDraftError, match="at least one category"):
        svc.category_merge(draft=draft, source_keys=[], target_key="footwear", author=bob)


def test_split_creates_children_and_records_them(draft, bob):
    before = ledger_size()
    children = svc.category_split(
        draft=draft, key="accessories/watches", names=["Analog", "Digital"], author=bob
    )
    assert [c.path for c in children] == [
        "Accessories > Watches > Analog",
        "Accessories > Watches > Digital",
    ]
    op = TaxonomyOperation.objects.get(kind="split")
    assert op.payload["children"] == [c.key for c in children]
    assert ledger_size() == before


def test_split_needs_two_distinct_names(draft, bob):
    with pytest.raises(TaxonomyDraftError, match="at least two new category names, got 1"):
        svc.category_split(draft=draft, key="accessories/watches", names=["Analog", ""], author=bob)
    with pytest.raises(TaxonomyDraftError, match="repeat 'analog'"):
        svc.category_split(
            draft=draft, key="accessories/watches", names=["Analog", "analog"], author=bob
        )


def test_deprecate_marks_a_leaf_and_refuses_top_level_and_live_children(draft, bob):
    before = ledger_size()
    svc.category_deprecate(draft=draft, key="footwear/shoes/sandals", author=bob)
    assert keys(draft)["footwear/shoes/sandals"].deprecated
    with pytest.raises(TaxonomyDraftError, match="is already deprecated"):
        svc.category_deprecate(draft=draft, key="footwear/shoes/sandals", author=bob)
    with pytest.raises(TaxonomyDraftError, match="top-level category"):
        svc.category_deprecate(draft=draft, key="footwear", author=bob)
    with pytest.raises(TaxonomyDraftError, match=r"in use under it \(Sneakers\)"):
        svc.category_deprecate(draft=draft, key="footwear/shoes", author=bob)
    assert ledger_size() == before


def test_operations_refuse_a_published_version_and_an_unknown_key(draft, version, bob):
    with pytest.raises(TaxonomyDraftError, match="is published, not a draft"):
        svc.category_rename(draft=version, key="footwear", name="Shoes", author=bob)
    with pytest.raises(TaxonomyDraftError, match="no category with key 'nope'"):
        svc.category_rename(draft=draft, key="nope", name="Shoes", author=bob)


def test_discard_deletes_the_draft_and_nothing_of_the_current_version(draft, version):
    svc.draft_discard(draft=draft)
    assert not TaxonomyVersion.objects.filter(pk=draft.pk).exists()
    assert Category.objects.filter(version=version).count() == 12
