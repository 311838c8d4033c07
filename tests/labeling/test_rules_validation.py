"""Writing rules (issue 17): what is stored, and each refusal with its message."""

from __future__ import annotations

import pytest

from labeling.models import Rule, RuleCondition
from labeling.services.rules import crud, validation
from labeling.services.rules.crud import rule_enable, rule_update
from labeling.services.rules.preview import rule_preview_saved
from labeling.services.rules.validation import RuleError
from tests.factories import TaxonomyVersionFactory
from tests.labeling.rules_data import SHIRTS, TSHIRTS, make_rule, rule_input


def test_a_rule_is_stored_off_with_its_conditions_in_order(version, tree):
    rule = make_rule(
        version,
        conditions=[
            {"kind": "words", "field": "text", "value": "Shirt, blouse"},
            {"kind": "attribute_range", "field": "size", "value": "10..20"},
            {"kind": "predicted_under", "value": "Apparel"},
            {"kind": "confidence_below", "value": "0.6"},
        ],
    )
    assert (rule.enabled, rule.category, rule.priority) == (False, tree[SHIRTS], 100)
    stored = [(c.kind, c.field, c.value, c.category) for c in rule.conditions.all()]
    assert stored == [
        ("words", "text", ["Shirt", "blouse"], None),
        ("attribute_range", "size", {"min": 10.0, "max": 20.0}, None),
        ("predicted_under", "", None, tree["Apparel"]),
        ("confidence_below", "", 0.6, None),
    ]


def test_a_category_is_found_by_id_path_or_key(version, tree):
    for n, ref in enumerate([tree[TSHIRTS].pk, TSHIRTS, tree[TSHIRTS].key]):
        assert make_rule(version, name=f"r{n}", category=ref).category == tree[TSHIRTS]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"conditions": []}, crud.NO_CONDITIONS),
        ({"conditions": [{"kind": "", "value": " "}]}, crud.NO_CONDITIONS),
        ({"conditions": [{"kind": "", "value": "x"}]}, validation.NO_KIND.format(n=1)),
        ({"name": " "}, crud.NAME_NEEDED),
        ({"action": "delete"}, crud.UNKNOWN_ACTION.format(action="delete")),
        ({"category": None}, crud.CATEGORY_NEEDED.format(action="assign", version="{version}")),
        ({"action": "review", "category": None}, crud.REASON_NEEDED),
        ({"priority": "-1"}, crud.BAD_PRIORITY.format(max=crud.MAX_PRIORITY, value="-1")),
        (
            {"category": "Apparel > Hats"},
            validation.NO_CATEGORY.format(ref="Apparel > Hats", version="{version}"),
        ),
        (
            {"conditions": [{"kind": "colour", "value": "x"}]},
            validation.UNKNOWN_KIND.format(
                n=1, kind="colour", kinds=", ".join(RuleCondition.Kind.values)
            ),
        ),
        (
            {"conditions": [{"kind": "words", "value": "t-shirt"}]},
            validation.NOT_ONE_WORD.format(n=1, word="t-shirt"),
        ),
        (
            {"conditions": [{"kind": "words", "field": "body", "value": "x"}]},
            validation.BAD_FIELD.format(n=1, kind="words", field="body"),
        ),
        (
            {"conditions": [{"kind": "regex", "value": "a*"}]},
            validation.EMPTY_PATTERN.format(n=1, pattern="a*"),
        ),
        (
            {"conditions": [{"kind": "regex", "value": "(a|aa)+$"}]},
            validation.SLOW_PATTERN.format(n=1, pattern="(a|aa)+$", ms=20),
        ),
        (
            {"conditions": [{"kind": "attribute_range", "field": "size", "value": "20..10"}]},
            validation.BAD_RANGE.format(n=1, value="20..10"),
        ),
        (
            {"conditions": [{"kind": "attribute_equals", "value": "red"}]},
            validation.NO_ATTRIBUTE.format(n=1, kind="attribute_equals"),
        ),
        (
            {"conditions": [{"kind": "confidence_above", "value": "1.5"}]},
            validation.BAD_CONFIDENCE.format(n=1, value="1.5"),
        ),
        (
            {"conditions": [{"kind": "predicted_is"}]},
            validation.CATEGORY_NEEDED.format(n=1, kind="predicted_is", version="{version}"),
        ),
    ],
)
def test_it_refuses_what_a_rule_may_not_say(version, tree, kwargs, message):
    with pytest.raises(RuleError) as refused:
        make_rule(version, **kwargs)
    assert str(refused.value) == message.replace("{version}", str(version))


def test_a_malformed_pattern_is_refused_with_the_parser_s_reason(version, tree):
    with pytest.raises(RuleError, match=r"Condition 1: '\(unclosed' is not a valid regular"):
        make_rule(version, conditions=[{"kind": "regex", "value": "(unclosed"}])


def test_a_deprecated_category_cannot_be_assigned(version, tree):
    tree[TSHIRTS].deprecated = True
    tree[TSHIRTS].save()
    with pytest.raises(RuleError, match="deprecated"):
        make_rule(version, category=TSHIRTS)


def test_two_rules_of_a_version_cannot_share_a_name(version, tree):
    make_rule(version)
    with pytest.raises(RuleError) as refused:
        make_rule(version)
    assert str(refused.value) == crud.NAME_TAKEN.format(version=version, name="shirts")


def test_a_rule_of_another_version_than_the_current_is_read_only(version, tree):
    rule = make_rule(version)
    Rule.objects.filter(pk=rule.pk).update(previewed_at="2025-01-01T00:00:00Z")
    version.is_current = False
    version.save()
    TaxonomyVersionFactory(taxonomy=version.taxonomy)
    with pytest.raises(RuleError, match="is not the current version"):
        rule_enable(rule=rule, enabled=True, author=None)


def test_switching_on_needs_a_preview_since_the_last_edit(version, tree):
    rule = make_rule(version)
    with pytest.raises(RuleError) as refused:
        rule_enable(rule=rule, enabled=True, author=None)
    assert str(refused.value) == crud.PREVIEW_FIRST
    rule_preview_saved(rule=rule)
    assert rule_enable(rule=rule, enabled=True, author=None).enabled
    edited = rule_update(rule=rule, data=rule_input(category=TSHIRTS), author=None)
    assert (edited.enabled, edited.previewed_at, edited.preview) == (False, None, {})
