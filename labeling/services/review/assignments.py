"""Assignments: restrict what the queue hands a reviewer, or every member of a group, to
category subtrees and/or queue reasons (how they match and combine:
``labeling.selectors.assignments``).

Subtrees are given as paths or keys of the current version and stored by key. Keys the
current version no longer has (stale) are kept unless ``drop_stale``: dropping them silently
would widen the restriction. Saving gives back the leases of everyone it concerns, so the
next card already follows the new assignment.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

from labeling.models import Category, QueueEntry, ReviewAssignment, TaxonomyVersion
from labeling.selectors.assignments import resolve_keys
from labeling.services.errors import ServiceError

ASSIGNMENT_NO_TARGET = "Choose a reviewer or a group (one of them)."
ASSIGNMENT_UNKNOWN_REASON = "No such queue reason: {names}."
ASSIGNMENT_UNKNOWN_CATEGORY = "No category “{name}” in the current taxonomy version."
ASSIGNMENT_NO_VERSION = "There is no current taxonomy version to pick categories from."


def categories_by_path_or_key(
    *, names: Iterable[str], version: TaxonomyVersion | None
) -> list[Category]:
    """The current version's categories named by path (or key), in order; raises on unknown."""
    names = [n.strip() for n in names if n.strip()]
    if not names:
        return []
    if version is None:
        raise ServiceError(ASSIGNMENT_NO_VERSION)
    found = {}
    for c in Category.objects.filter(version=version).filter(path__in=names):
        found[c.path] = c
    for c in Category.objects.filter(version=version, key__in=names):
        found.setdefault(c.key, c)
    for name in names:
        if name not in found:
            raise ServiceError(ASSIGNMENT_UNKNOWN_CATEGORY.format(name=name))
    return [found[n] for n in names]


@transaction.atomic
def assignment_set(
    *,
    user: AbstractBaseUser | None = None,
    group: Group | None = None,
    categories: Iterable[Category] = (),
    reasons: Iterable[str] = (),
    version: TaxonomyVersion | None = None,
    drop_stale: bool = False,
) -> ReviewAssignment:
    """Set the subtrees and reasons of ``user`` or ``group`` (empty: unrestricted)."""
    if (user is None) == (group is None):
        raise ServiceError(ASSIGNMENT_NO_TARGET)
    reasons = list(dict.fromkeys(reasons))
    unknown = [r for r in reasons if r not in QueueEntry.Reason.values]
    if unknown:
        raise ServiceError(ASSIGNMENT_UNKNOWN_REASON.format(names=", ".join(unknown)))
    assignment, _ = ReviewAssignment.objects.select_for_update().get_or_create(
        user=user, group=group
    )
    keys = [c.key for c in categories]
    if not drop_stale:
        stale = [k for k, c in resolve_keys(assignment.category_keys, version).items() if not c]
        keys += stale
    assignment.category_keys = list(dict.fromkeys(keys))
    assignment.reasons = reasons
    assignment.save()
    _release_leases(user=user, group=group)
    return assignment


def _release_leases(*, user: AbstractBaseUser | None, group: Group | None) -> None:
    held = QueueEntry.objects.filter(lease_holder__isnull=False)
    held = held.filter(lease_holder=user) if user else held.filter(lease_holder__groups=group)
    QueueEntry.objects.filter(pk__in=held.values("pk")).update(
        lease_holder=None, lease_expires_at=None
    )


@transaction.atomic
def assignment_delete(*, assignment: ReviewAssignment) -> None:
    """Remove a restriction: its reviewer (or group) is unrestricted again."""
    user, group = assignment.user, assignment.group
    assignment.delete()
    _release_leases(user=user, group=group)
