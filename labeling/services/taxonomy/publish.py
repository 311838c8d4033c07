"""Diff a draft against the current version, publish it, roll a publish back.

Mapping (``category_mapping``)
    Every category of the current version gets exactly one category of the draft:
    its own key when the draft keeps it (renamed, moved, edited or split: the key is the
    identity), the merge target when a merge removed it, and the nearest surviving ancestor
    when it is deprecated (labels roll up to the parent). A split category keeps its labels
    (now on an inner node: true, if coarse) and its items go to the ``re-review`` queue,
    because only a person can say which new child is right.

Publish (``taxonomy_publish``), one transaction
    The mapping is stored (``CategoryMapping``); every item whose current label is on the
    old version gets a new ledger row on the new version (source ``migration``,
    ``migrated_from`` and ``supersedes`` = the old label), written with one
    ``INSERT … SELECT`` and one ``UPDATE … FROM`` so a million labels stay a database job
    rather than a Python loop; then the draft becomes current and a training is requested.
    The old labels stay in the ledger untouched.

Rollback (``taxonomy_rollback``)
    Allowed while the published version has no ledger rows but its migration labels: each
    migration label is retracted (a retraction row: the ledger is append-only), items point
    at their old labels again, the publish's re-review entries are dropped, and the previous
    version is current again. The version's trainings stop with it: queued or running runs
    are failed as cancelled (a worker still training finds its run no longer running at its
    next heartbeat or at promotion, which re-checks the run under a row lock), unfinished
    models are rejected, and a model already promoted is retired, the previous version's
    active model rescoring the catalog so predictions name current categories again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from labeling.models import (
    Category,
    CategoryMapping,
    Item,
    Label,
    ModelVersion,
    QueueEntry,
    Taxonomy,
    TaxonomyOperation,
    TaxonomyVersion,
    TrainingRun,
)
from labeling.services import dispatch
from labeling.services.errors import ServiceError
from labeling.services.learning.triggers import training_request
from labeling.services.review.disagreement import disagreement_refresh

NOT_A_DRAFT = "Version v{number} is {status}, not a draft: only a draft can be published."
NO_BASE = "Draft v{number} was not started from a version; start a draft from the current one."
BASE_NOT_CURRENT = (
    "Draft v{number} was started from v{base}, but the current version is now v{current}; "
    "start a new draft from the current version."
)
UNMAPPED = (
    "{path!r} is gone from the draft without a merge, and it has no parent to roll up to; "
    "merge it into another category instead."
)
ROLLBACK_NOT_CURRENT = "Only the current version can be rolled back; v{number} is not current."
ROLLBACK_NO_PREVIOUS = "v{number} was not published from an earlier version; nothing to go back to."
ROLLBACK_HAS_LABELS = (
    "v{number} already has {count} new ledger row(s) since it was published; rolling back "
    "would strand them. Publish a corrected draft instead."
)
MIGRATION_NOTE = "migrated on publish of v{number}: "
ROLLBACK_NOTE = "rollback of v{number}"
TRAINING_CANCELLED = "cancelled: v{number} was rolled back to v{previous}"


class TaxonomyPublishError(ServiceError):
    pass


@dataclass(frozen=True)
class MappingRow:
    old_id: int
    old_key: str
    old_path: str
    new_id: int
    new_path: str
    kind: str
    re_review: bool


@dataclass(frozen=True)
class DiffRow:
    kind: str  # added, renamed, moved, edited, merged, split, deprecated
    key: str
    path: str
    old_path: str = ""
    detail: str = ""
    labels: int = 0


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


@dataclass(frozen=True)
class RollbackResult:
    version: TaxonomyVersion
    current: TaxonomyVersion
    retracted: int
    restored: int
    dropped_from_queue: int
    cancelled_trainings: int = 0


# -- mapping ---------------------------------------------------------------------------------


@dataclass
class _Trees:
    base: dict[str, dict[str, Any]]
    draft: dict[str, dict[str, Any]]
    base_by_id: dict[int, dict[str, Any]]
    draft_by_id: dict[int, dict[str, Any]]
    merged: dict[str, str] = field(default_factory=dict)
    split: dict[str, list[str]] = field(default_factory=dict)


def _rows(version: TaxonomyVersion) -> list[dict[str, Any]]:
    return list(
        Category.objects.filter(version=version).values(
            "id", "key", "parent_id", "name", "path", "description", "synonyms", "deprecated"
        )
    )


def _trees(draft: TaxonomyVersion, base: TaxonomyVersion) -> _Trees:
    base_rows, draft_rows = _rows(base), _rows(draft)
    trees = _Trees(
        base={r["key"]: r for r in base_rows},
        draft={r["key"]: r for r in draft_rows},
        base_by_id={r["id"]: r for r in base_rows},
        draft_by_id={r["id"]: r for r in draft_rows},
    )
    for op in TaxonomyOperation.objects.filter(version=draft).order_by("id"):
        if op.kind == TaxonomyOperation.Kind.MERGE:
            trees.merged.update(op.payload.get("mapped") or {})
        elif op.kind == TaxonomyOperation.Kind.SPLIT:
            trees.split.setdefault(op.payload["key"], []).extend(op.payload.get("children", []))
    return trees


def _parent_key(rows_by_id: dict[int, dict[str, Any]], row: dict[str, Any]) -> str | None:
    parent = rows_by_id.get(row["parent_id"]) if row["parent_id"] else None
    return parent["key"] if parent else None


def category_mapping(*, draft: TaxonomyVersion) -> list[MappingRow]:
    """Where each category of the draft's base version goes in the draft (module docstring)."""
    base = _base_of(draft)
    trees = _trees(draft, base)
    memo: dict[str, tuple[dict[str, Any], str]] = {}
    return [
        _mapping_row(row, *_resolve(row["key"], trees, memo), trees)
        for row in sorted(trees.base.values(), key=lambda r: r["path"])
    ]


