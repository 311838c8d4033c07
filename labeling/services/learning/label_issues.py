"""Suspected label errors of a taxonomy version (issue 17), stored for the review queue.

``label_issues_refresh(version=...)`` reads the version's current labels and their embeddings
as a training run does (``training_data.current_labels``, ``ml.item_features``; items without
any embedding left out), fits ``LABEL_ERRORS_FOLDS`` (5) models with the training's
``MODEL_PARAMS``, each on the other folds, so that every label is judged by a model that never
saw it (items with the same normalised title or an identical text embedding share a fold:
``classifier.splits.duplicate_groups``), and runs ``classifier.label_errors.label_issues`` on
those out-of-fold probabilities (both filters, ranked by the probability of the given label,
lowest first). Partial labels (an inner node) train but are not judged.

The version's ``SuspectedLabelError`` rows are then replaced in one transaction, with a
``LabelErrorScan`` row saying what the pass read and found; the version row is locked for the
write so two passes never interleave. Each flag names the ``Label`` it judged, read in the same
query as the labels, and is live only while that label is its item's current label
(``labeling.selectors.label_errors``): a new label, a retraction or a re-review decision ends it.
The queue sends live flags to ``re-review`` (``labeling.services.review.queue_re_review``).

It skips, with the reason logged and nothing written (the previous flags stay, and go stale as
their labels change), below ``LABEL_ERRORS_MIN_LABELS`` (100) usable labels, when fewer than two
leaves have two labels each (no class to mistake a label for; a class's only label is never
flagged), or with fewer distinct titles than folds.

A pass costs ``LABEL_ERRORS_FOLDS`` fits of the training's model, each on 80% of the labels (as a
run's fit is): about five times a training run's fitting. ``label_issues_after_training`` (the end of a run that built a model)
sends ``find_label_errors_task`` once the run commits; ``manage.py find_label_errors`` runs it
by hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from classifier.label_errors import LabelIssues, label_issues, out_of_fold_proba
from classifier.splits import duplicate_groups
from labeling.models import LabelErrorScan, SuspectedLabelError, TaxonomyVersion, TrainingRun
from labeling.services import dispatch
from labeling.services.learning.ml import VersionTree, item_features, version_tree
from labeling.services.learning.training_data import LabelSet, current_labels, has_features

log = logging.getLogger(__name__)

DEFAULT_MIN_LABELS = 100
DEFAULT_FOLDS = 5
SEED = 0
FILTER_BY = "both"
RANK_BY = "self_confidence"
# A class needs this many labels for its items to be judged (``label_issues``' default).
MIN_CLASS_SIZE = 2

TOO_FEW_LABELS = "skipped: {n} usable labels, fewer than LABEL_ERRORS_MIN_LABELS ({minimum})"
TOO_FEW_CLASSES = (
    "skipped: {k} leaf categories have {size} or more labels; a label can only be suspected "
    "of belonging to another"
)
TOO_FEW_GROUPS = "skipped: {groups} distinct titles, fewer than the {folds} folds"
FLAGGED = "{flags} suspected label errors among {labels} labels ({seconds:.1f} s)"


@dataclass(frozen=True)
class LabelErrorConfig:
    """``settings.TAXOLOOP``'s LABEL_ERRORS_MIN_LABELS (100), LABEL_ERRORS_FOLDS (5) and the
    training's MODEL_PARAMS (the out-of-fold models are the model the loop trains)."""

    min_labels: int
    folds: int
    model_params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls) -> LabelErrorConfig:
        conf = settings.TAXOLOOP
        return cls(
            min_labels=int(conf.get("LABEL_ERRORS_MIN_LABELS", DEFAULT_MIN_LABELS)),
            folds=int(conf.get("LABEL_ERRORS_FOLDS", DEFAULT_FOLDS)),
            model_params=dict(conf.get("MODEL_PARAMS", {})),
        )


@dataclass(frozen=True)
class LabelIssuesOutcome:
    """What a pass did: the labels it judged, the flags it stored, or why it skipped."""

    labels: int
    flags: int
    seconds: float
    scan: LabelErrorScan | None = None
    skipped: str = ""

    def line(self) -> str:
        if self.skipped:
            return f"{self.skipped} ({self.seconds:.1f} s)"
        return FLAGGED.format(flags=self.flags, labels=self.labels, seconds=self.seconds)


def label_issues_due(*, version: TaxonomyVersion) -> bool:
    """Whether the last pass over ``version`` is older than ``LABEL_ERRORS_EVERY_MINUTES``
    (default 60; 0: after every training). A pass costs five fits of the model, and a busy
    team trains every few minutes; ``manage.py find_label_errors`` runs one any time."""
    minutes = float(settings.TAXOLOOP.get("LABEL_ERRORS_EVERY_MINUTES", 60))
    last = LabelErrorScan.objects.filter(taxonomy_version=version).order_by("-created_at").first()
    return last is None or timezone.now() - last.created_at >= timedelta(minutes=minutes)


