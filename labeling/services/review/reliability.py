"""How far each reviewer can be trusted, from the team's answers (issue 16).

What is estimated
    Dawid–Skene (``classifier.reliability``) over the top-level branches of one taxonomy
    version: each reviewer's confusion between branches, hence ``accuracy`` (the probability
    that their answer is in the right top-level branch) and ``trust[branch key]`` (the
    probability that an answer of theirs in that branch is right). Mixing up two sibling
    leaves is a guideline problem; putting shoes under bags is not being reliable.

From which answers
    The version's standing ledger rows (never retracted) of source ``review`` with an author:
    overlap answers (``context="overlap"``) and adjudicators' decisions (``"adjudicated"``),
    grouped by item: the adjudicator is one more reviewer on the item. Plain review labels
    (queue, conflict, report corrections) are each a single answer of their own: they count in
    ``answers`` but never estimate a confusion, because a second answer there (a correction)
    is not a random sample of the author's work. ``"agreed"`` labels are the answers'
    consensus, nobody's answer. One answer per reviewer and item: their newest. Only items
    with two or more answers estimate confusions (``shared``); a reviewer with none gets the
    team's pooled confusion, i.e. starts as an average member of the team.

How it is used
    Training weighs a label by its author's trust in the label's branch
    (``labeling.services.learning.label_weights``; ``TAXOLOOP["RELIABILITY_WEIGHTS"]``), and a
    lone answer of a reviewer whose accuracy is below ``SECOND_OPINION_BELOW`` gets a second
    reviewer's (``labeling.services.review.overlap.overlap_route``).

Refreshed by ``reliability_refresh_task`` (beat, hourly) and at the start of a training run
(``reliability_refresh_stale``: only when the ledger moved since the last estimate).
``ReviewerReliability`` is one row per user: with several taxonomies, the last version
refreshed holds it (branch keys are stable, so its trust still reads across versions).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Exists, Max, OuterRef

from classifier.reliability import Reliability, dawid_skene
from labeling.models import Label, ReviewerReliability, TaxonomyVersion
from labeling.services.learning.ml import VersionTree, version_tree
from labeling.services.review.labels import OVERLAP_ANSWER
from labeling.services.review.overlap import ADJUDICATED, AGREED

log = logging.getLogger(__name__)

SHARED_CONTEXTS = (OVERLAP_ANSWER, ADJUDICATED)  # answers grouped by item
LEDGER_CHUNK = 5000


@dataclass(frozen=True)
class AnswerTriples:
    """``(m,)`` int arrays, one row per answer: group (an item, or a plain label's own),
    reviewer index into ``authors`` (user ids), answered top-level branch."""

    items: np.ndarray
    reviewers: np.ndarray
    branches: np.ndarray
    authors: list[int]
    n_items: int


def reliability_refresh(*, version: TaxonomyVersion) -> list[ReviewerReliability]:
    """Estimate every author's reliability from ``version``'s ledger and store it (one
    ``ReviewerReliability`` per author; rows of this version whose author has no answer left
    are deleted). Returns the stored rows, by user id."""
    started = time.perf_counter()
    rows = _ledger_answers(version)
    if not rows:
        ReviewerReliability.objects.filter(taxonomy_version=version).delete()
        return []
    vt = version_tree(version)
    branch_of, keys = top_branches(vt)
    triples = answer_triples(rows, branch_of)
    fit = dawid_skene(
        triples.items,
        triples.reviewers,
        triples.branches,
        n_items=triples.n_items,
        n_reviewers=len(triples.authors),
        n_classes=len(keys),
    )
    saved = _store(version, _estimates(version, triples, fit, keys))
    log.info(
        "reviewer reliability of taxonomy version %s: %d reviewers, %d answers on %d items "
        "(%d shared), %.2f s",
        version.pk,
        len(triples.authors),
        len(triples.items),
        triples.n_items,
        int(_shared_mask(triples).sum()),
        time.perf_counter() - started,
    )
    return saved


def reliability_refresh_stale(*, version: TaxonomyVersion) -> list[ReviewerReliability] | None:
    """``reliability_refresh`` when the version's ledger has a row newer than its estimates
    (or there are none yet); None when they are up to date. Two queries when nothing moved."""
    newest = Label.objects.filter(taxonomy_version=version).aggregate(t=Max("created_at"))["t"]
    estimated = ReviewerReliability.objects.filter(taxonomy_version=version).aggregate(
        t=Max("updated_at")
    )["t"]
    if newest is None or (estimated is not None and newest <= estimated):
        return None
    return reliability_refresh(version=version)


def top_branches(vt: VersionTree) -> tuple[dict[int, int], list[str]]:
    """``{category id: branch index}`` (the category's top-level ancestor, or itself) and the
    branches' keys, in node order."""
    tree = vt.tree
    tops = [tree.path(node)[0] for node in range(len(vt.category_ids))]
    roots = sorted(set(tops))
    index = {root: i for i, root in enumerate(roots)}
    branch_of = {int(c): index[top] for c, top in zip(vt.category_ids, tops, strict=True)}
    return branch_of, [tree.keys[root] for root in roots]


def _ledger_answers(version: TaxonomyVersion) -> list[tuple[int, int, int, bool]]:
    """``(item id, author id, category id, shared)`` of every standing review answer, oldest
    first (so a reviewer's newest answer on an item wins)."""
    retracted = Label.objects.filter(retracts=OuterRef("pk"))
    rows = (
        Label.objects.filter(
            taxonomy_version=version,
            kind=Label.Kind.LABEL,
            source=Label.Source.REVIEW,
            author__isnull=False,
        )
        .exclude(context=AGREED)
        .exclude(Exists(retracted))
        .order_by("created_at", "id")
        .values_list("item_id", "author_id", "category_id", "context")
    )
    return [
        (item, author, category, context in SHARED_CONTEXTS)
        for item, author, category, context in rows.iterator(chunk_size=LEDGER_CHUNK)
    ]


def answer_triples(
    rows: list[tuple[int, int, int, bool]], branch_of: dict[int, int]
) -> AnswerTriples:
    """Group the answers: shared ones by item, each plain one alone; one per reviewer and
    group (the last row wins)."""
    latest: dict[tuple[int, int, bool], int] = {}
    for item, author, category, shared in rows:
        latest[(item, author, shared)] = branch_of[category]
    groups: dict[tuple[int, int | None], int] = {}
    authors: dict[int, int] = {}
    triples = []
    for (item, author, shared), branch in latest.items():
        group = (item, None if shared else author)  # a plain answer: a group of its own
        g = groups.setdefault(group, len(groups))
        triples.append((g, authors.setdefault(author, len(authors)), branch))
    items, reviewers, branches = (np.array(c, dtype=np.int64) for c in zip(*triples, strict=True))
    return AnswerTriples(items, reviewers, branches, list(authors), len(groups))


def _shared_mask(triples: AnswerTriples) -> np.ndarray:
    """``(m,)`` bool: the answer is on a group with two or more answers."""
    per_group = np.bincount(triples.items, minlength=triples.n_items)
    return per_group[triples.items] >= 2


def _estimates(
    version: TaxonomyVersion, triples: AnswerTriples, fit: Reliability, keys: list[str]
) -> list[ReviewerReliability]:
    n, k = len(triples.authors), len(keys)
    answers = np.bincount(triples.reviewers, minlength=n)
    shared = np.bincount(triples.reviewers[_shared_mask(triples)], minlength=n)
    trust = fit.answer_trust(np.repeat(np.arange(n), k), np.tile(np.arange(k), n)).reshape(n, k)
    accuracy = fit.accuracy()
    return [
        ReviewerReliability(
            user_id=user,
            taxonomy_version=version,
            accuracy=float(accuracy[r]),
            answers=int(answers[r]),
            shared=int(shared[r]),
            trust={key: round(float(t), 6) for key, t in zip(keys, trust[r], strict=True)},
        )
        for r, user in enumerate(triples.authors)
    ]


def _store(
    version: TaxonomyVersion, estimates: list[ReviewerReliability]
) -> list[ReviewerReliability]:
    users = [e.user_id for e in estimates]
    with transaction.atomic():
        ReviewerReliability.objects.bulk_create(
            estimates,
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["taxonomy_version", "accuracy", "answers", "shared", "trust"]
            + ["updated_at"],
        )
        ReviewerReliability.objects.filter(taxonomy_version=version).exclude(
            user_id__in=users
        ).delete()
    return list(ReviewerReliability.objects.filter(taxonomy_version=version).order_by("user_id"))
