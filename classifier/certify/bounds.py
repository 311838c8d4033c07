"""Exact binomial bounds and tests for a precision, without scipy.

Everything is phrased in *errors*: ``n`` decisions of which ``e`` are wrong. The precision's
one-sided Clopper–Pearson lower bound (Clopper & Pearson, Biometrika 1934) at level ``alpha``
is the ``p`` solving ``P(Bin(n, 1 - p) <= e) = alpha``, the ``alpha`` quantile of
``Beta(n - e, e + 1)``; it is at least ``target`` exactly when the exact binomial test of
"precision < target" rejects at ``alpha``, whose p-value ``P(Bin(n, 1 - target) <= e)`` is
``errors_p_value``. The binomial CDF is summed in log space from a log-factorial table (``e`` terms),
the quantile found by bisection: exact to ~1e-9 for any ``n`` in reach.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

BISECTION_STEPS = 60
MAX_ERRORS = 100  # the table's last entry: ~12,000 decisions at 0.99 / 0.05
_LOG_FACTORIAL = np.zeros(1)


def log_factorial(n: np.ndarray | int) -> np.ndarray:
    """``log(n!)`` from a cumulative table grown on demand (exact to ~1e-9 below 10^7)."""
    global _LOG_FACTORIAL
    need = int(np.max(n)) + 1
    if need > len(_LOG_FACTORIAL):
        size = max(need, 2 * len(_LOG_FACTORIAL))
        _LOG_FACTORIAL = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, size)))])
    return _LOG_FACTORIAL[n]


def binom_cdf(e: int, n: int, q: float) -> float:
    """``P(X <= e)`` for ``X ~ Binomial(n, q)``."""
    if e < 0:
        return 0.0
    if e >= n or q <= 0.0:
        return 1.0
    if q >= 1.0:
        return 0.0
    j = np.arange(e + 1)
    log_pmf = log_factorial(n) - log_factorial(j) - log_factorial(n - j)
    log_pmf = log_pmf + j * math.log(q) + (n - j) * math.log1p(-q)
    top = float(log_pmf.max())
    return float(min(1.0, math.exp(top) * np.exp(log_pmf - top).sum()))


def errors_p_value(errors: int, n: int, target: float) -> float:
    """p-value of "precision < ``target``" after ``errors`` wrong among ``n``: the chance
    of so few errors if the error rate were ``1 - target``. 1.0 when ``n`` is 0."""
    return binom_cdf(errors, n, 1.0 - target) if n > 0 else 1.0


def clopper_pearson_lower(k: int, n: int, alpha: float = 0.05) -> float:
    """One-sided ``1 - alpha`` Clopper–Pearson lower bound on a binomial proportion after
    ``k`` successes in ``n`` trials (0.0 when ``k`` is 0 or ``n`` is 0).

    >>> round(clopper_pearson_lower(300, 300), 5)  # 0.05 ** (1 / 300)
    0.99006
    """
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if k == 0:
        return 0.0
    if k == n:
        return float(alpha ** (1.0 / n))
    lo, hi = 0.0, 1.0  # P(Bin(n, 1 - p) <= n - k) rises with p
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        if binom_cdf(n - k, n, 1.0 - mid) < alpha:
            lo = mid
        else:
            hi = mid
    return lo


@lru_cache(maxsize=64)
def errors_allowed_table(target: float, alpha: float, max_errors: int = MAX_ERRORS) -> np.ndarray:
    """``N[e]``: the fewest decisions at which ``e`` errors still certify ``target`` at
    ``alpha`` (``N[0]`` is 299 at 0.99 / 0.05, ``N[1]`` 473, ``N[2]`` 628)."""
    out = np.empty(max_errors + 1, dtype=np.int64)
    q = 1.0 - target
    lo = 1
    for e in range(max_errors + 1):
        lo, hi = max(lo, e + 1), max(lo, e + 1) * 2
        while binom_cdf(e, hi, q) > alpha:  # P(<= e errors) falls as n grows
            lo, hi = hi, hi * 2
        while lo < hi:
            mid = (lo + hi) // 2
            if binom_cdf(e, mid, q) <= alpha:
                hi = mid
            else:
                lo = mid + 1
        out[e] = lo
    return out


def min_decisions(target: float, alpha: float, errors: int = 0) -> int:
    """Fewest decisions with which ``errors`` errors can still certify ``target``."""
    return int(errors_allowed_table(target, alpha)[errors])
