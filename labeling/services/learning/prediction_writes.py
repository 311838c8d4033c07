"""Write one rescore chunk's predictions: one Prediction row per item, all or none.

A chunk's rows are upserted in one transaction (``upsert_chunk``), together with the
label/prediction disagreement flag of its items. On PostgreSQL the rows go through ``COPY``
into a temporary table and one ``INSERT … ON CONFLICT`` (several times faster than batched
INSERTs); elsewhere through ``bulk_create(update_conflicts=True)``. Both take every value from
the same ``ChunkScores`` and ``PreviousTops``, so they cannot disagree.

``previous_top_category`` is the top before the last change. When the stored prediction is of
another taxonomy version (a publish since), its top is first mapped into this model's version
through ``CategoryMapping`` (``categories_mapped_into``, the walk the review card uses),
so a category that was only renamed or moved by the publish does not count as a change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import QuerySet

from labeling.models import ModelVersion, Prediction
from labeling.selectors.category_index import categories_mapped_into
from labeling.services.learning import ml
from labeling.services.review.disagreement import disagreement_refresh

# Rows per INSERT … ON CONFLICT statement.
UPSERT_BATCH = 1000
UPDATED_FIELDS = [
    "model_version",
    "top_category",
    "decided_category",
    "previous_top_category",
    "candidates",
    "confidence",
    "margin",
    "entropy",
    "disagreement",
    "novelty",
    "acquisition_score",
    "reason",
    "accepted_category",
    "accepted_confidence",
    "rule",  # issue 17: the assign or review rule that decided the item (rules.scoring)
    "created_at",
]


@dataclass(frozen=True)
class ChunkScores:
    """The model's output for the scorable items of one chunk (row i = item_ids[i])."""

    item_ids: np.ndarray
    top_nodes: np.ndarray  # (n, k) node indices of the top-k leaves
    top_proba: np.ndarray  # (n, k)
    extras: dict[str, np.ndarray]
    # The rows' features as scored (modality -> (n, d)): rules rescore forbid rows from them
    # without reading the embeddings again (issue 17, labeling.services.rules.scoring).
    features: dict[str, np.ndarray] | None = None


class PreviousTops:
    """Each item's ``previous_top_category`` after a chunk, for one rescore.

    Old tops of this model's taxonomy version compare directly; old tops of another version
    are mapped into it first (memoised: a rescore meets the same few hundred old categories
    in every chunk). Both write paths take their values from here, so they cannot disagree.
    """

    def __init__(self, mv: ModelVersion, vtree: ml.VersionTree) -> None:
        self.version = mv.taxonomy_version
        self.own = frozenset(vtree.category_ids.tolist())
        self.mapped: dict[int, int | None] = {}

    def of(self, item_ids: list[int], tops: list[int]) -> list[int | None]:
        """``previous_top_category_id`` of each item once its top is ``tops[i]``."""
        rows = _stored_for(item_ids).values_list(
            "item_id", "top_category_id", "previous_top_category_id"
        )
        old = {item_id: (top, previous) for item_id, top, previous in rows}
        self._map({top for top, _ in old.values()} - self.own - self.mapped.keys())
        return [self._previous(top, old.get(i)) for i, top in zip(item_ids, tops, strict=True)]

    def _map(self, foreign: set[int]) -> None:
        if foreign:
            found = categories_mapped_into(version=self.version, old_ids=foreign)
            self.mapped.update({pk: found.get(pk) for pk in foreign})

    def _previous(self, top: int, old: tuple[int, int | None] | None) -> int | None:
        """The old top when it changes, else what it was. An old top of another version is
        compared as the category it maps to: the same → no change (and the previous top of
        that older version is dropped), another → that one, none (unmapped) → NULL."""
        if old is None:
            return None
        old_top, old_previous = old
        if old_top in self.own:
            return old_top if old_top != top else old_previous
        mapped = self.mapped.get(old_top)
        return None if mapped == top else mapped


