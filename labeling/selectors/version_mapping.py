"""Categories of older taxonomy versions seen in the current version's terms, for the reports
and the dashboard.

After a publish, and until the new version's first model has rescored the catalog, the stored
predictions name categories of the version they were made in. The review card maps them in
Python (``categories_mapped_into``: a walk over ``CategoryMapping``); the reports filter
and sort a million predictions, so there the same mapping is an SQL expression (one indexed
lookup in ``CategoryMapping`` per publish between the prediction's version and the current
one) that the database evaluates only on the rows it needs. Both follow the same rows of
``CategoryMapping``: every publish maps every category of the version it replaced.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Expression
from django.db.models.functions import Coalesce

from labeling.models import Category, CategoryMapping, ModelVersion, TaxonomyVersion
from labeling.selectors.category_index import MAX_PUBLISH_HOPS, categories_mapped_into


def older_versions(version: TaxonomyVersion) -> list[int]:
    """Ids of the versions ``version`` was published from, newest first, back to the oldest
    one that has a model (only a model's predictions name categories); at most
    ``MAX_PUBLISH_HOPS``. Empty for a first version: nothing to map, the plain fast queries."""
    return list(older_version_numbers(version))


def older_version_numbers(version: TaxonomyVersion) -> dict[int, int]:
    """``{id: number}`` of ``older_versions(version)``, in its order, from one query: every
    version of the taxonomy (a draft is always started from its own taxonomy's current
    version, and versions are few) with whether it has a model, walked in Python."""
    rows = (
        TaxonomyVersion.objects.filter(taxonomy_id=version.taxonomy_id)
        .order_by()  # no join for Meta.ordering
        .annotate(has_model=Exists(ModelVersion.objects.filter(taxonomy_version=OuterRef("pk"))))
        .values_list("pk", "based_on_id", "number", "has_model")
    )
    versions = {pk: (base, number, has_model) for pk, base, number, has_model in rows}
    chain: list[int] = []
    base = version.based_on_id
    while base in versions and base not in chain and len(chain) < MAX_PUBLISH_HOPS:
        chain.append(base)
        base = versions[base][0]
    last = max((i for i, v in enumerate(chain) if versions[v][2]), default=-1)
    return {pk: versions[pk][1] for pk in chain[: last + 1]}


def _steps(version: TaxonomyVersion, older: list[int], hops: int) -> list[int]:
    """The ``new_version`` of each mapping a category ``hops`` publishes old goes through,
    in the order they apply (the oldest publish first)."""
    targets = [version.pk, *older]
    return list(reversed(targets[:hops]))


def _chain(column: str, steps: list[int], field: str = "new_category_id") -> Expression:
    """``field`` of the last mapping after following ``steps`` from ``column``: nested
    subqueries, the innermost one reading the outer row's ``column``."""
    expr: Expression = OuterRef(column)
    for _ in range(len(steps) - 1):
        expr = OuterRef(expr)
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        rows = CategoryMapping.objects.filter(new_version_id=step, old_category_id=expr)
        expr = Subquery(rows.values(field if last else "new_category_id")[:1])
    return expr


def mapped_category(
    column: str, version_of: str, version: TaxonomyVersion, older: list[int]
) -> Expression:
    """SQL: the category of ``version`` that the category in ``column`` stands for — itself
    when it is of ``version`` (``version_of`` reads its version id), else mapped; NULL for a
    NULL column or a category of an unrelated version."""
    if not older:
        return F(column)
    chains = [_chain(column, _steps(version, older, k)) for k in range(1, len(older) + 1)]
    ids = BigIntegerField()
    default = chains[0] if len(chains) == 1 else Coalesce(*chains, output_field=ids)
    return Case(
        When(Q(**{version_of: version.pk}), then=F(column)), default=default, output_field=ids
    )


def needs_review(column: str, version: TaxonomyVersion, older: list[int]) -> Expression:
    """SQL: whether a publish on the way from ``column``'s version to ``version`` sent the
    category to re-review (a split: only a person can say which new child is right)."""
    if not older:
        return Value(False)
    flags = [
        When(_chain(column, steps[:j], "re_review"), then=Value(True))
        for steps in (_steps(version, older, k) for k in range(1, len(older) + 1))
        for j in range(1, len(steps) + 1)
    ]
    return Case(*flags, default=Value(False), output_field=BooleanField())


def ids_mapping_into(
    *, version: TaxonomyVersion, older: list[int], targets: Iterable[int]
) -> list[int]:
    """Categories of the older versions that stand for one of ``targets`` now (the node
    filter: an IN list on the indexed ``top_category_id``, not a mapping per row)."""
    if not older:
        return []
    wanted = set(targets)
    old = Category.objects.filter(version_id__in=older).values_list("pk", flat=True)
    mapped = categories_mapped_into(version=version, old_ids=old)
    return sorted(pk for pk, new in mapped.items() if new in wanted)


def to_current(*, version: TaxonomyVersion, ids: Iterable[int | None]) -> dict[int, int]:
    """``{id: category of version}`` for category ids of any version (grouped figures): the
    current version's ids map to themselves, older ones through the publishes, unrelated or
    unmappable ones are left out."""
    wanted = {pk for pk in ids if pk is not None}
    current = set(
        Category.objects.filter(version=version, pk__in=wanted).values_list("pk", flat=True)
    )
    mapped = categories_mapped_into(version=version, old_ids=wanted - current)
    return {pk: pk for pk in current} | mapped
