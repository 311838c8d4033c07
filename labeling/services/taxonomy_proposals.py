"""Reviewers' "not in the taxonomy" proposals, grouped by similarity, turned into draft
categories.

The review page writes a proposal as a label with ``context="proposal"`` and a note
``"not in taxonomy: <text>"`` (``labeling.services.review``). Grouping uses the items'
cached embeddings (``ml.item_features``): a greedy single pass that joins an item to the
first group whose centroid is within ``threshold`` cosine similarity, else opens a group.
Proposals are few (tens to hundreds), so a pass in numpy is enough and no clustering
library is needed; the order (newest first) makes the groups stable between page loads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from labeling.models import Category, Label, Taxonomy, TaxonomyVersion
from labeling.services import ml
from labeling.services.errors import ServiceError
from labeling.services.taxonomy_drafts import category_add, draft_open, draft_start

DEFAULT_THRESHOLD = 0.75
NOTE_PREFIX = "not in taxonomy:"
NO_PROPOSALS = "Pick at least one proposal to create the category from."
UNKNOWN_PROPOSALS = "Proposal label(s) {ids} do not exist or are not proposals."


class TaxonomyProposalError(ServiceError):
    pass


@dataclass(frozen=True)
class ProposalGroup:
    labels: list[Label]
    suggested_name: str
    suggested_parent: Category | None

    @property
    def label_ids(self) -> list[int]:
        return [label.pk for label in self.labels]


def proposal_text(label: Label) -> str:
    """The reviewer's words without the "not in taxonomy:" prefix."""
    note = label.note.strip()
    return note[len(NOTE_PREFIX):].strip() if note.lower().startswith(NOTE_PREFIX) else note


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


def greedy_groups(x: np.ndarray, threshold: float) -> list[list[int]]:
    """Row indices of ``x`` (unit rows) grouped greedily: each row joins the first group
    whose normalised centroid has cosine >= ``threshold`` with it. A zero row (no features)
    stays alone."""
    groups: list[list[int]] = []
    sums: list[np.ndarray] = []
    for row in range(len(x)):
        vector = x[row]
        best, best_sim = -1, threshold
        if x.shape[1] and np.any(vector):
            for g, total in enumerate(sums):
                norm = np.linalg.norm(total)
                sim = float(vector @ total / norm) if norm > 0 else -1.0
                if sim >= best_sim:
                    best, best_sim = g, sim
        if best < 0:
            groups.append([row])
            sums.append(vector.astype(np.float64).copy())
        else:
            groups[best].append(row)
            sums[best] += vector
    return groups


def proposal_groups(
    *, labels: Sequence[Label], threshold: float = DEFAULT_THRESHOLD
) -> list[ProposalGroup]:
    """``labels`` (proposals) grouped by item similarity, biggest group first."""
    labels = list(labels)
    if not labels:
        return []
    x = unit_features([label.item_id for label in labels])
    groups = [[labels[i] for i in rows] for rows in greedy_groups(x, threshold)]
    groups.sort(key=len, reverse=True)
    return [_group(members) for members in groups]


def _group(members: list[Label]) -> ProposalGroup:
    texts = Counter(proposal_text(label) for label in members if proposal_text(label))
    parents = Counter(label.category for label in members)
    return ProposalGroup(
        labels=members,
        suggested_name=texts.most_common(1)[0][0] if texts else "",
        suggested_parent=parents.most_common(1)[0][0] if parents else None,
    )


@transaction.atomic
def proposal_category_create(
    *,
    taxonomy: Taxonomy,
    label_ids: Sequence[int],
    name: str,
    parent_key: str | None,
    author: AbstractBaseUser | None,
) -> tuple[TaxonomyVersion, Category]:
    """Add the category a group of proposals asks for to the taxonomy's open draft (starting
    one when there is none); the reviewers' words become its synonyms."""
    ids = list(dict.fromkeys(int(i) for i in label_ids))
    if not ids:
        raise TaxonomyProposalError(NO_PROPOSALS)
    labels = list(Label.objects.filter(pk__in=ids, context="proposal", kind=Label.Kind.LABEL))
    missing = sorted(set(ids) - {label.pk for label in labels})
    if missing:
        raise TaxonomyProposalError(UNKNOWN_PROPOSALS.format(ids=", ".join(map(str, missing))))
    draft = draft_open(taxonomy=taxonomy) or draft_start(taxonomy=taxonomy, author=author)
    synonyms = [t for t in dict.fromkeys(proposal_text(label) for label in labels)
                if t and t.casefold() != name.strip().casefold()]
    category = category_add(
        draft=draft, parent_key=parent_key, name=name, author=author, synonyms=synonyms,
        description=f"Proposed by reviewers for {len(labels)} item(s).",
    )
    return draft, category
