"""The model page: model versions of the current taxonomy version, their training runs and
their rescores (the catalog scored shard by shard, by any number of workers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeling.models import ModelVersion, RescoreJob, TaxonomyVersion, TrainingRun
from labeling.roles import is_taxonomy_admin
from labeling.selectors.models import CommonSet, common_held_out_set, model_version_list
from labeling.selectors.taxonomy import current_version
from labeling.services.learning.training import training_request
from labeling.views.access import reviewer_required, taxonomy_admin_required

TEMPLATE = "models/model_list.html"
RUNS_SHOWN = 10
RESCORES_SHOWN = 5
IN_FLIGHT = (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING)
NO_CURRENT_VERSION = "There is no current taxonomy version: import or publish one first."
TRAINING_QUEUED = "Training run #{pk} is queued; this page shows its progress."
TRAINING_COALESCED = (
    "A training of this version is already queued or running; it will include your labels."
)


@dataclass(frozen=True)
class ModelRow:
    """One model version as the page shows it (figures already picked out of ``metrics``).

    ``common_*`` are on the page's common held-out set (None: the model was not scored on
    it); ``accuracy`` … ``audit_accuracy`` on the ``own_n`` labels its own run held out;
    ``comparison`` is the paired interval against the model active when it was judged.
    """

    model: ModelVersion
    accuracy: float | None
    macro_f1: float | None
    ece: float | None
    coverage: float | None
    audit_accuracy: float | None
    duration: str
    latency: str
    own_n: int | None = None
    common_accuracy: float | None = None
    common_score: float | None = None
    comparison: dict[str, Any] | None = None


@require_GET
@reviewer_required
def model_list(request: HttpRequest) -> HttpResponse:
    version = current_version()
    context: dict[str, Any] = {"version": version, "can_train": is_taxonomy_admin(request.user)}
    if version is not None:
        context |= _runs_context(version)
        if not request.htmx:
            versions = list(model_version_list(taxonomy_version_id=version.pk))
            common = common_held_out_set(versions)
            context["common"] = common
            context["rows"] = [_row(mv, common) for mv in versions]
    template = f"{TEMPLATE}#training-runs" if request.htmx else TEMPLATE
    return render(request, template, context)


@require_POST
@taxonomy_admin_required
def model_train(request: HttpRequest) -> HttpResponse:
    version = current_version()
    if version is None:
        messages.error(request, NO_CURRENT_VERSION)
    else:
        run = training_request(version, trigger="manual")
        if run is None:
            messages.info(request, TRAINING_COALESCED)
        else:
            messages.success(request, TRAINING_QUEUED.format(pk=run.pk))
    return redirect("models:list")


def _runs_context(version: TaxonomyVersion) -> dict[str, Any]:
    runs = list(
        TrainingRun.objects.filter(taxonomy_version=version)
        .select_related("model_version")
        .order_by("-created_at", "-id")[:RUNS_SHOWN]
    )
    rescores = list(
        RescoreJob.objects.filter(model_version__taxonomy_version=version)
        .annotate(items_done=Sum("shards__items_done"))
        .order_by("-created_at", "-id")[:RESCORES_SHOWN]
    )
    for job in rescores:
        job.fraction = _rescore_fraction(job)
    polling = any(r.status in IN_FLIGHT for r in runs) or any(
        j.status == RescoreJob.Status.RUNNING for j in rescores
    )
    return {"runs": runs, "rescores": rescores, "polling": polling}


def _rescore_fraction(job: RescoreJob) -> float:
    """Share of the job's items scored so far (shards count after every chunk)."""
    if job.status == RescoreJob.Status.DONE:
        return 1.0
    done = getattr(job, "items_done", 0) or 0
    return min(1.0, done / job.item_count) if job.item_count else 0.0


def _row(mv: ModelVersion, common: CommonSet | None) -> ModelRow:
    metrics = mv.metrics or {}
    audit = metrics.get("audit") or {}
    on_common = common.figures.get(mv.pk, {}) if common is not None else {}
    finished = [r for r in mv.training_runs.all() if r.started_at and r.finished_at]
    latency = mv.promoted_at - mv.newest_label_at if mv.promoted_at and mv.newest_label_at else None
    return ModelRow(
        model=mv,
        accuracy=metrics.get("leaf_accuracy"),
        macro_f1=metrics.get("macro_f1"),
        ece=metrics.get("ece"),
        coverage=(metrics.get("rollup") or {}).get("decided_share"),
        audit_accuracy=audit.get("leaf_accuracy"),
        duration=human_duration(
            finished[0].finished_at - finished[0].started_at if finished else None
        ),
        latency=human_duration(latency),
        own_n=metrics.get("n_eval"),
        common_accuracy=on_common.get("leaf_accuracy"),
        common_score=on_common.get("score"),
        comparison=_signed(metrics.get("comparison")),
    )


def _signed(comparison: dict[str, Any] | None) -> dict[str, Any] | None:
    """The paired interval with its three figures as signed text (``+0.0123``, ``−0.0040``):
    a difference reads as a gain or a loss at a glance."""
    if not comparison:
        return None
    text = {
        key: f"{comparison[key]:+.4f}".replace("-", "\u2212")
        for key in ("difference", "low", "high")
    }
    return {**comparison, "text": text}


def human_duration(delta: timedelta | None) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"2 h 04 min"``; an em dash when unknown."""
    if delta is None:
        return "—"
    seconds = max(0, round(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
