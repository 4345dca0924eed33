"""Shapley values of a cooperative game (exact up to a size, else permutation sampling).

Used by the gap decomposition (:func:`digimeter.benchmark.gap`) at nodes that are not arithmetic means.

References
----------
Shapley, L. S. (1953), A value for n-person games, in Contributions to the Theory of Games II,
https://doi.org/10.1515/9781400881970-018 ; Castro, Gomez & Tejada (2009), Polynomial calculation of
the Shapley value based on sampling, https://doi.org/10.1016/j.cor.2008.04.004
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["shapley"]


def shapley(value: Callable[[np.ndarray], np.ndarray], k: int, *, exact_max: int = 12,
            n_permutations: int = 2000, seed: int = 0) -> np.ndarray:
    """Shapley values of a ``k``-player game.

    Parameters
    ----------
    value : callable
        ``value(masks)`` takes a boolean array ``(m, k)`` of coalitions and returns their worth ``(m,)``.
    k : int
        Number of players.
    exact_max : int, default 12
        Up to this many players, enumerate all ``2**k`` coalitions (exact); beyond, average the
        marginal contributions over ``n_permutations`` random orderings drawn with ``seed`` (each
        ordering's contributions sum to ``v(N) - v(empty)``, so efficiency holds exactly).

    Returns
    -------
    ndarray, shape (k,)
        ``phi`` with ``phi.sum() == value(all) - value(none)``.

    References
    ----------
    Shapley (1953), https://doi.org/10.1515/9781400881970-018 ; Castro et al. (2009),
    https://doi.org/10.1016/j.cor.2008.04.004
    """
    if k == 0:
        return np.zeros(0)
    if k <= exact_max:
        ids = np.arange(2 ** k)
        masks = ((ids[:, None] >> np.arange(k)) & 1).astype(bool)
        v = np.asarray(value(masks), dtype=float)
        size = masks.sum(axis=1)
        wt = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)])
        phi = np.zeros(k)
        for j in range(k):
            without = ~masks[:, j]
            s_ids = ids[without]
            phi[j] = np.sum(wt[size[without]] * (v[s_ids | (1 << j)] - v[s_ids]))
        # enforce efficiency to the last bit (float sums of 2**k terms)
        total = v[-1] - v[0]
        phi += (total - phi.sum()) / k
        return phi
    rng = np.random.default_rng(seed)
    phi = np.zeros(k)
    batch = 256
    done = 0
    while done < n_permutations:
        b = min(batch, n_permutations - done)
        perms = np.argsort(rng.random((b, k)), axis=1)
        masks = np.zeros((b, k + 1, k), dtype=bool)
        for step in range(1, k + 1):
            masks[:, step] = masks[:, step - 1]
            masks[np.arange(b), step, perms[:, step - 1]] = True
        v = np.asarray(value(masks.reshape(-1, k)), dtype=float).reshape(b, k + 1)
        marg = np.diff(v, axis=1)
        np.add.at(phi, perms.ravel(), marg.ravel())
        done += b
    phi /= n_permutations
    return phi
