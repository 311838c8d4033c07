"""Categories' guidelines (issue 16): written by taxonomy admins on a draft or the current
version, versioned with the taxonomy and carried through publish as the categories are
(rename, move: same text; merge: appended to the target's; deprecation: gone), with an audit
trail of every change."""

from __future__ import annotations

import pytest

from labeling.models import Category, Guideline, TaxonomyOperation
from labeling.services.taxonomy import drafts, publish_mapping
from labeling.services.taxonomy import guidelines as svc
from labeling.services.taxonomy.publish import taxonomy_publish
from tests.labeling.taxonomy_admin_data import keys, label_items

SHIRTS, TSHIRTS, JEANS = (
    "apparel/topwear/shirts",
    "apparel/topwear/tshirts",
    "apparel/bottomwear/jeans",
)
SHIRTS_TEXT = "Collared, **buttoned** shirts. Not T-shirts."


@pytest.fixture
def items(tree):
    return label_items(tree, {"Apparel > Topwear > Shirts": 2, "Apparel > Topwear > Tshirts": 1})


@pytest.fixture
def shirts(tree, bob):
    svc.guideline_set(category=tree["Apparel > Topwear > Shirts"], text=SHIRTS_TEXT, author=bob)
    return tree["Apparel > Topwear > Shirts"]


@pytest.fixture
def draft(version, items, shirts, bob):
    return drafts.draft_start(taxonomy=version.taxonomy, author=bob)


def text_of(category: Category) -> str | None:
    return Guideline.objects.filter(category=category).values_list("text", flat=True).first()


def published(draft, bob) -> dict[str, Category]:
    taxonomy_publish(draft=draft, author=bob)
    return keys(draft)


def test_an_admin_writes_a_guideline_and_the_change_is_audited(shirts, version, bob):
    row = Guideline.objects.get(category=shirts)
    assert (row.text, row.updated_by) == (SHIRTS_TEXT, bob)
    op = TaxonomyOperation.objects.get(version=version, kind="guideline")
    assert op.author == bob
    assert op.payload == {
        "key": SHIRTS,
        "path": "Apparel > Topwear > Shirts",
        "old_text": "",
        "text": SHIRTS_TEXT,
    }


def test_empty_text_clears_it_and_an_unchanged_text_records_nothing(shirts, bob):
    svc.guideline_set(category=shirts, text="  " + SHIRTS_TEXT + "\r\n", author=bob)
    assert TaxonomyOperation.objects.filter(kind="guideline").count() == 1
    assert svc.guideline_set(category=shirts, text="", author=bob) is None
    assert text_of(shirts) is None
    assert TaxonomyOperation.objects.filter(kind="guideline").count() == 2


def test_a_browsers_line_breaks_are_stored_as_newlines(tree, bob):
    row = svc.guideline_set(category=tree["Accessories"], text="a\r\n\r\n- b\r\n", author=bob)
    assert row.text == "a\n\n- b"


def test_a_guideline_over_the_limit_is_refused_with_its_length(shirts, bob):
    text = "x" * (svc.GUIDELINE_MAX_CHARS + 1)
    with pytest.raises(svc.GuidelineError, match="10,001 characters long; the limit is 10,000"):
        svc.guideline_set(category=shirts, text=text, author=bob)
    assert text_of(shirts) == SHIRTS_TEXT


def test_a_retired_version_is_read_only(draft, shirts, bob):
    taxonomy_publish(draft=draft, author=bob)  # the version of ``shirts`` retires
    with pytest.raises(svc.GuidelineError, match="retired: its guidelines are read only"):
        svc.guideline_set(category=shirts, text="late", author=bob)


def test_a_draft_starts_with_a_copy_of_every_guideline(draft, shirts):
    copy = keys(draft)[SHIRTS]
    assert copy.pk != shirts.pk and text_of(copy) == SHIRTS_TEXT


def test_rename_and_move_keep_the_guideline_through_publish(draft, bob):
    drafts.category_rename(draft=draft, key=SHIRTS, name="Shirts & Blouses", author=bob)
    drafts.category_move(draft=draft, key=SHIRTS, parent_key="apparel/bottomwear", author=bob)
    new = published(draft, bob)[SHIRTS]
    assert new.path == "Apparel > Bottomwear > Shirts & Blouses"
    assert text_of(new) == SHIRTS_TEXT