def _mapping_row(row: dict, target: dict, kind: str, trees: _Trees) -> MappingRow:
    return MappingRow(
        old_id=row["id"],
        old_key=row["key"],
        old_path=row["path"],
        new_id=target["id"],
        new_path=target["path"],
        kind=kind,
        re_review=kind == CategoryMapping.Kind.SPLIT,
    )


def _resolve(key: str, trees: _Trees, memo: dict) -> tuple[dict[str, Any], str]:
    """(draft row, mapping kind) for the base category ``key``."""
    if key in memo:
        return memo[key]
    old = trees.base[key]
    new = trees.draft.get(key)
    if new is not None and not new["deprecated"]:
        result = (new, _kind_of(old, new, trees))
    elif new is None and key in trees.merged:
        target_key = key
        while target_key in trees.merged:  # a merge target merged again later
            target_key = trees.merged[target_key]
        target = trees.draft[target_key]
        if target["deprecated"]:
            target = _resolve(target_key, trees, memo)[0]
        result = (target, CategoryMapping.Kind.MERGED)
    else:
        parent_key = _parent_key(trees.base_by_id, old)
        if parent_key is None:
            raise TaxonomyPublishError(UNMAPPED.format(path=old["path"]))
        result = (_resolve(parent_key, trees, memo)[0], CategoryMapping.Kind.DEPRECATED)
    memo[key] = result
    return result


def _kind_of(old: dict[str, Any], new: dict[str, Any], trees: _Trees) -> str:
    if old["key"] in trees.split:
        return CategoryMapping.Kind.SPLIT
    if old["name"] != new["name"]:
        return CategoryMapping.Kind.RENAMED
    if _parent_key(trees.base_by_id, old) != _parent_key(trees.draft_by_id, new):
        return CategoryMapping.Kind.MOVED
    return CategoryMapping.Kind.SAME


# -- diff ------------------------------------------------------------------------------------


