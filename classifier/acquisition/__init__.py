"""Sampling strategies: which unlabelled items a reviewer should see next.

Every strategy has ``select(scores_or_proba, candidates, n) -> indices`` (a subset of
``candidates``, most wanted first, ``min(n, len(candidates))`` long) and keeps
``last_scores_`` (one per candidate, higher = more wanted). Labelled items are excluded by
leaving them out of ``candidates``; only the candidates' rows of the input are read.

- Pointwise: ``RandomSampling`` (audit), ``LeastConfidence``, ``Margin``, ``Entropy``,
  ``Novelty``; committee: ``VoteEntropy``, ``ConsensusKL``; tree-aware:
  ``HierarchicalMargin``. ``get_strategy(name, **kwargs)`` builds one of these by name.
- ``DiverseBatch(base, embeddings)`` wraps any of them so a batch holds no near-duplicates.
- ``QuotaMixer(quotas, strategies)`` fills one batch from several reasons by quota and
  says which reason chose each item (``select_with_reasons``).
- The score functions (``top_confidence``, ``margin``, ``entropy``, ``vote_entropy``,
  ``consensus_kl``, ``hierarchical_margin``) give the same numbers for prediction records.
"""

from __future__ import annotations

from typing import Any

from .base import Strategy
from .committee import ConsensusKL, VoteEntropy, consensus_kl, vote_entropy
from .diverse import DiverseBatch
from .hierarchical import HierarchicalMargin, hierarchical_margin
from .mixer import QuotaMixer, apportion
from .pointwise import (
    Entropy,
    LeastConfidence,
    Margin,
    Novelty,
    RandomSampling,
    entropy,
    margin,
    top_confidence,
)

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        RandomSampling,
        LeastConfidence,
        Margin,
        Entropy,
        VoteEntropy,
        ConsensusKL,
        HierarchicalMargin,
        Novelty,
    )
}


def get_strategy(name: str, **kwargs: Any) -> Strategy:
    """Build a strategy by name, e.g. ``get_strategy("hierarchical_margin", tree=tree)``.

    Raises ``ValueError`` listing the known names when ``name`` is unknown.
    """
    try:
        cls = STRATEGIES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown sampling strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}"
        ) from None
    return cls(**kwargs)


__all__ = [
    "STRATEGIES",
    "ConsensusKL",
    "DiverseBatch",
    "Entropy",
    "HierarchicalMargin",
    "LeastConfidence",
    "Margin",
    "Novelty",
    "QuotaMixer",
    "RandomSampling",
    "Strategy",
    "VoteEntropy",
    "apportion",
    "consensus_kl",
    "entropy",
    "get_strategy",
    "hierarchical_margin",
    "margin",
    "top_confidence",
    "vote_entropy",
]
