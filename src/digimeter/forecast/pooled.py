"""A pooled ("global") analogue forecaster: it learns from the whole panel how series at a given
level and pace went on to change over the next ``h`` years.

Pure numpy/scipy kernels on a shared 1-D ``years`` axis (consecutive ints) and ``values`` of shape
``(n_units, n_years)`` (NaN = missing). No store access, no printing, no global random state.

The model
---------
- **Transform.** A bounded indicator whose series come near its upper bound (the panel's largest
  value at least 90 % of ``hi``, e.g. internet use or 4G coverage in %) is modelled on the logit
  scale of ``(y - lo) / (hi - lo)`` clipped to ``[0.005, 0.995]``; anything else (subscriptions per
  100, which never approach their nominal bound) on its own scale.
- **Features** at an origin, on that scale: the level ``z_T``, the mean annual change over the
  previous ``window`` years (the random walk with drift's drift: ``(z_T - z_s) / (T - s)``, ``s`` the
  earliest observed year in ``[T - window, T)``) and the last annual change (the 5-year pace where the
  previous year is missing).
- **Training pairs**: every (donor, pseudo-origin ``s``, horizon ``h``) with the features at ``s`` and
  an observed value at ``s + h``, **only where ``s + h`` is at or before the forecast origin** (no
  value after the origin enters a forecast; tested).
- **Forecast.** For each horizon, the ``k`` nearest training pairs (Euclidean distance on the
  features standardised over one row per unit and year, the pace weighted ``w_pace`` and the last
  annual change ``w_last``; the set a k-d tree over the horizon's pairs returns, found faster by
  brute force shared by all horizons, the tree deciding ties); their changes are adjusted to the query's
  features by a ridge-penalised local linear regression on the neighbours (``ridge``; the regression
  adjustment of Beaumont et al. 2002), and the forecast is ``z_T`` plus their mean (logit scale) or
  median (own scale, where take-off spikes make changes heavy-tailed), mapped back and clipped to
  ``[lo, hi]``. A horizon with fewer than ``min_pairs`` pairs reuses the longest one that has
  enough, scaled by ``h`` (``extrapolate=True``) or is left NaN.
- **Donors.** The target panel's own pairs always join the training set; ``donors`` adds another
  panel's (e.g. the countries' for a country's regions, whose own series are short). A donor panel
  should not repeat the target panel's units (their pairs would count twice).

Its settings (``k=150``, ``w_last=1``, ``ridge=0.1``, mean on the logit scale) were chosen on
backtests of ITU internet use at origins 2008-2015 only; origin 2018 is out of sample
(docs/backtest.md).
Calibrated intervals come from the model's own nested out-of-sample errors
(:func:`pooled_backtest`, then :func:`digimeter.forecast.calibrate`).

References
----------
Beaumont, M. A., Zhang, W., & Balding, D. J. (2002). Approximate Bayesian computation in
population genetics. Genetics 162(4), 2025-2035. doi:10.1093/genetics/162.4.2025
Lorenz, E. N. (1969). Atmospheric predictability as revealed by naturally occurring analogues.
J. Atmos. Sci. 26(4), 636-646. doi:10.1175/1520-0469(1969)26<636:APARBN>2.0.CO;2
Montero-Manso, P., & Hyndman, R. J. (2021). Principles and algorithms for forecasting groups of
time series: locality and globality. International Journal of Forecasting 37(4), 1632-1653.
doi:10.1016/j.ijforecast.2021.03.004
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from digimeter.errors import DataError

__all__ = ["PooledSettings", "pooled_transform", "pooled_forecast", "pooled_backtest", "POOLED_K"]

#: neighbours averaged per horizon
POOLED_K = 150
_EPS = 0.005


@dataclass(frozen=True)
class PooledSettings:
    """Settings of the pooled analogue model (defaults chosen on origins <= 2015, see the module)."""

    k: int = POOLED_K
    w_last: float = 1.0        # weight of the last annual change in the distance
    w_pace: float = 1.0        # weight of the 5-year pace
    window: int = 5
    memory: float | None = None   # only pairs whose target year is within this many years of the origin
    ridge: float = 0.1         # ridge penalty of the local linear adjustment (0: none)
    min_pairs: int = 30
    transform: str = "auto"    # "auto", "logit" or "none"


def pooled_transform(values, lo=None, hi=None, transform: str = "auto") -> str:
    """The scale the model works on: ``"logit"`` for a bounded indicator whose values come within
    10 % of the upper bound, else ``"none"`` (see the module docstring)."""
    if transform != "auto":
        if transform not in ("logit", "none"):
            raise DataError(f"unknown transform {transform!r}", field="transform", value=transform,
                            fix="auto, logit or none")
        return transform
    if lo is None or hi is None or not hi > lo:
        return "none"
    v = np.asarray(values, float)
    top = np.nanmax(v) if np.isfinite(v).any() else -np.inf
    return "logit" if top >= lo + 0.9 * (hi - lo) else "none"


def _fwd(y, lo, hi, kind):
    if kind == "logit":
        p = np.clip((y - lo) / (hi - lo), _EPS, 1 - _EPS)
        return np.log(p / (1 - p))
    return y


def _inv(z, lo, hi, kind):
    if kind == "logit":
        return lo + (hi - lo) / (1 + np.exp(-z))
    return z


def _prep(years, values):
    t = np.asarray(years, float)
    v = np.asarray(values, float)
    if v.ndim == 1:
        v = v[None, :]
    if t.ndim != 1 or v.shape[-1] != t.size:
        raise DataError("values must have shape (n_units, n_years) matching years", field="values",
                        value=v.shape)
    if t.size > 1 and np.any(np.diff(t) != 1):
        raise DataError("years must be consecutive calendar years (use NaN for missing years)", field="years")
    return t, v


def _features(z, window):
    """Features at every column: level, pace over ``window`` years, last change; (U, Y, 3)."""
    U, Y = z.shape
    out = np.full((U, Y, 3), np.nan)
    ok = np.isfinite(z)
    for j in range(1, Y):
        a = max(0, j - window)
        sub = ok[:, a:j]
        has = sub.any(1) & ok[:, j]
        s = a + np.argmax(sub, axis=1)
        d5 = np.where(has, (z[:, j] - z[np.arange(U), s]) / np.maximum(j - s, 1), np.nan)
        d1 = np.where(ok[:, j - 1], z[:, j] - z[:, j - 1], d5)
        out[:, j, 0] = np.where(ok[:, j], z[:, j], np.nan)
        out[:, j, 1] = d5
        out[:, j, 2] = np.where(has, d1, np.nan)
    return out


@dataclass(eq=False)
class _Pairs:
    X: np.ndarray    # (P, 3) features at the pseudo-origin
    D: np.ndarray    # (P,) change over h on the model's scale
    h: np.ndarray    # (P,) horizon
    end: np.ndarray  # (P,) target year (pseudo-origin + h)
    row: np.ndarray  # (P,) the pseudo-origin (unit x year) the features are at: pairs of one row share X
    _groups: dict | None = None


def _pairs(t, z, feats, max_h, row0=0):
    X, D, H, E, R = [], [], [], [], []
    U, Y = z.shape
    rows = row0 + np.arange(U * Y).reshape(U, Y)
    ok0 = np.isfinite(feats).all(-1)
    for h in range(1, min(max_h, Y - 1) + 1):
        m = ok0[:, :Y - h] & np.isfinite(z[:, h:])
        if not m.any():
            continue
        X.append(feats[:, :Y - h][m])
        D.append((z[:, h:] - z[:, :Y - h])[m])
        H.append(np.full(int(m.sum()), h))
        E.append(np.broadcast_to(t[h:][None, :], m.shape)[m])
        R.append(rows[:, :Y - h][m])
    if not X:
        return _Pairs(np.empty((0, 3)), np.empty(0), np.empty(0, int), np.empty(0), np.empty(0, int))
    return _Pairs(*map(np.concatenate, (X, D, H, E, R)))


def _by_h(pairs: _Pairs) -> dict:
    """Pairs grouped by horizon, each sorted by target year: h -> (X, D, end, row)."""
    if getattr(pairs, "_groups", None) is None:
        g = {}
        for h in np.unique(pairs.h):
            m = np.flatnonzero(pairs.h == h)
            o = m[np.argsort(pairs.end[m], kind="stable")]
            g[int(h)] = (pairs.X[o], pairs.D[o], pairs.end[o], pairs.row[o])
        pairs._groups = g
    return pairs._groups


#: squared distances held at once (queries x rows), which bounds the search's memory (8 MB)
_BLOCK = 1 << 20
#: candidates kept per query for all horizons, in multiples of k (see :func:`_analogues`)
_WIDEN = 3
#: two squared distances closer than this (relative) count as tied
_TIE = 1e-9


def _sqdist(q, F):
    """Squared Euclidean distances (Q, n) of queries ``q`` (Q, f) to rows ``F`` (n, f)."""
    d = np.subtract.outer(q[:, 0], F[:, 0])
    d *= d
    if F.shape[1] > 1:
        e = np.empty_like(d)
        for j in range(1, F.shape[1]):
            np.subtract.outer(q[:, j], F[:, j], out=e)
            e *= e
            d += e
    return d


def _smallest(d, k):
    """Each row's ``k`` smallest entries of ``d`` (Q, n > k): ``(their columns (Q, k) in no order,
    the k-th smallest (Q,), the (k+1)-th smallest (Q,))``."""
    p = np.argpartition(d, k, axis=1)   # the k smallest first, then the (k+1)-th smallest
    sel = p[:, :k]
    dk = np.take_along_axis(d, sel, axis=1).max(1)
    return sel, dk, np.take_along_axis(d, p[:, k:k + 1], axis=1)[:, 0]


def _nearest_pairs(qq, d, cand, dc, nxt, pos, cols, X, k):
    """Indices (Q, k) of each query's ``k`` nearest pairs of one horizon (``X`` (n, f), scaled),
    exactly the set ``cKDTree(X).query(qq, k)`` returns, from the squared distances ``d`` (Q, rows)
    to every row, the rows' candidates ``cand`` (Q, m), their squared distances ``dc`` and the
    smallest distance left out of them ``nxt`` (Q,); ``pos[row]`` is the row's pair (-1: none),
    ``cols`` the pairs' rows.

    The k nearest pairs among the candidates are the set when the k-th is nearer than both the
    next pair among them and every row left out; otherwise (or when the horizon has few pairs) the
    set is looked for among all the horizon's pairs; where the k-th distance is tied (within
    :data:`_TIE`) with the next, the k-d tree decides, as it always did."""
    Q = qq.shape[0]
    idx = np.empty((Q, k), np.intp)
    tree = np.zeros(Q, bool)
    if cols.size <= 2 * cand.shape[1]:   # few pairs: the candidates would not hold k of them
        redo = np.arange(Q)
    else:
        sel, dk, dk1 = _smallest(dc + np.where(pos >= 0, 0.0, np.inf)[cand], k)
        idx[:] = pos[np.take_along_axis(cand, sel, axis=1)]
        bar = dk * (1 + _TIE)
        tree = np.isfinite(dk) & ~(dk1 > bar)   # tied among the candidates already
        redo = np.flatnonzero(~tree & ~(np.isfinite(dk) & (dk1 > bar) & (nxt > bar)))
    if redo.size:
        sel, dk, dk1 = _smallest(d[:, cols] if redo.size == Q else d[redo][:, cols], k)
        idx[redo] = sel
        tree[redo[~(dk1 > dk * (1 + _TIE))]] = True
    if tree.any():   # (queries at one point, e.g. series stuck at a bound, asked once)
        uq, inv = np.unique(qq[tree], axis=0, return_inverse=True)
        idx[tree] = cKDTree(X).query(uq, k=k)[1].reshape(-1, k)[inv.ravel()]
    return idx


def _analogue_changes(q, X, D, idx, ridge, kind):
    """The neighbours' changes ``D[idx]`` adjusted to the queries' features ``q`` by a ridge-penalised
    local linear regression on the neighbours' features ``X[idx]`` (none where ``ridge`` is 0), then
    their mean (``kind == "logit"``) or median: (Q,). The adjustment shifts every neighbour of a
    query by the same amount, so it is added to their mean or median. The regression's moments (the
    neighbours' means of x, x x', d and x d) are one sparse averaging matrix times the pairs' products;
    the features are standardised, so taking the centred moments from the raw ones loses nothing
    that matters against the ridge penalty."""
    Q, kk = idx.shape
    n, f = X.shape
    M = sparse.csr_matrix((np.full(idx.size, 1.0 / kk), idx.ravel(), np.arange(0, idx.size + 1, kk)),
                          shape=(Q, n))
    if kind == "logit":
        c = M @ D
    else:
        c = np.median(D[idx], axis=1)
    if not ridge:
        return c
    S = M @ np.concatenate([X, (X[:, :, None] * X[:, None, :]).reshape(n, f * f), X * D[:, None], D[:, None]], 1)
    xm, xx, xd, dm = S[:, :f], S[:, f:f + f * f].reshape(Q, f, f), S[:, f + f * f:-1], S[:, -1:]
    A = xx - xm[:, :, None] * xm[:, None, :] + ridge * np.eye(f)[None]
    beta = np.linalg.solve(A, (xd - xm * dm)[..., None])[..., 0]
    return c + (beta * (q - xm)).sum(1)


def _analogues(out, qs, slices, full, lvl, kind, st: PooledSettings):
    """Fill ``out[:, k]`` for every horizon of ``slices`` (h -> (k, X, D, row)) with the adjusted
    changes of each query's ``st.k`` nearest pairs: full queries on all features, level-only ones
    (``lvl``) on the level. Every horizon's pairs come from one set of rows (unit x pseudo-origin, one
    feature vector each), so each query's distances to the rows are computed and partitioned once for
    all horizons, keeping the ``_WIDEN * k`` nearest rows as candidates; each horizon then finds its
    ``k`` nearest pairs among them (:func:`_nearest_pairs`, which proves the set or looks further)."""
    rows, first = np.unique(np.concatenate([v[3] for v in slices.values()]), return_index=True)
    F = np.concatenate([v[1] for v in slices.values()])[first]   # each row's scaled features
    pos, cols = {}, {}
    for h, (k, Xc, Dh, Rh) in slices.items():
        cols[h] = np.searchsorted(rows, Rh)
        pos[h] = np.full(rows.size, -1, np.intp)
        pos[h][cols[h]] = np.arange(Rh.size)
    m = min(rows.size, _WIDEN * max(min(st.k, v[1].shape[0]) for v in slices.values()) + 1)
    for sel, fc in ((full, slice(None)), (lvl, slice(0, 1))):
        si = np.flatnonzero(sel)
        step = max(1, _BLOCK // rows.size)
        for a in range(0, si.size, step):
            qi = si[a:a + step]
            qq = qs[qi][:, fc]
            d = _sqdist(qq, F[:, fc])
            if m < rows.size:
                cand, _, nxt = _smallest(d, m)
                dc = np.take_along_axis(d, cand, axis=1)
            else:
                cand, dc, nxt = np.broadcast_to(np.arange(m), d.shape), d, np.full(qi.size, np.inf)
            for h, (k, Xc, Dh, Rh) in slices.items():
                Xc = Xc[:, fc]
                kk = min(st.k, Xc.shape[0])
                if kk == Xc.shape[0]:   # every pair is a neighbour
                    idx = np.broadcast_to(np.arange(kk), (qi.size, kk))
                else:
                    idx = _nearest_pairs(qq, d, cand, dc, nxt, pos[h], cols[h], Xc, kk)
                out[qi, k] = _analogue_changes(qq, Xc, Dh, idx, st.ridge, kind)


def _predict(q, pairs: _Pairs, upto, hs, kind, st: PooledSettings, extrapolate: bool = True):
    """Changes for queries ``q`` (Q, 3) at horizons ``hs`` from pairs ending at or before ``upto``.
    Returns (Q, len(hs)) on the model's scale (NaN where a query has no level). A query without a
    pace (a single observation) is matched and adjusted on its level only."""
    Q = q.shape[0]
    out = np.full((Q, len(hs)), np.nan)
    lo_end = -np.inf if st.memory is None else upto - st.memory
    if not np.isfinite(upto):
        lo_end = -np.inf if st.memory is None else pairs.end.max() - st.memory
    use = (pairs.end <= upto) & (pairs.end > lo_end)
    if not use.any() or Q == 0:
        return out
    one = use & (pairs.h == pairs.h[use].min())   # each (unit, pseudo-origin) once, whatever the horizons
    X = pairs.X[one]
    mu, sd = X.mean(0), X.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    wts = np.array([1.0, st.w_pace, st.w_last])
    scale = wts / sd
    full = np.isfinite(q).all(1)
    lvl = np.isfinite(q[:, 0]) & ~full
    qs = np.where(np.isfinite(q), (q - mu) * scale, 0.0)
    groups = _by_h(pairs)
    slices = {}   # horizon -> (its column in out, its pairs' scaled features, changes and rows)
    for k, h in enumerate(hs):
        if int(h) not in groups:
            continue
        Xh, Dh, Eh, Rh = groups[int(h)]
        n0, n = int(np.searchsorted(Eh, lo_end, side="right")), int(np.searchsorted(Eh, upto, side="right"))
        if n - n0 >= st.min_pairs:
            slices[int(h)] = (k, (Xh[n0:n] - mu) * scale, Dh[n0:n], Rh[n0:n])
    if slices:   # queries at one point (e.g. series stuck at a bound) are answered once
        _, first, inv = np.unique(np.column_stack([qs, full, lvl]), axis=0, return_index=True, return_inverse=True)
        once = np.full((first.size, len(hs)), np.nan)
        _analogues(once, qs[first], slices, full[first], lvl[first], kind, st)
        out = once[inv.ravel()]
    good = {h: v[0] for h, v in slices.items()}
    if extrapolate and good and len(good) < len(hs):   # too few pairs: longest good horizon, scaled by h
        gh = np.array(sorted(good))
        for k, h in enumerate(hs):
            if int(h) in good:
                continue
            below = gh[gh < h]
            g = int(below.max()) if below.size else int(gh.min())
            out[:, k] = out[:, good[g]] * h / g
    return out


def _panel_pairs(t, v, donors, lo, hi, kind, st, max_h):
    z = _fwd(v, lo, hi, kind)
    feats = _features(z, st.window)
    p = _pairs(t, z, feats, max_h)
    if donors is not None:
        dt, dv = _prep(*donors)
        dz = _fwd(dv, lo, hi, kind)
        dp = _pairs(dt, dz, _features(dz, st.window), max_h, row0=z.size)
        p = _Pairs(*(np.concatenate([getattr(p, f), getattr(dp, f)]) for f in ("X", "D", "h", "end", "row")))
    return z, feats, p


def _check_donors(donors, lo, hi):
    if donors is None:
        return None
    dt, dv = _prep(*donors)
    bad = np.isfinite(dv) & (((dv < lo) if lo is not None else False) | ((dv > hi) if hi is not None else False))
    if bad.any():
        dv = np.where(bad, np.nan, dv)   # out-of-range donor values are left out, not used
    return dt, dv


def pooled_forecast(years, values, to_year, *, donors=None, lo=None, hi=None,
                    settings: PooledSettings | None = None, kind: str | None = None, extrapolate: bool = True):
    """Point forecasts of every unit of ``values`` from its last observation to ``to_year``.

    Parameters
    ----------
    years, values : the target panel (units to forecast), NaN missing
    donors : ``(years, values)`` of another panel whose history joins the training pairs (e.g. every
        country's series for a country's regions); the target panel's own history always does
    lo, hi : valid range (forecasts are clipped to it; see :func:`pooled_transform`)
    kind : the scale (``"logit"`` / ``"none"``); default from ``settings.transform``
    extrapolate : a horizon with fewer than ``settings.min_pairs`` training pairs reuses the longest
        one that has enough, scaled by ``h`` (default); ``False`` leaves it NaN

    Returns
    -------
    (future_years, point) : ``future_years`` from the earliest unit's last observation + 1 to
    ``to_year``; ``point`` (n_units, n_future), NaN where a unit has no data or for years up to its
    own last observation.
    """
    st = settings or PooledSettings()
    t, v = _prep(years, values)
    donors = _check_donors(donors, lo, hi)
    if kind is None:
        pool = v if donors is None else np.concatenate([v.ravel(), donors[1].ravel()])
        kind = pooled_transform(pool, lo, hi, st.transform)
    ok = np.isfinite(v)
    has = ok.any(1)
    if not has.any():
        raise DataError("no observations to forecast from", field="values")
    last = v.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    ty = np.where(has, t[last], np.nan)
    fy = np.arange(int(np.nanmin(ty)) + 1, int(to_year) + 1, dtype=float)
    out = np.full((v.shape[0], fy.size), np.nan)
    if fy.size == 0:
        return fy.astype(int), out
    hmax = int(fy[-1] - np.nanmin(ty))
    z, feats, pairs = _panel_pairs(t, v, donors, lo, hi, kind, st, hmax)
    hs = np.arange(1, hmax + 1)
    # pairs may end at the latest observed year of either panel (all data is "before" the forecast)
    upto = np.inf
    q = feats[np.arange(v.shape[0]), last]
    q[~has] = np.nan
    dz = _predict(q, pairs, upto, hs, kind, st, extrapolate)        # (U, hmax)
    zT = z[np.arange(v.shape[0]), last]
    h = fy[None, :] - ty[:, None]
    hi_ = np.clip(np.nan_to_num(h, nan=1).astype(int), 1, hmax) - 1
    vals = _inv(zT[:, None] + np.take_along_axis(dz, hi_, axis=1), lo, hi, kind)
    vals = np.where(h >= 1, vals, np.nan)
    if lo is not None:
        vals = np.maximum(vals, lo)
    if hi is not None:
        vals = np.minimum(vals, hi)
    out[:] = np.where(has[:, None], vals, np.nan)
    return fy.astype(int), out


def pooled_backtest(years, values, origins, horizons, *, eligible=None, donors=None, lo=None, hi=None,
                    settings: PooledSettings | None = None, kind: str | None = None,
                    extrapolate: bool = True) -> np.ndarray:
    """The pooled model's rolling-origin forecasts on a backtest grid, shape
    ``(n_units, n_origins, n_h)``: at origin ``o`` the training pairs end at or before ``o`` and the
    features use values up to ``o`` only, so every forecast is out of sample.

    ``eligible`` (n_units, n_origins) bool: units forecast at each origin (default: a value at ``o``).
    Values after each origin never enter its forecasts. Donor pairs (``donors``) are limited the same way.
    """
    st = settings or PooledSettings()
    t, v = _prep(years, values)
    donors = _check_donors(donors, lo, hi)
    origins = np.asarray(origins, float)
    H = int(horizons)
    hs = np.arange(1, H + 1)
    U, O = v.shape[0], origins.size
    out = np.full((U, O, H), np.nan)
    built = {}
    for k, o in enumerate(origins):
        j = int(np.searchsorted(t, o))
        if j >= t.size or t[j] != o:
            continue
        el = np.isfinite(v[:, j]) if eligible is None else (np.asarray(eligible)[:, k] & np.isfinite(v[:, j]))
        idx = np.flatnonzero(el)
        if idx.size == 0:
            continue
        kd = kind
        if kd is None:   # the scale is chosen from the values known at the origin
            pool = v[:, :j + 1] if donors is None else \
                np.concatenate([v[:, :j + 1].ravel(), donors[1][:, donors[0] <= o].ravel()])
            kd = pooled_transform(pool, lo, hi, st.transform)
        if kd not in built:
            built[kd] = _panel_pairs(t, v, donors, lo, hi, kd, st, H)
        z, feats, pairs = built[kd]
        dz = _predict(feats[idx, j], pairs, o, hs, kd, st, extrapolate)
        f = _inv(z[idx, j][:, None] + dz, lo, hi, kd)
        if lo is not None:
            f = np.maximum(f, lo)
        if hi is not None:
            f = np.minimum(f, hi)
        out[idx, k] = f
    return out
