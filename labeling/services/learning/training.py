"""Training runs: claim, train, judge, promote; failing and reaping; the public entry points.

The loop's services, by module: ``triggers`` (when to train: coalesced requests,
the label counter, beat), this module (one run end to end), ``training_data`` (labels and
the held-out split), ``promotion`` (metrics, the promotion rule, the swap), ``cold_start``
and ``zero_shot`` (the model before any label), ``label_issues`` (suspected label errors, sent
after a run that built a model), ``dispatch`` (sending tasks by name). Everything callers need
is importable from here.

A run never changes what reviewers see unless it promotes: the candidate is stored with its
artifact and metrics first, and promotion (old active → retired, candidate → active) is one
transaction that also re-checks the run was not reaped meanwhile. A worse or failed run leaves
the active model and its predictions alone and says why in ``TrainingRun.outcome``/``error``.

The first model of a version published from another starts from that version's model
(``warm_start``); the candidate's ``config["warm_start"]`` records the model and the
leaves' sources, its ``metrics["warm_start"]`` a summary (None for a cold run), and the run's
outcome says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from classifier.model import HierarchicalClassifier
from labeling.models import ModelVersion, TrainingRun
from labeling.services.errors import ServiceError
from labeling.services.learning.cold_start import cold_start_model
from labeling.services.learning.label_issues import label_issues_after_training
from labeling.services.learning.label_weights import label_weights_prepare, weight_summary
from labeling.services.learning.ml import (
    VersionTree,
    active_model_version,
    item_features,
    save_artifact,
    version_tree,
)
from labeling.services.learning.promotion import judge, promote_model, promotion_decision
from labeling.services.learning.training_data import (
    LabelSet,
    TrainingConfig,
    current_labels,
    evaluation_mask,
    has_features,
)
from labeling.services.learning.triggers import labels_added, training_periodic, training_request
from labeling.services.learning.warm_start import WarmStartPlan, warm_start_plan
from labeling.services.learning.zero_shot import leaf_name_embeddings

__all__ = [
    "cold_start_model",
    "labels_added",
    "promotion_decision",
    "training_periodic",
    "training_request",
    "training_run",
    "training_run_fail",
    "training_runs_reap",
]

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]

TOO_FEW_LABELS = "skipped: {n} usable labels, fewer than MIN_LABELS_TO_TRAIN ({minimum})"
COLD_START_ACTIVE = "; the cold-start model #{pk} is active"
REJECTED_ACTIVE_CHANGED = (
    "rejected: the active model changed while this run trained (#{was} → #{now})"
)
WARM_STARTED = "; warm-started from model #{pk} of the previous taxonomy version"
STALE_RUN = "no heartbeat since {at} (over {seconds} s): the worker probably died; run it again"
RUN_NOT_RUNNING = "Training run #{pk} is no longer running (it was reaped or cancelled)."
FAILED = "failed: {error}"


class TrainingError(ServiceError):
    pass


class RunAbandoned(TrainingError):
    """The run was marked failed (reaped) while this process still worked on it."""


# -- running ----------------------------------------------------------------------------------


def training_run(run_id: int, *, progress: Progress | None = None) -> TrainingRun:
    """Execute queued run ``run_id`` end to end; a run already started or finished is a no-op.

    Errors mark the run failed (with the reason) and reject its candidate; they are logged,
    not raised, because a retry would fail the same way. ``progress(fraction, stage)``.
    """
    if not _claim(run_id):
        return TrainingRun.objects.get(pk=run_id)
    run = TrainingRun.objects.select_related("taxonomy_version").get(pk=run_id)
    tracker = _Tracker(run.pk, progress)
    try:
        _execute(run, tracker, TrainingConfig.from_settings())
    except RunAbandoned:
        log.warning("training run %s was reaped while running; its result is discarded", run_id)
        # A model it had started (training or candidate) must not stay in limbo.
        ModelVersion.objects.filter(
            training_runs=run_id,
            status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.CANDIDATE],
        ).update(status=ModelVersion.Status.REJECTED)
    except Exception as error:
        log.exception("training run %s failed", run_id)
        training_run_fail(run=run, error=f"{type(error).__name__}: {error}")
    run.refresh_from_db()
    return run


def _claim(run_id: int) -> bool:
    now = timezone.now()
    return bool(
        TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.RUNNING, started_at=now, heartbeat_at=now, stage="starting"
        )
    )


@dataclass
class _Tracker:
    """Writes progress, stage and heartbeat to the run, and times the stages."""

    run_id: int
    callback: Progress | None
    delay: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    _stage: str = ""
    _since: float = field(default_factory=time.perf_counter)
    _started: float = field(default_factory=time.perf_counter)

    def stage(self, name: str, fraction: float) -> None:
        self._close_stage()
        self._stage, self._since = name, time.perf_counter()
        self.beat(fraction)

    def beat(self, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        alive = TrainingRun.objects.filter(
            pk=self.run_id, status=TrainingRun.Status.RUNNING
        ).update(progress=fraction, stage=self._stage, heartbeat_at=timezone.now())
        if not alive:
            raise RunAbandoned(RUN_NOT_RUNNING.format(pk=self.run_id))
        if self.callback is not None:
            self.callback(fraction, self._stage)

    def epochs(self, low: float, high: float) -> Callable[[int, int], None]:
        def on_epoch(epoch: int, total: int) -> None:
            if self.delay:
                time.sleep(self.delay)  # test hook: a slow training to kill mid-way
            self.beat(low + (high - low) * epoch / max(total, 1))

        return on_epoch

    def finish(self) -> dict[str, float]:
        self._close_stage()
        self._stage = ""
        self.timings["total"] = round(time.perf_counter() - self._started, 3)
        if self.callback is not None:
            self.callback(1.0, "done")
        return self.timings

    def _close_stage(self) -> None:
        if self._stage:
            self.timings[self._stage] = round(time.perf_counter() - self._since, 3)


def _execute(run: TrainingRun, tracker: _Tracker, config: TrainingConfig) -> None:
    version = run.taxonomy_version
    tracker.delay = config.epoch_delay
    tracker.stage("gathering labels", 0.02)
    vt = version_tree(version)
    label_weights_prepare(version=version)  # fresh reviewer estimates before labels are read
    labels = current_labels(version, vt)
    tracker.stage("loading embeddings", 0.05)
    features = item_features(labels.item_ids)
    usable = has_features(features)
    labels, features = labels.subset(usable), _rows(features, usable)
    if len(labels) < config.min_labels:
        _finish_without_model(run, tracker, len(labels), config)
        return
    held = evaluation_mask(
        labels, version_id=version.pk, fraction=config.eval_fraction, vectors=features.get("text")
    )
    active = active_model_version(version)
    warm = warm_start_plan(version, vt, features)
    candidate = _candidate(run, labels, held, active, warm)
    tracker.stage("training", 0.1)
    model = _fit(vt, features, labels, ~held, config, tracker, warm)
    tracker.stage("evaluating", 0.8)
    metrics = judge(
        model,
        active,
        vt,
        labels.subset(held),
        _rows(features, held),
        config.threshold,
        margin=config.margin,
    )
    metrics["n_train"] = int((~held).sum())
    metrics["warm_start"] = warm.metrics() if warm else None
    metrics["label_weights"] = weight_summary(labels.weights_of(~held))
    tracker.stage("saving", 0.9)
    save_artifact(model, candidate)
    candidate.metrics, candidate.status = metrics, ModelVersion.Status.CANDIDATE
    candidate.save(update_fields=["metrics", "status"])
    tracker.stage("deciding", 0.95)
    promote, reason = promotion_decision(metrics, active, config.margin)
    reason += WARM_STARTED.format(pk=warm.source_model.pk) if warm else ""
    _conclude(run, candidate, active, promote, reason, tracker)
    label_issues_after_training(run=run, labels=len(labels))  # suspected label errors, issue 17


def _candidate(
    run: TrainingRun,
    labels: LabelSet,
    held: np.ndarray,
    active: ModelVersion | None,
    warm: WarmStartPlan | None,
) -> ModelVersion:
    """The run's model row (status ``training``), linked to the run."""
    config: dict[str, Any] = {"kind": "trained", "trigger": run.trigger, "run": run.pk}
    if warm is not None:
        config["warm_start"] = warm.config()
    candidate = ModelVersion.objects.create(
        taxonomy_version=run.taxonomy_version,
        status=ModelVersion.Status.TRAINING,
        label_count=int((~held).sum()),
        newest_label_at=labels.newest_label_at,
        parent=active,
        config=config,
    )
    TrainingRun.objects.filter(pk=run.pk).update(model_version=candidate)
    return candidate


