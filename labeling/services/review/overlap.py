"""Overlap and adjudication (issue 16): some items are answered by several reviewers, blind
to each other, and a person with the authority decides when they disagree.

Which items
    A taxonomy version's ``overlap_share`` of the queue (a stable hash of the item, so a
    rebuild picks the same ones) plus every audit item go to ``overlap_reviewers`` reviewers
    (``QueueEntry.answers_needed``, set by the queue build through ``answers_needed``). A lone
    answer of a reviewer whose estimated reliability is below ``SECOND_OPINION_BELOW``
    (``TAXOLOOP``, default 0.9; ``labeling.services.review.reliability``) goes to a second
    reviewer the same way (``Overlap.Why.SECOND_OPINION``).

Answers
    Each answer is a ledger row with ``context="overlap"`` that is never the item's current
    label, so it neither trains the model nor shows on another reviewer's card. The queue
    entry stays in the pool until ``needed`` answers are in; the lease never hands it again
    to a reviewer who answered it (``leases``). A reviewer who answers again (a second tab)
    replaces their answer: the first is retracted in the ledger.

Resolution
    Answers agree when they name the same node at the overlap's ``depth`` (the version's
    ``adjudication_depth``; None: the same leaf). Agreed: the item is labelled with their
    lowest common ancestor (the leaf when they name one leaf), ``context="agreed"``, with no
    author (it is nobody's decision: the answers are; the note names their authors).
    Disputed: the item waits in the adjudication queue and trains on *neither* answer until
    an adjudicator decides (``adjudicate``): the decision is the item's label,
    ``context="adjudicated"``, and the answers stay in the ledger with their authors. Why
    neither rather than the answers' common ancestor: the team simulation's ``--disputed``
    comparison (docs/results/issue-16) measures both.

A resolution whose answers belong to a taxonomy version that is no longer current (a publish
came in between) is disputed: an adjudicator decides it in the current tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from labeling.models import (
    Category,
    Item,
    Label,
    ModelVersion,
    Overlap,
    OverlapAnswer,
    QueueEntry,
    TaxonomyVersion,
)
from labeling.services.errors import ServiceError
from labeling.services.review.labels import OVERLAP_ANSWER, label_create, label_retract

AGREED = "agreed"
AGREED_NOTE = "agreed by {names} (overlap #{pk})"
ADJUDICATED = "adjudicated"
DEFAULT_SECOND_OPINION_BELOW = 0.9
DEFAULT_SECOND_OPINION_EVIDENCE = 20

NOT_DISPUTED = "Overlap #{pk} is {status}, not waiting for an adjudicator; reload the page."
ALREADY_ADJUDICATED = (
    "Label #{pk} is an answer to an item an adjudicator has already decided; it cannot be undone."
)
BAD_SHARE = "The overlap share must be a number from 0 to 1, got {value!r}."
BAD_REVIEWERS = "Reviewers per overlap item must be a whole number from 2 to 5, got {value!r}."
BAD_DEPTH = "The adjudication depth must be empty (the leaf) or a whole number >= 1, got {value!r}."


class OverlapError(ServiceError):
    pass


# -- which items -------------------------------------------------------------------------------


def overlap_unit(item_id: int, version_id: int) -> float:
    """A stable number in [0, 1) per (version, item): the item is overlapped below the share."""
    digest = hashlib.sha256(f"overlap:{version_id}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def answers_needed(*, item_id: int, version: TaxonomyVersion, reason: str) -> int:
    """How many reviewers answer a queue item queued for ``reason``: ``overlap_reviewers``
    for an audit item or one in the version's overlap share, else 1 (and 1 for a re-review:
    a labelled item gets one person's second look)."""
    if reason == QueueEntry.Reason.RE_REVIEW:
        return 1
    audit = reason == QueueEntry.Reason.AUDIT
    if audit or overlap_unit(item_id, version.pk) < version.overlap_share:
        return int(version.overlap_reviewers)
    return 1


def second_opinion_evidence() -> int:
    """``TAXOLOOP["SECOND_OPINION_MIN_SHARED"]`` (default 20): a reviewer's answers on items
    others answered too before their reliability can send anything for a second opinion
    (without overlap every reviewer sits at the team prior, which says nothing of them)."""
    return int(settings.TAXOLOOP.get("SECOND_OPINION_MIN_SHARED", DEFAULT_SECOND_OPINION_EVIDENCE))


def second_opinion_below() -> float:
    """``TAXOLOOP["SECOND_OPINION_BELOW"]``: reliability under which a lone answer gets a
    second reviewer's (0 turns second opinions off)."""
    return float(settings.TAXOLOOP.get("SECOND_OPINION_BELOW", DEFAULT_SECOND_OPINION_BELOW))


