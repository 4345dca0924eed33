"""Forecasts with predictive distributions: many units at once (:func:`forecast_panel`,
:class:`PanelForecast`) or one series (:func:`forecast_series`, :class:`ForecastResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

import numpy as np
import pandas as pd

from digimeter.errors import DataError

from .backtest import (METHODS, POOLED_METHODS, POOLED_RECENT, Backtest, backtest, backtest_origins, combine,
                       method_forecasts, method_weights, pooled_method_forecasts, recent_scale)
from .calibrate import (CENTERS, Calibration, CenterChoice, calibrate, choose_center, error_correlation, interp_q,
                        error_scale, forecast_scale, interp_q_rows, level_bands)
from .models import COMBO_MODELS, MODELS, QUANTILES, check_models, clip_range, last_observation, prep_series

__all__ = ["ForecastResult", "PanelForecast", "method_label", "forecast_panel", "forecast_series"]


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
    :data:`QUANTILES`, ``samples`` (n_units, n_samples, n_years): each unit's quantile function at its
    ``uniforms`` (n_units, n_samples), made when first asked for (one unit's alone by
    :meth:`unit_samples`, the same numbers).
    """

    units: list
    years: np.ndarray
    point: np.ndarray
    quantiles: np.ndarray
    uniforms: np.ndarray
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

    @cached_property
    def samples(self) -> np.ndarray:
        """Draws of every unit (n_units, n_samples, n_years), NaN for a unit without data."""
        out = interp_q_rows(self.qfun, self.probs, self.uniforms)
        out[~np.isfinite(self.anchor_year)] = np.nan
        return out

    def unit_samples(self, i: int) -> np.ndarray:
        """Draws of unit ``i`` (n_samples, n_years): ``samples[i]``, made for this unit alone."""
        if "samples" in self.__dict__:
            return self.samples[i]
        out = interp_q_rows(self.qfun[i:i + 1], self.probs, self.uniforms[i:i + 1])[0]
        if not np.isfinite(self.anchor_year[i]):
            out[:] = np.nan
        return out

    @property
    def n_samples(self) -> int:
        return int(self.uniforms.shape[1])

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
            samples=self.unit_samples(i)[:, keep], backtest=table, anchor_year=float(self.anchor_year[i]),
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