def test_a_merge_appends_the_merged_guideline_to_the_targets_and_publish_carries_it(
    draft, tree, bob
):
    svc.guideline_set(category=keys(draft)[TSHIRTS], text="Knitted, no collar.", author=bob)
    drafts.category_merge(draft=draft, source_keys=[SHIRTS], target_key=TSHIRTS, author=bob)
    merged = text_of(published(draft, bob)[TSHIRTS])
    assert merged == (
        "Knitted, no collar.\n\n**Merged from “Apparel > Topwear > Shirts”:**\n\n" + SHIRTS_TEXT
    )
    op = TaxonomyOperation.objects.filter(version=draft, kind="guideline").last()
    assert op.payload["merged_from"] == "Apparel > Topwear > Shirts"


def test_a_merge_into_a_category_without_a_guideline_gives_it_the_merged_one(draft, bob):
    drafts.category_merge(draft=draft, source_keys=[SHIRTS], target_key=JEANS, author=bob)
    assert text_of(published(draft, bob)[JEANS]).endswith(SHIRTS_TEXT)


def test_a_deprecated_category_loses_its_guideline_and_the_old_version_keeps_it(draft, shirts, bob):
    drafts.category_deprecate(draft=draft, key=SHIRTS, author=bob)
    assert text_of(published(draft, bob)[SHIRTS]) is None
    assert text_of(shirts) == SHIRTS_TEXT  # the retired version's copy: history


def test_a_deleted_category_takes_its_guideline_along(draft, bob):
    copy = keys(draft)[SHIRTS]
    drafts.category_merge(draft=draft, source_keys=[SHIRTS], target_key=TSHIRTS, author=bob)
    assert not Category.objects.filter(pk=copy.pk).exists()
    assert not Guideline.objects.filter(category_id=copy.pk).exists()


def test_a_split_keeps_the_guideline_on_the_split_category(draft, bob):
    children = drafts.category_split(
        draft=draft, key=SHIRTS, names=["Formal", "Casual"], author=bob
    )
    new = published(draft, bob)
    assert text_of(new[SHIRTS]) == SHIRTS_TEXT
    assert [text_of(new[c.key]) for c in children] == [None, None]


def test_an_edit_of_the_current_version_reaches_the_open_draft(draft, shirts, version, bob):
    svc.guideline_set(category=shirts, text="Fixed typo.", author=bob)
    assert text_of(keys(draft)[SHIRTS]) == "Fixed typo."
    follow = TaxonomyOperation.objects.get(version=draft, kind="guideline")
    assert follow.payload["via"] == f"v{version.number}"
    assert text_of(published(draft, bob)[SHIRTS]) == "Fixed typo."


def test_the_drafts_own_change_wins_over_a_later_edit_of_the_current_version(draft, shirts, bob):
    svc.guideline_set(category=keys(draft)[SHIRTS], text="Draft's new rule.", author=bob)
    svc.guideline_set(category=shirts, text="Live fix.", author=bob)
    assert text_of(shirts) == "Live fix."
    assert text_of(published(draft, bob)[SHIRTS]) == "Draft's new rule."


def test_the_diff_shows_a_changed_guideline_without_touching_labels(draft, bob):
    svc.guideline_set(category=keys(draft)[SHIRTS], text="New rule.", author=bob)
    svc.guideline_set(category=keys(draft)[JEANS], text="Denim only.", author=bob)
    rows = [r for r in publish_mapping.draft_diff(draft=draft) if r.kind == "guideline"]
    assert [(r.key, r.detail, r.labels) for r in rows] == [
        (JEANS, "guideline added", 0),
        (SHIRTS, "guideline changed", 0),
    ]


def test_a_deprecated_category_takes_no_guideline(draft, bob):
    drafts.category_deprecate(draft=draft, key=SHIRTS, author=bob)
    with pytest.raises(svc.GuidelineError, match="deprecated"):
        svc.guideline_set(category=keys(draft)[SHIRTS], text="x", author=bob)
