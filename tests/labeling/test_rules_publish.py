"""Rules carried through a publish (issue 17): their categories mapped like labels; a rule
naming a category the draft removed is carried switched off with the reason, never dropped."""

from __future__ import annotations

import pytest
from django.utils import timezone

from labeling.models import Rule
from labeling.services.rules.carry import DEPRECATED, MERGED
from labeling.services.taxonomy import drafts
from labeling.services.taxonomy.publish import taxonomy_publish
from tests.labeling.rules_data import SHIRTS, SNEAKERS, TSHIRTS, make_rule

WATCHES = "Accessories > Watches"


@pytest.fixture
def rules(version, tree):
    made = {
        "renamed": make_rule(version, name="renamed", category=SHIRTS),
        "merged": make_rule(version, name="merged", action="forbid", category=SNEAKERS),
        "deprecated": make_rule(
            version,
            name="deprecated",
            action="review",
            category=None,
            reason="check watches",
            conditions=[{"kind": "predicted_under", "value": WATCHES}],
        ),
        "split": make_rule(
            version,
            name="split",
            category=TSHIRTS,
            conditions=[{"kind": "predicted_is", "value": TSHIRTS}],
        ),
    }
    Rule.objects.filter(taxonomy_version=version).update(enabled=True, previewed_at=timezone.now())
    return made


@pytest.fixture
def published(version, tree, rules, bob):
    draft = drafts.draft_start(taxonomy=version.taxonomy, author=bob)
    drafts.category_rename(draft=draft, key=tree[SHIRTS].key, name="Shirts & Blouses", author=bob)
    drafts.category_merge(
        draft=draft,
        source_keys=[tree[SNEAKERS].key],
        target_key=tree["Footwear > Shoes > Sandals"].key,
        author=bob,
    )
    drafts.category_deprecate(draft=draft, key=tree[WATCHES].key, author=bob)
    drafts.category_split(
        draft=draft, key=tree[TSHIRTS].key, names=["Graphic", "Plain"], author=bob
    )
    taxonomy_publish(draft=draft, author=bob)
    return {r.name: r for r in Rule.objects.filter(taxonomy_version=draft)}


def test_every_rule_is_carried_into_the_new_version(version, rules, published):
    assert sorted(published) == ["deprecated", "merged", "renamed", "split"]
    assert {r.carried_from_id for r in published.values()} == {r.pk for r in rules.values()}
    assert Rule.objects.filter(taxonomy_version=version, enabled=True).count() == 4


def test_a_renamed_category_is_the_same_category_in_the_new_tree(tree, published):
    rule = published["renamed"]
    assert (rule.category.key, rule.category.path) == (
        tree[SHIRTS].key,
        "Apparel > Topwear > Shirts & Blouses",
    )
    assert rule.enabled and rule.problem == ""


def test_a_merged_category_switches_the_rule_off_with_the_reason(published):
    rule = published["merged"]
    assert not rule.enabled and rule.category.path == "Footwear > Shoes > Sandals"
    assert rule.problem == MERGED.format(
        number=rule.taxonomy_version.number, old=SNEAKERS, new="Footwear > Shoes > Sandals"
    )


def test_a_deprecated_category_in_a_condition_switches_the_rule_off(published):
    rule = published["deprecated"]
    condition = rule.conditions.get()
    assert not rule.enabled and condition.category.path == "Accessories"
    assert rule.problem == DEPRECATED.format(
        number=rule.taxonomy_version.number, old=WATCHES, new="Accessories"
    )


def test_top_is_a_split_category_becomes_under_it(published):
    rule = published["split"]
    condition = rule.conditions.get()
    assert (condition.kind, condition.category.path) == ("predicted_under", TSHIRTS)
    assert rule.enabled and not rule.category.is_leaf