def overlap_route(
    *,
    item: Item,
    live_overlap: int | None,
    reliability: float | None,
    answers_needed: int,
    reason: str,
) -> tuple[int, str] | None:
    """Whether a review decision on ``item`` is an overlap answer: ``(needed, why)``, or None
    for a plain label. ``live_overlap``: the item's open or disputed overlap; ``reliability``:
    the deciding reviewer's (None: not estimated, or on too few shared answers); ``answers_needed`` and ``reason``: the queue entry's, as shown."""
    if live_overlap is not None:
        return 0, ""
    if item.current_label_id is not None or reason == QueueEntry.Reason.RE_REVIEW:
        return None
    if answers_needed > 1:
        audit = reason == QueueEntry.Reason.AUDIT
        return answers_needed, Overlap.Why.AUDIT if audit else Overlap.Why.SAMPLE
    if reliability is not None and reliability < second_opinion_below():
        return 2, Overlap.Why.SECOND_OPINION
    return None


@transaction.atomic
def overlap_settings_update(
    *, version: TaxonomyVersion, share: object, reviewers: object, depth: object
) -> TaxonomyVersion:
    """Set a version's overlap share, reviewers per overlap item and adjudication depth
    (None or "": the leaf); an ``OverlapError`` naming the bad value, nothing changed."""
    try:
        share_f = float(str(share))
    except ValueError:
        raise OverlapError(BAD_SHARE.format(value=share)) from None
    if not 0.0 <= share_f <= 1.0:
        raise OverlapError(BAD_SHARE.format(value=share))
    if isinstance(reviewers, bool) or str(reviewers).strip() not in {"2", "3", "4", "5"}:
        raise OverlapError(BAD_REVIEWERS.format(value=reviewers))
    depth_i: int | None = None
    if depth not in (None, ""):
        text = str(depth).strip()
        if isinstance(depth, bool) or not text.isdigit() or int(text) < 1:
            raise OverlapError(BAD_DEPTH.format(value=depth))
        depth_i = int(text)
    version.overlap_share = share_f
    version.overlap_reviewers = int(str(reviewers).strip())
    version.adjudication_depth = depth_i
    version.save(update_fields=["overlap_share", "overlap_reviewers", "adjudication_depth"])
    _queue_follow(version)
    return version


def _queue_follow(version: TaxonomyVersion) -> None:
    """The version's waiting queue entries take the new settings at once (not at the next
    rebuild); entries whose overlap already has answers keep theirs."""
    entries = QueueEntry.objects.filter(model_version__taxonomy_version=version).exclude(
        item__overlaps__status__in=_LIVE
    )
    rows = list(entries.values_list("pk", "item_id", "reason"))
    by_need: dict[int, list[int]] = {}
    for pk, item_id, reason in rows:
        need = answers_needed(item_id=item_id, version=version, reason=reason)
        by_need.setdefault(need, []).append(pk)
    for need, pks in by_need.items():
        for start in range(0, len(pks), 5000):
            QueueEntry.objects.filter(pk__in=pks[start : start + 5000]).update(answers_needed=need)


# -- answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerOutcome:
    label: Label  # the reviewer's answer (a ledger row that is not the item's label)
    overlap: Overlap
    created: bool  # False: a replay of the same form


def overlap_answer(
    *,
    item: Item,
    reviewer: AbstractBaseUser,
    category: Category,
    needed: int,
    why: str,
    model_version: ModelVersion | None,
    prediction_shown: dict,
    is_audit: bool,
    note: str,
    idempotency_key: str,
    version: TaxonomyVersion | None = None,
) -> AnswerOutcome:
    """Record ``reviewer``'s answer to ``item`` (locked by the caller, inside its transaction)
    in its live overlap, opening one (``needed`` answers, for ``why``) when there is none, and
    resolve the overlap when its answers are in. The item's queue entry goes back to the pool
    while answers are missing and is deleted when they are all in."""
    overlap = Overlap.objects.filter(item=item, status__in=_LIVE).first()
    if overlap is None:
        target = version or category.version
        overlap = Overlap.objects.create(
            item=item,
            taxonomy_version=target,
            why=why,
            needed=max(2, needed),
            depth=target.adjudication_depth,
        )
    label = label_create(
        item=item,
        category=category,
        author=reviewer,
        source=Label.Source.REVIEW,
        version=version,
        model_version=model_version,
        prediction_shown=prediction_shown,
        is_audit=is_audit,
        context=OVERLAP_ANSWER,
        note=note,
        idempotency_key=idempotency_key,
        current=False,
    )
    previous = OverlapAnswer.objects.filter(overlap=overlap, reviewer=reviewer).first()
    if previous is not None:  # the same reviewer again (another tab): the newest answer counts
        if previous.label_id != label.pk:
            label_retract(label=previous.label, author=reviewer, note="answered again")
        previous.delete()
    OverlapAnswer.objects.create(overlap=overlap, item=item, reviewer=reviewer, label=label)
    if overlap.status == Overlap.Status.OPEN and overlap.answers.count() >= overlap.needed:
        _resolve(overlap)
    if overlap.status == Overlap.Status.OPEN:
        QueueEntry.objects.filter(item=item).update(
            lease_holder=None, lease_expires_at=None, answers_needed=overlap.needed
        )
    else:
        QueueEntry.objects.filter(item=item).delete()
    return AnswerOutcome(label=label, overlap=overlap, created=True)


