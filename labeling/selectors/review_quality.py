"""Reviewer quality (issue 16): how well reviewers agree on the items several of them answered
blind (overlap), and each reviewer's own figures, for the reports' Reviewer quality page.

What counts: overlap answers in the taxonomy version (``context="overlap"`` ledger rows with an
``OverlapAnswer``) that are not retracted, optionally those given in a window ``[start, end)``.
An answer from before a publish names an older version's category and is left out: agreement
is measured on one tree. The figures themselves are computed from arrays in
``labeling.selectors.review_quality_figures``; this module reads the rows (five queries
whatever the number of answers) and puts the report together.

A reviewer's own view (``review_quality_for_reviewer``) keeps their row and their pairs, the
colleagues unnamed, and drops the team's figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from classifier.tree import NO_PARENT, Tree
from labeling.models import (
    Category,
    Label,
    Overlap,
    OverlapAnswer,
    ReviewerReliability,
    TaxonomyVersion,
)
from labeling.selectors.review_quality_figures import (
    Answers,
    BranchRow,
    Figures,
    Overall,
    PairRow,
    ReviewerAgreement,
    Share,
    WeekRow,
    figures,
    iso_week,
    median_gap,
)

# The context of the label an agreed overlap writes for its answers' author: no decision of
# theirs (``labeling.services.review.overlap.AGREED``; selectors do not import services).
AGREED_CONTEXT = "agreed"
COLLEAGUE = "Colleague {n}"
RESOLVED = (Overlap.Status.AGREED, Overlap.Status.ADJUDICATED)


@dataclass(frozen=True)
class ReviewerRow:
    reviewer_id: int
    username: str
    answers: int  # decisions on the review page (overlap answers and adjudications included)
    agreement: ReviewerAgreement
    median_seconds: float | None  # between consecutive decisions, breaks left out
    timed_gaps: int  # the gaps behind the median
    reliability: float | None  # ReviewerReliability.accuracy; None: not estimated yet


@dataclass(frozen=True)
class QualityReport:
    version_id: int
    start: datetime | None
    end: datetime | None  # exclusive
    overlap_items: int  # team-wide overlap items with two or more answers
    overall: Overall | None  # None in a reviewer's own view
    reviewers: tuple[ReviewerRow, ...]
    pairs: tuple[PairRow, ...]
    branches: tuple[BranchRow, ...]
    weeks: tuple[WeekRow, ...]
    own_view: bool = False

    @property
    def has_overlap(self) -> bool:
        return self.overlap_items > 0


def review_quality(
    *, version: TaxonomyVersion, start: datetime | None = None, end: datetime | None = None
) -> QualityReport:
    """The team's report: overall agreement, every reviewer, every pair, each top-level
    branch and each ISO week, from answers given in ``[start, end)`` (None: unbounded)."""
    loaded = _version_tree(version)
    decisions = _decision_times(version, start, end)
    if loaded is None:
        found = Figures(overall=_empty_overall())
    else:
        tree, category_ids = loaded
        found = figures(tree, category_ids, _answers(version, tree, category_ids, start, end))
    ids = sorted(found.reviewers.keys() | decisions.keys())
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    reviewers = _reviewer_rows(version, ids, names, found, decisions)
    pairs = tuple(
        replace(
            p, first_name=names.get(p.first_id, ""), second_name=names.get(p.second_id or 0, "")
        )
        for p in found.pairs
    )
    return QualityReport(
        version_id=version.pk,
        start=start,
        end=end,
        overlap_items=found.overall.items,
        overall=found.overall,
        reviewers=tuple(sorted(reviewers, key=lambda row: row.username.lower())),
        pairs=pairs,
        branches=found.branches,
        weeks=found.weeks,
    )


def _reviewer_rows(
    version: TaxonomyVersion,
    ids: list[int],
    names: dict[int, str],
    found: Figures,
    decisions: dict[int, list[datetime]],
) -> list[ReviewerRow]:
    reliability = dict(
        ReviewerReliability.objects.filter(user_id__in=ids, taxonomy_version=version).values_list(
            "user_id", "accuracy"
        )
    )
    rows = []
    for r in ids:
        median, gaps = median_gap(decisions.get(r, []))
        rows.append(
            ReviewerRow(
                reviewer_id=r,
                username=names.get(r, f"#{r}"),
                answers=len(decisions.get(r, [])),
                agreement=found.reviewers.get(r, ReviewerAgreement()),
                median_seconds=median,
                timed_gaps=gaps,
                reliability=reliability.get(r),
            )
        )
    return rows


def review_quality_for_reviewer(
    *,
    version: TaxonomyVersion,
    reviewer_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> QualityReport:
    """What one reviewer may see of the report: ``own_view`` of ``review_quality``."""
    return own_view(review_quality(version=version, start=start, end=end), reviewer_id)


def own_view(report: QualityReport, reviewer_id: int) -> QualityReport:
    """``report`` cut to one reviewer: their row, their pairs with the colleague unnamed
    ("Colleague 1", most items in common first) and no team figures."""
    rows = tuple(r for r in report.reviewers if r.reviewer_id == reviewer_id)
    name = rows[0].username if rows else ""
    theirs = [p for p in report.pairs if reviewer_id in (p.first_id, p.second_id)]
    pairs = tuple(
        replace(
            p,
            first_id=reviewer_id,
            first_name=name,
            second_id=None,
            second_name=COLLEAGUE.format(n=n),
        )
        for n, p in enumerate(theirs, start=1)
    )
    return replace(
        report, overall=None, reviewers=rows, pairs=pairs, branches=(), weeks=(), own_view=True
    )


# -- reading the rows --------------------------------------------------------------------------


def _version_tree(version: TaxonomyVersion) -> tuple[Tree, np.ndarray] | None:
    """The version's categories as a tree (deprecated ones too: old answers name them) and
    each node's category id; None for a version without categories."""
    rows = list(
        Category.objects.filter(version=version)
        .order_by("id")
        .values_list("id", "parent_id", "key", "name")
    )
    if not rows:
        return None
    index = {row[0]: i for i, row in enumerate(rows)}
    parents = np.array([index.get(p, NO_PARENT) if p else NO_PARENT for _, p, _, _ in rows])
    tree = Tree(keys=tuple(r[2] for r in rows), parents=parents, names=tuple(r[3] for r in rows))
    return tree, np.array([r[0] for r in rows], dtype=np.int64)


