"""When to train: coalesced requests, the label counter, the bounded wait and the periodic
(beat) trigger.

Light on purpose (no torch, no classifier import): the label services call
``labels_added`` after every save, in the web process, and beat calls
``training_for_waiting_labels`` every minute.

One training per taxonomy version at a time: the database is the lock (the partial unique
constraint ``trainingrun_one_in_flight``), so a request while one is queued or running
inserts nothing and is coalesced into it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone

from labeling.models import Label, ModelVersion, TaxonomyVersion, TrainingRun
from labeling.services import dispatch

log = logging.getLogger(__name__)

# A run still queued this long after its request may have lost its message (broker down).
QUEUED_RESEND_SECONDS = 60


def training_request(
    version: TaxonomyVersion, *, trigger: str, enqueue: bool = True
) -> TrainingRun | None:
    """Queue a training of ``version``; None when one is already queued or running (coalesced).

    The task is sent after the transaction commits (unless ``enqueue`` is False: the caller
    runs it, like ``manage.py train``); when the broker is down the run stays queued and the
    periodic task sends it again.
    """
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(taxonomy_version=version, trigger=trigger)
    except IntegrityError:
        log.info(
            "training of version %s already in flight; %s trigger coalesced", version.pk, trigger
        )
        return None
    if enqueue:
        dispatch.enqueue_on_commit("train_model_task", run.pk)
    return run


# Per process: when it last counted a version's labels (``labels_added``'s gate).
_last_count: dict[int, float] = {}


def labels_added(version: TaxonomyVersion) -> TrainingRun | None:
    """Request a training when TRAIN_EVERY_N_LABELS ledger rows (labels, retractions) arrived
    since the last training; meant for ``transaction.on_commit`` after a label is saved.
    Counted since the newest label the last *finished* training saw (promoted or not), so a
    rejected candidate does not retrain on the same labels after every new one. After a
    failed run it waits TRAIN_EVERY_MINUTES, so a broken setup does not train per label.

    A web process counts at most once per TRAIN_CHECK_INTERVAL_SECONDS (1 s) and version:
    the four queries were a sixth of a review decision's time with 20 reviewers at work
    (benchmarks/bench_review.py). A label saved within the interval is counted by the next
    one, or by beat's bounded wait (``training_for_waiting_labels``) if none comes.
    """
    every = int(settings.TAXOLOOP["TRAIN_EVERY_N_LABELS"])
    if every <= 0 or not _count_due(version):
        return None
    if _in_flight(version) or _recently_failed(version):
        return None
    if _labels_since_training(version, limit=every) < every:
        return None
    return training_request(version, trigger="labels")


def _count_due(version: TaxonomyVersion) -> bool:
    interval = float(settings.TAXOLOOP.get("TRAIN_CHECK_INTERVAL_SECONDS", 1.0))
    now = time.monotonic()
    if interval > 0 and now - _last_count.get(version.pk, -interval) < interval:
        return False
    _last_count[version.pk] = now
    return True


def training_for_waiting_labels(version: TaxonomyVersion) -> TrainingRun | None:
    """Beat's bounded wait (every minute): request a training when the oldest ledger row the
    last finished training has not seen is older than TRAIN_MAX_LABEL_WAIT_SECONDS (0: off).

    Without it a lone label waits for TRAIN_EVERY_N_LABELS more or for the 10-minute beat;
    with it every label is in a training within the wait plus one minute. Runs whose message
    may be lost are re-sent first, so a broker outage costs about a minute, not ten. The
    failed-run back-off applies, as for the label counter.
    """
    wait = int(settings.TAXOLOOP["TRAIN_MAX_LABEL_WAIT_SECONDS"])
    if wait <= 0:
        return None
    _resend_lost_runs(version)
    if _in_flight(version) or _recently_failed(version):
        return None
    oldest = _oldest_unseen_label_at(version)
    if oldest is None or timezone.now() - oldest < timedelta(seconds=wait):
        return None
    return training_request(version, trigger="label-wait")


def training_periodic(version: TaxonomyVersion) -> TrainingRun | None:
    """Beat's entry: re-send queued runs whose message may be lost, and train when there is no
    active model or there are labels the last training has not seen."""
    _resend_lost_runs(version)
    active = ModelVersion.objects.filter(
        taxonomy_version=version, status=ModelVersion.Status.ACTIVE
    )
    if active.exists() and not _labels_since_training(version):
        return None
    return training_request(version, trigger="beat")


def _resend_lost_runs(version: TaxonomyVersion) -> None:
    """Send again the runs still queued QUEUED_RESEND_SECONDS after their request: the broker
    may have been down. A duplicate message is harmless (a run is claimed once)."""
    cutoff = timezone.now() - timedelta(seconds=QUEUED_RESEND_SECONDS)
    for run_id in TrainingRun.objects.filter(
        taxonomy_version=version, status=TrainingRun.Status.QUEUED, created_at__lt=cutoff
    ).values_list("pk", flat=True):
        dispatch.enqueue_now("train_model_task", run_id)


def _in_flight(version: TaxonomyVersion) -> bool:
    return TrainingRun.objects.filter(
        taxonomy_version=version, status__in=[TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]
    ).exists()


def _recently_failed(version: TaxonomyVersion) -> bool:
    last = TrainingRun.objects.filter(taxonomy_version=version).order_by("-created_at").first()
    if last is None or last.status != TrainingRun.Status.FAILED or last.finished_at is None:
        return False
    wait = timedelta(minutes=settings.TAXOLOOP["TRAIN_EVERY_MINUTES"])
    return timezone.now() - last.finished_at < wait


def _labels_since_training(version: TaxonomyVersion, limit: int | None = None) -> int:
    """Ledger rows the last finished training has not seen (counting stops at ``limit``: a
    label save only needs to know whether there are enough, not how many)."""
    since = ModelVersion.objects.filter(
        taxonomy_version=version, training_runs__status=TrainingRun.Status.SUCCEEDED
    ).aggregate(t=Max("newest_label_at"))["t"]
    labels = Label.objects.filter(taxonomy_version=version)
    labels = labels.filter(created_at__gt=since) if since else labels
    if limit is not None:
        return labels.values("pk")[:limit].count()
    return labels.count()


def _oldest_unseen_label_at(version: TaxonomyVersion) -> datetime | None:
    """When the oldest ledger row saved after the last finished training began was saved.

    A finished run saw every row saved before it started, even rows it could not use (too
    few labels, an item without an embedding yet): counting those as unseen would train
    every minute until they became usable. ``training_periodic``, which the embedding task
    calls, still picks up labels whose items have just been embedded.
    """
    last = (
        TrainingRun.objects.filter(
            taxonomy_version=version,
            status=TrainingRun.Status.SUCCEEDED,
            started_at__isnull=False,
        )
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    labels = Label.objects.filter(taxonomy_version=version)
    if last is not None:
        labels = labels.filter(created_at__gte=last)
    oldest: datetime | None = labels.aggregate(t=Min("created_at"))["t"]
    return oldest
