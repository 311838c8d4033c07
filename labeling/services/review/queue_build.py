"""Rebuild the review queue from the active model's predictions.

The queue mixes reasons by ``settings.TAXOLOOP["QUEUE_QUOTAS"]``:

- ``audit``: a uniform random sample of the unlabelled items, drawn *first* and kept out of
  the other reasons' reach, so that the labels it yields (``Label.is_audit``) are an
  unbiased sample for evaluation. Letting the other reasons take items from it would
  censor exactly the hard items.
- ``re-review``: labelled items whose current label the model contradicts with
  ``p > RE_REVIEW_CONFIDENCE`` (the one reason that looks at labelled items).
- ``uncertain`` (flat leaf margin), ``disagreement`` (committee KL), ``boundary``
  (hierarchical margin between siblings) and ``novel`` (distance to every labelled
  prototype): mixed by ``classifier.acquisition.QuotaMixer``, each diversified by
  ``DiverseBatch`` so the batch holds no run of near-duplicates.

After a taxonomy publish the new tree has categories no model has learned yet, and the
items the model cannot place in it are the ones most in need of a person. So while the
version was published from another and has no trained model of its own beyond its first
(the cold start, or the first training after the publish), ``novel`` gets its quota
multiplied by ``NOVEL_BOOST_AFTER_PUBLISH`` (default 3) and its picks move up the queue by
the same factor. The boost ends when the version's second trained model is promoted: by then
its model has learned from labels given in the new tree. A quota of 0 stays 0.

Everything is computed from the stored Prediction rows (the numbers ``rescore`` wrote), so
a rebuild reads a few floats per item, not the embeddings; only a shortlist, the few
thousand items any reason could pick, has its embeddings read for diversity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from classifier.acquisition import (
    DiverseBatch,
    Novelty,
    QuotaMixer,
    RandomSampling,
    apportion,
)
from classifier.acquisition.topk import leaf_columns, topk_hierarchical_margin
from labeling.models import ModelVersion, Prediction, QueueEntry, TaxonomyVersion
from labeling.services.errors import ServiceError
from labeling.services.learning import ml
from labeling.services.review.queue_refresh import queue_refresh_claim
from labeling.services.review.re_review_rank import rerank_split_re_review

AUDIT = "audit"
RE_REVIEW = "re-review"
UNCERTAIN = "uncertain"
DISAGREEMENT = "disagreement"
BOUNDARY = "boundary"
NOVEL = "novel"
MIXED_REASONS = (UNCERTAIN, DISAGREEMENT, BOUNDARY, NOVEL)
# The names above are QueueEntry.Reason values (checked by the tests).

UNKNOWN_REASONS = "QUEUE_QUOTAS names unknown reason(s) {names}; known reasons: {known}."
BAD_QUOTA = "QUEUE_QUOTAS[{reason!r}] must be a number >= 0, got {value!r}."
BAD_SIZE = "The queue size must be a non-negative integer, got {value!r}."
BAD_BOOST = "NOVEL_BOOST_AFTER_PUBLISH must be a number > 0, got {value!r}."

# The model must be at least this sure before it may question a reviewer's label.
RE_REVIEW_CONFIDENCE = 0.9
# Committee KL (nats) below this is agreement: a cold-start model has identical heads.
DISAGREEMENT_FLOOR = 1e-3
# DiverseBatch looks at this many of a reason's best candidates per wanted item.
DIVERSITY_POOL_FACTOR = 3
# Diversity distances are computed in a random projection of this size (Johnson-Lindenstrauss:
# distances survive within a few percent, and the greedy picks get 25x cheaper than at 1664-d).
DIVERSITY_DIM = 64
# Rows per block when rebuilding leaf probabilities from the stored top-k.
PROBA_BLOCK = 8192
# How much more of the queue, and how much nearer its top, novel items get after a publish
# (module docstring); settings.TAXOLOOP["NOVEL_BOOST_AFTER_PUBLISH"] overrides it.
NOVEL_BOOST_AFTER_PUBLISH = 3.0


class QueueBuildError(ServiceError):
    pass


class StoredScore(Novelty):
    """A strategy over a number ``rescore`` already stored (higher = more wanted).

    ``Novelty`` is exactly "rank by the given score"; the subclass only names the intent.
    """

    name = "stored_score"


@dataclass
class _Pool:
    """One row per item with a prediction of the active model, leased items left out."""

    item_ids: np.ndarray
    confidence: np.ndarray
    margin: np.ndarray
    disagreement: np.ndarray
    novelty: np.ndarray
    top_cat: np.ndarray
    cand_cats: np.ndarray  # (n, k) category ids of the stored top-k, -1 padded
    cand_p: np.ndarray  # (n, k)
    label_cat: np.ndarray  # category of the current label in this version, or -1

    def take(self, rows: np.ndarray) -> _Pool:
        return _Pool(**{k: v[rows] for k, v in vars(self).items()})


@dataclass(frozen=True)
class _Pick:
    item_id: int
    reason: str
    detail: dict[str, Any]


def rebuild_queue(
    version: TaxonomyVersion, *, size: int | None = None, seed: int = 0
) -> dict[str, int]:
    """Replace the unleased queue entries of ``version`` with a fresh batch.

    Leased entries (``lease_expires_at`` in the future) are kept untouched and count toward
    ``size`` (default ``QUEUE_SIZE``). Without an active model nothing changes.

    Returns the number of new entries per reason (every reason of the quotas is a key).
    """
    quotas = _quotas()
    want_total = _size(size)
    counts = dict.fromkeys(quotas, 0)
    # Clear the stale flag (queue_refresh.py) before the first prediction is read, never after:
    # an item scored before this point is in this rebuild; one scored after sets the flag
    # again and gets its own refresh. Cleared at the end, that item would be lost. Inside a
    # transaction (a rescore job's last shard) the cleared row stays locked to the commit, and
    # a concurrent request waits for it, then sets the flag (only when one was pending here).
    queue_refresh_claim(version)
    mv = ml.active_model_version(version)
    if mv is None:
        return counts
    boost = {NOVEL: _novel_boost()} if settling_after_publish(version, mv) else {}
    quotas = {r: q * boost.get(r, 1.0) for r, q in quotas.items()}
    vtree = ml.version_tree(version)
    now = timezone.now()
    leased = set(
        QueueEntry.objects.filter(lease_expires_at__gt=now).values_list("item_id", flat=True)
    )
    pool = _load_pool(mv, version, leased)
    picks = _choose(pool, quotas, max(0, want_total - len(leased)), seed, vtree, mv, boost)
    for pick in _replace(picks, mv, now):
        counts[pick.reason] = counts.get(pick.reason, 0) + 1
    # A publish's split re-review waited on the old model's ranking; this version's own
    # model can now say which items it cannot place among the new children.
    rerank_split_re_review(version, mv)
    return counts


# -- settings -------------------------------------------------------------------------------


def _quotas() -> dict[str, float]:
    raw = settings.TAXOLOOP.get("QUEUE_QUOTAS", {})
    known = list(QueueEntry.Reason.values)
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise QueueBuildError(UNKNOWN_REASONS.format(names=unknown, known=known))
    for reason, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise QueueBuildError(BAD_QUOTA.format(reason=reason, value=value))
    return {r: float(v) for r, v in raw.items()}


def _novel_boost() -> float:
    value = settings.TAXOLOOP.get("NOVEL_BOOST_AFTER_PUBLISH", NOVEL_BOOST_AFTER_PUBLISH)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise QueueBuildError(BAD_BOOST.format(value=value))
    return float(value)


def settling_after_publish(version: TaxonomyVersion, mv: ModelVersion) -> bool:
    """Whether ``version`` was published from another one and ``mv`` is its cold start or
    its first trained model (no other trained model of the version was ever promoted)."""
    if version.based_on_id is None:
        return False
    promoted = ModelVersion.objects.filter(
        taxonomy_version=version,
        config__kind="trained",
        status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.RETIRED],
    )
    return not promoted.exclude(pk=mv.pk).exists()


def _size(value: int | None) -> int:
    size = settings.TAXOLOOP.get("QUEUE_SIZE", 2000) if value is None else value
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise QueueBuildError(BAD_SIZE.format(value=size))
    return size


# -- reading predictions --------------------------------------------------------------------


def _load_pool(mv: ModelVersion, version: TaxonomyVersion, leased: set[int]) -> _Pool:
    rows = (
        Prediction.objects.filter(model_version=mv)
        .order_by("item_id")
        .values_list(
            "item_id",
            "confidence",
            "margin",
            "disagreement",
            "novelty",
            "top_category_id",
            "candidates",
            "item__current_label__taxonomy_version_id",
            "item__current_label__category_id",
        )
    )
    data = [r for r in rows.iterator(chunk_size=5000) if r[0] not in leased]
    k = max((len(r[6] or []) for r in data), default=1)
    cand_cats = np.full((len(data), k), -1, dtype=np.int64)
    cand_p = np.zeros((len(data), k), dtype=np.float32)
    for i, r in enumerate(data):
        for j, c in enumerate(r[6] or []):
            cand_cats[i, j], cand_p[i, j] = c["category"], c["p"]
    col = lambda j, dt=np.float64: np.array([r[j] for r in data], dtype=dt)  # noqa: E731
    return _Pool(
        item_ids=col(0, np.int64),
        confidence=col(1),
        margin=col(2),
        disagreement=col(3),
        novelty=col(4),
        top_cat=col(5, np.int64),
        cand_cats=cand_cats,
        cand_p=cand_p,
        label_cat=np.array(
            [r[8] if r[7] == version.pk and r[8] is not None else -1 for r in data], dtype=np.int64
        ),
    )


# -- choosing -------------------------------------------------------------------------------


def _choose(
    pool: _Pool,
    quotas: Mapping[str, float],
    want: int,
    seed: int,
    vtree: ml.VersionTree,
    mv: ModelVersion,
    pull: Mapping[str, float],
) -> list[_Pick]:
    """The batch in queue order: every reason's picks interleaved by quota, a reason in
    ``pull`` moved that many times nearer the top."""
    open_rows = np.flatnonzero(pool.label_cat < 0)
    contradicted = _contradicted_rows(pool, vtree)
    weights = {r: q for r, q in quotas.items() if q > 0}
    # Shares of what can be filled: with 20 open items and a 60-slot queue, audit gets its
    # share of the 20, not all of them.
    fillable = min(want, len(open_rows) + len(contradicted))
    targets = apportion(fillable, weights) if weights else {}
    audit = RandomSampling(seed).select(None, open_rows, targets.get(AUDIT, 0))
    review = StoredScore().select(pool.confidence, contradicted, targets.get(RE_REVIEW, 0))
    picks = {
        AUDIT: [_Pick(int(pool.item_ids[r]), AUDIT, {"audit": True}) for r in audit],
        RE_REVIEW: [_re_review_pick(pool, r) for r in review],
    }
    rest = np.setdiff1d(open_rows, audit)
    mixed_weights = {r: weights[r] for r in MIXED_REASONS if r in weights}
    n_rest = want - len(audit) - len(review)
    if mixed_weights and n_rest > 0 and len(rest):
        picks.update(_mixed(pool.take(rest), mixed_weights, n_rest, vtree, mv))
    return _interleave(picks, list(quotas), pull)


def _contradicted_rows(pool: _Pool, vtree: ml.VersionTree) -> np.ndarray:
    """Labelled rows the model contradicts (its top leaf is not under the label) with
    ``p > RE_REVIEW_CONFIDENCE``; re-review takes the most confident first."""
    labelled = np.flatnonzero(pool.label_cat >= 0)
    if not len(labelled):
        return np.zeros(0, dtype=np.int64)
    label_nodes = _nodes(vtree, pool.label_cat[labelled])
    top_nodes = _nodes(vtree, pool.top_cat[labelled])
    agrees = vtree.tree.ancestors[label_nodes, top_nodes]
    sure = pool.confidence[labelled] > RE_REVIEW_CONFIDENCE
    return labelled[~agrees & sure]


def _re_review_pick(pool: _Pool, row: int) -> _Pick:
    detail = {
        "label": int(pool.label_cat[row]),
        "model_says": int(pool.top_cat[row]),
        "p": round(float(pool.confidence[row]), 4),
    }
    return _Pick(int(pool.item_ids[row]), RE_REVIEW, detail)


def _mixed(
    pool: _Pool,
    weights: Mapping[str, float],
    n: int,
    vtree: ml.VersionTree,
    mv: ModelVersion,
) -> dict[str, list[_Pick]]:
    """QuotaMixer over the reasons that rank unlabelled items, on a shortlist."""
    boundary_margin, pairs = _boundary(pool, vtree)
    scores = {
        UNCERTAIN: 1.0 - pool.margin,
        DISAGREEMENT: pool.disagreement,
        # An item the model is sure of down to a leaf has no boundary pair: not a boundary case.
        BOUNDARY: np.where(pairs[:, 1] >= 0, 1.0 - boundary_margin, 0.0),
        NOVEL: pool.novelty,
    }
    shortlist = _shortlist(scores, weights, n)
    feats = ml.item_features(pool.item_ids[shortlist].tolist())
    emb = _diversity_embeddings(feats)
    local = {r: s[shortlist] for r, s in scores.items()}
    inputs: dict[str, Any] = {r: local[r] for r in weights}
    if DISAGREEMENT in inputs and not (local[DISAGREEMENT] >= DISAGREEMENT_FLOOR).any():
        inputs[DISAGREEMENT] = None  # e.g. a cold-start model whose heads are one
    mixer = QuotaMixer(
        weights,
        {r: DiverseBatch(StoredScore(), emb, pool_factor=DIVERSITY_POOL_FACTOR) for r in weights},
        min_scores={DISAGREEMENT: DISAGREEMENT_FLOOR},
    )
    chosen, reasons = mixer.select_with_reasons(inputs, np.arange(len(shortlist)), n)
    explain = _Explainer(pool.take(shortlist), pairs[shortlist], local, feats, vtree, mv)
    out: dict[str, list[_Pick]] = {r: [] for r in weights}
    for row, reason in zip(chosen.tolist(), reasons, strict=True):
        out[reason].append(explain.pick(row, reason))
    explain.add_committee_votes(out.get(DISAGREEMENT, []))
    return out


def _shortlist(
    scores: Mapping[str, np.ndarray], weights: Mapping[str, float], n: int
) -> np.ndarray:
    """Rows any reason's DiverseBatch could look at: its best ``pool_factor * n``."""
    keep = DIVERSITY_POOL_FACTOR * n
    parts = []
    for reason in weights:
        s = scores[reason]
        parts.append(np.argsort(-s, kind="stable")[:keep] if keep < len(s) else np.arange(len(s)))
    return np.unique(np.concatenate(parts))


