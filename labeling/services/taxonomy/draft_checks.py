"""What a draft edit must satisfy before it is made, and every message it is refused with.

The edits in ``drafts`` (and the row writes in ``draft_tree``) call these checks and raise
``TaxonomyDraftError``; the messages are the module constants below, so a test or a view can
name the one it expects.
"""

from __future__ import annotations

from collections.abc import Sequence

from labeling.models import Category, TaxonomyVersion
from labeling.services.errors import ServiceError

SEPARATOR = " > "  # between the names of a path, which is why a name may not contain ">"

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


# -- the draft and its categories ------------------------------------------------------------


def draft_check(draft: TaxonomyVersion) -> None:
    """Refuse unless ``draft`` is still a draft (read fresh: it may have been published)."""
    draft.refresh_from_db(fields=["status"])
    if draft.status != TaxonomyVersion.Status.DRAFT:
        raise TaxonomyDraftError(NOT_A_DRAFT.format(number=draft.number, status=draft.status))


def draft_category_get(draft: TaxonomyVersion, key: str | None) -> Category:
    """The draft's category with ``key`` (its parent loaded), or a refusal naming the key."""
    category = Category.objects.filter(version=draft, key=key).select_related("parent").first()
    if category is None:
        raise TaxonomyDraftError(UNKNOWN_KEY.format(key=key))
    return category


def name_check(name: str) -> str:
    """``name`` with its whitespace collapsed; refused when empty or containing ``>``."""
    name = " ".join((name or "").split())
    if not name:
        raise TaxonomyDraftError(NAME_EMPTY)
    if ">" in name:
        raise TaxonomyDraftError(NAME_INVALID.format(name=name))
    return name


def path_free_check(version_id: int, path: str) -> None:
    """Refuse a path another category of the version already has."""
    if Category.objects.filter(version=version_id, path=path).exists():
        raise TaxonomyDraftError(NAME_TAKEN.format(path=path))


def key_free_check(draft: TaxonomyVersion, key: str) -> None:
    """Refuse a key another category of the draft already has."""
    if Category.objects.filter(version=draft, key=key).exists():
        raise TaxonomyDraftError(KEY_TAKEN.format(key=key))


def in_subtree(node: Category, root: Category) -> bool:
    """Whether ``node`` is ``root`` or one of its descendants."""
    return node.pk == root.pk or node.path.startswith(root.path + SEPARATOR)


# -- one check per edit ----------------------------------------------------------------------


def move_check(category: Category, parent: Category | None) -> None:
    """A category moves neither into its own subtree nor to the parent it already has."""
    if parent is not None and in_subtree(parent, category):
        raise TaxonomyDraftError(MOVE_INTO_ITSELF.format(path=category.path))
    if (parent.pk if parent else None) == category.parent_id:
        raise TaxonomyDraftError(MOVE_NOWHERE.format(path=category.path))


def merge_sources_get(
    draft: TaxonomyVersion, target: Category, source_keys: Sequence[str]
) -> list[Category]:
    """The categories to merge into ``target`` (each once, in the order given): at least one,
    a target that still takes labels, and no source that is the target or contains it."""
    keys = list(dict.fromkeys(k for k in source_keys if k))
    if not keys:
        raise TaxonomyDraftError(MERGE_NEEDS_SOURCES.format(path=target.path))
    if target.deprecated:
        raise TaxonomyDraftError(MERGE_DEPRECATED.format(path=target.path))
    sources = [draft_category_get(draft, k) for k in keys]
    for source in sources:
        if source.pk == target.pk:
            raise TaxonomyDraftError(MERGE_INTO_ITSELF.format(path=source.path))
        if in_subtree(target, source):
            raise TaxonomyDraftError(MERGE_ANCESTOR.format(path=source.path))
    return sources


def split_names_check(names: Sequence[str]) -> list[str]:
    """The new children's names, cleaned: at least two, none repeated (ignoring case)."""
    clean = [name_check(n) for n in names if n and n.strip()]
    if len(clean) < 2:
        raise TaxonomyDraftError(SPLIT_NEEDS_TWO.format(count=len(clean)))
    seen: set[str] = set()
    for name in clean:
        if name.casefold() in seen:
            raise TaxonomyDraftError(SPLIT_DUPLICATE.format(name=name))
        seen.add(name.casefold())
    return clean


def deprecate_check(category: Category) -> None:
    """Only a live category with a parent (its labels roll up there) and no live children."""
    if category.deprecated:
        raise TaxonomyDraftError(ALREADY_DEPRECATED.format(path=category.path))
    if category.parent_id is None:
        raise TaxonomyDraftError(DEPRECATE_TOP_LEVEL.format(path=category.path))
    live = list(category.children.filter(deprecated=False).values_list("name", flat=True)[:5])
    if live:
        raise TaxonomyDraftError(
            DEPRECATE_HAS_CHILDREN.format(path=category.path, children=", ".join(live))
        )