_LIVE = (Overlap.Status.OPEN, Overlap.Status.DISPUTED)


def _resolve(overlap: Overlap) -> None:
    """All answers are in: label the item with what they agree on, or wait for adjudication."""
    answers = list(
        Label.objects.filter(overlap_answer__overlap=overlap)
        .select_related("category", "category__version")
        .order_by("created_at", "id")
    )
    categories = [a.category for a in answers if a.category is not None]
    lca = common_ancestor(categories)
    depth = overlap.depth
    agree = lca is not None and (
        lca.depth >= depth if depth is not None else all(c.pk == lca.pk for c in categories)
    )
    version = categories[0].version if categories else None
    if agree and lca is not None and version is not None and version.is_current:
        overlap.label = label_create(
            item=overlap.item,
            category=lca,
            author=None,  # the answers' consensus, nobody's decision: theirs are the answers
            source=Label.Source.REVIEW,
            version=version,
            model_version=answers[-1].model_version,
            prediction_shown=answers[-1].prediction_shown,
            is_audit=any(a.is_audit for a in answers),
            context=AGREED,
            note=AGREED_NOTE.format(
                names=", ".join(a.author.get_username() for a in answers if a.author),
                pk=overlap.pk,
            ),
        )
        overlap.status = Overlap.Status.AGREED
        overlap.resolved_at = timezone.now()
    else:
        overlap.status = Overlap.Status.DISPUTED
    overlap.save(update_fields=["label", "status", "resolved_at"])


def common_ancestor(categories: Sequence[Category]) -> Category | None:
    """The deepest category that is each one's ancestor or itself; None when they share no
    top-level branch (or there are none)."""
    if not categories:
        return None
    chains = [[*c.ancestors(), c] for c in categories]
    common: Category | None = None
    for level in zip(*chains, strict=False):
        if any(node.pk != level[0].pk for node in level):
            break
        common = level[0]
    return common


# -- adjudication ------------------------------------------------------------------------------


def adjudicate(
    *,
    overlap: Overlap,
    adjudicator: AbstractBaseUser,
    category: Category,
    note: str = "",
    idempotency_key: str | None = None,
) -> Label:
    """The adjudicator's decision on a disputed overlap: the item's label
    (``context="adjudicated"``); the answers stay in the ledger. Replaying the same
    ``idempotency_key`` returns the first decision."""
    with transaction.atomic():
        Item.objects.select_for_update().get(pk=overlap.item_id)
        overlap = Overlap.objects.get(pk=overlap.pk)
        if idempotency_key and overlap.label_id is not None:
            done = Label.objects.filter(idempotency_key=idempotency_key).first()
            if done is not None:
                return done
        if overlap.status != Overlap.Status.DISPUTED:
            raise OverlapError(NOT_DISPUTED.format(pk=overlap.pk, status=overlap.status))
        label = label_create(
            item=overlap.item,
            category=category,
            author=adjudicator,
            source=Label.Source.REVIEW,
            context=ADJUDICATED,
            note=note,
            idempotency_key=idempotency_key,
        )
        overlap.label = label
        overlap.adjudicator = adjudicator
        overlap.status = Overlap.Status.ADJUDICATED
        overlap.resolved_at = timezone.now()
        overlap.save(update_fields=["label", "adjudicator", "status", "resolved_at"])
        QueueEntry.objects.filter(item_id=overlap.item_id).delete()
    return label


# -- undo --------------------------------------------------------------------------------------


def overlap_answer_undo(*, answer: OverlapAnswer, reviewer: AbstractBaseUser) -> Label:
    """Take back an overlap answer (the caller requeues the item): retract it in the ledger,
    reopen its overlap and, when it had agreed, retract the agreed label too. An answer to an
    adjudicated overlap cannot be undone (an ``OverlapError``)."""
    overlap = Overlap.objects.select_for_update().get(pk=answer.overlap_id)
    if overlap.status == Overlap.Status.ADJUDICATED:
        raise OverlapError(ALREADY_ADJUDICATED.format(pk=answer.label_id))
    if overlap.status == Overlap.Status.AGREED and overlap.label is not None:
        label_retract(label=overlap.label, author=reviewer, note="an answer was undone")
    label = answer.label
    answer.delete()
    overlap.status = Overlap.Status.OPEN
    overlap.label = None
    overlap.resolved_at = None
    overlap.save(update_fields=["status", "label", "resolved_at"])
    return label_retract(
        label=label, author=reviewer, note="undo", idempotency_key=f"undo:{label.pk}"
    )
