"""Rules as the engine takes them: rows (or a rule being written) -> ``classifier.rules``.

``for_scoring(taxonomy_version)`` loads the version's enabled rules, in precedence order
(priority, then id), and compiles them once for a whole rescore; a rule that no longer
compiles (its category left the tree) is switched off with the reason, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from classifier import rules as engine
from labeling.models import Rule, RuleCondition, TaxonomyVersion
from labeling.services.learning import ml

DEFAULT_REGEX_TIMEOUT_MS = 50
DEFAULT_MAX_TIMEOUTS = 3
DOES_NOT_COMPILE = "Switched off by Taxoloop: it no longer compiles ({error})."


@dataclass(frozen=True)
class CompiledRules:
    """A compiled rule set and the rows behind it (``rules[i]`` is the engine's rule i)."""

    ruleset: engine.RuleSet
    rules: tuple[Rule, ...]
    vtree: ml.VersionTree
    # Positions the engine switched off (pattern timeouts) that are already written down.
    switched_off: set[int] = field(default_factory=set)

    @property
    def reads(self) -> frozenset[str]:
        return self.ruleset.reads


def regex_timeout() -> float:
    """Seconds one pattern search on one item may take (``RULE_REGEX_TIMEOUT_MS``)."""
    return float(settings.TAXOLOOP.get("RULE_REGEX_TIMEOUT_MS", DEFAULT_REGEX_TIMEOUT_MS)) / 1000


def engine_condition(
    *, kind: str, field: str, value: Any, category_id: int | None, vtree: ml.VersionTree
) -> engine.Condition:
    """One stored condition in the engine's terms."""
    if kind in (RuleCondition.Kind.PREDICTED_IS, RuleCondition.Kind.PREDICTED_UNDER):
        return engine.Condition(kind, node=vtree.node_of(category_id) if category_id else -1)
    if kind == RuleCondition.Kind.ATTRIBUTE_RANGE:
        value = (value.get("min"), value.get("max"))
    elif isinstance(value, list):
        value = tuple(value)
    return engine.Condition(kind, field, value)


def engine_rule(
    *,
    action: str,
    category_id: int | None,
    reason: str,
    conditions: Iterable[engine.Condition],
    vtree: ml.VersionTree,
    key: Any = None,
) -> engine.Rule:
    node = vtree.node_of(category_id) if category_id else -1
    return engine.Rule(action, tuple(conditions), node=node, reason=reason, key=key)


def rule_to_engine(rule: Rule, vtree: ml.VersionTree) -> engine.Rule:
    """A saved rule (its ``conditions`` prefetched or not) in the engine's terms."""
    conditions = [
        engine_condition(
            kind=c.kind, field=c.field, value=c.value, category_id=c.category_id, vtree=vtree
        )
        for c in rule.conditions.all()
    ]
    return engine_rule(
        action=rule.action,
        category_id=rule.category_id,
        reason=rule.reason,
        conditions=conditions,
        vtree=vtree,
        key=rule.pk,
    )


def compile_rules(rules: Sequence[Rule], vtree: ml.VersionTree) -> CompiledRules:
    """Compile ``rules`` in the order given; raises ``ValueError`` (or ``ml.MLError``)."""
    ruleset = engine.RuleSet(
        [rule_to_engine(rule, vtree) for rule in rules],
        vtree.tree,
        regex_timeout=regex_timeout(),
        max_timeouts=int(settings.TAXOLOOP.get("RULE_MAX_TIMEOUTS", DEFAULT_MAX_TIMEOUTS)),
    )
    return CompiledRules(ruleset, tuple(rules), vtree)


def for_scoring(taxonomy_version: TaxonomyVersion) -> CompiledRules | None:
    """The version's enabled rules compiled for a rescore; None when it has none."""
    rules = list(
        Rule.objects.filter(taxonomy_version=taxonomy_version, enabled=True)
        .order_by("priority", "id")
        .prefetch_related("conditions")
    )
    if not rules:
        return None
    vtree = ml.version_tree(taxonomy_version)
    usable = [rule for rule in rules if _compiles(rule, vtree)]
    return compile_rules(usable, vtree) if usable else None


def _compiles(rule: Rule, vtree: ml.VersionTree) -> bool:
    try:
        engine.RuleSet([rule_to_engine(rule, vtree)], vtree.tree)
    except (ValueError, ml.MLError) as error:
        Rule.objects.filter(pk=rule.pk).update(
            enabled=False, problem=DOES_NOT_COMPILE.format(error=error)
        )
        return False
    return True
