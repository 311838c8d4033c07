"""Read side of the categories' guidelines: one category's, a version's, and the audit trail
of one guideline (``TaxonomyOperation`` rows of kind ``guideline``). The review card reads
its candidates' guidelines from the category index instead (``category_index``: no query)."""

from __future__ import annotations

from django.db.models import QuerySet

from labeling.models import Category, Guideline, TaxonomyOperation, TaxonomyVersion

HISTORY_SHOWN = 20


def guideline_category_get(*, pk: int) -> Category | None:
    """The category ``pk`` with its version and taxonomy (a guideline page's heading)."""
    return Category.objects.select_related("version__taxonomy").filter(pk=pk).first()


def guideline_get(*, category_id: int) -> Guideline | None:
    return (
        Guideline.objects.select_related("category", "updated_by")
        .filter(category_id=category_id)
        .first()
    )


def guideline_list(*, version: TaxonomyVersion) -> QuerySet[Guideline]:
    """Every guideline of ``version``, in its categories' path order."""
    return (
        Guideline.objects.filter(category__version=version)
        .select_related("category", "updated_by")
        .order_by("category__path")
    )


def guideline_history(
    *, category: Category, limit: int = HISTORY_SHOWN
) -> QuerySet[TaxonomyOperation]:
    """The latest changes of ``category``'s guideline in its version, newest first."""
    return (
        TaxonomyOperation.objects.filter(
            version_id=category.version_id,
            kind=TaxonomyOperation.Kind.GUIDELINE,
            payload__key=category.key,
        )
        .select_related("author")
        .order_by("-id")[:limit]
    )


def guideline_editable(*, category: Category) -> bool:
    """Whether ``category``'s guideline may be changed: a live category of a draft or of the
    current version (the service's rule, for the page to offer the form or not)."""
    version = category.version
    live = version.status == TaxonomyVersion.Status.DRAFT or version.is_current
    return live and not category.deprecated
