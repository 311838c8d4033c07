"""What a rule set evaluates a chunk with: each condition's prepared value, and the chunk's
columns (texts, word index, attributes, condition masks), built once and shared by every rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.rules import text
from classifier.rules.attributes import AttributeColumn
from classifier.rules.spec import (
    ATTRIBUTE_KINDS,
    CONFIDENCE_ABOVE,
    CONFIDENCE_BELOW,
    DESCRIPTION,
    PHRASE,
    PREDICTED_IS,
    PREDICTED_UNDER,
    REGEX,
    TEXT,
    TITLE,
    WORDS,
    Condition,
)


@dataclass(frozen=True)
class ItemBatch:
    """One chunk of items. ``predicted`` ``(n,)`` int node of the model's top leaf (-1: no
    prediction) and ``confidence`` ``(n,)`` its probability (NaN: none); both may be None
    when no rule reads them, as may ``descriptions`` and ``attributes``."""

    titles: Sequence[str]
    descriptions: Sequence[str] | None = None
    attributes: Sequence[Mapping[str, Any] | None] | None = None
    predicted: np.ndarray | None = None
    confidence: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.titles)


def prepare(condition: Condition, tree: Any) -> Any:
    """What a condition is evaluated with: case-folded words, a phrase's spaced tokens, a
    compiled pattern, an attribute value's text form, a node's descendants."""
    kind, value = condition.kind, condition.value
    if kind == WORDS:
        words = [text.tokens(w) for w in value]
        if any(len(w) != 1 for w in words):
            raise ValueError("each word must be one token (letters, digits, _); use a phrase")
        return frozenset(w[0] for w in words)
    if kind == PHRASE:
        phrase = text.normalise_phrase(value)
        if not phrase:
            raise ValueError("the phrase has no words")
        return phrase.split(" "), text.phrase_matcher(phrase)
    if kind == REGEX:
        return text.Pattern.compile(value)
    if kind == PREDICTED_UNDER:
        return tree.ancestors[condition.node]
    if kind in ATTRIBUTE_KINDS:
        return AttributeColumn.prepared(kind, value)
    return value


class Chunk:
    """One batch's lazily built columns, shared by every rule of the set."""

    def __init__(self, batch: ItemBatch, matchers: Mapping[str, Any]) -> None:
        self.batch, self.matchers, self.n = batch, matchers, len(batch)
        self._texts: dict[str, Sequence[str]] = {}
        self._tokens: dict[str, text.FieldTokens] = {}
        self._attributes: dict[str, AttributeColumn] = {}
        self._masks: dict[tuple, np.ndarray] = {}
        self.joined: dict[str, dict[str, text.Joined]] = {}

    def rows(self, alive: np.ndarray | None) -> np.ndarray:
        return np.arange(self.n, dtype=np.int64) if alive is None else alive

    def texts(self, name: str) -> Sequence[str]:
        if name not in self._texts:
            titles, descriptions = self.batch.titles, self.batch.descriptions
            if name == TITLE:
                self._texts[name] = titles
            elif descriptions is None:
                self._texts[name] = [""] * self.n if name == DESCRIPTION else titles
            elif name == DESCRIPTION:
                self._texts[name] = descriptions
            else:
                self._texts[name] = [f"{t}\n{d}" for t, d in zip(titles, descriptions, strict=True)]
        return self._texts[name]

    def tokens(self, name: str) -> text.FieldTokens:
        if name not in self._tokens:
            if name == TEXT:
                tokens = self.tokens(TITLE)
                if self.batch.descriptions is not None:
                    tokens = tokens.union(self.tokens(DESCRIPTION))
            else:
                matcher = self.matchers.get(name)
                tokens = text.FieldTokens.build(self.texts(name), matcher)
            self._tokens[name] = tokens
        return self._tokens[name]

    def phrase(self, name: str, prepared: Any, alive: np.ndarray | None) -> np.ndarray:
        """Rows of ``alive`` with the phrase: its words by the index, their order by search."""
        words, matcher = prepared
        candidates = self.tokens(name).rows_with_all(words, self.rows(alive))
        texts = self.texts(name)
        keep = [matcher.search(texts[row]) is not None for row in candidates.tolist()]
        return candidates[np.asarray(keep, dtype=bool)] if len(candidates) else candidates

    def mask(self, condition: Condition, prepared: Any) -> np.ndarray:
        key = (condition.kind, condition.field, repr(condition.value), condition.node)
        mask = self._masks.get(key)
        if mask is None:
            mask = self._masks[key] = self._compute(condition, prepared)
        return mask

    def _compute(self, condition: Condition, prepared: Any) -> np.ndarray:
        kind = condition.kind
        if kind == WORDS:
            return self.tokens(condition.field).rows_with_any(prepared, self.n)
        if kind in ATTRIBUTE_KINDS:
            return self.attribute(condition.field).mask(kind, prepared)
        return self._prediction_mask(condition, prepared)

    def attribute(self, name: str) -> AttributeColumn:
        if name not in self._attributes:
            self._attributes[name] = AttributeColumn.build(self.batch.attributes, name, self.n)
        return self._attributes[name]

    def _prediction_mask(self, condition: Condition, prepared: Any) -> np.ndarray:
        predicted, confidence = self.batch.predicted, self.batch.confidence
        kind = condition.kind
        if kind in (CONFIDENCE_BELOW, CONFIDENCE_ABOVE):
            if confidence is None:
                return np.zeros(self.n, dtype=bool)
            conf = np.asarray(confidence, dtype=np.float64)
            return conf < prepared if kind == CONFIDENCE_BELOW else conf > prepared
        if predicted is None:
            return np.zeros(self.n, dtype=bool)
        nodes = np.asarray(predicted, dtype=np.int64)
        if kind == PREDICTED_IS:
            return nodes == condition.node
        known = nodes >= 0
        mask = np.zeros(self.n, dtype=bool)
        mask[known] = prepared[nodes[known]]
        return mask
