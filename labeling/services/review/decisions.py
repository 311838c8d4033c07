"""The decisions a reviewer takes on the review card: accept or correct, skip, "not in the
taxonomy", undo. Who holds which queue entry (leases) and the skip memory are ``leases``.

What a decision writes
    One ``Label`` (source ``review``) through ``label_create``, with the model version and
    the candidates the reviewer saw (``prediction_shown``, in the shape ``shown`` defines,
    taken from a signed token the page carried, so it is what was on screen, not what a
    later rescore says), ``is_audit`` when the entry came from the random audit slice, and
    the page's idempotency key (a double click or a retry writes one label). The item's
    queue entry is deleted.

    Nothing is lost to timing: a decision posted after its lease expired, or after a queue
    rebuild dropped the entry, is still saved. If *someone else* labelled the item in the
    meantime (the item's current label is no longer the one the page was shown with, and
    it has another author and another category), the decision is saved with
    ``context="conflict"`` and a note naming the other label; it supersedes that label in
    the ledger, so adjudication is "list labels with context conflict" and both decisions
    stay visible. Two reviewers who agree are not a conflict.

A note on the decision
    Optional, on any decision from the card (``note``: the reviewer's words, up to
    ``DECISION_NOTE_MAX`` characters), stored on the label (``Label.note``) with a conflict's
    note after it: the ledger's API (``?note=``), ``export_labels --ledger --note`` and the
    item's ledger page find and show it, for whoever checks or adjudicates the label.

"Not in the taxonomy"
    A proposal, never a label: a ``Proposal`` row with the reviewer's words, the item and
    what the page showed. A wooden puzzle once became "Apparel > Tops" because the proposal
    was a label on a guessed "closest category"; now only an ancestor the reviewer explicitly
    picks as sure (``vouched``) is labelled, and nothing is by default. Admins group, dismiss
    or turn proposals into draft categories (``labeling.services.taxonomy.proposals``).

Undo
    ``review_undo`` retracts the reviewer's newest label of this session (a retraction row;
    the ledger is append-only) and puts the item back on top of the reviewer's queue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from labeling.models import (
    Category,
    Item,
    Label,
    ModelVersion,
    Overlap,
    OverlapAnswer,
    QueueEntry,
    ReviewSkip,
    TaxonomyVersion,
)
from labeling.services.errors import ServiceError
from labeling.services.review import decision_reads as reads
from labeling.services.review.labels import label_create, label_retract
from labeling.services.review.leases import lease_seconds, review_release
from labeling.services.review.overlap import (
    overlap_answer,
    overlap_answer_undo,
    overlap_route,
)
from labeling.services.review.shown import prediction_shown

SHOWN_SALT = "taxoloop.review.shown"
SHOWN_MAX_AGE = 7 * 24 * 3600  # a page left open over a weekend may still be submitted

BAD_SHOWN = "This review form is damaged or too old; reload the page and decide again."
CATEGORY_MISSING = "Pick a category: a candidate (1–9), a search result or a node of the tree."
CATEGORY_UNKNOWN = "Category #{pk} does not exist; reload the page and pick again."
NOTE_TOO_LONG = (
    "The note is {n:,} characters long; a note on a decision takes at most {limit:,}. "
    "Nothing was saved."
)
DECISION_NOTE_MAX = 2000
NOTHING_TO_UNDO = "Nothing to undo: you have not labelled anything in this session."
NOT_YOUR_LABEL = "Label #{pk} is not one of your review decisions; only your own can be undone."

CONTEXT_QUEUE = "queue"
CONTEXT_CONFLICT = "conflict"
CONFLICT_NOTE = (
    "Conflict: item was labelled meanwhile by {author} as {path!r} (label #{pk}); "
    "both decisions are in the ledger for adjudication."
)


class ReviewError(ServiceError):
    pass


# -- skips ---------------------------------------------------------------------------------------


def review_skip(*, reviewer: AbstractBaseUser, shown: ShownCard) -> None:
    """Give the entry back to the pool and remember, for ``SKIP_REMEMBER_HOURS``, that this
    reviewer skipped its item: it is not handed to them again in any session."""
    with transaction.atomic():
        review_release(reviewer=reviewer, entry_id=shown.entry)
        ReviewSkip.objects.update_or_create(
            reviewer=reviewer, item_id=shown.item, defaults={"created_at": timezone.now()}
        )


# -- what the page showed ----------------------------------------------------------------------


@dataclass(frozen=True)
class ShownCard:
    """What a review page showed for one item; travels signed in the form."""

    entry: int
    item: int
    reason: str
    detail: dict[str, Any]
    candidates: list[dict[str, Any]]
    model_version: int | None
    base_label: int | None  # the item's current label when the page was rendered
    audit: bool
    key: str = field(default_factory=lambda: f"review:{uuid.uuid4().hex}")
    confidence: float | None = None  # the prediction's; tokens signed before it have none
    answers_needed: int = 1  # reviewers who answer the entry blind (overlap when > 1)

    @classmethod
    def of(cls, entry: QueueEntry, candidates: list[dict[str, Any]] | None = None) -> ShownCard:
        """``candidates``: as the page shows them (mapped to the current version, see
        ``labeling.selectors.category_index.candidates_in_version``); default: the prediction's."""
        prediction = getattr(entry.item, "prediction", None)
        if candidates is None:
            candidates = list(prediction.candidates) if prediction is not None else []
        mv = entry.model_version_id or (prediction.model_version_id if prediction else None)
        return cls(
            entry=entry.pk,
            item=entry.item_id,
            reason=entry.reason,
            detail=dict(entry.detail or {}),
            candidates=candidates,
            model_version=mv,
            base_label=entry.item.current_label_id,
            audit=entry.reason == QueueEntry.Reason.AUDIT,
            confidence=prediction.confidence if prediction is not None else None,
            answers_needed=entry.answers_needed,
        )

    def sign(self) -> str:
        return signing.dumps(vars(self), salt=SHOWN_SALT, compress=True)

    @classmethod
    def load(cls, token: str) -> ShownCard:
        try:
            data = signing.loads(token or "", salt=SHOWN_SALT, max_age=SHOWN_MAX_AGE)
            return cls(**data)
        except (signing.BadSignature, TypeError) as exc:
            raise ReviewError(BAD_SHOWN) from exc

    def prediction_shown(self) -> dict[str, Any]:
        """The ``prediction_shown`` JSON of a label or proposal from this page."""
        return prediction_shown(
            candidates=self.candidates,
            model_version=self.model_version,
            confidence=self.confidence,
            reason=self.reason,
            detail=self.detail,
        )


