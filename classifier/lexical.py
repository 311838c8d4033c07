"""A second, lexical view of the text: hashed character n-gram TF-IDF and a linear head.

Product titles are lexical (brands, model numbers, sizes, spellings a sentence encoder blurs).
This view is cheap and has no vocabulary to store: ``CharNgramView`` hashes ``char_wb``
n-grams into ``n_features`` columns and weights them by an IDF fitted on the unlabelled
catalog (no labels involved); ``LexicalHead`` is a linear logistic model over the leaves of a
tree that fits in about a second on a few thousand labels, and ``pool`` fuses its
leaf probabilities with another model's (log-linear pooling, weights fitted on out-of-fold
predictions by ``fit_pool``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

# char_wb 2-5: whole short tokens ("xl", "5kg") and sub-word pieces of brands and kinds.
NGRAM_RANGE = (2, 5)
N_FEATURES = 2**20
# The head: one-vs-rest logistic regression by SGD. Multinomial lbfgs took 20 s on 2,000
# BigBasket titles (436 leaves) and was no more accurate; 5 SGD epochs at this alpha take 0.9 s
# there, within 0.3 points of 20 epochs (measured on BigBasket at 500 and 2,000 titles only).
HEAD_ALPHA = 3e-5
HEAD_EPOCHS = 5
# Row weights ``count(leaf) ** -HEAD_BALANCE`` (mean 1), as the neural model's class weights.
# The head alone, macro-F1 at 2,000 random labels / full supervision, balance 0 -> 0.25 -> 0.5:
# fashion 0.625 -> 0.631 -> 0.635 / 0.761 -> 0.884 -> 0.903; BigBasket 0.317 -> 0.331 -> 0.332 /
# 0.466 -> 0.536 -> 0.575 (accuracy equal or better).
HEAD_BALANCE = 0.5
# Floor on a leaf probability before a log.
PROBA_FLOOR = 1e-6
POOL_WEIGHTS = tuple(i / 10 for i in range(11))  # the lexical weight's candidates, 0 .. 1
POOL_TEMPERATURES = tuple(2.0 ** (i / 4) for i in range(-8, 9))  # 0.25 .. 4


class CharNgramView:
    """Texts -> ``(n, n_features)`` sparse L2-normalised TF-IDF of hashed char n-grams.

    ``fit(texts)`` learns only the IDF (document frequencies of the unlabelled pool).
    """

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = NGRAM_RANGE,
        n_features: int = N_FEATURES,
        sublinear_tf: bool = True,
    ) -> None:
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.sublinear_tf = sublinear_tf

    def _hasher(self) -> Any:
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(
            analyzer="char_wb",
            ngram_range=self.ngram_range,
            n_features=self.n_features,
            alternate_sign=False,
            norm=None,
            lowercase=True,
        )

    def fit(self, texts: Sequence[str]) -> CharNgramView:
        from sklearn.feature_extraction.text import TfidfTransformer

        counts = self._hasher().transform(texts)
        self.tfidf_ = TfidfTransformer(sublinear_tf=self.sublinear_tf).fit(counts)
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """``(n, n_features)`` float32 CSR, rows of unit L2 norm (an empty text: all zero)."""
        out = self.tfidf_.transform(self._hasher().transform(texts))
        return sparse.csr_matrix(out, dtype=np.float32)

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self.fit(texts).transform(texts)


class LexicalHead:
    """Linear classifier (logistic loss, one-vs-rest, SGD) from a sparse view to leaf columns.

    ``fit(X, leaf_cols)`` takes ``(n, d)`` sparse rows and ``(n,)`` leaf columns (-1: a
    partial label, left out). Only the view's columns seen in training (``used_columns_``)
    carry weights: a column no labelled row has would keep weight 0 anyway.
    """

    def __init__(
        self,
        n_leaves: int,
        *,
        alpha: float = HEAD_ALPHA,
        epochs: int = HEAD_EPOCHS,
        class_balance: float = HEAD_BALANCE,
        seed: int = 0,
    ) -> None:
        self.n_leaves = n_leaves
        self.alpha = alpha
        self.epochs = epochs
        self.class_balance = class_balance
        self.seed = seed

    def fit(self, X: sparse.spmatrix, leaf_cols: np.ndarray) -> LexicalHead:
        from sklearn.linear_model import SGDClassifier

        X = sparse.csr_matrix(X)
        leaf_cols = np.asarray(leaf_cols, dtype=np.int64).reshape(-1)
        if X.shape[0] != len(leaf_cols):
            raise ValueError(f"X has {X.shape[0]} rows for {len(leaf_cols)} labels")
        keep = leaf_cols >= 0
        X, leaf_cols = X[keep], leaf_cols[keep]
        if leaf_cols.size and leaf_cols.max() >= self.n_leaves:
            raise ValueError("leaf columns must be below n_leaves")
        self.used_columns_ = np.unique(X.indices).astype(np.int64)
        self.classes_ = np.unique(leaf_cols)
        self.model_: Any = None
        if len(self.classes_) >= 2:
            self.model_ = SGDClassifier(
                loss="log_loss",
                alpha=self.alpha,
                max_iter=self.epochs,
                tol=None,
                random_state=self.seed,
            )
            self.model_.fit(
                X[:, self.used_columns_], leaf_cols, sample_weight=self._weights(leaf_cols)
            )
        return self

    def _weights(self, leaf_cols: np.ndarray) -> np.ndarray:
        """``(n,)`` row weights ``count(leaf) ** -class_balance``, mean 1."""
        counts = np.bincount(leaf_cols, minlength=self.n_leaves).astype(np.float64)
        w = counts[leaf_cols] ** -self.class_balance
        return w / w.mean()

    def predict_proba(self, X: sparse.spmatrix) -> np.ndarray:
        """``(n, n_leaves)`` float32 rows summing to 1.

        A leaf the head never saw gets the row's least probability among the leaves it saw
        (then rows are renormalised): the head has no evidence on it, which is not evidence
        against it. Pooled as 0, such a leaf would be ruled out whatever the other model
        says, and the pooling weight fitted on held-out rows drops the head whenever a held-out
        row's leaf is missing from its fold (most folds on a 436-leaf catalog at 500 labels).
        Uniform with no labels; one-hot with one labelled leaf.
        """
        n = X.shape[0]
        if len(self.classes_) == 0:
            return np.full((n, self.n_leaves), 1.0 / self.n_leaves, dtype=np.float32)
        if self.model_ is None:
            out = np.zeros((n, self.n_leaves), dtype=np.float32)
            out[:, self.classes_[0]] = 1.0
            return out
        # sklearn's one-vs-rest proba (sigmoid, rows normalised), in float32: on 100,000 rows
        # x 436 leaves its float64 path cost twice the decision function.
        z = self.model_.decision_function(sparse.csr_matrix(X)[:, self.used_columns_])
        seen = 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float32)))
        if seen.ndim == 1:  # two leaves: sklearn gives the second one's score
            seen = np.stack([1.0 - seen, seen], axis=1)
        seen /= np.maximum(seen.sum(axis=1, keepdims=True), np.float32(1e-30))
        return fill_unseen(seen, self.classes_, self.n_leaves)


def fill_unseen(seen: np.ndarray, classes: np.ndarray, n_leaves: int) -> np.ndarray:
    """``(n, len(classes))`` probabilities of the seen leaves -> ``(n, n_leaves)``, the other
    leaves at each row's minimum over the seen ones, rows renormalised to sum to 1."""
    seen = np.asarray(seen, dtype=np.float32)
    out = np.repeat(seen.min(axis=1, keepdims=True), n_leaves, axis=1)
    out[:, classes] = seen
    out /= out.sum(axis=1, keepdims=True)
    return out


