"""Read side of model versions and their training runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class CommonSet:
    """The held-out labels of the newest run that scored several models on them: the one
    set on which the models page compares models (each run's own set differs, as labels grow
    and audit labels arrive, so figures on their own sets do not compare).

    ``figures`` maps a model's pk to ``{"score", "leaf_accuracy", "macro_f1"}`` on that set;
    ``model_id`` is the model whose run held them out (its figures are its own metrics).
    """

    model_id: int
    n_eval: int
    n_audit: int
    figures: dict[int, dict[str, Any]]


def common_held_out_set(models: Iterable[ModelVersion]) -> CommonSet | None:
    """The common set of the newest of ``models`` whose metrics carry one (the candidate's
    run scores the active and the last retired models too: ``promotion.judge``)."""
    newest = max(
        (mv for mv in models if (mv.metrics or {}).get("common")),
        key=lambda mv: (mv.created_at, mv.pk),
        default=None,
    )
    if newest is None:
        return None
    metrics = newest.metrics
    common = metrics["common"]
    figures = {int(pk): dict(values) for pk, values in common["models"].items()}
    figures[newest.pk] = {key: metrics.get(key) for key in ("score", "leaf_accuracy", "macro_f1")}
    return CommonSet(
        model_id=newest.pk,
        n_eval=int(common["n_eval"]),
        n_audit=int(common.get("n_audit") or 0),
        figures=figures,
    )