# -- decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    label: Label
    created: bool  # False: a replay of the same idempotency key
    conflict: Label | None = None  # the other reviewer's label this one contradicts
    overlap: Overlap | None = None  # an overlap answer's overlap (the label is not the item's)


def category_for(pk: object) -> Category:
    """The category a form named, or a ReviewError saying what is wrong.

    Read with its version and, in the same query, ``current_version_id`` (the current
    taxonomy version's id): the page needs the current version anyway, and when the category
    belongs to it (the usual case) that is one round trip instead of two.
    """
    if pk in (None, ""):
        raise ReviewError(CATEGORY_MISSING)
    try:
        category = reads.category_with_version(int(str(pk)))
    except ValueError as exc:
        raise ReviewError(CATEGORY_UNKNOWN.format(pk=pk)) from exc
    if category is None:
        raise ReviewError(CATEGORY_UNKNOWN.format(pk=pk))
    return category


def review_decide(
    *,
    reviewer: AbstractBaseUser,
    shown: ShownCard,
    category: Category,
    context: str = CONTEXT_QUEUE,
    note: str = "",
    version: TaxonomyVersion | None = None,
) -> Decision:
    """Write the reviewer's decision for ``shown.item`` (see the module docstring).

    ``note``: the reviewer's note on it (optional; refused past ``DECISION_NOTE_MAX``).
    ``version``: the current taxonomy version when the caller has already read it (the
    review page reads it once per request); ``label_create`` reads it otherwise.
    """
    note = decision_note_clean(note)
    with transaction.atomic():
        item = reads.locked_item(
            item_id=shown.item, key=shown.key, model_version=shown.model_version, reviewer=reviewer
        )
        if item.replay_id is not None:
            return Decision(label=Label.objects.get(pk=item.replay_id), created=False)
        route = overlap_route(
            item=item,
            live_overlap=item.overlap_id,
            reliability=item.reliability,
            answers_needed=shown.answers_needed,
            reason=shown.reason,
        )
        if route is not None:
            answer = overlap_answer(
                item=item,
                reviewer=reviewer,
                category=category,
                needed=route[0],
                why=route[1],
                model_version=ModelVersion(pk=item.model_id) if item.model_id else None,
                prediction_shown=shown.prediction_shown(),
                is_audit=shown.audit,
                note=note,
                idempotency_key=shown.key,
                version=version,
            )
            return Decision(label=answer.label, created=True, overlap=answer.overlap)
        conflict = _conflicting_label(item, shown, reviewer, category)
        if conflict is not None:
            context = CONTEXT_CONFLICT
            note = _join(note, _conflict_note(conflict))
        label = label_create(
            item=item,
            category=category,
            author=reviewer,
            source=Label.Source.REVIEW,
            version=version,
            # A reference by id (checked to exist above): only the foreign key is written.
            model_version=ModelVersion(pk=item.model_id) if item.model_id else None,
            prediction_shown=shown.prediction_shown(),
            is_audit=shown.audit,
            context=context,
            note=note,
            idempotency_key=shown.key,
            locked=True,  # _locked_item took the lock and looked the key up (replay_id)
        )
        QueueEntry.objects.filter(item_id=item.pk).delete()
    return Decision(label=label, created=True, conflict=conflict)


