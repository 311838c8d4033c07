"""Text conditions over a chunk of items: words and phrases by token, patterns by regex.

Tokens are runs of word characters (``\\w+``), case-folded: "Slim-Fit" is ``slim``, ``fit``.
A chunk's texts are searched once per field for every word any rule asks for (one pattern:
the words as a trie, over the chunk's texts joined), giving an inverted index (token -> rows);
a phrase is its tokens in a row, checked only on the rows that hold all of them. (Splitting
every text into tokens instead cost 8 s per million 25-word descriptions; the joined search
about 3.5 s.)

Patterns use the third-party ``regex`` module for its per-call ``timeout``: a catastrophic
pattern (``(a+)+$``) gives up instead of hanging the rescore. Calling it once per item costs
about 2 µs with a timeout (measured: 1.9 s per million titles), too much for a few dozen
patterns over a million items, so a pattern is run once over the chunk's texts joined by
``\\n`` and each match is mapped back to its row by offset. That gives the same matches as one
search per item for patterns that do not look outside the match; a pattern with ``^`` or ``$``
is searched as a multi-line pattern over the texts that have no line break (same matches
again), and lookarounds, ``\\A \\Z \\G`` and texts with line breaks are searched item by item
(``Pattern``). A match that crosses a separator is not trusted: the rows it spans are searched
one by one. A joined search that times out is redone item by item too, so the timeout is
charged to the items that cause it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import regex

WORD = re.compile(r"\w+")
SEPARATOR = "\n"
# Pattern text that makes a match depend on what lies outside it. Conservative: an escaped
# ``\^`` or a ``[^...]`` class takes the ``lines`` path, which is exact for them too.
_LOOKS_AROUND = re.compile(r"\\[AZzG]|\(\?<?[=!]|\(\?[a-zA-Z-]*r")
_ANCHORS = re.compile(r"[\^$]")


def tokens(text: str) -> list[str]:
    """The text's tokens, case-folded."""
    return WORD.findall(text.casefold())


def normalise_phrase(phrase: str) -> str:
    """A phrase as its spaced, case-folded tokens."""
    return " ".join(tokens(phrase))


def words_matcher(words: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern finding every occurrence of any of ``words`` (tokens, case-folded) as a
    whole token: the words as a trie, so a position costs one walk, not one try per word."""
    trie: dict[str, dict] = {}
    for word in sorted(set(words)):
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    body = _trie_regex(trie)
    return re.compile(rf"\b(?:{body})\b") if body else None


def _trie_regex(node: dict[str, dict]) -> str:
    branches = [re.escape(char) + _trie_regex(sub) for char, sub in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def phrase_matcher(phrase: str) -> re.Pattern[str]:
    """A phrase's tokens in a row, whatever non-word characters lie between them."""
    parts = [re.escape(t) for t in phrase.split(" ")]
    return re.compile(r"\b" + r"\W+".join(parts) + r"\b", re.IGNORECASE)


@dataclass
class FieldTokens:
    """The wanted tokens of one text field of a chunk: token -> sorted rows holding it."""

    index: dict[str, np.ndarray]

    @classmethod
    def build(cls, texts: Sequence[str], matcher: re.Pattern[str] | None) -> FieldTokens:
        """One search of the chunk's joined, case-folded texts for every wanted word."""
        if matcher is None or not len(texts):
            return cls({})
        joined = Joined.of(texts, np.arange(len(texts)))
        folded = joined.text.casefold()
        if len(folded) != len(joined.text):  # a letter that folds to two (ß): fold each text
            joined = Joined.of([t.casefold() for t in texts], joined.rows)
            folded = joined.text
        found = [(m.start(), m.group()) for m in matcher.finditer(folded)]
        if not found:
            return cls({})
        rows = joined.row_of(np.fromiter((p for p, _ in found), np.int64, len(found)))
        grouped: dict[str, list[int]] = {}
        for row, (_, token) in zip(rows.tolist(), found, strict=True):
            grouped.setdefault(token, []).append(row)
        return cls({t: np.unique(np.asarray(r, dtype=np.int64)) for t, r in grouped.items()})

    def union(self, other: FieldTokens) -> FieldTokens:
        """Both fields' tokens (``text``: the title's and the description's)."""
        index = dict(self.index)
        for token, rows in other.index.items():
            index[token] = np.union1d(index[token], rows) if token in index else rows
        return FieldTokens(index)

    def rows_with_any(self, words: Iterable[str], n: int) -> np.ndarray:
        """``(n,)`` bool: rows holding any of ``words``."""
        mask = np.zeros(n, dtype=bool)
        for word in words:
            found = self.index.get(word)
            if found is not None:
                mask[found] = True
        return mask

    def rows_with_all(self, words: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """The rows of ``rows`` (sorted) holding every one of ``words``."""
        for word in words:
            found = self.index.get(word)
            if found is None:
                return rows[:0]
            rows = np.intersect1d(rows, found, assume_unique=True)
        return rows


JOINED, LINES, EACH = "joined", "lines", "each"


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern (case-insensitive) and how it may be searched: ``joined`` over the
    chunk's joined texts; ``lines`` (it has ``^`` or ``$``) joined too, as a multi-line
    pattern, over the texts without a line break (the others item by item); ``each`` (it
    looks around, or has ``\\A \\Z \\G``) item by item."""

    source: str
    compiled: regex.Pattern
    mode: str
    multiline: regex.Pattern | None = None

    @classmethod
    def compile(cls, source: str) -> Pattern:
        """Raises ``regex.error`` for a malformed pattern."""
        flags = regex.IGNORECASE | regex.VERSION0
        compiled = regex.compile(source, flags)
        if _LOOKS_AROUND.search(source):
            return cls(source, compiled, EACH)
        if _ANCHORS.search(source):
            return cls(source, compiled, LINES, regex.compile(source, flags | regex.MULTILINE))
        return cls(source, compiled, JOINED)


@dataclass
class RegexOutcome:
    matched: np.ndarray  # rows (of those asked) that match
    timed_out: list[int]  # rows whose search gave up: counted as no match


@dataclass(frozen=True)
class Joined:
    """Some rows' texts joined by ``SEPARATOR``, with where each row starts and ends."""

    rows: np.ndarray
    text: str
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str], rows: np.ndarray) -> Joined:
        parts = [texts[r] for r in rows.tolist()]
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
        return cls(rows, SEPARATOR.join(parts), starts, starts + lengths)

    def row_of(self, offsets: np.ndarray) -> np.ndarray:
        """Positions (into ``rows``) of the rows holding each offset."""
        return np.searchsorted(self.starts, offsets, side="right") - 1


