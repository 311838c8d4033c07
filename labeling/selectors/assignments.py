"""Which queue entries a reviewer may be handed: their assignment (set by admins on the
reviewer or on a group they are in) narrowed by the filter they chose on the review page.

An assignment names subtrees by their root category's stable ``key`` and/or queue reasons;
an empty list does not restrict. An entry matches one assignment when its reason is among the
reasons (if any) and its item's top predicted category lies in one of the subtrees (if any).
A reviewer's own assignment and their groups' combine by **union**: an entry matches the
reviewer when it matches any one of them. A key missing from the current version is *stale*:
it matches nothing (an assignment whose subtrees are all stale hands out nothing), and the
admin page shows it. Subtrees are matched on the top category's path in the working
taxonomy, so a prediction made before a publish still matches while its path is unchanged.

The result is a ``QueueScope``, which the lease logic turns into its query's WHERE clause
(``q()`` for the ORM, ``sql()`` for PostgreSQL's raw top-up statement): no per-item loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import connection
from django.db.models import Q, QuerySet

from labeling.models import Category, Prediction, QueueEntry, ReviewAssignment, TaxonomyVersion

SEPARATOR = " > "
_TOP = "item__prediction__top_category__"


@dataclass(frozen=True)
class Clause:
    """Entries with one of ``reasons`` (empty: any) under one of ``paths`` (None: anywhere;
    empty: nowhere, e.g. every subtree stale)."""

    reasons: tuple[str, ...] = ()
    paths: tuple[str, ...] | None = None

    def q(self, taxonomy_id: int | None) -> Q:
        q = Q(reason__in=self.reasons) if self.reasons else Q()
        if self.paths is not None:
            under = Q(pk__in=[])
            for path in self.paths:
                under |= Q(**{f"{_TOP}path": path}) | Q(
                    **{f"{_TOP}path__startswith": path + SEPARATOR}
                )
            q &= under & Q(**{f"{_TOP}version__taxonomy_id": taxonomy_id})
        return q

    def sql(self, name: str, taxonomy_id: int | None) -> tuple[str, dict[str, Any]]:
        parts: list[str] = []
        params: dict[str, Any] = {}
        if self.reasons:
            names = [f"{name}_r{i}" for i in range(len(self.reasons))]
            parts.append("reason IN (" + ", ".join(f"%({n})s" for n in names) + ")")
            params.update(zip(names, self.reasons, strict=True))
        if self.paths is not None:
            under, under_params = _under_sql(name, self.paths, taxonomy_id)
            parts.append(under)
            params.update(under_params)
        return "(" + (" AND ".join(parts) or "TRUE") + ")", params


def _like_prefix(path: str) -> str:
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + SEPARATOR + "%"


def _under_sql(name: str, paths: tuple[str, ...], taxonomy_id: int | None) -> tuple[str, dict]:
    if not paths:
        return "FALSE", {}
    q = connection.ops.quote_name
    params: dict[str, Any] = {f"{name}_t": taxonomy_id}
    tests = []
    for i, path in enumerate(paths):
        params[f"{name}_p{i}"], params[f"{name}_l{i}"] = path, _like_prefix(path)
        tests.append(f"c.path = %({name}_p{i})s OR c.path LIKE %({name}_l{i})s")
    sql = (
        f"EXISTS (SELECT 1 FROM {q(Prediction._meta.db_table)} p"
        f" JOIN {q(Category._meta.db_table)} c ON c.id = p.top_category_id"
        f" JOIN {q(TaxonomyVersion._meta.db_table)} v ON v.id = c.version_id"
        f" WHERE p.item_id = {q(QueueEntry._meta.db_table)}.item_id"
        f" AND v.taxonomy_id = %({name}_t)s AND ({' OR '.join(tests)}))"
    )
    return sql, params


@dataclass(frozen=True)
class QueueScope:
    """Every group must hold (AND); within a group, any clause (OR). No groups: everything."""

    taxonomy_id: int | None = None
    groups: tuple[tuple[Clause, ...], ...] = field(default_factory=tuple)

    @property
    def restricted(self) -> bool:
        return bool(self.groups)

    def narrowed(self, clause: Clause | None) -> QueueScope:
        if clause is None:
            return self
        return QueueScope(self.taxonomy_id, (*self.groups, (clause,)))

    def q(self) -> Q:
        q = Q()
        for group in self.groups:
            either = Q(pk__in=[])
            for clause in group:
                either |= clause.q(self.taxonomy_id)
            q &= either
        return q

    def sql(self) -> tuple[str, dict[str, Any]]:
        """The WHERE condition on the queue table (``TRUE`` when unrestricted), named params."""
        parts: list[str] = []
        params: dict[str, Any] = {}
        for g, group in enumerate(self.groups):
            ors = []
            for c, clause in enumerate(group):
                text, clause_params = clause.sql(f"scope{g}_{c}", self.taxonomy_id)
                ors.append(text)
                params.update(clause_params)
            parts.append("(" + (" OR ".join(ors) or "FALSE") + ")")
        return " AND ".join(parts) or "TRUE", params


UNRESTRICTED = QueueScope()


def assignments_for(*, user: AbstractBaseUser) -> list[ReviewAssignment]:
    """The user's own assignment and their groups' (one query)."""
    mine = Q(user_id=user.pk) | Q(group__user=user.pk)
    return list(ReviewAssignment.objects.filter(mine).distinct())


def resolve_keys(
    keys: Iterable[str], version: TaxonomyVersion | None
) -> dict[str, Category | None]:
    """Each key's category in ``version`` (None: stale)."""
    keys = list(dict.fromkeys(keys))
    found = {}
    if keys and version is not None:
        found = {c.key: c for c in Category.objects.filter(version=version, key__in=keys)}
    return {key: found.get(key) for key in keys}