def pool(
    p_model: np.ndarray, p_lexical: np.ndarray, weight: float, temperature: float = 1.0
) -> np.ndarray:
    """Log-linear pooling: ``softmax(((1 - w) log p_model + w log p_lexical) / T)`` row-wise.

    Both ``(n, k)``; each probability is floored at ``PROBA_FLOOR`` first, so a leaf one
    model never saw keeps a chance. ``weight`` 0 gives ``p_model`` (at ``T`` 1, up to the
    floor), 1 the lexical head. Returns ``(n, k)`` float32.
    """
    if not 0.0 <= weight <= 1.0 or temperature <= 0:
        raise ValueError(
            f"weight must be in [0, 1] and temperature > 0, got {weight}, {temperature}"
        )
    # float32 and in place: 100,000 x 436 in float64 took 11 s on a shared core.
    z = np.log(np.maximum(np.asarray(p_model, dtype=np.float32), np.float32(PROBA_FLOOR)))
    z *= np.float32((1.0 - weight) / temperature)
    b = np.log(np.maximum(np.asarray(p_lexical, dtype=np.float32), np.float32(PROBA_FLOOR)))
    b *= np.float32(weight / temperature)
    z += b
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def nll(proba: np.ndarray, leaf_cols: np.ndarray) -> float:
    """Mean ``-log p`` of the true leaf columns (floored at 1e-12)."""
    p = np.asarray(proba, dtype=np.float64)[np.arange(len(leaf_cols)), leaf_cols]
    return float(-np.log(np.maximum(p, 1e-12)).mean())