def forecast_panel(years, values, to_year, *, cap=None, lo=None, hi=None, models=None, method="mean",
                   horizons=8, seed=0, n_samples=2000, calibration: Calibration | None = None,
                   units: Sequence | None = None, min_obs=5, window=5, combo=COMBO_MODELS,
                   center: str = "auto", level_calibration: bool = False,
                   common_shock: float | str | None = "auto", shock_seed: int | None = None,
                   donors=None) -> PanelForecast:
    """Forecast many units' series to ``to_year`` with calibrated predictive distributions.

    1. :func:`backtest` every model on every series' own history (rolling origins, horizons 1..H; for the
       pooled methods the last :data:`POOLED_RECENT` origins, those the method itself is backtested at);
    2. the method's own nested backtest forecasts (:func:`method_forecasts`) give its
       out-of-sample errors, which :func:`calibrate` turns into error quantiles by horizon, pooled
       over all the units passed (unless ``calibration`` is given, e.g. one made from a wider panel
       with data only up to an origin);
    3. the models are refitted on all data, combined with weights from all past errors, and the
       predictive quantiles are ``point + scale * Q_h(p)`` clipped to ``[lo, hi]``, where ``scale`` is
       the larger of the series' recent volatility and the forecast's own pace
       (:func:`forecast_scale`; the calibration divides its errors by the same, :func:`error_scale`);
    4. the central forecast (``point``) is the combination or, with ``center="median"``, the median
       of that predictive distribution; ``"auto"`` (default) picks the one with the lower error on a
       holdout of the method's own past errors (:func:`choose_center`). The quantiles and samples are
       the same either way.

    ``level_calibration=True`` also bins the calibration errors by level band at the origin
    (:func:`calibrate` with ``level=``). It is off by default: on the ITU internet-use backtest it
    narrowed the intervals of high-level series too much (80 % coverage 0.77 / 0.72 / 0.71 at the
    2012 / 2015 / 2018 origins against 0.83 / 0.79 / 0.79 without it; docs/backtest.md), because the
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
        :mod:`digimeter.forecast.pooled`, alone or chosen per horizon against "mean")
    units : names of the units (default their positions)
    donors : ``(years, values)`` of another panel whose history trains the pooled model too (e.g.
        every country for a country's regions); only for the pooled methods

    Raises
    ------
    DataError  values outside ``[lo, hi]``, years not consecutive, nothing to forecast.
    """
    t, v, models, units, status, ty, yv, to_year = _checked_inputs(years, values, to_year, models=models,
                                                                   method=method, center=center, lo=lo, hi=hi,
                                                                   units=units, min_obs=min_obs)
    cap = hi if cap is None else cap
    U = v.shape[0]
    # the pooled methods are backtested at their last POOLED_RECENT origins only: the models at the same ones,
    # so their errors in `why` are compared on the same forecasts (and no fit is made for nothing)
    origins = backtest_origins(t, min_obs, POOLED_RECENT if method in POOLED_METHODS else None)
    bt = backtest(t, v, models=models, cap=cap, lo=lo, hi=hi, horizons=horizons, min_obs=min_obs,
                  window=window, origins=origins)
    mb, use_pooled, cal, choice = _method_and_calibration(
        bt, t, v, method=method, center=center, lo=lo, hi=hi, combo=combo, donors=donors,
        calibration=calibration, level_calibration=level_calibration)
    fy = np.arange(int(np.nanmin(ty)) + 1, to_year + 1, dtype=float)
    point, w = _final_point(t, v, ty, fy, to_year, bt, models=models, method=method, combo=combo, cap=cap, lo=lo,
                            hi=hi, status=status, donors=donors, use_pooled=use_pooled)
    stuck = np.array([s.startswith("stuck") for s in status])
    point[stuck] = hi if hi is not None else point[stuck]
    qfun, past, obs = _quantile_functions(t, v, ty, yv, fy, point, cal, window=window, lo=lo, hi=hi)
    qs = interp_q(qfun, cal.probs, np.array(QUANTILES))
    combination = np.where(past, obs, point)
    use_med = choice.use_median(yv) & ~stuck          # the predictive median where it won its band
    if use_med.any():
        med = interp_q(qfun, cal.probs, np.array([0.5]))[..., 0]
        point = np.where(use_med[:, None], med, point)
    point = np.where(past, obs, point)
    u, rho, rho_info = _uniforms(bt, mb, cal, U, n_samples=n_samples, seed=seed, shock_seed=shock_seed,
                                 common_shock=common_shock)
    nodata = ~np.isfinite(ty)
    for arr in (point, combination, qs):
        arr[nodata] = np.nan
    return PanelForecast(units=units, years=fy.astype(int), point=point, quantiles=qs, uniforms=u,
                         weights=w, models=models, method=method, anchor_year=ty, anchor_value=yv,
                         status=status, backtest=bt, method_backtest=mb, calibration=cal, lo=lo, hi=hi,
                         center=choice, center_median=use_med, combination=combination,
                         common_shock=rho, common_shock_info=rho_info, qfun=qfun, probs=cal.probs)


def _checked_inputs(years, values, to_year, *, models, method, center, lo, hi, units, min_obs):
    """:func:`forecast_panel`'s inputs validated: ``(t, v, models, units, status, ty, yv, to_year)``
    with ``ty``, ``yv`` each unit's last observed year and value."""
    t, v = prep_series(years, values)
    models = check_models(models)
    if method not in METHODS:
        raise DataError(f"unknown method {method!r}", field="method", value=method, fix=f"one of {METHODS}")
    if center not in CENTERS:
        raise DataError(f"unknown center {center!r}", field="center", value=center, fix=f"one of {CENTERS}")
    units = list(range(v.shape[0])) if units is None else list(units)
    status = _validate(t, v, lo, hi, units, min_obs)
    ty, yv = last_observation(t, v)
    if not np.isfinite(ty).any():
        raise DataError("no observations to forecast from", field="values")
    to_year = int(to_year)
    if to_year <= np.nanmin(ty):
        raise DataError(f"to_year {to_year} is not after the last observation ({int(np.nanmin(ty))})",
                        field="to_year", value=to_year, fix="ask for a later year")
    return t, v, models, units, status, ty, yv, to_year


