"""A rule's preview and its counts at scoring (issue 17), on the catalog of ``rules_data``
worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.models import Item, Prediction, Rule, RuleCondition, RuleStat
from labeling.services.learning import ml
from labeling.services.rules.compiling import for_scoring
from labeling.services.rules.preview import rule_preview_saved
from labeling.services.rules.scoring import apply_chunk
from labeling.services.rules.stats import TIMED_OUT
from tests.labeling.rules_data import (
    FOOTWEAR,
    SHIRTS,
    SNEAKERS,
    TSHIRTS,
    make_catalog,
    make_rule,
)


@pytest.fixture
def items(version, tree):
    return make_catalog(version, tree)


def preview_of(version, **kwargs):
    return rule_preview_saved(rule=make_rule(version, **kwargs))


def test_an_assign_rule_s_preview_counts_hits_and_labels_right_and_wrong(version, tree, items):
    p = preview_of(version)  # assign Shirts when the title has the word "shirt"
    assert (p.catalog, p.scanned, p.hits, p.hits_estimate) == (7, 7, 3, 3)
    assert (p.labelled, p.labelled_hits, p.agrees, p.disagrees, p.undecided) == (5, 3, 1, 2, 0)
    assert p.model_right == 2 and p.precision == pytest.approx(1 / 3)
    assert [(e.external_id, e.label, e.rule_says, e.model_says) for e in p.examples] == [
        ("SKU-linen", TSHIRTS, SHIRTS, SHIRTS),
        ("SKU-graphic", TSHIRTS, SHIRTS, TSHIRTS),
    ]
    assert [e.external_id for e in p.samples] == ["SKU-oxford", "SKU-linen", "SKU-graphic"]


def test_a_forbid_rule_is_wrong_where_the_label_is_what_it_forbids(version, tree, items):
    p = preview_of(
        version,
        action="forbid",
        category=FOOTWEAR,
        conditions=[{"kind": "confidence_below", "value": 0.55}],
    )
    assert (p.hits, p.labelled_hits, p.agrees, p.disagrees) == (2, 1, 0, 1)
    assert [(e.external_id, e.rule_says) for e in p.examples] == [("SKU-sneakers", "not Footwear")]


def test_a_coarser_label_neither_agrees_nor_disagrees(version, tree, items):
    p = preview_of(version, category=SNEAKERS, conditions=[{"kind": "words", "value": "running"}])
    assert (p.labelled_hits, p.agrees, p.disagrees, p.undecided) == (1, 0, 0, 1)
    assert p.precision is None


def test_a_review_rule_shows_how_often_the_model_is_right_on_its_items(version, tree, items):
    p = preview_of(
        version,
        action="review",
        category=None,
        reason="sizes over 30 are menswear",
        conditions=[{"kind": "attribute_range", "field": "size", "value": "30..40"}],
    )
    assert (p.hits, p.labelled_hits, p.undecided, p.model_right) == (1, 1, 1, 1)
    assert p.samples[0].rule_says == "review: sizes over 30 are menswear"


def test_the_preview_is_kept_on_the_rule(version, tree, items):
    p = preview_of(version)
    rule = Rule.objects.get(name="shirts")
    assert rule.previewed_at is not None
    assert rule.preview["hits"] == 3 and rule.preview["precision"] == p.precision


def test_a_big_catalog_is_previewed_on_an_even_sample(version, tree, items, settings):
    settings.TAXOLOOP = settings.TAXOLOOP | {"RULE_PREVIEW_MAX_ITEMS": 3}
    p = preview_of(version, conditions=[{"kind": "regex", "value": "."}])
    assert p.scanned < p.catalog == 7 and p.hits == p.scanned
    assert p.hits_estimate == 7


def chunk_of(version, items, compiled):
    """The catalog as one scored chunk: each item's stored top and confidence."""
    vtree = ml.version_tree(version)
    ids = sorted(i.pk for i in items.values())
    stored = {
        p.item_id: (vtree.node_of(p.top_category_id), p.confidence)
        for p in Prediction.objects.filter(item_id__in=ids)
    }
    predicted = np.array([stored.get(i, (-1, np.nan))[0] for i in ids])
    confidence = np.array([stored.get(i, (-1, np.nan))[1] for i in ids])
    return apply_chunk(compiled, item_ids=ids, predicted=predicted, confidence=confidence)


def test_scoring_adds_each_chunk_s_counts_to_the_rule_s_day(version, tree, items):
    rule = make_rule(version)
    Rule.objects.filter(pk=rule.pk).update(enabled=True)
    compiled = for_scoring(version)
    result = chunk_of(version, items, compiled)
    assert result.hits.tolist() == [3]
    chunk_of(version, items, compiled)
    stat = RuleStat.objects.get(rule=rule)
    assert (stat.scored, stat.hits, stat.labelled, stat.disagreements) == (14, 6, 6, 4)


def test_a_pattern_that_keeps_timing_out_is_switched_off_with_the_reason(
    version, tree, items, settings
):
    settings.TAXOLOOP = settings.TAXOLOOP | {"RULE_REGEX_TIMEOUT_MS": 5, "RULE_MAX_TIMEOUTS": 1}
    Item.objects.filter(pk=items["watch"].pk).update(title="a" * 40 + "b")
    rule = Rule.objects.create(
        taxonomy_version=version, name="slow", action="review", reason="r", enabled=True
    )
    RuleCondition.objects.create(rule=rule, kind="regex", field="title", value="(a|aa)+$")
    result = chunk_of(version, items, for_scoring(version))
    rule.refresh_from_db()
    assert result.hits.tolist() == [0] and not rule.enabled
    assert rule.problem.startswith(TIMED_OUT.split("{")[0]) and "SKU-watch" in rule.problem
    assert RuleStat.objects.get(rule=rule).timeouts == 1
