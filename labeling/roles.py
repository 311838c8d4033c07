"""Roles are Django groups; superusers hold every role."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

REVIEWER = "Reviewer"
TAXONOMY_ADMIN = "TaxonomyAdmin"
ADJUDICATOR = "Adjudicator"
ALL_ROLES = (REVIEWER, TAXONOMY_ADMIN, ADJUDICATOR)


def has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cache = user.__dict__.setdefault("_taxoloop_roles", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
        user.__dict__["_taxoloop_roles"] = cache
    return role in cache


def is_reviewer(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Reviewers and taxonomy admins may label; admins review too."""
    return has_role(user, REVIEWER) or has_role(user, TAXONOMY_ADMIN)


def is_taxonomy_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return has_role(user, TAXONOMY_ADMIN)


def is_adjudicator(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Adjudicators decide overlap items whose answers disagree; taxonomy admins may too."""
    return has_role(user, ADJUDICATOR) or has_role(user, TAXONOMY_ADMIN)
