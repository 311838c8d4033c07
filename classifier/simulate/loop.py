"""The simulated loop: train on the labelled pool, score the rest, let an oracle label a batch.

An oracle is the held labels of the file: "labelling" an item just reveals its label.
Every round retrains a fresh ``HierarchicalClassifier`` on all labels so far (as the real
system does) and scores it on the held-out test split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifier.certify import MAX_AUDIT_SHARE
from classifier.tree import Tree

Features = dict[str, np.ndarray]
Row = dict[str, Any]

MODALITIES = {"text": ("text",), "image": ("image",), "text+image": ("text", "image")}
COMMITTEE_STRATEGIES = frozenset({"vote_entropy", "consensus_kl"})
QUEUE = "queue"  # the review queue's default mix (classifier/simulate/queue_mix.py)


@dataclass(frozen=True)
class Task:
    """One modality's data: train pool (the oracle's items) and test split, labels as node indices."""

    tree: Tree
    modality: str
    X_train: Features
    y_train: np.ndarray
    X_test: Features
    y_test: np.ndarray

    @property
    def n_train(self) -> int:
        return len(self.y_train)


@dataclass(frozen=True)
class LoopSettings:
    seed_size: int = 100
    batch: int = 100
    budget: int = 2000
    threshold: float = 0.85
    max_epochs: int | None = None
    diverse: bool = False
    seed: int = 0
    target_precision: float | None = None  # auto-accept certified on held-out audit (issue 17)
    audit_share: float = 0.1  # the queue's audit quota (queue_mix.QUEUE_QUOTAS["audit"])
    max_audit_share: float = MAX_AUDIT_SHARE
    lexical: str = "off"  # issue 19: the char n-gram view (classifier/simulate/lexical_loop.py)


def fit_model(task: Task, index: np.ndarray, settings: LoopSettings, seed: int) -> Any:
    """A ``HierarchicalClassifier`` trained on the train items at ``index``."""
    from classifier.model import HierarchicalClassifier

    kwargs: dict[str, Any] = {
        "modalities": MODALITIES[task.modality],
        "seed": seed,
        "thresholds": settings.threshold,
    }
    if settings.max_epochs is not None:
        kwargs["max_epochs"] = settings.max_epochs
    # -- issue 19: the lexical view beside the neural model (off by default) --
    if settings.lexical != "off":
        from classifier.simulate.lexical_loop import fit_with_lexical

        X = take(task.X_train, index)
        return fit_with_lexical(task.tree, X, task.y_train[index], settings.lexical, kwargs)
    # -- end issue 19 --
    model = HierarchicalClassifier(task.tree, **kwargs)
    return model.fit(take(task.X_train, index), task.y_train[index])


def take(X: Features, index: np.ndarray) -> Features:
    return {k: v[index] for k, v in X.items()}


def evaluate_model(task: Task, model: Any, threshold: float) -> Row:
    """Scalar test metrics; nested dicts from ``metrics.evaluate`` are flattened to ``a_b``."""
    from classifier.metrics import evaluate

    proba = model.predict_proba(task.X_test)
    return flatten(evaluate(task.tree, proba, task.y_test, thresholds=threshold))


def flatten(values: Mapping[str, Any], prefix: str = "") -> Row:
    out: Row = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}_"))
        elif isinstance(value, int | float | np.number) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def full_supervision(task: Task, settings: LoopSettings) -> Row:
    """Figures of a model trained on the whole train split."""
    started = time.perf_counter()
    model = fit_model(task, np.arange(task.n_train), settings, settings.seed)
    row = evaluate_model(task, model, settings.threshold)
    row.update(
        n_train=task.n_train,
        n_test=len(task.y_test),
        fit_seconds=round(time.perf_counter() - started, 2),
    )
    if hasattr(model, "temperature_"):
        row["temperature"] = float(model.temperature_)
    return row


def seed_set(n_train: int, settings: LoopSettings, repeat: int) -> np.ndarray:
    """Random seed labels; the same for every strategy within a repeat so curves compare."""
    rng = np.random.default_rng([settings.seed, repeat])
    return rng.choice(n_train, size=min(settings.seed_size, n_train), replace=False)


def run_curve(
    task: Task,
    strategy: str,
    repeat: int,
    settings: LoopSettings,
    on_round: Callable[[Row], None] | None = None,
) -> list[Row]:
    """One learning curve: rows of test metrics after each round, from the seed set up to
    ``settings.budget`` labels (or until the pool runs dry)."""
    labelled = seed_set(task.n_train, settings, repeat)
    rows: list[Row] = []
    chooser = make_strategy(strategy, task, settings, repeat)
    budget = min(settings.budget, task.n_train)
    while True:
        started = time.perf_counter()
        model = fit_model(task, labelled, settings, seed=settings.seed + repeat)
        row: Row = {
            "modality": task.modality,
            "strategy": strategy,
            "repeat": repeat,
            "n_labels": len(labelled),
        }
        row.update(evaluate_model(task, model, settings.threshold))
        if len(labelled) >= budget:
            rows.append(_timed(row, started, on_round))
            return rows
        n = min(settings.batch, budget - len(labelled))
        batch = select_batch(
            chooser, strategy, model, task, labelled, n, settings.diverse, settings.threshold
        )
        labelled = np.concatenate([labelled, batch])
        rows.append(_timed(row, started, on_round))


def _timed(row: Row, started: float, on_round: Callable[[Row], None] | None) -> Row:
    row["round_seconds"] = round(time.perf_counter() - started, 3)
    if on_round is not None:
        on_round(row)
    return row


def make_strategy(name: str, task: Task, settings: LoopSettings, repeat: int) -> Any:
    from classifier.acquisition import get_strategy

    if name == QUEUE:
        return QUEUE  # built each round from the model's predictions (queue_mix)
    kwargs: dict[str, Any] = {}
    if name == "random":
        kwargs["seed"] = settings.seed * 1000 + repeat
    if name == "hierarchical_margin":
        kwargs["tree"] = task.tree
    return get_strategy(name, **kwargs)


def strategy_input(name: str, model: Any, X_pool: Features) -> np.ndarray:
    """What a strategy scores: committee proba ``(m, n, k)``, novelty ``(n,)`` or leaf proba ``(n, k)``."""
    if name in COMMITTEE_STRATEGIES:
        return np.asarray(model.predict_committee(X_pool))
    if name == "novelty":
        return np.asarray(model.novelty(X_pool))
    return np.asarray(model.predict_proba(X_pool))


def select_batch(
    chooser: Any,
    name: str,
    model: Any,
    task: Task,
    labelled: np.ndarray,
    n: int,
    diverse: bool,
    threshold: float = 0.85,
) -> np.ndarray:
    """Train-pool indices of the next ``n`` items to label (``threshold``: the roll-up
    threshold, which the queue's boundary reason walks with)."""
    from classifier.acquisition import DiverseBatch
    from classifier.acquisition.diverse import diversity_embeddings
    from classifier.simulate.queue_mix import select_queue_batch

    pool = np.setdiff1d(np.arange(task.n_train), labelled)
    X_pool = take(task.X_train, pool)
    if name == QUEUE:
        seed = int(len(labelled))  # a different audit draw each round, the same every run
        modalities = tuple(MODALITIES[task.modality])
        X_labelled = take(task.X_train, labelled)
        picks = select_queue_batch(model, X_pool, X_labelled, modalities, n, seed, threshold)
        return pool[picks]
    # Random sampling ignores its input; skip the forward pass over the pool.
    inputs = strategy_input(name, model, X_pool) if getattr(chooser, "needs_input", True) else None
    if diverse:
        blocks = [X_pool[m] for m in MODALITIES[task.modality]]
        # All the columns: the simulator's pools are small enough to skip the projection.
        full_width = sum(block.shape[1] for block in blocks)
        chooser = DiverseBatch(chooser, diversity_embeddings(blocks, dim=full_width))
    # Inputs cover only the pool, so candidates are positions in the pool.
    chosen = chooser.select(inputs, np.arange(len(pool)), n)
    return pool[np.asarray(chosen, dtype=np.int64)]
