"""Roll a publish back: the version it was published from is current again.

Allowed while the published version has no ledger rows but its migration labels: each
migration label is retracted (a retraction row: the ledger is append-only), items point at
their old labels again, the publish's re-review entries are dropped, and the previous
version is current again. The version's trainings stop with it: queued or running runs are
failed as cancelled (a worker still training finds its run no longer running at its next
heartbeat or at promotion, which re-checks the run under a row lock), unfinished models are
rejected, and a model already promoted is retired, the previous version's active model
rescoring the catalog so predictions name current categories again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from labeling.models import (
    Item,
    Label,
    ModelVersion,
    QueueEntry,
    Taxonomy,
    TaxonomyVersion,
    TrainingRun,
)
from labeling.services import dispatch
from labeling.services.review.disagreement import disagreement_refresh
from labeling.services.taxonomy.publish import sql_now
from labeling.services.taxonomy.publish_mapping import TaxonomyPublishError

ROLLBACK_NOT_CURRENT = "Only the current version can be rolled back; v{number} is not current."
ROLLBACK_NO_PREVIOUS = "v{number} was not published from an earlier version; nothing to go back to."
ROLLBACK_HAS_LABELS = (
    "v{number} already has {count} new ledger row(s) since it was published; rolling back "
    "would strand them. Publish a corrected draft instead."
)
ROLLBACK_NOTE = "rollback of v{number}"
TRAINING_CANCELLED = "cancelled: v{number} was rolled back to v{previous}"


@dataclass(frozen=True)
class RollbackResult:
    version: TaxonomyVersion
    current: TaxonomyVersion
    retracted: int
    restored: int
    dropped_from_queue: int
    cancelled_trainings: int = 0


def rollback_blockers(*, version: TaxonomyVersion) -> int:
    """Ledger rows on ``version`` other than its migration labels (0: rollback is possible)."""
    return (
        Label.objects.filter(taxonomy_version=version)
        .exclude(kind=Label.Kind.LABEL, source=Label.Source.MIGRATION)
        .count()
    )


@transaction.atomic
def taxonomy_rollback(
    *, version: TaxonomyVersion, author: AbstractBaseUser | None
) -> RollbackResult:
    """Make the version ``version`` was published from current again (module docstring)."""
    Taxonomy.objects.select_for_update().get(pk=version.taxonomy_id)
    version.refresh_from_db()
    if not version.is_current:
        raise TaxonomyPublishError(ROLLBACK_NOT_CURRENT.format(number=version.number))
    if version.based_on_id is None:
        raise TaxonomyPublishError(ROLLBACK_NO_PREVIOUS.format(number=version.number))
    blockers = rollback_blockers(version=version)
    if blockers:
        raise TaxonomyPublishError(
            ROLLBACK_HAS_LABELS.format(number=version.number, count=blockers)
        )
    previous = TaxonomyVersion.objects.get(pk=version.based_on_id)
    retracted = _retract_migrations(version=version, author=author)
    restored = _point_items_back(version=version)
    disagreement_refresh(version_id=previous.pk)
    dropped, _ = QueueEntry.objects.filter(
        reason=QueueEntry.Reason.RE_REVIEW, detail__publish=version.pk
    ).delete()
    TaxonomyVersion.objects.filter(pk=version.pk).update(
        is_current=False, status=TaxonomyVersion.Status.RETIRED
    )
    TaxonomyVersion.objects.filter(pk=previous.pk).update(
        is_current=True, status=TaxonomyVersion.Status.PUBLISHED
    )
    cancelled = _trainings_cancel(version=version, previous=previous)
    version.refresh_from_db()
    previous.refresh_from_db()
    return RollbackResult(version, previous, retracted, restored, dropped, cancelled)


def _trainings_cancel(*, version: TaxonomyVersion, previous: TaxonomyVersion) -> int:
    """Stop everything training ``version`` (module docstring); the runs cancelled.

    The runs are locked first: a run in the middle of its promotion holds its row, so this
    waits for it and then sees it finished, and its model is retired below.
    """
    in_flight = [TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING]
    run_ids = list(
        TrainingRun.objects.select_for_update()
        .filter(taxonomy_version=version, status__in=in_flight)
        .values_list("pk", flat=True)
    )
    reason = TRAINING_CANCELLED.format(number=version.number, previous=previous.number)
    TrainingRun.objects.filter(pk__in=run_ids).update(
        status=TrainingRun.Status.FAILED, error=reason, outcome=reason, finished_at=timezone.now()
    )
    models = ModelVersion.objects.filter(taxonomy_version=version)
    models.filter(status__in=[ModelVersion.Status.TRAINING, ModelVersion.Status.CANDIDATE]).update(
        status=ModelVersion.Status.REJECTED
    )
    if models.filter(status=ModelVersion.Status.ACTIVE).update(status=ModelVersion.Status.RETIRED):
        _rescore_with_active(previous)
    return len(run_ids)


def _rescore_with_active(version: TaxonomyVersion) -> None:
    """Predictions name the retired model's categories: the active model of ``version``
    writes them again (without one, the next training's cold start does)."""
    active = ModelVersion.objects.filter(
        taxonomy_version=version, status=ModelVersion.Status.ACTIVE
    ).first()
    if active is not None:
        dispatch.enqueue_on_commit("rescore_task", active.pk)


def _retract_migrations(*, version: TaxonomyVersion, author: AbstractBaseUser | None) -> int:
    table = Label._meta.db_table
    sql = f"""
        INSERT INTO {table} (item_id, kind, category_id, taxonomy_version_id, author_id, source,
            model_version_id, prediction_shown, supersedes_id, retracts_id, migrated_from_id,
            is_audit, context, note, idempotency_key, created_at)
        SELECT l.item_id, 'retraction', NULL, l.taxonomy_version_id, %s, 'migration', NULL,
            '{{}}', NULL, l.id, NULL, FALSE, '', %s, NULL, %s
        FROM {table} l
        WHERE l.taxonomy_version_id = %s AND l.kind = 'label' AND l.source = 'migration'"""
    params = [
        author.pk if author else None,
        ROLLBACK_NOTE.format(number=version.number),
        sql_now(),
        version.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _point_items_back(*, version: TaxonomyVersion) -> int:
    table, item_table = Label._meta.db_table, Item._meta.db_table
    sql = f"""
        UPDATE {item_table} SET current_label_id = l.migrated_from_id
        FROM {table} l
        WHERE l.id = {item_table}.current_label_id
          AND l.taxonomy_version_id = %s AND l.source = 'migration' AND l.kind = 'label'"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [version.pk])
        return cursor.rowcount
