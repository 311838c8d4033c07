"""Rebuild the review queue from the active model's predictions.

The queue mixes reasons by ``settings.TAXOLOOP["QUEUE_QUOTAS"]``:

- ``audit``: a uniform random sample of the unlabelled items, drawn *first* and kept out of
  the other reasons' reach, so that the labels it yields (``Label.is_audit``) are an
  unbiased sample for evaluation. Letting the other reasons take items from it would
  censor exactly the hard items.
- ``re-review``: labelled items whose label is suspect (``queue_re_review``; the one reason
  that looks at labelled items): the version's live suspected label errors, found out of fold
  by confident learning, most suspect first; before the version's first such scan, the labels
  the active model contradicts with ``p > RE_REVIEW_CONFIDENCE`` (``queue_candidates``).
- ``uncertain`` (flat leaf margin), ``disagreement`` (committee KL), ``boundary``
  (hierarchical margin between siblings) and ``novel`` (distance to every labelled
  prototype): mixed by ``classifier.acquisition.QuotaMixer``, each diversified by
  ``DiverseBatch`` so the batch holds no run of near-duplicates.

After a taxonomy publish the new tree has categories no model has learned yet, and the
items the model cannot place in it are the ones most in need of a person. So while the
version was published from another and has no trained model of its own beyond its first
(the cold start, or the first training after the publish), ``novel`` gets its quota
multiplied by ``NOVEL_BOOST_AFTER_PUBLISH`` (default 3, ``queue_settings``) and its picks
move up the queue by the same factor. The boost ends when the version's second trained model
is promoted: by then its model has learned from labels given in the new tree. A quota of 0
stays 0.

Everything is computed from the stored Prediction rows (the numbers ``rescore`` wrote), so
a rebuild reads a few floats per item, not the embeddings; only a shortlist, the few
thousand items any reason could pick, has its embeddings read for diversity.

``queue_settings`` reads and checks the quotas, the size and the boost; ``queue_candidates``
reads the stored predictions into arrays; ``queue_re_review`` says which labelled items
re-review may take and why; this module chooses the batch, says why each item is in it, and
writes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from classifier.acquisition import RandomSampling, apportion
from classifier.acquisition.diverse import diversity_embeddings, diversity_shortlist
from classifier.acquisition.queue_reasons import (
    BOUNDARY,
    DISAGREEMENT,
    DIVERSITY_DIM,
    DIVERSITY_POOL_FACTOR,
    NOVEL,
    RANKED_REASONS,
    TYPICAL,
    UNCERTAIN,
    reason_inputs,
    reason_mixer,
    reason_scores,
    typical_quotas,
)
from classifier.acquisition.typical import (
    MAX_POINTS,
    typical_picks,
    typical_scores,
    typical_share,
)
from labeling.models import ModelVersion, Overlap, QueueEntry, TaxonomyVersion
from labeling.services.learning import auto_accept, ml
from labeling.services.review import queue_candidates, queue_settings
from labeling.services.review.overlap import answers_needed
from labeling.services.review.queue_candidates import CandidatePool
from labeling.services.review.queue_re_review import re_review_candidates
from labeling.services.review.queue_refresh import queue_refresh_claim
from labeling.services.review.re_review_rank import rerank_split_re_review
from labeling.services.rules.queue import RULE_PULL, review_rule_picks

AUDIT = "audit"
RE_REVIEW = "re-review"
RULE = "rule"
# The ranked reasons (uncertain, disagreement, boundary, novel), typical, their scores and
# their mix are classifier.acquisition.queue_reasons', shared with the simulator's ``queue``.
MIXED_REASONS = (*RANKED_REASONS, TYPICAL)
# The names above are QueueEntry.Reason values (checked by the tests).


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
    quotas = queue_settings.quotas()
    fixed = queue_settings.typical_setting()
    want_total = queue_settings.queue_size(size)
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
    boost = (
        {NOVEL: queue_settings.novel_boost()}
        if queue_settings.settling_after_publish(version, mv)
        else {}
    )
    quotas = {r: q * boost.get(r, 1.0) for r, q in quotas.items()}
    vtree = ml.version_tree(version)
    now = timezone.now()
    leased = set(
        QueueEntry.objects.filter(lease_expires_at__gt=now).values_list("item_id", flat=True)
    )
    # load_pool and boundary_margins are called on their module: tests and benchmarks patch them.
    pool = queue_candidates.load_pool(mv, version, leased)
    quotas = typical_quotas(quotas, _typical_share(pool, fixed))
    picks = _choose(pool, quotas, max(0, want_total - len(leased)), seed, vtree, mv, boost)
    for pick in _replace(picks, mv, now):
        counts[pick.reason] = counts.get(pick.reason, 0) + 1
    # A publish's split re-review waited on the old model's ranking; this version's own
    # model can now say which items it cannot place among the new children.
    rerank_split_re_review(version, mv)
    return counts


# -- choosing -------------------------------------------------------------------------------


def _typical_share(pool: CandidatePool, fixed: float | None) -> float:
    """``fixed`` (``QUEUE_TYPICAL``), or the model's expected error on the unlabelled items."""
    if fixed is not None:
        return fixed
    return typical_share(pool.confidence[pool.label_cat < 0])


