"""Read side of taxonomies: versions with their counts, categories, lookups for the API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.fields import TextField
from django.db.models.functions import Cast, Coalesce

from labeling.models import Category, Label, ModelVersion, TaxonomyVersion


def _count_of(queryset: QuerySet, field: str) -> Coalesce:
    # One correlated subquery per count: joining three reverse relations and counting would
    # multiply the rows (categories x labels x models) before the count.
    counted = (
        queryset.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def taxonomy_version_list() -> QuerySet[TaxonomyVersion]:
    """Every taxonomy version, newest first within its taxonomy, with category, leaf, label
    and model counts (``category_count``, ``leaf_count``, ``label_count``, ``model_count``)."""
    return (
        TaxonomyVersion.objects.select_related("taxonomy")
        .annotate(
            category_count=_count_of(Category.objects.all(), "version"),
            leaf_count=_count_of(Category.objects.filter(is_leaf=True), "version"),
            label_count=_count_of(Label.objects.filter(kind=Label.Kind.LABEL), "taxonomy_version"),
            model_count=_count_of(ModelVersion.objects.all(), "taxonomy_version"),
        )
        .order_by("taxonomy__name", "-number")
    )


def taxonomy_version_get(*, pk: int) -> TaxonomyVersion | None:
    return taxonomy_version_list().filter(pk=pk).first()


def current_versions(
    versions: QuerySet[TaxonomyVersion] | None = None,
) -> QuerySet[TaxonomyVersion]:
    """Current versions, the working one first (see ``current_version``); a subquery takes
    ``.values("pk")[:1]``."""
    versions = TaxonomyVersion.objects.all() if versions is None else versions
    preferred = settings.TAXOLOOP.get("TAXONOMY") or ""
    return versions.filter(is_current=True).order_by(
        Case(When(taxonomy__name=preferred, then=Value(0)), default=Value(1)), "-pk"
    )


def current_version() -> TaxonomyVersion | None:
    """The working taxonomy version: every page, task and API call that does not name a version
    uses this one, so that the Models page's Train button, the review queue and the dashboard
    concern the same taxonomy. Each taxonomy has one current version; with several taxonomies,
    the one named by ``TAXOLOOP_TAXONOMY`` wins, else the newest published."""
    return current_versions(TaxonomyVersion.objects.select_related("taxonomy")).first()


def taxonomy_version_current() -> TaxonomyVersion | None:
    """``current_version()`` with the counts of ``taxonomy_version_list()``."""
    return current_versions(taxonomy_version_list()).first()


def category_list(
    *,
    version: TaxonomyVersion,
    q: str | None = None,
    depth: int | None = None,
    leaf: bool | None = None,
) -> QuerySet[Category]:
    """The flat category list of ``version`` in path order. ``q`` matches name, path or a
    synonym, case-insensitively."""
    categories = Category.objects.filter(version=version).order_by("path")
    if q:
        categories = categories.annotate(synonyms_text=Cast("synonyms", TextField())).filter(
            Q(name__icontains=q) | Q(path__icontains=q) | Q(synonyms_text__icontains=q)
        )
    if depth is not None:
        categories = categories.filter(depth=depth)
    if leaf is not None:
        categories = categories.filter(is_leaf=leaf)
    return categories


CATEGORY_ROW_FIELDS = (
    "id",
    "key",
    "parent_id",
    "name",
    "path",
    "depth",
    "is_leaf",
    "deprecated",
    "synonyms",
)


def category_rows(**filters: Any) -> QuerySet[Category, dict[str, Any]]:
    """``category_list(**filters)`` as plain dicts of CATEGORY_ROW_FIELDS: a whole large
    taxonomy (Google's 5,595 nodes) in one response costs half as much without model
    instances."""
    return category_list(**filters).values(*CATEGORY_ROW_FIELDS)


def category_in_current_version(
    *, pk: int | None = None, path: str | None = None
) -> Category | None:
    """A category of the current taxonomy version by id or by path; None when there is none."""
    current = current_version()
    if current is None or (pk is None and path is None):
        return None
    lookup = {"pk": pk} if pk is not None else {"path": path}
    return Category.objects.filter(version=current, **lookup).first()


def category_get(*, pk: int) -> Category | None:
    return Category.objects.filter(pk=pk).first()


def category_subtree_q(category: Category, prefix: str = "") -> Q:
    """A filter for ``category`` and its descendants (same version, path prefix); ``prefix``
    is the lookup path to the category relation, e.g. ``"current_label__category__"``."""
    return Q(**{f"{prefix}version_id": category.version_id}) & (
        Q(**{f"{prefix}path": category.path})
        | Q(**{f"{prefix}path__startswith": category.path + " > "})
    )