def label_issues_refresh(
    *,
    version: TaxonomyVersion,
    training_run: TrainingRun | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LabelIssuesOutcome:
    """Judge every current label of ``version`` out of fold and replace its stored flags.

    ``training_run``: the run that asked for the pass (kept on the scan); ``progress(done,
    folds)`` after each out-of-fold fit.
    """
    started = time.perf_counter()
    config = LabelErrorConfig.from_settings()
    vt = version_tree(version)
    labels, features = _usable(version, vt)
    groups = _groups(labels, features)
    skipped = _skip_reason(labels, vt, groups, config)
    if skipped:
        outcome = LabelIssuesOutcome(len(labels), 0, time.perf_counter() - started, None, skipped)
        log.info("label errors of %s: %s", version, outcome.line())
        return outcome
    oof = out_of_fold_proba(
        vt.tree,
        features,
        labels.nodes,
        n_folds=config.folds,
        seed=SEED,
        groups=groups,
        params=config.model_params,
        progress=progress,
    )
    issues = label_issues(
        vt.tree.leaf_index[labels.nodes], oof, filter_by=FILTER_BY, rank_by=RANK_BY
    )
    seconds = time.perf_counter() - started
    scan = _store(version, training_run, labels, issues, vt, config, seconds)
    outcome = LabelIssuesOutcome(len(labels), len(issues), seconds, scan)
    log.info("label errors of %s: %s", version, outcome.line())
    return outcome


def label_issues_after_training(*, run: TrainingRun, labels: int) -> bool:
    """Send ``find_label_errors_task`` for ``run``'s version once the current transaction
    commits, when the run had ``LABEL_ERRORS_MIN_LABELS`` usable labels; True when asked."""
    if labels < LabelErrorConfig.from_settings().min_labels:
        return False
    dispatch.enqueue_on_commit("find_label_errors_task", run.taxonomy_version_id, run.pk)
    return True


def _usable(version: TaxonomyVersion, vt: VersionTree) -> tuple[LabelSet, dict[str, np.ndarray]]:
    """Current labels of items with at least one embedding, and their features (modalities
    with no dimension left out), as training reads them."""
    labels = current_labels(version, vt)
    features = item_features(labels.item_ids)
    usable = has_features(features)
    return labels.subset(usable), {m: x[usable] for m, x in features.items() if x.shape[1]}


def _groups(labels: LabelSet, features: Mapping[str, np.ndarray]) -> np.ndarray:
    if not len(labels):
        return np.zeros(0, dtype=np.int64)
    return duplicate_groups(titles=labels.titles, vectors=features.get("text"))


def _skip_reason(
    labels: LabelSet, vt: VersionTree, groups: np.ndarray, config: LabelErrorConfig
) -> str:
    if len(labels) < config.min_labels:
        return TOO_FEW_LABELS.format(n=len(labels), minimum=config.min_labels)
    columns = vt.tree.leaf_index[labels.nodes]
    counts = np.bincount(columns[columns >= 0], minlength=vt.tree.n_leaves)
    judged = int((counts >= MIN_CLASS_SIZE).sum())
    if judged < 2:
        return TOO_FEW_CLASSES.format(k=judged, size=MIN_CLASS_SIZE)
    n_groups = len(np.unique(groups))
    if n_groups < config.folds:
        return TOO_FEW_GROUPS.format(groups=n_groups, folds=config.folds)
    return ""


def _store(
    version: TaxonomyVersion,
    training_run: TrainingRun | None,
    labels: LabelSet,
    issues: LabelIssues,
    vt: VersionTree,
    config: LabelErrorConfig,
    seconds: float,
) -> LabelErrorScan:
    """Replace the version's flags by ``issues`` (rows of ``labels``), in one transaction."""
    label_ids = labels.label_ids
    if label_ids is None:
        raise ValueError("label_issues_refresh needs the labels' ids (current_labels reads them)")
    leaf_categories = vt.category_ids[vt.tree.leaves]
    with transaction.atomic():
        # Two passes of one version (two trainings in a row) write one after the other.
        list(TaxonomyVersion.objects.select_for_update().filter(pk=version.pk).values("pk"))
        SuspectedLabelError.objects.filter(taxonomy_version=version).delete()
        scan = LabelErrorScan.objects.create(
            taxonomy_version=version,
            training_run=training_run,
            label_count=len(labels),
            flag_count=len(issues),
            seconds=round(seconds, 3),
            config={
                "folds": config.folds,
                "filter_by": FILTER_BY,
                "rank_by": RANK_BY,
                "model_params": dict(config.model_params),
            },
        )
        SuspectedLabelError.objects.bulk_create(
            [
                SuspectedLabelError(
                    scan=scan,
                    taxonomy_version=version,
                    item_id=int(labels.item_ids[flag["index"]]),
                    label_id=int(label_ids[flag["index"]]),
                    given_id=int(leaf_categories[flag["given"]]),
                    suggested_id=int(leaf_categories[flag["suggested"]]),
                    p_given=float(flag["p_given"]),
                    p_suggested=float(flag["p_suggested"]),
                    score=float(flag["score"]),
                    rank=rank,
                )
                for rank, flag in enumerate(issues.records())
            ],
            batch_size=1000,
        )
    return scan