def _boundary(pool: _Pool, vtree: ml.VersionTree) -> tuple[np.ndarray, np.ndarray]:
    """Hierarchical margin and ``(top, runner-up)`` node pair from the stored top-k (the
    array work, and why it is sparse: ``classifier.acquisition.topk``)."""
    tree = vtree.tree
    leaf_col = np.full(int(vtree.category_ids.max()) + 2, -1, dtype=np.int64)
    leaf_col[vtree.category_ids[tree.leaves]] = np.arange(tree.n_leaves)
    threshold = settings.TAXOLOOP.get("DECISION_THRESHOLD", 0.85)
    cols = leaf_columns(pool.cand_cats, leaf_col)
    return topk_hierarchical_margin(tree, cols, pool.cand_p, threshold, block_rows=PROBA_BLOCK)


def _diversity_embeddings(feats: Mapping[str, np.ndarray]) -> np.ndarray:
    """Unit-normalised modalities side by side (missing = zeros), randomly projected."""
    parts = []
    for values in feats.values():
        v = np.nan_to_num(values.astype(np.float32))
        parts.append(v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12))
    emb = np.concatenate(parts, axis=1) if parts else np.zeros((0, 1), np.float32)
    if emb.shape[1] <= DIVERSITY_DIM:
        return emb
    # A fixed seed: the same items always get the same projection.
    proj = np.random.default_rng(0).normal(size=(emb.shape[1], DIVERSITY_DIM)).astype(np.float32)
    return emb @ proj


