"""What publishing a draft would change: where each category's labels go, and the diff.

Mapping (``category_mapping``)
    Every category of the current version gets exactly one category of the draft:
    its own key when the draft keeps it (renamed, moved, edited or split: the key is the
    identity), the merge target when a merge removed it, and the nearest surviving ancestor
    when it is deprecated (labels roll up to the parent). A split category keeps its labels
    (now on an inner node: true, if coarse) and its items go to the ``re-review`` queue,
    because only a person can say which new child is right. ``taxonomy_publish`` stores it.

Diff (``draft_diff``)
    The draft's changes against its base version, one row per change with the number of
    labels it touches: what the admin reads before publishing. A changed guideline is a row
    too (kind ``guideline``; it touches no label).

Both compare the two trees by key and read the draft's ``TaxonomyOperation`` record, the
only place merges and splits are known from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count

from labeling.models import Category, CategoryMapping, Item, TaxonomyOperation, TaxonomyVersion
from labeling.services.errors import ServiceError

NO_BASE = "Draft v{number} was not started from a version; start a draft from the current one."
UNMAPPED = (
    "{path!r} is gone from the draft without a merge, and it has no parent to roll up to; "
    "merge it into another category instead."
)


class TaxonomyPublishError(ServiceError):
    """A draft that cannot be published, or a publish that cannot be rolled back (raised by
    ``publish`` and ``rollback`` too; defined here, where the first refusal comes from)."""


@dataclass(frozen=True)
class MappingRow:
    old_id: int
    old_key: str
    old_path: str
    new_id: int
    new_path: str
    kind: str
    re_review: bool


@dataclass(frozen=True)
class DiffRow:
    kind: str  # added, renamed, moved, edited, merged, split, deprecated, guideline
    key: str
    path: str
    old_path: str = ""
    detail: str = ""
    labels: int = 0


def draft_base(draft: TaxonomyVersion) -> TaxonomyVersion:
    """The version ``draft`` was started from (a draft without one cannot be published)."""
    if draft.based_on_id is None:
        raise TaxonomyPublishError(NO_BASE.format(number=draft.number))
    return TaxonomyVersion.objects.get(pk=draft.based_on_id)


# -- the two trees ---------------------------------------------------------------------------


@dataclass
class _Trees:
    base: dict[str, dict[str, Any]]
    draft: dict[str, dict[str, Any]]
    base_by_id: dict[int, dict[str, Any]]
    draft_by_id: dict[int, dict[str, Any]]
    merged: dict[str, str] = field(default_factory=dict)
    split: dict[str, list[str]] = field(default_factory=dict)


def _rows(version: TaxonomyVersion) -> list[dict[str, Any]]:
    return list(
        Category.objects.filter(version=version).values(
            "id",
            "key",
            "parent_id",
            "name",
            "path",
            "description",
            "synonyms",
            "deprecated",
            "guideline__text",
        )
    )


def _trees(draft: TaxonomyVersion, base: TaxonomyVersion) -> _Trees:
    base_rows, draft_rows = _rows(base), _rows(draft)
    trees = _Trees(
        base={r["key"]: r for r in base_rows},
        draft={r["key"]: r for r in draft_rows},
        base_by_id={r["id"]: r for r in base_rows},
        draft_by_id={r["id"]: r for r in draft_rows},
    )
    for op in TaxonomyOperation.objects.filter(version=draft).order_by("id"):
        if op.kind == TaxonomyOperation.Kind.MERGE:
            trees.merged.update(op.payload.get("mapped") or {})
        elif op.kind == TaxonomyOperation.Kind.SPLIT:
            trees.split.setdefault(op.payload["key"], []).extend(op.payload.get("children", []))
    return trees


def _parent_key(rows_by_id: dict[int, dict[str, Any]], row: dict[str, Any]) -> str | None:
    parent = rows_by_id.get(row["parent_id"]) if row["parent_id"] else None
    return parent["key"] if parent else None


# -- mapping ---------------------------------------------------------------------------------


def category_mapping(*, draft: TaxonomyVersion) -> list[MappingRow]:
    """Where each category of the draft's base version goes in the draft (module docstring)."""
    base = draft_base(draft)
    trees = _trees(draft, base)
    memo: dict[str, tuple[dict[str, Any], str]] = {}
    return [
        _mapping_row(row, *_resolve(row["key"], trees, memo), trees)
        for row in sorted(trees.base.values(), key=lambda r: r["path"])
    ]


