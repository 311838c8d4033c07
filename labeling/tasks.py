"""Celery tasks: take ids, load rows, call one service (CONVENTIONS.md).

Every task is idempotent and acks late (a worker killed mid-task gets it redelivered, and a
second delivery does no harm): a training run is claimed by a conditional update, so a run
already started or finished is a no-op; a rescore by a model that is no longer active is
skipped (or stops at its next chunk), a rescore shard already done does nothing, and a
queue refresh whose stale flag is already cleared does nothing unless it is a redelivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Task, shared_task
from django.conf import settings

from labeling.models import ModelVersion, TaxonomyVersion, TrainingRun
from labeling.selectors.taxonomy import current_version
from labeling.services import dispatch
from labeling.services.catalog import embeddings
from labeling.services.learning import label_issues, ml, rescore_jobs, scoring, training, triggers
from labeling.services.review import leases, queue_build, queue_refresh, reliability

log = logging.getLogger(__name__)
# A rescore whose shard tasks the broker refused is tried again this much later.
RESCORE_RETRY_SECONDS = 30


@shared_task(acks_late=True)
def release_expired_leases_task() -> int:
    """Beat, every minute: hand abandoned leases back to the pool, and send again the queue
    refreshes whose message was lost; returns the leases released."""
    released = leases.queue_release_expired_leases()
    if released:
        log.info("released %d expired queue leases", released)
    resent = queue_refresh.queue_refresh_resend_stale()
    if resent:
        log.warning("queue refresh lost for taxonomy versions %s; sent again", resent)
    return released


@shared_task(acks_late=True)
def embed_items_task(item_ids: list[int] | None = None) -> dict[str, int]:
    """Encode new or changed items (all of them, or ``item_ids``), then score exactly the
    items that got a new vector: beat's catch-up (no ids) that finds 3 new items in a
    catalog of a million scores 3, not a million."""
    report = embeddings.embed_items(item_ids=item_ids)
    for line in report.lines():
        log.info("embed: %s", line)
    if report.encoded_item_ids:
        _score_new_items(sorted(report.encoded_item_ids))
    return {"encoded": report.encoded, "failed": report.failed}


def _request_for_current_versions(
    request: Callable[[TaxonomyVersion], TrainingRun | None],
) -> list[int]:
    """Apply a training trigger to every current taxonomy version; the ids of the runs it
    queued (coalesced triggers queue none)."""
    runs = (request(version) for version in TaxonomyVersion.objects.filter(is_current=True))
    return [run.pk for run in runs if run is not None]


def _score_new_items(item_ids: list[int]) -> None:
    """Newly embedded items get predictions (and can enter the queue) without waiting for a
    training: from the active model, or from a cold-start model when there is none yet.
    The ids go in messages of at most RESCORE_CHUNK_SIZE (a bulk import stays many small
    messages, each one forward pass)."""

    size = max(1, int(settings.TAXOLOOP["RESCORE_CHUNK_SIZE"]))
    for version in TaxonomyVersion.objects.filter(is_current=True):
        active = ml.active_model_version(version)
        if active is not None:
            for start in range(0, len(item_ids), size):
                dispatch.enqueue_now(
                    "rescore_items_task", active.pk, item_ids[start : start + size]
                )
        # Labels on items that had no embedding could not be trained on until now; without an
        # active model this builds the cold-start one (which then scores every item).
        training.training_periodic(version)


@shared_task(acks_late=True)
def rescore_items_task(model_version_id: int, item_ids: list[int]) -> int:
    """Score a few new items with the active model, then ask for a queue refresh: one
    ``queue_refresh_task`` a few seconds later serves every item scored meanwhile."""
    model = (
        ModelVersion.objects.select_related("taxonomy_version").filter(pk=model_version_id).first()
    )
    if model is None or model.status != ModelVersion.Status.ACTIVE:
        return 0
    written = scoring.rescore(model, item_ids=item_ids)
    queue_refresh.queue_refresh_request(model.taxonomy_version)
    return written


@shared_task(bind=True, acks_late=True)
def queue_refresh_task(self: Task, version_id: int) -> dict[str, int] | None:
    """Rebuild the queue of a version if this task claims its stale flag (None: another
    refresh or a full rebuild took it first). A redelivered message rebuilds anyway: its
    first delivery's worker may have died after the claim. On a failure the flag is set
    again, and beat sends the refresh again later."""
    version = TaxonomyVersion.objects.filter(pk=version_id).first()
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    if version is None or not (queue_refresh.queue_refresh_claim(version) or redelivered):
        return None
    try:
        return queue_build.rebuild_queue(version)
    except Exception:
        queue_refresh.queue_refresh_mark(version)
        raise


@shared_task(acks_late=True)
def train_model_task(run_id: int) -> str:
    """Execute one queued training run; returns its status."""
    if not TrainingRun.objects.filter(pk=run_id).exists():
        log.warning("training run %s does not exist (deleted?); nothing to do", run_id)
        return "missing"
    run = training.training_run(run_id)
    log.info("training run %s: %s %s", run.pk, run.status, run.outcome)
    return run.status


@shared_task(acks_late=True)
def find_label_errors_task(version_id: int, run_id: int | None = None) -> int | None:
    """After a training run: judge the version's labels out of fold and store the suspected
    label errors (``label_issues_refresh``), then ask for a queue refresh so they reach
    re-review; at most once per ``LABEL_ERRORS_EVERY_MINUTES`` (60) and version. Returns the flags stored (None: skipped, or the version is gone or no longer
    current). A redelivery computes the same flags again."""
    version = TaxonomyVersion.objects.filter(pk=version_id, is_current=True).first()
    if version is None:
        return None
    if not label_issues.label_issues_due(version=version):
        return None  # a recent pass: five fits per training would hog the worker
    run = TrainingRun.objects.filter(pk=run_id).first() if run_id is not None else None
    outcome = label_issues.label_issues_refresh(version=version, training_run=run)
    if outcome.scan is None:
        return None
    queue_refresh.queue_refresh_request(version)
    return outcome.flags


@shared_task(bind=True, acks_late=True, max_retries=5)
def rescore_task(self: Task, model_version_id: int) -> int:
    """Score every item with an active model, then rebuild the review queue: a job of shards
    (item id ranges); one shard runs here, several go to the workers as ``rescore_shard_task``
    and the last one to finish rebuilds the queue. Returns the predictions written here."""
    model = (
        ModelVersion.objects.select_related("taxonomy_version").filter(pk=model_version_id).first()
    )
    if model is None or model.status != ModelVersion.Status.ACTIVE:
        log.info("model %s is not active any more; its rescore is skipped", model_version_id)
        return 0
    try:
        return rescore_jobs.rescore_job_start(
            model_version=model, task_id=self.request.id, worker=self.request.hostname or ""
        )
    except (
        rescore_jobs.RescoreJobError
    ) as exc:  # the broker refused some shards: same job, sent again
        raise self.retry(exc=exc, countdown=RESCORE_RETRY_SECONDS) from exc


@shared_task(bind=True, acks_late=True)
def rescore_shard_task(self: Task, shard_id: int) -> int:
    """Score one shard of a rescore job (a no-op when it is done already); the job's last
    shard rebuilds the queue. Returns the predictions written."""
    outcome = rescore_jobs.rescore_shard_run(shard_id=shard_id, worker=self.request.hostname or "")
    log.info("rescore shard %s: %s, %d written", shard_id, outcome.status, outcome.written)
    return outcome.written


@shared_task(acks_late=True)
def reap_stale_runs_task() -> int:
    """Fail training runs whose worker stopped sending heartbeats, and send again the rescore
    shards whose worker stopped making progress; returns the runs failed."""
    reaped = training.training_runs_reap()
    if reaped:
        log.warning("marked %d stale training runs failed", reaped)
    resent = rescore_jobs.rescore_shards_resend_stale()
    if resent:
        log.warning("rescore shards %s made no progress (worker gone?); sent again", resent)
    return reaped


@shared_task(acks_late=True)
def periodic_training_task() -> list[int]:
    """Beat: train every current taxonomy version that has labels its last training missed."""
    return _request_for_current_versions(training.training_periodic)


@shared_task(acks_late=True)
def train_waiting_labels_task() -> list[int]:
    """Beat, every minute: train every current taxonomy version whose oldest unseen label has
    waited TRAIN_MAX_LABEL_WAIT_SECONDS (the bounded wait; cheap when there is nothing to do)."""
    return _request_for_current_versions(triggers.training_for_waiting_labels)


@shared_task(acks_late=True)
def reliability_refresh_task() -> int:
    """Beat, hourly: estimate every reviewer's reliability from the working taxonomy version's
    answers (training runs refresh it too, when the ledger moved); returns the reviewers."""
    version = current_version()
    if version is None:
        return 0
    return len(reliability.reliability_refresh(version=version))