def _nodes(vtree: ml.VersionTree, category_ids: np.ndarray) -> np.ndarray:
    return vtree.nodes_of(category_ids.tolist())


class _Explainer:
    """Builds each pick's ``detail``: what a reviewer is shown as the reason."""

    def __init__(
        self,
        pool: _Pool,
        pairs: np.ndarray,
        scores: Mapping[str, np.ndarray],
        feats: Mapping[str, np.ndarray],
        vtree: ml.VersionTree,
        mv: ModelVersion,
    ) -> None:
        self.pool, self.pairs, self.scores = pool, pairs, scores
        self.feats, self.vtree, self.mv = feats, vtree, mv
        self.rows: dict[int, int] = {}

    def pick(self, row: int, reason: str) -> _Pick:
        item_id = int(self.pool.item_ids[row])
        self.rows[item_id] = row
        return _Pick(item_id, reason, self._detail(row, reason))

    def _detail(self, row: int, reason: str) -> dict[str, Any]:
        if reason == UNCERTAIN:
            top_two = [int(c) for c in self.pool.cand_cats[row, :2] if c >= 0]
            return {"between": top_two, "margin": round(float(self.pool.margin[row]), 4)}
        if reason == BOUNDARY:
            nodes = [int(n) for n in self.pairs[row] if n >= 0]
            between = [int(self.vtree.category_ids[n]) for n in nodes]
            if len(between) < 2:  # picked only to fill the quota: name the top two leaves
                between = [int(c) for c in self.pool.cand_cats[row, :2] if c >= 0]
            return {"between": between, "margin": round(1.0 - float(self.scores[BOUNDARY][row]), 4)}
        if reason == NOVEL:
            return {
                "novelty": round(float(self.pool.novelty[row]), 4),
                "nearest": int(self.pool.top_cat[row]),
            }
        return {"disagreement": round(float(self.pool.disagreement[row]), 4)}

    def add_committee_votes(self, picks: Sequence[_Pick]) -> None:
        """``{"text_says": id, "image_says": id}``: each single-modality head's top leaf,
        for the modalities the item has."""
        if not picks:
            return
        rows = np.array([self.rows[p.item_id] for p in picks])
        model = ml.load_model(self.mv)
        sub = {m: v[rows] for m, v in self.feats.items() if m in model.modalities_}
        committee = model.predict_committee(sub)
        leaves = self.vtree.category_ids[self.vtree.tree.leaves]
        for member, votes in zip(model.members_, committee.argmax(axis=2), strict=True):
            if member not in sub:
                continue  # the fused head: its vote is the prediction itself
            present = np.isfinite(sub[member]).all(axis=1)
            for pick, vote, has in zip(picks, votes, present, strict=True):
                if has:
                    pick.detail[f"{member}_says"] = int(leaves[vote])


