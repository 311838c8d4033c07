"""A learning curve with a held-out audit slice and auto-accept certified on it (issue 17).

As ``loop.run_curve``, except that each batch gives a uniform random share to audit
(``audit_quota``: ``LoopSettings.audit_share``, raised while the pooled unit lacks labels):
audit items are labelled, count against the budget, and are never trained on, as the
product holds its audit slice out. The rest of the batch is chosen by the strategy (the
queue without its own audit reason, which this slice replaces). Every round reports the
auto-accept figures of ``certify_report.certify_round``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from classifier.simulate.certify_report import audit_quota, certify_round
from classifier.simulate.loop import (
    MODALITIES,
    QUEUE,
    LoopSettings,
    Row,
    Task,
    evaluate_model,
    fit_model,
    make_strategy,
    seed_set,
    select_batch,
    take,
)

AUDIT_STREAM = 17  # the audit draws' own random stream, apart from seeds and strategies


def run_certify_curve(
    task: Task, strategy: str, repeat: int, settings: LoopSettings,
    on_round: Callable[[Row], None] | None = None,
) -> list[Row]:  # fmt: skip
    """Rows of test metrics and auto-accept figures after each round, up to
    ``settings.budget`` labels, audit labels included."""
    assert settings.target_precision is not None
    labelled = seed_set(task.n_train, settings, repeat)
    audit = np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng([settings.seed, repeat, AUDIT_STREAM])
    chooser = make_strategy(strategy, task, settings, repeat)
    budget = min(settings.budget, task.n_train)
    rows: list[Row] = []
    while True:
        started = time.perf_counter()
        model = fit_model(task, labelled, settings, seed=settings.seed + repeat)
        spent = len(labelled) + len(audit)
        row: Row = {
            "modality": task.modality, "strategy": strategy, "repeat": repeat,
            "n_labels": spent, "n_train_labels": len(labelled), "n_audit": len(audit),
        }  # fmt: skip
        row.update(evaluate_model(task, model, settings.threshold))
        pool = np.setdiff1d(np.arange(task.n_train), np.concatenate([labelled, audit]))
        figures, wanted = _certify(task, model, audit, pool, settings.target_precision)
        row.update(figures)
        n = min(settings.batch, budget - spent, len(pool))
        if n <= 0:
            rows.append(_timed(row, started, on_round))
            return rows
        quota = audit_quota(n, wanted, settings.audit_share, settings.max_audit_share)
        new_audit = rng.choice(pool, size=quota, replace=False)
        held = np.concatenate([audit, new_audit])
        picks = _training_picks(chooser, strategy, model, task, labelled, held, n - quota, settings)
        labelled, audit = np.concatenate([labelled, picks]), held
        rows.append(_timed(row, started, on_round))


def _certify(
    task: Task, model: Any, audit: np.ndarray, pool: np.ndarray, target: float
) -> tuple[Row, int]:
    proba_pool = np.asarray(model.predict_proba(take(task.X_train, pool)))
    proba_audit = (
        np.asarray(model.predict_proba(take(task.X_train, audit)))
        if len(audit)
        else np.zeros((0, task.tree.n_leaves))
    )
    y = task.y_train
    return certify_round(task.tree, proba_audit, y[audit], proba_pool, y[pool], target)


def _training_picks(
    chooser: Any, strategy: str, model: Any, task: Task, labelled: np.ndarray,
    held: np.ndarray, n: int, settings: LoopSettings,
) -> np.ndarray:  # fmt: skip
    """Train-pool indices of ``n`` items to train on, never an audit item (``held``)."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if strategy != QUEUE:
        excluded = np.concatenate([labelled, held])
        return select_batch(
            chooser, strategy, model, task, excluded, n, settings.diverse, settings.threshold
        )
    from classifier.simulate.queue_mix import QUEUE_QUOTAS, select_queue_batch

    pool = np.setdiff1d(np.arange(task.n_train), np.concatenate([labelled, held]))
    quotas = {r: q for r, q in QUEUE_QUOTAS.items() if r != "audit"}
    modalities = tuple(MODALITIES[task.modality])
    picks = select_queue_batch(
        model, take(task.X_train, pool), take(task.X_train, labelled), modalities, n,
        int(len(labelled) + len(held)), settings.threshold, base_quotas=quotas,
    )  # fmt: skip
    return pool[picks]


def _timed(row: Row, started: float, on_round: Callable[[Row], None] | None) -> Row:
    row["round_seconds"] = round(time.perf_counter() - started, 3)
    if on_round is not None:
        on_round(row)
    return row
