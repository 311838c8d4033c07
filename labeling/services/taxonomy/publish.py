"""Publish a draft: it becomes the current version and every current label moves to it.

One transaction, step by step (each step's seconds are in ``PublishResult.timings``):
the mapping (``publish_mapping.category_mapping``: where each category's labels go) is
stored as ``CategoryMapping`` rows; every item whose current label is on the old version
gets a new ledger row on the new version (source ``migration``, ``migrated_from`` and
``supersedes`` = the old label), written with one ``INSERT … SELECT`` and one
``UPDATE … FROM`` so a million labels stay a database job rather than a Python loop; the
items of split categories go to the ``re-review`` queue; then the draft becomes current and
a training is requested. The old labels stay in the ledger untouched; ``rollback`` undoes a
publish.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from labeling.models import (
    CategoryMapping,
    Item,
    Label,
    QueueEntry,
    Taxonomy,
    TaxonomyVersion,
    TrainingRun,
)
from labeling.services.learning.triggers import training_request
from labeling.services.review.disagreement import disagreement_refresh
from labeling.services.rules.carry import rules_carry
from labeling.services.taxonomy.publish_mapping import (
    MappingRow,
    TaxonomyPublishError,
    category_mapping,
    draft_base,
)

NOT_A_DRAFT = "Version v{number} is {status}, not a draft: only a draft can be published."
BASE_NOT_CURRENT = (
    "Draft v{number} was started from v{base}, but the current version is now v{current}; "
    "start a new draft from the current version."
)
MIGRATION_NOTE = "migrated on publish of v{number}: "


@dataclass(frozen=True)
class PublishResult:
    version: TaxonomyVersion
    previous: TaxonomyVersion
    migrated: int
    re_review: int
    mappings: int
    training_run: TrainingRun | None = None
    # Seconds per step (mapping, labels, items, re-review, switch, training): a publish of a
    # large catalog must say where its time went.
    timings: dict[str, float] = field(default_factory=dict)


@transaction.atomic
def taxonomy_publish(*, draft: TaxonomyVersion, author: AbstractBaseUser | None) -> PublishResult:
    """Make ``draft`` current and migrate every current label to it (module docstring)."""
    Taxonomy.objects.select_for_update().get(pk=draft.taxonomy_id)  # one publish at a time
    draft.refresh_from_db()
    if draft.status != TaxonomyVersion.Status.DRAFT:
        raise TaxonomyPublishError(NOT_A_DRAFT.format(number=draft.number, status=draft.status))
    base = draft_base(draft)
    _check_base_current(draft, base)
    timings: dict[str, float] = {}
    with _step(timings, "mapping"):
        mapping = category_mapping(draft=draft)
        _mapping_store(draft, mapping)
    # Rules (issue 17) follow the version, their categories mapped like labels; a rule naming
    # a category the draft removed is carried switched off, with the reason (rules.carry).
    with _step(timings, "rules"):
        rules_carry(base=base, draft=draft, mapping=mapping)
    with _step(timings, "labels"):
        migrated = _migrate_labels(base=base, draft=draft)
    with _step(timings, "items"):
        _point_items_at_migrated(draft=draft)
        disagreement_refresh(version_id=draft.pk)
    with _step(timings, "re-review"):
        split_ids = {m.new_id for m in mapping if m.re_review}
        queued = _queue_split_items(draft=draft, split_ids=split_ids)
    with _step(timings, "switch and training"):
        _switch_current(old=base, new=draft)
        run = training_request(draft, trigger="publish")
    return PublishResult(draft, base, migrated, queued, len(mapping), run, timings)


@contextmanager
def _step(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - started, 3)


def _check_base_current(draft: TaxonomyVersion, base: TaxonomyVersion) -> None:
    if not base.is_current:
        current = TaxonomyVersion.objects.filter(
            taxonomy=draft.taxonomy_id, is_current=True
        ).first()
        raise TaxonomyPublishError(
            BASE_NOT_CURRENT.format(
                number=draft.number, base=base.number, current=current.number if current else "—"
            )
        )


def _mapping_store(draft: TaxonomyVersion, mapping: list[MappingRow]) -> None:
    CategoryMapping.objects.bulk_create(
        [
            CategoryMapping(
                new_version=draft,
                old_category_id=m.old_id,
                new_category_id=m.new_id,
                kind=m.kind,
                re_review=m.re_review,
            )
            for m in mapping
        ],
        batch_size=2000,
    )
    if connection.vendor == "postgresql":
        # Fresh statistics for the label migration's join: without them the planner expects a
        # handful of mapping rows and joins a million labels by nested loops (publish of 1M
        # labels: several times slower).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {CategoryMapping._meta.db_table}")


def _migrate_labels(*, base: TaxonomyVersion, draft: TaxonomyVersion) -> int:
    """One ledger row per item whose current label is on ``base``; the number written."""
    table, item_table, map_table = (
        Label._meta.db_table,
        Item._meta.db_table,
        CategoryMapping._meta.db_table,
    )
    sql = f"""
        INSERT INTO {table} (item_id, kind, category_id, taxonomy_version_id, author_id, source,
            model_version_id, prediction_shown, supersedes_id, retracts_id, migrated_from_id,
            is_audit, context, note, idempotency_key, created_at)
        SELECT l.item_id, 'label', m.new_category_id, %s, NULL, 'migration', NULL, '{{}}', l.id,
            NULL, l.id, l.is_audit, l.context, %s || m.kind, NULL, %s
        FROM {item_table} i
        JOIN {table} l ON l.id = i.current_label_id
        JOIN {map_table} m ON m.old_category_id = l.category_id AND m.new_version_id = %s
        WHERE l.taxonomy_version_id = %s"""
    params = [draft.pk, MIGRATION_NOTE.format(number=draft.number), sql_now(), draft.pk, base.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def sql_now() -> Any:
    """Now, adapted for a raw query on this backend (aware on PostgreSQL, text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _point_items_at_migrated(*, draft: TaxonomyVersion) -> int:
    table, item_table = Label._meta.db_table, Item._meta.db_table
    sql = f"""
        UPDATE {item_table} SET current_label_id = l.id
        FROM {table} l
        WHERE l.migrated_from_id = {item_table}.current_label_id
          AND l.taxonomy_version_id = %s AND l.source = 'migration' AND l.kind = 'label'"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [draft.pk])
        return cursor.rowcount


def _queue_split_items(*, draft: TaxonomyVersion, split_ids: set[int]) -> int:
    """Put the items labelled with a split category on the queue as ``re-review``.

    Ranked by the old model's uncertainty about the item (1 − confidence of its prediction;
    1 when there is none): the new children have no model yet, and the items the model was
    least sure of are the likeliest to belong to a different child. Priorities sit above 1,
    over the rebuilt queue's (0, 1], so the re-review comes first.
    """
    if not split_ids:
        return 0
    items = Item.objects.filter(
        current_label__taxonomy_version=draft, current_label__category_id__in=split_ids
    )
    rows = list(
        items.values_list(
            "pk",
            "current_label__category_id",
            "current_label__category__path",
            "prediction__confidence",
        )
    )
    QueueEntry.objects.filter(item__in=items).delete()
    QueueEntry.objects.bulk_create(
        [
            QueueEntry(
                item_id=pk,
                reason=QueueEntry.Reason.RE_REVIEW,
                priority=1.0 + (1.0 - confidence if confidence is not None else 1.0),
                detail={"publish": draft.pk, "split": category_id, "path": path},
            )
            for pk, category_id, path, confidence in rows
        ],
        batch_size=1000,
    )
    return len(rows)


def _switch_current(*, old: TaxonomyVersion, new: TaxonomyVersion) -> None:
    # Clear the old flag first: at most one current version per taxonomy (a constraint).
    TaxonomyVersion.objects.filter(pk=old.pk).update(
        is_current=False, status=TaxonomyVersion.Status.RETIRED
    )
    TaxonomyVersion.objects.filter(pk=new.pk).update(
        is_current=True, status=TaxonomyVersion.Status.PUBLISHED, published_at=timezone.now()
    )
    old.refresh_from_db()
    new.refresh_from_db()