def _rows(features: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {m: x[mask] for m, x in features.items() if x.shape[1]}


def _fit(
    vt: VersionTree,
    features: dict[str, np.ndarray],
    labels: LabelSet,
    train: np.ndarray,
    config: TrainingConfig,
    tracker: _Tracker,
    warm: WarmStartPlan | None,
) -> HierarchicalClassifier:
    params = {"seed": 0, **config.model_params, "thresholds": config.threshold}
    model = HierarchicalClassifier(vt.tree, **params)
    return model.fit(
        _rows(features, train),
        labels.nodes[train],
        zero_shot=_zero_shot_or_none(vt),
        progress=tracker.epochs(0.1, 0.8),
        warm_start=warm.warm_start if warm else None,
        sample_weight=labels.weights_of(train),
    )


def _zero_shot_or_none(vt: VersionTree) -> np.ndarray | None:
    """Name embeddings let leaves without labels be predicted; training goes on without them."""
    try:
        return leaf_name_embeddings(vt)
    except Exception:
        log.warning(
            "category names could not be embedded; training without zero-shot", exc_info=True
        )
        return None


def _conclude(
    run: TrainingRun,
    candidate: ModelVersion,
    active: ModelVersion | None,
    promote: bool,
    reason: str,
    tracker: _Tracker,
) -> None:
    """Promote or reject in one transaction, only if the run is still ours."""
    with transaction.atomic():
        locked = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != TrainingRun.Status.RUNNING:
            raise RunAbandoned(RUN_NOT_RUNNING.format(pk=run.pk))
        current = (
            ModelVersion.objects.select_for_update()
            .filter(
                taxonomy_version_id=candidate.taxonomy_version_id, status=ModelVersion.Status.ACTIVE
            )
            .first()
        )
        if promote and _pk(current) != _pk(active):
            promote = False
            reason = REJECTED_ACTIVE_CHANGED.format(was=_pk(active), now=_pk(current))
        if promote:
            promote_model(candidate, current)
        else:
            ModelVersion.objects.filter(pk=candidate.pk).update(status=ModelVersion.Status.REJECTED)
        _succeed(run, reason, tracker)


def _pk(model: ModelVersion | None) -> int | None:
    return model.pk if model is not None else None


def _succeed(run: TrainingRun, outcome: str, tracker: _Tracker) -> None:
    TrainingRun.objects.filter(pk=run.pk).update(
        status=TrainingRun.Status.SUCCEEDED,
        progress=1.0,
        stage="done",
        outcome=outcome,
        timings=tracker.finish(),
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )


def _finish_without_model(
    run: TrainingRun, tracker: _Tracker, n: int, config: TrainingConfig
) -> None:
    outcome = TOO_FEW_LABELS.format(n=n, minimum=config.min_labels)
    if active_model_version(run.taxonomy_version) is None:
        tracker.stage("cold start", 0.5)
        model = cold_start_model(run.taxonomy_version)
        if model.status == ModelVersion.Status.ACTIVE:
            outcome += COLD_START_ACTIVE.format(pk=model.pk)
    _succeed(run, outcome, tracker)


# -- failing and reaping ----------------------------------------------------------------------


def training_run_fail(*, run: TrainingRun, error: str) -> bool:
    """Mark a queued or running run failed and reject its unfinished candidate; False when
    the run had already finished."""
    with transaction.atomic():
        failed = TrainingRun.objects.filter(
            pk=run.pk, status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]
        ).update(
            status=TrainingRun.Status.FAILED,
            error=error,
            outcome=FAILED.format(error=error),
            finished_at=timezone.now(),
        )
        model_id = TrainingRun.objects.filter(pk=run.pk).values_list("model_version_id", flat=True)[
            0
        ]
        if failed and model_id:
            ModelVersion.objects.filter(
                pk=model_id,
                status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.CANDIDATE],
            ).update(status=ModelVersion.Status.REJECTED)
    return bool(failed)


def training_runs_reap(*, now: datetime | None = None) -> int:
    """Fail running runs whose heartbeat is older than STALE_RUN_SECONDS; how many."""
    now = now or timezone.now()
    seconds = int(settings.TAXOLOOP["STALE_RUN_SECONDS"])
    cutoff = now - timedelta(seconds=seconds)
    stale = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    reaped = 0
    for run in stale:
        at = run.heartbeat_at or run.started_at
        reaped += training_run_fail(
            run=run, error=STALE_RUN.format(at=at.isoformat(), seconds=seconds)
        )
    return reaped
