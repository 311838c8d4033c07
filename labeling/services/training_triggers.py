"""When to train: coalesced requests, the label counter and the periodic (beat) trigger.

Light on purpose (no torch, no classifier import): the label services call
``labels_added`` after every save, in the web process.

One training per taxonomy version at a time: the database is the lock (the partial unique
constraint ``trainingrun_one_in_flight``), so a request while one is queued or running
inserts nothing and is coalesced into it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
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


def labels_added(version: TaxonomyVersion) -> TrainingRun | None:
    """Request a training when TRAIN_EVERY_N_LABELS ledger rows (labels, retractions) arrived
    since the last training; meant for ``transaction.on_commit`` after a label is saved.

    Counted since the newest label the last *finished* training saw (promoted or not), so a
    rejected candidate does not retrain on the same labels after every new one. After a
    failed run it waits TRAIN_EVERY_MINUTES, so a broken setup does not train per label.
    """
    every = int(settings.TAXOLOOP["TRAIN_EVERY_N_LABELS"])
    if every <= 0 or _in_flight(version) or _recently_failed(version):
        return None
    if _labels_since_training(version, limit=every) < every:
        return None
    return training_request(version, trigger="labels")


def training_periodic(version: TaxonomyVersion) -> TrainingRun | None:
    """Beat's entry: re-send queued runs whose message may be lost, and train when there is no
    active model or there are labels the last training has not seen."""
    cutoff = timezone.now() - timedelta(seconds=QUEUED_RESEND_SECONDS)
    for run_id in TrainingRun.objects.filter(
        taxonomy_version=version, status=TrainingRun.Status.QUEUED, created_at__lt=cutoff
    ).values_list("pk", flat=True):
        dispatch.enqueue_now("train_model_task", run_id)
    active = ModelVersion.objects.filter(
        taxonomy_version=version, status=ModelVersion.Status.ACTIVE
    )
    if active.exists() and not _labels_since_training(version):
        return None
    return training_request(version, trigger="beat")


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
