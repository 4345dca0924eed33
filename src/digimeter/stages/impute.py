"""Imputation of missing values: column means/medians, group means/medians, panel (time) imputation.

Every kernel takes ``x`` of shape ``(..., n_units, n_indicators)`` (NaN = missing), returns
``(imputed, mask_imputed)`` and never changes an observed value (:func:`guard_observed` raises if
one would). Panel kernels take ``(..., n_times, n_units, n_indicators)``: time on axis -3.

Methods follow COINr (``R/impute.R``: ``i_mean``, ``i_median``, ``i_mean_grp``, ``i_median_grp``,
``impute_panel``), https://github.com/bluefoxr/COINr.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from digimeter.errors import DataError, SpecError

__all__ = [
    "METHODS", "PANEL_METHODS", "impute", "mean", "median", "mean_group", "median_group",
    "panel", "panel_frame", "guard_observed", "imputation_report",
]


def guard_observed(x: np.ndarray, imputed: np.ndarray, method: str = "?") -> np.ndarray:
    """Raise :class:`DataError` if an imputation changed any observed (non-NaN) value of ``x``.

    Returns the boolean mask of imputed cells (NaN in ``x``, finite in ``imputed``). This is COINr's
    guard against imputers that alter observed data (COINr issue #40).
    """
    x = np.asarray(x, dtype=float)
    imputed = np.asarray(imputed, dtype=float)
    if imputed.shape != x.shape:
        raise DataError(f"imputation method {method!r} changed the shape of the data",
                        value=(x.shape, imputed.shape))
    obs = ~np.isnan(x)
    changed = obs & ~(imputed == x)
    if changed.any():
        idx = [tuple(int(i) for i in t) for t in np.argwhere(changed)[:5]]
        raise DataError(f"imputation method {method!r} changed {int(changed.sum())} observed values",
                        value=idx, fix="an imputer may only fill NaN cells")
    return ~obs & ~np.isnan(imputed)


def _fill(x: np.ndarray, fill: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    out = np.where(np.isnan(x), fill, x)
    return out, guard_observed(x, out, method)


def mean(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace NaN by the mean of the observed values of the indicator (column) (COINr ``i_mean``).

    Columns with no observed value stay NaN.

    References
    ----------
    OECD/JRC (2008) Handbook on Constructing Composite Indicators, section 1.3,
    https://doi.org/10.1787/9789264043466-en ; COINr ``i_mean``, https://github.com/bluefoxr/COINr
    """
    x = np.asarray(x, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmean(x, axis=-2, keepdims=True)
    return _fill(x, m, "mean")


def median(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace NaN by the median of the observed values of the indicator (COINr ``i_median``).

    References
    ----------
    OECD/JRC (2008) Handbook, https://doi.org/10.1787/9789264043466-en ; COINr ``i_median``.
    """
    x = np.asarray(x, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmedian(x, axis=-2, keepdims=True)
    return _fill(x, m, "median")


def _group_stat(x: np.ndarray, groups: Sequence, stat: Callable, name: str):
    x = np.asarray(x, dtype=float)
    g = pd.Series(list(groups), dtype=object)
    if len(g) != x.shape[-2]:
        raise SpecError(f"{name}: groups must give one label per unit", field="groups",
                        value=len(g), fix=f"give {x.shape[-2]} labels")
    fill = np.full(x.shape, np.nan)
    codes, labels = pd.factorize(g)           # one hash pass (not one comparison of every unit per group)
    for k in range(len(labels)):
        sel = codes == k
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            s = stat(x[..., sel, :], axis=-2, keepdims=True)
        fill[..., sel, :] = s
    # units with no group label are left as they are (COINr skip_f_na = TRUE)
    return _fill(x, fill, name)


def mean_group(x: np.ndarray, groups: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Replace NaN by the mean of the indicator over the units of the same group (COINr ``i_mean_grp``).

    Parameters
    ----------
    x : ndarray (..., n_units, n_indicators)
    groups : sequence of length n_units
        Group label of each unit (e.g. region, income group); units with a missing label are not
        imputed.

    References
    ----------
    COINr ``i_mean_grp`` (``R/impute.R``), https://github.com/bluefoxr/COINr ; OECD/JRC (2008)
    Handbook, https://doi.org/10.1787/9789264043466-en
    """
    return _group_stat(x, groups, np.nanmean, "mean_group")


def median_group(x: np.ndarray, groups: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Replace NaN by the median of the indicator within the unit's group (COINr ``i_median_grp``).

    References
    ----------
    COINr ``i_median_grp`` (``R/impute.R``), https://github.com/bluefoxr/COINr
    """
    return _group_stat(x, groups, np.nanmedian, "median_group")


# ----------------------------------------------------------------------------------------------
# panel imputation
# ----------------------------------------------------------------------------------------------

PANEL_METHODS = ("latest", "constant", "linear", "linear_constant")


def panel(x: np.ndarray, method: str = "latest", *, times: Sequence[float] | None = None,
          max_time: int | None = None, max_gap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Impute panel data along the time axis (axis -3).

    Parameters
    ----------
    x : ndarray (..., n_times, n_units, n_indicators)
        Panel, times in increasing order on axis -3.
    method : {"latest", "constant", "linear", "linear_constant"}
        * ``"latest"``: last observation carried forward (COINr ``impute_panel(imp_type="latest")``);
          nothing is filled before the first observation.
        * ``"constant"``: step interpolation (previous observation) inside the observed range and the
          nearest observation outside it, backwards and forwards (COINr ``imp_type="constant"``,
          i.e. ``stats::approx(method="constant", rule=2)``).
        * ``"linear"``: linear interpolation between observations only (no extrapolation).
        * ``"linear_constant"``: linear inside, nearest observation outside the observed range
          (COINr ``imp_type="linear"``, ``approx(rule=2)``).
    times : sequence of float, optional
        Time of each slice (e.g. years), used as abscissa for linear interpolation and for
        ``max_time``; default ``0, 1, 2, ...``.
    max_time : int, optional
        Carry a value at most this far in time (in units of ``times``) from its observation
        (applies to carried/extrapolated values; COINr's ``max_time`` for ``"latest"``).
    max_gap : int, optional
        Fill interior gaps only if they span at most this many consecutive missing time points
        (interpolation methods and ``"constant"``); longer gaps stay NaN.

    Returns
    -------
    imputed, mask_imputed : ndarray

    References
    ----------
    COINr ``impute_panel`` (``R/impute.R``), https://github.com/bluefoxr/COINr ; R ``stats::approx``.
    """
    if method not in PANEL_METHODS:
        raise SpecError(f"unknown panel imputation method {method!r}", field="method", value=method,
                        fix=f"use one of {PANEL_METHODS}")
    x = np.asarray(x, dtype=float)
    if x.ndim < 3:
        raise SpecError("panel imputation needs (..., n_times, n_units, n_indicators) data",
                        field="x", value=x.shape)
    xt = np.moveaxis(x, -3, -1)  # (..., units, indicators, times)
    nt = xt.shape[-1]
    t = np.arange(nt, dtype=float) if times is None else np.asarray(times, dtype=float)
    if t.shape != (nt,) or np.any(np.diff(t) <= 0):
        raise SpecError("times must be increasing, one per time slice", field="times",
                        value=None if times is None else list(times))
    obs = ~np.isnan(xt)
    idx = np.arange(nt)
    prev = np.maximum.accumulate(np.where(obs, idx, -1), axis=-1)
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(obs, idx, nt), -1), axis=-1), -1)
    has_prev = prev >= 0
    has_next = nxt < nt
    pv = np.take_along_axis(xt, np.clip(prev, 0, nt - 1), axis=-1)
    nv = np.take_along_axis(xt, np.clip(nxt, 0, nt - 1), axis=-1)
    tp = t[np.clip(prev, 0, nt - 1)]
    tn = t[np.clip(nxt, 0, nt - 1)]
    interior = has_prev & has_next & ~obs
    gap_len = nxt - prev - 1
    gap_ok = np.ones_like(interior) if max_gap is None else gap_len <= max_gap
    fill = np.full(xt.shape, np.nan)
    if method == "latest":
        ok = has_prev & ~obs
        if max_time is not None:
            ok &= (t - tp) <= max_time
        fill = np.where(ok, pv, np.nan)
    else:
        if method == "constant":
            inner = pv
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                frac = (t - tp) / (tn - tp)
            inner = pv + (nv - pv) * frac
        ok_in = interior & gap_ok
        fill = np.where(ok_in, inner, fill)
        if method in ("constant", "linear_constant"):
            after = has_prev & ~has_next & ~obs   # trailing: carry last forward
            before = ~has_prev & has_next & ~obs  # leading: carry first backward
            if max_time is not None:
                after &= (t - tp) <= max_time
                before &= (tn - t) <= max_time
            fill = np.where(after, pv, fill)
            fill = np.where(before, nv, fill)
    out = np.where(obs, xt, fill)
    out = np.moveaxis(out, -1, -3)
    return out, guard_observed(x, out, f"panel:{method}")


def panel_frame(df: pd.DataFrame, method: str = "latest", *, unit: str = "unit",
                indicator: str = "indicator", time: str = "year", value: str = "value",
                max_time: int | None = None, max_gap: int | None = None) -> pd.DataFrame:
    """Panel imputation on a long frame (``unit, indicator, year, value`` as the store returns).

    Pivots to a ``(times, units, indicators)`` array, calls :func:`panel` with the actual times as
    abscissa, and returns the long frame completed with the imputed rows, with a boolean column
    ``imputed`` and the ``method`` used for imputed rows. Other columns of observed rows are kept.

    References
    ----------
    COINr ``impute_panel``, https://github.com/bluefoxr/COINr
    """
    missing = [c for c in (unit, indicator, time, value) if c not in df.columns]
    if missing:
        raise SpecError("the long frame lacks required columns", field=",".join(missing),
                        fix=f"name the columns with unit=, indicator=, time=, value=")
    if df.duplicated([unit, indicator, time]).any():
        raise DataError("the long frame has duplicate (unit, indicator, time) rows",
                        fix="keep one value per key (e.g. the latest vintage)")
    times = np.sort(df[time].unique())
    units = list(pd.unique(df[unit]))
    inds = list(pd.unique(df[indicator]))
    arr = np.full((len(times), len(units), len(inds)), np.nan)
    ti = np.searchsorted(times, df[time].to_numpy())
    ui = pd.Index(units).get_indexer(df[unit])
    ii = pd.Index(inds).get_indexer(df[indicator])
    arr[ti, ui, ii] = df[value].to_numpy(dtype=float)
    out, mask = panel(arr, method, times=times.astype(float), max_time=max_time, max_gap=max_gap)
    t_, u_, i_ = np.nonzero(mask)
    new = pd.DataFrame({unit: [units[k] for k in u_], indicator: [inds[k] for k in i_],
                        time: times[t_], value: out[t_, u_, i_]})
    new["imputed"] = True
    new["method"] = method
    old = df.copy()
    old["imputed"] = False
    old["method"] = None
    res = pd.concat([old, new], ignore_index=True)
    return res.sort_values([unit, indicator, time], kind="stable").reset_index(drop=True)


METHODS: dict[str, Callable] = {
    "mean": mean,
    "median": median,
    "mean_group": mean_group,
    "median_group": median_group,
}


def impute(x, method: str = "mean", **opts):
    """Impute with a method of :data:`METHODS` (or ``"none"``); DataFrames in, DataFrames out.

    Parameters
    ----------
    x : ndarray (..., n_units, n_indicators) or DataFrame (units x indicators)
    method : {"mean", "median", "mean_group", "median_group", "none"}
    **opts
        Passed to the method (``groups=`` for group methods).

    Returns
    -------
    imputed, mask_imputed
        Same type as ``x`` (the mask as a boolean DataFrame for a DataFrame input).
    """
    frame = isinstance(x, pd.DataFrame)
    arr = x.to_numpy(dtype=float) if frame else np.asarray(x, dtype=float)
    if method == "none":
        out, mask = arr.copy(), np.zeros(arr.shape, dtype=bool)
    elif method in METHODS:
        out, mask = METHODS[method](arr, **opts)
    else:
        raise SpecError(f"unknown imputation method {method!r}", field="method", value=method,
                        fix=f"use one of {sorted(METHODS) + ['none']}")
    if frame:
        return (pd.DataFrame(out, index=x.index, columns=x.columns),
                pd.DataFrame(mask, index=x.index, columns=x.columns))
    return out, mask


def _pick(labels: list, at: np.ndarray) -> list:
    """``[labels[i] for i in at]`` (``at`` read as Python ints at once, not one numpy row at a time)."""
    return [labels[i] for i in at.tolist()]


def imputation_report(imputed, mask, *, method: str, units: Sequence | None = None,
                      indicators: Sequence | None = None) -> pd.DataFrame:
    """List every imputed cell: ``unit, indicator, value, method`` (plus ``lead`` index for extra axes).

    ``imputed``/``mask`` are the outputs of an imputation kernel (arrays or DataFrames); unit and
    indicator names come from the DataFrame labels or the ``units``/``indicators`` arguments.
    """
    if isinstance(imputed, pd.DataFrame):
        units = imputed.index.tolist() if units is None else units
        indicators = imputed.columns.tolist() if indicators is None else indicators
    vals = np.asarray(imputed, dtype=float)
    m = np.asarray(mask, dtype=bool)
    nu, ni = vals.shape[-2:]
    units = list(range(nu)) if units is None else list(units)
    indicators = list(range(ni)) if indicators is None else list(indicators)
    pos = np.argwhere(m)
    rows = {"unit": _pick(units, pos[:, -2]), "indicator": _pick(indicators, pos[:, -1]),
            "value": vals[m], "method": [method] * len(pos)}
    out = pd.DataFrame(rows)
    if vals.ndim > 2:
        out.insert(0, "lead", [tuple(int(i) for i in p[:-2]) for p in pos])
    return out
