"""Rescore: apply a model version to every item and store one Prediction per item.

Items are read in id order, ``RESCORE_CHUNK_SIZE`` at a time; each chunk is one forward
pass (``HierarchicalClassifier.predict_topk``) and one bulk upsert in its own transaction.
A crash half-way therefore leaves every item with a whole prediction, of the old model or
of the new one, never a mix, and the next rescore simply overwrites the rest.

A rescore by the active model stops at the next chunk once that model is no longer active
(rolled back, or replaced by a newer promotion): the newer model's own rescore is on its way,
and every chunk written after that would only be overwritten. ``id_range`` scores one
contiguous range of item ids: one shard of a job that several workers share
(``labeling.services.learning.rescore_jobs``).

This module reads the items and runs the model; ``prediction_writes`` turns a chunk's
scores into Prediction rows and writes them (the previous top across taxonomy versions, the
PostgreSQL ``COPY`` path).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from classifier.model import HierarchicalClassifier
from labeling.models import Item, ModelVersion
from labeling.services.errors import ServiceError
from labeling.services.learning import auto_accept, ml, prediction_writes
from labeling.services.learning.prediction_writes import ChunkScores, PreviousTops
from labeling.services.rules import scoring as rules_scoring

log = logging.getLogger(__name__)

TREE_MISMATCH = (
    "Model version #{pk} was trained on a different category tree than taxonomy version "
    "{version} has now ({model_nodes} nodes vs {version_nodes}); train a new model for it."
)
BAD_CHUNK_SIZE = "chunk_size must be a positive integer, got {value!r}."
BOTH_SELECTIONS = "Pass item_ids or id_range, not both."
DEFAULT_CHUNK_SIZE = 5000
# How many leaves a prediction keeps; the queue's boundary reason reads them back.
DEFAULT_TOP_K = 5

Progress = Callable[[int, int], None]
# (first item id, stop item id): ids in [first, stop); None for an open end.
IdRange = tuple[int | None, int | None]


class ScoringError(ServiceError):
    pass


def rescore(
    model_version: ModelVersion,
    *,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    item_ids: Sequence[int] | None = None,
    id_range: IdRange | None = None,
) -> int:
    """Store the prediction of ``model_version`` for every item that has an embedding
    (or only for ``item_ids``: items that have just been embedded; or only for the items whose
    id is in ``id_range``: one shard of a rescore job).

    Items without any usable embedding (not encoded yet) are skipped and keep whatever
    prediction they had. ``progress(done, total)`` is called after each chunk. When
    ``model_version`` is active, each chunk first checks that it still is, and the rescore
    stops there when it is not (the caller can tell by the model's status).

    Returns the number of predictions written.
    """
    if item_ids is not None and id_range is not None:
        raise ScoringError(BOTH_SELECTIONS)
    size = _chunk_size(chunk_size)
    model = ml.load_model(model_version)
    vtree = ml.version_tree(model_version.taxonomy_version)
    _check_tree(model, vtree, model_version)
    k = int(settings.TAXOLOOP.get("PREDICTION_TOP_K", DEFAULT_TOP_K))
    previous = PreviousTops(model_version, vtree)
    policy = auto_accept.ChunkPolicy.of(model_version, vtree)
    # Rules beside the model (issue 17): the version's enabled rules, compiled once.
    rules = rules_scoring.for_scoring(model_version.taxonomy_version)
    guarded = model_version.status == ModelVersion.Status.ACTIVE
    total, chunks = _selection(size, item_ids, id_range)
    written = done = 0
    delay = _chunk_delay()
    for ids in chunks:
        if guarded and not _still_active(model_version):
            log.info(
                "model %s is no longer active: rescore stopped after %d items",
                model_version.pk,
                done,
            )
            break
        scores = _score_chunk(model, vtree, ids, k, keep_proba=rules_scoring.forbids(rules))
        if policy is not None and len(scores.item_ids):
            scores.extras["accepted"], scores.extras["accepted_p"] = policy.accept(scores.extras)
        if rules is not None and len(scores.item_ids):  # assign, forbid, review (issue 17)
            rules_scoring.apply_to_scores(rules, model, scores)
        # Through the module: benchmarks time upsert_chunk by replacing it there.
        written += prediction_writes.upsert_chunk(model_version, vtree, scores, previous)
        done += len(ids)
        if progress is not None:
            progress(done, max(total, done))
        if delay:
            time.sleep(delay)
    return written


def _selection(
    size: int, item_ids: Sequence[int] | None, id_range: IdRange | None
) -> tuple[int, Iterator[list[int]]]:
    """(how many items, their ids ``size`` at a time) for what ``rescore`` was asked to score."""
    if item_ids is not None:
        return len(set(item_ids)), _given_chunks(item_ids, size)
    first, stop = id_range or (None, None)
    return _in_range(first, stop).count(), _id_chunks(size, first, stop)


def _in_range(first: int | None, stop: int | None) -> QuerySet[Item]:
    items = Item.objects.all()
    if first is not None:
        items = items.filter(pk__gte=first)
    if stop is not None:
        items = items.filter(pk__lt=stop)
    return items


def _still_active(mv: ModelVersion) -> bool:
    """One indexed lookup per chunk: cheap next to scoring 5,000 items."""
    return ModelVersion.objects.filter(pk=mv.pk, status=ModelVersion.Status.ACTIVE).exists()


def _chunk_delay() -> float:
    """Test hook: seconds to sleep after each chunk (RESCORE_CHUNK_DELAY_SECONDS, which
    taxoloop/settings/test.py fills from the environment), so a test can kill a worker mid-way."""
    return float(settings.TAXOLOOP.get("RESCORE_CHUNK_DELAY_SECONDS") or 0)


def _chunk_size(value: int | None) -> int:
    size = (
        value
        if value is not None
        else settings.TAXOLOOP.get("RESCORE_CHUNK_SIZE", DEFAULT_CHUNK_SIZE)
    )
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ScoringError(BAD_CHUNK_SIZE.format(value=size))
    return size


def _check_tree(model: HierarchicalClassifier, vtree: ml.VersionTree, mv: ModelVersion) -> None:
    """Leaf columns are only meaningful against the exact tree the model was trained on."""
    if tuple(model.tree.keys) != tuple(vtree.tree.keys):
        raise ScoringError(
            TREE_MISMATCH.format(
                pk=mv.pk,
                version=mv.taxonomy_version_id,
                model_nodes=model.tree.n_nodes,
                version_nodes=vtree.tree.n_nodes,
            )
        )


def _given_chunks(item_ids: Sequence[int], size: int) -> Iterator[list[int]]:
    ordered = sorted(set(item_ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _id_chunks(size: int, first: int | None = None, stop: int | None = None) -> Iterator[list[int]]:
    """Item ids in [first, stop) in ascending order, ``size`` at a time (keyset pagination,
    no OFFSET)."""
    items = _in_range(first, stop).order_by("pk")
    last: int | None = None
    while True:
        page = items if last is None else items.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]


def _score_chunk(
    model: HierarchicalClassifier,
    vtree: ml.VersionTree,
    ids: Sequence[int],
    k: int,
    *,
    keep_proba: bool = False,
) -> ChunkScores:
    features = ml.item_features(ids)
    usable = np.zeros(len(ids), dtype=bool)
    for m in model.modalities_:
        if m in features:
            usable |= np.isfinite(features[m]).all(axis=1)
    rows = {m: a[usable] for m, a in features.items() if m in model.modalities_}
    item_ids = np.asarray(ids, dtype=np.int64)[usable]
    if not len(item_ids):
        return ChunkScores(item_ids, np.zeros((0, k), np.int64), np.zeros((0, k)), {})
    top_idx, top_proba, extras = model.predict_topk(
        rows, k=k, chunk_size=len(item_ids), keep_proba=keep_proba
    )
    top_nodes = vtree.tree.leaves[top_idx]
    return ChunkScores(item_ids, top_nodes, top_proba, extras, features=rows)