def _window(field: str, start: datetime | None, end: datetime | None) -> Q:
    q = Q()
    if start is not None:
        q &= Q(**{f"{field}__gte": start})
    if end is not None:
        q &= Q(**{f"{field}__lt": end})
    return q


def _answers(
    version: TaxonomyVersion,
    tree: Tree,
    category_ids: np.ndarray,
    start: datetime | None,
    end: datetime | None,
) -> Answers:
    """The counted overlap answers, one query."""
    node_of = {int(c): i for i, c in enumerate(category_ids)}
    final_retracted = Exists(Label.objects.filter(retracts=OuterRef("overlap__label_id")))
    rows = (
        OverlapAnswer.objects.filter(
            _window("label__created_at", start, end),
            label__taxonomy_version=version,
            label__kind=Label.Kind.LABEL,
            label__retractions__isnull=True,
        )
        .annotate(final_retracted=final_retracted)
        .order_by("overlap_id", "id")
        .values_list(
            "overlap_id",
            "reviewer_id",
            "label__category_id",
            "label__is_audit",
            "label__created_at",
            "overlap__status",
            "overlap__label__category_id",
            "final_retracted",
        )
    )
    columns: dict[str, list] = defaultdict(list)
    for overlap, reviewer, category, audit, at, status, final, retracted in rows:
        if category not in node_of:
            continue
        resolved = status in RESOLVED and final is not None and not retracted
        columns["overlap"].append(overlap)
        columns["reviewer"].append(reviewer)
        columns["node"].append(node_of[category])
        columns["audit"].append(bool(audit))
        columns["adjudicated"].append(status == Overlap.Status.ADJUDICATED and resolved)
        columns["final"].append(node_of.get(final, -1) if resolved else -1)
        columns["week"].append(iso_week(timezone.localtime(at)))
    return Answers(
        overlap=np.array(columns["overlap"], dtype=np.int64),
        reviewer=np.array(columns["reviewer"], dtype=np.int64),
        node=np.array(columns["node"], dtype=np.int64),
        audit=np.array(columns["audit"], dtype=bool),
        adjudicated=np.array(columns["adjudicated"], dtype=bool),
        final=np.array(columns["final"], dtype=np.int64),
        week=np.array(columns["week"], dtype=object),
    )


def _decision_times(
    version: TaxonomyVersion, start: datetime | None, end: datetime | None
) -> dict[int, list[datetime]]:
    """``{reviewer: times of their review-page decisions, oldest first}``, one query."""
    rows = (
        Label.objects.filter(
            _window("created_at", start, end),
            taxonomy_version=version,
            kind=Label.Kind.LABEL,
            source=Label.Source.REVIEW,
            author__isnull=False,
        )
        .exclude(context=AGREED_CONTEXT)
        .order_by("author_id", "created_at", "id")
        .values_list("author_id", "created_at")
    )
    out: dict[int, list[datetime]] = defaultdict(list)
    for author, at in rows:
        out[author].append(at)
    return dict(out)


def _empty_overall() -> Overall:
    return Overall(0, 0, Share(0, 0), (), None, None)
