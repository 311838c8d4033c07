""" "Not in the taxonomy" from the review card: a proposal, never a label (see
``labeling.services.review.decisions``, whose module docstring tells why)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from labeling.models import Category, Label, Proposal, QueueEntry
from labeling.selectors.taxonomy import current_versions
from labeling.services.review.decisions import ReviewError, ShownCard, review_decide

NOTE_REQUIRED = "Say in a few words which category is missing (the note is required)."
NO_CURRENT_VERSION_FOR_PROPOSAL = "There is no current taxonomy version to propose a category for."
CONTEXT_PROPOSAL = "proposal"
PROPOSAL_NOTE = "not in taxonomy: {text}"


@dataclass(frozen=True)
class ProposalDecision:
    proposal: Proposal
    created: bool  # False: a replay of the same form
    label: Label | None  # the label of the ancestor the reviewer vouched for, if any


def review_propose(
    *, reviewer: AbstractBaseUser, shown: ShownCard, text: str, vouched: Category | None = None
) -> ProposalDecision:
    """Record "not in the taxonomy": a Proposal, not a label (see the module docstring).

    Only an ancestor the reviewer explicitly vouches for (``vouched``) becomes a label, with
    ``context="proposal"``; without one the item stays unlabelled. Either way its queue entry
    is done. Replaying the same form (a retry) records nothing more."""
    text = " ".join((text or "").split())
    if not text:
        raise ReviewError(NOTE_REQUIRED)
    key = f"proposal:{shown.key}"
    with transaction.atomic():
        replay = Proposal.objects.filter(idempotency_key=key).select_related("label").first()
        if replay is not None:
            return ProposalDecision(replay, False, replay.label)
        label = None
        if vouched is not None:
            label = review_decide(
                reviewer=reviewer,
                shown=shown,
                category=vouched,
                context=CONTEXT_PROPOSAL,
                note=PROPOSAL_NOTE.format(text=text),
            ).label
        else:
            QueueEntry.objects.filter(item_id=shown.item).delete()
        version_id = vouched.version_id if vouched is not None else _proposal_version(shown)
        proposal = Proposal.objects.create(
            item_id=shown.item,
            taxonomy_version_id=version_id,
            author=reviewer,
            text=text,
            vouched=vouched,
            label=label,
            model_version_id=shown.model_version,
            prediction_shown=shown.prediction_shown(),
            idempotency_key=key,
        )
    return ProposalDecision(proposal, True, label)


def _proposal_version(shown: ShownCard) -> int:
    """The taxonomy version the page showed: its candidates' (else the current one)."""
    if shown.candidates:
        version = (
            Category.objects.filter(pk=shown.candidates[0]["category"])
            .values_list("version_id", flat=True)
            .first()
        )
        if version is not None:
            return int(version)
    current = current_versions().values_list("pk", flat=True).first()
    if current is None:
        raise ReviewError(NO_CURRENT_VERSION_FOR_PROPOSAL)
    return int(current)
