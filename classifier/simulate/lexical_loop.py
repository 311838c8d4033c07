"""The simulator's ``--lexical`` option (issue 19): a character n-gram view of the title beside
the neural model, as a fused feature, a committee member, or both.

- ``fuse``: ``predict_proba`` is the log-linear pool of the neural model's leaf probabilities
  and the lexical head's (``classifier.lexical.pool``), its weight and temperature fitted on
  held-out predictions of both (no test labels): the out-of-fold logits the estimator already
  computes for its temperature below ``REFIT_BELOW`` labels, its validation split's above.
- ``committee``: the lexical head joins the committee (``predict_committee``, and the queue's
  disagreement reason through ``predict_topk``); ``predict_proba`` stays the neural model's.
- ``both``: the two at once.

The view's IDF is fitted on every item of the file (train and test: the whole catalog the
product would rescore; no labels are read). The neural model is ``HierarchicalClassifier``
unchanged but for keeping the held-out logits it computes anyway (``_HeldOutLogits``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from classifier import lexical
from classifier.model import HierarchicalClassifier, calibration, decision, training
from classifier.tree import Tree

MODES = ("off", "fuse", "committee", "both")
CHARS = "chars"  # the feature key of the view's sparse rows in the simulator's feature dicts


class _HeldOutLogits(HierarchicalClassifier):
    """``HierarchicalClassifier`` that keeps the fused member's held-out logits of its
    calibration: ``held_out_`` = (rows, logits ``(n, k)``) or None.

    ``_cross_fit_temperature`` is the estimator's cross-fit
    (``calibration.cross_fit_temperature``) with its ``keep`` hook set to keep the logits.
    """

    held_out_: tuple[np.ndarray, np.ndarray] | None = None

    def _cross_fit_temperature(self, X, y, folds, train):
        def keep(order: np.ndarray, logits: torch.Tensor) -> None:
            self.held_out_ = (order, logits.numpy())

        return calibration.cross_fit_temperature(self, X, y, folds, train, keep=keep)

    def _fit_temperature(self, feats: dict[str, torch.Tensor], labels: torch.Tensor) -> None:
        super()._fit_temperature(feats, labels)
        if self.held_out_ is None:
            with torch.inference_mode():
                out, _ = self.net_.eval()({m: x.to(self.device) for m, x in feats.items()})
            # rows: the validation split, drawn again in _fit_pool
            self.held_out_ = (np.zeros(0, np.int64), out[0].cpu().numpy())


class LexicalFusion:
    """The neural model with the lexical head beside it, read as the simulator reads a model:
    ``predict_proba``, ``predict_committee``, ``predict_topk``, ``novelty``, ``tree``."""

    def __init__(
        self, model: Any, head: lexical.LexicalHead, mode: str, weight: float, temperature: float
    ) -> None:
        self.model = model
        self.head = head
        self.mode = mode
        self.weight_ = weight
        self.pool_temperature_ = temperature
        self.tree: Tree = model.tree
        self.temperature_ = model.temperature_

    def _neural(self, X: dict[str, Any]) -> dict[str, np.ndarray]:
        return {m: X[m] for m in self.model.modalities_}

    def _answer_and_committee(self, X: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(n, k)`` answer and ``(m, n, k)`` committee from one pass of each model."""
        members = self.model.predict_committee(self._neural(X))
        if self.mode == "off":
            return members[0], members
        q = self.head.predict_proba(X[CHARS])
        answer = members[0]
        if self.mode in ("fuse", "both"):
            answer = lexical.pool(members[0], q, self.weight_, self.pool_temperature_)
        if self.mode in ("committee", "both"):
            members = np.concatenate([members, q[None]], axis=0)
        return answer, members

    def predict_proba(self, X: dict[str, Any]) -> np.ndarray:
        if self.mode not in ("fuse", "both"):
            return self.model.predict_proba(self._neural(X))
        return self._answer_and_committee(X)[0]

    def predict_committee(self, X: dict[str, Any]) -> np.ndarray:
        if self.mode not in ("committee", "both"):
            return self.model.predict_committee(self._neural(X))
        return self._answer_and_committee(X)[1]

    def novelty(self, X: dict[str, Any]) -> np.ndarray:
        return self.model.novelty(self._neural(X))

    def predict_topk(
        self, X: dict[str, Any], k: int = 5
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        proba, members = self._answer_and_committee(X)
        members[0] = proba  # the fused member is what the model answers
        stats = decision.uncertainty(torch.from_numpy(members), torch.from_numpy(proba), k)
        out = {key: v.numpy() for key, v in stats.items()}
        out["novelty"] = self.novelty(X)
        out["decision"] = decision.decide_rows(self.tree, self.model.thresholds, proba)
        top_idx = out.pop("top_idx").astype(np.int32)
        return top_idx, out.pop("top_proba").astype(np.float32), out


def fit_with_lexical(
    tree: Tree, X: dict[str, Any], y: np.ndarray, mode: str, kwargs: dict[str, Any]
) -> LexicalFusion:
    """Fit the neural model (``kwargs`` as the loop's ``fit_model`` builds them) on ``X``'s
    dense modalities and the lexical head on ``X[CHARS]``; in ``fuse``/``both`` fit the pool
    on held-out predictions of both."""
    seed = int(kwargs.get("seed", 0))
    dense = {m: v for m, v in X.items() if m != CHARS}
    model = _HeldOutLogits(tree, **kwargs)
    model.fit(dense, y)
    cols = tree.leaf_index[y]
    head = lexical.LexicalHead(tree.n_leaves, seed=seed).fit(X[CHARS], cols)
    weight, temperature = 0.0, 1.0
    if mode in ("fuse", "both"):
        weight, temperature = _fit_pool(model, X, y, cols, seed)
    return LexicalFusion(model, head, mode, weight, temperature)


def _fit_pool(
    model: _HeldOutLogits, X: dict[str, Any], y: np.ndarray, cols: np.ndarray, seed: int
) -> tuple[float, float]:
    """The pool's weight and temperature on the rows the neural model held out."""
    if model.held_out_ is None:
        return 0.0, 1.0
    rows, logits = model.held_out_
    dense = X[model.modalities_[0]]
    if len(rows) == 0:  # the validation split: the same draw as the estimator's
        groups = training.row_groups(dense)
        _, rows = training.validation_split(y, groups, model.val_fraction, model.seed)
        split = np.zeros(len(y), dtype=np.int64)
        split[rows] = 1
        held_lex = _held_out_lexical(tree_leaves(model), X[CHARS], cols, split, [1], seed)
    else:
        folds = training.group_folds(
            training.row_groups(dense), model.calibration_folds, model.seed
        )
        assert folds is not None  # the estimator cross-fitted with these very folds
        ks = list(range(int(folds.max()) + 1))
        held_lex = _held_out_lexical(tree_leaves(model), X[CHARS], cols, folds, ks, seed)
    p_model = torch.softmax(torch.from_numpy(logits) / model.temperature_, dim=1).numpy()
    keep = cols[rows] >= 0
    return lexical.fit_pool(p_model[keep], held_lex[rows][keep], cols[rows][keep])


def tree_leaves(model: Any) -> int:
    return int(model.tree.n_leaves)


def _held_out_lexical(
    n_leaves: int, S: Any, cols: np.ndarray, folds: np.ndarray, ks: list[int], seed: int
) -> np.ndarray:
    """``(n, n_leaves)`` lexical probabilities of the rows in folds ``ks``, each from a head
    fitted on the rows outside its fold (other rows: 0)."""
    out = np.zeros((len(cols), n_leaves), dtype=np.float32)
    for k in ks:
        held, rest = np.flatnonzero(folds == k), np.flatnonzero(folds != k)
        head = lexical.LexicalHead(n_leaves, seed=seed).fit(S[rest], cols[rest])
        out[held] = head.predict_proba(S[held])
    return out