def decision_note_clean(note: str | None) -> str:
    """A reviewer's note as stored: line breaks as ``\\n``, no spaces around it; a
    ReviewError past ``DECISION_NOTE_MAX`` characters."""
    cleaned = (note or "").replace("\r\n", "\n").strip()
    if len(cleaned) > DECISION_NOTE_MAX:
        raise ReviewError(NOTE_TOO_LONG.format(n=len(cleaned), limit=DECISION_NOTE_MAX))
    return cleaned


def _conflicting_label(
    item: Item, shown: ShownCard, reviewer: AbstractBaseUser, category: Category
) -> Label | None:
    if item.current_label_id is None or item.current_label_id == shown.base_label:
        return None
    current = Label.objects.select_related("category", "author").get(pk=item.current_label_id)
    if current.author_id == reviewer.pk or current.category_id == category.pk:
        return None
    return current


def _conflict_note(other: Label) -> str:
    if other.author:
        author = other.author.get_username()
    else:
        author = "an overlap's agreement" if other.context == "agreed" else "an import"
    return CONFLICT_NOTE.format(author=author, path=other.category.path, pk=other.pk)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def review_undo(*, reviewer: AbstractBaseUser, label_id: int | None) -> Label:
    """Retract the reviewer's label ``label_id`` and give its item back to the reviewer on top
    of their queue; returns the retraction. Idempotent: undoing twice writes one retraction."""
    if label_id is None:
        raise ReviewError(NOTHING_TO_UNDO)
    label = Label.objects.filter(pk=label_id, kind=Label.Kind.LABEL).first()
    if label is None or label.author_id != reviewer.pk or label.source != Label.Source.REVIEW:
        raise ReviewError(NOT_YOUR_LABEL.format(pk=label_id))
    with transaction.atomic():
        answer = OverlapAnswer.objects.filter(label=label).first()
        if answer is not None:  # an overlap answer: its overlap reopens
            needed = answer.overlap.needed
            retraction = overlap_answer_undo(answer=answer, reviewer=reviewer)
        else:
            needed = 1
            retraction = label_retract(
                label=label, author=reviewer, note="undo", idempotency_key=f"undo:{label.pk}"
            )
        _requeue(label, reviewer, needed)
    return retraction


def _requeue(label: Label, reviewer: AbstractBaseUser, needed: int = 1) -> QueueEntry:
    shown = label.prediction_shown or {}
    top = QueueEntry.objects.aggregate(m=Max("priority"))["m"] or 0.0
    entry, _ = QueueEntry.objects.update_or_create(
        item_id=label.item_id,
        defaults={
            "reason": shown.get("reason") or QueueEntry.Reason.RE_REVIEW,
            "detail": shown.get("detail") or {},
            "model_version_id": label.model_version_id,
            "priority": top + 1.0,
            "lease_holder": reviewer,
            "lease_expires_at": timezone.now() + timedelta(seconds=lease_seconds()),
            "answers_needed": needed,
        },
    )
    return entry
