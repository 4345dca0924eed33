"""Unit screening by data availability and zeros, and denomination of indicators.

Screening follows COINr's ``Screen()`` and ``get_data_avail()`` (``R/screen_units.R``); denomination
follows COINr's ``Denominate()`` (``R/denominate.R``), https://github.com/bluefoxr/COINr.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from digimeter.errors import DataError, Problem, SpecError

__all__ = ["ScreenResult", "data_availability", "screen_units", "denominate"]


class ScreenResult(NamedTuple):
    """Result of :func:`screen_units`."""

    data: object
    """The data with excluded units removed (``action="drop"``) or unchanged (``"flag"``)."""
    mask: np.ndarray
    """Boolean array ``(..., n_units)``: True = unit kept."""
    report: pd.DataFrame
    """One row per unit (and leading index): availability, zero share, flags, kept, why."""


def data_availability(x) -> tuple[np.ndarray, np.ndarray]:
    """Share of non-missing indicators and share of zeros among them, per unit.

    Returns ``(availability, zero_share)``, each of shape ``(..., n_units)``; the zero share is
    NaN for a unit with no data (COINr ``get_data_avail``: ``Dat_Avail`` and ``1 - Non_Zero``).
    """
    arr = np.asarray(x, dtype=float)
    obs = ~np.isnan(arr)
    n = arr.shape[-1]
    n_obs = obs.sum(axis=-1)
    n_zero = (obs & (arr == 0)).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n_obs / n, np.where(n_obs > 0, n_zero / n_obs, np.nan)


def screen_units(x, *, min_availability: float = 0.66, max_zero_share: float | None = None,
                 force_include: Iterable = (), force_exclude: Iterable = (),
                 action: str = "drop", units: Iterable | None = None) -> ScreenResult:
    """Screen units (rows) by data availability and share of zeros, as COINr's ``Screen()``.

    A unit is kept if its availability (share of indicators with data) is at least
    ``min_availability`` and, when ``max_zero_share`` is given, its share of zeros among its
    observed values is at most ``max_zero_share``. ``force_include``/``force_exclude`` override the
    rules for the named units (exclusion wins if a unit is named in both).

    Parameters
    ----------
    x : ndarray (..., n_units, n_indicators) or DataFrame (units x indicators)
    min_availability : float in [0, 1]
        COINr ``dat_thresh`` (COINr's default is 2/3; the ASEM example uses 0.9).
    max_zero_share : float in [0, 1], optional
        Maximum share of zeros; COINr's ``nonzero_thresh`` is ``1 - max_zero_share``.
    force_include, force_exclude : iterable of unit labels
        Units kept or dropped whatever their data (COINr ``Force``).
    action : {"drop", "flag"}
        ``"drop"`` removes excluded units from ``data`` (2-D data only); ``"flag"`` keeps the data
        as is and only reports.
    units : iterable, optional
        Unit labels for arrays (default: DataFrame index, or 0..n-1).

    Returns
    -------
    ScreenResult
        ``(data, mask, report)``.

    References
    ----------
    COINr ``Screen()``/``get_data_avail()`` (``R/screen_units.R``), https://github.com/bluefoxr/COINr ;
    OECD/JRC (2008) Handbook on Constructing Composite Indicators,
    https://doi.org/10.1787/9789264043466-en
    """
    if action not in ("drop", "flag"):
        raise SpecError(f"unknown screening action {action!r}", field="action", value=action,
                        fix="use 'drop' or 'flag'")
    for name, v in (("min_availability", min_availability), ("max_zero_share", max_zero_share)):
        if v is not None and not 0 <= v <= 1:
            raise SpecError(f"{name} must be between 0 and 1", field=name, value=v)
    frame = isinstance(x, pd.DataFrame)
    arr = x.to_numpy(dtype=float) if frame else np.asarray(x, dtype=float)
    if arr.ndim < 2:
        raise SpecError("screening needs (..., n_units, n_indicators) data", field="x",
                        value=arr.shape)
    nu = arr.shape[-2]
    labels = x.index.tolist() if frame and units is None else (
        list(range(nu)) if units is None else list(units))
    if len(labels) != nu:
        raise SpecError("units must label every unit", field="units", value=len(labels))
    inc, exc = list(force_include), list(force_exclude)
    unknown = [u for u in inc + exc if u not in labels]
    if unknown:
        raise DataError("forced units are not in the data", field="force_include/force_exclude",
                        value=unknown, fix="check the unit codes")
    avail, zshare = data_availability(arr)
    low_data = avail < min_availability
    with np.errstate(invalid="ignore"):
        many_zeros = (zshare > max_zero_share) if max_zero_share is not None else np.zeros_like(low_data)
    keep = ~low_data & ~many_zeros
    f_in = np.isin(np.arange(nu), [labels.index(u) for u in inc])
    f_out = np.isin(np.arange(nu), [labels.index(u) for u in exc])
    keep = np.where(f_in, True, keep)
    keep = np.where(f_out, False, keep)

    why = np.full(keep.shape, "", dtype=object)
    why = np.where(low_data, "availability below threshold", why)
    why = np.where(many_zeros & low_data, "availability below threshold; too many zeros", why)
    why = np.where(many_zeros & ~low_data, "too many zeros", why)
    why = np.where(f_in & (low_data | many_zeros), "forced in", why)
    why = np.where(f_out, "forced out", why)
    n_obs = (~np.isnan(arr)).sum(axis=-1)
    n_zero = ((arr == 0)).sum(axis=-1)
    lead_idx = list(np.ndindex(*arr.shape[:-2]))
    frames = []
    for lead in lead_idx:
        d = pd.DataFrame({"unit": labels, "n_missing": arr.shape[-1] - n_obs[lead],
                          "n_zero": n_zero[lead], "availability": avail[lead],
                          "zero_share": zshare[lead], "low_data": low_data[lead],
                          "many_zeros": many_zeros[lead], "forced": np.where(
                              f_out, "out", np.where(f_in, "in", "")),
                          "kept": keep[lead], "why": why[lead]})
        if lead:
            d.insert(0, "lead", [lead] * nu)
        frames.append(d)
    report = pd.concat(frames, ignore_index=True)
    if action == "flag":
        data = x
    else:
        if arr.ndim > 2:
            raise SpecError("action='drop' needs 2-D data (units x indicators)", field="action",
                            value=action, fix="use action='flag' with leading axes")
        data = x.loc[keep] if frame else arr[keep]
    return ScreenResult(data, keep, report)


def denominate(x: pd.DataFrame, denominators: pd.DataFrame, by: Mapping[str, str], *,
               scale: float | Mapping[str, float] = 1.0) -> pd.DataFrame:
    """Divide indicators by denominators (population, GDP, area ...), as COINr's ``Denominate()``.

    ``result[i] = x[i] / denominators[by[i]] * scale[i]``; indicators not in ``by`` are unchanged.

    Parameters
    ----------
    x : DataFrame
        Units x indicators.
    denominators : DataFrame
        Units x denominator columns, aligned on the index of ``x`` (every unit of ``x`` must be there).
    by : mapping
        Indicator code -> denominator column (e.g. ``{"Flights": "Population"}``).
    scale : float or mapping, optional
        Multiplier of the ratio (e.g. 1000 for "per 1,000 people"), global or per indicator.

    Returns
    -------
    DataFrame
        A copy of ``x`` with the named indicators denominated.

    Raises
    ------
    SpecError
        An indicator or denominator named in ``by`` is not in the data.
    DataError
        A denominator is zero where its indicator has a value, or units are missing from
        ``denominators``.

    References
    ----------
    COINr ``Denominate()`` (``R/denominate.R``), https://github.com/bluefoxr/COINr ; OECD/JRC (2008)
    Handbook on Constructing Composite Indicators, https://doi.org/10.1787/9789264043466-en
    """
    if not isinstance(x, pd.DataFrame) or not isinstance(denominators, pd.DataFrame):
        raise SpecError("denominate takes DataFrames (units x indicators, units x denominators)",
                        field="x", value=type(x).__name__)
    problems = []
    for ind, den in by.items():
        if ind not in x.columns:
            problems.append(Problem(f"indicator {ind!r} to denominate is not in the data",
                                    field=ind, fix="check the indicator code"))
        if den not in denominators.columns:
            problems.append(Problem(f"denominator {den!r} (for {ind!r}) is not available",
                                    field=den, value=list(denominators.columns),
                                    fix="add the denominator column or change the mapping"))
    if problems:
        raise SpecError("cannot denominate", problems=problems)
    missing_units = [u for u in x.index if u not in denominators.index]
    if missing_units:
        raise DataError("units have no denominator data", field="units", value=missing_units[:10],
                        fix="add the units to the denominators table")
    d = denominators.loc[x.index]
    out = x.astype(float).copy()
    for ind, den in by.items():
        dv = d[den].to_numpy(dtype=float)
        xv = x[ind].to_numpy(dtype=float)
        zero = (dv == 0) & ~np.isnan(xv)
        if zero.any():
            problems.append(Problem(f"denominator {den!r} is zero", field=ind,
                                    value=list(x.index[zero][:10]),
                                    fix="correct the denominator or do not denominate this unit"))
            continue
        s = scale.get(ind, 1.0) if isinstance(scale, Mapping) else scale
        out[ind] = xv / dv * s
    if problems:
        raise DataError("division by a zero denominator", problems=problems)
    return out