def _mapping_row(row: dict, target: dict, kind: str, trees: _Trees) -> MappingRow:
    return MappingRow(
        old_id=row["id"],
        old_key=row["key"],
        old_path=row["path"],
        new_id=target["id"],
        new_path=target["path"],
        kind=kind,
        re_review=kind == CategoryMapping.Kind.SPLIT,
    )


def _resolve(key: str, trees: _Trees, memo: dict) -> tuple[dict[str, Any], str]:
    """(draft row, mapping kind) for the base category ``key``."""
    if key in memo:
        return memo[key]
    old = trees.base[key]
    new = trees.draft.get(key)
    if new is not None and not new["deprecated"]:
        result = (new, _kind_of(old, new, trees))
    elif new is None and key in trees.merged:
        target_key = key
        while target_key in trees.merged:  # a merge target merged again later
            target_key = trees.merged[target_key]
        target = trees.draft[target_key]
        if target["deprecated"]:
            target = _resolve(target_key, trees, memo)[0]
        result = (target, CategoryMapping.Kind.MERGED)
    else:
        parent_key = _parent_key(trees.base_by_id, old)
        if parent_key is None:
            raise TaxonomyPublishError(UNMAPPED.format(path=old["path"]))
        result = (_resolve(parent_key, trees, memo)[0], CategoryMapping.Kind.DEPRECATED)
    memo[key] = result
    return result


def _kind_of(old: dict[str, Any], new: dict[str, Any], trees: _Trees) -> str:
    if old["key"] in trees.split:
        return CategoryMapping.Kind.SPLIT
    if old["name"] != new["name"]:
        return CategoryMapping.Kind.RENAMED
    if _parent_key(trees.base_by_id, old) != _parent_key(trees.draft_by_id, new):
        return CategoryMapping.Kind.MOVED
    return CategoryMapping.Kind.SAME


# -- diff ------------------------------------------------------------------------------------


def label_counts(*, version: TaxonomyVersion) -> dict[int, int]:
    """``{category id: items whose current label is that category}`` for ``version``: the
    labels a publish would migrate."""
    rows = (
        Item.objects.filter(current_label__taxonomy_version=version)
        .values("current_label__category")
        .annotate(n=Count("pk"))
        .values_list("current_label__category", "n")
    )
    return dict(rows)


def draft_diff(*, draft: TaxonomyVersion) -> list[DiffRow]:
    """The draft's changes against its base version, each with the labels it touches."""
    base = draft_base(draft)
    trees = _trees(draft, base)
    counts = label_counts(version=base)
    split_children = {k for children in trees.split.values() for k in children}
    rows: list[DiffRow] = []
    for key, new in sorted(trees.draft.items(), key=lambda kv: kv[1]["path"]):
        old = trees.base.get(key)
        if old is None:
            if key not in split_children:
                rows.append(DiffRow("added", key, new["path"]))
            continue
        rows.extend(_changes(old, new, trees, counts.get(old["id"], 0)))
    for key, old in sorted(trees.base.items(), key=lambda kv: kv[1]["path"]):
        if key not in trees.draft:
            target = trees.draft.get(_final_merge_target(key, trees))
            rows.append(
                DiffRow(
                    "merged",
                    key,
                    target["path"] if target else "",
                    old["path"],
                    detail="merged",
                    labels=counts.get(old["id"], 0),
                )
            )
    return rows


def _final_merge_target(key: str, trees: _Trees) -> str:
    while key in trees.merged:
        key = trees.merged[key]
    return key


def _changes(old: dict, new: dict, trees: _Trees, labels: int) -> list[DiffRow]:
    out: list[DiffRow] = []
    key, path = new["key"], new["path"]
    if new["deprecated"] and not old["deprecated"]:
        out.append(DiffRow("deprecated", key, path, old["path"], labels=labels))
    if key in trees.split:
        names = [trees.draft[k]["name"] for k in trees.split[key] if k in trees.draft]
        out.append(DiffRow("split", key, path, old["path"], "into " + ", ".join(names), labels))
    if old["name"] != new["name"]:
        out.append(DiffRow("renamed", key, path, old["path"], labels=labels))
    if _parent_key(trees.base_by_id, old) != _parent_key(trees.draft_by_id, new):
        out.append(DiffRow("moved", key, path, old["path"], labels=labels))
    if old["description"] != new["description"] or old["synonyms"] != new["synonyms"]:
        out.append(DiffRow("edited", key, path, old["path"], labels=labels))
    before, after = old["guideline__text"] or "", new["guideline__text"] or ""
    if before != after:
        how = "added" if not before else "removed" if not after else "changed"
        out.append(DiffRow("guideline", key, path, old["path"], f"guideline {how}"))
    return out
