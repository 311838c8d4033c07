"""Drafts of a taxonomy: start one from the current version, edit it, record every edit.

A draft is a ``TaxonomyVersion`` with status ``draft`` whose categories start as a copy of
the current version's, with the same stable keys: the key is what ties a draft's category to
the one it came from, so renames and moves keep it and publishing can map labels by key.
Every operation runs in one transaction and appends a ``TaxonomyOperation`` row; merges and
splits are only knowable from that record (a merged key is gone from the draft, a split
looks like an ordinary add of children), so ``taxonomy_publish`` reads it.

Drafts have no labels, so no operation here touches the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max, Q
from django.utils.text import slugify

from labeling.models import Category, Taxonomy, TaxonomyOperation, TaxonomyVersion
from labeling.services.errors import ServiceError
from labeling.services.taxonomy.imports import PARSERS, Problems, complete_tree

SEPARATOR = " > "

NO_CURRENT = "The taxonomy {name!r} has no current version to start a draft from."
DRAFT_EXISTS = (
    "The taxonomy {name!r} already has an open draft (v{number}); continue it or discard it "
    "before starting another."
)
NOT_A_DRAFT = "Version v{number} is {status}, not a draft: only drafts can be edited."
UNKNOWN_KEY = "The draft has no category with key {key!r}."
NAME_EMPTY = "The category name is empty; give it a name."
NAME_INVALID = "The name {name!r} contains '>', the path separator; pick another name."
NAME_TAKEN = "{path!r} already exists in the draft; pick another name or parent."
MOVE_INTO_ITSELF = "{path!r} cannot move under itself or one of its descendants."
MOVE_NOWHERE = "{path!r} is already there; pick another parent."
MERGE_NEEDS_SOURCES = "Pick at least one category to merge into {path!r}."
MERGE_INTO_ITSELF = "{path!r} cannot be merged into itself."
MERGE_ANCESTOR = "{path!r} contains the merge target; merge the target's siblings instead."
MERGE_DEPRECATED = "{path!r} is deprecated; it cannot be a merge target."
SPLIT_NEEDS_TWO = "A split needs at least two new category names, got {count}."
SPLIT_DUPLICATE = "The split names repeat {name!r}; each new category needs its own name."
DEPRECATE_TOP_LEVEL = (
    "{path!r} is a top-level category: its labels would have nowhere to roll up. Merge it "
    "into another category instead."
)
DEPRECATE_HAS_CHILDREN = (
    "{path!r} still has categories in use under it ({children}); move, merge or deprecate "
    "them first."
)
ALREADY_DEPRECATED = "{path!r} is already deprecated."
KEY_TAKEN = "The key {key!r} is already used in the draft."


class TaxonomyDraftError(ServiceError):
    pass


# -- drafts ----------------------------------------------------------------------------------


@transaction.atomic
def draft_start(*, taxonomy: Taxonomy, author: AbstractBaseUser | None) -> TaxonomyVersion:
    """A new draft version of ``taxonomy``: a copy of its current version, same keys."""
    taxonomy = Taxonomy.objects.select_for_update().get(pk=taxonomy.pk)  # serialise numbering
    current = taxonomy.versions.filter(is_current=True).first()
    if current is None:
        raise TaxonomyDraftError(NO_CURRENT.format(name=taxonomy.name))
    open_draft = taxonomy.versions.filter(status=TaxonomyVersion.Status.DRAFT).first()
    if open_draft is not None:
        raise TaxonomyDraftError(DRAFT_EXISTS.format(name=taxonomy.name, number=open_draft.number))
    number = (taxonomy.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = TaxonomyVersion.objects.create(
        taxonomy=taxonomy,
        number=number,
        based_on=current,
        created_by=author,
        notes=f"draft of v{current.number}",
    )
    categories_copy(source=current, target=draft)
    return draft


def categories_copy(*, source: TaxonomyVersion, target: TaxonomyVersion) -> int:
    """Copy every category of ``source`` into ``target``, level by level (parents first, so
    each child can point at its parent's new row); the number copied."""
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
    return len(rows)


def _copy_of(row: dict[str, Any], target: TaxonomyVersion, new_ids: dict[int, int]) -> Category:
    fields = {k: v for k, v in row.items() if k not in ("id", "parent_id")}
    parent = new_ids.get(row["parent_id"]) if row["parent_id"] else None
    return Category(version=target, parent_id=parent, **fields)


@transaction.atomic
def draft_discard(*, draft: TaxonomyVersion) -> None:
    """Delete a draft and its categories (nothing else can point at them: drafts have no
    labels and no models)."""
    _check_draft(draft)
    draft.delete()


# -- operations ------------------------------------------------------------------------------


@transaction.atomic
def category_add(
    *,
    draft: TaxonomyVersion,
    parent_key: str | None,
    name: str,
    author: AbstractBaseUser | None,
    description: str = "",
    synonyms: Sequence[str] = (),
    key: str | None = None,
) -> Category:
    """Add a category under ``parent_key`` (None: at the top level)."""
    _check_draft(draft)
    parent = _get(draft, parent_key) if parent_key else None
    category = _create_child(draft, parent, name, key=key)
    category.description = description.strip()
    category.synonyms = _clean_synonyms(synonyms)
    category.save(update_fields=["description", "synonyms"])
    _record(
        draft,
        TaxonomyOperation.Kind.ADD,
        author,
        key=category.key,
        path=category.path,
        parent=parent_key,
    )
    return category


@transaction.atomic
def category_rename(
    *, draft: TaxonomyVersion, key: str, name: str, author: AbstractBaseUser | None
) -> Category:
    """Give a category a new name; its key, its labels and its descendants stay with it."""
    _check_draft(draft)
    category = _get(draft, key)
    name = _check_name(name)
    old_path = category.path
    _relocate(category, category.parent, name)
    _record(
        draft, TaxonomyOperation.Kind.RENAME, author, key=key, old_path=old_path, path=category.path
    )
    return category


@transaction.atomic
def category_edit(
    *,
    draft: TaxonomyVersion,
    key: str,
    author: AbstractBaseUser | None,
    description: str | None = None,
    synonyms: Sequence[str] | None = None,
) -> Category:
    """Change a category's description and/or synonyms (the zero-shot prompts use them)."""
    _check_draft(draft)
    category = _get(draft, key)
    if description is not None:
        category.description = description.strip()
    if synonyms is not None:
        category.synonyms = _clean_synonyms(synonyms)
    category.save(update_fields=["description", "synonyms"])
    _record(
        draft,
        TaxonomyOperation.Kind.EDIT,
        author,
        key=key,
        path=category.path,
        description=category.description,
        synonyms=category.synonyms,
    )
    return category


@transaction.atomic
def category_move(
    *, draft: TaxonomyVersion, key: str, parent_key: str | None, author: AbstractBaseUser | None
) -> Category:
    """Re-parent a category with its whole subtree (``parent_key`` None: to the top level)."""
    _check_draft(draft)
    category = _get(draft, key)
    parent = _get(draft, parent_key) if parent_key else None
    if parent is not None and _in_subtree(parent, category):
        raise TaxonomyDraftError(MOVE_INTO_ITSELF.format(path=category.path))
    if (parent.pk if parent else None) == category.parent_id:
        raise TaxonomyDraftError(MOVE_NOWHERE.format(path=category.path))
    old_path, old_parent = category.path, category.parent
    _relocate(category, parent, category.name)
    _refresh_leaf(old_parent)
    _record(
        draft,
        TaxonomyOperation.Kind.MOVE,
        author,
        key=key,
        old_path=old_path,
        path=category.path,
        parent=parent_key,
    )
    return category


@transaction.atomic
def category_merge(
    *,
    draft: TaxonomyVersion,
    source_keys: Sequence[str],
    target_key: str,
    author: AbstractBaseUser | None,
) -> Category:
    """Merge the ``source_keys`` categories into ``target_key``: their children move under the
    target, the sources leave the draft, and their labels will map to the target."""
    _check_draft(draft)
    target = _get(draft, target_key)
    keys = list(dict.fromkeys(k for k in source_keys if k))
    if not keys:
        raise TaxonomyDraftError(MERGE_NEEDS_SOURCES.format(path=target.path))
    if target.deprecated:
        raise TaxonomyDraftError(MERGE_DEPRECATED.format(path=target.path))
    sources = [_get(draft, k) for k in keys]
    for source in sources:
        if source.pk == target.pk:
            raise TaxonomyDraftError(MERGE_INTO_ITSELF.format(path=source.path))
        if _in_subtree(target, source):
            raise TaxonomyDraftError(MERGE_ANCESTOR.format(path=source.path))
    paths = {s.key: s.path for s in sources}
    mapped: dict[str, str] = {}
    for source in sources:
        mapped |= _merge_one(source, target)
    target.refresh_from_db()
    _record(
        draft,
        TaxonomyOperation.Kind.MERGE,
        author,
        sources=keys,
        source_paths=paths,
        target=target_key,
        path=target.path,
        mapped=mapped,
    )
    return target


def _merge_one(source: Category, target: Category) -> dict[str, str]:
    """Merge one source into ``target``; ``{removed key: key it maps to}``."""
    mapped = {source.key: target.key}
    old_parent = source.parent
    for child in list(source.children.all()):
        twin = Category.objects.filter(parent=target, name=child.name).first()
        if twin is not None:  # same name on both sides: the child merges into the twin
            mapped |= _merge_one(child, twin)
        else:
            _relocate(child, target, child.name)
    source.delete()
    _refresh_leaf(target)
    _refresh_leaf(old_parent)
    return mapped


@transaction.atomic
def category_split(
    *,
    draft: TaxonomyVersion,
    key: str,
    names: Sequence[str],
    author: AbstractBaseUser | None,
) -> list[Category]:
    """Split a category into several new children. Its labels cannot be mapped blindly: on
    publish they stay on it (now an inner node) and its items go to re-review."""
    _check_draft(draft)
    category = _get(draft, key)
    clean = [_check_name(n) for n in names if n and n.strip()]
    if len(clean) < 2:
        raise TaxonomyDraftError(SPLIT_NEEDS_TWO.format(count=len(clean)))
    seen: set[str] = set()
    for name in clean:
        if name.casefold() in seen:
            raise TaxonomyDraftError(SPLIT_DUPLICATE.format(name=name))
        seen.add(name.casefold())
    children = [_create_child(draft, category, name) for name in clean]
    _record(
        draft,
        TaxonomyOperation.Kind.SPLIT,
        author,
        key=key,
        path=category.path,
        children=[c.key for c in children],
        child_paths=[c.path for c in children],
    )
    return children


@transaction.atomic
def category_deprecate(
    *, draft: TaxonomyVersion, key: str, author: AbstractBaseUser | None
) -> Category:
    """Retire a category: it stays in the tree (old labels name it) but takes no new labels;
    on publish its labels roll up to its parent."""
    _check_draft(draft)
    category = _get(draft, key)
    if category.deprecated:
        raise TaxonomyDraftError(ALREADY_DEPRECATED.format(path=category.path))
    if category.parent_id is None:
        raise TaxonomyDraftError(DEPRECATE_TOP_LEVEL.format(path=category.path))
    live = list(category.children.filter(deprecated=False).values_list("name", flat=True)[:5])
    if live:
        raise TaxonomyDraftError(
            DEPRECATE_HAS_CHILDREN.format(path=category.path, children=", ".join(live))
        )
    category.deprecated = True
    category.save(update_fields=["deprecated"])
    _record(draft, TaxonomyOperation.Kind.DEPRECATE, author, key=key, path=category.path)
    return category


# -- helpers ---------------------------------------------------------------------------------


def _check_draft(draft: TaxonomyVersion) -> None:
    draft.refresh_from_db(fields=["status"])
    if draft.status != TaxonomyVersion.Status.DRAFT:
        raise TaxonomyDraftError(NOT_A_DRAFT.format(number=draft.number, status=draft.status))


def _get(draft: TaxonomyVersion, key: str | None) -> Category:
    category = Category.objects.filter(version=draft, key=key).select_related("parent").first()
    if category is None:
        raise TaxonomyDraftError(UNKNOWN_KEY.format(key=key))
    return category


def _check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise TaxonomyDraftError(NAME_EMPTY)
    if ">" in name:
        raise TaxonomyDraftError(NAME_INVALID.format(name=name))
    return name


def _clean_synonyms(synonyms: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(s.strip() for s in synonyms if s and s.strip()))


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


def _create_child(
    draft: TaxonomyVersion, parent: Category | None, name: str, key: str | None = None
) -> Category:
    name = _check_name(name)
    path = _path_of(parent, name)
    if Category.objects.filter(version=draft, path=path).exists():
        raise TaxonomyDraftError(NAME_TAKEN.format(path=path))
    if key and Category.objects.filter(version=draft, key=key).exists():
        raise TaxonomyDraftError(KEY_TAKEN.format(key=key))
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


def _in_subtree(node: Category, root: Category) -> bool:
    """Whether ``node`` is ``root`` or one of its descendants."""
    return node.pk == root.pk or node.path.startswith(root.path + SEPARATOR)


def _relocate(category: Category, parent: Category | None, name: str) -> None:
    """Give ``category`` a new parent and/or name and rewrite the paths and depths of its
    whole subtree (the materialised path is how search and subtree filters work)."""
    new_path = _path_of(parent, name)
    if (
        new_path != category.path
        and Category.objects.filter(version=category.version_id, path=new_path).exists()
    ):
        raise TaxonomyDraftError(NAME_TAKEN.format(path=new_path))
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


def _refresh_leaf(category: Category | None) -> None:
    if category is not None:
        is_leaf = not Category.objects.filter(parent_id=category.pk).exists()
        Category.objects.filter(pk=category.pk).update(is_leaf=is_leaf)


def _record(
    draft: TaxonomyVersion, kind: str, author: AbstractBaseUser | None, **payload: Any
) -> TaxonomyOperation:
    return TaxonomyOperation.objects.create(
        version=draft, kind=kind, payload=payload, author=author
    )


def draft_open(*, taxonomy: Taxonomy) -> TaxonomyVersion | None:
    """The taxonomy's open draft, if any."""
    return taxonomy.versions.filter(status=TaxonomyVersion.Status.DRAFT).first()


# -- a draft from an external file -----------------------------------------------------------


@dataclass
class FileDraftResult:
    draft: TaxonomyVersion
    counts: dict[str, int]
    skipped: list[str]


def draft_from_text(
    *, taxonomy: Taxonomy, text: str, fmt: str, author: AbstractBaseUser | None
) -> FileDraftResult:
    """Diff a taxonomy file against the current version of ``taxonomy`` and record the
    differences as operations of a new draft: keys only in the file are added, keys in both
    are renamed/moved/edited where they differ, keys missing from the file are deprecated.

    Matching is by key (the Google taxonomy's numeric ids, a CSV/JSON key column, or the
    path slug), so a rename in a file without ids shows up as an add plus a deprecation. An
    operation the rules refuse (say, deprecating a top-level category) is skipped and listed.
    """
    problems = Problems()
    specs = list(PARSERS[fmt](text, problems))
    problems.raise_if_any()
    nodes, _ = complete_tree(specs, problems)
    problems.raise_if_any()
    with transaction.atomic():
        draft = draft_start(taxonomy=taxonomy, author=author)
        result = FileDraftResult(draft, dict.fromkeys(TaxonomyOperation.Kind.values, 0), [])
        by_path = {node.path: node for node in nodes}
        wanted = {
            node.key: (
                node,
                by_path[SEPARATOR.join(node.names[:-1])].key if len(node.names) > 1 else None,
            )
            for node in nodes
        }
        _apply_file(draft, wanted, author, result)
    return result


def _apply_file(draft: TaxonomyVersion, wanted: dict, author: Any, result: FileDraftResult) -> None:
    existing = {c.key: c for c in Category.objects.filter(version=draft).select_related("parent")}
    steps: list[tuple[str, Callable[[], object]]] = []
    for key, (node, parent_key) in sorted(wanted.items(), key=lambda kv: len(kv[1][0].names)):
        old = existing.get(key)
        if old is None:
            steps.append(
                (
                    "add",
                    partial(
                        category_add,
                        draft=draft,
                        parent_key=parent_key,
                        name=node.names[-1],
                        key=key,
                        author=author,
                        description=node.description,
                        synonyms=node.synonyms,
                    ),
                )
            )
            continue
        if (old.parent.key if old.parent else None) != parent_key:
            steps.append(
                (
                    "move",
                    partial(
                        category_move, draft=draft, key=key, parent_key=parent_key, author=author
                    ),
                )
            )
        if old.name != node.names[-1]:
            steps.append(
                (
                    "rename",
                    partial(
                        category_rename, draft=draft, key=key, name=node.names[-1], author=author
                    ),
                )
            )
        if (node.description or node.synonyms) and (
            node.description != old.description or node.synonyms != old.synonyms
        ):
            steps.append(
                (
                    "edit",
                    partial(
                        category_edit,
                        draft=draft,
                        key=key,
                        author=author,
                        description=node.description,
                        synonyms=node.synonyms,
                    ),
                )
            )
    gone = sorted(
        (c for k, c in existing.items() if k not in wanted and not c.deprecated),
        key=lambda c: -c.depth,
    )
    steps += [
        ("deprecate", partial(category_deprecate, draft=draft, key=c.key, author=author))
        for c in gone
    ]
    for kind, step in steps:
        try:
            with transaction.atomic():
                step()
            result.counts[kind] += 1
        except TaxonomyDraftError as error:
            result.skipped.append(f"{kind}: {error}")
