"""A draft from an external taxonomy file: the file's differences from the current version,
recorded as the operations of a new draft (``manage.py import_taxonomy --as-draft-of``).

The file is read and checked by ``imports.tree_from_text``; each difference becomes one edit
of ``drafts``, run in its own savepoint so that an edit the rules refuse is skipped and
listed instead of refusing the whole file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from labeling.models import Category, Taxonomy, TaxonomyOperation, TaxonomyVersion
from labeling.services.taxonomy.draft_checks import TaxonomyDraftError
from labeling.services.taxonomy.drafts import (
    category_add,
    category_deprecate,
    category_edit,
    category_move,
    category_rename,
    draft_start,
)
from labeling.services.taxonomy.import_formats import NodeSpec
from labeling.services.taxonomy.imports import tree_from_text

Step = tuple[str, Callable[[], object]]  # (operation kind, the edit to run)
Wanted = dict[str, tuple[NodeSpec, str | None]]  # key: (node, its parent's key)


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
    nodes, _ = tree_from_text(text=text, fmt=fmt)
    with transaction.atomic():
        draft = draft_start(taxonomy=taxonomy, author=author)
        result = FileDraftResult(draft, dict.fromkeys(TaxonomyOperation.Kind.values, 0), [])
        by_names = {node.names: node for node in nodes}
        wanted: Wanted = {
            node.key: (node, by_names[node.names[:-1]].key if len(node.names) > 1 else None)
            for node in nodes
        }
        _apply_file(draft, wanted, author, result)
    return result


def _apply_file(
    draft: TaxonomyVersion,
    wanted: Wanted,
    author: AbstractBaseUser | None,
    result: FileDraftResult,
) -> None:
    """Run every step, parents before children and deprecations deepest first."""
    existing = {c.key: c for c in Category.objects.filter(version=draft).select_related("parent")}
    steps: list[Step] = []
    for key, (node, parent_key) in sorted(wanted.items(), key=lambda kv: len(kv[1][0].names)):
        steps += _steps_for(draft, author, node, parent_key, existing.get(key))
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


def _steps_for(
    draft: TaxonomyVersion,
    author: AbstractBaseUser | None,
    node: NodeSpec,
    parent_key: str | None,
    old: Category | None,
) -> list[Step]:
    """The edits that make the draft's category ``node.key`` (``old``; None: not there yet)
    what the file says."""
    key, name, description, synonyms = node.key, node.names[-1], node.description, node.synonyms
    if old is None:
        add = partial(category_add, parent_key=parent_key, name=name, key=key, author=author)
        return [("add", partial(add, draft=draft, description=description, synonyms=synonyms))]
    steps: list[Step] = []
    if (old.parent.key if old.parent else None) != parent_key:
        move = partial(category_move, draft=draft, key=key, parent_key=parent_key, author=author)
        steps.append(("move", move))
    if old.name != name:
        rename = partial(category_rename, draft=draft, key=key, name=name, author=author)
        steps.append(("rename", rename))
    if (description or synonyms) and (description != old.description or synonyms != old.synonyms):
        edit = partial(category_edit, draft=draft, key=key, author=author)
        steps.append(("edit", partial(edit, description=description, synonyms=synonyms)))
    return steps
