"""How far each reviewer can be trusted, from their answers alone: Dawid and Skene (1979).

Each reviewer ``r`` has a confusion matrix ``theta[r, k, l]``: the probability that they answer
``l`` when the truth is ``k``, over a few classes (the top levels of the tree: a reviewer who
mixes up two sibling leaves is a guideline problem; one who puts shoes under bags is not
reliable). EM alternates the posterior of each item's true class given all its answers and the
confusions, and the confusions given the posteriors.

Only items answered by two or more reviewers (overlap, audit) estimate the confusions: an item
with one answer would mostly confirm that answer and make every reviewer look reliable. Every
item gets its posterior. The prior is a Dirichlet on each confusion row whose mean is the *team's*
pooled confusion, worth ``prior_strength`` answers: a new reviewer starts as an average member
of the team (neutral), and their own answers move them away from it as overlap accumulates.

Reference: A. P. Dawid and A. M. Skene, "Maximum likelihood estimation of observer error-rates
using the EM algorithm", Applied Statistics 28(1), 1979.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRIOR_STRENGTH = 10.0
# The pooled confusion itself is smoothed toward "right this often" before the first answers.
PRIOR_ACCURACY = 0.8
ITERATIONS = 50
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Reliability:
    """``posterior`` ``(n_items, k)``: each item's true class given its answers;
    ``confusion`` ``(n_reviewers, k, k)`` rows sum to 1; ``prior`` ``(k,)`` the class shares."""

    posterior: np.ndarray
    confusion: np.ndarray
    prior: np.ndarray

    def accuracy(self) -> np.ndarray:
        """``(n_reviewers,)`` each reviewer's probability of a right answer, over the classes
        as often as they occur (``sum_k prior_k theta[r, k, k]``)."""
        diag = np.diagonal(self.confusion, axis1=1, axis2=2)
        return diag @ self.prior

    def answer_trust(self, reviewer: np.ndarray, answer: np.ndarray) -> np.ndarray:
        """``(m,)`` probability that ``answer[i]`` by ``reviewer[i]`` is right, for an item
        with that one answer: ``prior_l theta[r, l, l] / sum_k prior_k theta[r, k, l]``."""
        col = self.confusion[reviewer, :, answer]  # (m, k): P(answer l | truth k)
        joint = col * self.prior[None, :]
        return joint[np.arange(len(answer)), answer] / joint.sum(axis=1)


def dawid_skene(
    items: np.ndarray,
    reviewers: np.ndarray,
    answers: np.ndarray,
    *,
    n_items: int,
    n_reviewers: int,
    n_classes: int,
    prior_strength: float = PRIOR_STRENGTH,
    iterations: int = ITERATIONS,
) -> Reliability:
    """Fit the confusions of ``n_reviewers`` from answer triples.

    Args:
        items, reviewers, answers: ``(m,)`` int arrays, one row per answer: item ``items[i]``
            was answered ``answers[i]`` (a class in ``[0, n_classes)``) by ``reviewers[i]``.
        prior_strength: answers' worth of the team prior on each confusion row (>= 0).
    """
    items, reviewers, answers = (np.asarray(a, dtype=np.int64) for a in (items, reviewers, answers))
    _check(items, reviewers, answers, n_items, n_reviewers, n_classes)
    k = n_classes
    counts = np.zeros((n_items, k))
    np.add.at(counts, (items, answers), 1.0)
    answered = counts.sum(axis=1) > 0
    # Start from the vote shares (majority vote, softly); unanswered items from uniform.
    post = np.where(answered[:, None], counts / np.maximum(counts.sum(1, keepdims=True), 1), 1 / k)
    shared = counts.sum(axis=1)[items] >= 2
    it, rv, an = items[shared], reviewers[shared], answers[shared]
    prev = None
    for _ in range(iterations):
        prior = _class_prior(post[answered])
        pooled = _smoothed(_confusion_counts(post, it, np.zeros_like(rv), an, 1, k)[0])
        raw = _confusion_counts(post, it, rv, an, n_reviewers, k)
        confusion = raw + prior_strength * pooled[None]
        confusion /= np.maximum(confusion.sum(axis=2, keepdims=True), 1e-12)
        post = _posterior(prior, confusion, items, reviewers, answers, n_items)
        if prev is not None and np.abs(post - prev).max() < TOLERANCE:
            break
        prev = post
    return Reliability(posterior=post, confusion=confusion, prior=prior)


def _check(
    items: np.ndarray,
    reviewers: np.ndarray,
    answers: np.ndarray,
    n_items: int,
    n_reviewers: int,
    n_classes: int,
) -> None:
    if not (items.shape == reviewers.shape == answers.shape) or items.ndim != 1:
        raise ValueError("items, reviewers and answers must be 1-d arrays of one length")
    for name, a, n in (("items", items, n_items), ("reviewers", reviewers, n_reviewers)):
        if len(a) and (a.min() < 0 or a.max() >= n):
            raise ValueError(f"{name} must lie in [0, {n})")
    if len(answers) and (answers.min() < 0 or answers.max() >= n_classes):
        raise ValueError(f"answers must lie in [0, {n_classes})")
    if n_classes < 1:
        raise ValueError("n_classes must be >= 1")


def _class_prior(post: np.ndarray) -> np.ndarray:
    prior = post.sum(axis=0) + 1.0  # add-one: a class no answer names keeps a little mass
    return prior / prior.sum()


def _confusion_counts(
    post: np.ndarray,
    items: np.ndarray,
    reviewers: np.ndarray,
    answers: np.ndarray,
    n_reviewers: int,
    k: int,
) -> np.ndarray:
    """``(n_reviewers, k, k)``: expected count of (truth k, answer l) per reviewer."""
    out = np.zeros((n_reviewers, k, k))
    for label in range(k):
        hit = answers == label
        np.add.at(out[:, :, label], reviewers[hit], post[items[hit]])
    return out


def _smoothed(pooled: np.ndarray) -> np.ndarray:
    """The team's confusion rows, pulled toward ``PRIOR_ACCURACY`` on the diagonal by one
    answer's worth so that a class no one has answered yet is still a proper row."""
    k = pooled.shape[0]
    base = np.full((k, k), (1 - PRIOR_ACCURACY) / max(k - 1, 1))
    np.fill_diagonal(base, PRIOR_ACCURACY if k > 1 else 1.0)
    rows = pooled + base
    return rows / rows.sum(axis=1, keepdims=True)


def _posterior(
    prior: np.ndarray,
    confusion: np.ndarray,
    items: np.ndarray,
    reviewers: np.ndarray,
    answers: np.ndarray,
    n_items: int,
) -> np.ndarray:
    log_post = np.tile(np.log(prior), (n_items, 1))
    np.add.at(log_post, items, np.log(np.maximum(confusion[reviewers, :, answers], 1e-300)))
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    return post / post.sum(axis=1, keepdims=True)