def _choose(
    pool: CandidatePool,
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
    re_review = re_review_candidates(pool, vtree, mv.taxonomy_version_id)
    weights = {r: q for r, q in quotas.items() if q > 0}
    # Shares of what can be filled: with 20 open items and a 60-slot queue, audit gets its
    # share of the 20, not all of them.
    fillable = min(want, len(open_rows) + len(re_review))
    targets = apportion(fillable, weights) if weights else {}
    # Raised while the auto-accept policy lacks audit labels; drawn from every open item,
    # auto-accepted ones too: the audit must be a uniform sample of what it certifies.
    n_audit = auto_accept.audit_target(mv, fillable, targets.get(AUDIT, 0))
    audit = RandomSampling(seed).select(None, open_rows, n_audit)
    review = re_review.head(targets.get(RE_REVIEW, 0))
    picks = {
        AUDIT: [_Pick(int(pool.item_ids[r]), AUDIT, {"audit": True}) for r in audit],
        RE_REVIEW: [_Pick(int(pool.item_ids[r]), RE_REVIEW, d) for r, d in review],
    }
    rest = np.setdiff1d(open_rows, audit)
    # Rules (issue 17): the items a review rule sends to people go first (audit keeps its own).
    room = want - len(audit) - len(review)
    ruled = review_rule_picks(mv=mv, item_ids=pool.item_ids, rows=rest, limit=room)
    picks[RULE] = [_Pick(int(pool.item_ids[r]), RULE, d) for r, d in ruled]
    rest = np.setdiff1d(rest, np.array([r for r, _ in ruled], dtype=np.int64))
    rest = rest[~pool.accepted[rest]]  # people are not spent on auto-accepted items
    mixed_weights = {r: weights[r] for r in MIXED_REASONS if r in weights}
    n_rest = want - len(audit) - len(review) - len(ruled)
    if mixed_weights and n_rest > 0 and len(rest):
        labelled = pool.item_ids[pool.label_cat >= 0]
        context = _MixContext(vtree, mv, labelled, seed)
        picks.update(_mixed(pool.take(rest), mixed_weights, n_rest, context))
    return _interleave(picks, list(quotas), {**pull, RULE: RULE_PULL})


@dataclass(frozen=True)
class _MixContext:
    vtree: ml.VersionTree
    mv: ModelVersion
    labelled_ids: np.ndarray  # items labelled in this version (what typical counts covered)
    seed: int


def _mixed(
    pool: CandidatePool, weights: Mapping[str, float], n: int, context: _MixContext
) -> dict[str, list[_Pick]]:
    """QuotaMixer over the reasons that choose among unlabelled items, on a shortlist."""
    vtree, mv = context.vtree, context.mv
    boundary_margin, pairs = queue_candidates.boundary_margins(pool, vtree)
    scores = reason_scores(
        margin=pool.margin,
        disagreement=pool.disagreement,
        novelty=pool.novelty,
        boundary_margin=boundary_margin,
        boundary_pairs=pairs,
    )
    # Rows any reason's DiverseBatch could look at: its best pool_factor * n.
    ranked = [scores[r] for r in weights if r in RANKED_REASONS]
    shortlist = np.asarray(
        diversity_shortlist(ranked, DIVERSITY_POOL_FACTOR * n) if ranked else [], dtype=np.int64
    )
    regions: dict[int, float] = {}
    if TYPICAL in weights:
        rows, sizes = _typical(pool, context, n)
        scores[TYPICAL] = typical_scores(rows, len(pool.item_ids))
        shortlist = np.union1d(shortlist, rows)
        regions = dict(zip(pool.item_ids[rows].tolist(), sizes.tolist(), strict=True))
    feats = ml.item_features(pool.item_ids[shortlist].tolist())
    emb = diversity_embeddings(feats.values(), DIVERSITY_DIM)
    local = {r: s[shortlist] for r, s in scores.items()}
    mixer = reason_mixer(weights, emb)
    chosen, reasons = mixer.select_with_reasons(
        reason_inputs(local, weights), np.arange(len(shortlist)), n
    )
    explain = _Explainer(pool.take(shortlist), pairs[shortlist], local, feats, vtree, mv, regions)
    out: dict[str, list[_Pick]] = {r: [] for r in weights}
    for row, reason in zip(chosen.tolist(), reasons, strict=True):
        out[reason].append(explain.pick(row, reason))
    explain.add_committee_votes(out.get(DISAGREEMENT, []))
    return out


def _typical(pool: CandidatePool, context: _MixContext, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Typical picks among ``pool`` (rows) and the unlabelled items each stands for, from a
    seeded sample of at most ``MAX_POINTS`` items and labels: their embeddings are read,
    never the whole catalog's."""
    rng = np.random.default_rng(context.seed)
    sample = np.arange(len(pool.item_ids))
    if len(sample) > MAX_POINTS:
        sample = np.sort(rng.choice(sample, MAX_POINTS, replace=False))
    labelled = context.labelled_ids
    if len(labelled) > MAX_POINTS:
        labelled = np.sort(rng.choice(labelled, MAX_POINTS, replace=False))
    emb = diversity_embeddings(
        ml.item_features(pool.item_ids[sample].tolist()).values(), DIVERSITY_DIM
    )
    covered = diversity_embeddings(ml.item_features(labelled.tolist()).values(), DIVERSITY_DIM)
    picks, sizes = typical_picks(emb, covered, n, context.seed)
    return sample[picks], np.round(sizes * len(pool.item_ids) / len(sample))


class _Explainer:
    """Builds each pick's ``detail``: what a reviewer is shown as the reason."""

    def __init__(
        self,
        pool: CandidatePool,
        pairs: np.ndarray,
        scores: Mapping[str, np.ndarray],
        feats: Mapping[str, np.ndarray],
        vtree: ml.VersionTree,
        mv: ModelVersion,
        regions: Mapping[int, float],
    ) -> None:
        self.pool, self.pairs, self.scores = pool, pairs, scores
        self.feats, self.vtree, self.mv = feats, vtree, mv
        self.regions = regions  # typical picks: item id -> the unlabelled items it stands for
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
        if reason == TYPICAL:
            return {"region": int(self.regions.get(int(self.pool.item_ids[row]), 0))}
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
        # An overlap item with answers in stays until the rest are; a disputed one waits for
        # an adjudicator, not for the queue (``labeling.services.review.overlap``).
        live = Overlap.objects.filter(status__in=[Overlap.Status.OPEN, Overlap.Status.DISPUTED])
        QueueEntry.objects.filter(ours).exclude(lease_expires_at__gt=now).exclude(
            from_publish
        ).exclude(item__in=live.values("item_id")).delete()
        kept = set(QueueEntry.objects.values_list("item_id", flat=True))
        kept |= set(live.values_list("item_id", flat=True))
        fresh = [p for p in picks if p.item_id not in kept]
        n = len(fresh)
        version = mv.taxonomy_version
        QueueEntry.objects.bulk_create(
            [
                QueueEntry(
                    item_id=p.item_id,
                    reason=p.reason,
                    priority=1.0 - i / max(n, 1),
                    detail=p.detail,
                    model_version=mv,
                    answers_needed=answers_needed(
                        item_id=p.item_id, version=version, reason=p.reason
                    ),
                )
                for i, p in enumerate(fresh)
            ],
            batch_size=1000,
        )
    return fresh
