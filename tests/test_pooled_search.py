"""The pooled model's fast neighbour search (issue 18) gives the forecasts of the straightforward one:
a k-d tree per horizon and origin over the horizon's pairs, and the local linear adjustment computed
on the centred neighbours, as :mod:`digimeter.forecast.pooled` was first written."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from digimeter.forecast import pooled
from digimeter.forecast.pooled import PooledSettings, pooled_backtest, pooled_forecast


def _reference_predict(q, pairs, upto, hs, kind, st, extrapolate=True):
    """The model's definition, step by step (the first implementation, kept as the reference)."""
    Q = q.shape[0]
    out = np.full((Q, len(hs)), np.nan)
    lo_end = -np.inf if st.memory is None else upto - st.memory
    if not np.isfinite(upto):
        lo_end = -np.inf if st.memory is None else pairs.end.max() - st.memory
    use = (pairs.end <= upto) & (pairs.end > lo_end)
    if not use.any() or Q == 0:
        return out
    one = use & (pairs.h == pairs.h[use].min())
    mu, sd = pairs.X[one].mean(0), pairs.X[one].std(0)
    scale = np.array([1.0, st.w_pace, st.w_last]) / np.where(sd > 0, sd, 1.0)
    full = np.isfinite(q).all(1)
    lvl = np.isfinite(q[:, 0]) & ~full
    qs = np.where(np.isfinite(q), (q - mu) * scale, 0.0)
    good = {}
    for k, h in enumerate(hs):
        m = np.flatnonzero((pairs.h == h) & use)
        m = m[np.argsort(pairs.end[m], kind="stable")]
        if m.size < st.min_pairs:
            continue
        Xh, Dh = (pairs.X[m] - mu) * scale, pairs.D[m]
        kk = min(st.k, m.size)
        for sel, cols in ((full, slice(None)), (lvl, slice(0, 1))):
            if not sel.any():
                continue
            qq, Xc = qs[sel][:, cols], Xh[:, cols]
            idx = cKDTree(Xc).query(qq, k=kk)[1].reshape(qq.shape[0], kk)
            nb = Dh[idx]
            if st.ridge:
                Xn = Xc[idx]
                xm = Xn.mean(1, keepdims=True)
                xc = Xn - xm
                A = np.einsum("qkf,qkg->qfg", xc, xc) / kk + st.ridge * np.eye(Xn.shape[-1])[None]
                bb = np.einsum("qkf,qk->qf", xc, nb - nb.mean(1, keepdims=True)) / kk
                beta = np.linalg.solve(A, bb[..., None])[..., 0]
                nb = nb + np.einsum("qf,qf->q", beta, qq - xm[:, 0])[:, None]
            out[sel, k] = nb.mean(1) if kind == "logit" else np.median(nb, axis=1)
        good[int(h)] = k
    if extrapolate and good and len(good) < len(hs):
        gh = np.array(sorted(good))
        for k, h in enumerate(hs):
            if int(h) not in good:
                below = gh[gh < h]
                g = int(below.max()) if below.size else int(gh.min())
                out[:, k] = out[:, good[g]] * h / g
    return out


def _panel(seed, units=120, years=22, hi=100.0):
    """Logistic take-offs with noise and gaps; a sixth of the units stuck at the bound (many pairs at
    one point, so the k-th neighbour is tied), a few with one observation (matched on the level)."""
    rng = np.random.default_rng(seed)
    t = np.arange(2000, 2000 + years)
    mid = rng.uniform(1995, 2030, units)[:, None]
    v = hi / (1 + np.exp(-(t[None] - mid) / rng.uniform(2, 6, units)[:, None]))
    v = np.clip(v + rng.normal(0, 1.5, v.shape) * hi / 100, 0, hi)
    v[: units // 6] = hi
    v[rng.random(v.shape) < 0.1] = np.nan
    for u in range(units - 4, units):
        v[u] = np.nan
        v[u, rng.integers(years - 4, years)] = rng.uniform(0, hi)
    return t, v


CASES = [
    dict(),
    dict(settings=PooledSettings(k=40, ridge=0.0)),
    dict(settings=PooledSettings(memory=8, w_last=0.5), kind="none"),
    dict(donors=True),
    dict(settings=PooledSettings(k=500), kind="none"),    # more neighbours than pairs
    dict(settings=PooledSettings(k=7, w_pace=0.0, w_last=0.0)),   # the level alone: ties everywhere
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [1, 2])
def test_fast_search_gives_the_reference_forecasts(monkeypatch, case, seed):
    kw = dict(CASES[case])
    t, v = _panel(seed)
    if kw.pop("donors", False):
        dt, dv = _panel(seed + 100, units=150, years=26)
        kw["donors"] = (dt, dv)
        v = v[-30:, -8:]
        t = t[-8:]
    origins, H = t[-12:-1], 8

    def both():
        bt = pooled_backtest(t, v, origins, H, lo=0, hi=100, **kw)
        fy, fc = pooled_forecast(t, v, int(t[-1]) + 10, lo=0, hi=100, **kw)
        return bt, fc

    if seed == 2:
        monkeypatch.setattr(pooled, "_BLOCK", 4096)   # the queries searched a few at a time
    fast = both()
    monkeypatch.setattr(pooled, "_predict", _reference_predict)
    ref = both()
    for a, b in zip(fast, ref):
        assert np.isfinite(b).sum() > 100
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8)
