"""Read side of the review page: the item card, the category search, the tree, the figures.

The category search runs in Python over an in-memory index of the version's categories
(built once per version; rebuilt when a category is added or deprecated, and at the latest
after ``INDEX_TTL_SECONDS`` so renamed names and edited synonyms show up): the Google taxonomy's
5,595 nodes are scanned in a few milliseconds, with ranking rules a SQL ``icontains`` cannot
express (exact name before prefix before substring, then the model's probability).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, QuerySet

from labeling.models import Category, Prediction, QueueEntry, TaxonomyVersion

SEARCH_LIMIT = 20
INDEX_TTL_SECONDS = 30.0
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

    @property
    def how(self) -> str:
        return QUALITY_WORDS[self.quality]


@dataclass(frozen=True)
class _Node:
    pk: int
    parent: int | None
    name: str
    path: str
    depth: int
    is_leaf: bool
    name_l: str
    path_l: str
    synonyms: tuple[str, ...]
    synonyms_l: tuple[str, ...]


class _Index:
    def __init__(self, nodes: list[_Node]) -> None:
        self.nodes = nodes
        self.by_pk = {n.pk: n for n in nodes}


_lock = threading.Lock()
_indexes: dict[int, tuple[tuple[int, int | None], float, _Index]] = {}


def category_index_clear() -> None:
    """Forget the cached search indexes (tests; an edit shows up after INDEX_TTL_SECONDS)."""
    with _lock:
        _indexes.clear()


def _index(version: TaxonomyVersion) -> _Index:
    """The version's non-deprecated categories, cached until their count or newest id changes."""
    stamp = Category.objects.filter(version=version, deprecated=False).aggregate(
        n=Count("pk"), top=Max("pk")
    )
    key = (int(stamp["n"]), stamp["top"])
    with _lock:
        cached = _indexes.get(version.pk)
        if (
            cached is not None
            and cached[0] == key
            and time.monotonic() - cached[1] < INDEX_TTL_SECONDS
        ):
            return cached[2]
    rows = Category.objects.filter(version=version, deprecated=False).values_list(
        "pk", "parent_id", "name", "path", "depth", "is_leaf", "synonyms"
    )
    nodes = [
        _Node(
            pk,
            parent,
            name,
            path,
            depth,
            leaf,
            name.lower(),
            path.lower(),
            tuple(str(s) for s in syn or ()),
            tuple(str(s).lower() for s in syn or ()),
        )
        for pk, parent, name, path, depth, leaf, syn in rows
    ]
    index = _Index(nodes)
    with _lock:
        _indexes[version.pk] = (key, time.monotonic(), index)
    return index


def node_probabilities(
    candidates: Iterable[Mapping[str, Any]], parents: Mapping[int, int | None]
) -> dict[int, float]:
    """Leaf probabilities from a prediction's candidates, summed up into every ancestor."""
    out: dict[int, float] = {}
    for cand in candidates:
        node: int | None = int(cand["category"])
        p = float(cand["p"])
        while node is not None:
            out[node] = out.get(node, 0.0) + p
            node = parents.get(node)
    return out


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
    index = _index(version)
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
                )
            )
    found.sort(key=lambda m: (m.quality, -m.p, m.depth, m.path))
    return found[:limit]