def _stored_for(item_ids: list[int]) -> QuerySet[Prediction]:
    """The stored predictions of (at least) ``item_ids``, ascending. A chunk of nearly
    consecutive ids is read as one id range: on PostgreSQL a 5,000-value IN list costs about
    20 times the range scan (measured 64 vs 3 ms); extra rows in the range do no harm."""
    first, last = min(item_ids), max(item_ids)
    if last - first < 2 * len(item_ids):
        return Prediction.objects.filter(item_id__gte=first, item_id__lte=last)
    return Prediction.objects.filter(item_id__in=item_ids)


def upsert_chunk(
    mv: ModelVersion, vtree: ml.VersionTree, scores: ChunkScores, previous: PreviousTops
) -> int:
    """Insert-or-update the chunk's predictions in one transaction (all or none)."""
    if not len(scores.item_ids):
        return 0
    with transaction.atomic():
        ids = scores.item_ids.tolist()
        tops = vtree.category_ids[scores.top_nodes[:, 0]].tolist()
        _write_chunk(mv, vtree, scores, previous.of(ids, tops))
        disagreement_refresh(item_ids=ids)
    return len(scores.item_ids)


def _write_chunk(
    mv: ModelVersion, vtree: ml.VersionTree, scores: ChunkScores, previous: list[int | None]
) -> None:
    if connection.vendor == "postgresql":
        _copy_upsert(mv, vtree, scores, previous)
    else:
        _bulk_upsert(mv, vtree, scores, previous)


def _bulk_upsert(
    mv: ModelVersion, vtree: ml.VersionTree, scores: ChunkScores, previous: list[int | None]
) -> None:
    """Portable path: ``bulk_create(update_conflicts=True)``."""
    accepted = list(zip(*_accepted(vtree, scores), strict=True))
    rules = _rules(scores)
    rows = [_prediction(mv, vtree, scores, i, prev, accepted[i]) for i, prev in enumerate(previous)]
    for row, rule in zip(rows, rules, strict=True):
        row.rule_id = rule
    Prediction.objects.bulk_create(
        rows,
        batch_size=UPSERT_BATCH,
        update_conflicts=True,
        unique_fields=["item"],
        update_fields=UPDATED_FIELDS,
    )


_LOAD_COLUMNS = (
    "item_id bigint, model_version_id bigint, top_category_id bigint, "
    "decided_category_id bigint, previous_top_category_id bigint, candidates jsonb, "
    "confidence double precision, margin double precision, entropy double precision, "
    "disagreement double precision, novelty double precision, accepted_category_id bigint, "
    "accepted_confidence double precision, rule_id bigint"
)
_COPY_UPSERT = """
INSERT INTO {table} (item_id, model_version_id, top_category_id, decided_category_id,
    previous_top_category_id, candidates, confidence, margin, entropy, disagreement, novelty,
    acquisition_score, reason, label_disagrees, accepted_category_id, accepted_confidence,
    status, rule_id, created_at)
SELECT item_id, model_version_id, top_category_id, decided_category_id,
    previous_top_category_id, candidates, confidence, margin, entropy, disagreement, novelty,
    0, '', FALSE, accepted_category_id, accepted_confidence, 'needs_review', rule_id, now()
FROM taxoloop_prediction_load
ON CONFLICT (item_id) DO UPDATE SET
    previous_top_category_id = EXCLUDED.previous_top_category_id,
    model_version_id = EXCLUDED.model_version_id,
    top_category_id = EXCLUDED.top_category_id,
    decided_category_id = EXCLUDED.decided_category_id,
    candidates = EXCLUDED.candidates,
    confidence = EXCLUDED.confidence,
    margin = EXCLUDED.margin,
    entropy = EXCLUDED.entropy,
    disagreement = EXCLUDED.disagreement,
    novelty = EXCLUDED.novelty,
    acquisition_score = 0,
    reason = '',
    accepted_category_id = EXCLUDED.accepted_category_id,
    accepted_confidence = EXCLUDED.accepted_confidence,
    rule_id = EXCLUDED.rule_id,
    created_at = EXCLUDED.created_at
"""