def _interleave(
    picks: Mapping[str, Sequence[_Pick]],
    order: Sequence[str],
    pull: Mapping[str, float] | None = None,
) -> list[_Pick]:
    """Each reason's i-th of n picks sits at ``(i + 0.5) / n`` of the queue, so the top of
    the queue is already a mix in proportion to the quotas; quota order breaks ties. A
    reason in ``pull`` sits at ``(i + 0.5) / n / pull[reason]``: all its picks come within
    the first ``1 / pull`` of the queue, still mixed with the others there."""
    rank = {r: i for i, r in enumerate(order)}
    pull = pull or {}
    keyed = [
        ((i + 0.5) / len(ps) / pull.get(reason, 1.0), rank.get(reason, len(rank)), pick)
        for reason, ps in picks.items()
        for i, pick in enumerate(ps)
    ]
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [pick for _, _, pick in keyed]


# -- writing ---------------------------------------------------------------------------------


def _replace(picks: Sequence[_Pick], mv: ModelVersion, now: Any) -> list[_Pick]:
    """Delete unleased entries and insert ``picks`` in one transaction; returns the picks
    written (an item leased meanwhile keeps its entry and is skipped)."""
    with transaction.atomic():
        # Entries of another taxonomy's models stay; their items are skipped below. Entries
        # of an earlier version of this taxonomy are ours: after a publish they name the old
        # tree, and left in place they would keep their items out of the new queue.
        ours = Q(model_version__isnull=True) | Q(
            model_version__taxonomy_version__taxonomy_id=mv.taxonomy_version.taxonomy_id
        )
        # Re-review entries made by a taxonomy publish (a split node's items) stay until
        # someone decides them: the model cannot rank those items in the new tree yet.
        from_publish = Q(reason=QueueEntry.Reason.RE_REVIEW, detail__has_key="publish")
        QueueEntry.objects.filter(ours).exclude(lease_expires_at__gt=now).exclude(
            from_publish
        ).delete()
        kept = set(QueueEntry.objects.values_list("item_id", flat=True))
        fresh = [p for p in picks if p.item_id not in kept]
        n = len(fresh)
        QueueEntry.objects.bulk_create(
            [
                QueueEntry(
                    item_id=p.item_id,
                    reason=p.reason,
                    priority=1.0 - i / max(n, 1),
                    detail=p.detail,
                    model_version=mv,
                )
                for i, p in enumerate(fresh)
            ],
            batch_size=1000,
        )
    return fresh
