"""Calibrated predictive intervals: empirical quantiles of the method's own out-of-sample errors by
horizon, volatility bin and level band (:func:`calibrate`); the choice of the central forecast
(:func:`choose_center`); how errors move together across units (:func:`error_correlation`, the common
shock) and across indicators (:func:`cross_correlation`); quantile functions (:func:`interp_q`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from digimeter.errors import DataError

from .backtest import Backtest
from .models import clip_range

__all__ = ["Calibration", "calibrate", "forecast_scale", "error_scale", "level_bands", "interp_q", "interp_q_rows", "CENTERS", "CenterChoice",
           "choose_center", "error_correlation", "cross_correlation", "MIN_COMMON_SHOCK"]

_PGRID = np.linspace(0.0025, 0.9975, 200)  # probability grid of calibrated error quantiles


# --------------------------------------------------------------------------------------------
# calibration of predictive intervals
# --------------------------------------------------------------------------------------------

@dataclass
class Calibration:
    """Empirical quantiles of scaled out-of-sample errors by horizon (and by volatility bin).

    ``q[h-1, :]`` are quantiles at probabilities :attr:`probs` of ``error / scale`` at horizon ``h``,
    pooled over every unit and origin the calibration saw; ``q_bin[b, h-1, :]`` the same within
    volatility bin ``b`` (NaN where the bin had fewer than ``min_bin`` errors). ``n`` and ``n_bin``
    count the errors; ``pooled_by_h`` is True when no horizon had ``min_n`` errors and errors of all
    horizons were pooled as ``error / (scale * h)`` (the single-series case).
    """

    probs: np.ndarray
    q: np.ndarray
    q_bin: np.ndarray
    bin_edges: np.ndarray
    n: np.ndarray
    n_bin: np.ndarray
    scale_floor: float
    pooled_by_h: bool = False
    note: str = ""
    level_edges: np.ndarray = field(default_factory=lambda: np.array([]))
    q_level: np.ndarray | None = None   # (n_level_bands, H, P): by level band at the origin
    q_cell: np.ndarray | None = None    # (n_level_bands, n_vol_bins, H, P): by level band and volatility

    @property
    def horizons(self) -> np.ndarray:
        return np.arange(1, self.q.shape[0] + 1)

    def error_quantiles(self, h, scale, level=None):
        """Quantiles of the error (in the indicator's units) for horizons ``h``, scales ``scale`` and
        (when the calibration has level bands) levels ``level`` at the origin.

        ``h``, ``scale`` and ``level`` broadcast together; result has a trailing axis over
        :attr:`probs`. Horizons beyond the calibrated ones are extrapolated linearly in ``h`` from the
        last one. The most specific quantiles with enough errors win: level band and volatility bin,
        else level band, else volatility bin, else all errors of the horizon.
        """
        h = np.asarray(h, dtype=float)
        s = np.maximum(np.nan_to_num(np.asarray(scale, dtype=float), nan=self.scale_floor), self.scale_floor)
        lv = np.full(np.shape(h), np.nan) if level is None else np.asarray(level, dtype=float)
        h, s, lv = np.broadcast_arrays(h, s, lv)
        Hc = self.q.shape[0]
        hi_ = np.clip(np.round(np.nan_to_num(h, nan=1.0)).astype(int), 1, Hc) - 1
        stretch = np.where(h > Hc, h / Hc, 1.0)
        b = np.searchsorted(self.bin_edges, s) if self.bin_edges.size else np.zeros(s.shape, int)
        qb = self.q_bin[b, hi_] if self.q_bin.size else np.full(h.shape + self.probs.shape, np.nan)
        z = np.where(np.isfinite(qb).all(-1, keepdims=True), qb, self.q[hi_])
        if self.q_level is not None and self.level_edges.size:
            known = np.isfinite(lv)
            lb = np.searchsorted(self.level_edges, np.where(known, lv, 0.0), side="right")
            ql = np.where(known[..., None], self.q_level[lb, hi_], np.nan)
            z = np.where(np.isfinite(ql).all(-1, keepdims=True), ql, z)
            qc = np.where(known[..., None], self.q_cell[lb, b, hi_], np.nan)
            z = np.where(np.isfinite(qc).all(-1, keepdims=True), qc, z)
        return z * (stretch * s)[..., None]


def forecast_scale(scale, point, level, h):
    """The scale of a forecast's error: the larger of the series' recent volatility (``scale``,
    :func:`recent_scale`) and the forecast's own pace ``|point - level| / h``.

    A forecast that moves a series fast (a take-off predicted from 10 % to 80 % in four years) errs in
    proportion to that move, not to the series' calm past; dividing its error by its pace keeps such
    errors from widening the intervals of calm series that are forecast to move little (a series at
    92 % forecast to 98 %). Arguments broadcast; NaN scales or paces are ignored (``fmax``).
    """
    h = np.maximum(np.asarray(h, float), 1.0)
    with np.errstate(invalid="ignore"):
        pace = np.abs(np.asarray(point, float) - np.asarray(level, float)) / h
    return np.fmax(np.asarray(scale, float), pace)


def error_scale(bt: Backtest, forecasts) -> np.ndarray:
    """:func:`forecast_scale` of every backtest forecast ``forecasts`` (n_units, n_origins, n_h): the
    scale :func:`calibrate` divides its errors by, shape (n_units, n_origins, n_h)."""
    return forecast_scale(bt.scale[..., None], forecasts, bt.level[..., None], bt.horizons[None, None, :])


def level_bands(level, lo=None, hi=None) -> np.ndarray:
    """Inner edges of the level bands used to condition calibration and the choice of the central
    forecast: 20, 50, 80 for a percentage (``lo=0, hi=100``), else the quartiles of ``level``."""
    if lo == 0 and hi == 100:
        return np.array([20.0, 50.0, 80.0])
    lv = np.asarray(level, float)
    lv = lv[np.isfinite(lv)]
    return np.unique(np.quantile(lv, [0.25, 0.5, 0.75])) if lv.size >= 8 else np.array([])


def calibrate(errors, scale, *, horizons=None, min_n=50, n_bins=5, min_bin=30, min_scale=0.05,
              probs=None, level=None, level_edges=None) -> Calibration:
    """Calibrate predictive intervals on out-of-sample errors (pooled over units and origins).

    Parameters
    ----------
    errors : array (n_units, n_origins, n_h)  ``actual - forecast`` of the method's own backtest
    scale : array (n_units, n_origins)  each series' recent volatility at the origin
        (:func:`recent_scale`), or (n_units, n_origins, n_h) one scale per forecast
        (:func:`error_scale`, as the forecasters use); floored at ``max(min_scale, its 10th
        percentile)`` so flat series do not produce 0/0.
    min_n : int  fewest errors for a horizon's own quantiles; a horizon with fewer reuses the longest
        horizon ``h0`` that has enough, scaled by ``h / h0``; with no such horizon every error is
        pooled as ``error / (scale * h)`` and multiplied back by ``h``.
    n_bins, min_bin : volatility bins (quantiles of ``scale``) and fewest errors per bin and
        horizon for a bin's own quantiles (else the unbinned ones): conditional (Mondrian)
        calibration, which keeps intervals of calm and volatile series each near nominal.
    level : array (n_units, n_origins), optional  each series' value at the origin; with it the
        errors are also binned by level band (``level_edges``, default :func:`level_bands` of the
        levels), alone and crossed with the volatility bins, each used where it has ``min_bin``
        errors: series near saturation err differently from series taking off.

    References
    ----------
    Williams, W. H., & Goodman, M. L. (1971). A simple method for the construction of empirical
    confidence limits for economic forecasts. JASA 66(336), 752-754. doi:10.1080/01621459.1971.10482341 ;
    Vovk, Gammerman & Shafer (2005), Algorithmic Learning in a Random World, doi:10.1007/b106715
    """
    probs = _PGRID if probs is None else np.asarray(probs, float)
    e = np.asarray(errors, float)
    s = np.asarray(scale, float)
    H = e.shape[-1] if horizons is None else int(horizons)
    e = e[..., :H]
    if s.ndim == e.ndim:   # one scale per forecast (see forecast_scale)
        s = s[..., :H]
        sv = s[np.isfinite(e) & np.isfinite(s)]
    else:
        sv = s[np.isfinite(e).any(-1) & np.isfinite(s)]
    if sv.size == 0:
        raise DataError("too few backtest errors to calibrate prediction intervals",
                        fix="pass longer series (at least min_obs + 1 years) or a pooled calibration=")
    floor = float(max(min_scale, np.percentile(sv, 10)))
    sf = np.maximum(np.where(np.isfinite(s), s, floor), floor)
    if sf.ndim < e.ndim:
        sf = np.broadcast_to(sf[..., None], e.shape)
    z = e / sf
    n = np.isfinite(z).reshape(-1, H).sum(0)
    q = np.full((H, probs.size), np.nan)
    for h in range(H):
        if n[h] >= min_n:
            zh = z[..., h]
            q[h] = np.quantile(zh[np.isfinite(zh)], probs)
    pooled = False
    good = np.flatnonzero(n >= min_n)
    if good.size:
        h0 = good.max() + 1
        for h in range(H):
            if n[h] < min_n:
                q[h] = q[h0 - 1] * (h + 1) / h0
    else:
        zz = (z / np.arange(1, H + 1)).ravel()
        zz = zz[np.isfinite(zz)]
        if zz.size < 5:
            raise DataError(f"only {zz.size} backtest errors: too few to calibrate prediction intervals",
                            fix="pass a longer series, or a calibration= made from a panel of units")
        q = np.quantile(zz, probs)[None, :] * np.arange(1, H + 1)[:, None]
        pooled = True
    # volatility bins
    edges = np.array([])
    q_bin = np.full((1, H, probs.size), np.nan)
    n_bin = np.zeros((1, H), int)
    if n_bins > 1 and not pooled:
        edges = np.unique(np.quantile(sv, np.linspace(0, 1, n_bins + 1)[1:-1]))
        b = np.searchsorted(edges, sf)
        q_bin = np.full((edges.size + 1, H, probs.size), np.nan)
        n_bin = np.zeros((edges.size + 1, H), int)
        for bi in range(edges.size + 1):
            for h in range(H):
                zh = z[..., h][(b[..., h] == bi) & np.isfinite(z[..., h])]
                n_bin[bi, h] = zh.size
                if zh.size >= min_bin:
                    q_bin[bi, h] = np.quantile(zh, probs)
    # level bands (alone, and crossed with the volatility bins)
    l_edges, q_level, q_cell = np.array([]), None, None
    if level is not None and not pooled:
        lvl = np.broadcast_to(np.asarray(level, float), e.shape[:-1])
        l_edges = np.asarray(level_bands(lvl) if level_edges is None else level_edges, float)
        if l_edges.size:
            known = np.isfinite(lvl)
            lb = np.where(known, np.searchsorted(l_edges, np.where(known, lvl, 0.0), side="right"), -1)
            lb = np.broadcast_to(lb[..., None], e.shape)
            vb = np.searchsorted(edges, sf) if edges.size else np.zeros(sf.shape, int)
            L, V = l_edges.size + 1, q_bin.shape[0]
            q_level = np.full((L, H, probs.size), np.nan)
            q_cell = np.full((L, V, H, probs.size), np.nan)
            for li in range(L):
                for h in range(H):
                    ok = (lb[..., h] == li) & np.isfinite(z[..., h])
                    zh = z[..., h][ok]
                    if zh.size >= min_bin:
                        q_level[li, h] = np.quantile(zh, probs)
                    for bi in range(V):
                        zc = z[..., h][ok & (vb[..., h] == bi)]
                        if zc.size >= min_bin:
                            q_cell[li, bi, h] = np.quantile(zc, probs)
    note = (f"errors of all horizons pooled as error/(scale*h): {int(n.sum())} errors" if pooled else
            f"{int(n.sum())} errors, per horizon {n.tolist()}, {q_bin.shape[0]} volatility bin(s)"
            + (f" x {l_edges.size + 1} level bands" if l_edges.size else ""))
    return Calibration(probs=probs, q=q, q_bin=q_bin, bin_edges=edges, n=n, n_bin=n_bin,
                       scale_floor=floor, pooled_by_h=pooled, note=note, level_edges=l_edges,
                       q_level=q_level, q_cell=q_cell)


def interp_q(qfun, probs, at):
    """Quantile function values at probabilities ``at`` (linear in p; flat beyond the grid)."""
    pos = np.interp(at, probs, np.arange(probs.size))
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, probs.size - 1)
    f = pos - i0
    return qfun[..., i0] * (1 - f) + qfun[..., i1] * f


def interp_q_rows(qfun, probs, u):
    """Per-unit draws: qfun (U, Y, P), u (U, S) -> (U, S, Y)."""
    pos = np.interp(u, probs, np.arange(probs.size))                     # (U, S)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, probs.size - 1)
    f = (pos - i0)[:, :, None]
    U, Y, P = qfun.shape
    rows = np.ascontiguousarray(np.swapaxes(qfun, 1, 2)).reshape(U * P, Y)   # (U * P, Y): one year-row per p
    off = (np.arange(U) * P)[:, None]
    a = rows[i0 + off]                                                   # (U, S, Y), gathered by row
    b = rows[i1 + off]
    a *= 1 - f
    b *= f
    a += b
    return a


CENTERS = ("auto", "point", "median")
#: estimated error correlations below this are treated as zero (independent draws)
MIN_COMMON_SHOCK = 0.05


def error_correlation(bt: Backtest, method_backtest: np.ndarray, *, scale_floor: float = 0.05,
                      min_units: int = 10, min_cells: int = 5) -> tuple[float, dict]:
    """How much the units' out-of-sample errors move together: the intra-class correlation of their
    normal scores within each (origin, horizon) cell.

    Errors are divided by the scale the calibration uses (:func:`error_scale`), turned into normal scores by rank within
    each horizon (pooled over origins), and the correlation is the moment estimator
    ``sum_c [(sum_i z)^2 - sum_i z^2] / sum_c [(n_c - 1) sum_i z^2]`` over cells with at least
    ``min_units`` units. Returns ``(rho, info)``: ``rho`` clipped to ``[0, 0.95]`` and set to 0 below
    :data:`MIN_COMMON_SHOCK` or with fewer than ``min_cells`` cells; ``info`` holds the estimate and
    the number of cells. On the bundled data: about 0.02 for ITU internet use, 0.06 for households
    online, 0.22-0.37 for the UN e-government components (which move together between survey editions).

    References
    ----------
    Fisher, R. A. (1925), Statistical Methods for Research Workers (intra-class correlation);
    Li, D. X. (2000), On default correlation: a copula function approach, J. Fixed Income 9(4), 43-54.
    doi:10.3905/jfi.2000.319253
    """
    q = _normal_scores(bt, method_backtest, scale_floor)
    num = den = 0.0
    cells = 0
    for h in range(q.shape[2]):
        for o in range(q.shape[1]):
            c = q[:, o, h]
            c = c[np.isfinite(c)]
            if c.size < min_units:
                continue
            num += c.sum() ** 2 - (c ** 2).sum()
            den += (c.size - 1) * (c ** 2).sum()
            cells += 1
    if cells < min_cells or den <= 0:
        return 0.0, {"estimate": None, "cells": cells, "reason": f"only {cells} (origin, horizon) cells"}
    est = float(num / den)
    rho = float(np.clip(est, 0.0, 0.95))
    if rho < MIN_COMMON_SHOCK:
        return 0.0, {"estimate": est, "cells": cells, "reason": f"estimate {est:.3f} below {MIN_COMMON_SHOCK}"}
    return rho, {"estimate": est, "cells": cells}


@dataclass
class CenterChoice:
    """Which central forecast to use, by level band at the forecast origin (see :func:`choose_center`).

    ``edges``: inner band edges (levels); ``centers[b]``: ``"point"`` or ``"median"`` for band ``b``;
    ``evidence[b]``: ``n_test``, ``mae_point``, ``mae_median`` (or ``reason``); ``cut``: the last target
    year used to calibrate the shift.
    """

    edges: np.ndarray
    centers: list
    evidence: list
    cut: int | None = None

    def band_of(self, level) -> np.ndarray:
        return np.searchsorted(self.edges, np.nan_to_num(np.asarray(level, float), nan=-np.inf), side="right")

    def use_median(self, level) -> np.ndarray:
        b = self.band_of(level)
        return np.array([self.centers[k] == "median" for k in np.ravel(b)], bool).reshape(np.shape(b))

    def labels(self) -> list[str]:
        e = [f"{x:.3g}" for x in self.edges]
        lo = ["below " + e[0]] if e else ["all levels"]
        return lo + [f"{a}-{b}" for a, b in zip(e[:-1], e[1:])] + ([f"{e[-1]} and above"] if e else [])

    def summary(self) -> str:
        return "; ".join(f"{lab}: {c}" for lab, c in zip(self.labels(), self.centers))


def choose_center(bt: Backtest, method_backtest: np.ndarray, *, lo=None, hi=None, holdout: int = 3,
                  min_test: int = 50, gain: float = 0.05, level_calibration: bool = False) -> CenterChoice:
    """Should the central forecast be the combination itself or the median of its calibrated
    predictive distribution (``point + scale * Q_h(0.5)``)? Decided per level band on a holdout of the
    method's own out-of-sample errors.

    The errors whose target year is among the last ``holdout`` years with errors are held out; the
    others calibrate the error quantiles (:func:`calibrate`). Within each band of the level at the
    origin (0-20, 20-50, 50-80, 80-100 for a percentage; quartiles otherwise) the mean absolute error
    of the combination on the held-out errors is compared with that of the median-shifted forecast
    (clipped to ``[lo, hi]``). ``"median"`` wins a band only if it lowers the MAE by more than ``gain``
    (relative) over at least ``min_test`` errors; otherwise ``"point"``. Saturation curves that
    flatten too early leave a median error above zero at low and middle levels, which the shift
    removes; near saturation the shift can overshoot, and the band keeps the combination.
    """
    edges = level_bands(bt.level, lo, hi)
    nb = edges.size + 1
    E = bt.actual - method_backtest
    fin = np.isfinite(E)
    if not fin.any():
        return CenterChoice(edges, ["point"] * nb, [{"reason": "no out-of-sample errors"}] * nb)
    ty = np.broadcast_to(bt.target_years[None], E.shape)
    cut = int(ty[fin].max()) - holdout
    train = np.where(ty <= cut, E, np.nan)
    test = fin & (ty > cut)
    try:
        sc = error_scale(bt, method_backtest)
        cal0 = calibrate(train, sc, level=bt.level if level_calibration else None, level_edges=edges)
    except DataError as e:
        why = {"reason": f"too few errors before {cut + 1} to calibrate ({e.message})"}
        return CenterChoice(edges, ["point"] * nb, [why] * nb, cut)
    h = np.broadcast_to(bt.horizons[None, None, :], E.shape)
    band = np.searchsorted(edges, np.nan_to_num(bt.level, nan=-np.inf), side="right")
    band = np.broadcast_to(band[..., None], E.shape)
    centers, evidence = [], []
    for b in range(nb):
        t = test & (band == b)
        if t.sum() < min_test:
            centers.append("point")
            evidence.append({"reason": f"only {int(t.sum())} held-out errors (< {min_test})", "n_test": int(t.sum())})
            continue
        lvl = np.broadcast_to(bt.level[..., None], E.shape)
        shift = interp_q(cal0.error_quantiles(h[t], sc[t], lvl[t]), cal0.probs, np.array([0.5]))[..., 0]
        mb, act = method_backtest[t], bt.actual[t]
        mae_p = float(np.mean(np.abs(act - mb)))
        mae_m = float(np.mean(np.abs(act - clip_range(mb + shift, lo, hi))))
        centers.append("median" if mae_m < (1 - gain) * mae_p else "point")
        evidence.append({"n_test": int(t.sum()), "mae_point": mae_p, "mae_median": mae_m})
    return CenterChoice(edges, centers, evidence, cut)


def _normal_scores(bt: Backtest, method_backtest: np.ndarray, scale_floor: float) -> np.ndarray:
    """Errors over the scale :func:`calibrate` divides them by (:func:`error_scale`: the larger of the
    series' recent volatility and the forecast's own pace, at least ``scale_floor``) as normal scores by
    rank within each horizon (NaN kept): the draws' dependence is measured on the errors their marginal
    distributions are calibrated on."""
    from scipy.special import ndtri   # the standard normal quantile (scipy.stats.norm.ppf), without scipy.stats

    E = bt.actual - method_backtest
    z = E / np.maximum(np.nan_to_num(error_scale(bt, method_backtest), nan=scale_floor), scale_floor)
    q = np.full(z.shape, np.nan)
    for h in range(z.shape[2]):
        fin = np.isfinite(z[..., h])
        if fin.sum() >= 2:
            q[..., h][fin] = ndtri(_average_ranks(z[..., h][fin]) / (fin.sum() + 1))
    return q


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x``, ties given their average rank (``scipy.stats.rankdata``'s default)."""
    sorter = np.argsort(x, kind="quicksort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size)
    xs = x[sorter]
    obs = np.r_[True, xs[1:] != xs[:-1]]
    dense = obs.cumsum()[inv]
    count = np.r_[np.nonzero(obs)[0], len(obs)]
    return 0.5 * (count[dense] + count[dense - 1] + 1)


def cross_correlation(panels: Sequence["PanelForecast"], *, min_pairs: int = 100) -> tuple[np.ndarray, dict]:
    """How much one unit's errors on different indicators move together.

    For each pair of indicators: the correlation of a unit's normal-score errors for the same origin
    year and horizon, after removing each (origin, horizon) cell's mean across units (the common
    shock of :func:`error_correlation`), over at least ``min_pairs`` matched errors. Returns
    ``(R, info)``: ``R`` the correlation matrix (indicators in the order given; pairs without enough
    errors or below :data:`MIN_COMMON_SHOCK` in absolute value set to 0; made positive definite by
    clipping eigenvalues), ``info["pairs"]`` the estimates.
    """
    keyed = []
    for pf in panels:
        q = _normal_scores(pf.backtest, pf.method_backtest, pf.calibration.scale_floor)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # cells with no errors: all-NaN means
            q = q - np.nanmean(q, axis=0, keepdims=True)
        d = {}
        for i, u in enumerate(pf.units):
            for o, oy in enumerate(pf.backtest.origins):
                for h, hh in enumerate(pf.backtest.horizons):
                    if np.isfinite(q[i, o, h]):
                        d[(u, int(oy), int(hh))] = q[i, o, h]
        keyed.append(d)
    k = len(keyed)
    R = np.eye(k)
    pairs = {}
    for a in range(k):
        for b in range(a + 1, k):
            common = keyed[a].keys() & keyed[b].keys()
            if len(common) < min_pairs:
                continue
            x = np.array([keyed[a][key] for key in common])
            y = np.array([keyed[b][key] for key in common])
            r = float(np.corrcoef(x, y)[0, 1])
            if not np.isfinite(r):
                continue
            pairs[(a, b)] = (r, len(common))
            if abs(r) >= MIN_COMMON_SHOCK:
                R[a, b] = R[b, a] = r
    w, v = np.linalg.eigh(R)
    if w.min() < 1e-6:   # nearest positive-definite correlation matrix (eigenvalue clipping)
        R = (v * np.maximum(w, 1e-6)) @ v.T
        d = np.sqrt(np.diag(R))
        R = R / d[:, None] / d[None, :]
    return R, {"pairs": {f"{a}-{b}": round(r, 3) for (a, b), (r, _) in pairs.items()}}
