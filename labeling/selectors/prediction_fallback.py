"""The old model's predictions, mapped onto a newly published version until it has a model.

A publish leaves every ``Prediction`` as it was: the rows name the old version's categories
and the old model, and they stay until the new version's first model is promoted and its
rescore overwrites them. Selectors that keep to the version's own categories (the reports'
``top_category__version=version``, the dashboard's "predictions of the version's models")
therefore show nothing for the new version in between. These helpers let them fall back:
while the version has no active model and the version it was published from has one, the
predecessor's predictions count too, and a node of the new tree stands for the old
categories the publish mapped into it (``CategoryMapping``).

A split node's old predictions map to the split node itself (now an inner node), never to
one of its new children: only a person can tell which child is right.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from labeling.models import Category, CategoryMapping, ModelVersion, TaxonomyVersion


def stand_in_version(*, version: TaxonomyVersion) -> TaxonomyVersion | None:
    """The version whose predictions stand in for ``version``'s, or None: its predecessor,
    while ``version`` has no active model and the predecessor has one."""
    if version.based_on_id is None or _has_active_model(version.pk):
        return None
    if not _has_active_model(version.based_on_id):
        return None
    return TaxonomyVersion.objects.get(pk=version.based_on_id)


def _has_active_model(version_id: int) -> bool:
    return ModelVersion.objects.filter(
        taxonomy_version_id=version_id, status=ModelVersion.Status.ACTIVE
    ).exists()


def prediction_scope(*, version: TaxonomyVersion) -> Q:
    """A ``Prediction`` filter: predictions of ``version``'s categories, and until its first
    model those of the version standing in for it."""
    stand_in = stand_in_version(version=version)
    if stand_in is None:
        return Q(top_category__version=version)
    return Q(top_category__version_id__in=[version.pk, stand_in.pk])


def mapped_from(*, version: TaxonomyVersion, category_ids: Iterable[int]) -> list[int]:
    """Ids of the stand-in version's categories that the publish mapped onto any of
    ``category_ids`` (e.g. a node and its subtree), or ``[]`` when nothing stands in."""
    if stand_in_version(version=version) is None:
        return []
    rows = CategoryMapping.objects.filter(new_version=version, new_category_id__in=category_ids)
    return sorted(rows.values_list("old_category_id", flat=True))


def mapped_categories(*, version: TaxonomyVersion) -> dict[int, Category]:
    """``{old category id: category of version}`` of the publish that made ``version``
    (empty when nothing stands in), to show an old prediction in the new tree's terms."""
    if stand_in_version(version=version) is None:
        return {}
    rows = CategoryMapping.objects.filter(new_version=version).select_related("new_category")
    return {row.old_category_id: row.new_category for row in rows}
