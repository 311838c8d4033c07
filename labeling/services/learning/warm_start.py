"""Warm start across taxonomy versions: a published version's first model begins from the
model of the version it was published from, instead of from nothing.

It applies while the version has no trained model of its own (none active, or only the
cold start) and its predecessor (``TaxonomyVersion.based_on``) has an active trained one.
Each leaf of the new tree names the old leaves it comes from (``WarmStart.sources``), read
from what the publish stored:

- kept, renamed or moved (``CategoryMapping`` same/renamed/moved): its own old key;
- merged: every old category mapped onto it (the target's own key among them);
- a child created by a split (``TaxonomyOperation`` split payload): the old categories of
  the split node, shared equally among its children;
- added, deprecated, or only reachable through an old inner node: none (the cold start:
  category names and prototypes). Deprecated labels roll up to the parent (an inner node,
  no head of its own), and a deprecated leaf is not to be predicted any more.

Only old *leaves* are named: the old model's probability mass lives on them, and every old
leaf has its own mapping row, so naming an old inner node too would hand its leaves' mass to
a second claimant (a leaf moved out from under it, say).

A predecessor model that cannot be loaded or does not fit the new features (an encoder
changed in between) is logged and the run trains cold: a warm start is a head start, never
a reason for a training to fail.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.model.warm_start import WarmStart
from classifier.tree import Tree
from labeling.models import CategoryMapping, ModelVersion, TaxonomyOperation, TaxonomyVersion
from labeling.services.learning.ml import VersionTree, active_model_version, load_model

log = logging.getLogger(__name__)

COLD_START_KIND = "cold_start"
# Mapping kinds whose old category lends its head to the new one (not "deprecated").
HEAD_KINDS = (
    CategoryMapping.Kind.SAME,
    CategoryMapping.Kind.RENAMED,
    CategoryMapping.Kind.MOVED,
    CategoryMapping.Kind.MERGED,
    CategoryMapping.Kind.SPLIT,
)


@dataclass(frozen=True)
class WarmStartPlan:
    """A ready ``WarmStart`` and the predecessor model it comes from."""

    warm_start: WarmStart
    source_model: ModelVersion

    def config(self) -> dict[str, Any]:
        """The record kept in the new model's config: the old model and every leaf whose
        sources are not simply its own old key (merges, splits, new categories)."""
        sources = self.warm_start.sources
        return {
            "model": self.source_model.pk,
            "taxonomy_version": self.source_model.taxonomy_version_id,
            "sources": {k: list(v) for k, v in sources.items() if list(v) != [k]},
        }

    def metrics(self) -> dict[str, Any]:
        """The summary kept in the new model's metrics."""
        sources = self.warm_start.sources
        return {
            "model": self.source_model.pk,
            "taxonomy_version": self.source_model.taxonomy_version_id,
            "inherited": sum(1 for v in sources.values() if v),
            "cold": sum(1 for v in sources.values() if not v),
        }


def warm_start_plan(
    version: TaxonomyVersion, vt: VersionTree, features: Mapping[str, np.ndarray]
) -> WarmStartPlan | None:
    """The warm start for training ``version`` now (module docstring), or None."""
    if not _without_trained_model(version):
        return None
    previous = predecessor_model(version)
    if previous is None:
        return None
    try:
        old = load_model(previous)
        warm = WarmStart(old, warm_start_sources(version, vt.tree, old.tree))
        _check_fits(warm, vt.tree, features)
    except Exception:
        log.warning(
            "model %s of the previous taxonomy version cannot warm-start version %s; "
            "training from scratch",
            previous.pk,
            version.pk,
            exc_info=True,
        )
        return None
    return WarmStartPlan(warm, previous)


def _without_trained_model(version: TaxonomyVersion) -> bool:
    active = active_model_version(version)
    return active is None or active.config.get("kind") == COLD_START_KIND


def predecessor_model(version: TaxonomyVersion) -> ModelVersion | None:
    """The active trained model of the version ``version`` was published from, if any (a
    cold-start model knows nothing the new version's own cold start would not)."""
    if version.based_on_id is None:
        return None
    previous = ModelVersion.objects.filter(
        taxonomy_version_id=version.based_on_id, status=ModelVersion.Status.ACTIVE
    ).first()
    if previous is None or previous.config.get("kind") == COLD_START_KIND:
        return None
    return previous


def warm_start_sources(version: TaxonomyVersion, new: Tree, old: Tree) -> dict[str, list[str]]:
    """``{new leaf key: sorted old leaf keys}`` for every leaf of ``new`` (module docstring)."""
    into: defaultdict[str, set[str]] = defaultdict(set)
    rows = CategoryMapping.objects.filter(new_version=version, kind__in=HEAD_KINDS).values_list(
        "old_category__key", "new_category__key"
    )
    for old_key, new_key in rows:
        into[new_key].add(old_key)
    splits = TaxonomyOperation.objects.filter(
        version=version, kind=TaxonomyOperation.Kind.SPLIT
    ).order_by("id")
    for op in splits:  # in order: a child split again passes its sources on
        for child in op.payload.get("children", []):
            into[child] |= into.get(op.payload["key"], set())
    leaves = [new.keys[node] for node in new.leaves]
    return {key: sorted(k for k in into.get(key, ()) if _is_leaf(old, k)) for key in leaves}


def _is_leaf(tree: Tree, key: str) -> bool:
    return tree.is_leaf(tree.index_of(key))


def _check_fits(warm: WarmStart, tree: Tree, features: Mapping[str, np.ndarray]) -> None:
    """Raise now what ``fit`` would raise: unknown keys, changed feature widths."""
    warm.check(tree, {m: int(x.shape[1]) for m, x in features.items() if x.shape[1]})
    warm.shares(tree)
