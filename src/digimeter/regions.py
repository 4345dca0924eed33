"""Regions: the divide between a country's regions, convergence, roll-up, layouts and maps.

The measures (Gini, Theil, CV, convergence, roll-up, :func:`to_layout`, :func:`choropleth`,
:func:`divide`) are pure functions of arrays or DataFrames: they never read the store, print, or touch
global random state. The only file access there is :func:`load_crosswalk`, :func:`load_layouts` and
:func:`load_geojson`, which read the small bundled tables under ``digimeter/data``.

A store-facing layer on top (it takes the store as an argument and never prints) answers the questions
of the CLI, the report and the dashboard for any country whose regions are in the store:
:func:`geography` (which crosswalk, layouts, boundaries and region groups a country uses: bundled or
imported data files, nothing hard-coded), :func:`regional_observations` / :func:`regional_panel` (every
series on one layout, converted values marked ``estimated``), :func:`regional_index` (a regional spec
built by :func:`digimeter.build.compute` from that panel, so no region is left out), :func:`region_report`
(every region's value and rank plus the divide measures and the roll-up check), :func:`divide_trend`
(measures over time, sigma- and beta-convergence) and :func:`map_data` (a FeatureCollection for a map).

Inequality measures take ``values`` of shape ``(..., n_units)`` and optional ``weights`` (population)
of the same shape (or broadcastable); they reduce the last axis, so a leading axis of years or Monte
Carlo samples is computed in one call. A unit whose value or weight is NaN drops out.

Layouts and the crosswalk
-------------------------
A *layout* is one set of regions that tiles a country (Kazakhstan: ``kz16`` until 2018, ``kz17``
2018-2022, ``kz20`` from 2022). The crosswalk is a long table with one row per
``(layout, unit, atom, year)``: each unit of each layout is a union of *atoms* (the pieces of the finest
layout), and ``atom_population`` gives each atom's population by year (marked ``population_estimated``
where it had to be apportioned). :func:`to_layout` uses it to read any series on any layout,
population-weighted where regions merge or split, and marks such values ``estimated``.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from ._util.jsonsafe import jsonable
from .errors import DataError, NotFoundError

__all__ = [
    "gini", "theil", "theil_decomposition", "TheilDecomposition", "cv", "best_worst_gap",
    "population_below", "sigma_convergence", "beta_convergence", "BetaConvergence", "rollup",
    "infer_layout", "to_layout", "choropleth", "divide", "load_crosswalk", "load_layouts",
    "load_geojson",
]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------

def _prepare(values, weights) -> tuple[np.ndarray, np.ndarray]:
    """Values and weights as float arrays of one shape, weight 0 (and value 0) where either is NaN."""
    x = np.asarray(values, dtype=float)
    if weights is None:
        w = np.ones_like(x)
    else:
        w = np.broadcast_to(np.asarray(weights, dtype=float), x.shape)
    if np.any(w < 0):
        raise DataError("weights must be non-negative (population)", field="weights",
                        value=float(np.nanmin(w)), fix="pass populations, not shares of change")
    ok = ~(np.isnan(x) | np.isnan(w))
    return np.where(ok, x, 0.0), np.where(ok, w, 0.0)


def _wmean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x * w).sum(-1) / w.sum(-1)


def _check_nonneg(x: np.ndarray, w: np.ndarray, what: str) -> None:
    if np.any((x < 0) & (w > 0)):
        raise DataError(f"{what} is defined for non-negative values only", field="values",
                        value=float(x[(x < 0) & (w > 0)].min()),
                        fix="use a shortfall (100 - value) or a positive transform")


# --------------------------------------------------------------------------------------------------
# inequality
# --------------------------------------------------------------------------------------------------

def gini(values, weights=None) -> np.ndarray | float:
    """Population-weighted Gini coefficient of regional values.

    .. math:: G = \\frac{\\sum_i \\sum_j w_i w_j |x_i - x_j|}{2 W^2 \\mu},
              \\quad W = \\sum_i w_i,\\ \\mu = \\sum_i w_i x_i / W

    Each region counts as ``w_i`` people who all have the regional value ``x_i`` (the between-region
    Gini; inequality inside regions is not seen).

    Parameters
    ----------
    values : array_like, shape (..., n_units)
        Regional values (non-negative, e.g. % of people using the Internet).
    weights : array_like, optional
        Population of each region (same shape or broadcastable). Unweighted if omitted.

    Returns
    -------
    float or ndarray, shape (...)
        Gini in [0, 1); NaN where no unit has data or the mean is 0.

    References
    ----------
    Lerman, R. I. & Yitzhaki, S. (1989). Improving the accuracy of estimates of Gini coefficients.
    *Journal of Econometrics* 42(1), 43-47. https://doi.org/10.1016/0304-4076(89)90074-2
    Williamson, J. G. (1965). Regional inequality and the process of national development.
    *Economic Development and Cultural Change* 13(4), 1-84. https://doi.org/10.1086/450136
    """
    x, w = _prepare(values, weights)
    _check_nonneg(x, w, "Gini")
    diff = np.abs(x[..., :, None] - x[..., None, :])
    num = (w[..., :, None] * w[..., None, :] * diff).sum((-1, -2))
    W = w.sum(-1)
    mu = _wmean(x, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = num / (2.0 * W**2 * mu)
    g = np.where((W > 0) & (mu > 0), g, np.nan)
    return g if g.ndim else float(g)


def theil(values, weights=None) -> np.ndarray | float:
    """Population-weighted Theil T index (GE(1)).

    .. math:: T = \\sum_i p_i \\frac{x_i}{\\mu} \\ln \\frac{x_i}{\\mu}, \\quad p_i = w_i / W

    Parameters
    ----------
    values : array_like, shape (..., n_units)
        Non-negative regional values (0 contributes 0, as :math:`\\lim_{x \\to 0} x \\ln x = 0`).
    weights : array_like, optional
        Population of each region. Unweighted if omitted.

    Returns
    -------
    float or ndarray
        T >= 0, 0 when all regions are equal; NaN where no data or mean 0.

    References
    ----------
    Theil, H. (1967). *Economics and Information Theory*. North-Holland.
    Shorrocks, A. F. (1980). The class of additively decomposable inequality measures.
    *Econometrica* 48(3), 613-625. https://doi.org/10.2307/1913126
    """
    x, w = _prepare(values, weights)
    _check_nonneg(x, w, "Theil")
    mu = _wmean(x, w)[..., None]
    p = w / w.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = x / mu
        term = np.where((w > 0) & (r > 0), p * r * np.log(np.where(r > 0, r, 1.0)), 0.0)
    t = term.sum(-1)
    t = np.where(mu[..., 0] > 0, t, np.nan)
    return t if t.ndim else float(t)


@dataclass
class TheilDecomposition:
    """Theil T split into between-group and within-group parts (``total = between + within``)."""

    total: float
    between: float
    within: float
    groups: pd.DataFrame = field(repr=False)  # group, population_share, mean, theil, within_contribution

    @property
    def between_share(self) -> float:
        return self.between / self.total if self.total else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "between": self.between, "within": self.within,
                "between_share": self.between_share, "groups": self.groups.to_dict("records")}


def theil_decomposition(values, weights, groups) -> TheilDecomposition:
    """Theil T with its exact between/within decomposition for a grouping of regions.

    .. math:: T = \\underbrace{\\sum_g P_g \\frac{\\mu_g}{\\mu} T_g}_{within}
              + \\underbrace{\\sum_g P_g \\frac{\\mu_g}{\\mu} \\ln\\frac{\\mu_g}{\\mu}}_{between}

    Parameters
    ----------
    values, weights : array_like, shape (n_units,)
        Regional values and populations (weights may be None for unweighted).
    groups : array_like, shape (n_units,)
        Group label of each region (e.g. ``"city"`` for cities of republican significance, ``"oblast"``).

    Returns
    -------
    TheilDecomposition

    References
    ----------
    Shorrocks, A. F. (1980). *Econometrica* 48(3), 613-625. https://doi.org/10.2307/1913126
    Conceição, P. & Ferreira, P. (2000). The young person's guide to the Theil index. UTIP Working
    Paper 14. https://utip.lbj.utexas.edu/papers/utip_14.pdf
    """
    x, w = _prepare(values, weights)
    if x.ndim != 1:
        raise DataError("theil_decomposition takes one vector of regions", field="values",
                        value=x.shape, fix="loop over years or call theil() for batched totals")
    g = np.asarray(groups, dtype=object)
    if g.shape != x.shape:
        raise DataError("groups must have one label per region", field="groups", value=g.shape)
    _check_nonneg(x, w, "Theil")
    W = w.sum()
    mu = _wmean(x, w)
    total = theil(x, w)
    rows, between, within = [], 0.0, 0.0
    for lab in pd.unique(g[w > 0]):
        m = (g == lab) & (w > 0)
        Pg = w[m].sum() / W
        mug = _wmean(x[m], w[m])
        Tg = theil(x[m], w[m]) if mug > 0 else 0.0
        wc = Pg * mug / mu * Tg
        bc = Pg * mug / mu * math.log(mug / mu) if mug > 0 else 0.0
        within += wc
        between += bc
        rows.append({"group": lab, "population_share": Pg, "mean": mug, "theil": Tg,
                     "within_contribution": wc, "between_contribution": bc})
    return TheilDecomposition(total=float(total), between=float(between), within=float(within),
                              groups=pd.DataFrame(rows))


def cv(values, weights=None) -> np.ndarray | float:
    """Coefficient of variation: standard deviation over mean (population-weighted if weights given).

    With population weights this is Williamson's :math:`V_w = \\sqrt{\\sum_i p_i (x_i - \\mu)^2}/\\mu`;
    without, the (population, ``ddof=0``) unweighted CV of the regional values.

    Parameters
    ----------
    values : array_like, shape (..., n_units)
    weights : array_like, optional

    References
    ----------
    Williamson, J. G. (1965). *Economic Development and Cultural Change* 13(4), 1-84.
    https://doi.org/10.1086/450136
    """
    x, w = _prepare(values, weights)
    mu = _wmean(x, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (w * (x - mu[..., None]) ** 2).sum(-1) / w.sum(-1)
        out = np.sqrt(var) / mu
    return out if out.ndim else float(out)


def best_worst_gap(values: pd.Series | Mapping[str, float], *, higher_is_better: bool = True
                   ) -> dict[str, Any]:
    """Best and worst region, the absolute gap and the ratio between them.

    Parameters
    ----------
    values : Series or mapping, unit -> value (NaN ignored)
    higher_is_better : bool
        Direction of the indicator.

    Returns
    -------
    dict with ``best``, ``best_value``, ``worst``, ``worst_value``, ``gap`` (best - worst, in the
    indicator's unit; positive when best is better) and ``ratio`` (best / worst).
    """
    s = pd.Series(values, dtype=float).dropna()
    if s.empty:
        raise DataError("no region has a value", field="values", fix="choose another year or indicator")
    best, worst = (s.idxmax(), s.idxmin()) if higher_is_better else (s.idxmin(), s.idxmax())
    b, wv = float(s[best]), float(s[worst])
    return {"best": best, "best_value": b, "worst": worst, "worst_value": wv,
            "gap": (b - wv) if higher_is_better else (wv - b),
            "ratio": b / wv if wv else float("nan")}


def population_below(values, population, threshold: float, *, higher_is_better: bool = True,
                     units: Iterable[str] | None = None) -> dict[str, Any]:
    """How many people live in regions on the wrong side of a threshold (e.g. < 90 % internet use).

    Parameters
    ----------
    values, population : array_like, shape (n_units,) or Series indexed by unit
    threshold : float
        Regions with ``value < threshold`` (``>`` when ``higher_is_better=False``) count.
    units : iterable of str, optional
        Unit codes (taken from the Series index when Series are given).

    Returns
    -------
    dict with ``people`` (sum of population below), ``share`` (of the population of regions with
    data) and ``units`` (codes below, worst first).
    """
    if isinstance(values, pd.Series):
        pop = pd.Series(population, dtype=float).reindex(values.index)
        units = list(values.index)
        x, w = values.to_numpy(float), pop.to_numpy(float)
    else:
        x, w = np.asarray(values, float), np.asarray(population, float)
        units = list(units) if units is not None else [str(i) for i in range(len(x))]
    ok = ~(np.isnan(x) | np.isnan(w))
    below = ok & ((x < threshold) if higher_is_better else (x > threshold))
    order = np.argsort(x[below]) if higher_is_better else np.argsort(-x[below])
    names = [u for u, b in zip(units, below) if b]
    total = w[ok].sum()
    return {"people": float(w[below].sum()), "share": float(w[below].sum() / total) if total else float("nan"),
            "units": [names[i] for i in order], "threshold": threshold}


# --------------------------------------------------------------------------------------------------
# convergence
# --------------------------------------------------------------------------------------------------

def sigma_convergence(wide: pd.DataFrame, weights: pd.DataFrame | None = None) -> pd.DataFrame:
    """Dispersion of regional values over time (sigma-convergence: is the spread shrinking?).

    Parameters
    ----------
    wide : DataFrame, index year, columns unit
        Regional values (NaN allowed; each year uses the regions it has).
    weights : DataFrame, optional, same shape
        Population by year and unit (aligned on index and columns).

    Returns
    -------
    DataFrame indexed by year with ``n``, ``mean``, ``sd``, ``cv``, ``cv_weighted``, ``gini``,
    ``theil``, ``sd_log`` and, in ``.attrs['trend']``, the OLS slope of ``cv`` (weighted if weights) on
    year with its 95 % CI: a negative slope is sigma-convergence.

    References
    ----------
    Barro, R. J. & Sala-i-Martin, X. (1992). Convergence. *Journal of Political Economy* 100(2),
    223-251. https://doi.org/10.1086/261816
    """
    x = wide.sort_index().astype(float)
    w = None if weights is None else weights.reindex(index=x.index, columns=x.columns).astype(float)
    xa = x.to_numpy()
    wa = None if w is None else w.to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        logx = np.where(xa > 0, np.log(np.where(xa > 0, xa, 1.0)), np.nan)
    out = pd.DataFrame({
        "n": (~np.isnan(xa)).sum(1),
        "mean": _wmean(*_prepare(xa, None)),
        "sd": np.nanstd(xa, axis=1),
        "cv": cv(xa),
        "cv_weighted": cv(xa, wa) if wa is not None else np.nan,
        "gini": gini(xa, wa),
        "theil": theil(xa, wa),
        "sd_log": np.nanstd(logx, axis=1),
    }, index=x.index)
    col = "cv_weighted" if wa is not None else "cv"
    y = out[col].to_numpy()
    ok = ~np.isnan(y)
    if ok.sum() >= 3:
        fit = _ols(out.index.to_numpy(float)[ok], y[ok])
        out.attrs["trend"] = {"measure": col, "slope_per_year": fit["slope"], "ci95": fit["ci95"],
                              "p_value": fit["p_value"], "converging": fit["ci95"][1] < 0}
    return out


def _ols(xv: np.ndarray, yv: np.ndarray, w: np.ndarray | None = None) -> dict[str, Any]:
    """(Weighted) least squares of y on [1, x] via numpy lstsq, with classical 95 % CI of the slope."""
    from scipy import stats

    n = len(xv)
    sw = np.sqrt(w) if w is not None else np.ones(n)
    X = np.column_stack([np.ones(n), xv]) * sw[:, None]
    Y = yv * sw
    coef, *_ = np.linalg.lstsq(X, Y, rcond=None)
    resid = Y - X @ coef
    dof = n - 2
    s2 = resid @ resid / dof if dof > 0 else np.nan
    cov = s2 * np.linalg.pinv(X.T @ X)
    se = float(np.sqrt(cov[1, 1])) if dof > 0 else float("nan")
    tcrit = stats.t.ppf(0.975, dof) if dof > 0 else float("nan")
    tval = coef[1] / se if se else float("nan")
    p = 2 * stats.t.sf(abs(tval), dof) if dof > 0 else float("nan")
    ss_tot = ((Y - (Y * sw).sum() / (sw * sw).sum() * sw) ** 2).sum()
    r2 = 1 - (resid @ resid) / ss_tot if ss_tot else float("nan")
    return {"intercept": float(coef[0]), "slope": float(coef[1]), "se": se,
            "ci95": (float(coef[1] - tcrit * se), float(coef[1] + tcrit * se)),
            "p_value": float(p), "r2": float(r2), "n": n}


@dataclass
class BetaConvergence:
    """Result of :func:`beta_convergence`."""

    slope: float
    ci95: tuple[float, float]
    p_value: float
    intercept: float
    r2: float
    n: int
    years: float
    transform: str
    speed: float            # lambda, per year (NaN when the slope shows no convergence)
    half_life: float        # years to close half the gap, ln 2 / lambda (NaN without convergence)

    @property
    def converging(self) -> bool:
        """True when the whole 95 % CI of the slope is below 0."""
        return self.ci95[1] < 0

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["converging"] = self.converging
        return d


def beta_convergence(initial, final, years: float, *, weights=None, transform: str = "log"
                     ) -> BetaConvergence:
    """Absolute beta-convergence: do regions that started lower grow faster?

    Regresses the mean annual growth on the initial level,

    .. math:: \\frac{f(y_{iT}) - f(y_{i0})}{T} = a + b\\, f(y_{i0}) + e_i

    with :math:`f = \\ln` (``transform='log'``, the Barro & Sala-i-Martin form), :math:`f(y) = y`
    (``'none'``), or the log of the shortfall from 100 (``'shortfall'``, for bounded percentages such
    as internet use: :math:`f(y) = -\\ln(100 - y)`, so growth is the rate at which the gap to 100 % closes).
    A negative ``b`` means convergence; the implied speed is :math:`\\lambda = -\\ln(1 + bT)/T` and the
    half-life :math:`\\ln 2/\\lambda`.

    Parameters
    ----------
    initial, final : array_like, shape (n_units,)
        Values at the start and end of the period (NaN pairs drop out).
    years : float
        Length of the period T (> 0).
    weights : array_like, optional
        Population weights (weighted least squares).
    transform : {'log', 'none', 'shortfall'}

    Returns
    -------
    BetaConvergence
        slope with 95 % CI (t distribution), p-value, R², implied speed and half-life.

    References
    ----------
    Barro, R. J. & Sala-i-Martin, X. (1992). Convergence. *Journal of Political Economy* 100(2),
    223-251. https://doi.org/10.1086/261816
    Sala-i-Martin, X. (1996). The classical approach to convergence analysis. *Economic Journal*
    106(437), 1019-1036. https://doi.org/10.2307/2235375
    """
    if not years or years <= 0:
        raise DataError("the period must be positive", field="years", value=years)
    y0, y1 = np.asarray(initial, float), np.asarray(final, float)
    w = None if weights is None else np.asarray(weights, float)
    if transform == "log":
        f = lambda v: np.log(np.where(v > 0, v, np.nan))  # noqa: E731
    elif transform == "none":
        f = lambda v: v  # noqa: E731
    elif transform == "shortfall":
        f = lambda v: -np.log(np.where(v < 100, 100 - v, np.nan))  # noqa: E731
    else:
        raise DataError("unknown transform", field="transform", value=transform,
                        fix="use 'log', 'none' or 'shortfall'")
    a, b = f(y0), f(y1)
    ok = ~(np.isnan(a) | np.isnan(b))
    if w is not None:
        ok &= ~np.isnan(w)
    if ok.sum() < 3:
        raise DataError("beta-convergence needs at least 3 regions with both values", field="initial",
                        value=int(ok.sum()))
    g = (b[ok] - a[ok]) / years
    fit = _ols(a[ok], g, None if w is None else w[ok])
    bt = 1 + fit["slope"] * years
    speed = -math.log(bt) / years if (fit["slope"] < 0 and bt > 0) else float("nan")
    half = math.log(2) / speed if speed and speed > 0 else float("nan")
    return BetaConvergence(slope=fit["slope"], ci95=fit["ci95"], p_value=fit["p_value"],
                           intercept=fit["intercept"], r2=fit["r2"], n=fit["n"], years=float(years),
                           transform=transform, speed=speed, half_life=half)


# --------------------------------------------------------------------------------------------------
# roll-up
# --------------------------------------------------------------------------------------------------

def rollup(values, population, national: float | None = None) -> dict[str, Any]:
    """Population-weighted mean of regional values, set against the published national figure.

    Parameters
    ----------
    values, population : array_like or Series (aligned on index when Series)
    national : float, optional
        The national figure published for the same year.

    Returns
    -------
    dict with ``regional_mean``, ``national``, ``difference`` (regional_mean - national),
    ``n_units`` and ``population_covered``.

    Notes
    -----
    For a percentage of the whole population, the weighted mean reproduces the national figure up to
    the survey's own weighting, rounding and the population base (1 January vs. the survey's
    population aged 6-74); the difference measures that, not an error of this function.
    """
    if isinstance(values, pd.Series):
        population = pd.Series(population, dtype=float).reindex(values.index)
    x, w = _prepare(np.asarray(values, float), np.asarray(population, float))
    m = float(_wmean(x, w))
    return {"regional_mean": m, "national": national,
            "difference": (m - national) if national is not None else None,
            "n_units": int((w > 0).sum()), "population_covered": float(w.sum())}


# --------------------------------------------------------------------------------------------------
# layouts, crosswalk, conversion
# --------------------------------------------------------------------------------------------------

_PKG = "digimeter"


def load_crosswalk(name: str = "kz") -> pd.DataFrame:
    """The bundled crosswalk ``data/crosswalks/<name>_crosswalk.csv`` (layout, unit, atom, year,
    atom_population, population_estimated, basis)."""
    try:
        f = resources.files(_PKG).joinpath("data", "crosswalks", f"{name}_crosswalk.csv")
        with f.open("r", encoding="utf-8") as fh:
            return pd.read_csv(fh)
    except FileNotFoundError as e:
        raise NotFoundError(f"no bundled crosswalk '{name}'", value=name,
                            fix="see digimeter/data/crosswalks/ for the available ones") from e


def load_layouts(name: str = "kz") -> pd.DataFrame:
    """The bundled layout table ``data/crosswalks/<name>_layouts.csv`` (layout, first_year,
    last_year, n_units, geojson, note)."""
    try:
        f = resources.files(_PKG).joinpath("data", "crosswalks", f"{name}_layouts.csv")
        with f.open("r", encoding="utf-8") as fh:
            return pd.read_csv(fh)
    except FileNotFoundError as e:
        raise NotFoundError(f"no bundled layouts '{name}'", value=name) from e


def load_geojson(layout: str) -> dict:
    """The bundled boundaries of one layout (``data/geo/<layout>.geojson``) as a dict."""
    try:
        f = resources.files(_PKG).joinpath("data", "geo", f"{layout}.geojson")
        with f.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError as e:
        raise NotFoundError(f"no bundled boundaries for layout '{layout}'", value=layout,
                            fix="see digimeter/data/geo/README.md") from e


def _territories(crosswalk: pd.DataFrame) -> dict[str, dict[str, frozenset]]:
    """layout -> unit -> frozenset of atoms."""
    m = crosswalk[["layout", "unit", "atom"]].drop_duplicates()
    out: dict[str, dict[str, frozenset]] = {}
    for (lay, unit), g in m.groupby(["layout", "unit"], sort=False):
        out.setdefault(lay, {})[unit] = frozenset(g["atom"])
    return out


def infer_layout(units: Iterable[str], crosswalk: pd.DataFrame, year: int | None = None,
                 layouts: pd.DataFrame | None = None, *, _terr: dict | None = None) -> str:
    """The layout a set of regional values (one indicator, one year) was published on.

    Scores each layout by ``|units in layout| - |layout units missing|`` and takes the best; a tie is
    broken by the layout whose years (``layouts.first_year .. last_year``) contain ``year``, then by
    the later layout. Codes such as ``KZ-19`` that exist in several layouts with different territories
    are resolved this way (Almaty region 2022 is the new territory only if Zhetisu is published too).
    """
    terr = _terr if _terr is not None else _territories(crosswalk)
    us = set(units)
    best, key = None, None
    spans = ({} if layouts is None else
             {r[0]: (r[1], r[2]) for r in zip(layouts["layout"], layouts["first_year"], layouts["last_year"])})
    for order, (lay, members) in enumerate(terr.items()):
        ms = set(members)
        score = len(us & ms) - len(ms - us)
        covers = 0
        if year is not None and lay in spans:
            lo, hi = spans[lay]
            covers = int((pd.isna(lo) or year >= lo) and (pd.isna(hi) or year <= hi))
        k = (score, covers, order)
        if key is None or k > key:
            best, key = lay, k
    if best is None:
        raise DataError("the crosswalk has no layouts", field="crosswalk")
    return best


def _atom_pop(crosswalk: pd.DataFrame) -> pd.DataFrame:
    """atom x year population (wide)."""
    a = crosswalk[["atom", "year", "atom_population"]].drop_duplicates(["atom", "year"])
    return a.pivot(index="year", columns="atom", values="atom_population").sort_index()


def to_layout(obs: pd.DataFrame, crosswalk: pd.DataFrame, target_layout: str, *,
              extensive: Iterable[str] = ("population",), layouts: pd.DataFrame | None = None
              ) -> pd.DataFrame:
    """Read regional observations on one layout (e.g. every year on today's 20 regions).

    Each (indicator, year) group is placed on the layout it was published on (:func:`infer_layout`,
    or the ``layout`` column of ``obs`` if present). Every atom of a target unit takes its value from
    the smallest source region containing it; atoms are then combined:

    * intensive indicators (rates, %, per capita): population-weighted mean over the target's atoms
      (a split region passes its value to each part; merged regions are averaged by population);
    * extensive indicators (counts, listed in ``extensive``): a source count is apportioned to its
      atoms by population share and the shares are summed (conserves the total).

    A target value equal to one source value on the same territory is copied (``estimated=False``);
    anything apportioned or averaged is ``estimated=True``. A target unit with an atom no source
    covers is left out. Population shares come from the crosswalk's ``atom_population`` for the year
    (nearest year when outside its range).

    Parameters
    ----------
    obs : DataFrame
        Columns ``unit, indicator, year, value`` (``origin_id`` and ``layout`` optional). Units not in
        the crosswalk (e.g. a national total) are ignored.
    crosswalk : DataFrame
        From :func:`load_crosswalk`.
    target_layout : str
        e.g. ``"kz20"``.
    extensive : iterable of str
        Indicator codes summed rather than averaged.

    Returns
    -------
    DataFrame with ``unit, indicator, year, value, estimated, source_layout, sources`` (and
    ``origin_id``, the union of contributing origins joined by ';', if ``obs`` has it).

    References
    ----------
    Goodchild, M. F. & Lam, N. S.-N. (1980). Areal interpolation: a variant of the traditional spatial
    problem. *Geo-Processing* 1, 297-312 (here with population instead of area as ancillary weight).
    """
    terr = _territories(crosswalk)
    if target_layout not in terr:
        raise NotFoundError(f"layout '{target_layout}' is not in the crosswalk", field="target_layout",
                            value=target_layout, fix=f"one of {sorted(terr)}")
    need = {"unit", "indicator", "year", "value"}
    if not need <= set(obs.columns):
        raise DataError("observations need columns unit, indicator, year, value", field="obs",
                        value=sorted(set(obs.columns)))
    known = set().union(*[set(t) for t in terr.values()])
    obs = obs[obs["unit"].isin(known) & obs["value"].notna()]
    ext = set(extensive)
    apop = _atom_pop(crosswalk)
    years_avail = apop.index.to_numpy()
    target = terr[target_layout]
    has_origin = "origin_id" in obs.columns
    rows = []
    for (ind, year), g in obs.groupby(["indicator", "year"], sort=True):
        yr = int(year)
        pyear = years_avail[np.argmin(np.abs(years_avail - yr))]
        pop = apop.loc[pyear].to_dict()  # dict lookups: much faster than Series indexing per atom
        if "layout" in g.columns and g["layout"].notna().all() and g["layout"].nunique() == 1:
            src_layout = g["layout"].iloc[0]
        else:
            src_layout = infer_layout(g["unit"], crosswalk, yr, layouts, _terr=terr)
        # territory of each source unit: its territory in the source layout if it is a member there,
        # else in any layout (a unit published alongside its parts, e.g. KZ-51 with KZ-61/KZ-79)
        src = {}
        for u, v, o in zip(g["unit"], g["value"], g["origin_id"] if has_origin else [None] * len(g)):
            t = terr[src_layout].get(u)
            if t is None:
                cands = [terr[lay][u] for lay in terr if u in terr[lay]]
                t = cands[-1]
            src[u] = (t, float(v), o)
        # each atom's source: the smallest source territory containing it
        atom_src: dict[str, str] = {}
        for u, (t, _, _) in sorted(src.items(), key=lambda kv: -len(kv[1][0])):
            for a in t:
                atom_src[a] = u  # smaller territories overwrite larger ones
        for tu, tatoms in target.items():
            if not all(a in atom_src for a in tatoms) and not any(t == tatoms for t, _, _ in src.values()):
                continue
            same = [u for u, (t, _, _) in src.items() if t == tatoms]
            used = same[:1] or sorted({atom_src[a] for a in tatoms})
            exact = len(used) == 1 and src[used[0]][0] == tatoms
            if exact:
                val = src[used[0]][1]
            elif ind in ext:
                val = 0.0
                for a in tatoms:
                    su = atom_src[a]
                    st = src[su][0]
                    val += src[su][1] * pop[a] / sum(pop[b] for b in st)
            else:
                num = sum(src[atom_src[a]][1] * pop[a] for a in tatoms)
                den = sum(pop[a] for a in tatoms)
                val = num / den
            row = {"unit": tu, "indicator": ind, "year": yr, "value": float(val),
                   "estimated": not exact, "source_layout": src_layout, "sources": ";".join(used)}
            if has_origin:
                row["origin_id"] = ";".join(sorted({str(src[u][2]) for u in used if src[u][2] is not None}))
            rows.append(row)
    cols = ["unit", "indicator", "year", "value", "estimated", "source_layout", "sources"]
    if has_origin:
        cols.append("origin_id")
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------------------------------
# maps
# --------------------------------------------------------------------------------------------------

def choropleth(geojson: Mapping, values, *, key: str = "unit", name: str = "value",
               extra: Mapping[str, Mapping[str, Any]] | None = None) -> dict:
    """A GeoJSON FeatureCollection with each feature's value in its properties (for a choropleth).

    Parameters
    ----------
    geojson : mapping
        A FeatureCollection whose features carry the unit code in ``properties[key]``
        (the bundled ones: :func:`load_geojson`).
    values : Series, mapping unit -> value, or DataFrame with columns ``unit`` and ``value``
    key : str
        Property holding the unit code.
    name : str
        Property to write the value into (``None``/null where a unit has no value).
    extra : mapping, optional
        unit -> {property: value} merged into the properties (e.g. rank, estimated flag).

    Returns
    -------
    dict
        A new FeatureCollection (the input is not modified), with ``value_min``/``value_max`` at the
        top level for a colour scale.
    """
    if isinstance(values, pd.DataFrame):
        vals = dict(zip(values["unit"], values["value"]))
    else:
        vals = dict(pd.Series(values, dtype=float).items())
    if geojson.get("type") != "FeatureCollection":
        raise DataError("not a GeoJSON FeatureCollection", field="type", value=geojson.get("type"))
    out = {"type": "FeatureCollection", "features": []}
    found = []
    for f in geojson["features"]:
        g = {"type": "Feature", "geometry": f["geometry"], "properties": dict(f.get("properties") or {})}
        code = g["properties"].get(key)
        if code is None:
            raise DataError("a feature has no unit code", field=key,
                            fix=f"give every feature a '{key}' property")
        v = vals.get(code)
        v = None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        g["properties"][name] = v
        if v is not None:
            found.append(v)
        if extra and code in extra:
            g["properties"].update(extra[code])
        out["features"].append(g)
    out["value_min"] = min(found) if found else None
    out["value_max"] = max(found) if found else None
    return out


# --------------------------------------------------------------------------------------------------
# thin DataFrame face
# --------------------------------------------------------------------------------------------------

def divide(obs: pd.DataFrame, indicator: str, *, population: str = "population",
           units: Iterable[str] | None = None, groups: Mapping[str, str] | None = None,
           threshold: float | Mapping[int, float] | str | None = None, higher_is_better: bool = True,
           national: Mapping[int, float] | None = None, weights: pd.DataFrame | None = None,
           weights_source: str | None = None) -> pd.DataFrame:
    """All divide measures for one indicator, one row per year, from a long table of observations.

    Parameters
    ----------
    obs : DataFrame
        Columns ``unit, indicator, year, value``; must contain both ``indicator`` and ``population``
        rows for the regions (on the same layout for each year; see :func:`to_layout`).
    units : iterable of str, optional
        The regions to use (default: every unit with both values). Leave national totals out.
    groups : mapping unit -> group label, optional
        For the Theil between/within decomposition.
    threshold : float, mapping year -> float, or "mean", optional
        For :func:`population_below`: one value for every year, one per year (a year missing from the
        mapping uses its mean), or each year's mean.
    national : mapping year -> national figure, optional
        For the roll-up difference.
    weights : DataFrame, optional, index year, columns unit
        Weights to use instead of the ``population`` rows (e.g. the crosswalk's population), named
        by ``weights_source``.

    Returns
    -------
    DataFrame indexed by year: n, weights (``population``, ``crosswalk`` or ``none``), mean_weighted,
    gini, theil, theil_between, theil_within, cv, cv_weighted, best, worst, gap, people_below,
    share_below, national, rollup_difference. A year whose regions lack a weight is measured
    unweighted (``weights = none``, no people counted), never dropped.
    """
    o = obs if units is None else obs[obs["unit"].isin(set(units))]
    v = o[o["indicator"] == indicator].pivot_table(index="year", columns="unit", values="value")
    if weights is not None:
        p, src = weights, weights_source or "given"
    else:
        p, src = o[o["indicator"] == population].pivot_table(index="year", columns="unit", values="value"), "population"
    rows = []
    for year in v.index:
        x = v.loc[year].dropna()
        if x.empty:
            continue
        w = p.loc[year].reindex(x.index) if year in p.index else pd.Series(np.nan, index=x.index)
        ysrc = src
        if not (w.notna().all() and (w > 0).any()):
            w, ysrc = pd.Series(1.0, index=x.index), "none"
        r = {"year": int(year), "n": len(x), "weights": ysrc,
             "mean_weighted": float(_wmean(x.to_numpy(), w.to_numpy())),
             "gini": gini(x.to_numpy(), w.to_numpy()), "theil": theil(x.to_numpy(), w.to_numpy()),
             "cv": cv(x.to_numpy()), "cv_weighted": cv(x.to_numpy(), w.to_numpy())}
        if groups is not None:
            lab = np.array([groups.get(u, "other") for u in x.index], dtype=object)
            d = theil_decomposition(x.to_numpy(), w.to_numpy(), lab)
            r["theil_between"], r["theil_within"] = d.between, d.within
        gap = best_worst_gap(x, higher_is_better=higher_is_better)
        r.update(best=gap["best"], worst=gap["worst"], gap=gap["gap"])
        thr_y = threshold
        if isinstance(threshold, str) and threshold == "mean":
            thr_y = r["mean_weighted"]
        elif isinstance(threshold, Mapping):   # e.g. the national figure of each year; else that year's mean
            thr_y = float(threshold[year]) if year in threshold else r["mean_weighted"]
        if thr_y is not None:
            r["threshold"] = float(thr_y)
            pb = population_below(x, w, float(thr_y), higher_is_better=higher_is_better)
            r.update(people_below=pb["people"] if ysrc != "none" else np.nan, share_below=pb["share"],
                     regions_below=len(pb["units"]))
        if national is not None and year in national:
            r["national"] = float(national[year])
            r["rollup_difference"] = r["mean_weighted"] - r["national"]
        rows.append(r)
    return pd.DataFrame(rows).set_index("year") if rows else pd.DataFrame()


# ==================================================================================================
# store-facing layer: a country's regional geography, its observations on one layout, the regional
# index, the divide report, its trend and map data. These read the store (passed in) and the bundled
# or imported geography files; they never print. Nothing here knows a country: codes, layouts, groups
# and boundaries come from data files (bundled under ``digimeter/data`` or imported with
# ``digimeter data import`` into ``$DIGIMETER_HOME/geo``, registered in the store's ``geo_files`` table).
# ==================================================================================================

#: The store table listing imported geography files (written by :mod:`digimeter.sources.geo`).
GEO_TABLE = "geo_files"
GEO_TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS {GEO_TABLE} (
    name VARCHAR NOT NULL, kind VARCHAR NOT NULL, country VARCHAR NOT NULL, layout VARCHAR,
    path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, origin_id VARCHAR, imported TIMESTAMP,
    PRIMARY KEY (kind, name, layout))"""

#: Feature properties that may hold a region's group for the Theil decomposition (first found wins).
GROUP_PROPERTIES = ("group", "unit_type")


def geo_home() -> "Path":
    """Folder of imported geography files: ``$DIGIMETER_HOME/geo``."""
    from pathlib import Path

    from .store import default_home

    return Path(default_home()) / "geo"


def geo_registry(store) -> pd.DataFrame:
    cols = ["name", "kind", "country", "layout", "path", "sha256", "origin_id", "imported"]
    try:
        have = store.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                 [GEO_TABLE]).fetchone()[0]
        if not have:
            return pd.DataFrame(columns=cols)
        return store.query(f"SELECT * FROM {GEO_TABLE} ORDER BY imported")
    except Exception:  # pragma: no cover - a store without the table
        return pd.DataFrame(columns=cols)


def bundled_crosswalk_names() -> list[str]:
    folder = resources.files(_PKG).joinpath("data", "crosswalks")
    return sorted(p.name[: -len("_crosswalk.csv")] for p in folder.iterdir()
                  if p.name.endswith("_crosswalk.csv"))


@dataclass
class Geography:
    """A country's regional layouts, the crosswalk between them, their boundaries and region groups.

    Get one with :func:`geography`. ``crosswalk`` and ``layouts`` have the columns of
    :func:`load_crosswalk` and :func:`load_layouts`.
    """

    country: str
    name: str
    crosswalk: pd.DataFrame
    layouts: pd.DataFrame
    origin: str                                  # 'bundled', 'imported' or 'derived' (no crosswalk)
    boundaries: dict[str, str] = field(default_factory=dict)   # layout -> imported GeoJSON path
    _geo_cache: dict[str, dict] = field(default_factory=dict, repr=False)

    def layout_names(self) -> list[str]:
        return list(self.layouts["layout"])

    def layout_for(self, year: int | None = None) -> str:
        """The layout the statistics of ``year`` are published on (the latest layout if None)."""
        lay = self.layouts.copy()
        lo = pd.to_numeric(lay["first_year"], errors="coerce")
        hi = pd.to_numeric(lay["last_year"], errors="coerce")
        if year is not None:
            ok = lay[(lo.isna() | (lo <= year)) & (hi.isna() | (hi >= year))]
            if len(ok):
                return str(ok["layout"].iloc[-1])
        return str(lay.assign(_k=lo.fillna(-1e9)).sort_values("_k")["layout"].iloc[-1])

    def latest_layout(self) -> str:
        return self.layout_for(None)

    def units(self, layout: str) -> list[str]:
        """Unit codes of a layout, in crosswalk order."""
        u = self.crosswalk[self.crosswalk["layout"] == layout]["unit"]
        if u.empty:
            raise NotFoundError(f"no layout '{layout}' for {self.country}", field="layout", value=layout,
                                fix=f"one of {', '.join(self.layout_names())}")
        return list(dict.fromkeys(u))

    def geojson(self, layout: str) -> dict:
        """Boundaries of ``layout`` (imported file if registered, else the bundled one)."""
        if layout not in self._geo_cache:
            path = self.boundaries.get(layout)
            if path is not None:
                with open(path, encoding="utf-8") as fh:
                    self._geo_cache[layout] = json.load(fh)
            else:
                self._geo_cache[layout] = load_geojson(layout)
        return self._geo_cache[layout]

    def has_boundaries(self, layout: str) -> bool:
        if layout in self.boundaries:
            return True
        return resources.files(_PKG).joinpath("data", "geo", f"{layout}.geojson").is_file()

    def groups(self, layout: str) -> dict[str, str] | None:
        """Region -> group (e.g. city / oblast) for the Theil decomposition, from the data.

        A ``group`` column of the crosswalk wins; else the boundary features' ``group`` or
        ``unit_type`` property. None when the data give no groups.
        """
        cw = self.crosswalk
        if "group" in cw.columns:
            g = cw[(cw["layout"] == layout) & cw["group"].notna()].drop_duplicates("unit")
            if len(g):
                return dict(zip(g["unit"], g["group"].astype(str)))
        if not self.has_boundaries(layout):
            return None
        feats = self.geojson(layout).get("features", [])
        for prop in GROUP_PROPERTIES:
            vals = {f["properties"].get("unit"): f["properties"].get(prop) for f in feats}
            if vals and all(v not in (None, "") for v in vals.values()) and len(set(vals.values())) > 1:
                return {k: str(v) for k, v in vals.items()}
        return None

    def unit_population(self, layout: str, year: int | None = None) -> pd.Series | None:
        """Each unit's population from the crosswalk's ``atom_population`` (the sum over its atoms, for
        the crosswalk year nearest ``year``; the latest if None), or None when the crosswalk carries no
        population of its own (a geography derived from the store's units)."""
        if self.origin == "derived" or "atom_population" not in self.crosswalk:
            return None
        cw = self.crosswalk
        ap = cw[["atom", "year", "atom_population"]].dropna(subset=["atom_population"])
        ap = ap[pd.to_numeric(ap["atom_population"], errors="coerce") > 0]
        if ap.empty:
            return None
        yrs = np.array(sorted(ap["year"].astype(int).unique()))
        y = yrs[-1] if year is None else yrs[np.argmin(np.abs(yrs - int(year)))]
        pop = ap[ap["year"].astype(int) == y].drop_duplicates("atom").set_index("atom")["atom_population"].astype(float)
        terr = _territories(cw).get(layout, {})
        out = {u: float(pop.reindex(sorted(atoms)).sum(min_count=len(atoms))) for u, atoms in terr.items()}
        return pd.Series(out, dtype=float, name="atom_population")

    def names(self, layout: str | None = None, store=None, lang: str = "en") -> dict[str, str]:
        """Region names in ``lang``: the store's names for that language (``Store.unit_names``; the
        units table's ``name`` for English), else the boundary files' ``name_<lang>`` / ``name``, else
        the store's English name."""
        out: dict[str, str] = {}
        if store is not None:
            u = store.units(parent=self.country)
            out.update(dict(zip(u["code"], u["name"])))
        if layout is not None and self.has_boundaries(layout):
            for f in self.geojson(layout).get("features", []):
                p = f.get("properties") or {}
                n = p.get(f"name_{lang}") or (p.get("name_en") or p.get("name") if p.get("unit") not in out else None)
                if n:
                    out[p.get("unit")] = n
        if store is not None:
            local = store.unit_names(lang)
            out.update({c: local[c] for c in out if c in local})
        return out


def _derived_layouts(crosswalk: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Layout years from the validity of their units (a layout lasts while all its units are valid)."""
    vf = pd.to_numeric(units.set_index("code")["valid_from"], errors="coerce")
    vt = pd.to_numeric(units.set_index("code")["valid_to"], errors="coerce")
    rows = []
    for lay, g in crosswalk.groupby("layout", sort=False):
        us = list(dict.fromkeys(g["unit"]))
        f = vf.reindex(us).max()
        t = vt.reindex(us).min()
        rows.append({"layout": lay, "first_year": f, "last_year": t, "n_units": len(us),
                     "geojson": None, "note": "years derived from the units' validity"})
    return pd.DataFrame(rows).sort_values("first_year", na_position="first").reset_index(drop=True)


def geography(store, country: str) -> Geography:
    """The regional geography of ``country``: which crosswalk, layouts and boundaries its regions use.

    Candidates are the bundled crosswalks (``data/crosswalks/<name>_crosswalk.csv``) and the imported
    ones registered in the store; the one sharing most unit codes with the country's regions in the
    store is taken (an imported one wins a tie). A country with regions but no crosswalk gets a single
    layout of all its regions (population from the store), so every measure still works.
    """
    code = store.unit(country)["code"]
    regs = store.units(kind="region", parent=code)
    if regs.empty:
        raise NotFoundError(f"no regions of {code} in the store", field="country", value=code,
                            fix="import a units file with kind=region and parent=" + code)
    have = set(regs["code"])
    reg = geo_registry(store)
    cands: list[tuple[int, int, str, str, pd.DataFrame, pd.DataFrame | None]] = []
    for name in bundled_crosswalk_names():
        cw = load_crosswalk(name)
        ov = len(set(cw["unit"]) & have)
        if ov:
            try:
                lay = load_layouts(name)
            except NotFoundError:
                lay = None
            cands.append((ov, 0, name, "bundled", cw, lay))
    for r in reg[(reg["kind"] == "crosswalk") & (reg["country"] == code)].itertuples():
        cw = pd.read_csv(r.path)
        cands.append((len(set(cw["unit"]) & have), 1, r.name, "imported", cw, None))
    bounds = {r.layout: r.path for r in reg[(reg["kind"] == "boundaries") & (reg["country"] == code)].itertuples()}
    if cands:
        ov, _, name, origin, cw, lay = max(cands, key=lambda c: (c[0], c[1]))
        if lay is None:
            lay = _derived_layouts(cw, regs)
        return Geography(code, name, cw, lay, origin, boundaries=bounds)
    # no crosswalk: one layout of the regions valid now, weights = population in the store
    now = regs[pd.to_numeric(regs["valid_to"], errors="coerce").isna()]
    lay_name = next(iter(bounds), code.lower())
    pop = store.observations(indicators="population", units=now["code"].tolist())
    if pop.empty:
        pop = pd.DataFrame({"unit": now["code"], "year": 2000, "value": 1.0})
    cw = pd.DataFrame({"layout": lay_name, "unit": pop["unit"], "atom": pop["unit"],
                       "year": pop["year"].astype(int), "atom_population": pop["value"].astype(float),
                       "population_estimated": False, "basis": "store population"})
    lay = pd.DataFrame([{"layout": lay_name, "first_year": np.nan, "last_year": np.nan,
                         "n_units": len(now), "geojson": bounds.get(lay_name), "note": "single layout"}])
    return Geography(code, lay_name, cw, lay, "derived", boundaries=bounds)


def extensive_indicators(store, codes: Iterable[str]) -> list[str]:
    """Indicators that are counts (summed, not averaged, when regions merge): people, thousands ...

    Read from the indicator's unit of measure: counts are in ``people``, ``persons``, ``number``,
    ``thousand ...`` or ``... subscriptions`` and are not a share (``%``) or a rate (``per``).
    """
    out = []
    for c in codes:
        try:
            u = str(store.indicator(c).get("unit") or "").strip().lower()
        except NotFoundError:
            continue
        if "%" in u or " per " in f" {u} " or u.startswith("per"):
            continue
        if u.split(" ")[0] in ("people", "persons", "number", "thousand", "count", "units") \
                or u.endswith("subscriptions"):
            out.append(c)
    return out


def regional_observations(store, country: str, indicators: Iterable[str] | str, *,
                          layout: str | None = None, years: Iterable[int] | None = None,
                          population: str = "population", geo: Geography | None = None
                          ) -> pd.DataFrame:
    """Every value of ``indicators`` for the regions of ``country``, read on one layout.

    Values published on another layout (before a region was split or merged) are converted with
    :func:`to_layout` (population-weighted, counts apportioned) and marked ``estimated``.

    Parameters
    ----------
    store : digimeter.store.Store
    country : str
        ISO3 of the country (its regions are the store's units with ``parent`` = country).
    indicators : str or iterable of str
        Store indicator codes; ``population`` is always added (the weights).
    layout : str, optional
        Target layout (default: the latest).
    years : iterable of int, optional
        Years to read (default: all).

    Returns
    -------
    DataFrame with ``unit, indicator, year, value, estimated, source_layout, sources, origin_id``.
    """
    geo = geo or geography(store, country)
    layout = layout or geo.latest_layout()
    inds = [indicators] if isinstance(indicators, str) else list(indicators)
    inds = list(dict.fromkeys(inds + [population]))
    units = sorted(set(geo.crosswalk["unit"]))
    obs = store.observations(indicators=inds, units=units, years=None if years is None else list(years))
    cols = ["unit", "indicator", "year", "value", "estimated", "source_layout", "sources", "origin_id"]
    if obs.empty:
        return pd.DataFrame(columns=cols)
    ext = extensive_indicators(store, inds)
    out = to_layout(obs[["unit", "indicator", "year", "value", "origin_id"]], geo.crosswalk, layout,
                    extensive=ext, layouts=geo.layouts)
    return out[cols].sort_values(["indicator", "year", "unit"]).reset_index(drop=True)


@dataclass
class RegionalPanel:
    """A units x indicators panel of one country's regions on one layout, with estimated cells marked.

    ``panel`` is a :class:`digimeter.panel.Panel` (the shape ``build.compute`` takes); ``estimated``
    (same shape, bool) is True where a value was converted from another layout.
    """

    panel: Any
    estimated: pd.DataFrame
    layout: str
    population: pd.Series
    geography: Geography
    long: pd.DataFrame = field(repr=False)


def regional_panel(store, country: str, indicators: Iterable[str], year: int, *, window: int = 0,
                   layout: str | None = None, units: Iterable[str] | None = None,
                   population: str = "population", geo: Geography | None = None) -> RegionalPanel:
    """The regions of ``country`` x ``indicators`` for ``year`` (latest value within ``window`` years).

    Every region of the layout (default: the layout of ``year``) gets a value wherever the territory
    had one, converted from the layout it was published on when needed (marked in ``estimated``), so
    a region created recently is not left out of older series.
    """
    from .panel import Panel

    geo = geo or geography(store, country)
    layout = layout or geo.layout_for(year)
    inds = list(dict.fromkeys(indicators))
    long = regional_observations(store, country, inds, layout=layout,
                                 years=range(year - max(window, 0) - 0, year + 1), population=population,
                                 geo=geo)
    idx = pd.Index(list(units) if units is not None else geo.units(layout), name="unit")
    cols = pd.Index(inds, name="indicator")
    if len(long):
        last = long.sort_values("year").groupby(["unit", "indicator"], as_index=False).last()
    else:
        last = pd.DataFrame(columns=long.columns)

    def wide(col, dtype=None):
        if last.empty:
            return pd.DataFrame(index=idx, columns=cols, dtype=dtype)
        return last.pivot(index="unit", columns="indicator", values=col).reindex(index=idx, columns=cols)

    values = wide("value", float).astype(float)
    est = wide("estimated").fillna(False).astype(bool) if len(last) else \
        pd.DataFrame(False, index=idx, columns=cols)
    yrs = wide("year")
    origins = wide("origin_id")
    # population: the latest within the window, else the latest before the year (weights only)
    pop_rows = long[long["indicator"] == population] if len(long) else long
    if pop_rows.empty:
        pop_all = regional_observations(store, country, [population], layout=layout, geo=geo,
                                        population=population)
        pop_rows = pop_all[pop_all["year"] <= year]
        if pop_rows.empty and len(pop_all):   # population published only later: the earliest year there is
            pop_rows = pop_all[pop_all["year"] == pop_all["year"].min()]
    pop = (pop_rows.sort_values("year").groupby("unit")["value"].last().reindex(idx)
           if len(pop_rows) else pd.Series(np.nan, index=idx))
    notes = []
    if est.to_numpy().any():
        notes.append(f"{int(est.to_numpy().sum())} values read from an earlier layout onto {layout} "
                     "(population-weighted; marked estimated)")
    p = Panel(values=values, years=yrs, origins=origins, year=int(year), window=int(window), notes=notes)
    return RegionalPanel(panel=p, estimated=est, layout=layout, population=pop.rename("population"),
                         geography=geo, long=long)


@dataclass
class RegionalIndex:
    """A regional index (an :class:`digimeter.build.Index` over regions) with its estimated cells.

    ``estimated`` is units x indicator nodes (True where the input was converted from another layout);
    ``index.params["estimated"]`` holds the same table so faces that only see the Index can mark them.
    """

    index: Any
    estimated: pd.DataFrame
    layout: str
    population: pd.Series
    geography: Geography

    @property
    def score(self) -> pd.Series:
        return self.index.score

    @property
    def rank(self) -> pd.Series:
        return self.index.rank

    def estimated_inputs(self) -> pd.Series:
        """Per region, the indicator nodes whose value was estimated (comma-separated, '' if none)."""
        e = self.estimated
        return pd.Series({u: ", ".join(c for c in e.columns if e.loc[u, c]) for u in e.index}, name="estimated")


def _spec_store_codes(spec) -> list[str]:
    codes = [n.indicator for n in spec.indicator_nodes()]
    dens = spec.denominators() if hasattr(spec, "denominators") else {}
    codes += [d for d, _ in dens.values()]
    return list(dict.fromkeys(codes))


def regional_index(spec, store, *, year: int | None = None, layout: str | None = None,
                   country: str | None = None, changes: Mapping[str, Any] | None = None) -> RegionalIndex:
    """Build a regional index spec over one layout, so every region is scored.

    The same pure pipeline as countries (:func:`digimeter.build.compute`), fed with a
    :func:`regional_panel` instead of the store's values as published.

    Parameters
    ----------
    spec : IndexSpec or str
        A spec whose ``units`` are ``{kind: region, parent: <ISO3>}`` (e.g. ``kz-regions``).
    store : Store
    year : int, optional
        Overrides ``spec.year``.
    layout : str, optional
        Default: the layout of the year (today's regions for recent years).
    country : str, optional
        Default: ``spec.units.parent``.
    """
    from .build import compute
    from .errors import SpecError
    from .spec import load_spec

    spec = load_spec(spec)
    ch = dict(changes or {})
    if year is not None and year != spec.year:
        ch["year"] = year
    if ch:
        spec = spec.with_changes(ch)
    country = country or spec.units.parent
    if not country:
        raise SpecError(f"spec '{spec.name}' names no parent country in units", field="units.parent",
                        fix="set units: {kind: region, parent: KAZ}")
    geo = geography(store, country)
    layout = layout or geo.layout_for(spec.year)
    units = [u for u in geo.units(layout) if u not in set(spec.units.exclude)]
    if spec.units.include:
        units = [u for u in units if u in set(spec.units.include)]
    codes = _spec_store_codes(spec)
    rp = regional_panel(store, country, codes, spec.year, window=spec.year_window, layout=layout,
                        units=units, geo=geo)
    ind_meta = {c: store.indicator(c) for c in codes}
    from .spec import node_directions

    directions = node_directions(spec, ind_meta)
    empty = [n.code for n in spec.indicator_nodes() if rp.panel.values[n.indicator].isna().all()]
    if empty:
        raise SpecError(f"spec '{spec.name}': indicator(s) with no regional data for {spec.year} within "
                        f"year_window {spec.year_window}: {', '.join(empty)}", field="year_window",
                        fix="set a wider year_window, choose another year, or drop the indicator")
    umeta = store.units().set_index("code").reindex(units)
    unit_meta = umeta[["name", "un_region", "wb_region", "income_group"]].copy()
    history = None
    if spec.impute.get("method") == "panel":
        h = regional_observations(store, country, codes, layout=layout, geo=geo)
        history = h[h["year"] <= spec.year][["unit", "indicator", "year", "value"]].reset_index(drop=True)
    ix = compute(spec, rp.panel, unit_meta=unit_meta, directions=directions, history=history)
    est = pd.DataFrame({n.code: rp.estimated[n.indicator] for n in spec.indicator_nodes()},
                       index=rp.estimated.index).reindex(ix.scores.index)
    ix.params["estimated"] = est
    ix.params["layout"] = layout
    return RegionalIndex(index=ix, estimated=est, layout=layout, population=rp.population.reindex(ix.scores.index),
                         geography=geo)


def regional_spec_for(country: str) -> str | None:
    """The shipped spec whose units are the regions of ``country`` (e.g. ``kz-regions`` for KAZ)."""
    from .spec import load_spec, shipped_specs

    for name, path in shipped_specs().items():
        try:
            s = load_spec(path)
        except Exception:  # a broken spec is reported where it is used, not here
            continue
        kinds = s.units.kind if isinstance(s.units.kind, list) else [s.units.kind]
        if s.units.parent == country and "region" in kinds:
            return name
    return None


def regional_indicators(store, country: str) -> list[dict[str, Any]]:
    """The indicators the store has for the regions of ``country``, best covered first.

    Coverage is the number of regions with a value in the indicator's latest year, then the number of
    years, then the code; counts (people, thousands ...) come after rates and shares. ``population``
    (the weights) and indicators without a known direction are left out. Each entry: ``code``, ``name``, ``unit``, ``regions`` (in the latest year), ``years``,
    ``latest_year``.
    """
    code = store.unit(country)["code"]
    regs = store.units(kind="region", parent=code)
    if regs.empty:
        return []
    o = store.observations(units=regs["code"].tolist())
    o = o[o["indicator"] != "population"]
    out = []
    for ind, g in o.groupby("indicator"):
        try:
            meta = store.indicator(ind)
        except NotFoundError:
            continue
        hib = meta.get("higher_is_better")
        if hib is None or hib is pd.NA or (isinstance(hib, float) and math.isnan(hib)):
            continue
        last = int(g["year"].max())
        out.append({"code": ind, "name": meta["name"], "unit": meta.get("unit"),
                    "regions": int(g[g["year"] == last]["unit"].nunique()), "years": int(g["year"].nunique()),
                    "latest_year": last})
    counts = set(extensive_indicators(store, [r["code"] for r in out]))   # counts compare sizes, not levels: last
    return sorted(out, key=lambda r: (r["code"] in counts, -r["regions"], -r["years"], r["code"]))


def default_regional_subject(store, country: str) -> str | None:
    """What to show for a country's regions by default: the shipped regional spec where one exists
    (and its data are there), else the best-covered regional indicator (:func:`regional_indicators`)."""
    code = store.unit(country)["code"]
    spec = regional_spec_for(code)
    if spec is not None:
        return spec
    inds = regional_indicators(store, code)
    return inds[0]["code"] if inds else None


def national_figures(store, country: str, indicator: str) -> dict[int, float]:
    """The published national figure of ``indicator`` by year, from the same publisher as the regions
    where possible: an ``aggregate`` unit whose parent is the country (a statistics bureau's national
    total) wins over the country unit itself (which may hold an international series)."""
    aggs = store.units(kind="aggregate", parent=country)["code"].tolist()
    for units in (aggs, [country]):
        if not units:
            continue
        o = store.observations(indicators=indicator, units=units)
        if len(o):
            o = o[o["unit"] == o["unit"].iloc[0]]
            return dict(zip(o["year"].astype(int), o["value"].astype(float)))
    return {}


def _resolve_subject(store, indicator_or_spec) -> tuple[str, Any]:
    """('indicator', meta dict) or ('spec', IndexSpec)."""
    from .spec import IndexSpec, load_spec, shipped_specs

    if isinstance(indicator_or_spec, IndexSpec):
        return "spec", indicator_or_spec
    try:
        return "indicator", store.indicator(indicator_or_spec)
    except NotFoundError as e:
        if indicator_or_spec in shipped_specs() or str(indicator_or_spec).endswith((".yaml", ".yml")):
            return "spec", load_spec(indicator_or_spec)
        raise e


@dataclass
class RegionReport:
    """One indicator (or index score) across a country's regions in one year, and the divide measures.

    ``table`` has one row per region: unit, name, value, rank, population, estimated (bool), year
    (of the value), note. ``measures`` holds gini, theil (+ between/within), cv, cv_weighted, gap,
    best/worst, people_below/share_below/threshold, regional_mean, national, rollup_difference.
    """

    country: str
    subject: str               # indicator code or spec name
    kind: str                  # 'indicator' or 'score'
    name: str
    unit_of_measure: str
    year: int
    layout: str
    higher_is_better: bool
    table: pd.DataFrame
    measures: dict[str, Any]
    decomposition: TheilDecomposition | None
    below_units: list[str]
    index: RegionalIndex | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"country": self.country, "subject": self.subject, "kind": self.kind, "name": self.name,
                "unit_of_measure": self.unit_of_measure, "year": self.year, "layout": self.layout,
                "higher_is_better": self.higher_is_better,
                "regions": json.loads(self.table.to_json(orient="records", force_ascii=False)),
                "measures": jsonable(self.measures),
                "theil_decomposition": jsonable(self.decomposition.to_dict()) if self.decomposition else None,
                "below": self.below_units}


def default_threshold(meta: Mapping[str, Any] | None) -> float | None:
    """90 for a share of people (``%``, 0-100, higher is better), the universal-use bar of the ITU /
    UN Envoy on Technology 2030 baseline is 95 and digimeter reports regions below 90 as clearly
    behind; None (use the population-weighted mean) otherwise."""
    if meta is None:
        return None
    if meta.get("max_value") == 100 and bool(meta.get("higher_is_better")) and "%" in str(meta.get("unit") or ""):
        return 90.0
    return None


#: How the divide measures were weighted: the words every face uses.
WEIGHTS_LABELS = {"population": "population-weighted",
                  "crosswalk": "weighted by the crosswalk's atom_population",
                  "none": "unweighted"}


def resolve_weights(values: pd.Series, population: pd.Series | None, geo: "Geography | None" = None,
                    layout: str | None = None, year: int | None = None) -> tuple[pd.Series, str, str]:
    """The weights of the divide measures for the regions that have a value, and which ones they are.

    Population where every region with a value has one; else the crosswalk's ``atom_population``
    (summed over each region's atoms, nearest year); else equal weights. A region is never dropped
    for want of a weight.

    Returns
    -------
    (weights, source, note)
        ``weights`` indexed like ``values``; ``source`` is ``population``, ``crosswalk`` or ``none``
        (see :data:`WEIGHTS_LABELS`); ``note`` says why a fallback was taken ('' when population).
    """
    have = values.dropna().index
    note = ""
    if population is not None:
        p = pd.to_numeric(population, errors="coerce").reindex(have)
        if len(have) and p.notna().all() and (p > 0).any():
            return pd.to_numeric(population, errors="coerce").reindex(values.index), "population", ""
        missing = [str(u) for u in p.index[p.isna()]]
        note = ("no population in the store for the regions" if len(missing) == len(have) else
                f"no population for {len(missing)} of {len(have)} regions ({', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''})")
    else:
        note = "no population in the store for the regions"
    if geo is not None and layout is not None:
        cw = geo.unit_population(layout, year)
        if cw is not None:
            c = cw.reindex(have)
            if len(have) and c.notna().all() and (c > 0).any():
                return cw.reindex(values.index), "crosswalk", note + "; weights from the crosswalk's atom_population"
    return pd.Series(1.0, index=values.index), "none", note + "; every region counts the same"


def declared_target(indicator: str, country: str) -> tuple[float, str] | None:
    """A numeric threshold declared for ``indicator`` in a shipped scenario, for the regions of
    ``country`` (``units: {parent: <ISO3>, kind: region}``) or else for the country itself.

    Returns ``(threshold, "target '<id>' of scenario <name>")`` or None. Read straight from the
    scenario files (``data/scenarios``), so this layer does not import the targets module."""
    from ._util.yamlsafe import load_yaml_file

    folder = resources.files(_PKG).joinpath("data", "scenarios")
    found: list[tuple[int, float, str]] = []
    for f in sorted(folder.iterdir(), key=lambda f: f.name):
        if not f.name.endswith((".yaml", ".yml")):
            continue
        try:
            doc = load_yaml_file(str(f))
        except Exception:  # a broken scenario is reported where it is used, not here
            continue
        for t in (doc or {}).get("targets") or []:
            if not isinstance(t, dict) or t.get("indicator") != indicator:
                continue
            thr = t.get("threshold")
            if isinstance(thr, bool) or not isinstance(thr, (int, float)):
                continue
            u = t.get("units")
            regional = isinstance(u, dict) and u.get("parent") == country and u.get("kind") in ("region", ["region"])
            if regional or t.get("unit") == country:
                found.append((0 if regional else 1, float(thr),
                              f"target '{t.get('id')}' of scenario {f.name.rsplit('.', 1)[0]}"))
    if not found:
        return None
    _, thr, where = min(found, key=lambda r: r[0])
    return thr, where


def _threshold(threshold: float | None, meta: Mapping[str, Any] | None, country: str,
               national: float | None) -> tuple[float | None, str, str]:
    """(threshold or None for the mean, source, text): given, the declared target, the national
    value, else the regional mean (filled in by :func:`_measures`)."""
    if threshold is not None:
        return float(threshold), "given", "the threshold given"
    code = (meta or {}).get("code")
    if code:
        d = declared_target(code, country)
        if d is not None:
            return d[0], "target", f"the declared target ({d[1]})"
    if national is not None and not (isinstance(national, float) and math.isnan(national)):
        return float(national), "national", "the national figure"
    return None, "mean", "the regional mean"


def _measures(values: pd.Series, pop: pd.Series, *, groups: Mapping[str, str] | None,
              threshold: float | None, higher_is_better: bool, national: float | None,
              weights: str = "population", threshold_source: str | None = None, threshold_text: str = "",
              weights_note: str = "") -> tuple[dict[str, Any], TheilDecomposition | None, list[str]]:
    """Divide measures of the regions with a value; ``pop`` holds their weights (see
    :func:`resolve_weights`; ``weights`` names them)."""
    ok = values.notna() & pop.notna()
    x, w = values[ok].astype(float), pop[ok].astype(float)
    m: dict[str, Any] = {"n": int(len(x)), "weights": weights, "weights_label": WEIGHTS_LABELS.get(weights, weights)}
    if weights_note:
        m["weights_note"] = weights_note.lstrip("; ")
    if x.empty:
        return m, None, []
    xa, wa = x.to_numpy(), w.to_numpy()
    r = rollup(x, w, national)
    m.update(regional_mean=r["regional_mean"], national=national, rollup_difference=r["difference"])
    nonneg = bool((xa >= 0).all())
    m["gini"] = gini(xa, wa) if nonneg else float("nan")
    m["theil"] = theil(xa, wa) if nonneg else float("nan")
    m["cv"], m["cv_weighted"] = cv(xa), cv(xa, wa)
    dec = None
    if groups and nonneg:
        lab = np.array([groups.get(u, "other") for u in x.index], dtype=object)
        if len(set(lab)) > 1:
            dec = theil_decomposition(xa, wa, lab)
            m["theil_between"], m["theil_within"] = dec.between, dec.within
            m["theil_between_share"] = dec.between_share
    g = best_worst_gap(x, higher_is_better=higher_is_better)
    m.update(best=g["best"], best_value=g["best_value"], worst=g["worst"], worst_value=g["worst_value"],
             gap=g["gap"], ratio=g["ratio"])
    thr = threshold if threshold is not None else r["regional_mean"]
    pb = population_below(x, w, thr, higher_is_better=higher_is_better)
    src = threshold_source or ("mean" if threshold is None else "given")
    m.update(threshold=thr, threshold_is_mean=threshold is None, threshold_source=src,
             threshold_label=threshold_text or ("the regional mean" if threshold is None else "the threshold given"),
             regions_below=len(pb["units"]), share_below=pb["share"])
    if weights == "none":   # no people to count: the share is of regions
        m.update(people_below=None, population=None)
    else:
        m.update(people_below=pb["people"], population=float(w.sum()))
    return m, dec, pb["units"]


def _higher_is_better(meta: dict) -> bool:
    """The indicator's direction; an indicator created by a data update may have none (NULL)."""
    hib = meta.get("higher_is_better")
    if hib is None or hib is pd.NA or (isinstance(hib, float) and math.isnan(hib)):
        raise DataError(f"indicator '{meta['code']}': which way is better is not known, so regions cannot be "
                        "ranked best to worst", field="higher_is_better", value=meta["code"],
                        fix="import an indicators file that gives higher_is_better for it "
                            "(code,name,unit,higher_is_better,min_value,max_value)")
    return bool(hib)


def _rank(values: pd.Series, higher_is_better: bool) -> pd.Series:
    return values.rank(ascending=not higher_is_better, method="min").astype("Int64")


def region_report(store, country: str, indicator_or_spec, year: int | None = None, *,
                  threshold: float | None = None, layout: str | None = None, lang: str = "en") -> RegionReport:
    """Every region's value and rank and the divide measures, for an indicator or a regional index.

    Parameters
    ----------
    store : Store
    country : str
        ISO3 of the country.
    indicator_or_spec : str or IndexSpec
        A store indicator (``internet_users_pct``) or a regional spec (``kz-regions``): its score.
    year : int, optional
        Default: the latest year with regional data (indicator) or the spec's year.
    threshold : float, optional
        People in regions below it are counted (default :func:`default_threshold`, else the
        population-weighted regional mean).
    layout : str, optional
        Default: the layout of the year.
    """
    country = store.unit(country)["code"]
    geo = geography(store, country)
    kind, subj = _resolve_subject(store, indicator_or_spec)
    if kind == "indicator":
        meta = subj
        code = meta["code"]
        if year is None:
            o = store.observations(indicators=code, units=sorted(set(geo.crosswalk["unit"])))
            if o.empty:
                raise NotFoundError(f"no regional values of {code} for {country}", field="indicator", value=code,
                                    fix="see `digimeter data show` for the indicators with regional data")
            year = int(o["year"].max())
        layout = layout or geo.layout_for(year)
        rp = regional_panel(store, country, [code], year, layout=layout, geo=geo)
        vals = rp.panel.values[code]
        est = rp.estimated[code]
        yr = rp.panel.years[code]
        hib = _higher_is_better(meta)
        name, uom, subject_code, ri = meta["name"], str(meta.get("unit") or ""), code, None
        nat_by_year = national_figures(store, country, code)
        national = nat_by_year.get(int(year))
        thr, thr_src, thr_text = _threshold(threshold, meta, country, national)
    else:
        spec = subj
        ri = regional_index(spec, store, year=year, layout=layout, country=country)
        ix = ri.index
        year, layout = int(ix.year), ri.layout
        vals = ix.score.reindex(ri.estimated.index)
        est = ri.estimated.any(axis=1)
        lagged = ix.panel.years.min(axis=1)
        yr = lagged.reindex(vals.index)
        hib, name, uom, subject_code = True, spec.title or spec.name, "score 0-100", spec.name
        national = None
        thr, thr_src, thr_text = _threshold(threshold, None, country, None)
    if vals.notna().sum() == 0:
        raise NotFoundError(f"no regional values of {subject_code} for {country} in {year}", field="year",
                            value=year, fix="choose a year with regional data")
    pop = (ri.population if ri is not None else rp.population).reindex(vals.index)
    names = geo.names(layout, store, lang)
    t = pd.DataFrame({"unit": vals.index, "name": [names.get(u, u) for u in vals.index],
                      "value": vals.to_numpy(float), "rank": _rank(vals, hib).to_numpy(),
                      "population": pop.to_numpy(float), "estimated": est.reindex(vals.index).fillna(False).astype(bool).to_numpy(),
                      "year": pd.to_numeric(yr, errors="coerce").astype("Int64").to_numpy()})
    if ri is not None:
        t["estimated_inputs"] = ri.estimated_inputs().reindex(vals.index).to_numpy()
        for c in [c for c in ix.table().columns if c not in ("rank", ix.name)]:
            t[c] = ix.scores[c].reindex(vals.index).to_numpy()
    t = t.sort_values(["rank", "unit"], na_position="last").reset_index(drop=True)
    groups = geo.groups(layout)
    v = pd.Series(t["value"].to_numpy(), index=t["unit"])
    w, wsrc, wnote = resolve_weights(v, pd.Series(t["population"].to_numpy(), index=t["unit"]), geo, layout, year)
    m, dec, below = _measures(v, w, groups=groups, threshold=thr, higher_is_better=hib, national=national,
                              weights=wsrc, threshold_source=thr_src, threshold_text=thr_text, weights_note=wnote)
    m["estimated_regions"] = int(t["estimated"].sum())
    if groups:
        m["groups"] = sorted(set(groups.values()))
    return RegionReport(country=country, subject=subject_code, kind="indicator" if ri is None else "score",
                        name=name, unit_of_measure=uom, year=int(year), layout=layout, higher_is_better=hib,
                        table=t, measures=m, decomposition=dec, below_units=below, index=ri)


@dataclass
class DivideTrend:
    """The divide of one indicator over time on one layout, and whether regions are catching up."""

    country: str
    indicator: str
    name: str
    layout: str
    table: pd.DataFrame            # per year: divide() columns
    sigma: pd.DataFrame            # sigma_convergence() output; trend in .attrs['trend']
    beta: BetaConvergence | None
    beta_period: tuple[int, int] | None
    series_break: int | None
    estimated_share: pd.Series     # per year: share of regions whose value is estimated
    groups: dict[str, str] | None = None
    threshold: float | None = None
    threshold_source: str = "given"    # given, target, national or mean
    threshold_label: str = ""
    weights: str = "population"        # population, crosswalk or none (see WEIGHTS_LABELS)
    weights_note: str = ""

    @property
    def weights_label(self) -> str:
        return WEIGHTS_LABELS.get(self.weights, self.weights)

    @property
    def sigma_trend(self) -> dict[str, Any] | None:
        return self.sigma.attrs.get("trend")

    def verdict(self, _: Callable[[str], str] | None = None, fmt: Callable[..., str] | None = None) -> str:
        """One sentence: are regions catching up?

        ``_`` translates the sentence's templates (a gettext function, as the report passes) and ``fmt``
        formats numbers (``fmt(x, digits, signed)``; plain Python formatting by default).
        """
        _ = _ or (lambda m: m)
        if fmt is None:
            def fmt(x: float, digits: int, signed: bool = False) -> str:
                return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
        parts = []
        tr = self.sigma_trend
        if tr:
            lo, hi = tr["ci95"]
            m = {"cv_weighted": _("the population-weighted coefficient of variation"),
                 "cv": _("the coefficient of variation")}.get(tr["measure"], tr["measure"])
            sl = tr["slope_per_year"]
            if hi < 0:
                parts.append(_("the spread is shrinking (sigma-convergence: {measure} falls by {slope} a year, "
                               "95 % CI {lo} to {hi})").format(measure=m, slope=fmt(-sl, 4), lo=fmt(-hi, 4),
                                                               hi=fmt(-lo, 4)))
            elif lo > 0:
                parts.append(_("the spread is widening ({measure} rises by {slope} a year)").format(
                    measure=m, slope=fmt(sl, 4)))
            else:
                parts.append(_("no clear trend in the spread ({measure} slope {slope} a year, 95 % CI {lo} "
                               "to {hi})").format(measure=m, slope=fmt(sl, 4, True), lo=fmt(lo, 4, True),
                                                  hi=fmt(hi, 4, True)))
        b = self.beta
        if b is not None and self.beta_period:
            y0, y1 = self.beta_period
            if b.converging:
                hl = (_(", half the gap closes in {years} years").format(years=fmt(b.half_life, 1))
                      if not math.isnan(b.half_life) else "")
                parts.append(_("regions that started behind in {y0} grew faster to {y1} (beta-convergence: "
                               "slope {slope}, 95 % CI {lo} to {hi}{half_life})").format(
                    y0=y0, y1=y1, slope=fmt(b.slope, 3), lo=fmt(b.ci95[0], 3), hi=fmt(b.ci95[1], 3), half_life=hl))
            elif b.ci95[0] > 0:
                parts.append(_("regions that started ahead in {y0} pulled away by {y1} (slope {slope})").format(
                    y0=y0, y1=y1, slope=fmt(b.slope, 3, True)))
            else:
                parts.append(_("no clear catching-up from {y0} to {y1} (beta slope {slope}, 95 % CI {lo} to "
                               "{hi})").format(y0=y0, y1=y1, slope=fmt(b.slope, 3, True), lo=fmt(b.ci95[0], 3, True),
                                               hi=fmt(b.ci95[1], 3, True)))
        if not parts:
            parts.append(_("too few years or regions to tell whether regions are catching up"))
        s = "; ".join(parts)
        return s[0].upper() + s[1:] + "."

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"country": self.country, "indicator": self.indicator, "name": self.name,
                          "layout": self.layout, "series_break": self.series_break,
                          "by_year": json.loads(self.table.reset_index().to_json(orient="records")),
                          "sigma": json.loads(self.sigma.reset_index().to_json(orient="records")),
                          "sigma_trend": self.sigma_trend,
                          "beta": self.beta.to_dict() if self.beta else None,
                          "beta_period": list(self.beta_period) if self.beta_period else None,
                          "threshold": self.threshold, "threshold_source": self.threshold_source,
                          "threshold_label": self.threshold_label, "weights": self.weights,
                          "weights_label": self.weights_label, "weights_note": self.weights_note,
                          "verdict": self.verdict()})


def divide_trend(store, country: str, indicator: str, *, layout: str | None = None,
                 start: int | None = None, end: int | None = None, threshold: float | None = None
                 ) -> DivideTrend:
    """Divide measures of ``indicator`` year by year on one layout (default: today's regions), with
    sigma-convergence (is the spread shrinking?) and beta-convergence (do laggards grow faster?).

    Beta-convergence runs from the first year after the latest recorded series break (observations
    noted ``series break``) or ``start``, to the last year or ``end``; bounded percentages use the
    shortfall transform (the rate at which the gap to 100 % closes), other series the log.
    """
    country = store.unit(country)["code"]
    geo = geography(store, country)
    meta = store.indicator(indicator)
    code = meta["code"]
    layout = layout or geo.latest_layout()
    long = regional_observations(store, country, [code], layout=layout, geo=geo)
    long = long[long["unit"].isin(geo.units(layout))]
    if start is not None:
        long = long[long["year"] >= start]
    if end is not None:
        long = long[long["year"] <= end]
    v = long[long["indicator"] == code]
    if v["year"].nunique() < 1:
        raise NotFoundError(f"no regional values of {code} for {country}", field="indicator", value=code)
    hib = _higher_is_better(meta)
    groups = geo.groups(layout)
    nat = national_figures(store, country, code)
    wide = v.pivot(index="year", columns="unit", values="value").sort_index()
    pw, wsrc, wnote = _weights_by_year(long, wide, geo, layout)
    latest = int(wide.index.max())
    thr, thr_src, thr_text = _threshold(threshold, meta, country, nat.get(latest))
    # a fixed bar (given, declared target) for every year; else each year's national figure or mean
    by_year: Any = thr if thr_src in ("given", "target") else (nat if thr_src == "national" else "mean")
    if thr_src == "national":
        thr_text = "the national figure of each year"
    elif thr_src == "mean":
        thr_text = "the regional mean of each year"
    table = divide(long, code, groups=groups, threshold=by_year, higher_is_better=hib, national=nat,
                   weights=pw if pw is not None else pd.DataFrame(), weights_source=wsrc)
    if thr is None and "threshold" in table and len(table):
        thr = float(table["threshold"].iloc[-1])
    sigma = sigma_convergence(wide, pw)
    est_share = v.groupby("year")["estimated"].mean()
    # series break: the latest year noted as such, for this indicator
    notes = store.observations(indicators=code, units=sorted(set(geo.crosswalk["unit"])))
    brk = notes[notes["note"].fillna("").str.lower().str.startswith("series break")]["year"]
    series_break = int(brk.max()) if len(brk) else None
    y_first = int(wide.index.min())
    if series_break is not None and start is None and series_break > y_first:
        # levels before a break are not comparable with those after it: measure convergence after it
        y_first = series_break
        sigma = sigma_convergence(wide.loc[series_break:], None if pw is None else pw.loc[series_break:])
    y_last = int(wide.index.max())
    beta, period = None, None
    if y_last > y_first:
        bounded = meta.get("max_value") == 100 and hib
        transform = "shortfall" if bounded else "log"
        try:
            beta = beta_convergence(wide.loc[y_first], wide.loc[y_last], y_last - y_first,
                                    transform=transform)
            period = (y_first, y_last)
        except DataError:
            beta = None
    return DivideTrend(country=country, indicator=code, name=meta["name"], layout=layout, table=table,
                       sigma=sigma, beta=beta, beta_period=period, series_break=series_break,
                       estimated_share=est_share, groups=groups, threshold=thr, threshold_source=thr_src,
                       threshold_label=thr_text, weights=wsrc, weights_note=wnote.lstrip("; "))


def _weights_by_year(long: pd.DataFrame, wide: pd.DataFrame, geo: "Geography", layout: str
                     ) -> tuple[pd.DataFrame | None, str, str]:
    """Year x unit weights for :func:`divide_trend`: the store's population (carried forward to later
    years), else the crosswalk's ``atom_population`` (nearest year), else None (unweighted)."""
    pw = long[long["indicator"] == "population"].pivot_table(index="year", columns="unit", values="value")
    if len(pw):
        pw = pw.reindex(index=pw.index.union(wide.index)).sort_index().ffill().bfill()
        pw = pw.reindex(index=wide.index, columns=wide.columns)
        covered = all(pw.loc[y, wide.loc[y].dropna().index].notna().all() for y in wide.index)
        if covered:
            return pw, "population", ""
        note = "population is missing for some regions and years"
    else:
        note = "no population in the store for the regions"
    if geo.unit_population(layout) is not None:
        rows = {int(y): geo.unit_population(layout, int(y)) for y in wide.index}
        cw = pd.DataFrame(rows).T.reindex(index=wide.index, columns=wide.columns)
        if all(cw.loc[y, wide.loc[y].dropna().index].notna().all() for y in wide.index):
            return cw, "crosswalk", note + "; weights from the crosswalk's atom_population"
    return None, "none", note + "; every region counts the same"


def map_data(store, country: str, indicator_or_spec, year: int | None = None, *, layout: str | None = None,
             lang: str = "en", threshold: float | None = None, report: "RegionReport | None" = None) -> dict:
    """A GeoJSON FeatureCollection of the regions of ``country`` with one indicator's (or a regional
    index's score's) values for a year, ready for a choropleth (offline: bundled or imported boundaries).

    Each feature's properties gain ``value`` (null where none), ``rank``, ``estimated`` (bool), ``year``
    (of the value), ``population`` and ``name``; the collection gains ``value_min``/``value_max``,
    ``indicator``, ``title``, ``unit_of_measure``, ``year``, ``layout``, ``country``, ``higher_is_better``
    and ``measures`` (the divide measures of :func:`region_report`). Pass ``report`` (a
    :class:`RegionReport` already computed) to skip recomputing it.
    """
    rep = report or region_report(store, country, indicator_or_spec, year, layout=layout, lang=lang,
                                  threshold=threshold)
    geo = geography(store, rep.country)
    if not geo.has_boundaries(rep.layout):
        raise NotFoundError(f"no boundaries for layout '{rep.layout}' of {rep.country}", field="layout",
                            value=rep.layout, fix="import a GeoJSON file with `digimeter data import`")
    t = rep.table.set_index("unit")
    extra = {u: {"rank": None if pd.isna(r["rank"]) else int(r["rank"]), "estimated": bool(r["estimated"]),
                 "year": None if pd.isna(r["year"]) else int(r["year"]),
                 "population": None if pd.isna(r["population"]) else float(r["population"]),
                 "name": r["name"]} for u, r in t.iterrows()}
    fc = choropleth(geo.geojson(rep.layout), t["value"], extra=extra)
    for f in fc["features"]:
        p = f["properties"]
        if p.get("unit") not in extra:
            p.update(rank=None, estimated=False, year=None, population=None)
    fc.update(indicator=rep.subject, title=rep.name, unit_of_measure=rep.unit_of_measure, year=rep.year,
              layout=rep.layout, country=rep.country, kind=rep.kind, higher_is_better=rep.higher_is_better,
              measures=jsonable({k: v for k, v in rep.measures.items()}))
    return fc


__all__ += ["Geography", "geography", "geo_home", "extensive_indicators", "regional_observations",
            "RegionalPanel", "regional_panel", "RegionalIndex", "regional_index", "regional_spec_for",
            "national_figures", "RegionReport", "region_report", "DivideTrend", "divide_trend", "map_data",
            "default_threshold", "GEO_TABLE", "geo_registry", "bundled_crosswalk_names", "resolve_weights",
            "declared_target", "WEIGHTS_LABELS", "regional_indicators",
            "default_regional_subject"]