def label_counts(*, version: TaxonomyVersion) -> dict[int, int]:
    """``{category id: items whose current label is that category}`` for ``version``: the
    labels a publish would migrate."""
    rows = (
        Item.objects.filter(current_label__taxonomy_version=version)
        .values("current_label__category")
        .annotate(n=Count("pk"))
        .values_list("current_label__category", "n")
    )
    return dict(rows)


def draft_diff(*, draft: TaxonomyVersion) -> list[DiffRow]:
    """The draft's changes against its base version, each with the labels it touches."""
    base = _base_of(draft)
    trees = _trees(draft, base)
    counts = label_counts(version=base)
    split_children = {k for children in trees.split.values() for k in children}
    rows: list[DiffRow] = []
    for key, new in sorted(trees.draft.items(), key=lambda kv: kv[1]["path"]):
        old = trees.base.get(key)
        if old is None:
            if key not in split_children:
                rows.append(DiffRow("added", key, new["path"]))
            continue
        rows.extend(_changes(old, new, trees, counts.get(old["id"], 0)))
    for key, old in sorted(trees.base.items(), key=lambda kv: kv[1]["path"]):
        if key not in trees.draft:
            target = trees.draft.get(_final_merge_target(key, trees))
            rows.append(
                DiffRow(
                    "merged",
                    key,
                    target["path"] if target else "",
                    old["path"],
                    detail="merged",
                    labels=counts.get(old["id"], 0),
                )
            )
    return rows


def _final_merge_target(key: str, trees: _Trees) -> str:
    while key in trees.merged:
        key = trees.merged[key]
    return key


def _changes(old: dict, new: dict, trees: _Trees, labels: int) -> list[DiffRow]:
    out: list[DiffRow] = []
    key, path = new["key"], new["path"]
    if new["deprecated"] and not old["deprecated"]:
        out.append(DiffRow("deprecated", key, path, old["path"], labels=labels))
    if key in trees.split:
        names = [trees.draft[k]["name"] for k in trees.split[key] if k in trees.draft]
        out.append(DiffRow("split", key, path, old["path"], "into " + ", ".join(names), labels))
    if old["name"] != new["name"]:
        out.append(DiffRow("renamed", key, path, old["path"], labels=labels))
    if _parent_key(trees.base_by_id, old) != _parent_key(trees.draft_by_id, new):
        out.append(DiffRow("moved", key, path, old["path"], labels=labels))
    if old["description"] != new["description"] or old["synonyms"] != new["synonyms"]:
        out.append(DiffRow("edited", key, path, old["path"], labels=labels))
    return out


# -- publish ---------------------------------------------------------------------------------


def _base_of(draft: TaxonomyVersion) -> TaxonomyVersion:
    if draft.based_on_id is None:
        raise TaxonomyPublishError(NO_BASE.format(number=draft.number))
    return TaxonomyVersion.objects.get(pk=draft.based_on_id)


@transaction.atomic
def taxonomy_publish(*, draft: TaxonomyVersion, author: AbstractBaseUser | None) -> PublishResult:
    """Make ``draft`` current and migrate every current label to it (module docstring)."""
    Taxonomy.objects.select_for_update().get(pk=draft.taxonomy_id)  # one publish at a time
    draft.refresh_from_db()
    if draft.status != TaxonomyVersion.Status.DRAFT:
        raise TaxonomyPublishError(NOT_A_DRAFT.format(number=draft.number, status=draft.status))
    base = _base_of(draft)
    _check_base_current(draft, base)
    timings: dict[str, float] = {}
    with _step(timings, "mapping"):
        mapping = category_mapping(draft=draft)
        _mapping_store(draft, mapping)
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
    params = [draft.pk, MIGRATION_NOTE.format(number=draft.number), _now(), draft.pk, base.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _now() -> Any:
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


# -- rollback --------------------------------------------------------------------------------


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
        _now(),
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