def _method_and_calibration(bt: Backtest, t, v, *, method, center, lo, hi, combo, donors, calibration,
                            level_calibration):
    """The method's own backtest forecasts, where the pooled model is used per horizon (None for the
    other methods), the calibration of its errors and the choice of the central forecast."""
    use_pooled = None
    if method in POOLED_METHODS:
        mb, _pooled_bt, use_pooled = pooled_method_forecasts(bt, t, v, method, lo=lo, hi=hi, donors=donors,
                                                             combo=combo)
    else:
        mb = method_forecasts(bt, method, combo=combo)
    if calibration is not None:
        cal = calibration
    else:
        cal = calibrate(bt.actual - mb, error_scale(bt, mb), level=bt.level if level_calibration else None,
                        level_edges=level_bands(bt.level, lo, hi))
    if center == "auto" and method in POOLED_METHODS:   # its errors are centred: a median shift only
        choice = CenterChoice(np.array([]), ["point"], [{"reason": "the pooled model's errors are centred"}])
    elif center == "auto":
        choice = choose_center(bt, mb, lo=lo, hi=hi, level_calibration=level_calibration)
    else:
        choice = CenterChoice(np.array([]), [center], [{"reason": "chosen by the caller"}])
    return mb, use_pooled, cal, choice


def _final_point(t, v, ty, fy, to_year, bt: Backtest, *, models, method, combo, cap, lo, hi, status, donors,
                 use_pooled):
    """The point forecast for years ``fy`` from the models refitted on all data, combined with weights
    from all past errors (the pooled model where it won its horizon); returns ``(point, weights)``."""
    F = np.full((len(models), v.shape[0], fy.size), np.nan)
    for i, m in enumerate(models):
        fit, pred = MODELS[m]
        p = fit(t, v, cap=cap)
        F[i] = clip_range(pred(p, fy), lo, hi)
    short = np.array([s.startswith("too few") for s in status])
    w = method_weights(bt, "mean" if method in POOLED_METHODS else method, t[-1], combo)
    if short.any():  # too short for anything but the random walk
        w[short] = np.array([m == "rw_drift" for m in models], float)
    point = clip_range(combine(F, w), lo, hi)
    if method in POOLED_METHODS:   # the pooled model (where it won its horizon, for "auto")
        from .pooled import pooled_forecast

        pfy, pp = pooled_forecast(t, v, to_year, donors=donors, lo=lo, hi=hi, extrapolate=method == "pooled")
        assert pfy.size == fy.size
        hh = np.clip(np.nan_to_num(fy[None, :] - ty[:, None], nan=1.0).astype(int), 1, None)
        use_p = use_pooled[np.minimum(hh, use_pooled.size) - 1] | ~np.isfinite(point)
        point = np.where(use_p & np.isfinite(pp), pp, point)
    return point, w


def _quantile_functions(t, v, ty, yv, fy, point, cal: Calibration, *, window, lo, hi):
    """Each unit's predictive quantile function per year, ``point + scale * Q_h(p)`` (``scale``:
    :func:`forecast_scale`) clipped to ``[lo, hi]`` (the observation itself up to the unit's own last
    year): ``(qfun, past, obs)``."""
    h = fy[None, :] - ty[:, None]
    sc = forecast_scale(recent_scale(t, v, window=window)[:, None], point, yv[:, None], h)
    eq = cal.error_quantiles(np.maximum(h, 1), sc, yv[:, None])  # (U, Y, P)
    qfun = clip_range(point[..., None] + eq, lo, hi)
    # years up to a unit's own last observation: the observation itself
    past = h <= 0
    obs = np.full((v.shape[0], fy.size), np.nan)
    for j, yr in enumerate(fy):
        k = np.searchsorted(t, yr)
        if k < len(t) and t[k] == yr:
            obs[:, j] = v[:, k]
    qfun = np.where(past[..., None], obs[..., None], qfun)
    return qfun, past, obs


def _uniforms(bt: Backtest, mb, cal: Calibration, U: int, *, n_samples, seed, shock_seed, common_shock):
    """The uniforms of the units' draws (U, n_samples), sharing a common shock (one-factor Gaussian
    copula) of correlation ``common_shock`` (``"auto"``: :func:`error_correlation`): ``(u, rho, info)``."""
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
    return u, rho, rho_info


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
    t, v = prep_series(years, values)
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
