"""Which labelled items a queue rebuild sends to ``re-review``, in order, and why.

Once confident learning has judged a version's labels (``labeling.services.learning.
label_issues``, after each training), the candidates are its live suspected label errors, most
suspect first (lowest out-of-fold probability of the given label), each with its evidence:

    {"suspected": true, "label": given category, "suggested": category,
     "p_given": 0.04, "p_suggested": 0.81}

This subsumes the older in-sample rule (``queue_candidates.contradicted_rows``: the active
model contradicts a label at ``p > RE_REVIEW_CONFIDENCE``): that model was trained on the very
labels it checks and found at most 9% of injected errors where the out-of-fold flags found
80-97% (``docs/results/issue-17/label-errors.md``). The in-sample rule stays only as the
fallback while a version has no scan yet (fewer than ``LABEL_ERRORS_MIN_LABELS`` labels, or the
first pass still running), with its own detail ``{"label", "model_says", "p"}``. A scan that
flagged nothing means nothing is suspect: no fallback then.

Only items in the pool (scored by the active model, not leased) can be picked; a publish's
split re-review entries are ``queue_build``'s business and are not touched here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.acquisition.queue_reasons import StoredScore
from labeling.selectors.label_errors import label_errors_scanned, suspected_label_errors_live
from labeling.services.learning import ml
from labeling.services.review.queue_candidates import CandidatePool, contradicted_rows


@dataclass(frozen=True)
class ReReviewCandidates:
    """Pool rows re-review may take, in the order it takes them, each with its detail."""

    rows: np.ndarray  # (m,) int64
    details: list[dict[str, Any]]  # one per row

    def __len__(self) -> int:
        return len(self.rows)

    def head(self, n: int) -> list[tuple[int, dict[str, Any]]]:
        """The first ``n`` as (pool row, detail)."""
        return list(zip(self.rows[: max(n, 0)].tolist(), self.details[: max(n, 0)], strict=True))


def re_review_candidates(
    pool: CandidatePool, vtree: ml.VersionTree, version_id: int
) -> ReReviewCandidates:
    """The version's live suspected label errors in ``pool``, or the in-sample rule's
    contradicted labels while the version has never been scanned."""
    if label_errors_scanned(version_id=version_id):
        return _suspected(pool, version_id)
    return _contradicted(pool, vtree)


def suspected_detail(
    *, given: int, suggested: int, p_given: float, p_suggested: float
) -> dict[str, Any]:
    """A suspected label error's queue detail (what the card reads)."""
    return {
        "suspected": True,
        "label": int(given),
        "suggested": int(suggested),
        "p_given": round(float(p_given), 4),
        "p_suggested": round(float(p_suggested), 4),
    }


def _suspected(pool: CandidatePool, version_id: int) -> ReReviewCandidates:
    flags = list(
        suspected_label_errors_live(version_id=version_id).values_list(
            "item_id", "given_id", "suggested_id", "p_given", "p_suggested"
        )
    )
    order = np.argsort(pool.item_ids, kind="stable")
    sorted_ids = pool.item_ids[order]
    wanted = np.array([f[0] for f in flags], dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_ids, wanted), max(len(sorted_ids) - 1, 0))
    found = sorted_ids[at] == wanted if len(sorted_ids) else np.zeros(len(flags), dtype=bool)
    details = [
        suspected_detail(given=g, suggested=s, p_given=pg, p_suggested=ps)
        for (_, g, s, pg, ps), ok in zip(flags, found.tolist(), strict=True)
        if ok
    ]
    return ReReviewCandidates(order[at[found]].astype(np.int64), details)


def _contradicted(pool: CandidatePool, vtree: ml.VersionTree) -> ReReviewCandidates:
    """The in-sample rule, most confident first (ties in pool order)."""
    contradicted = contradicted_rows(pool, vtree)
    rows = StoredScore().select(pool.confidence, contradicted, len(contradicted))
    details = [
        {
            "label": int(pool.label_cat[r]),
            "model_says": int(pool.top_cat[r]),
            "p": round(float(pool.confidence[r]), 4),
        }
        for r in rows.tolist()
    ]
    return ReReviewCandidates(np.asarray(rows, dtype=np.int64), details)
