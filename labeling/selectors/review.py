"""Read side of the review page: the item card, the category search, the tree, the figures.

The category search runs in Python over an in-memory index of the version's categories
(built once per version; rebuilt when a category is added or deprecated, and at the latest
after ``INDEX_TTL_SECONDS`` so renamed names and edited synonyms show up): the Google taxonomy's
5,595 nodes are scanned in a few milliseconds, with ranking rules a SQL ``icontains`` cannot
express (exact name before prefix before substring, then the model's probability). The item
card reads its candidates' names and paths from the same index, without a query, and maps
candidates of an older taxonomy version (predictions made before a publish) into the current
one (``candidates_in_version``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, QuerySet
from django.template.defaultfilters import floatformat

from labeling.models import Category, CategoryMapping, Prediction, QueueEntry, TaxonomyVersion

SEARCH_LIMIT = 20
INDEX_TTL_SECONDS = 30.0
# The review card trusts a cached index this long without the check query: a published
# version's categories do not change, and an id the index lacks is looked up anyway.
CARD_INDEX_MAX_AGE = 10.0
# Publishes followed from a prediction's version to the current one before giving up.
MAX_PUBLISH_HOPS = 10
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
        # Every card offers them to "not in the taxonomy": sorted once, not per card.
        self.top_level = sorted((n for n in nodes if n.parent is None), key=lambda n: n.name)


@dataclass
class _Cached:
    stamp: tuple[int, int | None]  # (count, newest id) of the version's live categories
    built: float  # time.monotonic() when read from the database
    checked: float  # time.monotonic() when the stamp was last compared
    index: _Index


_lock = threading.Lock()
_indexes: dict[int, _Cached] = {}


def category_index_clear() -> None:
    """Forget the cached search indexes (tests; an edit shows up after INDEX_TTL_SECONDS)."""
    with _lock:
        _indexes.clear()


def _index(version: TaxonomyVersion, max_age: float = 0.0) -> _Index:
    """The version's non-deprecated categories, cached until their count or newest id changes.

    ``max_age``: a cache whose stamp was compared less than this many seconds ago is used
    without comparing again (no query at all: the review card's hot path).
    """
    now = time.monotonic()
    with _lock:
        cached = _indexes.get(version.pk)
        if cached is not None and now - cached.checked < max_age:
            return cached.index
    stamp = Category.objects.filter(version=version, deprecated=False).aggregate(
        n=Count("pk"), top=Max("pk")
    )
    key = (int(stamp["n"]), stamp["top"])
    with _lock:
        cached = _indexes.get(version.pk)
        if cached is not None and cached.stamp == key and now - cached.built < INDEX_TTL_SECONDS:
            cached.checked = now
            return cached.index
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
        _indexes[version.pk] = _Cached(key, now, now, index)
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


def candidates_in_version(
    candidates: Iterable[Mapping[str, Any]], version: TaxonomyVersion
) -> list[dict[str, Any]]:
    """A prediction's candidates as categories of ``version``, most probable first.

    After a publish, and until the new version's model is active, predictions still name the
    old version's categories. Those are mapped through ``CategoryMapping`` (hop by hop when
    several publishes happened), candidates landing on one category are merged (probabilities
    summed), and ones that map to nothing live in ``version`` are dropped, so every candidate
    shown is one the ledger accepts. No query while every candidate is current.
    """
    raw = [(int(c["category"]), float(c["p"])) for c in candidates]
    index = _index(version, max_age=CARD_INDEX_MAX_AGE)
    if any(pk not in index.by_pk for pk, _ in raw):
        index = _index(version)  # the cache may predate a category; else they are old ones
    moved = _mapped_into(index, {pk for pk, _ in raw if pk not in index.by_pk})
    merged: dict[int, float] = {}
    for pk, p in raw:
        target = pk if pk in index.by_pk else moved.get(pk)
        if target is not None:
            merged[target] = merged.get(target, 0.0) + p
    ranked = sorted(merged.items(), key=lambda kv: -kv[1])  # stable: ties keep the model's order
    return [{"category": pk, "p": round(p, 6)} for pk, p in ranked]


def categories_mapped_into(*, version: TaxonomyVersion, old_ids: Iterable[int]) -> dict[int, int]:
    """``{old category id: category of version}`` for ids of older versions (the reports and
    the dashboard map the previous model's categories with the walk the review card uses)."""
    return _mapped_into(_index(version), set(old_ids))


def _mapped_into(index: _Index, old_ids: set[int]) -> dict[int, int]:
    """``{old category id: category in the index's version}`` through the publishes' mappings.

    Where two publishes mapped one category (one of them rolled back), the newer one wins.
    """
    found: dict[int, int] = {}
    frontier: dict[int, set[int]] = {pk: {pk} for pk in old_ids}  # reached id -> origins
    for _ in range(MAX_PUBLISH_HOPS):
        if not frontier:
            break
        step = dict(
            CategoryMapping.objects.filter(old_category_id__in=frontier)
            .order_by("new_version_id")
            .values_list("old_category_id", "new_category_id")
        )
        following: dict[int, set[int]] = {}
        for old, new in step.items():
            for origin in frontier[old]:
                if new in index.by_pk:
                    found[origin] = new
                else:
                    following.setdefault(new, set()).add(origin)
        frontier = following
    return found


def card_candidates(
    *, candidates: Iterable[Mapping[str, Any]], version: TaxonomyVersion, limit: int = 9
) -> list[CandidateRow]:
    """The review card's candidates: categories of ``version`` (see ``candidates_in_version``)
    with keys 1–9, built from the cached index instead of a query per card."""
    mapped = candidates_in_version(candidates, version)[:limit]
    index = _index(version, max_age=CARD_INDEX_MAX_AGE)
    return [
        CandidateRow(_category(index.by_pk[c["category"]], version), c["p"], n)
        for n, c in enumerate(mapped, start=1)
    ]


def _category(node: _Node, version: TaxonomyVersion) -> Category:
    """An unsaved-looking Category from the index: what the card renders, without a query."""
    return Category(
        pk=node.pk,
        version=version,
        parent_id=node.parent,
        name=node.name,
        path=node.path,
        depth=node.depth,
        is_leaf=node.is_leaf,
        synonyms=list(node.synonyms),
        deprecated=False,
    )


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


def reason_in_words(
    reason: str, detail: Mapping[str, Any], version: TaxonomyVersion | None = None
) -> str:
    """Why the item is in the queue, as a reviewer reads it (names from ``version``'s cached
    index when given: no query unless the detail names categories outside it)."""
    names = _names(detail, version)
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


def _detail_ids(detail: Mapping[str, Any]) -> set[int]:
    """The categories a queue entry's ``detail`` names."""
    ids: set[int] = set()
    for key, value in detail.items():
        if key == "between":
            ids.update(int(x) for x in value)
        elif _names_a_category(key):
            ids.add(int(value))
    return ids


def _names_a_category(key: str) -> bool:
    return key.endswith("_says") or key in ("nearest", "label", "model_says")


def _names(detail: Mapping[str, Any], version: TaxonomyVersion | None) -> dict[int, str]:
    ids = _detail_ids(detail)
    index = _index(version, max_age=CARD_INDEX_MAX_AGE) if version is not None else None
    names = {pk: index.by_pk[pk].name for pk in ids if pk in index.by_pk} if index else {}
    missing = ids - names.keys()
    if missing:  # categories of an older version, named in a queue entry built before a publish
        names |= dict(Category.objects.filter(pk__in=missing).values_list("pk", "name"))
    return names


# "Uncertain (or on the boundary) between A and B" is true of the card's prediction while A
# and B are its two most probable candidates (sibling nodes, for a boundary) and no further
# apart than this, or than the margin the queue picked them at: the queue ranks its pool, so
# a confident model's least sure items may be further apart.
CLOSE_MARGIN = 0.3
# The queue's detail keeps 4 decimals, the card's candidates 6: nearer than this is equal.
P_TOLERANCE = 0.01
_QUEUED_FOR = {
    QueueEntry.Reason.UNCERTAIN: "queued as uncertain{by}",
    QueueEntry.Reason.BOUNDARY: "queued as near a category boundary{by}",
    QueueEntry.Reason.NOVEL: "queued as unlike anything labelled so far{by}",
    QueueEntry.Reason.RE_REVIEW: "queued{by} to re-review its label",
    QueueEntry.Reason.DISAGREEMENT: "queued{by} as {whose} {heads} heads disagreed",
}


def card_reason(
    *, entry: QueueEntry, rows: Sequence[CandidateRow], version: TaxonomyVersion | None
) -> str:
    """Why the item is in the queue, true of the prediction the card shows beside it.

    The entry's ``detail`` was written when the queue was built; the item may have been
    rescored since (a newer model, or the same one again) or a publish may have mapped its
    categories. The stored reason is kept, in ``version``'s names, while the card's candidates
    (``rows``) bear it out; otherwise the card says what the entry was queued for and what the
    model says now. Committee votes are not in the prediction: after a rescore they are not
    shown. No query unless the detail names categories outside ``version``'s cached index.
    """
    detail = entry.detail or {}
    prediction = getattr(entry.item, "prediction", None)
    if version is None or prediction is None or not rows or not _about_the_prediction(entry):
        return reason_in_words(entry.reason, detail, version)
    current = _detail_in_version(detail, version)
    rescored = _rescored(entry, prediction)
    if current is not None and _still_true(entry.reason, current, rows, version, rescored):
        return reason_in_words(entry.reason, current, version)
    if entry.reason == QueueEntry.Reason.UNCERTAIN and _close(rows, CLOSE_MARGIN):
        return f"uncertain between {rows[0].category.name} and {rows[1].category.name}"
    return _queued_then_now(entry, prediction, rows, rescored)


def _about_the_prediction(entry: QueueEntry) -> bool:
    """An audit, or a re-review a publish made (a split node), says nothing of the model."""
    if entry.reason == QueueEntry.Reason.AUDIT:
        return False
    return entry.reason != QueueEntry.Reason.RE_REVIEW or "label" in (entry.detail or {})


def _detail_in_version(
    detail: Mapping[str, Any], version: TaxonomyVersion
) -> dict[str, Any] | None:
    """``detail`` with its categories mapped into ``version`` (as the card's candidates are);
    None when one of them maps to no live category."""
    ids = _detail_ids(detail)
    index = _index(version, max_age=CARD_INDEX_MAX_AGE)
    if any(pk not in index.by_pk for pk in ids):
        index = _index(version)  # the cache may predate a category; else they are old ones
    moved = _mapped_into(index, {pk for pk in ids if pk not in index.by_pk})
    where = {pk: pk if pk in index.by_pk else moved.get(pk) for pk in ids}
    if None in where.values():
        return None
    out = dict(detail)
    for key, value in detail.items():
        if key == "between":
            out[key] = [where[int(x)] for x in value]
        elif _names_a_category(key):
            out[key] = where[int(value)]
    return out


def _rescored(entry: QueueEntry, prediction: Prediction) -> bool:
    """The prediction was written after the entry: by a newer model, or the same one again."""
    if entry.model_version_id is not None and prediction.model_version_id != entry.model_version_id:
        return True
    return bool(entry.created_at and prediction.created_at > entry.created_at)


def _still_true(
    reason: str,
    detail: Mapping[str, Any],
    rows: Sequence[CandidateRow],
    version: TaxonomyVersion,
    rescored: bool,
) -> bool:
    """Whether the stored reason (categories in ``version``) is true of the card's ``rows``."""
    top = rows[0]
    if reason in (QueueEntry.Reason.UNCERTAIN, QueueEntry.Reason.BOUNDARY):
        between = [int(x) for x in detail.get("between", [])]
        limit = max(CLOSE_MARGIN, float(detail.get("margin", 0.0))) + P_TOLERANCE
        if len(between) != 2:  # "the model is uncertain" / "near a category boundary"
            return reason == QueueEntry.Reason.BOUNDARY or _close(rows, limit)
        top_two = {r.category.pk for r in rows[:2]} == set(between) and _close(rows, limit)
        return top_two or (
            reason == QueueEntry.Reason.BOUNDARY and _top_siblings(between, rows, version, limit)
        )
    if reason == QueueEntry.Reason.DISAGREEMENT:
        return not rescored  # the heads' votes are as stored only until the item is rescored
    if reason == QueueEntry.Reason.NOVEL:
        return "nearest" not in detail or int(detail["nearest"]) == top.category.pk
    if reason == QueueEntry.Reason.RE_REVIEW:
        said = int(detail.get("model_says", 0)) == top.category.pk
        return said and abs(float(detail.get("p", 0.0)) - top.p) <= P_TOLERANCE
    return True


def _close(rows: Sequence[CandidateRow], limit: float) -> bool:
    return len(rows) >= 2 and rows[0].p - rows[1].p <= limit


def _top_siblings(
    between: list[int], rows: Sequence[CandidateRow], version: TaxonomyVersion, limit: float
) -> bool:
    """The boundary pair is two siblings (inner nodes, maybe), the most probable two of their
    parent's children by the card's candidates, no further apart than ``limit``."""
    index = _index(version, max_age=CARD_INDEX_MAX_AGE)
    parents = {n.pk: n.parent for n in index.nodes}
    a, b = between
    if a not in parents or b not in parents or parents[a] != parents[b]:
        return False
    probs = node_probabilities(({"category": r.category.pk, "p": r.p} for r in rows), parents)
    ranked = sorted(
        (pk for pk in {a, b} | probs.keys() if parents.get(pk, -1) == parents[a]),
        key=lambda pk: -probs.get(pk, 0.0),
    )
    pa, pb = probs.get(a, 0.0), probs.get(b, 0.0)
    return set(ranked[:2]) == {a, b} and min(pa, pb) > 0 and abs(pa - pb) <= limit


def _queued_then_now(
    entry: QueueEntry, prediction: Prediction, rows: Sequence[CandidateRow], rescored: bool
) -> str:
    """What the entry was queued for, then what the card's candidates say now."""
    mv = entry.model_version_id
    heads = [k.removesuffix("_says") for k in (entry.detail or {}) if k.endswith("_says")]
    queued = _QUEUED_FOR.get(entry.reason, "queued as {reason}{by}").format(
        by=f" by model #{mv}" if mv is not None else "",
        reason=entry.reason,
        whose="its" if mv is not None else "the model's",
        heads=" and ".join(heads or ["text", "image"]),
    )
    since = ""
    if rescored:
        newer = mv is not None and prediction.model_version_id != mv
        by = f" by model #{prediction.model_version_id}" if newer else ""
        since = f"; rescored{by} since"
        if entry.reason == QueueEntry.Reason.DISAGREEMENT:
            since += ", the heads' current votes unknown"
    now = [rows[0], rows[1]] if _close(rows, CLOSE_MARGIN) else [rows[0]]
    return f"{queued}{since}: now " + ", ".join(
        f"{r.category.name} at {floatformat(r.p, 2)}" for r in now
    )


def proposal_targets(rows: Iterable[CandidateRow], version: TaxonomyVersion) -> list[TargetNode]:
    """Nodes a "not in the taxonomy" proposal may attach to: the inner ancestors of the
    candidates (deepest first), then the top-level categories (from the in-memory index, so
    no query per ancestor)."""
    index = _index(version, max_age=CARD_INDEX_MAX_AGE)
    seen: dict[int, TargetNode] = {}
    for row in rows:
        node = index.by_pk.get(row.category.pk)
        parent = index.by_pk.get(node.parent) if node and node.parent else None
        while parent is not None:
            seen.setdefault(parent.pk, TargetNode(parent.pk, parent.path))
            parent = index.by_pk.get(parent.parent) if parent.parent else None
    for node in index.top_level:
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
