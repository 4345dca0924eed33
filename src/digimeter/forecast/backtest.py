"""Rolling-origin backtest of every model (Tashman 2000) and the method built on it: combination or
selection with nested (honest) weights, or the pooled analogue model (:mod:`digimeter.forecast.pooled`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from digimeter.errors import DataError

from .models import COMBO_MODELS, MODELS, check_models, clip_range, fit_damped_origins, last_observation, prep_series

__all__ = ["recent_scale", "Backtest", "backtest", "backtest_origins", "METHODS", "DEFAULT_METHOD", "POOLED_METHODS",
           "POOLED_RECENT",
           "method_weights", "combine", "method_forecasts", "pooled_choice", "pooled_method_forecasts"]


def recent_scale(years, values, *, window=5):
    """Each unit's recent volatility: mean absolute annual change over the last ``window`` years.

    ``sum |y_i - y_{i-1}| / (T - s)`` over consecutive observations in ``[T - window, T]`` (``T`` the
    last observed year, ``s`` the earliest observed year in the window); NaN with fewer than two
    points there. This is the in-sample naive-forecast MAE that scales MASE (Hyndman & Koehler 2006,
    doi:10.1016/j.ijforecast.2006.03.001), restricted to recent years.
    """
    t, v = prep_series(years, values)
    ty, _ = last_observation(t, v)
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


def backtest_origins(years, min_obs=5, recent: int | None = None) -> np.ndarray:
    """The default origins of :func:`backtest`: every year with ``min_obs`` years up to it, but the last
    (nothing after it to check); with ``recent``, only the last ``recent`` of them."""
    t = np.asarray(years, dtype=float)
    origins = t[min(min_obs, len(t)) - 1:-1] if len(t) > 1 else t[:0]
    return origins if recent is None else origins[max(origins.size - int(recent), 0):]


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
    models = check_models(models)
    t, v = prep_series(years, values)
    if len(t) > 1 and np.any(np.diff(t) != 1):
        raise DataError("years must be consecutive calendar years (use NaN for missing years)",
                        field="years", value=list(t.astype(int)))
    U = v.shape[0]
    H = int(horizons)
    if origins is None:
        origins = backtest_origins(t, min_obs)
    origins = np.asarray(origins, dtype=float)
    hs = np.arange(1, H + 1)
    M, O = len(models), len(origins)
    fc = np.full((M, U, O, H), np.nan)
    actual = np.full((U, O, H), np.nan)
    level = np.full((U, O), np.nan)
    scale = np.full((U, O), np.nan)
    cols = [int(np.searchsorted(t, o)) for o in origins]
    # the damped trend at every origin from one pass (the same numbers as a fit per origin)
    damped = fit_damped_origins(t, v, [j for j in cols if j < len(t)], cap=cap) if "damped" in models else None
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
            p = damped(j, idx) if m == "damped" else fit(t[:j + 1], sub[idx], cap=cap)
            fc[i, idx, k, :] = clip_range(pred(p, fut), lo, hi)
    return Backtest(models=models, origins=origins, horizons=hs, forecasts=fc, actual=actual,
                    level=level, scale=scale)


# --------------------------------------------------------------------------------------------
# the method: combination or selection, with nested (honest) weights
# --------------------------------------------------------------------------------------------

METHODS = ("mean", "inverse_mae", "select", "pooled", "auto")
#: backtest origins of the pooled methods: the last this many (see :func:`pooled_method_forecasts`)
POOLED_RECENT = 12
#: the method `digimeter targets`, `forecast` and `backtest` use unless told otherwise
DEFAULT_METHOD = "auto"
#: methods built on the pooled analogue model (:mod:`digimeter.forecast.pooled`)
POOLED_METHODS = ("pooled", "auto")


def method_weights(bt: Backtest, method: str, upto: float, combo=COMBO_MODELS, min_errors=5):
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


def combine(f, w):
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
        w = method_weights(bt, method, o, combo, min_errors)
        out[:, k] = combine(bt.forecasts[:, :, k], w)
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
                            eligible=None, combo=COMBO_MODELS, recent: int = POOLED_RECENT):
    """The ``"pooled"`` / ``"auto"`` method's own backtest forecasts, shape (n_units, n_origins, n_h).

    ``"pooled"``: the pooled analogue model (:func:`digimeter.forecast.pooled.pooled_backtest`),
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
    from .pooled import pooled_backtest

    t, v = prep_series(years, values)
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
