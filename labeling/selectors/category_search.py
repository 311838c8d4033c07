"""The review page's category search and the tree it drills down.

The search runs in Python over the in-memory index of the version's categories
(``labeling.selectors.category_index``): the Google taxonomy's 5,595 nodes are scanned in a few
milliseconds, with ranking rules a SQL ``icontains`` cannot express (exact name before prefix
before substring, then the model's probability). The report views' category picker uses it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from labeling.models import Category, TaxonomyVersion
from labeling.selectors.category_index import IndexNode, category_index_get, node_probabilities

SEARCH_LIMIT = 20
MIN_QUERY = 1

# Match quality, best first.
EXACT, PREFIX, WORD_PREFIX, SUBSTRING, SYNONYM, PATH, ALL_WORDS = range(7)
QUALITY_WORDS = {
    EXACT: "exact",
    PREFIX: "name starts with",
    WORD_PREFIX: "word starts with",
    SUBSTRING: "in the name",
    SYNONYM: "synonym",
    PATH: "in the path",
    ALL_WORDS: "all words in the path",
}


@dataclass(frozen=True)
class CategoryMatch:
    category_id: int
    name: str
    path: str
    depth: int
    is_leaf: bool
    quality: int
    p: float  # the model's probability for this node (inner nodes: sum of their leaves)
    synonym: str = ""
    guideline: str = ""  # the category's guideline (Markdown); empty: none

    @property
    def how(self) -> str:
        return QUALITY_WORDS[self.quality]


def category_search(
    *,
    version: TaxonomyVersion,
    q: str,
    candidates: Iterable[Mapping[str, Any]] = (),
    limit: int = SEARCH_LIMIT,
) -> list[CategoryMatch]:
    """Categories of ``version`` matching ``q`` by name, synonym or path; best match first,
    then the model's probability for the node (from ``candidates``), then shallower, then path.
    """
    q = " ".join((q or "").lower().split())
    if len(q) < MIN_QUERY:
        return []
    index = category_index_get(version)
    probs = node_probabilities(candidates, {n.pk: n.parent for n in index.nodes})
    words = q.split(" ")
    word_re = re.compile(r"\b" + re.escape(q))
    found: list[CategoryMatch] = []
    for node in index.nodes:
        graded = _grade(node, q, words, word_re)
        if graded is not None:
            quality, synonym = graded
            found.append(
                CategoryMatch(
                    node.pk,
                    node.name,
                    node.path,
                    node.depth,
                    node.is_leaf,
                    quality,
                    probs.get(node.pk, 0.0),
                    synonym,
                    node.guideline,
                )
            )
    found.sort(key=lambda m: (m.quality, -m.p, m.depth, m.path))
    return found[:limit]


def _grade(
    node: IndexNode, q: str, words: list[str], word_re: re.Pattern[str]
) -> tuple[int, str] | None:
    name = node.name_l
    if name == q:
        return EXACT, ""
    if name.startswith(q):
        return PREFIX, ""
    if word_re.search(name):
        return WORD_PREFIX, ""
    if q in name:
        return SUBSTRING, ""
    for shown, syn in zip(node.synonyms, node.synonyms_l, strict=True):
        if q in syn:
            return (EXACT if syn == q else SYNONYM), shown
    if q in node.path_l:
        return PATH, ""
    if len(words) > 1:
        haystack = node.path_l + " " + " ".join(node.synonyms_l)
        if all(w in haystack for w in words):
            return ALL_WORDS, ""
    return None


@dataclass(frozen=True)
class TreeLevel:
    """One level of the tree. ``node`` and each child carry ``guideline_text`` (Markdown,
    from the index; empty: none)."""

    node: Category | None  # None: the top level
    trail: list[Category]  # ancestors of ``node`` from the top, then ``node``
    children: list[tuple[Category, float]]  # (child, model probability), by name


def category_tree_level(
    *, version: TaxonomyVersion, node_id: int | None, candidates: Iterable[Mapping[str, Any]] = ()
) -> TreeLevel:
    """One level of the tree for drilling down: ``node_id``'s children (top level for None)."""
    node = None
    if node_id is not None:
        node = Category.objects.filter(version=version, pk=node_id).first()
    kids = Category.objects.filter(version=version, parent=node, deprecated=False).order_by("name")
    index = category_index_get(version)
    probs = node_probabilities(candidates, {n.pk: n.parent for n in index.nodes})
    trail = [*node.ancestors(), node] if node is not None else []
    children = list(kids)
    for category in [*children, *([node] if node is not None else [])]:
        indexed = index.by_pk.get(category.pk)
        setattr(category, "guideline_text", indexed.guideline if indexed else "")  # noqa: B010
    return TreeLevel(node=node, trail=trail, children=[(c, probs.get(c.pk, 0.0)) for c in children])