def _grade(
    node: _Node, q: str, words: list[str], word_re: re.Pattern[str]
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
    index = _index(version)
    probs = node_probabilities(candidates, {n.pk: n.parent for n in index.nodes})
    trail = [*node.ancestors(), node] if node is not None else []
    return TreeLevel(node=node, trail=trail, children=[(c, probs.get(c.pk, 0.0)) for c in kids])


# -- the item card -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateRow:
    category: Category
    p: float
    shortcut: int


def candidate_rows(candidates: Iterable[Mapping[str, Any]], limit: int = 9) -> list[CandidateRow]:
    """The model's top candidates with their categories (full path), keys 1–9 in order."""
    cands = list(candidates)[:limit]
    cats = Category.objects.in_bulk([int(c["category"]) for c in cands])
    rows: list[CandidateRow] = []
    for c in cands:
        cat = cats.get(int(c["category"]))
        if cat is not None and not cat.deprecated:
            rows.append(CandidateRow(cat, float(c["p"]), len(rows) + 1))
    return rows


def reason_in_words(reason: str, detail: Mapping[str, Any]) -> str:
    """Why the item is in the queue, as a reviewer reads it."""
    names = _names(detail)
    between = [names.get(int(x), f"#{x}") for x in detail.get("between", [])]
    if reason == QueueEntry.Reason.AUDIT:
        return "random audit"
    if reason in (QueueEntry.Reason.UNCERTAIN, QueueEntry.Reason.BOUNDARY) and len(between) == 2:
        where = "uncertain" if reason == QueueEntry.Reason.UNCERTAIN else "on the boundary"
        return f"{where} between {between[0]} and {between[1]}"
    if reason == QueueEntry.Reason.DISAGREEMENT:
        says = [
            f"{k.removesuffix('_says')} says {names.get(int(v), f'#{v}')}"
            for k, v in detail.items()
            if k.endswith("_says")
        ]
        return ", ".join(says) if says else "the model's text and image heads disagree"
    if reason == QueueEntry.Reason.NOVEL:
        nearest = detail.get("nearest")
        tail = f" (nearest: {names.get(int(nearest), '?')})" if nearest is not None else ""
        return f"unlike anything labelled so far{tail}"
    if reason == QueueEntry.Reason.RE_REVIEW and "label" in detail:
        label = names.get(int(detail["label"]), "?")
        model = names.get(int(detail.get("model_says", 0)), "?")
        return f"labelled {label}, but the model says {model} (p {float(detail.get('p', 0)):.2f})"
    return {"uncertain": "the model is uncertain", "boundary": "near a category boundary"}.get(
        reason, reason
    )


def _names(detail: Mapping[str, Any]) -> dict[int, str]:
    ids: set[int] = set()
    for key, value in detail.items():
        if key == "between":
            ids.update(int(x) for x in value)
        elif key.endswith("_says") or key in ("nearest", "label", "model_says"):
            ids.add(int(value))
    return dict(Category.objects.filter(pk__in=ids).values_list("pk", "name"))


def proposal_targets(rows: Iterable[CandidateRow], version: TaxonomyVersion) -> list[TargetNode]:
    """Nodes a "not in the taxonomy" proposal may attach to: the inner ancestors of the
    candidates (deepest first), then the top-level categories (from the in-memory index, so
    no query per ancestor)."""
    index = _index(version)
    seen: dict[int, TargetNode] = {}
    for row in rows:
        node = index.by_pk.get(row.category.pk)
        parent = index.by_pk.get(node.parent) if node and node.parent else None
        while parent is not None:
            seen.setdefault(parent.pk, TargetNode(parent.pk, parent.path))
            parent = index.by_pk.get(parent.parent) if parent.parent else None
    for node in sorted((n for n in index.nodes if n.parent is None), key=lambda n: n.name):
        seen.setdefault(node.pk, TargetNode(node.pk, node.path))
    return list(seen.values())


@dataclass(frozen=True)
class TargetNode:
    pk: int
    path: str


def prediction_candidates(item_id: int | None) -> list[dict[str, Any]]:
    """The stored candidates of an item's prediction (empty without one)."""
    if item_id is None:
        return []
    row = Prediction.objects.filter(item_id=item_id).values_list("candidates", flat=True).first()
    return list(row or [])


def queue_size_by_reason() -> dict[str, int]:
    """Entries waiting (leased or not) per reason, every reason a key."""
    counts = dict.fromkeys(QueueEntry.Reason.values, 0)
    rows: QuerySet = QueueEntry.objects.order_by().values("reason").annotate(n=Count("pk"))
    for row in rows:
        counts[row["reason"]] = row["n"]
    return counts