def _copy_upsert(
    mv: ModelVersion, vtree: ml.VersionTree, scores: ChunkScores, previous: list[int | None]
) -> None:
    table = connection.ops.quote_name(Prediction._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE taxoloop_prediction_load ({_LOAD_COLUMNS}) ON COMMIT DROP"
        )
        copy_sql = "COPY taxoloop_prediction_load FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for row in _copy_rows(mv, vtree, scores, previous):
                copy.write_row(row)
        cursor.execute(_COPY_UPSERT.format(table=table))
        # ON COMMIT DROP is not enough when the caller's transaction spans several chunks.
        cursor.execute("DROP TABLE taxoloop_prediction_load")


def _copy_rows(
    mv: ModelVersion, vtree: ml.VersionTree, scores: ChunkScores, previous: list[int | None]
) -> Iterator[tuple]:
    cats = vtree.category_ids
    ex = scores.extras
    top_cats = cats[scores.top_nodes]
    decided = ex["decision"]
    accepted, accepted_p = _accepted(vtree, scores)
    rules = _rules(scores)
    columns = zip(
        scores.item_ids.tolist(),
        top_cats.tolist(),
        np.round(scores.top_proba.astype(np.float64), 6).tolist(),
        np.where(decided >= 0, cats[np.maximum(decided, 0)], -1).tolist(),
        previous,
        ex["confidence"].tolist(),
        ex["margin"].tolist(),
        ex["entropy"].tolist(),
        ex["consensus_kl"].tolist(),
        ex["novelty"].tolist(),
        accepted,
        accepted_p,
        rules,
        strict=True,
    )
    for *row, rule in columns:
        item_id, tops, ps, dec, prev, conf, margin, entropy, kl, novelty, acc, acc_p = row
        candidates = json.dumps([{"category": c, "p": p} for c, p in zip(tops, ps, strict=True)])
        yield (
            item_id,
            mv.pk,
            tops[0],
            dec if dec >= 0 else None,
            prev,
            candidates,
            conf,
            margin,
            entropy,
            kl,
            novelty,
            acc,
            acc_p,
            rule,
        )


def _accepted(
    vtree: ml.VersionTree, scores: ChunkScores
) -> tuple[list[int | None], list[float | None]]:
    """Each row's auto-accepted category id and its probability (None: not accepted)."""
    node = scores.extras.get("accepted")
    if node is None:
        return [None] * len(scores.item_ids), [None] * len(scores.item_ids)
    p = scores.extras["accepted_p"]
    categories = [int(vtree.category_ids[n]) if n >= 0 else None for n in node.tolist()]
    confidences = [
        round(float(x), 6) if n >= 0 and np.isfinite(x) else None  # a rule's: no confidence
        for n, x in zip(node, p, strict=True)
    ]
    return categories, confidences


def _rules(scores: ChunkScores) -> list[int | None]:
    """Each row's deciding rule id (``labeling.services.rules.scoring``), None: none."""
    rule = scores.extras.get("rule")
    if rule is None:
        return [None] * len(scores.item_ids)
    return [r if r >= 0 else None for r in rule.tolist()]


def _prediction(
    mv: ModelVersion,
    vtree: ml.VersionTree,
    scores: ChunkScores,
    i: int,
    previous: int | None,
    accepted: tuple[int | None, float | None],
) -> Prediction:
    cats = vtree.category_ids
    top = int(cats[scores.top_nodes[i, 0]])
    decision = int(scores.extras["decision"][i])
    ex = scores.extras
    return Prediction(
        item_id=int(scores.item_ids[i]),
        model_version=mv,
        top_category_id=top,
        decided_category_id=int(cats[decision]) if decision >= 0 else None,
        previous_top_category_id=previous,
        candidates=[
            {"category": int(cats[node]), "p": round(float(p), 6)}
            for node, p in zip(scores.top_nodes[i], scores.top_proba[i], strict=True)
        ],
        confidence=float(ex["confidence"][i]),
        margin=float(ex["margin"][i]),
        entropy=float(ex["entropy"][i]),
        # Mean KL of each head to the committee: continuous, unlike a 3-member vote entropy.
        disagreement=float(ex["consensus_kl"][i]),
        novelty=float(ex["novelty"][i]),
        accepted_category_id=accepted[0],
        accepted_confidence=accepted[1],
    )
