"""The figures of the reviewer-quality report, computed from arrays of overlap answers (no
queries here: ``labeling.selectors.review_quality`` reads the rows and assembles the report).

An answer is one row of :class:`Answers`; the "items" of the agreement figures are overlaps
(an item overlapped twice counts twice), and only overlaps with two or more counted answers
say anything about agreement. Agreement is counted over pairs of answers on the same item, so
with two reviewers per item it is the share of items they agree on.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations

import numpy as np

from classifier.agreement import ancestor_at, krippendorff_alpha, pair_agreement, pairwise_kappa
from classifier.tree import Tree

# A longer gap between two decisions of one reviewer is a break, not time spent on an item.
SESSION_GAP_SECONDS = 600
TOP_BRANCHES = 3


@dataclass(frozen=True)
class Share:
    """``hits`` out of ``total`` (pairs of answers, or answers)."""

    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None


@dataclass(frozen=True)
class DepthShare:
    depth: int  # 1: the top level
    agreement: Share  # pairs naming the same category at that depth (answers above it left out)


@dataclass(frozen=True)
class Overall:
    items: int  # overlap items with two or more answers
    answers: int  # answers on those items
    leaf: Share  # pairs of answers naming the same category
    depths: tuple[DepthShare, ...]
    alpha_tree: float | None  # Krippendorff's alpha, distance = edges between the answers
    alpha_nominal: float | None  # Krippendorff's alpha, any difference counts 1


@dataclass(frozen=True)
class BranchCount:
    category_id: int
    name: str
    count: int


@dataclass(frozen=True)
class ReviewerAgreement:
    """One reviewer's overlap figures."""

    overlap_answers: int = 0
    vs_adjudicated: Share = Share(0, 0)  # answers on adjudicated items matching the decision
    vs_others: Share = Share(0, 0)  # pairs (theirs, another's) on the same item that agree
    on_audit: Share = Share(0, 0)  # audit answers matching the item's resulting label
    disagree_branches: tuple[BranchCount, ...] = ()  # their answers' top-level branches


@dataclass(frozen=True)
class PairRow:
    first_id: int
    first_name: str
    second_id: int | None  # None: a colleague a reviewer's own view does not name
    second_name: str
    items: int  # items both answered
    agreement: Share
    kappa: float | None  # Cohen's kappa on those items


@dataclass(frozen=True)
class BranchRow:
    category_id: int
    name: str
    items: int
    leaf: Share
    alpha_tree: float | None


@dataclass(frozen=True)
class WeekRow:
    week: str  # ISO week, "2025-W07"
    items: int
    leaf: Share


@dataclass(frozen=True)
class Answers:
    """Counted overlap answers, ``(n,)`` arrays in the same order."""

    overlap: np.ndarray  # overlap id (the "item" of the agreement figures)
    reviewer: np.ndarray  # user id
    node: np.ndarray  # tree node of the answer's category
    audit: np.ndarray  # bool: an audit answer
    adjudicated: np.ndarray  # bool: an adjudicator decided the overlap
    final: np.ndarray  # tree node of the overlap's resulting label; -1: none (yet)
    week: np.ndarray  # ISO week the answer was given, "2025-W07"

    def take(self, mask: np.ndarray) -> Answers:
        return Answers(**{f: getattr(self, f)[mask] for f in self.__dataclass_fields__})

    def __len__(self) -> int:
        return len(self.overlap)


@dataclass(frozen=True)
class Figures:
    overall: Overall
    reviewers: dict[int, ReviewerAgreement] = field(default_factory=dict)
    pairs: tuple[PairRow, ...] = ()  # names left empty: the caller knows the users
    branches: tuple[BranchRow, ...] = ()
    weeks: tuple[WeekRow, ...] = ()


def _none_if_nan(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def pair_share(tree: Tree, overlaps: np.ndarray, nodes: np.ndarray, depth: int | None) -> Share:
    share, total = pair_agreement(tree, overlaps, nodes, depth)
    return Share(round(share * total) if total else 0, total)


def shared_only(answers: Answers) -> Answers:
    """The answers on overlaps that have two or more of them."""
    _, inverse, counts = np.unique(answers.overlap, return_inverse=True, return_counts=True)
    return answers.take(counts[inverse] >= 2)


def figures(tree: Tree, category_ids: np.ndarray, answers: Answers) -> Figures:
    """Every figure of the report but the ones read from other tables (decisions, speed)."""
    shared = shared_only(answers)
    overall = Overall(
        items=len(np.unique(shared.overlap)),
        answers=len(shared),
        leaf=pair_share(tree, shared.overlap, shared.node, None),
        depths=tuple(
            DepthShare(d, pair_share(tree, shared.overlap, shared.node, d))
            for d in range(1, tree.max_depth + 1)
        ),
        alpha_tree=_none_if_nan(krippendorff_alpha(tree, shared.overlap, shared.node, "tree")),
        alpha_nominal=_none_if_nan(
            krippendorff_alpha(None, shared.overlap, shared.node, "nominal")
        ),
    )
    return Figures(
        overall=overall,
        reviewers=reviewer_agreement(tree, category_ids, answers, shared),
        pairs=pair_rows(shared),
        branches=branch_rows(tree, category_ids, shared),
        weeks=week_rows(tree, shared),
    )


def _groups(overlaps: np.ndarray) -> list[np.ndarray]:
    """Row indices of each overlap."""
    order = np.argsort(overlaps, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(overlaps[order])) + 1) if len(order) else []


