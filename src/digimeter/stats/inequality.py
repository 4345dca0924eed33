"""Inequality between regions: Gini, Theil (and its between/within decomposition), CV, the
best-worst gap, people below a threshold, sigma- and beta-convergence, the population-weighted roll-up,
and :func:`divide` (all of them for one indicator, year by year, from a long table).

Pure functions of arrays or DataFrames (DESIGN.md layer L1): they never read the store or a file,
print, or touch global random state.

Measures take ``values`` of shape ``(..., n_units)`` and optional ``weights`` (population) of the same
shape (or broadcastable); they reduce the last axis, so a leading axis of years or Monte Carlo samples is
computed in one call. A unit whose value or weight is NaN drops out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = [
    "gini", "theil", "theil_decomposition", "TheilDecomposition", "cv", "best_worst_gap",
    "population_below", "sigma_convergence", "beta_convergence", "BetaConvergence", "rollup", "divide",
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
# all measures, year by year (a thin DataFrame face)
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
