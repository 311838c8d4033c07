"""What a rule is, as plain data: conditions that must all hold, and one action.

A ``Condition`` reads one thing of an item: its text (``title``, ``description`` or
``text``, both), one of its attributes, or the model's prediction (its top leaf and that
leaf's probability). A ``Rule`` joins conditions with AND and says what happens to the
items it hits: ``assign`` a node (final, overriding the model), ``forbid`` a node (its
leaves are taken out of the model's probabilities), or ``review`` (a person must look, for
``reason``). Nodes are ``classifier.tree.Tree`` node indices.

``check_rule`` refuses what the engine cannot evaluate, with a message naming the condition;
the product's validation (``labeling.services.rules``) says the same things in its own words
before anything reaches here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ASSIGN, FORBID, REVIEW = "assign", "forbid", "review"
ACTIONS = (ASSIGN, FORBID, REVIEW)

WORDS, PHRASE, REGEX = "words", "phrase", "regex"
ATTRIBUTE_EQUALS, ATTRIBUTE_IN, ATTRIBUTE_RANGE = (
    "attribute_equals",
    "attribute_in",
    "attribute_range",
)
PREDICTED_IS, PREDICTED_UNDER = "predicted_is", "predicted_under"
CONFIDENCE_BELOW, CONFIDENCE_ABOVE = "confidence_below", "confidence_above"

TEXT_KINDS = (WORDS, PHRASE, REGEX)
ATTRIBUTE_KINDS = (ATTRIBUTE_EQUALS, ATTRIBUTE_IN, ATTRIBUTE_RANGE)
PREDICTION_KINDS = (PREDICTED_IS, PREDICTED_UNDER, CONFIDENCE_BELOW, CONFIDENCE_ABOVE)
NODE_KINDS = (PREDICTED_IS, PREDICTED_UNDER)
KINDS = TEXT_KINDS + ATTRIBUTE_KINDS + PREDICTION_KINDS

TITLE, DESCRIPTION, TEXT = "title", "description", "text"
TEXT_FIELDS = (TITLE, DESCRIPTION, TEXT)


@dataclass(frozen=True)
class Condition:
    """One test on an item.

    Args:
        kind: one of ``KINDS``.
        field: ``title``/``description``/``text`` for the text kinds; the attribute's name
            for the attribute kinds; unused otherwise.
        value: words (a tuple, any of them), a phrase, a pattern, an attribute value, a tuple
            of values, ``(low, high)`` (inclusive, either may be None), or a probability.
        node: the tree node of ``predicted_is`` / ``predicted_under``.
    """

    kind: str
    field: str = ""
    value: Any = None
    node: int = -1


@dataclass(frozen=True)
class Rule:
    """Conditions joined by AND, and an action (``node`` for assign/forbid, ``reason`` for
    review). ``key`` is the caller's name for it (a database id), echoed in results."""

    action: str
    conditions: tuple[Condition, ...]
    node: int = -1
    reason: str = ""
    key: Any = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def check_rule(rule: Rule, n_nodes: int) -> None:
    """Raise ``ValueError`` when ``rule`` cannot be evaluated (unknown kind or action, a node
    outside the tree, an empty condition list, a malformed value)."""
    if rule.action not in ACTIONS:
        raise ValueError(f"unknown action {rule.action!r}; one of {', '.join(ACTIONS)}")
    if rule.action in (ASSIGN, FORBID) and not 0 <= rule.node < n_nodes:
        raise ValueError(f"{rule.action} needs a node of the tree, got {rule.node}")
    if not rule.conditions:
        raise ValueError("a rule needs at least one condition")
    for condition in rule.conditions:
        check_condition(condition, n_nodes)


def check_condition(condition: Condition, n_nodes: int) -> None:
    kind, value = condition.kind, condition.value
    if kind not in KINDS:
        raise ValueError(f"unknown condition {kind!r}; one of {', '.join(KINDS)}")
    if kind in TEXT_KINDS and condition.field not in TEXT_FIELDS:
        raise ValueError(f"{kind} reads one of {', '.join(TEXT_FIELDS)}, not {condition.field!r}")
    if kind in ATTRIBUTE_KINDS and not condition.field:
        raise ValueError(f"{kind} needs an attribute name")
    if kind in NODE_KINDS and not 0 <= condition.node < n_nodes:
        raise ValueError(f"{kind} needs a node of the tree, got {condition.node}")
    if kind == WORDS and (not _strings(value) or not value):
        raise ValueError("words needs a non-empty tuple of words")
    if kind in (PHRASE, REGEX) and (not isinstance(value, str) or not value):
        raise ValueError(f"{kind} needs a non-empty string")
    if kind == ATTRIBUTE_IN and (not isinstance(value, tuple | list) or not value):
        raise ValueError("attribute_in needs a non-empty list of values")
    if kind == ATTRIBUTE_RANGE:
        _check_range(value)
    if kind in (CONFIDENCE_BELOW, CONFIDENCE_ABOVE) and not _is_number(value):
        raise ValueError(f"{kind} needs a number")


def _strings(value: Any) -> bool:
    return isinstance(value, tuple | list) and all(isinstance(v, str) and v for v in value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_range(value: Any) -> None:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError("attribute_range needs (low, high)")
    low, high = value
    if low is None and high is None:
        raise ValueError("attribute_range needs a low or a high bound")
    if any(v is not None and not _is_number(v) for v in (low, high)):
        raise ValueError("attribute_range bounds must be numbers or None")
    if low is not None and high is not None and low > high:
        raise ValueError("attribute_range: low is above high")
