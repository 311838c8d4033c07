"""The category rows under a draft's edits: copying a version's tree, creating a child with a
fresh key, moving or renaming a whole subtree, keeping ``is_leaf`` true to the tree.

A category's ``path`` (its names from the root, joined by ``SEPARATOR``) and ``depth`` are
stored on every row, because search and subtree filters work on them; so a rename or a move
rewrites them for the whole subtree. The rules an edit must pass are in ``draft_checks``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.text import slugify

from labeling.models import Category, TaxonomyVersion
from labeling.services.taxonomy.draft_checks import (
    SEPARATOR,
    key_free_check,
    name_check,
    path_free_check,
)
from labeling.services.taxonomy.guidelines import guidelines_copy


def categories_copy(*, source: TaxonomyVersion, target: TaxonomyVersion) -> int:
    """Copy every category of ``source`` into ``target``, level by level (parents first, so
    each child can point at its parent's new row), with their guidelines; the number copied."""
    new_ids: dict[int, int] = {}
    rows = list(
        Category.objects.filter(version=source)
        .order_by("depth", "id")
        .values(
            "id",
            "key",
            "parent_id",
            "name",
            "description",
            "synonyms",
            "path",
            "depth",
            "is_leaf",
            "deprecated",
        )
    )
    by_depth: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_depth.setdefault(row["depth"], []).append(row)
    for depth in sorted(by_depth):
        level = by_depth[depth]
        created = Category.objects.bulk_create(
            [_copy_of(row, target, new_ids) for row in level], batch_size=1000
        )
        if any(c.pk is None for c in created):  # a backend that cannot return bulk ids
            by_key = dict(
                Category.objects.filter(version=target, depth=depth).values_list("key", "pk")
            )
            new_ids.update({row["id"]: by_key[row["key"]] for row in level})
        else:
            new_ids.update({row["id"]: c.pk for row, c in zip(level, created, strict=True)})
    guidelines_copy(id_map=new_ids)
    return len(rows)


def _copy_of(row: dict[str, Any], target: TaxonomyVersion, new_ids: dict[int, int]) -> Category:
    fields = {k: v for k, v in row.items() if k not in ("id", "parent_id")}
    parent = new_ids.get(row["parent_id"]) if row["parent_id"] else None
    return Category(version=target, parent_id=parent, **fields)


def _path_of(parent: Category | None, name: str) -> str:
    return f"{parent.path}{SEPARATOR}{name}" if parent else name


def _new_key(draft: TaxonomyVersion, parent: Category | None, name: str) -> str:
    """A key nobody has used in this taxonomy's draft: the parent's key plus the name's slug,
    with a counter when a deleted or sibling category already had it."""
    base = (f"{parent.key}/" if parent else "") + (slugify(name, allow_unicode=True) or "_")
    base = base[:240]
    key, n = base, 1
    while Category.objects.filter(version=draft, key=key).exists():
        n += 1
        key = f"{base}-{n}"
    return key


def child_create(
    draft: TaxonomyVersion, parent: Category | None, name: str, key: str | None = None
) -> Category:
    """A new leaf named ``name`` under ``parent`` (None: at the top level), with ``key`` or a
    fresh one; the parent stops being a leaf."""
    name = name_check(name)
    path = _path_of(parent, name)
    path_free_check(draft.pk, path)
    if key:
        key_free_check(draft, key)
    category = Category.objects.create(
        version=draft,
        key=key or _new_key(draft, parent, name),
        parent=parent,
        name=name,
        path=path,
        depth=(parent.depth + 1) if parent else 1,
        is_leaf=True,
    )
    if parent is not None and parent.is_leaf:
        Category.objects.filter(pk=parent.pk).update(is_leaf=False)
        parent.is_leaf = False
    return category


def subtree_relocate(category: Category, parent: Category | None, name: str) -> None:
    """Give ``category`` a new parent and/or name and rewrite the paths and depths of its
    whole subtree (the materialised path is how search and subtree filters work)."""
    new_path = _path_of(parent, name)
    if new_path != category.path:
        path_free_check(category.version_id, new_path)
    old_path, shift = category.path, ((parent.depth + 1) if parent else 1) - category.depth
    subtree = list(
        Category.objects.filter(version=category.version_id)
        .filter(Q(pk=category.pk) | Q(path__startswith=old_path + SEPARATOR))
        .order_by("-depth")  # deepest first: no transient clash with a shallower old path
    )
    for node in subtree:
        node.path = new_path + node.path[len(old_path) :]
        node.depth += shift
        if node.pk == category.pk:
            node.name, node.parent = name, parent
    Category.objects.bulk_update(subtree, ["path", "depth", "name", "parent"], batch_size=500)
    category.refresh_from_db()
    if parent is not None and parent.is_leaf:
        Category.objects.filter(pk=parent.pk).update(is_leaf=False)


def leaf_flag_refresh(category: Category | None) -> None:
    """Set ``is_leaf`` from whether ``category`` still has children (after one left it)."""
    if category is not None:
        is_leaf = not Category.objects.filter(parent_id=category.pk).exists()
        Category.objects.filter(pk=category.pk).update(is_leaf=is_leaf)
