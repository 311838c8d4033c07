"""Drafts of a taxonomy: start one from the current version, edit it, record every edit.

A draft is a ``TaxonomyVersion`` with status ``draft`` whose categories start as a copy of
the current version's, with the same stable keys: the key is what ties a draft's category to
the one it came from, so renames and moves keep it and publishing can map labels by key.
Every operation runs in one transaction and appends a ``TaxonomyOperation`` row; merges and
splits are only knowable from that record (a merged key is gone from the draft, a split
looks like an ordinary add of children), so ``taxonomy_publish`` reads it.

The rules each edit must pass, and the messages it is refused with, are in ``draft_checks``;
the row writes under the edits (paths, depths, keys, leaf flags) in ``draft_tree``.
Drafts have no labels, so no operation here touches the ledger. Categories' guidelines go
with their rows (``guidelines``: a merge appends the merged ones to the target's, a
deprecation drops the category's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max

from labeling.models import Category, Taxonomy, TaxonomyOperation, TaxonomyVersion
from labeling.services.taxonomy.draft_checks import (
    DRAFT_EXISTS,
    NO_CURRENT,
    TaxonomyDraftError,
    deprecate_check,
    draft_category_get,
    draft_check,
    merge_sources_get,
    move_check,
    name_check,
    split_names_check,
)
from labeling.services.taxonomy.draft_tree import (
    categories_copy,
    child_create,
    leaf_flag_refresh,
    subtree_relocate,
)
from labeling.services.taxonomy.guidelines import guideline_absorb, guideline_drop

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
        overlap_share=current.overlap_share,
        overlap_reviewers=current.overlap_reviewers,
        adjudication_depth=current.adjudication_depth,
        target_precision=current.target_precision,
    )
    categories_copy(source=current, target=draft)
    return draft


@transaction.atomic
def draft_discard(*, draft: TaxonomyVersion) -> None:
    """Delete a draft and its categories (nothing else can point at them: drafts have no
    labels and no models)."""
    draft_check(draft)
    draft.delete()


def draft_open(*, taxonomy: Taxonomy) -> TaxonomyVersion | None:
    """The taxonomy's open draft, if any."""
    return taxonomy.versions.filter(status=TaxonomyVersion.Status.DRAFT).first()


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
    draft_check(draft)
    parent = draft_category_get(draft, parent_key) if parent_key else None
    category = child_create(draft, parent, name, key=key)
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
    draft_check(draft)
    category = draft_category_get(draft, key)
    name = name_check(name)
    old_path = category.path
    subtree_relocate(category, category.parent, name)
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
    draft_check(draft)
    category = draft_category_get(draft, key)
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
    draft_check(draft)
    category = draft_category_get(draft, key)
    parent = draft_category_get(draft, parent_key) if parent_key else None
    move_check(category, parent)
    old_path, old_parent = category.path, category.parent
    subtree_relocate(category, parent, category.name)
    leaf_flag_refresh(old_parent)
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
    draft_check(draft)
    target = draft_category_get(draft, target_key)
    sources = merge_sources_get(draft, target, source_keys)
    paths = {s.key: s.path for s in sources}
    mapped: dict[str, str] = {}
    for source in sources:
        mapped |= _merge_one(source, target, author)
    target.refresh_from_db()
    _record(
        draft,
        TaxonomyOperation.Kind.MERGE,
        author,
        sources=[s.key for s in sources],
        source_paths=paths,
        target=target_key,
        path=target.path,
        mapped=mapped,
    )
    return target


def _merge_one(
    source: Category, target: Category, author: AbstractBaseUser | None
) -> dict[str, str]:
    """Merge one source into ``target``; ``{removed key: key it maps to}``."""
    mapped = {source.key: target.key}
    old_parent = source.parent
    for child in list(source.children.all()):
        twin = Category.objects.filter(parent=target, name=child.name).first()
        if twin is not None:  # same name on both sides: the child merges into the twin
            mapped |= _merge_one(child, twin, author)
        else:
            subtree_relocate(child, target, child.name)
    guideline_absorb(source=source, target=target, author=author)
    source.delete()
    leaf_flag_refresh(target)
    leaf_flag_refresh(old_parent)
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
    draft_check(draft)
    category = draft_category_get(draft, key)
    children = [child_create(draft, category, name) for name in split_names_check(names)]
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
    draft_check(draft)
    category = draft_category_get(draft, key)
    deprecate_check(category)
    category.deprecated = True
    category.save(update_fields=["deprecated"])
    guideline_drop(category=category, author=author)
    _record(draft, TaxonomyOperation.Kind.DEPRECATE, author, key=key, path=category.path)
    return category


# -- helpers ---------------------------------------------------------------------------------


def _clean_synonyms(synonyms: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(s.strip() for s in synonyms if s and s.strip()))


def _record(
    draft: TaxonomyVersion, kind: str, author: AbstractBaseUser | None, **payload: Any
) -> TaxonomyOperation:
    return TaxonomyOperation.objects.create(
        version=draft, kind=kind, payload=payload, author=author
    )
