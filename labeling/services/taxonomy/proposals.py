"""Reviewers' "not in the taxonomy" proposals (``labeling.models.Proposal``): grouped by
similarity, dismissed, or turned into draft categories.

Two proposals group when their notes are the same or nearly so (character trigram Jaccard
>= ``TEXT_THRESHOLD`` on the normalised note: "Smart rings" and "smart ring" join), or when
their items are close in the cached embeddings (cosine >= ``threshold``), or when they flag
the same item. Groups are the connected components of those links (union-find), so a flag
with the same note as six others is one group of seven, whether or not its item has an
embedding. Proposals are few (tens to hundreds; the page reads at most 500), so pairwise
comparisons in numpy and Python are enough, and no clustering library is needed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from labeling.models import Category, Proposal, Taxonomy, TaxonomyVersion
from labeling.services.errors import ServiceError
from labeling.services.learning import ml
from labeling.services.taxonomy.drafts import category_add, draft_open, draft_start

DEFAULT_THRESHOLD = 0.75
TEXT_THRESHOLD = 0.6
NO_PROPOSALS = "Pick at least one proposal."
UNKNOWN_PROPOSALS = "Proposal(s) {ids} do not exist or are no longer open."


class TaxonomyProposalError(ServiceError):
    pass


@dataclass(frozen=True)
class ProposalGroup:
    proposals: list[Proposal]
    suggested_name: str
    suggested_parent: Category | None

    @property
    def proposal_ids(self) -> list[int]:
        return [proposal.pk for proposal in self.proposals]


def unit_features(item_ids: Sequence[int]) -> np.ndarray:
    """``(n, d)`` L2-normalised features (text and image side by side, missing = 0); a row
    of zeros for an item with no embedding at all."""
    parts = [np.nan_to_num(m, nan=0.0) for m in ml.item_features(item_ids).values() if m.size]
    if not parts:
        return np.zeros((len(item_ids), 0), dtype=np.float32)
    x = np.concatenate([_normalise(p) for p in parts], axis=1)
    return _normalise(x)


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def trigrams(text: str) -> frozenset[str]:
    padded = f"  {normalised(text)} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def text_links(texts: Sequence[str], threshold: float = TEXT_THRESHOLD) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, whose notes are the same or nearly (trigram Jaccard)."""
    grams = [trigrams(t) for t in texts]
    links = []
    for i in range(len(grams)):
        for j in range(i + 1, len(grams)):
            union = len(grams[i] | grams[j])
            if union and len(grams[i] & grams[j]) / union >= threshold:
                links.append((i, j))
    return links


def vector_links(x: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs of rows of ``x`` (unit rows; zero rows have no embedding) with cosine >= threshold."""
    if not x.size:
        return []
    sims = x @ x.T
    present = np.any(x != 0, axis=1)
    close = (sims >= threshold) & present[:, None] & present[None, :]
    i, j = np.nonzero(np.triu(close, k=1))
    return list(zip(i.tolist(), j.tolist(), strict=True))


def components(n: int, links: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Connected components of ``n`` nodes under ``links``, each in index order, ordered by
    their first index."""
    parent = list(range(n))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for a in range(n):
        groups.setdefault(root(a), []).append(a)
    return list(groups.values())


def proposal_groups(
    *, proposals: Sequence[Proposal], threshold: float = DEFAULT_THRESHOLD
) -> list[ProposalGroup]:
    """``proposals`` grouped by note and item similarity, biggest group first (then newest)."""
    proposals = list(proposals)
    if not proposals:
        return []
    links = text_links([p.text for p in proposals])
    links += vector_links(unit_features([p.item_id for p in proposals]), threshold)
    first_of_item: dict[int, int] = {}
    for i, p in enumerate(proposals):
        links.append((first_of_item.setdefault(p.item_id, i), i))
    groups = [[proposals[i] for i in rows] for rows in components(len(proposals), links)]
    groups.sort(key=len, reverse=True)
    return [_group(members) for members in groups]


def _group(members: list[Proposal]) -> ProposalGroup:
    texts = Counter(p.text for p in members if p.text)
    parents = Counter(p.vouched for p in members if p.vouched is not None)
    return ProposalGroup(
        proposals=members,
        suggested_name=texts.most_common(1)[0][0] if texts else "",
        suggested_parent=parents.most_common(1)[0][0] if parents else None,
    )


def _open(ids: Sequence[int]) -> list[Proposal]:
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not wanted:
        raise TaxonomyProposalError(NO_PROPOSALS)
    found = list(
        Proposal.objects.select_for_update().filter(pk__in=wanted, status=Proposal.Status.OPEN)
    )
    missing = sorted(set(wanted) - {p.pk for p in found})
    if missing:
        raise TaxonomyProposalError(UNKNOWN_PROPOSALS.format(ids=", ".join(map(str, missing))))
    return found


@transaction.atomic
def proposal_category_create(
    *,
    taxonomy: Taxonomy,
    proposal_ids: Sequence[int],
    name: str,
    parent_key: str | None,
    author: AbstractBaseUser | None,
) -> tuple[TaxonomyVersion, Category]:
    """Add the category a group of proposals asks for to the taxonomy's open draft (starting
    one when there is none); the reviewers' words become its synonyms, and the proposals are
    accepted (they name the new category)."""
    proposals = _open(proposal_ids)
    draft = draft_open(taxonomy=taxonomy) or draft_start(taxonomy=taxonomy, author=author)
    synonyms = [
        t
        for t in dict.fromkeys(p.text for p in proposals)
        if t and t.casefold() != name.strip().casefold()
    ]
    category = category_add(
        draft=draft,
        parent_key=parent_key,
        name=name,
        author=author,
        synonyms=synonyms,
        description=f"Proposed by reviewers for {len(proposals)} item(s).",
    )
    _resolve(proposals, Proposal.Status.ACCEPTED, author, category=category)
    return draft, category


@transaction.atomic
def proposal_dismiss(*, proposal_ids: Sequence[int], author: AbstractBaseUser | None) -> int:
    """Dismiss open proposals (the taxonomy has their category, or will not); how many."""
    proposals = _open(proposal_ids)
    _resolve(proposals, Proposal.Status.DISMISSED, author)
    return len(proposals)


def _resolve(
    proposals: Sequence[Proposal],
    status: str,
    author: AbstractBaseUser | None,
    category: Category | None = None,
) -> None:
    Proposal.objects.filter(pk__in=[p.pk for p in proposals]).update(
        status=status,
        category=category,
        resolved_by=author if author is not None and author.pk else None,
        resolved_at=timezone.now(),
    )
