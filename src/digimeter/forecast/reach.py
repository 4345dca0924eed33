"""Target questions on a forecast: P(met by the deadline) (:func:`prob_reach`, :func:`reach_draws`),
the crossing year, and paces (required, achieved, the fastest from a level)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from digimeter.errors import DataError

from .models import fit_rw_drift
from .panel import ForecastResult, PanelForecast

__all__ = ["comparison", "reach_draws", "prob_reach", "crossing_year", "required_pace", "achieved_pace",
           "fastest_pace_from_level", "pace_episodes"]


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


def pace_episodes(panel: pd.DataFrame, window=5, *, unit="unit", year="year", value="value") -> pd.DataFrame:
    """Every ``window``-year episode of a long panel: one row per ``(unit, s)`` with observations at
    ``s`` and ``s + window``: ``unit, start_year, start_value, end_year, end_value, pace`` (change per
    year), in the panel's order. Made once, it answers :func:`fastest_pace_from_level` for any level."""
    d = panel[[unit, year, value]].dropna()
    d = d.rename(columns={unit: "unit", year: "year", value: "value"})
    end = d.assign(year=d["year"] - window)
    m = d.merge(end, on=["unit", "year"], suffixes=("_start", "_end"))
    return m.assign(start_year=m["year"], end_year=m["year"] + window, start_value=m["value_start"],
                    end_value=m["value_end"], pace=(m["value_end"] - m["value_start"]) / window)


def fastest_pace_from_level(panel: pd.DataFrame, level, window=5, *, tol=5.0, unit="unit", year="year",
                            value="value", episodes: pd.DataFrame | None = None) -> pd.DataFrame:
    """The fastest per-year gains units achieved over ``window`` years, starting near ``level``.

    Every episode ``(unit, s)`` with ``|value_s - level| <= tol`` and an observation at ``s + window``
    is scored by ``(value_{s+window} - value_s) / window``; each unit keeps its best episode.

    Parameters
    ----------
    panel : long DataFrame with columns ``unit, year, value`` (names configurable)
    level : float  the starting level (e.g. the country's current value)
    window : int  years of the episode; tol : float  how close to ``level`` a start must be
    episodes : :func:`pace_episodes` of ``panel`` and ``window``, when already made (many levels
        asked of one panel); ``panel`` is then not read

    Returns
    -------
    DataFrame sorted by ``pace`` (fastest first), one row per unit: ``unit, start_year,
    start_value, end_year, end_value, pace``; the first row is the fastest any unit achieved.
    """
    m = pace_episodes(panel, window, unit=unit, year=year, value=value) if episodes is None else episodes
    m = m[(m["start_value"] - level).abs() <= tol]
    cols = ["unit", "start_year", "start_value", "end_year", "end_value", "pace"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    m = m.sort_values("pace", ascending=False).drop_duplicates("unit")
    return m[cols].reset_index(drop=True)
