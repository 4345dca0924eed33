"""Trajectory models with honest predictive intervals, and the target questions built on them.

Everything here is a pure function on arrays: a series is a shared 1-D ``years`` axis (ints) and a
``values`` array of shape ``(n_units, n_years)`` (NaN = missing); a 1-D ``values`` is one unit.
No store access, no printing, no global random state.

The pieces
----------
- **Models** (``MODELS[name] = (fit, predict)``): ``logistic``, ``gompertz`` (saturation fitted within
  ``[max observed, cap]``), ``bass`` (Bass 1969 diffusion, market size within the same bounds),
  ``linear`` trend, ``damped`` (Holt damped trend, Gardner & McKenzie 1985) and ``rw_drift`` (random
  walk with drift, the baseline). ``fit(years, values, *, cap=None) -> params`` (a dict of arrays of
  shape ``(n_units,)``), ``predict(params, years) -> (n_units, len(years))``. Every fit is vectorised
  over units (curves: a grid over the saturation level plus batched Levenberg-Marquardt steps; Holt:
  a batched grid over the smoothing parameters).
- **Backtest** (:func:`backtest`): rolling-origin evaluation (Tashman 2000) of every model on each
  series' own history, horizons 1..H, fitting only on data up to each origin.
- **Method** (:func:`method_forecasts`): ``"mean"`` (equal-weight mean of clipped ``rw_drift``,
  ``gompertz`` and ``damped``, the combination that beat the random walk in the project's reference
  backtest), ``"inverse_mae"`` (weights proportional to 1/MAE of each series' own backtest) or
  ``"select"`` (lowest own-backtest MAE). Weights used at a backtest origin only use errors whose
  target year is at or before that origin (nested, so the method's own errors are honest).
  ``"pooled"``: the pooled analogue model of :mod:`digimeter.forecast_pooled` (how series at a given
  level and pace in the whole panel, plus any ``donors`` panel, went on to change); ``"auto"`` (the
  default of ``digimeter targets``, ``forecast`` and ``backtest``): per horizon, ``"pooled"`` or
  ``"mean"``, whichever erred less out of sample (:func:`pooled_method_forecasts`).
- **Intervals** (:func:`calibrate`): empirical quantiles of the *method's own* out-of-sample errors by
  horizon, divided by each series' recent volatility (mean absolute annual change over the 5 years
  before the origin, floored) and pooled over all units passed in; quantiles are computed separately
  within bins of that volatility when a bin has enough errors (Mondrian-style conditional calibration).
  Not confidence bands of a fitted curve, which cover far too little. A forecast's quantiles are
  ``point + scale * Q_h(p)``, clipped to the valid range; samples share one uniform draw across the
  years of a path (comonotone paths), so a path's quantile rank is stable over time.
- **Target questions**: :func:`prob_reach`, :func:`crossing_year`, :func:`required_pace`,
  :func:`achieved_pace`, :func:`fastest_pace_from_level`.

References
----------
Bass, F. M. (1969). A new product growth for model consumer durables. Management Science 15(5),
215-227. doi:10.1287/mnsc.15.5.215
Gardner, E. S., & McKenzie, E. (1985). Forecasting trends in time series. Management Science 31(10),
1237-1246. doi:10.1287/mnsc.31.10.1237
Hyndman, R. J., & Koehler, A. B. (2006). Another look at measures of forecast accuracy. International
Journal of Forecasting 22(4), 679-688. doi:10.1016/j.ijforecast.2006.03.001
Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an analysis and review.
International Journal of Forecasting 16(4), 437-450. doi:10.1016/S0169-2070(00)00065-0
Vovk, V., Gammerman, A., & Shafer, G. (2005). Algorithmic Learning in a Random World (Mondrian
conformal prediction, ch. 4). Springer. doi:10.1007/b106715
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from digimeter.errors import DataError

__all__ = [
    "MODELS", "DEFAULT_MODELS", "COMBO_MODELS", "QUANTILES",
    "fit_logistic", "predict_logistic", "fit_gompertz", "predict_gompertz", "fit_bass", "predict_bass",
    "fit_linear", "predict_linear", "fit_damped", "predict_damped", "fit_rw_drift", "predict_rw_drift",
    "Backtest", "backtest", "method_forecasts", "METHODS", "DEFAULT_METHOD", "POOLED_METHODS",
    "pooled_choice", "pooled_method_forecasts", "Calibration", "calibrate", "recent_scale", "CENTERS", "CenterChoice", "choose_center", "level_bands", "error_correlation", "cross_correlation", "MIN_COMMON_SHOCK",
    "PanelForecast", "ForecastResult", "forecast_panel", "forecast_series",
    "prob_reach", "reach_draws", "crossing_year", "required_pace", "achieved_pace", "fastest_pace_from_level",
]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: models fitted and backtested by default
DEFAULT_MODELS = ("rw_drift", "linear", "damped", "logistic", "gompertz", "bass")
#: the models averaged by the "mean" method (clipped random walk with drift, Gompertz, damped trend)
COMBO_MODELS = ("rw_drift", "gompertz", "damped")
#: fewest observations a model needs (below this its parameters are NaN and it predicts NaN)
MIN_POINTS = {"rw_drift": 2, "linear": 3, "damped": 4, "logistic": 5, "gompertz": 5, "bass": 5}

_PGRID = np.linspace(0.0025, 0.9975, 200)  # probability grid of calibrated error quantiles


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def _prep(years, values):
    years = np.asarray(years)
    if years.ndim != 1:
        raise DataError("years must be a 1-D array", field="years", value=years.shape)
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[None, :]
    if v.ndim != 2 or v.shape[-1] != years.shape[0]:
        raise DataError("values must have shape (n_units, n_years) matching years", field="values",
                        value=v.shape, fix=f"pass an array with {years.shape[0]} columns")
    return years.astype(float), v


def _anchor(years, v):
    """Last observed year and value per unit (NaN where a unit has no data)."""
    ok = ~np.isnan(v)
    n = v.shape[1]
    last = n - 1 - np.argmax(ok[:, ::-1], axis=1)
    has = ok.any(axis=1)
    ty = np.where(has, years[last], np.nan)
    yv = np.where(has, v[np.arange(v.shape[0]), last], np.nan)
    return ty, yv


def _cap_bounds(v, cap, n_obs, need):
    ymax = np.nanmax(np.where(np.isnan(v), -np.inf, v), axis=1)
    ymax = np.where(np.isfinite(ymax), ymax, np.nan)
    kmin = ymax + 1e-6 * np.maximum(np.abs(ymax), 1.0)
    if cap is None:
        kmax = 2.0 * np.abs(ymax) + 1.0
    else:
        kmax = np.broadcast_to(np.asarray(cap, dtype=float), ymax.shape).copy()
    kmax = np.maximum(kmax, kmin * (1 + 1e-9) + 1e-9)
    bad = n_obs < need
    return np.where(bad, np.nan, kmin), np.where(bad, np.nan, kmax)


def clip_range(x, lo, hi):
    if lo is not None:
        x = np.maximum(x, lo)
    if hi is not None:
        x = np.minimum(x, hi)
    return x


def _cap_of(params):
    cap = params.get("cap")
    return None if cap is None else cap[:, None]


def _apply_cap(y, params):
    cap = _cap_of(params)
    if cap is not None:
        y = np.where(np.isfinite(cap), np.minimum(y, np.where(np.isfinite(cap), cap, np.inf)), y)
    return y


def _cap_array(cap, n):
    return np.full(n, np.nan) if cap is None else np.broadcast_to(np.asarray(cap, float), (n,)).copy()


# --------------------------------------------------------------------------------------------
# saturation curves: logistic and Gompertz
# --------------------------------------------------------------------------------------------

def _logistic_g(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _logistic_dg(z, g):
    return g * (1.0 - g)


def _logistic_ginv(p):
    return np.log(p / (1.0 - p))


def _gompertz_g(z):
    with np.errstate(over="ignore"):
        return np.exp(-np.exp(-z))


def _gompertz_dg(z, g):
    with np.errstate(over="ignore", invalid="ignore"):
        return g * np.exp(-z)


def _gompertz_ginv(p):
    return -np.log(-np.log(p))


_LINKS = {"logistic": (_logistic_g, _logistic_dg, _logistic_ginv),
          "gompertz": (_gompertz_g, _gompertz_dg, _gompertz_ginv)}


def _fit_curve(kind, years, values, cap, n_grid=16, n_iter=25):
    """Least squares fit of ``y = K g(a + b (t - t_ref))`` with ``K`` in ``[max y, cap]``, batched.

    A grid over K (each point: weighted linearised fit, then Gauss-Newton on a, b), then batched
    Levenberg-Marquardt on (a, b, K) from the best grid point, K clipped to its bounds.
    """
    g, dg, ginv = _LINKS[kind]
    t, v = _prep(years, values)
    ok = ~np.isnan(v)
    n_obs = ok.sum(axis=1)
    kmin, kmax = _cap_bounds(v, cap, n_obs, MIN_POINTS[kind])
    fit_ok = np.isfinite(kmin)
    w = ok.astype(float)
    y = np.where(ok, v, 0.0)
    nw = np.maximum(w.sum(1), 1)
    t_ref = np.where(n_obs > 0, (w * t).sum(1) / nw, 0.0)
    tt = t[None, :] - t_ref[:, None]                                  # (U, T)
    # grid over K
    frac = np.concatenate([[0.0], np.geomspace(0.002, 1.0, n_grid - 1)])
    km = np.where(fit_ok, kmin, 1.0)
    kx = np.where(fit_ok, kmax, 2.0)
    K = km[:, None] + (kx - km)[:, None] * frac[None, :]              # (U, G)
    p = np.clip(y[:, None, :] / K[:, :, None], 1e-4, 1 - 1e-4)        # (U, G, T)
    z = ginv(p)
    gz = g(z)
    ww = w[:, None, :] * (K[:, :, None] * dg(z, gz)) ** 2 + 1e-12 * w[:, None, :]
    a, b = _wls_line(tt[:, None, :], z, ww)
    T3 = tt[:, None, :]
    for _ in range(4):  # Gauss-Newton on (a, b) with K fixed
        zz = a[..., None] + b[..., None] * T3
        gg = g(zz)
        r = (y[:, None, :] - K[..., None] * gg) * w[:, None, :]
        j = K[..., None] * dg(zz, gg) * w[:, None, :]
        j1, j2 = j, j * T3
        A11, A12, A22 = (j1 * j1).sum(-1), (j1 * j2).sum(-1), (j2 * j2).sum(-1)
        g1, g2 = (j1 * r).sum(-1), (j2 * r).sum(-1)
        lam = 1e-6 * (A11 + A22) + 1e-12
        det = (A11 + lam) * (A22 + lam) - A12 ** 2
        da = ((A22 + lam) * g1 - A12 * g2) / det
        db = ((A11 + lam) * g2 - A12 * g1) / det
        a_new, b_new = a + np.clip(da, -5, 5), b + np.clip(db, -1, 1)
        sse_old = (r ** 2).sum(-1)
        sse_new = (((y[:, None, :] - K[..., None] * g(a_new[..., None] + b_new[..., None] * T3))
                    * w[:, None, :]) ** 2).sum(-1)
        better = np.isfinite(sse_new) & (sse_new < sse_old)
        a, b = np.where(better, a_new, a), np.where(better, b_new, b)
    sse = (((y[:, None, :] - K[..., None] * g(a[..., None] + b[..., None] * T3)) * w[:, None, :]) ** 2).sum(-1)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    best = np.argmin(sse, axis=1)
    iu = np.arange(v.shape[0])
    a, b, k = a[iu, best], b[iu, best], K[iu, best]
    # Levenberg-Marquardt on (a, b, K)
    lam = np.full(v.shape[0], 1e-3)

    def sse_of(a_, b_, k_):
        return (((y - k_[:, None] * g(a_[:, None] + b_[:, None] * tt)) * w) ** 2).sum(-1)

    cur = sse_of(a, b, k)
    for _ in range(n_iter):
        zz = a[:, None] + b[:, None] * tt
        gg = g(zz)
        r = (y - k[:, None] * gg) * w
        d = k[:, None] * dg(zz, gg) * w
        J = np.stack([d, d * tt, gg * w], axis=-1)                   # (U, T, 3)
        A = np.einsum("uti,utj->uij", J, J)
        gr = np.einsum("uti,ut->ui", J, r)
        diag = np.einsum("uii->ui", A)
        Ad = A + (lam[:, None] * (diag + 1e-9))[:, :, None] * np.eye(3)[None]
        try:
            step = np.linalg.solve(Ad, gr[..., None])[..., 0]
        except np.linalg.LinAlgError:  # pragma: no cover - singular batch member
            step = np.zeros_like(gr)
        step = np.where(np.isfinite(step), step, 0.0)
        a_n = a + np.clip(step[:, 0], -5, 5)
        b_n = b + np.clip(step[:, 1], -1, 1)
        k_n = np.clip(k + step[:, 2], np.where(fit_ok, kmin, 1), np.where(fit_ok, kmax, 2))
        new = sse_of(a_n, b_n, k_n)
        better = np.isfinite(new) & (new < cur)
        a, b, k = np.where(better, a_n, a), np.where(better, b_n, b), np.where(better, k_n, k)
        cur = np.where(better, new, cur)
        lam = np.where(better, lam / 3, lam * 4)
    nan = np.where(fit_ok, 1.0, np.nan)
    return {"a": a * nan, "b": b * nan, "K": k * nan, "t_ref": t_ref, "cap": _cap_array(cap, v.shape[0]),
            "sse": cur * nan}


def _wls_line(x, z, w):
    sw = w.sum(-1) + 1e-300
    xm = (w * x).sum(-1) / sw
    zm = (w * z).sum(-1) / sw
    sxx = (w * (x - xm[..., None]) ** 2).sum(-1)
    sxz = (w * (x - xm[..., None]) * (z - zm[..., None])).sum(-1)
    b = np.where(sxx > 0, sxz / np.where(sxx > 0, sxx, 1), 0.0)
    return zm - b * xm, b


def _predict_curve(kind, params, years):
    g = _LINKS[kind][0]
    t = np.asarray(years, dtype=float)[None, :] - params["t_ref"][:, None]
    return params["K"][:, None] * g(params["a"][:, None] + params["b"][:, None] * t)


def fit_logistic(years, values, *, cap=None):
    """Fit a logistic curve ``y = K / (1 + exp(-(a + b (t - t_ref))))`` to each unit's series.

    The saturation level ``K`` is bounded to ``[max observed, cap]`` (``cap=None``: ``2 max|y| + 1``).
    Least squares on the level scale, batched over units: a 16-point grid over ``K`` (weighted
    linearised fit and Gauss-Newton on ``a, b``) then Levenberg-Marquardt on ``(a, b, K)``.

    Parameters
    ----------
    years : array of int, shape (n_years,)
    values : array of float, shape (n_units, n_years) or (n_years,); NaN = missing
    cap : float or array (n_units,), optional
        Upper bound of the saturation level (100 for a percentage).

    Returns
    -------
    dict of arrays (n_units,): ``a``, ``b``, ``K``, ``t_ref``, ``cap``, ``sse``; NaN for units with
    fewer than 5 observations.

    References
    ----------
    Verhulst, P.-F. (1838); for diffusion of technologies: Griliches, Z. (1957). Hybrid corn.
    Econometrica 25(4), 501-522. doi:10.2307/1905380
    """
    return _fit_curve("logistic", years, values, cap)


def predict_logistic(params, years):
    """Logistic curve values at ``years``, shape (n_units, len(years))."""
    return _predict_curve("logistic", params, years)


def fit_gompertz(years, values, *, cap=None):
    """Fit a Gompertz curve ``y = K exp(-exp(-(a + b (t - t_ref))))`` (saturation ``K`` in ``[max y, cap]``).

    Same batched least-squares procedure as :func:`fit_logistic`. The Gompertz curve is asymmetric
    (inflection at ``K/e``), a common choice for technology adoption.

    References
    ----------
    Gompertz, B. (1825). Phil. Trans. R. Soc. 115, 513-583. doi:10.1098/rstl.1825.0026 ;
    Franses, P. H. (1994). Fitting a Gompertz curve. J. Oper. Res. Soc. 45(1), 109-113.
    doi:10.1057/jors.1994.11
    """
    return _fit_curve("gompertz", years, values, cap)


def predict_gompertz(params, years):
    """Gompertz curve values at ``years``, shape (n_units, len(years))."""
    return _predict_curve("gompertz", params, years)


# --------------------------------------------------------------------------------------------
# Bass diffusion
# --------------------------------------------------------------------------------------------

def fit_bass(years, values, *, cap=None, n_grid=16):
    """Fit the Bass (1969) diffusion model to each unit's cumulative-adoption series.

    Bass's own discrete estimator: the yearly gain ``S_t = Y_t - Y_{t-1}`` is regressed on
    ``(m - Y_{t-1})`` and ``Y_{t-1} (m - Y_{t-1}) / m``, whose coefficients are the innovation and
    imitation rates ``p`` and ``q`` (non-negative least squares, no intercept). The market size ``m``
    is chosen on a grid in ``[max observed, cap]`` by the squared error, over all observed years, of
    the continuous Bass curve with those ``p, q`` passed through the last observation. Only consecutive
    observed years enter the regression. The forecast is the continuous Bass curve with these
    ``p, q, m``, placed in time so that it passes through the last observation.

    Returns
    -------
    dict of arrays (n_units,): ``p``, ``q``, ``m``, ``anchor_year``, ``anchor_value``, ``cap``.

    References
    ----------
    Bass, F. M. (1969). A new product growth for model consumer durables. Management Science 15(5),
    215-227. doi:10.1287/mnsc.15.5.215
    """
    t, v = _prep(years, values)
    ok = ~np.isnan(v)
    n_obs = ok.sum(1)
    kmin, kmax = _cap_bounds(v, cap, n_obs, MIN_POINTS["bass"])
    fit_ok = np.isfinite(kmin)
    prev, cur = v[:, :-1], v[:, 1:]
    pair = ~np.isnan(prev) & ~np.isnan(cur) & (np.diff(t)[None, :] == 1)
    S = np.where(pair, cur - prev, 0.0)
    Y = np.where(pair, prev, 0.0)
    w = pair.astype(float)
    frac = np.concatenate([[0.0], np.geomspace(0.002, 1.0, n_grid - 1)])
    km = np.where(fit_ok, kmin, 1.0)
    m = km[:, None] + (np.where(fit_ok, kmax, 2.0) - km)[:, None] * frac[None, :]      # (U, G)
    X1 = (m[..., None] - Y[:, None, :]) * w[:, None, :]
    X2 = Y[:, None, :] * (m[..., None] - Y[:, None, :]) / m[..., None] * w[:, None, :]
    Sx = S[:, None, :] * w[:, None, :]
    a11, a12, a22 = (X1 * X1).sum(-1), (X1 * X2).sum(-1), (X2 * X2).sum(-1)
    b1, b2 = (X1 * Sx).sum(-1), (X2 * Sx).sum(-1)
    det = a11 * a22 - a12 ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (a22 * b1 - a12 * b2) / det
        q = (a11 * b2 - a12 * b1) / det
        p_only = np.maximum(b1 / a11, 0.0)
        q_only = np.maximum(b2 / a22, 0.0)
    bad = ~(np.isfinite(p) & np.isfinite(q)) | (p < 0) | (q < 0)
    # non-negative solution: best of the one-regressor fits where the joint one is infeasible
    sse_p = ((Sx - p_only[..., None] * X1) ** 2).sum(-1)
    sse_q = ((Sx - q_only[..., None] * X2) ** 2).sum(-1)
    use_p = np.nan_to_num(sse_p, nan=np.inf) <= np.nan_to_num(sse_q, nan=np.inf)
    p = np.where(bad, np.where(use_p, p_only, 0.0), p)
    q = np.where(bad, np.where(use_p, 0.0, q_only), q)
    p, q = np.nan_to_num(p), np.nan_to_num(q)
    ty, yv = _anchor(t, v)
    # choose m by the level error of the continuous curve through the last observation
    G = m.shape[1]
    grid = {"p": np.maximum(p, 1e-7).ravel(), "q": q.ravel(), "m": m.ravel(),
            "anchor_year": np.repeat(ty, G), "anchor_value": np.repeat(yv, G)}
    with np.errstate(invalid="ignore", over="ignore"):
        curve = predict_bass(grid, t).reshape(v.shape[0], G, -1)
    sse = np.where(ok[:, None, :], (curve - v[:, None, :]) ** 2, 0.0).sum(-1)
    best = np.argmin(np.where(np.isfinite(sse), sse, np.inf), axis=1)
    iu = np.arange(v.shape[0])
    nan = np.where(fit_ok, 1.0, np.nan)
    return {"p": np.maximum(p[iu, best], 1e-7) * nan, "q": q[iu, best] * nan, "m": m[iu, best] * nan,
            "anchor_year": ty, "anchor_value": yv, "cap": _cap_array(cap, v.shape[0])}


def predict_bass(params, years):
    """Continuous Bass curve through the anchor observation, shape (n_units, len(years))."""
    p, q, m = (params[k][:, None] for k in ("p", "q", "m"))
    T, yT = params["anchor_year"][:, None], params["anchor_value"][:, None]
    dt = np.asarray(years, dtype=float)[None, :] - T
    F = np.clip(yT / m, 0.0, 1.0 - 1e-12)
    r = q / p
    xT = (1 - F) / (1 + F * r)
    rxT = r * (1 - F) / (1 + F * r)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(-(p + q) * dt)
        Ft = (1 - xT * e) / (1 + rxT * e)
    return m * np.clip(Ft, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# trends and the random walk
# --------------------------------------------------------------------------------------------

def fit_linear(years, values, *, cap=None):
    """Ordinary least squares linear trend ``y = a + b (t - t_ref)`` per unit (at least 3 points).

    References
    ----------
    Hyndman, R. J., & Athanasopoulos, G. (2021). Forecasting: principles and practice, 3rd ed.,
    section 7.1. https://otexts.com/fpp3/regression-intro.html
    """
    t, v = _prep(years, values)
    ok = ~np.isnan(v)
    n = ok.sum(1)
    w = ok.astype(float)
    x = np.broadcast_to(t, v.shape)
    t_ref = np.where(n > 0, (w * x).sum(1) / np.maximum(n, 1), 0.0)
    a, b = _wls_line(x - t_ref[:, None], np.where(ok, v, 0.0), w)
    nan = np.where(n >= MIN_POINTS["linear"], 1.0, np.nan)
    return {"a": a * nan, "b": b * nan, "t_ref": t_ref, "cap": _cap_array(cap, v.shape[0])}


def predict_linear(params, years):
    """Linear trend values, capped at ``cap``; shape (n_units, len(years))."""
    t = np.asarray(years, dtype=float)[None, :] - params["t_ref"][:, None]
    return _apply_cap(params["a"][:, None] + params["b"][:, None] * t, params)


def fit_rw_drift(years, values, *, cap=None, window=5, no_drift=0.0):
    """Random walk with drift: last value plus the mean annual change over the last ``window`` years.

    The drift is ``(y_T - y_s) / (T - s)`` where ``T`` is the last observed year and ``s`` the
    earliest observed year in ``[T - window, T)``; without gaps this is the mean of the yearly
    differences in the window. With ``window=None`` the whole history is used (the textbook drift,
    the mean of all differences). The forecast is capped at ``cap``.

    The drift uses the observed points within the window only, so the baseline always answers: when
    a gap leaves no observation in the window before ``T``, the drift is ``no_drift`` (default 0: the
    random walk without drift, from the last value). NaN for a unit with no observation at all.

    References
    ----------
    Hyndman, R. J., & Athanasopoulos, G. (2021). Forecasting: principles and practice, 3rd ed.,
    section 5.2 (drift method). https://otexts.com/fpp3/simple-methods.html
    """
    t, v = _prep(years, values)
    ok = ~np.isnan(v)
    ty, yv = _anchor(t, v)
    win = np.inf if window is None else window
    inwin = ok & (t[None, :] >= ty[:, None] - win) & (t[None, :] < ty[:, None])
    has = inwin.any(1)
    s = np.argmax(inwin, axis=1)
    ys, ts = v[np.arange(v.shape[0]), s], t[s]
    d = np.where(has, (yv - ys) / np.where(has, ty - ts, 1.0), np.where(np.isnan(yv), np.nan, no_drift))
    return {"anchor_year": ty, "anchor_value": yv, "drift": d, "cap": _cap_array(cap, v.shape[0])}


def predict_rw_drift(params, years):
    """Random walk with drift forecast ``y_T + (t - T) d``, capped at ``cap``."""
    dt = np.asarray(years, dtype=float)[None, :] - params["anchor_year"][:, None]
    return _apply_cap(params["anchor_value"][:, None] + dt * params["drift"][:, None], params)


_HOLT_ALPHA = np.array([0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
_HOLT_BETA = np.array([0.02, 0.1, 0.3, 0.6])      # as a fraction of alpha
_HOLT_PHI = np.array([0.8, 0.9, 0.95, 0.98])


def fit_damped(years, values, *, cap=None):
    """Holt's additive damped trend (Gardner & McKenzie 1985), batched over units.

    Error-correction form: ``l_t = l_{t-1} + phi b_{t-1} + alpha e_t``, ``b_t = phi b_{t-1} +
    alpha beta* e_t``, with ``(alpha, beta*, phi)`` chosen per unit on a grid
    (alpha in 0.1..1, beta* in 0.02..0.6, phi in 0.8..0.98) by one-step squared error. Internal gaps
    are filled by linear interpolation; the state starts at the first observation with the first
    difference as trend. The h-step forecast is ``l_T + (phi + ... + phi^h) b_T``, capped at ``cap``.

    References
    ----------
    Gardner, E. S., & McKenzie, E. (1985). Forecasting trends in time series. Management Science
    31(10), 1237-1246. doi:10.1287/mnsc.31.10.1237
    """
    t, v = _prep(years, values)
    U, n = v.shape
    ok = ~np.isnan(v)
    n_obs = ok.sum(1)
    first = np.argmax(ok, axis=1)
    last = n - 1 - np.argmax(ok[:, ::-1], axis=1)
    yi = _interp_rows(t, v)
    A, B, P = np.meshgrid(_HOLT_ALPHA, _HOLT_BETA, _HOLT_PHI, indexing="ij")
    A, B, P = A.ravel()[None, :], (A * B).ravel()[None, :], P.ravel()[None, :]
    iu = np.arange(U)
    y0 = yi[iu, first]
    y1 = yi[iu, np.minimum(first + 1, n - 1)]
    lvl = np.repeat(y0[:, None], A.shape[1], axis=1)
    tr = np.repeat(np.where(n_obs >= 2, y1 - y0, 0.0)[:, None], A.shape[1], axis=1)
    sse = np.zeros_like(lvl)
    for j in range(n):
        act = ((j > first + 1) & (j <= last))[:, None] if n > 1 else np.zeros((U, 1), bool)
        act1 = ((j == first + 1) & (j <= last))[:, None]
        yj = yi[:, j][:, None]
        fc = lvl + P * tr
        e = yj - fc
        e = np.where(np.isfinite(e), e, 0.0)
        nl = fc + A * e
        nt = P * tr + B * e
        sse = sse + np.where(act, e ** 2, 0.0)
        lvl = np.where(act, nl, np.where(act1, yj, lvl))
        tr = np.where(act, nt, tr)
    best = np.argmin(sse, axis=1)
    nan = np.where(n_obs >= MIN_POINTS["damped"], 1.0, np.nan)
    return {"level": lvl[iu, best] * nan, "trend": tr[iu, best] * nan, "alpha": A[0, best] * nan,
            "beta": B[0, best] * nan, "phi": P[0, best] * nan,
            "anchor_year": np.where(n_obs > 0, t[last], np.nan), "cap": _cap_array(cap, U)}


def _interp_rows(t, v):
    out = v.copy()
    gappy = np.isnan(v).any(1) & ((~np.isnan(v)).sum(1) >= 2)
    for i in np.flatnonzero(gappy):
        ok = ~np.isnan(v[i])
        lo_, hi_ = np.argmax(ok), len(ok) - 1 - np.argmax(ok[::-1])
        seg = slice(lo_, hi_ + 1)
        out[i, seg] = np.interp(t[seg], t[ok], v[i, ok])
    return out


def predict_damped(params, years):
    """Damped trend forecast ``l_T + b_T sum_{i=1..h} phi^i``, capped at ``cap``."""
    h = np.asarray(years, dtype=float)[None, :] - params["anchor_year"][:, None]
    phi = params["phi"][:, None]
    damp = np.where(h > 0, phi * (1 - phi ** np.maximum(h, 0)) / (1 - phi), h)
    return _apply_cap(params["level"][:, None] + params["trend"][:, None] * damp, params)


#: registry of trajectory models: name -> (fit, predict)
MODELS: dict[str, tuple[Callable, Callable]] = {
    "logistic": (fit_logistic, predict_logistic),
    "gompertz": (fit_gompertz, predict_gompertz),
    "bass": (fit_bass, predict_bass),
    "linear": (fit_linear, predict_linear),
    "damped": (fit_damped, predict_damped),
    "rw_drift": (fit_rw_drift, predict_rw_drift),
}


def _check_models(models):
    models = tuple(DEFAULT_MODELS if models is None else models)
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise DataError(f"unknown forecast model(s) {unknown}", field="models", value=unknown,
                        fix=f"choose from {sorted(MODELS)}")
    return models


# --------------------------------------------------------------------------------------------
# rolling-origin backtest
# --------------------------------------------------------------------------------------------

def recent_scale(years, values, *, window=5):
    """Each unit's recent volatility: mean absolute annual change over the last ``window`` years.

    ``sum |y_i - y_{i-1}| / (T - s)`` over consecutive observations in ``[T - window, T]`` (``T`` the
    last observed year, ``s`` the earliest observed year in the window); NaN with fewer than two
    points there. This is the in-sample naive-forecast MAE that scales MASE (Hyndman & Koehler 2006,
    doi:10.1016/j.ijforecast.2006.03.001), restricted to recent years.
    """
    t, v = _prep(years, values)
    ty, _ = _anchor(t, v)
    inwin = ~np.isnan(v) & (t[None, :] >= ty[:, None] - window)
    vv = np.where(inwin, v, np.nan)
    # consecutive observed points: forward-fill within the window
    total = np.zeros(v.shape[0])
    prev = np.full(v.shape[0], np.nan)
    first_t = np.full(v.shape[0], np.nan)
    for j in range(v.shape[1]):
        x = vv[:, j]
        okj = ~np.isnan(x)
        total = total + np.where(okj & ~np.isnan(prev), np.abs(x - prev), 0.0)
        first_t = np.where(okj & np.isnan(first_t), t[j], first_t)
        prev = np.where(okj, x, prev)
    span = ty - first_t
    return np.where(span > 0, total / np.where(span > 0, span, 1.0), np.nan)


@dataclass
class Backtest:
    """Rolling-origin forecasts of every model (see :func:`backtest`).

    Attributes
    ----------
    models : tuple of str
    origins : array (n_origins,)  origin years
    horizons : array (n_h,)  1..H
    forecasts : array (n_models, n_units, n_origins, n_h)  clipped to [lo, hi]; NaN where not made
    actual : array (n_units, n_origins, n_h)  held-out values (NaN where missing or beyond the data)
    level : array (n_units, n_origins)  value at the origin
    scale : array (n_units, n_origins)  :func:`recent_scale` at the origin
    """

    models: tuple
    origins: np.ndarray
    horizons: np.ndarray
    forecasts: np.ndarray
    actual: np.ndarray
    level: np.ndarray
    scale: np.ndarray

    @property
    def errors(self) -> np.ndarray:
        """``actual - forecast``, shape (n_models, n_units, n_origins, n_h)."""
        return self.actual[None] - self.forecasts

    @property
    def target_years(self) -> np.ndarray:
        """Year forecast by each (origin, horizon), shape (n_origins, n_h)."""
        return self.origins[:, None] + self.horizons[None, :]

    def table(self, unit: int | None = None, *, upto: float | None = None) -> pd.DataFrame:
        """Errors per model: ``n``, ``mae``, ``mase`` (errors over recent scale), ``bias`` (mean error).

        ``unit``: one unit's own errors (default: pooled over all units); ``upto``: only targets in
        years up to this one.
        """
        e = self.errors
        s = self.scale[None, :, :, None]
        mask = np.isfinite(e)
        if upto is not None:
            mask &= (self.target_years <= upto)[None, None]
        if unit is not None:
            e, s, mask = e[:, unit:unit + 1], s[:, unit:unit + 1], mask[:, unit:unit + 1]
        rows = []
        for i, m in enumerate(self.models):
            ei = e[i][mask[i]]
            si = np.broadcast_to(s[0], e[i].shape)[mask[i]]
            with np.errstate(divide="ignore", invalid="ignore"):
                sc = np.abs(ei) / si
            sc = sc[np.isfinite(sc)]
            rows.append({"model": m, "n": int(ei.size),
                         "mae": float(np.mean(np.abs(ei))) if ei.size else np.nan,
                         "mase": float(np.mean(sc)) if sc.size else np.nan,
                         "bias": float(np.mean(ei)) if ei.size else np.nan})
        return pd.DataFrame(rows).set_index("model")


def backtest(years, values, *, models=None, cap=None, lo=None, hi=None, horizons=8, min_obs=5,
             origins=None, window=5) -> Backtest:
    """Rolling-origin evaluation of every model on each series' own history (Tashman 2000).

    At each origin year ``o`` every model is fitted on the data up to ``o`` only (later columns are
    not passed to the fit at all), then forecasts ``o+1 .. o+H``; forecasts are clipped to
    ``[lo, hi]``. A unit takes part at origin ``o`` if it has a value at ``o`` and at least
    ``min_obs`` values up to ``o``.

    Parameters
    ----------
    years : array of int (n_years,)  consecutive calendar years
    values : array (n_units, n_years)
    models : sequence of str, optional  names in :data:`MODELS` (default :data:`DEFAULT_MODELS`)
    cap : float, optional  saturation bound for the curves and cap of every forecast
    lo, hi : float, optional  valid range of the indicator
    horizons : int  H, forecast 1..H years ahead
    origins : sequence of int, optional  origin years (default: every year with enough history)

    References
    ----------
    Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an analysis and review.
    International Journal of Forecasting 16(4), 437-450. doi:10.1016/S0169-2070(00)00065-0
    """
    models = _check_models(models)
    t, v = _prep(years, values)
    if len(t) > 1 and np.any(np.diff(t) != 1):
        raise DataError("years must be consecutive calendar years (use NaN for missing years)",
                        field="years", value=list(t.astype(int)))
    U = v.shape[0]
    H = int(horizons)
    if origins is None:
        origins = t[min(min_obs, len(t)) - 1:-1] if len(t) > 1 else t[:0]
    origins = np.asarray(origins, dtype=float)
    hs = np.arange(1, H + 1)
    M, O = len(models), len(origins)
    fc = np.full((M, U, O, H), np.nan)
    actual = np.full((U, O, H), np.nan)
    level = np.full((U, O), np.nan)
    scale = np.full((U, O), np.nan)
    for k, o in enumerate(origins):
        j = int(np.searchsorted(t, o))
        if j >= len(t) or t[j] != o:
            continue
        sub = v[:, :j + 1]
        elig = ~np.isnan(sub[:, -1]) & ((~np.isnan(sub)).sum(1) >= min_obs)
        if not elig.any():
            continue
        idx = np.flatnonzero(elig)
        fut = o + hs
        pos = j + hs
        inside = pos < len(t)
        actual[idx[:, None], k, np.flatnonzero(inside)[None, :]] = v[idx][:, pos[inside]]
        level[idx, k] = sub[idx, -1]
        scale[idx, k] = recent_scale(t[:j + 1], sub[idx], window=window)
        for i, m in enumerate(models):
            fit, pred = MODELS[m]
            p = fit(t[:j + 1], sub[idx], cap=cap)
            fc[i, idx, k, :] = clip_range(pred(p, fut), lo, hi)
    return Backtest(models=models, origins=origins, horizons=hs, forecasts=fc, actual=actual,
                    level=level, scale=scale)


# --------------------------------------------------------------------------------------------
# the method: combination or selection, with nested (honest) weights
# --------------------------------------------------------------------------------------------

METHODS = ("mean", "inverse_mae", "select", "pooled", "auto")
#: the method `digimeter targets`, `forecast` and `backtest` use unless told otherwise
DEFAULT_METHOD = "auto"
#: methods built on the pooled analogue model (:mod:`digimeter.forecast_pooled`)
POOLED_METHODS = ("pooled", "auto")


def _weights(bt: Backtest, method: str, upto: float, combo=COMBO_MODELS, min_errors=5):
    """Model weights per unit from errors with target year <= ``upto``: (n_units, n_models)."""
    M, U = len(bt.models), bt.actual.shape[0]
    base = np.array([m in combo for m in bt.models], dtype=float)
    if base.sum() == 0:
        base = np.ones(M)
    base = np.broadcast_to(base / base.sum(), (U, M)).copy()
    if method == "mean":
        return base
    e = np.abs(bt.errors)                                          # (M, U, O, H)
    mask = np.isfinite(e) & (bt.target_years <= upto)[None, None]
    common = mask.all(axis=0)                                      # compare on the same errors
    n = common.sum(axis=(1, 2))                                    # (U,)
    mae = np.where(common[None], e, 0.0).sum(axis=(2, 3)) / np.maximum(n, 1)[None]   # (M, U)
    mae = mae.T
    enough = n >= min_errors
    if method == "inverse_mae":
        w = 1.0 / np.maximum(mae, 1e-6)
    elif method == "select":
        w = np.zeros_like(mae)
        w[np.arange(U), np.argmin(mae, axis=1)] = 1.0
    else:
        raise DataError(f"unknown method {method!r}", field="method", value=method, fix=f"one of {METHODS}")
    w = w / w.sum(1, keepdims=True)
    return np.where(enough[:, None], w, base)


def _combine(f, w):
    """Weighted mean over models (axis 0 of f) dropping NaN forecasts; w (U, M) broadcast on f (M, U, ...)."""
    ww = np.moveaxis(w, 1, 0).reshape(w.shape[1], w.shape[0], *([1] * (f.ndim - 2)))
    ok = np.isfinite(f)
    num = np.where(ok, f * ww, 0.0).sum(0)
    den = np.where(ok, ww, 0.0).sum(0)
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    # a unit whose weighted models are all missing falls back to the plain mean of what exists
    fb = np.where(ok, f, 0.0).sum(0) / np.maximum(ok.sum(0), 1)
    return np.where(den > 0, out, np.where(ok.any(0), fb, np.nan))


def method_forecasts(bt: Backtest, method="mean", *, combo=COMBO_MODELS, min_errors=5):
    """The method's own backtest forecasts, shape (n_units, n_origins, n_h).

    The weights used at origin ``o`` come only from errors whose target year is ``<= o``, so these
    forecasts (and the intervals calibrated on their errors) are out-of-sample. Methods:

    - ``"mean"``: equal-weight mean of ``combo`` (default clipped ``rw_drift``, ``gompertz``,
      ``damped``), a forecast combination in the sense of Bates & Granger (1969),
      doi:10.1057/jors.1969.103;
    - ``"inverse_mae"``: weights proportional to 1/MAE of each model on the unit's own past
      backtest errors (falls back to ``"mean"`` with fewer than ``min_errors`` errors);
    - ``"select"``: the model with the lowest own-backtest MAE (same fallback).
    """
    out = np.full(bt.actual.shape, np.nan)
    for k, o in enumerate(bt.origins):
        w = _weights(bt, method, o, combo, min_errors)
        out[:, k] = _combine(bt.forecasts[:, :, k], w)
    return out


def pooled_choice(bt: Backtest, mean_bt: np.ndarray, pooled_bt: np.ndarray, upto: float, *,
                  min_errors: int = 300) -> np.ndarray:
    """Per horizon, whether the pooled model beats the combination: its MAE on the out-of-sample
    errors with target year ``<= upto`` (on the cells where both forecast) is lower, over at least
    ``min_errors`` errors; a horizon with fewer takes the nearest shorter horizon's choice (the
    pooled model where there is none). Returns a bool array (n_h,)."""
    ty = bt.target_years <= upto
    ea, eb = np.abs(bt.actual - pooled_bt), np.abs(bt.actual - mean_bt)
    ok = np.isfinite(ea) & np.isfinite(eb) & ty[None]
    n = ok.sum(axis=(0, 1))
    mae_p = np.where(ok, ea, 0.0).sum(axis=(0, 1)) / np.maximum(n, 1)
    mae_m = np.where(ok, eb, 0.0).sum(axis=(0, 1)) / np.maximum(n, 1)
    out = np.ones(n.size, bool)
    prev = True
    for h in range(n.size):
        prev = bool(mae_p[h] < mae_m[h]) if n[h] >= min_errors else prev
        out[h] = prev
    return out


def pooled_method_forecasts(bt: Backtest, years, values, method="auto", *, lo=None, hi=None, donors=None,
                            eligible=None, combo=COMBO_MODELS, recent: int = 12):
    """The ``"pooled"`` / ``"auto"`` method's own backtest forecasts, shape (n_units, n_origins, n_h).

    ``"pooled"``: the pooled analogue model (:func:`digimeter.forecast_pooled.pooled_backtest`),
    trained at each origin on pairs that end by then (the ``"mean"`` combination where it has too
    few pairs to forecast at all, e.g. one short series without donors). ``"auto"``: per horizon, the pooled model or the
    ``"mean"`` combination, whichever had the lower MAE on all the out-of-sample errors up to the
    last year (:func:`pooled_choice`), and only where the pooled model had enough training pairs of
    its own at that horizon (it is not extrapolated from shorter ones, as a thin panel such as four
    years of regional data would need); the intervals are then calibrated on the chosen model's
    errors at each horizon (as the reference backtest's per-horizon choice did). Every forecast is
    out of sample; the choice itself is made once, on the same errors.

    Only the last ``recent`` backtest origins are forecast (earlier ones are NaN, so neither the
    choice nor the intervals rest on errors from long ago, when the panel was thin).

    Returns ``(forecasts, pooled_forecasts, use_pooled)``; ``use_pooled`` (n_h,) bool.
    """
    from digimeter.forecast_pooled import pooled_backtest

    t, v = _prep(years, values)
    if eligible is None:
        eligible = np.isfinite(bt.level)
    keep = np.arange(bt.origins.size) >= bt.origins.size - recent
    pb = np.full(bt.actual.shape, np.nan)
    pb[:, keep] = pooled_backtest(t, v, bt.origins[keep], bt.horizons.size, eligible=eligible[:, keep],
                                  donors=donors, lo=lo, hi=hi, extrapolate=method == "pooled")
    mean_bt = method_forecasts(bt, "mean", combo=combo)
    mean_bt[:, ~keep] = np.nan
    if method == "pooled":   # the combination only where the pooled model cannot forecast (too few pairs)
        return np.where(np.isfinite(pb), pb, mean_bt), pb, np.ones(bt.horizons.size, bool)
    use = pooled_choice(bt, mean_bt, pb, t[-1])
    out = np.where(use[None, None, :], pb, mean_bt)
    out = np.where(np.isfinite(out), out, np.where(np.isfinite(pb), pb, mean_bt))
    return out, pb, use


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
        (:func:`recent_scale`); floored at ``max(min_scale, its 10th percentile)`` so flat series do
        not produce 0/0.
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
    has = np.isfinite(e).any(-1) & np.isfinite(s)
    sv = s[has]
    if sv.size == 0:
        raise DataError("too few backtest errors to calibrate prediction intervals",
                        fix="pass longer series (at least min_obs + 1 years) or a pooled calibration=")
    floor = float(max(min_scale, np.percentile(sv, 10)))
    sf = np.maximum(np.where(np.isfinite(s), s, floor), floor)
    z = e / sf[..., None]
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
                zh = z[..., h][(b == bi) & np.isfinite(z[..., h])]
                n_bin[bi, h] = zh.size
                if zh.size >= min_bin:
                    q_bin[bi, h] = np.quantile(zh, probs)
    # level bands (alone, and crossed with the volatility bins)
    l_edges, q_level, q_cell = np.array([]), None, None
    if level is not None and not pooled:
        lvl = np.broadcast_to(np.asarray(level, float), s.shape)
        l_edges = np.asarray(level_bands(lvl) if level_edges is None else level_edges, float)
        if l_edges.size:
            known = np.isfinite(lvl)
            lb = np.where(known, np.searchsorted(l_edges, np.where(known, lvl, 0.0), side="right"), -1)
            vb = np.searchsorted(edges, sf) if edges.size else np.zeros(sf.shape, int)
            L, V = l_edges.size + 1, q_bin.shape[0]
            q_level = np.full((L, H, probs.size), np.nan)
            q_cell = np.full((L, V, H, probs.size), np.nan)
            for li in range(L):
                for h in range(H):
                    ok = (lb == li) & np.isfinite(z[..., h])
                    zh = z[..., h][ok]
                    if zh.size >= min_bin:
                        q_level[li, h] = np.quantile(zh, probs)
                    for bi in range(V):
                        zc = z[..., h][ok & (vb == bi)]
                        if zc.size >= min_bin:
                            q_cell[li, bi, h] = np.quantile(zc, probs)
    note = (f"errors of all horizons pooled as error/(scale*h): {int(n.sum())} errors" if pooled else
            f"{int(n.sum())} errors, per horizon {n.tolist()}, {q_bin.shape[0]} volatility bin(s)"
            + (f" x {l_edges.size + 1} level bands" if l_edges.size else ""))
    return Calibration(probs=probs, q=q, q_bin=q_bin, bin_edges=edges, n=n, n_bin=n_bin,
                       scale_floor=floor, pooled_by_h=pooled, note=note, level_edges=l_edges,
                       q_level=q_level, q_cell=q_cell)


# --------------------------------------------------------------------------------------------
# forecasts with predictive distributions
# --------------------------------------------------------------------------------------------

@dataclass
class ForecastResult:
    """One unit's forecast: the method, why it was chosen, quantiles and samples per future year.

    Attributes
    ----------
    model : str  the chosen model, or ``"mean(...)"`` / ``"inverse_mae(...)"`` for a combination
    why : str  one sentence on the choice, from the backtest table
    weights : dict  model -> weight used for the final forecast
    years : array (n_future,)  forecast years (after the last observation)
    point : array (n_future,)  the method's point forecast (clipped)
    quantiles : DataFrame  index = year, columns = :data:`QUANTILES`
    samples : array (n_samples, n_future)  draws of the predictive distribution (comonotone paths)
    backtest : DataFrame  the unit's own rolling-origin errors per model (and the method)
    anchor_year, anchor_value : the last observation
    notes : list of str  warnings (short series, stuck at the bound, self-calibrated intervals ...)
    """

    unit: str | None
    model: str
    why: str
    weights: dict
    years: np.ndarray
    point: np.ndarray
    quantiles: pd.DataFrame
    samples: np.ndarray
    backtest: pd.DataFrame
    anchor_year: float
    anchor_value: float
    lo: float | None = None
    hi: float | None = None
    notes: list = field(default_factory=list)
    calibration: Calibration | None = None


@dataclass
class PanelForecast:
    """Forecasts of many units at once (arrays with units on axis 0); see :func:`forecast_panel`.

    ``point`` is the central forecast (the combination, or the predictive median: ``center``);
    ``years`` is the common future axis (from the earliest unit's last observation + 1 to ``to_year``);
    for a unit whose data reach further, years up to its own last observation hold that observation
    (zero width) or NaN where it is missing. ``quantiles`` is (n_units, n_years, 5) for
    :data:`QUANTILES`, ``samples`` (n_units, n_samples, n_years).
    """

    units: list
    years: np.ndarray
    point: np.ndarray
    quantiles: np.ndarray
    samples: np.ndarray
    weights: np.ndarray
    models: tuple
    method: str
    anchor_year: np.ndarray
    anchor_value: np.ndarray
    status: list
    backtest: Backtest
    method_backtest: np.ndarray
    calibration: Calibration
    lo: float | None = None
    hi: float | None = None
    center: CenterChoice | None = None       # combination or predictive median, by level band
    center_median: np.ndarray | None = None  # per unit: True where the central forecast is the median
    combination: np.ndarray | None = None    # the models' combination; quantiles = combination + errors
    common_shock: float = 0.0                # correlation of the units' draws (one-factor copula)
    common_shock_info: dict = field(default_factory=dict)
    qfun: np.ndarray | None = None           # (U, Y, len(probs)): each unit's quantile function per year
    probs: np.ndarray | None = None

    def draw(self, i: int, j: int, u) -> np.ndarray:
        """Values of unit ``i`` in year index ``j`` at probabilities ``u`` (its predictive quantile
        function; ``samples`` are this at the panel's own uniforms)."""
        return interp_q(self.qfun[i, j], self.probs, np.asarray(u, float))

    def result(self, unit) -> ForecastResult:
        """The :class:`ForecastResult` of one unit (by code or position)."""
        i = self.units.index(unit) if not isinstance(unit, (int, np.integer)) else int(unit)
        keep = self.years > self.anchor_year[i]
        w = dict(zip(self.models, np.round(self.weights[i], 4).tolist()))
        table = self.backtest.table(unit=i)
        e = self.backtest.actual[i] - self.method_backtest[i]
        e = e[np.isfinite(e)]
        sc = np.broadcast_to(self.backtest.scale[i][:, None], self.method_backtest[i].shape)
        zz = (self.backtest.actual[i] - self.method_backtest[i]) / sc
        zz = zz[np.isfinite(zz)]
        label = method_label(self.method, self.models, self.weights[i])
        table.loc[label] = {"n": int(e.size), "mae": float(np.mean(np.abs(e))) if e.size else np.nan,
                            "mase": float(np.mean(np.abs(zz))) if zz.size else np.nan,
                            "bias": float(np.mean(e)) if e.size else np.nan}
        table["weight"] = [w.get(m, np.nan) for m in table.index[:-1]] + [1.0]
        notes = [] if self.status[i] == "ok" else [self.status[i]]
        if self.calibration.pooled_by_h:
            notes.append("intervals calibrated on this series' own backtest errors only ("
                         + self.calibration.note + "); pass calibration= from a panel for sturdier ones")
        return ForecastResult(
            unit=self.units[i], model=label, why=_why(table, label, self.method) + _why_center(self, i),
            weights=w,
            years=self.years[keep].astype(int), point=self.point[i, keep],
            quantiles=pd.DataFrame(self.quantiles[i, keep], index=pd.Index(self.years[keep].astype(int),
                                   name="year"), columns=list(QUANTILES)),
            samples=self.samples[i][:, keep], backtest=table, anchor_year=float(self.anchor_year[i]),
            anchor_value=float(self.anchor_value[i]), lo=self.lo, hi=self.hi, notes=notes,
            calibration=self.calibration)


def method_label(method, models, w):
    if method in POOLED_METHODS:
        return method
    if method == "select":
        return models[int(np.argmax(w))]
    used = [m for m, x in zip(models, w) if x > 0]
    return f"{method}({', '.join(used)})"


def _why(table, label, method):
    singles = table.iloc[:-1].dropna(subset=["mae"])
    own = table.loc[label]
    if singles.empty or not np.isfinite(own["mae"]):
        return f"{label}: too little history for a backtest; the default combination is used"
    best = singles["mae"].idxmin()
    base = singles["mae"].get("rw_drift", np.nan)
    what = {"mean": "equal-weight mean of the models that won the reference backtest",
            "inverse_mae": "models weighted by 1/MAE of their own past backtest errors",
            "select": "the model with the lowest own-backtest MAE",
            "pooled": "the pooled analogue model (how series at this level and pace in the whole panel "
                      "went on to change)",
            "auto": "per horizon, the pooled analogue model or the equal-weight mean, whichever erred "
                    "less out of sample"}[method]
    return (f"{label}: {what}; its own rolling-origin MAE is {own['mae']:.3g} over {int(own['n'])} "
            f"out-of-sample forecasts (random walk with drift {base:.3g}, best single model "
            f"{best} {singles.loc[best, 'mae']:.3g})")


def _why_center(pf: "PanelForecast", i: int) -> str:
    ch = pf.center
    if ch is None or pf.center_median is None:
        return ""
    b = int(ch.band_of(pf.anchor_value[i]))
    ev, lab = ch.evidence[b], ch.labels()[b]
    if "mae_point" not in ev:
        return ""
    if pf.center_median[i]:
        return (f"; the central forecast is the median of the calibrated distribution: for series at this "
                f"level ({lab}) it erred {ev['mae_median']:.3g} against {ev['mae_point']:.3g} for the "
                f"combination on the {ev['n_test']} most recent out-of-sample errors")
    return (f"; the central forecast is the combination itself: for series at this level ({lab}) its "
            f"median-shifted version erred {ev['mae_median']:.3g} against {ev['mae_point']:.3g}")


def _validate(t, v, lo, hi, units, min_obs):
    problems = []
    status = []
    from digimeter.errors import Problem
    for i in range(v.shape[0]):
        name = units[i]
        x = v[i][~np.isnan(v[i])]
        bad = []
        if lo is not None:
            bad += [int(t[j]) for j in np.flatnonzero(v[i] < lo)]
        if hi is not None:
            bad += [int(t[j]) for j in np.flatnonzero(v[i] > hi)]
        if bad:
            problems.append(Problem(f"unit {name!r} has values outside the valid range [{lo}, {hi}] in "
                                    f"years {sorted(bad)}", field="values", value=name,
                                    fix="correct the data (corrections.yaml) or widen lo/hi"))
        if x.size == 0:
            status.append("no data")
        elif x.size < min_obs:
            status.append(f"too few observations ({x.size} < {min_obs}); forecast by the random walk "
                          "with drift only" if x.size >= 2 else f"too few observations ({x.size})")
        elif hi is not None and np.all(x[-min(3, x.size):] >= hi):
            status.append(f"stuck at the upper bound {hi}: forecast stays there")
        elif np.isnan(v[i, -1]) and x.size:
            status.append("ok")
        else:
            status.append("ok")
    if problems:
        raise DataError(f"{len(problems)} series have values outside the valid range", problems=problems)
    return status


CENTERS = ("auto", "point", "median")
#: estimated error correlations below this are treated as zero (independent draws)
MIN_COMMON_SHOCK = 0.05


def error_correlation(bt: Backtest, method_backtest: np.ndarray, *, scale_floor: float = 0.05,
                      min_units: int = 10, min_cells: int = 5) -> tuple[float, dict]:
    """How much the units' out-of-sample errors move together: the intra-class correlation of their
    normal scores within each (origin, horizon) cell.

    Errors are divided by each series' recent volatility, turned into normal scores by rank within
    each horizon (pooled over origins), and the correlation is the moment estimator
    ``sum_c [(sum_i z)^2 - sum_i z^2] / sum_c [(n_c - 1) sum_i z^2]`` over cells with at least
    ``min_units`` units. Returns ``(rho, info)``: ``rho`` clipped to ``[0, 0.95]`` and set to 0 below
    :data:`MIN_COMMON_SHOCK` or with fewer than ``min_cells`` cells; ``info`` holds the estimate and
    the number of cells. On the bundled data: about 0.01 for ITU internet use, 0.02 for broadband,
    0.26-0.43 for the UN e-government components (which move together between survey editions).

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
        cal0 = calibrate(train, bt.scale, level=bt.level if level_calibration else None, level_edges=edges)
    except DataError as e:
        why = {"reason": f"too few errors before {cut + 1} to calibrate ({e.message})"}
        return CenterChoice(edges, ["point"] * nb, [why] * nb, cut)
    h = np.broadcast_to(bt.horizons[None, None, :], E.shape)
    sc = np.broadcast_to(bt.scale[..., None], E.shape)
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
    """Errors over recent volatility as normal scores by rank within each horizon (NaN kept)."""
    from scipy import stats

    E = bt.actual - method_backtest
    z = E / np.maximum(np.nan_to_num(bt.scale, nan=scale_floor), scale_floor)[..., None]
    q = np.full(z.shape, np.nan)
    for h in range(z.shape[2]):
        fin = np.isfinite(z[..., h])
        if fin.sum() >= 2:
            q[..., h][fin] = stats.norm.ppf(stats.rankdata(z[..., h][fin]) / (fin.sum() + 1))
    return q


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


def forecast_panel(years, values, to_year, *, cap=None, lo=None, hi=None, models=None, method="mean",
                   horizons=8, seed=0, n_samples=2000, calibration: Calibration | None = None,
                   units: Sequence | None = None, min_obs=5, window=5, combo=COMBO_MODELS,
                   center: str = "auto", level_calibration: bool = False,
                   common_shock: float | str | None = "auto", shock_seed: int | None = None,
                   donors=None) -> PanelForecast:
    """Forecast many units' series to ``to_year`` with calibrated predictive distributions.

    1. :func:`backtest` every model on every series' own history (rolling origins, horizons 1..H);
    2. the method's own nested backtest forecasts (:func:`method_forecasts`) give its
       out-of-sample errors, which :func:`calibrate` turns into error quantiles by horizon, pooled
       over all the units passed (unless ``calibration`` is given, e.g. one made from a wider panel
       with data only up to an origin);
    3. the models are refitted on all data, combined with weights from all past errors, and the
       predictive quantiles are ``point + scale * Q_h(p)`` clipped to ``[lo, hi]``;
    4. the central forecast (``point``) is the combination or, with ``center="median"``, the median
       of that predictive distribution; ``"auto"`` (default) picks the one with the lower error on a
       holdout of the method's own past errors (:func:`choose_center`). The quantiles and samples are
       the same either way.

    ``level_calibration=True`` also bins the calibration errors by level band at the origin
    (:func:`calibrate` with ``level=``). It is off by default: on the ITU internet-use backtest it
    narrowed the intervals of high-level series too much (80 % coverage 0.75 / 0.71 / 0.71 at the
    2012 / 2015 / 2018 origins against 0.82 / 0.80 / 0.79 without it; docs/backtest.md), because the
    few series that were near saturation early were calmer than those that reached it later.

    Units' draws share a common shock (a one-factor Gaussian copula with correlation ``common_shock``;
    ``"auto"``: :func:`error_correlation` of the method's own past errors, used when it reaches
    :data:`MIN_COMMON_SHOCK`), so a sample is one joint future of all the units: ranks move less
    than under independence when errors have moved together (e.g. a survey's methodology change).
    Each unit's own distribution is the same either way. ``shock_seed`` (default ``seed``) seeds the
    common factor, so two panels with the same ``shock_seed`` share it (e.g. units forecast apart).

    Samples: one uniform draw per path, shared across years (comonotone), mapped through each year's
    quantile function; ``seed`` makes them reproducible.

    Parameters
    ----------
    years : array of int (n_years,)  consecutive years; values : array (n_units, n_years), NaN missing
    to_year : int  last year to forecast
    cap : float  saturation bound of the curves (defaults to ``hi``); lo, hi : valid range
    method : "mean" | "inverse_mae" | "select" (see :func:`method_forecasts`), "pooled" or "auto"
        (see :func:`pooled_method_forecasts`: the pooled analogue model of
        :mod:`digimeter.forecast_pooled`, alone or chosen per horizon against "mean")
    units : names of the units (default their positions)
    donors : ``(years, values)`` of another panel whose history trains the pooled model too (e.g.
        every country for a country's regions); only for the pooled methods

    Raises
    ------
    DataError  values outside ``[lo, hi]``, years not consecutive, nothing to forecast.
    """
    t, v = _prep(years, values)
    models = _check_models(models)
    if method not in METHODS:
        raise DataError(f"unknown method {method!r}", field="method", value=method, fix=f"one of {METHODS}")
    if center not in CENTERS:
        raise DataError(f"unknown center {center!r}", field="center", value=center, fix=f"one of {CENTERS}")
    cap = hi if cap is None else cap
    U = v.shape[0]
    units = list(range(U)) if units is None else list(units)
    status = _validate(t, v, lo, hi, units, min_obs)
    ty, yv = _anchor(t, v)
    if not np.isfinite(ty).any():
        raise DataError("no observations to forecast from", field="values")
    to_year = int(to_year)
    if to_year <= np.nanmin(ty):
        raise DataError(f"to_year {to_year} is not after the last observation ({int(np.nanmin(ty))})",
                        field="to_year", value=to_year, fix="ask for a later year")
    bt = backtest(t, v, models=models, cap=cap, lo=lo, hi=hi, horizons=horizons, min_obs=min_obs,
                  window=window)
    if method in POOLED_METHODS:
        mb, pooled_bt, use_pooled = pooled_method_forecasts(bt, t, v, method, lo=lo, hi=hi, donors=donors,
                                                            combo=combo)
    else:
        mb = method_forecasts(bt, method, combo=combo)
    if calibration is not None:
        cal = calibration
    else:
        cal = calibrate(bt.actual - mb, bt.scale, level=bt.level if level_calibration else None,
                        level_edges=level_bands(bt.level, lo, hi))
    if center == "auto" and method in POOLED_METHODS:   # its errors are centred: a median shift only
        choice = CenterChoice(np.array([]), ["point"], [{"reason": "the pooled model's errors are centred"}])
    elif center == "auto":
        choice = choose_center(bt, mb, lo=lo, hi=hi, level_calibration=level_calibration)
    else:
        choice = CenterChoice(np.array([]), [center], [{"reason": "chosen by the caller"}])
    # final fit on all data
    fy = np.arange(int(np.nanmin(ty)) + 1, to_year + 1, dtype=float)
    F = np.full((len(models), U, fy.size), np.nan)
    for i, m in enumerate(models):
        fit, pred = MODELS[m]
        p = fit(t, v, cap=cap)
        F[i] = clip_range(pred(p, fy), lo, hi)
    short = np.array([s.startswith("too few") for s in status])
    w = _weights(bt, "mean" if method in POOLED_METHODS else method, t[-1], combo)
    if short.any():  # too short for anything but the random walk
        w[short] = np.array([m == "rw_drift" for m in models], float)
    point = clip_range(_combine(F, w), lo, hi)
    if method in POOLED_METHODS:   # the pooled model (where it won its horizon, for "auto")
        from digimeter.forecast_pooled import pooled_forecast

        pfy, pp = pooled_forecast(t, v, to_year, donors=donors, lo=lo, hi=hi, extrapolate=method == "pooled")
        assert pfy.size == fy.size
        hh = np.clip(np.nan_to_num(fy[None, :] - ty[:, None], nan=1.0).astype(int), 1, None)
        use_p = use_pooled[np.minimum(hh, use_pooled.size) - 1] | ~np.isfinite(point)
        point = np.where(use_p & np.isfinite(pp), pp, point)
    stuck = np.array([s.startswith("stuck") for s in status])
    point[stuck] = hi if hi is not None else point[stuck]
    h = fy[None, :] - ty[:, None]
    sc = recent_scale(t, v, window=window)
    eq = cal.error_quantiles(np.maximum(h, 1), sc[:, None], yv[:, None])  # (U, Y, P)
    qfun = clip_range(point[..., None] + eq, lo, hi)
    # years up to a unit's own last observation: the observation itself
    past = h <= 0
    obs = np.full((U, fy.size), np.nan)
    for j, yr in enumerate(fy):
        k = np.searchsorted(t, yr)
        if k < len(t) and t[k] == yr:
            obs[:, j] = v[:, k]
    qfun = np.where(past[..., None], obs[..., None], qfun)
    qs = interp_q(qfun, cal.probs, np.array(QUANTILES))
    combination = np.where(past, obs, point)
    use_med = choice.use_median(yv) & ~stuck          # the predictive median where it won its band
    if use_med.any():
        med = interp_q(qfun, cal.probs, np.array([0.5]))[..., 0]
        point = np.where(use_med[:, None], med, point)
    point = np.where(past, obs, point)
    if common_shock == "auto":
        rho, rho_info = error_correlation(bt, mb, scale_floor=cal.scale_floor)
    else:
        rho, rho_info = float(common_shock or 0.0), {"reason": "given by the caller"}
        if not 0.0 <= rho < 1.0:
            raise DataError(f"common_shock must be in [0, 1), not {rho}", field="common_shock", value=rho)
    rng = np.random.default_rng(seed)
    if rho > 0:   # one-factor Gaussian copula: sample s shares a common shock across the units
        from scipy.special import ndtr

        zc = np.random.default_rng([seed if shock_seed is None else shock_seed, 1]).standard_normal(n_samples)
        u = ndtr(np.sqrt(rho) * zc[None, :] + np.sqrt(1.0 - rho) * rng.standard_normal((U, n_samples)))
    else:
        u = rng.random((U, n_samples))
    samples = _interp_q_rows(qfun, cal.probs, u)                          # (U, S, Y)
    nodata = ~np.isfinite(ty)
    for arr in (point, combination, qs, samples):
        arr[nodata] = np.nan
    return PanelForecast(units=units, years=fy.astype(int), point=point, quantiles=qs, samples=samples,
                         weights=w, models=models, method=method, anchor_year=ty, anchor_value=yv,
                         status=status, backtest=bt, method_backtest=mb, calibration=cal, lo=lo, hi=hi,
                         center=choice, center_median=use_med, combination=combination,
                         common_shock=rho, common_shock_info=rho_info, qfun=qfun, probs=cal.probs)


def interp_q(qfun, probs, at):
    """Quantile function values at probabilities ``at`` (linear in p; flat beyond the grid)."""
    pos = np.interp(at, probs, np.arange(probs.size))
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, probs.size - 1)
    f = pos - i0
    return qfun[..., i0] * (1 - f) + qfun[..., i1] * f


def _interp_q_rows(qfun, probs, u):
    """Per-unit draws: qfun (U, Y, P), u (U, S) -> (U, S, Y)."""
    pos = np.interp(u, probs, np.arange(probs.size))                     # (U, S)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, probs.size - 1)
    f = (pos - i0)[:, :, None]
    qt = np.swapaxes(qfun, 1, 2)                                         # (U, P, Y)
    a = np.take_along_axis(qt, i0[:, :, None], axis=1)
    b = np.take_along_axis(qt, i1[:, :, None], axis=1)
    return a * (1 - f) + b * f


def forecast_series(years, values, to_year, *, cap=None, lo=None, hi=None, models=None, seed=0,
                    n_samples=2000, method="mean", calibration: Calibration | None = None, unit=None,
                    horizons=8, min_obs=5) -> ForecastResult:
    """Forecast one series to ``to_year``: chosen model, why, quantiles, samples and backtest table.

    A single series has few backtest errors (about 5-15 per horizon), so without ``calibration``
    its intervals come from its own errors pooled over horizons as ``error / (scale * h)`` (noted in
    ``notes``). For honest intervals pass ``calibration=forecast_panel(...).calibration`` made from
    many units' series of the same indicator (see :func:`forecast_panel`).

    Raises
    ------
    DataError  fewer than ``min_obs`` observations, values out of ``[lo, hi]``.

    Examples
    --------
    >>> import numpy as np
    >>> yrs = np.arange(2005, 2021)
    >>> r = forecast_series(yrs, 90 / (1 + np.exp(-0.4 * (yrs - 2012))), 2025, lo=0, hi=100)
    >>> bool(r.quantiles.loc[2025, 0.05] <= r.quantiles.loc[2025, 0.95] <= 100)
    True
    """
    t, v = _prep(years, values)
    if v.shape[0] != 1:
        raise DataError("forecast_series takes one series; use forecast_panel for many", field="values",
                        value=v.shape)
    n = int(np.isfinite(v).sum())
    if n < min_obs:
        raise DataError(f"series {unit!r} has {n} observations; at least {min_obs} are needed",
                        field="values", value=unit, fix="use a longer series or lower min_obs")
    pf = forecast_panel(t, v, to_year, cap=cap, lo=lo, hi=hi, models=models, method=method,
                        horizons=horizons, seed=seed, n_samples=n_samples, calibration=calibration,
                        units=[unit], min_obs=min_obs)
    return pf.result(0)


# --------------------------------------------------------------------------------------------
# target questions
# --------------------------------------------------------------------------------------------

_CMP = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


def comparison(comparator):
    if comparator not in _CMP:
        raise DataError(f"unknown comparator {comparator!r}", field="comparator", value=comparator,
                        fix=f"one of {list(_CMP)}")
    return _CMP[comparator]


def _paths(forecast):
    """(samples (..., S, Y), years (Y,), anchor_year (...), anchor_value (...))."""
    if isinstance(forecast, ForecastResult):
        return (forecast.samples, np.asarray(forecast.years), np.asarray(forecast.anchor_year),
                np.asarray(forecast.anchor_value))
    if isinstance(forecast, PanelForecast):
        return forecast.samples, forecast.years, forecast.anchor_year, forecast.anchor_value
    raise DataError("forecast must be a ForecastResult or PanelForecast", value=type(forecast).__name__)


def reach_draws(forecast, threshold, deadline, comparator=">=", *, mode="any") -> np.ndarray:
    """Per predictive sample, whether the target is met by ``deadline``: bool array (..., n_samples)
    (``(n_samples,)`` for a :class:`ForecastResult`, ``(n_units, n_samples)`` for a
    :class:`PanelForecast`). ``mode`` as in :func:`prob_reach`, which averages these draws; samples of
    units forecast together are joint draws, so the share of samples in which *every* unit meets it
    is P(all meet) under their dependence. A deadline at or before the last observation is answered
    from the last observation in every draw.
    """
    f = comparison(comparator)
    S, yrs, ay, av = _paths(forecast)
    deadline = int(deadline)
    if deadline > yrs[-1]:
        raise DataError(f"deadline {deadline} is beyond the forecast horizon ({int(yrs[-1])})",
                        field="deadline", value=deadline, fix=f"forecast to {deadline} or later")
    now = np.asarray(f(av, threshold))[..., None]
    if deadline < yrs[0]:
        return np.broadcast_to(now, S.shape[:-1]).copy()
    sel = yrs <= deadline
    if mode == "at":
        hit = f(S[..., sel][..., -1], threshold)
    elif mode == "any":
        hit = f(S[..., sel], threshold).any(-1) | now
    else:
        raise DataError(f"unknown mode {mode!r}", field="mode", value=mode, fix="'at' or 'any'")
    return np.where(np.asarray(ay >= deadline)[..., None], now, hit)


def prob_reach(forecast, threshold, deadline, comparator=">=", *, mode="at"):
    """Probability that the target ``value <comparator> threshold`` is met by ``deadline``.

    ``mode="at"``: the value in the deadline year meets it (the usual reading of "by 2027");
    ``mode="any"``: it is met in any year up to the deadline (including the last observation).
    The share of predictive samples (:func:`reach_draws`), so in [0, 1] and monotone in
    ``threshold``; NaN for a unit with no forecast. A deadline at or before the last observation is
    answered from the last observation (0 or 1).

    Returns a float for a :class:`ForecastResult`, an array (n_units,) for a :class:`PanelForecast`.
    """
    hit = reach_draws(forecast, threshold, deadline, comparator, mode=mode)
    S, yrs, ay, _av = _paths(forecast)
    out = hit.mean(-1)
    if int(deadline) >= yrs[0]:
        nodata = np.isnan(S[..., yrs <= int(deadline)][..., -1]).all(-1) & ~np.asarray(ay >= int(deadline))
        out = np.where(nodata, np.nan, out)
    return float(out) if np.ndim(out) == 0 else out


def crossing_year(forecast, threshold, comparator=">=", *, q=0.5):
    """The median (``q``-quantile) year in which ``value <comparator> threshold`` is first met.

    The first year each predictive path meets the target (the last observed year if it is already
    met); the ``q``-quantile over paths, with paths that never meet it counted as "later than the
    horizon". Returns an int, or None when that quantile is beyond the forecast horizon ("not by
    horizon"); an object array for a :class:`PanelForecast`.
    """
    f = comparison(comparator)
    S, yrs, ay, av = _paths(forecast)
    hit = f(S, threshold)
    first = np.where(hit.any(-1), yrs[np.argmax(hit, axis=-1)], np.inf)
    first = np.where(f(av, threshold)[..., None], ay[..., None], first)
    qv = np.quantile(first, q, axis=-1, method="inverted_cdf")
    conv = np.vectorize(lambda x: None if not np.isfinite(x) else int(x), otypes=[object])
    out = conv(qv)
    return out.item() if np.ndim(out) == 0 else out


def required_pace(current, threshold, years_left):
    """Change per year needed to go from ``current`` to ``threshold`` in ``years_left`` years.

    ``(threshold - current) / years_left``; NaN where ``years_left <= 0``. Broadcasts.
    """
    c, th, yl = (np.asarray(x, dtype=float) for x in (current, threshold, years_left))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(yl > 0, (th - c) / np.where(yl > 0, yl, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def achieved_pace(series, years=5):
    """Mean change per year over the last ``years`` years: ``(y_T - y_s) / (T - s)``.

    ``T`` is the last observed year, ``s`` the earliest observed year in ``[T - years, T)``.
    ``series``: a pandas Series indexed by year (returns a float), a DataFrame with one row per unit
    and years as columns (returns a Series per unit), or a ``(years, values)`` pair.
    """
    if isinstance(series, pd.DataFrame):
        yrs = np.asarray(series.columns, dtype=float)
        p = fit_rw_drift(yrs, series.to_numpy(dtype=float), window=years, no_drift=np.nan)
        return pd.Series(p["drift"], index=series.index, name="pace")
    if isinstance(series, pd.Series):
        s = series.dropna()
        yrs, vals = np.asarray(s.index, dtype=float), s.to_numpy(dtype=float)
    else:
        yrs, vals = (np.asarray(x, dtype=float) for x in series)
    return float(fit_rw_drift(yrs, vals, window=years, no_drift=np.nan)["drift"][0])   # no pace: unknown


def fastest_pace_from_level(panel: pd.DataFrame, level, window=5, *, tol=5.0, unit="unit", year="year",
                            value="value") -> pd.DataFrame:
    """The fastest per-year gains units achieved over ``window`` years, starting near ``level``.

    Every episode ``(unit, s)`` with ``|value_s - level| <= tol`` and an observation at ``s + window``
    is scored by ``(value_{s+window} - value_s) / window``; each unit keeps its best episode.

    Parameters
    ----------
    panel : long DataFrame with columns ``unit, year, value`` (names configurable)
    level : float  the starting level (e.g. the country's current value)
    window : int  years of the episode; tol : float  how close to ``level`` a start must be

    Returns
    -------
    DataFrame sorted by ``pace`` (fastest first), one row per unit: ``unit, start_year,
    start_value, end_year, end_value, pace``; the first row is the fastest any unit achieved.
    """
    d = panel[[unit, year, value]].dropna()
    d = d.rename(columns={unit: "unit", year: "year", value: "value"})
    start = d[(d["value"] - level).abs() <= tol]
    end = d.assign(year=d["year"] - window)
    m = start.merge(end, on=["unit", "year"], suffixes=("_start", "_end"))
    cols = ["unit", "start_year", "start_value", "end_year", "end_value", "pace"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    m = m.assign(start_year=m["year"], end_year=m["year"] + window, start_value=m["value_start"],
                 end_value=m["value_end"], pace=(m["value_end"] - m["value_start"]) / window)
    m = m.sort_values("pace", ascending=False).drop_duplicates("unit")
    return m[cols].reset_index(drop=True)
