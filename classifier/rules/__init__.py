"""Rules beside the model (issue 17): taxonomy admins' conditions and actions, evaluated in
bulk over a chunk of items at scoring time. Plain Python, numpy and ``regex``; the product
builds ``Rule`` objects from its rows (``labeling.services.rules``).

- ``spec``: ``Condition``, ``Rule``, the kinds and actions, ``check_rule``.
- ``engine``: ``RuleSet`` (compile once, ``apply(ItemBatch)`` per chunk -> ``RuleResult``).
- ``chunk``: ``ItemBatch`` and a chunk's shared columns (texts, word index, masks).
- ``text``: tokens, the chunk's inverted index, phrases, patterns with a timeout.
- ``attributes``: attribute columns (equals, in, numeric range).
- ``forbid``: renormalising without forbidden leaves, and the top-k that follows.
- ``agreement``: does a rule agree with a person's label (previews, counts over time).
"""

from .engine import DEFAULT_MAX_TIMEOUTS, DEFAULT_REGEX_TIMEOUT, ItemBatch, RuleResult, RuleSet
from .forbid import forbid_renormalise, top_k
from .spec import (
    ACTIONS,
    ASSIGN,
    ATTRIBUTE_EQUALS,
    ATTRIBUTE_IN,
    ATTRIBUTE_RANGE,
    CONFIDENCE_ABOVE,
    CONFIDENCE_BELOW,
    DESCRIPTION,
    FORBID,
    KINDS,
    PHRASE,
    PREDICTED_IS,
    PREDICTED_UNDER,
    REGEX,
    REVIEW,
    TEXT,
    TEXT_FIELDS,
    TITLE,
    WORDS,
    Condition,
    Rule,
    check_rule,
)

__all__ = [
    "ACTIONS",
    "ASSIGN",
    "ATTRIBUTE_EQUALS",
    "ATTRIBUTE_IN",
    "ATTRIBUTE_RANGE",
    "CONFIDENCE_ABOVE",
    "CONFIDENCE_BELOW",
    "DEFAULT_MAX_TIMEOUTS",
    "DEFAULT_REGEX_TIMEOUT",
    "DESCRIPTION",
    "FORBID",
    "KINDS",
    "PHRASE",
    "PREDICTED_IS",
    "PREDICTED_UNDER",
    "REGEX",
    "REVIEW",
    "TEXT",
    "TEXT_FIELDS",
    "TITLE",
    "WORDS",
    "Condition",
    "ItemBatch",
    "Rule",
    "RuleResult",
    "RuleSet",
    "check_rule",
    "forbid_renormalise",
    "top_k",
]