def regex_rows(
    pattern: Pattern,
    texts: Sequence[str],
    rows: np.ndarray,
    *,
    timeout: float,
    max_timeouts: int,
    cache: dict[str, Joined] | None = None,
) -> RegexOutcome:
    """Which of ``rows`` (indices into ``texts``) match ``pattern``; at most ``max_timeouts``
    searches may time out (each ``timeout`` seconds), after which the rest count as no match.
    ``cache`` keeps the joined texts of every row between calls over the same ``texts``."""
    if not len(rows):
        return RegexOutcome(rows, [])
    found: list[int] = []
    each = rows
    if pattern.mode != EACH:
        lines = pattern.mode == LINES and pattern.multiline is not None
        joined = _joined(texts, rows, lines, cache)
        each = np.setdiff1d(rows, joined.rows, assume_unique=True)
        try:
            found, recheck = _joined_search(
                pattern.multiline if lines else pattern.compiled, joined, timeout
            )
        except TimeoutError:
            found, recheck = [], joined.rows.tolist()
        each = np.union1d(each, np.asarray(recheck, dtype=np.int64))
    timed_out: list[int] = []
    for row in each.tolist():
        if len(timed_out) >= max_timeouts:
            break
        try:
            if pattern.compiled.search(texts[row], timeout=timeout) is not None:
                found.append(row)
        except TimeoutError:
            timed_out.append(row)
    return RegexOutcome(np.unique(np.asarray(found, dtype=np.int64)), timed_out)


def _joined(
    texts: Sequence[str], rows: np.ndarray, lines: bool, cache: dict[str, Joined] | None
) -> Joined:
    """The rows a joined search can take (for ``lines``: those without a line break)."""
    key = "lines" if lines else "all"
    every = cache is not None and len(rows) == len(texts)
    if every and cache is not None and key in cache:
        return cache[key]
    if lines:
        breaks = np.fromiter((SEPARATOR in texts[r] for r in rows.tolist()), bool, len(rows))
        rows = rows[~breaks]
    joined = Joined.of(texts, rows)
    if every and cache is not None:
        cache[key] = joined
    return joined


def _joined_search(
    searcher: regex.Pattern, joined: Joined, timeout: float
) -> tuple[list[int], list[int]]:
    """(rows matched inside themselves, rows spanned by a match that crossed a separator)."""
    if not len(joined.rows):
        return [], []
    # The whole chunk's budget: a search that needs more is redone item by item.
    budget = max(0.25, 10 * timeout)
    spans = [m.span() for m in searcher.finditer(joined.text, timeout=budget)]
    if not spans:
        return [], []
    span = np.asarray(spans, dtype=np.int64)
    first = joined.row_of(span[:, 0])
    inside = span[:, 1] <= joined.ends[first]
    matched = np.unique(first[inside])
    recheck: set[int] = set()
    for a, b in span[~inside].tolist():
        lo, hi = joined.row_of(np.array([a, b])).tolist()
        recheck.update(range(lo, hi + 1))
    recheck.difference_update(matched.tolist())
    rows = joined.rows
    return rows[matched].tolist(), rows[sorted(recheck)].tolist() if recheck else []