def _clause(assignment: ReviewAssignment, paths: dict[str, Category | None]) -> Clause:
    keys = assignment.category_keys or []
    resolved = tuple(paths[k].path for k in keys if paths.get(k) is not None)  # type: ignore[union-attr]
    return Clause(tuple(assignment.reasons or ()), resolved if keys else None)


def queue_scope_for(*, user: AbstractBaseUser, version: TaxonomyVersion | None) -> QueueScope:
    """What the queue may hand ``user``: the union of their assignments (unrestricted when they
    have none, or one of them is empty)."""
    assignments = assignments_for(user=user)
    if any(not a.category_keys and not a.reasons for a in assignments) or not assignments:
        return QueueScope(version.taxonomy_id if version else None)
    paths = resolve_keys((k for a in assignments for k in a.category_keys), version)
    clauses = tuple(_clause(a, paths) for a in assignments)
    return QueueScope(version.taxonomy_id if version else None, (clauses,))


@dataclass(frozen=True)
class AssignmentRow:
    """One assignment as the admin page shows it."""

    assignment: ReviewAssignment
    subtrees: list[Category]
    stale_keys: list[str]

    @property
    def who(self) -> str:
        a = self.assignment
        if a.group is not None:
            return f"group {a.group.name}"
        return a.user.get_username() if a.user is not None else ""


def assignment_rows(*, version: TaxonomyVersion | None) -> list[AssignmentRow]:
    """Every assignment with its subtrees in ``version`` and its stale keys."""
    assignments = list(ReviewAssignment.objects.select_related("user", "group").order_by("pk"))
    paths = resolve_keys((k for a in assignments for k in a.category_keys), version)
    rows = []
    for a in assignments:
        found = [paths[k] for k in a.category_keys if paths.get(k) is not None]
        stale = [k for k in a.category_keys if paths.get(k) is None]
        rows.append(AssignmentRow(a, found, stale))  # type: ignore[arg-type]
    return rows


def assignment_get(
    *, user_id: int | None = None, group_id: int | None = None
) -> ReviewAssignment | None:
    if user_id is None and group_id is None:
        return None
    return ReviewAssignment.objects.filter(user_id=user_id, group_id=group_id).first()


def assignable_groups() -> QuerySet[Group]:
    return Group.objects.order_by("name")


def assignment_list() -> QuerySet[ReviewAssignment]:
    """Every assignment, oldest first, with its reviewer or group (the API's list)."""
    return ReviewAssignment.objects.select_related("user", "group").order_by("pk")


def assignment_get_by_id(*, pk: int) -> ReviewAssignment | None:
    return assignment_list().filter(pk=pk).first()
