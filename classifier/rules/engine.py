"""Evaluate a rule set over a chunk of items, in bulk.

``RuleSet(rules, tree)`` compiles once (patterns, the words to index, each forbid rule's
leaf mask, each ``predicted_under`` node's descendants); ``apply(batch)`` evaluates every
rule over one ``ItemBatch`` and returns a ``RuleResult``.

How a chunk is evaluated cheaply: every condition that can be answered for all rows with
array operations (the prediction's, the attributes', words through the chunk's inverted
index) is computed once per chunk and shared by the rules that use it; a rule's conditions
run cheapest first on the rows still alive, so phrases and patterns only see rows that passed
everything else. Pattern searches have a timeout (``text.regex_rows``); a rule whose searches
time out ``max_timeouts`` times is switched off for the rest of this rule set's life
(``disabled_``, with ``timeouts_`` per rule), the items concerned counting as no match.

Precedence: the caller's order. The first assign rule that hits an item decides its node,
the first review rule its reason; every forbid rule that hits it adds its leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import regex

from classifier.rules import text
from classifier.rules.chunk import Chunk, ItemBatch, prepare
from classifier.rules.spec import (
    ASSIGN,
    ATTRIBUTE_KINDS,
    DESCRIPTION,
    FORBID,
    PHRASE,
    PREDICTION_KINDS,
    REGEX,
    REVIEW,
    TEXT,
    TITLE,
    WORDS,
    Condition,
    Rule,
    check_rule,
)

DEFAULT_REGEX_TIMEOUT = 0.05  # seconds per item
DEFAULT_MAX_TIMEOUTS = 3  # per rule, then it is switched off
# Cheapest first; a rule's conditions run in this order.
_COST = {WORDS: 1, PHRASE: 3, REGEX: 4} | {k: 0 for k in PREDICTION_KINDS}
_COST |= {k: 2 for k in ATTRIBUTE_KINDS}


@dataclass(frozen=True)
class RuleResult:
    """Per item (``n``) and per rule (``r``, positions in the rule set).

    ``assigned`` ``(n,)`` node or -1 and ``assigned_rule`` ``(n,)`` the rule that set it;
    ``review_rule`` ``(n,)`` the first review rule that hit the item or -1; ``forbid_rows``
    ``(m,)`` the rows any forbid rule hit and ``forbid_leaves`` ``(m, n_leaves)`` bool the
    leaf columns forbidden there (built when first read: at a high forbid rate it is the
    biggest array here, and only a caller that rescores those rows needs it);
    ``hit_rows``/``hit_rules`` ``(h,)`` every (row, rule) hit;
    ``hits`` and ``timeouts`` ``(r,)`` counts in this chunk; ``timed_out`` rule -> rows.
    """

    assigned: np.ndarray
    assigned_rule: np.ndarray
    review_rule: np.ndarray
    forbid_rows: np.ndarray
    forbid_pairs: tuple[np.ndarray, np.ndarray]  # (row, forbid slot) sorted by row
    leaf_masks: np.ndarray  # (forbid rules, n_leaves) bool
    hit_rows: np.ndarray
    hit_rules: np.ndarray
    hits: np.ndarray
    timeouts: np.ndarray
    timed_out: dict[int, list[int]]
    reasons: tuple[str, ...]

    @cached_property
    def forbid_leaves(self) -> np.ndarray:
        """``(m, n_leaves)`` bool: the first rule's mask gathered for every row at once, then
        the few rows that more than one rule hit OR-ed one by one."""
        rows, slots = self.forbid_pairs
        first = np.searchsorted(rows, self.forbid_rows)
        leaves = self.leaf_masks[slots[first]]
        more = np.ones(len(rows), dtype=bool)
        more[first] = False
        for i in np.flatnonzero(more).tolist():
            leaves[np.searchsorted(self.forbid_rows, rows[i])] |= self.leaf_masks[slots[i]]
        return leaves

    def review_reason(self, row: int) -> str | None:
        rule = int(self.review_rule[row])
        return self.reasons[rule] if rule >= 0 else None


class RuleSet:
    """A compiled rule set (see the module docstring).

    Args:
        rules: in precedence order.
        tree: the ``classifier.tree.Tree`` the rules' nodes belong to.
        regex_timeout: seconds one pattern search on one item may take.
        max_timeouts: timeouts after which a rule is switched off.
    Raises:
        ValueError: a rule that cannot be evaluated; the message starts ``rule <i>:``.
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        tree: Any,
        *,
        regex_timeout: float = DEFAULT_REGEX_TIMEOUT,
        max_timeouts: int = DEFAULT_MAX_TIMEOUTS,
    ) -> None:
        self.rules = tuple(rules)
        self.tree = tree
        self.regex_timeout = regex_timeout
        self.max_timeouts = max_timeouts
        self._conditions = [self._compile(i, rule) for i, rule in enumerate(self.rules)]
        forbid = [i for i, rule in enumerate(self.rules) if rule.action == FORBID]
        self._slot = np.full(len(self.rules), -1, dtype=np.int64)
        self._slot[forbid] = np.arange(len(forbid))
        self._leaves = tree.leaf_membership[[self.rules[i].node for i in forbid]]
        self.matchers = self._matchers()
        self.timeouts_ = np.zeros(len(self.rules), dtype=np.int64)
        self.disabled_: set[int] = set()

    # -- compiling ------------------------------------------------------------------------

    def _compile(self, position: int, rule: Rule) -> list[tuple[Condition, Any]]:
        try:
            check_rule(rule, self.tree.n_nodes)
            compiled = [(c, prepare(c, self.tree)) for c in rule.conditions]
        except (ValueError, regex.error) as error:
            raise ValueError(f"rule {position}: {error}") from error
        return sorted(compiled, key=lambda pair: _COST[pair[0].kind])

    def _matchers(self) -> dict[str, Any]:
        """Per stored field (title, description), one pattern for every word its conditions
        and ``text``'s ask for (a phrase's words too: its candidates are rows with all)."""
        wanted: dict[str, set[str]] = {TITLE: set(), DESCRIPTION: set()}
        for conditions in self._conditions:
            for condition, prepared in conditions:
                words = prepared if condition.kind == WORDS else ()
                words = prepared[0] if condition.kind == PHRASE else words
                for name in (TITLE, DESCRIPTION) if condition.field == TEXT else (condition.field,):
                    if name in wanted:
                        wanted[name].update(words)
        return {name: text.words_matcher(words) for name, words in wanted.items()}

    @property
    def reads(self) -> frozenset[str]:
        """What the rules read: ``title``, ``description``, ``attributes``, ``prediction``."""
        out: set[str] = set()
        for conditions in self._conditions:
            for condition, _ in conditions:
                if condition.kind in PREDICTION_KINDS:
                    out.add("prediction")
                elif condition.kind in ATTRIBUTE_KINDS:
                    out.add("attributes")
                elif condition.field == TEXT:
                    out.update((TITLE, DESCRIPTION))
                else:
                    out.add(condition.field)
        return frozenset(out)

    # -- evaluating -----------------------------------------------------------------------

    def apply(self, batch: ItemBatch) -> RuleResult:
        """Evaluate every rule over ``batch`` (see ``RuleResult``)."""
        chunk = Chunk(batch, self.matchers)
        n, n_rules = len(batch), len(self.rules)
        hits = np.zeros(n_rules, dtype=np.int64)
        timeouts = np.zeros(n_rules, dtype=np.int64)
        timed_out: dict[int, list[int]] = {}
        alive_by_rule: list[np.ndarray] = []
        for position in range(n_rules):
            alive = self._evaluate(position, chunk, timed_out)
            alive_by_rule.append(alive)
            hits[position] = len(alive)
            timeouts[position] = len(timed_out.get(position, ()))
        return self._result(n, alive_by_rule, hits, timeouts, timed_out)

    def _evaluate(self, position: int, chunk: Chunk, timed_out: dict) -> np.ndarray:
        none = np.zeros(0, dtype=np.int64)
        if position in self.disabled_:
            return none
        alive: np.ndarray | None = None  # None: every row
        for condition, prepared in self._conditions[position]:
            if condition.kind == PHRASE:
                alive = chunk.phrase(condition.field, prepared, alive)
            elif condition.kind == REGEX:
                alive = self._regex(position, condition, prepared, chunk, alive, timed_out)
            else:
                mask = chunk.mask(condition, prepared)
                alive = np.flatnonzero(mask) if alive is None else alive[mask[alive]]
            if not len(alive):
                return none
        return chunk.rows(alive)

    def _regex(
        self,
        position: int,
        condition: Condition,
        pattern: text.Pattern,
        chunk: Chunk,
        alive: np.ndarray | None,
        timed_out: dict[int, list[int]],
    ) -> np.ndarray:
        left = self.max_timeouts - int(self.timeouts_[position])
        outcome = text.regex_rows(
            pattern,
            chunk.texts(condition.field),
            chunk.rows(alive),
            timeout=self.regex_timeout,
            max_timeouts=left,
            cache=chunk.joined.setdefault(condition.field, {}),
        )
        if outcome.timed_out:
            timed_out.setdefault(position, []).extend(outcome.timed_out)
            self.timeouts_[position] += len(outcome.timed_out)
            if self.timeouts_[position] >= self.max_timeouts:
                self.disabled_.add(position)
                return outcome.matched[:0]
        return outcome.matched

    def _result(
        self,
        n: int,
        alive_by_rule: list[np.ndarray],
        hits: np.ndarray,
        timeouts: np.ndarray,
        timed_out: dict[int, list[int]],
    ) -> RuleResult:
        assigned = np.full(n, -1, dtype=np.int64)
        assigned_rule = np.full(n, -1, dtype=np.int64)
        review_rule = np.full(n, -1, dtype=np.int64)
        forbids: list[tuple[int, np.ndarray]] = []
        for position, alive in enumerate(alive_by_rule):
            rule = self.rules[position]
            if not len(alive):
                continue
            if rule.action == ASSIGN:
                free = alive[assigned_rule[alive] < 0]
                assigned[free], assigned_rule[free] = rule.node, position
            elif rule.action == REVIEW:
                review_rule[alive[review_rule[alive] < 0]] = position
            else:
                forbids.append((position, alive))
        forbid_rows, forbid_pairs = self._forbidden(forbids)
        pairs = [(a, np.full(len(a), p, dtype=np.int64)) for p, a in enumerate(alive_by_rule)]
        return RuleResult(
            assigned=assigned,
            assigned_rule=assigned_rule,
            review_rule=review_rule,
            forbid_rows=forbid_rows,
            forbid_pairs=forbid_pairs,
            leaf_masks=self._leaves,
            hit_rows=np.concatenate([a for a, _ in pairs]) if pairs else np.zeros(0, np.int64),
            hit_rules=np.concatenate([r for _, r in pairs]) if pairs else np.zeros(0, np.int64),
            hits=hits,
            timeouts=timeouts,
            timed_out=timed_out,
            reasons=tuple(rule.reason for rule in self.rules),
        )

    def _forbidden(
        self, forbids: list[tuple[int, np.ndarray]]
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """The rows any forbid rule hit, and every (row, forbid slot) pair sorted by row."""
        if not forbids:
            empty = np.zeros(0, dtype=np.int64)
            return empty, (empty, empty)
        hit_rows = np.concatenate([alive for _, alive in forbids])
        hit_slots = np.concatenate([np.full(len(a), self._slot[p]) for p, a in forbids])
        order = np.lexsort((hit_slots, hit_rows))
        hit_rows, hit_slots = hit_rows[order], hit_slots[order]
        return np.unique(hit_rows), (hit_rows, hit_slots)
