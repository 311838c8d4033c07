"""Read side of the label ledger, of its overlaps (issue 16) and of reviewers' reliability.

Blindness: an overlap answer (a ledger row with ``context="overlap"``) is hidden while its
overlap is open or disputed from everyone but its author and adjudicators (taxonomy admins and
superusers included), and so is the retraction of one. An answer its author replaced or undid
is no longer linked to the overlap: it stays hidden while its item has a live overlap. The
caller says who reads (``LedgerViewer``: the roles are the entry points' business,
``labeling.roles.is_adjudicator``); a reader it does not name (``viewer=None``) sees no hidden
answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from labeling.models import Category, Label, Overlap, OverlapAnswer, ReviewerReliability
from labeling.selectors.taxonomy import current_version

LABEL_RELATED = ("item", "category", "author", "retracts")
OVERLAP_CONTEXT = "overlap"  # labeling.services.review.labels.OVERLAP_ANSWER
LIVE = (Overlap.Status.OPEN, Overlap.Status.DISPUTED)
RESOLVED = (Overlap.Status.AGREED, Overlap.Status.ADJUDICATED)


@dataclass(frozen=True)
class LedgerViewer:
    """Who reads: their user id, and whether they see overlap answers before resolution
    (adjudicators, taxonomy admins and superusers: ``labeling.roles.is_adjudicator``)."""

    user_id: int | None
    sees_every_answer: bool = False


Viewer: TypeAlias = LedgerViewer | None


def sees_every_answer(viewer: Viewer) -> bool:
    return viewer is not None and viewer.sees_every_answer


def _viewer_id(viewer: Viewer) -> int | None:
    return viewer.user_id if viewer is not None else None


def _blind(label: str, context: str, author: str, viewer_id: int | None) -> Q:
    """Rows whose ``label`` (a lookup to a ledger row) is an answer hidden from the viewer."""
    linked = OverlapAnswer.objects.filter(label_id=OuterRef(label))
    live_item = Overlap.objects.filter(item_id=OuterRef("item_id"), status__in=LIVE)
    hidden = Q(**{context: OVERLAP_CONTEXT}) & (
        Q(Exists(linked.filter(overlap__status__in=LIVE)))
        | (~Q(Exists(linked)) & Q(Exists(live_item)))
    )
    return hidden & ~Q(**{author: viewer_id}) if viewer_id is not None else hidden


def labels_visible_to(labels: QuerySet[Label], *, viewer: Viewer) -> QuerySet[Label]:
    """``labels`` without the overlap answers (and their retractions) ``viewer`` may not see."""
    if sees_every_answer(viewer):
        return labels
    viewer_id = _viewer_id(viewer)
    answers = _blind("pk", "context", "author_id", viewer_id)
    retractions = Q(retracts__isnull=False) & _blind(
        "retracts_id", "retracts__context", "retracts__author_id", viewer_id
    )
    return labels.exclude(answers).exclude(retractions)


def label_list(
    *,
    item_id: int | None = None,
    category_id: int | None = None,
    source: str | None = None,
    author: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    version_id: int | None = None,
    note: str | None = None,
    viewer: Viewer = None,
) -> QuerySet[Label]:
    """Ledger lines ``viewer`` may see, newest first, matching every given filter (``author``
    is a username, ``note`` a piece of the line's note, in any case)."""
    filters = {
        "item_id": item_id,
        "category_id": category_id,
        "source": source,
        "author__username": author,
        "kind": kind,
        "created_at__gte": since,
        "taxonomy_version_id": version_id,
    }
    labels = Label.objects.select_related(*LABEL_RELATED).order_by("-created_at", "-id")
    if note:
        labels = labels.filter(note__icontains=note)
    labels = labels.filter(**{key: value for key, value in filters.items() if value is not None})
    return labels_visible_to(labels, viewer=viewer)


def label_get(*, pk: int) -> Label | None:
    return Label.objects.select_related(*LABEL_RELATED).filter(pk=pk).first()


def label_by_idempotency_key(*, key: str) -> Label | None:
    """The ledger line an earlier request wrote with this idempotency key, if any."""
    return Label.objects.select_related(*LABEL_RELATED).filter(idempotency_key=key).first()


def category_by_path_or_key(*, name: str) -> Category | None:
    """A category of the current taxonomy version named by its path, else by its key."""
    version = current_version()
    if version is None:
        return None
    categories = Category.objects.filter(version=version)
    return categories.filter(path=name).first() or categories.filter(key=name).first()


# -- overlaps ----------------------------------------------------------------------------------

OVERLAP_RELATED = ("item", "label__category", "adjudicator")


def overlap_list(
    *,
    viewer: Viewer,
    status: str | None = None,
    why: str | None = None,
    item: str | None = None,
    reviewer: str | None = None,
) -> QuerySet[Overlap]:
    """Overlaps, newest first, each with ``answers_in`` (how many answers are in). ``item`` is
    an external id; ``reviewer`` a username, matched only on the answers ``viewer`` may see
    (a plain reviewer: anyone's on a resolved overlap, their own on a live one)."""
    overlaps = Overlap.objects.select_related(*OVERLAP_RELATED).order_by("-created_at", "-pk")
    filters = {"status": status, "why": why, "item__external_id": item}
    overlaps = overlaps.filter(**{key: value for key, value in filters.items() if value})
    if reviewer:
        answered = overlap_answers_visible_to(
            OverlapAnswer.objects.filter(overlap_id=OuterRef("pk"), reviewer__username=reviewer),
            viewer=viewer,
        )
        overlaps = overlaps.filter(Exists(answered))
    return overlaps.annotate(answers_in=Count("answers"))


def overlap_get(*, pk: int) -> Overlap | None:
    """Overlap ``pk`` with ``answers_in``, as ``overlap_list`` gives it."""
    return (
        Overlap.objects.select_related(*OVERLAP_RELATED)
        .annotate(answers_in=Count("answers"))
        .filter(pk=pk)
        .first()
    )


def overlap_answers_visible_to(
    answers: QuerySet[OverlapAnswer], *, viewer: Viewer
) -> QuerySet[OverlapAnswer]:
    if sees_every_answer(viewer):
        return answers
    own = Q(reviewer_id=_viewer_id(viewer)) if _viewer_id(viewer) is not None else Q(pk__in=[])
    return answers.filter(Q(overlap__status__in=RESOLVED) | own)


def overlap_answers(
    *, overlap_ids: Iterable[int], viewer: Viewer
) -> dict[int, list[OverlapAnswer]]:
    """The answers ``viewer`` may see of each overlap, oldest first, in one query; each with
    its reviewer, its ledger row and category, and ``retracted`` (a retraction took it back)."""
    rows = overlap_answers_visible_to(
        OverlapAnswer.objects.filter(overlap_id__in=set(overlap_ids)), viewer=viewer
    )
    rows = (
        rows.select_related("reviewer", "label__category")
        .annotate(retracted=Exists(Label.objects.filter(retracts_id=OuterRef("label_id"))))
        .order_by("created_at", "pk")
    )
    found: dict[int, list[OverlapAnswer]] = {}
    for row in rows:
        found.setdefault(row.overlap_id, []).append(row)
    return found


def ledger_overlap_links(*, label_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """Label id -> (overlap id, its status) for the labels that answer an overlap or are its
    resolution (agreed or adjudicated); two queries."""
    ids = set(label_ids)
    answers = OverlapAnswer.objects.filter(label_id__in=ids).values_list(
        "label_id", "overlap_id", "overlap__status"
    )
    resolved = Overlap.objects.filter(label_id__in=ids).values_list("label_id", "pk", "status")
    return {label: (pk, status) for label, pk, status in [*answers, *resolved]}


# -- reliability -------------------------------------------------------------------------------


def reviewer_reliability_list(*, viewer: Viewer) -> QuerySet[ReviewerReliability]:
    """Every reviewer's reliability (by username) for adjudicators and admins; a plain
    reviewer's own row only."""
    rows = ReviewerReliability.objects.select_related("user").order_by("user__username", "pk")
    if sees_every_answer(viewer):
        return rows
    return rows.filter(user_id=_viewer_id(viewer)) if _viewer_id(viewer) else rows.none()


def reliability_by_username(*, usernames: Iterable[str]) -> dict[str, float]:
    """Username -> estimated accuracy, for those who have one; one query."""
    rows = ReviewerReliability.objects.filter(user__username__in=set(usernames))
    return dict(rows.values_list("user__username", "accuracy"))
