"""Rescore jobs: one full rescore split into shards that several Celery workers share (issue 8).

A job is planned by ``rescore_task``: the items are cut into up to ``RESCORE_SHARDS``
contiguous id ranges of about equal size (each at least ``MIN_CHUNKS_PER_SHARD`` chunks, so a
small catalog stays one shard and runs right there, in the planning task). Each shard is one
``rescore_shard_task``; whichever worker takes it scores its range chunk by chunk
(``scoring.rescore(id_range=...)``).

There is no result backend in the embedded default, so no chord: the job row counts finished
shards, and the shard whose conditional UPDATE brings ``shards_finished`` to ``shard_count``
marks the job done and flags the queue stale in one transaction, then rebuilds the queue
outside it (a crash before the rebuild leaves the flag, and beat's queue refresh does it). Every step is
idempotent: a redelivered planner finds its job by the Celery task id and re-sends the shards
not done yet; a shard already done does nothing; a shard whose worker died (``running``) is
simply scored again. A job whose model stops being active stops: the newer model's own job
rescores the catalog and rebuilds the queue.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from labeling.models import Item, ModelVersion, RescoreJob, RescoreShard
from labeling.services import dispatch
from labeling.services.errors import ServiceError
from labeling.services.learning import auto_accept, scoring
from labeling.services.review import queue_build, queue_refresh

log = logging.getLogger(__name__)

BAD_SHARDS = "TAXOLOOP RESCORE_SHARDS must be a positive integer, got {value!r}."
NOT_SENT = "Rescore job #{job}: {failed} of {total} shard tasks could not be sent to the broker."
DEFAULT_SHARDS = 4
# A shard is at least this many chunks: below that, a task per shard costs more than it saves.
MIN_CHUNKS_PER_SHARD = 2
CLAIMABLE = (RescoreShard.Status.PENDING, RescoreShard.Status.RUNNING)
# Every training adds a job; finished ones older than this are deleted when a job is planned.
KEEP_JOBS_FOR = timedelta(days=7)


class RescoreJobError(ServiceError):
    pass


@dataclass(frozen=True)
class ShardOutcome:
    status: str  # the shard's status after this run (or "missing")
    written: int
    queue: dict[str, int] | None = None  # the queue's new entries when this shard was the last


@dataclass(frozen=True)
class JobProgress:
    status: str
    items_done: int
    item_count: int
    shards_finished: int
    shard_count: int

    @property
    def fraction(self) -> float:
        if self.status == RescoreJob.Status.DONE:
            return 1.0
        return min(1.0, self.items_done / self.item_count) if self.item_count else 0.0


# -- planning ---------------------------------------------------------------------------------


def shard_count(*, items: int, chunk_size: int, wanted: int | None = None) -> int:
    """How many shards ``items`` items make: up to ``wanted`` (default RESCORE_SHARDS), each
    at least ``MIN_CHUNKS_PER_SHARD`` chunks, at least one."""
    wanted = _wanted_shards() if wanted is None else wanted
    return max(1, min(wanted, items // (MIN_CHUNKS_PER_SHARD * chunk_size)))


def shard_ranges(starts: Sequence[int]) -> list[tuple[int | None, int | None]]:
    """``[first, stop)`` item id ranges from the first id of every shard but the first. The
    ends are open, so items added while the job runs still fall into a shard."""
    bounds: list[int | None] = [None, *starts, None]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def rescore_job_plan(
    *, model_version: ModelVersion, task_id: str | None = None, chunk_size: int | None = None
) -> RescoreJob:
    """The job of ``model_version`` that the task ``task_id`` planned (a redelivery finds the
    first delivery's job), else a new one with its shards, all pending."""
    if task_id:
        existing = RescoreJob.objects.filter(task_id=task_id).first()
        if existing is not None:
            return existing
    _forget_old_jobs()
    items = Item.objects.count()
    n = shard_count(items=items, chunk_size=_chunk_size(chunk_size))
    ranges = shard_ranges(_shard_starts(items, n))
    try:
        with transaction.atomic():
            job = RescoreJob.objects.create(
                model_version=model_version, task_id=task_id, shard_count=n, item_count=items
            )
            RescoreShard.objects.bulk_create(
                RescoreShard(job=job, number=i, first_item_id=first, stop_item_id=stop)
                for i, (first, stop) in enumerate(ranges)
            )
    except IntegrityError:  # two deliveries of one planner at once: the other one won
        return RescoreJob.objects.get(task_id=task_id)
    return job


def _forget_old_jobs() -> None:
    RescoreJob.objects.filter(
        created_at__lt=timezone.now() - KEEP_JOBS_FOR, finished_at__isnull=False
    ).delete()


def _shard_starts(items: int, n: int) -> list[int]:
    """The first item id of shards 2..n: equal item counts, whatever gaps the ids have."""
    ordered = Item.objects.order_by("pk").values_list("pk", flat=True)
    return [int(ordered[k * items // n]) for k in range(1, n)]


def _wanted_shards() -> int:
    value = settings.TAXOLOOP.get("RESCORE_SHARDS", DEFAULT_SHARDS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RescoreJobError(BAD_SHARDS.format(value=value))
    return value


def _chunk_size(value: int | None) -> int:
    """The rescore's chunk size, only to size the shards: ``scoring.rescore`` validates it
    and says what is wrong (an invalid one gives one shard here, so it says it once)."""
    size = settings.TAXOLOOP["RESCORE_CHUNK_SIZE"] if value is None else value
    valid = isinstance(size, int) and not isinstance(size, bool) and size > 0
    return size if valid else 2**62


# -- running ----------------------------------------------------------------------------------


def rescore_job_start(*, model_version: ModelVersion, task_id: str | None, worker: str) -> int:
    """Plan (or find) the job and start it: a one-shard job runs here and now, a bigger one
    is sent to the workers, one task per shard not done yet. Returns the predictions written
    here (0 when the shards went to the workers)."""
    job = rescore_job_plan(model_version=model_version, task_id=task_id)
    if not job.shards.exclude(status=RescoreShard.Status.PENDING).exists():
        _certify(model_version)  # once per job, before any shard applies the policy
    pending = list(job.shards.filter(status__in=CLAIMABLE).values_list("pk", flat=True))
    if job.shard_count == 1:
        return sum(rescore_shard_run(shard_id=pk, worker=worker).written for pk in pending)
    failed = sum(not dispatch.enqueue_now("rescore_shard_task", pk) for pk in pending)
    if failed:
        raise RescoreJobError(NOT_SENT.format(job=job.pk, failed=failed, total=len(pending)))
    log.info("rescore job #%s of model %s: %d shards sent", job.pk, model_version.pk, len(pending))
    return 0


def _certify(model_version: ModelVersion) -> None:
    """Certify the auto-accept policy the job's shards apply. A failure is logged and the
    rescore goes on with the model's last certification (or none: nothing auto-accepted)."""
    try:
        auto_accept.certify(model_version)
    except Exception:  # the catalog's predictions matter more than their status
        log.exception("auto-accept certification of model %s failed", model_version.pk)


def rescore_shard_run(*, shard_id: int, worker: str = "") -> ShardOutcome:
    """Score one shard's items, then count it done; the last shard of the job rebuilds the
    queue. A shard already done or stopped does nothing (a redelivered or duplicate task)."""

    shard = RescoreShard.objects.select_related("job__model_version").filter(pk=shard_id).first()
    if shard is None:
        return ShardOutcome("missing", 0)
    if not _claim(shard, worker):
        log.info("%s: nothing to do", shard)
        return ShardOutcome(shard.status, 0)
    model = shard.job.model_version
    written = 0
    if _is_active(model):
        written = scoring.rescore(
            model,
            id_range=(shard.first_item_id, shard.stop_item_id),
            progress=lambda done, _total: _progress(shard, done),
        )
    if not _is_active(model):
        return _stop(shard, written)
    return _finish(shard, written)


def _claim(shard: RescoreShard, worker: str) -> bool:
    """Mark the shard running (again, when its last worker died); False when it is done or
    stopped already."""
    return bool(
        RescoreShard.objects.filter(pk=shard.pk, status__in=CLAIMABLE).update(
            status=RescoreShard.Status.RUNNING,
            worker=worker[:255],
            attempts=F("attempts") + 1,
            started_at=timezone.now(),
            progress_at=timezone.now(),
            items_done=0,
        )
    )


def _is_active(model: ModelVersion) -> bool:
    model.refresh_from_db(fields=["status"])
    return model.status == ModelVersion.Status.ACTIVE


def _progress(shard: RescoreShard, done: int) -> None:
    RescoreShard.objects.filter(pk=shard.pk).update(items_done=done, progress_at=timezone.now())


def rescore_shards_resend_stale(*, now: datetime | None = None) -> list[int]:
    """Send again every shard of a running job that has made no progress for
    ``STALE_SHARD_SECONDS``: running (its worker died: Redis would redeliver its message only
    after the visibility timeout, an hour), or sent again before and still not claimed (the
    send failed: broker down). Returns their ids.

    Each is first put back to pending, its clock restarted, by a conditional UPDATE, so two
    beats never send one twice and a shard is sent at most once per period. A shard that was
    only slow is scored twice at worst: predictions are upserts, and ``_finish`` counts a shard
    done once. A last shard rebuilding the queue holds its row lock until its transaction
    commits; this UPDATE waits for it and then finds the shard done.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=int(settings.TAXOLOOP["STALE_SHARD_SECONDS"]))
    stale = RescoreShard.objects.filter(status__in=CLAIMABLE, progress_at__lt=cutoff)
    running_jobs = stale.filter(job__status=RescoreJob.Status.RUNNING).order_by("pk")
    sent = []
    for pk in running_jobs.values_list("pk", flat=True):
        reset = stale.filter(pk=pk).update(status=RescoreShard.Status.PENDING, progress_at=now)
        if reset:
            dispatch.enqueue_now("rescore_shard_task", pk)
            sent.append(pk)
    return sent


def _stop(shard: RescoreShard, written: int) -> ShardOutcome:
    now = timezone.now()
    with transaction.atomic():
        RescoreShard.objects.filter(pk=shard.pk).update(
            status=RescoreShard.Status.STOPPED, written=written, finished_at=now
        )
        RescoreJob.objects.filter(pk=shard.job_id, status=RescoreJob.Status.RUNNING).update(
            status=RescoreJob.Status.STOPPED, finished_at=now
        )
    log.info("%s stopped: model %s is no longer active", shard, shard.job.model_version_id)
    return ShardOutcome(RescoreShard.Status.STOPPED, written)


def _finish(shard: RescoreShard, written: int) -> ShardOutcome:
    """Count the shard done and, when it is the job's last, rebuild the queue.

    Marking the job done and flagging its queue stale is one short transaction; the rebuild
    (reads and array work, seconds on a large catalog) runs after it, outside. Inside, it held
    the database's write lock all along, and on SQLite, which has one writer, a reviewer's
    decision waited on it (issue 14). The flag makes the rebuild safe to lose: a worker that
    dies before it leaves the flag set, and beat sends a queue refresh for it
    (``queue_refresh.queue_refresh_resend_stale``); ``rebuild_queue`` clears it."""

    now = timezone.now()
    job = RescoreJob.objects.filter(pk=shard.job_id)
    with transaction.atomic():
        if (
            RescoreShard.objects.filter(pk=shard.pk)
            .exclude(status=RescoreShard.Status.DONE)
            .update(status=RescoreShard.Status.DONE, written=written, finished_at=now)
        ):
            # Row lock on the job: concurrent last shards count one after the other.
            job.update(shards_finished=F("shards_finished") + 1)
        last = job.filter(
            status=RescoreJob.Status.RUNNING, shards_finished=F("shard_count")
        ).update(status=RescoreJob.Status.DONE, finished_at=now)
        if not last:
            return ShardOutcome(RescoreShard.Status.DONE, written)
        model = shard.job.model_version
        queue_refresh.queue_refresh_mark(model.taxonomy_version)
    queue = queue_build.rebuild_queue(model.taxonomy_version)
    job.update(queue=queue, finished_at=timezone.now())
    auto_accept.catalog_snapshot(model)
    log.info("rescore job #%s done: model %s; queue %s", shard.job_id, model.pk, queue)
    return ShardOutcome(RescoreShard.Status.DONE, written, queue)


# -- progress ---------------------------------------------------------------------------------


def rescore_job_progress(job: RescoreJob) -> JobProgress:
    """Items scored so far over all shards (each shard counts after every chunk)."""
    job.refresh_from_db()
    done = job.shards.aggregate(n=Sum("items_done"))["n"] or 0
    return JobProgress(job.status, done, job.item_count, job.shards_finished, job.shard_count)


def rescore_progress_latest(*, model_version: ModelVersion) -> JobProgress | None:
    """The progress of the newest rescore job of ``model_version`` (None: never rescored)."""
    job = model_version.rescore_jobs.order_by("-created_at", "-id").first()
    return None if job is None else rescore_job_progress(job)
