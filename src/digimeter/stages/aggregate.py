"""Aggregation kernels: combine child scores into one score per unit.

``METHODS[name](x, w, **opts) -> np.ndarray`` with

``x`` : shape ``(..., n_units, n_children)``
    child scores (indicators or sub-pillars), NaN for missing; never modified;
``w`` : shape broadcastable to ``(..., n_children)`` (``None`` = equal weights)
    relative weights, non-negative; leading axes (e.g. one weight set per Monte Carlo sample)
    broadcast against the leading axes of ``x``;

and the result has shape ``(..., n_units)``. For each unit the weights are rescaled to sum to 1
over the children it has data for (missing children drop out and the rest are re-weighted, as
COINr does); a child with weight 0 counts as absent; a unit with no child data gets NaN.
Everything is vectorised over the leading axes.

:func:`aggregate` adds the method lookup and a minimum available weight share (``min_share``);
:func:`available_share` gives that share per unit (the build reports it).

References
----------
COINr aggregation vignette, https://bluefoxr.github.io/COINr/articles/aggregate.html ;
OECD/JRC (2008), Handbook on Constructing Composite Indicators, section 6,
https://doi.org/10.1787/9789264043466-en
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from digimeter.errors import DataError, SpecError

__all__ = ["METHODS", "ALIASES", "resolve", "options_of", "OPTIONS", "aggregate", "available_share", "arithmetic", "geometric", "harmonic",
           "generalised", "median", "copeland", "mazziotta_pareto", "minimum", "maximum"]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def _prep(x: Any, w: Any, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return x (float), weights broadcast to x's shape, and the mask of usable children.

    A child is usable for a unit when its value is not NaN and its weight is > 0. The weight
    array is 0 wherever the child is not usable.
    """
    xa, wb, valid = _prep_full(x, w, method)
    return xa, np.where(valid, wb, 0.0), valid


