"""The one rank function: 1 = highest, ties share the lowest rank ('min'), NaN stays NaN."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["rank_desc"]


def rank_desc(scores: Any, axis: int = -2) -> np.ndarray:
    """Ranks of ``scores`` along ``axis`` (default: the units axis of ``(..., n_units, n_nodes)``).

    1 is the highest score; tied scores share the lowest rank of their run (pandas' ``method="min"``,
    as published league tables rank); NaN stays NaN and does not count. Vectorised over every
    other axis (one ranking per node, per Monte Carlo sample ...). A 1-D array is ranked whole.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        axis = 0
    if scores.shape[axis] == 0:
        return scores.copy()
    v = np.ascontiguousarray(-np.moveaxis(scores, axis, -1))
    m = v.shape[-1]
    order = np.argsort(v, axis=-1)                                  # NaN last
    # one flat index for the gather and the scatter (take/put_along_axis build it once each)
    flat = order.reshape(-1, m)
    flat += (np.arange(flat.shape[0]) * m)[:, None]
    s = v.reshape(-1)[flat].reshape(v.shape)
    new = np.ones(v.shape, dtype=bool)
    new[..., 1:] = s[..., 1:] != s[..., :-1]
    first = np.where(new, np.arange(1.0, m + 1.0), 0.0)
    np.maximum.accumulate(first, axis=-1, out=first)                # 1 + start of each run of ties
    out = np.empty(v.shape)
    out.reshape(-1)[flat] = first.reshape(-1, m)
    out[np.isnan(v)] = np.nan
    return np.moveaxis(out, -1, axis)
