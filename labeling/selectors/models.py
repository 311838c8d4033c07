"""Read side of model versions and their training runs."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from labeling.models import ModelVersion, TrainingRun


def model_version_list(
    *, status: str | None = None, taxonomy_version_id: int | None = None
) -> QuerySet[ModelVersion]:
    """Model versions, newest first, each with its training runs prefetched (newest first)."""
    runs = TrainingRun.objects.order_by("-created_at", "-id")
    versions = ModelVersion.objects.prefetch_related(Prefetch("training_runs", queryset=runs))
    if status is not None:
        versions = versions.filter(status=status)
    if taxonomy_version_id is not None:
        versions = versions.filter(taxonomy_version_id=taxonomy_version_id)
    return versions.order_by("-created_at", "-id")


def model_version_get(*, pk: int) -> ModelVersion | None:
    return model_version_list().filter(pk=pk).first()