def fit_pool(
    p_model: np.ndarray,
    p_lexical: np.ndarray,
    leaf_cols: np.ndarray,
    weights: Sequence[float] = POOL_WEIGHTS,
    temperatures: Sequence[float] = POOL_TEMPERATURES,
) -> tuple[float, float]:
    """The ``(weight, temperature)`` of ``pool`` with the least NLL on held-out rows.

    ``p_model`` and ``p_lexical`` ``(n, k)`` must be out-of-fold predictions for the rows'
    true ``(n,)`` ``leaf_cols``: in-sample ones would trust whichever model memorised more.
    A grid (11 weights x 17 temperatures by default), then a golden-section search of the best
    weight's temperature between its grid neighbours: with hundreds of leaves the pooled
    confidence moves fast with ``T`` (BigBasket, 1,000 labels: mean confidence 0.47 at
    ``T`` 0.84, 0.35 at 1.0). Ties keep the smaller weight, then the temperature nearer 1.
    Without rows: ``(0.0, 1.0)``.
    """
    leaf_cols = np.asarray(leaf_cols, dtype=np.int64)
    if len(leaf_cols) == 0:
        return 0.0, 1.0
    a = np.log(np.maximum(np.asarray(p_model, dtype=np.float64), PROBA_FLOOR))
    b = np.log(np.maximum(np.asarray(p_lexical, dtype=np.float64), PROBA_FLOOR))
    rows = np.arange(len(leaf_cols))
    temps = sorted(temperatures)
    best = (math.inf, 0.0, 1.0)
    for w in weights:
        z = (1.0 - w) * a + w * b
        for t in sorted(temps, key=lambda v: abs(math.log(v))):
            score = _pooled_nll(z, rows, leaf_cols, t)
            if score < best[0] - 1e-9:
                best = (score, float(w), float(t))
    _, w, t = best
    z = (1.0 - w) * a + w * b
    i = temps.index(t)
    lo, hi = math.log(temps[max(i - 1, 0)]), math.log(temps[min(i + 1, len(temps) - 1)])
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(20):
        c, d = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if _pooled_nll(z, rows, leaf_cols, math.exp(c)) < _pooled_nll(
            z, rows, leaf_cols, math.exp(d)
        ):
            hi = d
        else:
            lo = c
    return w, math.exp((lo + hi) / 2)


def _pooled_nll(z: np.ndarray, rows: np.ndarray, leaf_cols: np.ndarray, t: float) -> float:
    """Mean NLL of ``softmax(z / t)`` at the true columns."""
    zt = z / t
    top = zt.max(axis=1)
    lse = top + np.log(np.exp(zt - top[:, None]).sum(axis=1))
    return float((lse - zt[rows, leaf_cols]).mean())