def reviewer_agreement(
    tree: Tree, category_ids: np.ndarray, answers: Answers, shared: Answers
) -> dict[int, ReviewerAgreement]:
    top = ancestor_at(tree, 1)
    others: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    disagree: dict[int, Counter[int]] = defaultdict(Counter)
    for rows in _groups(shared.overlap):
        for i in rows:
            r, node = int(shared.reviewer[i]), int(shared.node[i])
            agree = sum(int(shared.node[j]) == node for j in rows if j != i)
            others[r][0] += agree
            others[r][1] += len(rows) - 1
            if agree < len(rows) - 1:
                disagree[r][int(top[node])] += 1
    out: dict[int, ReviewerAgreement] = {}
    for r in sorted(set(answers.reviewer.tolist())):
        mine = answers.take(answers.reviewer == r)
        out[r] = ReviewerAgreement(
            overlap_answers=len(mine),
            vs_adjudicated=_vs_final(tree, mine, mine.adjudicated),
            vs_others=Share(*others.get(r, (0, 0))),
            on_audit=_vs_final(tree, mine, mine.audit),
            disagree_branches=tuple(
                BranchCount(int(category_ids[b]), tree.names[b], n)
                for b, n in sorted(disagree[r].items(), key=lambda kv: (-kv[1], tree.names[kv[0]]))
            )[:TOP_BRANCHES],
        )
    return out


def _vs_final(tree: Tree, mine: Answers, which: np.ndarray) -> Share:
    """Of ``which`` answers on overlaps with a resulting label, those that name it or a
    category under it (a label above the leaf does not contradict a leaf below it)."""
    chosen = which & (mine.final >= 0)
    hits = tree.ancestors[mine.final[chosen], mine.node[chosen]]
    return Share(int(hits.sum()), int(chosen.sum()))


def pair_rows(shared: Answers) -> tuple[PairRow, ...]:
    """Each pair of reviewers who answered the same items, most items in common first."""
    agree: dict[tuple[int, int], int] = Counter()
    for group in _groups(shared.overlap):
        for i, j in combinations(group, 2):
            a, b = sorted((int(shared.reviewer[i]), int(shared.reviewer[j])))
            agree[(a, b)] += int(shared.node[i] == shared.node[j])
    kappas = pairwise_kappa(shared.overlap, shared.reviewer, shared.node)
    rows = [
        PairRow(a, "", b, "", n, Share(agree.get((a, b), 0), n), _none_if_nan(kappa))
        for (a, b), (kappa, n) in kappas.items()
    ]
    return tuple(sorted(rows, key=lambda p: (-p.items, p.first_id, p.second_id or 0)))


def branch_of_overlaps(tree: Tree, shared: Answers) -> dict[int, int]:
    """``{overlap: top-level node}``: the branch of its resulting label, or (while there is
    none) the branch most of its answers name, the first in tree order on a tie."""
    top = ancestor_at(tree, 1)
    out: dict[int, int] = {}
    for rows in _groups(shared.overlap):
        final = int(shared.final[rows[0]])
        if final >= 0:
            out[int(shared.overlap[rows[0]])] = int(top[final])
        else:
            counts = Counter(int(top[int(shared.node[i])]) for i in rows)
            out[int(shared.overlap[rows[0]])] = min(counts, key=lambda b: (-counts[b], b))
    return out


def branch_rows(tree: Tree, category_ids: np.ndarray, shared: Answers) -> tuple[BranchRow, ...]:
    branch = branch_of_overlaps(tree, shared)
    of_row = np.array([branch[int(o)] for o in shared.overlap], dtype=np.int64)
    rows = []
    for b in sorted(set(branch.values()), key=lambda b: tree.names[b]):
        part = shared.take(of_row == b)
        rows.append(
            BranchRow(
                category_id=int(category_ids[b]),
                name=tree.names[b],
                items=len(np.unique(part.overlap)),
                leaf=pair_share(tree, part.overlap, part.node, None),
                alpha_tree=_none_if_nan(krippendorff_alpha(tree, part.overlap, part.node, "tree")),
            )
        )
    return tuple(rows)


def week_rows(tree: Tree, shared: Answers) -> tuple[WeekRow, ...]:
    """Per ISO week of an item's last answer (when it became comparable), oldest first."""
    last: dict[int, str] = {}
    for o, w in zip(shared.overlap.tolist(), shared.week.tolist(), strict=True):
        last[o] = max(last.get(o, w), w)
    of_row = np.array([last[o] for o in shared.overlap.tolist()], dtype=object)
    rows = []
    for week in sorted(set(last.values())):
        part = shared.take(of_row == week)
        items = len(np.unique(part.overlap))
        rows.append(WeekRow(week, items, pair_share(tree, part.overlap, part.node, None)))
    return tuple(rows)


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def median_gap(times: Sequence[datetime]) -> tuple[float | None, int]:
    """``(median seconds, gaps counted)`` between consecutive decisions (sorted ``times``),
    gaps longer than ``SESSION_GAP_SECONDS`` (a break) left out; None without a gap."""
    gaps = [
        seconds
        for a, b in zip(times, times[1:], strict=False)
        if (seconds := (b - a).total_seconds()) <= SESSION_GAP_SECONDS
    ]
    return (statistics.median(gaps) if gaps else None), len(gaps)
