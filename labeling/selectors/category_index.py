"""The in-memory index of a taxonomy version's categories, and the walk that maps categories of
older versions into it.

The review page's category search, its item card and its reason line read names, paths,
parents and guidelines from this index instead of querying per card. It is built once per
version, rebuilt when a category is added or deprecated or a guideline is written or cleared,
and at the latest after ``INDEX_TTL_SECONDS`` so renamed names and edited synonyms show up.
Predictions made before a publish name the older version's categories:
``candidates_in_version`` maps them into the current one through the publishes'
``CategoryMapping`` rows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max

from labeling.models import Category, CategoryMapping, TaxonomyVersion

INDEX_TTL_SECONDS = 30.0
# The review card trusts a cached index this long without the check query: a published
# version's categories do not change, and an id the index lacks is looked up anyway.
CARD_INDEX_MAX_AGE = 10.0
# Publishes followed from a prediction's version to the current one before giving up.
MAX_PUBLISH_HOPS = 10


@dataclass(frozen=True)
class IndexNode:
    """One live category as the index holds it (lower-cased copies for the search)."""

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
    guideline: str = ""  # Markdown; empty: none


class CategoryIndex:
    """A version's live categories: in database order, by id, and the top level by name."""

    def __init__(self, nodes: list[IndexNode]) -> None:
        self.nodes = nodes
        self.by_pk = {n.pk: n for n in nodes}
        # Every card offers them to "not in the taxonomy": sorted once, not per card.
        self.top_level = sorted((n for n in nodes if n.parent is None), key=lambda n: n.name)


@dataclass
class _Cached:
    # (count, newest id) of the version's live categories, (count, newest edit) of their
    # guidelines
    stamp: tuple[Any, ...]
    built: float  # time.monotonic() when read from the database
    checked: float  # time.monotonic() when the stamp was last compared
    index: CategoryIndex


_lock = threading.Lock()
_indexes: dict[int, _Cached] = {}


def category_index_clear() -> None:
    """Forget the cached search indexes (tests; an edit shows up after INDEX_TTL_SECONDS)."""
    with _lock:
        _indexes.clear()


def category_index_get(version: TaxonomyVersion, max_age: float = 0.0) -> CategoryIndex:
    """The version's non-deprecated categories, cached until their count or newest id, or their
    guidelines' count or newest edit, changes.

    ``max_age``: a cache whose stamp was compared less than this many seconds ago is used
    without comparing again (no query at all: the review card's hot path).
    """
    now = time.monotonic()
    with _lock:
        cached = _indexes.get(version.pk)
        if cached is not None and now - cached.checked < max_age:
            return cached.index
    stamp = Category.objects.filter(version=version, deprecated=False).aggregate(
        n=Count("pk"), top=Max("pk"), g=Count("guideline"), edited=Max("guideline__updated_at")
    )
    key = (int(stamp["n"]), stamp["top"], int(stamp["g"]), stamp["edited"])
    with _lock:
        cached = _indexes.get(version.pk)
        if cached is not None and cached.stamp == key and now - cached.built < INDEX_TTL_SECONDS:
            cached.checked = now
            return cached.index
    index = CategoryIndex(_read_nodes(version))
    with _lock:
        _indexes[version.pk] = _Cached(key, now, now, index)
    return index


def _read_nodes(version: TaxonomyVersion) -> list[IndexNode]:
    rows = Category.objects.filter(version=version, deprecated=False).values_list(
        "pk", "parent_id", "name", "path", "depth", "is_leaf", "synonyms", "guideline__text"
    )
    return [
        IndexNode(
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
            guideline or "",
        )
        for pk, parent, name, path, depth, leaf, syn, guideline in rows
    ]


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


# -- categories of older versions --------------------------------------------------------------


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
    index = category_index_get(version, max_age=CARD_INDEX_MAX_AGE)
    if any(pk not in index.by_pk for pk, _ in raw):
        index = category_index_get(version)  # the cache may predate a category; else old ones
    moved = mapped_into_index(index, {pk for pk, _ in raw if pk not in index.by_pk})
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
    return mapped_into_index(category_index_get(version), set(old_ids))


def mapped_into_index(index: CategoryIndex, old_ids: set[int]) -> dict[int, int]:
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