def _prep_full(x: Any, w: Any, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`_prep` but with the full (not zeroed) broadcast weights."""
    xa = np.asarray(x, dtype=float)
    if xa.ndim < 2:
        raise DataError(f"aggregate '{method}': x must have shape (..., n_units, n_children); "
                        f"got shape {xa.shape}", field="x", value=xa.shape)
    k = xa.shape[-1]
    if w is None:
        wa = np.ones(k)
    else:
        try:
            wa = np.asarray(w, dtype=float)
        except (TypeError, ValueError):
            raise SpecError(f"aggregate '{method}': weights must be numeric", field="w", value=w) from None
    if wa.ndim == 0:
        wa = np.broadcast_to(wa, (k,))
    if wa.shape[-1] not in (1, k):
        raise SpecError(f"aggregate '{method}': {wa.shape[-1]} weights for {k} children",
                        field="w", value=wa.shape, fix="give one weight per child (last axis)")
    if np.isnan(wa).any() or (wa < 0).any() or np.isinf(wa).any():
        raise SpecError(f"aggregate '{method}': weights must be finite and non-negative",
                        field="w", value=wa.tolist() if wa.size <= 20 else "(array)")
    try:
        wb = np.broadcast_to(wa[..., None, :], np.broadcast_shapes(wa[..., None, :].shape, xa.shape))
        xa = np.broadcast_to(xa, wb.shape)
    except ValueError:
        raise SpecError(f"aggregate '{method}': weights of shape {wa.shape} do not broadcast against "
                        f"data of shape {xa.shape}", field="w", value=wa.shape,
                        fix="weights must be shaped (..., n_children) with leading axes matching x") from None
    valid = ~np.isnan(xa) & (wb > 0)
    return xa, wb, valid


def _wnorm(wv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights rescaled to sum to 1 per unit over usable children; and the 'has data' mask."""
    tot = wv.sum(axis=-1, keepdims=True)
    has = tot[..., 0] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        wn = wv / np.where(tot > 0, tot, 1.0)
    return wn, has


def _z(x: np.ndarray, valid: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """x with unusable entries replaced by ``fill`` (so that 0 * NaN never happens)."""
    return np.where(valid, x, fill)


_GUARDS = (None, "rescale")


def _positive_guard(x: np.ndarray, valid: np.ndarray, method: str, zero_guard: str | None,
                    guard_range: tuple[float, float], strict: bool = True) -> np.ndarray:
    """Check positivity of the usable values; optionally rescale the offending slices.

    ``strict`` demands x > 0, otherwise x >= 0. With ``zero_guard="rescale"`` every leading
    slice (one (n_units, n_children) matrix) holding an offending value is mapped linearly from
    its own [min, max] (over all units and children together, so the children stay on one common
    scale) onto ``guard_range`` (default [1, 100]). Min-max [0, 100] data thus become exactly
    COINr's recommended min-max [1, 100] before a geometric mean. A slice whose values are all
    equal is set to the top of ``guard_range``.
    """
    if zero_guard not in _GUARDS:
        raise SpecError(f"aggregate '{method}': zero_guard must be None or 'rescale'",
                        field="zero_guard", value=zero_guard)
    bad = valid & ((x <= 0) if strict else (x < 0))
    if not bad.any():
        return x
    if zero_guard is None:
        what = "zero or negative" if strict else "negative"
        raise SpecError(
            f"aggregate '{method}': {what} values found ({int(bad.sum())} of them); the {method} mean "
            "needs positive values",
            field="aggregate.method", value=method,
            fix="normalise onto a positive range (e.g. minmax range=(1, 100)), pass zero_guard='rescale', "
                "or use the arithmetic mean")
    lo, hi = (float(v) for v in guard_range)
    if not (0 < lo < hi):
        raise SpecError(f"aggregate '{method}': guard_range must satisfy 0 < lo < hi",
                        field="guard_range", value=guard_range)
    need = bad.any(axis=(-2, -1), keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gmin = np.nanmin(np.where(valid, x, np.nan), axis=(-2, -1), keepdims=True)
        gmax = np.nanmax(np.where(valid, x, np.nan), axis=(-2, -1), keepdims=True)
    span = gmax - gmin
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(span > 0, lo + (x - gmin) / np.where(span > 0, span, 1.0) * (hi - lo), hi)
    return np.where(need, scaled, x)


# --------------------------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------------------------

def arithmetic(x: Any, w: Any = None) -> np.ndarray:
    """Weighted arithmetic mean (COINr ``a_amean``).

    .. math:: y_i = \\sum_j w_j x_{ij} / \\sum_j w_j

    over the children unit *i* has data for. Fully compensatory.

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
    w : array_like, broadcastable to (..., n_children), optional (equal weights)

    Returns
    -------
    ndarray, shape (..., n_units)

    References
    ----------
    COINr ``a_amean``, https://bluefoxr.github.io/COINr/reference/a_amean.html ;
    OECD/JRC (2008), Handbook on Constructing Composite Indicators, section 6.1,
    https://doi.org/10.1787/9789264043466-en
    """
    xa, wv, valid = _prep(x, w, "arithmetic")
    wn, has = _wnorm(wv)
    y = np.sum(wn * _z(xa, valid), axis=-1)
    return np.where(has, y, np.nan)


def geometric(x: Any, w: Any = None, *, zero_guard: str | None = None,
              guard_range: tuple[float, float] = (1.0, 100.0)) -> np.ndarray:
    """Weighted geometric mean (COINr ``a_gmean``).

    .. math:: y_i = \\exp\\Big(\\sum_j w_j \\log x_{ij} / \\sum_j w_j\\Big)

    Partially compensatory: a low child costs more than in the arithmetic mean. Values must be
    positive: like COINr, a zero or negative value raises :class:`SpecError`, unless
    ``zero_guard="rescale"``, which maps each affected slice linearly onto ``guard_range``
    (default [1, 100]; min-max [0, 100] data become COINr's recommended min-max [1, 100]).

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
    w : array_like, broadcastable to (..., n_children), optional
    zero_guard : {None, "rescale"}
    guard_range : (lo, hi), default (1, 100)

    Returns
    -------
    ndarray, shape (..., n_units)

    References
    ----------
    COINr ``a_gmean``, https://bluefoxr.github.io/COINr/reference/a_gmean.html ;
    OECD/JRC (2008), Handbook on Constructing Composite Indicators, section 6.2,
    https://doi.org/10.1787/9789264043466-en
    """
    xa, wv, valid = _prep(x, w, "geometric")
    xa = _positive_guard(xa, valid, "geometric", zero_guard, guard_range)
    wn, has = _wnorm(wv)
    y = np.exp(np.sum(wn * np.log(_z(xa, valid, 1.0)), axis=-1))
    return np.where(has, y, np.nan)


def harmonic(x: Any, w: Any = None, *, zero_guard: str | None = None,
             guard_range: tuple[float, float] = (1.0, 100.0)) -> np.ndarray:
    """Weighted harmonic mean (COINr ``a_hmean``).

    .. math:: y_i = \\sum_j w_j \\Big/ \\sum_j (w_j / x_{ij})

    The least compensatory of the three Pythagorean means. Values must be positive; see
    :func:`geometric` for ``zero_guard``.

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
    w : array_like, broadcastable to (..., n_children), optional
    zero_guard : {None, "rescale"}
    guard_range : (lo, hi), default (1, 100)

    Returns
    -------
    ndarray, shape (..., n_units)

    References
    ----------
    COINr ``a_hmean``, https://bluefoxr.github.io/COINr/reference/a_hmean.html
    """
    xa, wv, valid = _prep(x, w, "harmonic")
    xa = _positive_guard(xa, valid, "harmonic", zero_guard, guard_range)
    wn, has = _wnorm(wv)
    with np.errstate(divide="ignore"):
        y = 1.0 / np.sum(wn / _z(xa, valid, 1.0), axis=-1)
    return np.where(has, y, np.nan)


def generalised(x: Any, w: Any = None, *, p: float = 1.0, zero_guard: str | None = None,
                guard_range: tuple[float, float] = (1.0, 100.0)) -> np.ndarray:
    """Weighted generalised (power) mean (COINr ``a_genmean``).

    .. math:: y_i = \\Big(\\sum_j w_j x_{ij}^p / \\sum_j w_j\\Big)^{1/p}

    ``p = 1`` is the arithmetic mean, ``p = 0`` the geometric mean (its limit; COINr errors
    there, digimeter returns the limit), ``p = -1`` the harmonic mean; larger ``p`` is more
    compensatory. For ``p < 0`` (and ``p = 0``) values must be positive, for other ``p != 1``
    non-negative; see :func:`geometric` for ``zero_guard``.

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
    w : array_like, broadcastable to (..., n_children), optional
    p : float, default 1
    zero_guard : {None, "rescale"}
    guard_range : (lo, hi), default (1, 100)

    Returns
    -------
    ndarray, shape (..., n_units)

    References
    ----------
    COINr ``a_genmean``, https://bluefoxr.github.io/COINr/reference/a_genmean.html ;
    Decancq, K. & Lugo, M. A. (2013), Weights in multidimensional indices of wellbeing,
    Econometric Reviews 32(1), https://doi.org/10.1080/07474938.2012.690641
    """
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise SpecError("aggregate 'generalised': p must be a number", field="p", value=p) from None
    if not np.isfinite(p):
        raise SpecError("aggregate 'generalised': p must be finite", field="p", value=p)
    if p == 1.0:
        return arithmetic(x, w)
    if p == 0.0:
        return geometric(x, w, zero_guard=zero_guard, guard_range=guard_range)
    xa, wv, valid = _prep(x, w, "generalised")
    xa = _positive_guard(xa, valid, "generalised", zero_guard, guard_range, strict=p < 0)
    wn, has = _wnorm(wv)
    with np.errstate(divide="ignore"):
        y = np.sum(wn * np.power(_z(xa, valid, 1.0), p), axis=-1) ** (1.0 / p)
    return np.where(has, y, np.nan)


def median(x: Any, w: Any = None, *, weighted: bool = False) -> np.ndarray:
    """Median of the children, optionally weighted.

    ``weighted=False`` (default): the plain median of the available children (weights only
    decide which children count: weight 0 = absent). ``weighted=True``: the weighted median,
    the value where the cumulative rescaled weight of the sorted children reaches 1/2; when it
    lands exactly on 1/2 the two neighbouring values are averaged, so equal weights give the
    ordinary median. Non-compensatory.

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
    w : array_like, broadcastable to (..., n_children), optional
    weighted : bool, default False

    Returns
    -------
    ndarray, shape (..., n_units)

    References
    ----------
    COINr aggregation vignette ("other methods", median via matrixStats::weightedMedian),
    https://bluefoxr.github.io/COINr/articles/aggregate.html
    """
    xa, wv, valid = _prep(x, w, "median")
    wn, has = _wnorm(wv if weighted else valid.astype(float))
    xs = np.where(valid, xa, np.inf)
    order = np.argsort(xs, axis=-1, kind="stable")
    xs = np.take_along_axis(xs, order, axis=-1)
    cw = np.cumsum(np.take_along_axis(wn, order, axis=-1), axis=-1)
    eps = 1e-12
    k = xa.shape[-1]
    lo_i = np.minimum(np.sum(cw < 0.5 - eps, axis=-1), k - 1)
    hi_i = np.minimum(np.sum(cw <= 0.5 + eps, axis=-1), k - 1)
    lo_v = np.take_along_axis(xs, lo_i[..., None], axis=-1)[..., 0]
    hi_v = np.take_along_axis(xs, hi_i[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore"):
        y = np.where(np.isinf(hi_v), lo_v, (lo_v + hi_v) / 2.0)
    return np.where(has, y, np.nan)


def minimum(x: Any, w: Any = None) -> np.ndarray:
    """Minimum of the available children (weight 0 = absent): the fully non-compensatory
    "weakest link" aggregate.

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
    w : array_like, broadcastable to (..., n_children), optional

    Returns
    -------
    ndarray, shape (..., n_units)

    References
    ----------
    OECD/JRC (2008), Handbook on Constructing Composite Indicators, section 6,
    https://doi.org/10.1787/9789264043466-en
    """
    xa, _, valid = _prep(x, w, "min")
    y = np.min(np.where(valid, xa, np.inf), axis=-1)
    return np.where(valid.any(axis=-1), y, np.nan)


def maximum(x: Any, w: Any = None) -> np.ndarray:
    """Maximum of the available children (weight 0 = absent).

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
    w : array_like, broadcastable to (..., n_children), optional

    Returns
    -------
    ndarray, shape (..., n_units)

    References
    ----------
    OECD/JRC (2008), Handbook on Constructing Composite Indicators, section 6,
    https://doi.org/10.1787/9789264043466-en
    """
    xa, _, valid = _prep(x, w, "max")
    y = np.max(np.where(valid, xa, -np.inf), axis=-1)
    return np.where(valid.any(axis=-1), y, np.nan)


def copeland(x: Any, w: Any = None, *, variant: str = "majority", block: int | None = None) -> np.ndarray:
    """Copeland outranking score (COINr ``a_copeland``); the result depends on all units.

    For every pair of units (i, j) the outranking value is

    .. math:: e_{ij} = \\sum_k w_k [x_{ik} > x_{jk}] + \\tfrac12 \\sum_k w_k [x_{ik} = x_{jk}]

    with the weights rescaled to sum to 1 over the children both units have data for (so
    :math:`e_{ij} + e_{ji} = 1`); :math:`e_{ii} = 0`. A pair with no child in common counts as a
    tie (1/2 each).

    ``variant="majority"`` (default; alias ``"coinr"``): the classic Copeland rule of Munda & Nardo,
    :math:`\\sum_{j \\ne i} \\operatorname{sign}(e_{ij} - e_{ji})` (+1 per pairwise win, -1 per loss,
    0 per tie), as COINr 1.1.14's ``a_copeland`` scores it (equal to COINr whenever there is no
    missing data; COINr does not re-weight over shared children when data are missing).
    ``variant="rowsum"``: the row sum of the outranking matrix :math:`\\sum_{j \\ne i} e_{ij}`, as
    COINr before version 1.0 (COINr6) computed it.

    A unit with no data gets NaN (and is left out of everyone else's comparisons). Memory is
    bounded by processing ``block`` units at a time (chosen automatically).

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
    w : array_like, broadcastable to (..., n_children), optional
    variant : {"majority", "coinr", "rowsum"}, default "majority"
    block : int, optional

    Returns
    -------
    ndarray, shape (..., n_units)

    References
    ----------
    COINr ``a_copeland`` / ``outrankMatrix``, https://bluefoxr.github.io/COINr/reference/a_copeland.html ;
    Munda, G. & Nardo, M. (2009), Noncompensatory/nonlinear composite indicators for ranking
    countries: a defensible setting, Applied Economics 41(12), 1513-1523,
    https://doi.org/10.1080/00036840601019364
    """
    if variant not in ("coinr", "majority", "rowsum"):
        raise SpecError("aggregate 'copeland': variant must be 'majority' (alias 'coinr') or 'rowsum'",
                        field="variant", value=variant)
    if variant == "coinr":
        variant = "majority"
    xa, wv, valid = _prep(x, w, "copeland")
    n, k = xa.shape[-2], xa.shape[-1]
    lead = xa.shape[:-2]
    has = valid.any(axis=-1)
    if block is None:
        per_row = max(1, n * k * max(1, int(np.prod(lead, dtype=np.int64))))
        block = max(1, int(4_000_000 // per_row))
    xj = xa[..., None, :, :]            # (..., 1, n, k)
    wj = wv[..., None, :, :]
    vj = valid[..., None, :, :]
    scores = np.zeros(lead + (n,))
    for start in range(0, n, block):
        stop = min(n, start + block)
        xi = xa[..., start:stop, None, :]  # (..., b, 1, k)
        wi = wv[..., start:stop, None, :]
        vi = valid[..., start:stop, None, :]
        both = vi & vj
        # weight of a child for the pair: the child's weight (same for both units of a slice)
        wp = np.where(both, np.maximum(wi, wj), 0.0)
        tot = wp.sum(axis=-1)
        gt = np.sum(np.where(both & (xi > xj), wp, 0.0), axis=-1)
        eq = np.sum(np.where(both & (xi == xj), wp, 0.0), axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            e = np.where(tot > 0, (gt + 0.5 * eq) / np.where(tot > 0, tot, 1.0), 0.5)
        if variant == "majority":
            e = np.sign(2.0 * e - 1.0)
        # drop self-comparisons and comparisons with units that have no data
        idx = np.arange(start, stop)
        e = np.where(has[..., None, :], e, 0.0)
        e[..., np.arange(stop - start), idx] = 0.0
        scores[..., start:stop] = e.sum(axis=-1)
    return np.where(has, scores, np.nan)


def mazziotta_pareto(x: Any, w: Any = None, *, penalty: str = "negative", ddof: int = 0) -> np.ndarray:
    """Mazziotta-Pareto Index (MPI): a mean penalised by the unit's imbalance.

    For each unit, with weights rescaled over its available children:
    :math:`M_i` = weighted mean of its children, :math:`S_i` = their weighted standard
    deviation, :math:`cv_i = S_i / M_i`, and

    .. math:: MPI^{\\mp}_i = M_i \\mp S_i \\, cv_i = M_i (1 \\mp cv_i^2).

    ``penalty="negative"`` (default, :math:`MPI^-`) subtracts the penalty: use it when higher
    scores are better (Compind's ``penalty="POS"``, for positive-polarity indices);
    ``penalty="positive"`` adds it (:math:`MPI^+`, for indices where higher is worse; Compind's
    ``"NEG"``).

    The input is normally standardised children, :math:`z = 100 + 10 \\cdot` z-score (normalise
    with ``zscore`` and ``mean=100, sd=10``), which keeps :math:`M_i` well away from zero. The
    method does not standardise by itself, so that fitted normalisation parameters stay in the
    normalise stage. ``ddof=0`` uses the population standard deviation across children, as in
    Mazziotta & Pareto (2016); ``ddof=1`` the sample one (times ``k/(k-1)`` for ``k`` available
    children), which together with ``zscore(mean=100, sd=10)`` reproduces Compind's ``ci_mpi``.

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
    w : array_like, broadcastable to (..., n_children), optional
    penalty : {"negative", "positive"}, default "negative"
    ddof : {0, 1}, default 0

    Returns
    -------
    ndarray, shape (..., n_units)

    References
    ----------
    Mazziotta, M. & Pareto, A. (2016), On a generalized non-compensatory composite index for
    measuring socio-economic phenomena, Social Indicators Research 127, 983-1003,
    https://doi.org/10.1007/s11205-015-1025-6 ;
    De Muro, P., Mazziotta, M. & Pareto, A. (2011), Composite indices of development and
    poverty: an application to MDGs, Social Indicators Research 104, 1-18,
    https://doi.org/10.1007/s11205-010-9727-z ;
    Compind ``ci_mpi``, https://CRAN.R-project.org/package=Compind
    """
    if penalty not in ("negative", "positive"):
        raise SpecError("aggregate 'mazziotta_pareto': penalty must be 'negative' or 'positive'",
                        field="penalty", value=penalty)
    if ddof not in (0, 1):
        raise SpecError("aggregate 'mazziotta_pareto': ddof must be 0 or 1", field="ddof", value=ddof)
    xa, wv, valid = _prep(x, w, "mazziotta_pareto")
    wn, has = _wnorm(wv)
    xz = _z(xa, valid)
    m = np.sum(wn * xz, axis=-1)
    var = np.sum(wn * (xz - m[..., None]) ** 2 * valid, axis=-1)
    if ddof:
        kk = valid.sum(axis=-1).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(kk > 1, var * kk / np.where(kk > 1, kk - 1, 1.0), np.nan)
    s = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = s / m
    y = m - s * cv if penalty == "negative" else m + s * cv
    return np.where(has, y, np.nan)


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "arithmetic": arithmetic,
    "geometric": geometric,
    "harmonic": harmonic,
    "generalised": generalised,
    "median": median,
    "copeland": copeland,
    "mazziotta_pareto": mazziotta_pareto,
    "min": minimum,
    "max": maximum,
}
"""Every aggregation method by name: ``METHODS[name](x, w, **opts) -> (..., n_units)``."""

ALIASES: dict[str, str] = {"mazziotta-pareto": "mazziotta_pareto", "mpi": "mazziotta_pareto", "mean": "arithmetic",
                           "amean": "arithmetic", "gmean": "geometric", "hmean": "harmonic",
                           "genmean": "generalised", "generalized": "generalised", "minimum": "min",
                           "maximum": "max"}
"""Other names accepted for a method (COINr's and common spellings) -> the name in :data:`METHODS`."""


def resolve(method: Any, where: str = "aggregate.method") -> str:
    """The name in :data:`METHODS` of ``method`` or of its alias; :class:`SpecError` naming ``where``."""
    name = ALIASES.get(method, method) if isinstance(method, str) else method
    if not isinstance(name, str) or name not in METHODS:
        valid = ", ".join(METHODS)
        raise SpecError(f"{where}: unknown aggregation method {method!r}", field=where, value=method,
                        fix=f"use one of: {valid} (or an alias: {', '.join(ALIASES)})")
    return name


def options_of(method: str) -> frozenset[str]:
    """The options a method takes (its keyword parameters besides ``x`` and ``w``)."""
    return _OPTIONS_OF[resolve(method)]


_OPTIONS_OF = {m: frozenset(inspect.signature(f).parameters) - {"x", "w"} for m, f in METHODS.items()}
OPTIONS: frozenset[str] = frozenset().union(*_OPTIONS_OF.values())
"""Every option of any method (a stage's options serve every level, each method takes its own)."""


def available_share(x: Any, w: Any = None) -> np.ndarray:
    """Share of a unit's total weight carried by children it has data for.

    .. math:: a_i = \\sum_{j:\\, x_{ij} \\ne NaN} w_j \\Big/ \\sum_j w_j

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
    w : array_like, broadcastable to (..., n_children), optional (equal weights: the share of
        children with data, COINr's data availability)

    Returns
    -------
    ndarray, shape (..., n_units), values in [0, 1] (NaN if all weights are 0)
    """
    _, wb, valid = _prep_full(x, w, "available_share")
    tot = wb.sum(axis=-1)
    got = np.where(valid, wb, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, got / np.where(tot > 0, tot, 1.0), np.nan)


def aggregate(x: Any, w: Any = None, method: str = "arithmetic", min_share: float = 0.0,
              **opts: Any) -> np.ndarray:
    """Aggregate children into one score per unit with a named method.

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_children)
        Child scores, NaN for missing. Not modified.
    w : array_like, broadcastable to (..., n_children), optional
        Relative weights (rescaled over each unit's available children).
    method : str, default "arithmetic"
        One of :data:`METHODS`: ``arithmetic``, ``geometric``, ``harmonic``, ``generalised``,
        ``median``, ``copeland``, ``mazziotta_pareto``, ``min``, ``max``.
    min_share : float in [0, 1], default 0
        A unit whose available weight share (:func:`available_share`) is below ``min_share``
        gets NaN (COINr's ``dat_thresh``, but by weight rather than by count).
    **opts
        Options of the method (e.g. ``p`` for ``generalised``).

    Returns
    -------
    ndarray, shape (..., n_units)

    Raises
    ------
    SpecError
        Unknown method or option, or a bad value; the message names the method and the choices.

    References
    ----------
    COINr ``Aggregate``, https://bluefoxr.github.io/COINr/reference/Aggregate.coin.html
    """
    try:
        f = METHODS[method]
    except (KeyError, TypeError):
        valid = ", ".join(METHODS)
        raise SpecError(f"unknown aggregation method {method!r}; valid methods: {valid}",
                        field="aggregate.method", value=method, fix=f"use one of: {valid}") from None
    allowed = [p for p in inspect.signature(f).parameters if p not in ("x", "w")]
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        choices = ", ".join(allowed) or "(none)"
        raise SpecError(f"aggregate '{method}': unknown option(s) {', '.join(map(repr, unknown))}; "
                        f"valid options for '{method}': {choices}", field=unknown[0],
                        value=opts[unknown[0]], fix=f"use one of: {choices}")
    try:
        ms = float(min_share)
    except (TypeError, ValueError):
        raise SpecError("aggregate: min_share must be a number in [0, 1]", field="min_share",
                        value=min_share) from None
    if not 0.0 <= ms <= 1.0:
        raise SpecError("aggregate: min_share must be a number in [0, 1]", field="min_share", value=min_share)
    y = f(x, w, **opts)
    if ms > 0:
        share = available_share(x, w)
        y = np.where(share >= ms - 1e-12, y, np.nan)
    return y
