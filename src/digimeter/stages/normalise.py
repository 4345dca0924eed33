"""Normalisation kernels: bring indicators onto a common scale.

Every method is a :class:`Normaliser` with two halves, kept apart so that a build can record
its fitted parameters and re-apply them exactly:

``fit(x, **opts) -> dict[str, np.ndarray]``
    learns the parameters (min, max, mean, ...) from ``x``; every array has shape
    ``(..., 1, n_indicators)`` so that it broadcasts back over the units;
``apply(x, params, **opts) -> np.ndarray``
    applies them; the result has the shape of ``x``.

``x`` has shape ``(..., n_units, n_indicators)`` (units on axis -2), NaN marks a missing value
and stays NaN, any number of leading axes (Monte Carlo samples, years) is allowed and handled
in one vectorised pass, and the input is never modified. Kernels assume "higher is better": the
build multiplies indicators with direction -1 by -1 before normalising (as COINr does), except
for ``goalposts`` which takes ``direction`` itself.

The definitions follow COINr (Becker et al., 2022, https://bluefoxr.github.io/COINr/articles/normalise.html)
wherever COINr defines the method, and the JRC/OECD *Handbook on Constructing Composite Indicators*
(2008, https://doi.org/10.1787/9789264043466-en) otherwise.

Example
-------
>>> import numpy as np
>>> from digimeter.stages.normalise import normalise
>>> y, params = normalise(np.array([[1.0, 10.0], [2.0, 30.0], [3.0, np.nan]]), "minmax")
>>> y
array([[  0.,   0.],
       [ 50., 100.],
       [100.,  nan]])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from digimeter.errors import DataError, SpecError

__all__ = ["METHODS", "ALIASES", "OPTIONS", "Group", "Normaliser", "apply_groups", "normalise", "resolve"]

Params = dict[str, np.ndarray]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def _as_data(x: Any, method: str) -> np.ndarray:
    """``x`` as a float array of at least 2 dimensions (never the caller's object mutated)."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim < 2:
        raise DataError(
            f"normalise '{method}': x must have shape (..., n_units, n_indicators); got shape {arr.shape}",
            field="x", value=arr.shape, fix="pass a 2-D units x indicators matrix (or add leading axes)")
    return arr


def _nanmin(x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmin(x, axis=-2, keepdims=True)


def _nanmax(x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmax(x, axis=-2, keepdims=True)


def _count(x: np.ndarray) -> np.ndarray:
    return np.sum(~np.isnan(x), axis=-2, keepdims=True).astype(float)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den with NaN wherever den is 0 (or NaN)."""
    den = np.asarray(den, dtype=float)
    bad = (den == 0) | np.isnan(den)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / np.where(bad, 1.0, den)
    return np.where(bad, np.nan, out)


def _pair(method: str, name: str, value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise SpecError(f"normalise '{method}': option '{name}' must be a pair (lo, hi)",
                        field=name, value=value, fix=f"e.g. {name}=(0, 100)") from None
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise SpecError(f"normalise '{method}': option '{name}' must be finite", field=name, value=value)
    return lo, hi


def _positive(method: str, name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"normalise '{method}': option '{name}' must be a number", field=name,
                        value=value) from None
    if not np.isfinite(v) or v <= 0:
        raise SpecError(f"normalise '{method}': option '{name}' must be a positive number",
                        field=name, value=value)
    return v


def _per_indicator(method: str, name: str, value: Any, x: np.ndarray) -> np.ndarray:
    """A per-indicator option (scalar or array) broadcast to ``(..., 1, n_indicators)``."""
    if value is None:
        raise SpecError(f"normalise '{method}': option '{name}' is required", field=name,
                        fix=f"pass {name}= one value per indicator")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise SpecError(f"normalise '{method}': option '{name}' must be numeric", field=name,
                        value=value) from None
    if arr.ndim >= 2 and arr.shape[-2] != 1:
        # allow (..., n_indicators) with leading axes: insert the unit axis
        arr = arr[..., None, :]
    shape = x.shape[:-2] + (1, x.shape[-1])
    try:
        return np.broadcast_to(arr, np.broadcast_shapes(arr.shape, shape)).copy()
    except ValueError:
        raise SpecError(f"normalise '{method}': option '{name}' has shape {arr.shape}, which does not "
                        f"match {x.shape[-1]} indicators", field=name, value=arr.shape,
                        fix="give one value per indicator (last axis)") from None


def _bad_indicators(mask: np.ndarray) -> list[int]:
    """Indicator positions (last axis) where mask is true anywhere."""
    return [int(i) for i in np.flatnonzero(np.any(mask.reshape(-1, mask.shape[-1]), axis=0))]


# --------------------------------------------------------------------------------------------
# the Normaliser base class
# --------------------------------------------------------------------------------------------

class Normaliser:
    """A normalisation method: a ``fit`` / ``apply`` pair with named options.

    Subclasses set ``name``, ``options`` (option name -> default) and implement ``_fit`` and
    ``_apply``; the public ``fit`` and ``apply`` check the options, fill in defaults and convert
    ``x`` to a float array. Both accept every option of the method, so that the same ``**opts``
    can be passed to each (options irrelevant to one half are ignored by it).
    """

    name: ClassVar[str] = ""
    options: ClassVar[dict[str, Any]] = {}

    def _opts(self, opts: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(opts) - set(self.options))
        if unknown:
            valid = ", ".join(self.options) or "(none)"
            raise SpecError(
                f"normalise '{self.name}': unknown option(s) {', '.join(map(repr, unknown))}; "
                f"valid options for '{self.name}': {valid}",
                field=unknown[0], value=opts[unknown[0]], fix=f"use one of: {valid}")
        return {**self.options, **opts}

    def fit(self, x: Any, **opts: Any) -> Params:
        """Learn the parameters from ``x`` (shape ``(..., n_units, n_indicators)``)."""
        arr = _as_data(x, self.name)
        return self._fit(arr, **self._opts(opts))

    def apply(self, x: Any, params: Params, **opts: Any) -> np.ndarray:
        """Apply fitted ``params`` to ``x``; returns a new array shaped like ``x``."""
        arr = _as_data(x, self.name)
        return self._apply(arr, params, **self._opts(opts))

    def __call__(self, x: Any, **opts: Any) -> tuple[np.ndarray, Params]:
        params = self.fit(x, **opts)
        return self.apply(x, params, **opts), params

    def _fit(self, x: np.ndarray, **opts: Any) -> Params:  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply(self, x: np.ndarray, params: Params, **opts: Any) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Normaliser {self.name!r}>"


# --------------------------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------------------------

class NoNormalisation(Normaliser):
    """Identity: leave the values as they are (COINr ``f_n = "none"``).

    Useful when indicators are already on a common scale. ``fit`` returns no parameters and
    ``apply`` returns a copy of ``x``.

    References
    ----------
    COINr, ``Normalise.numeric`` (``f_n = "none"``), https://bluefoxr.github.io/COINr/articles/normalise.html
    """

    name = "none"
    options: ClassVar[dict[str, Any]] = {}

    def _fit(self, x, **opts):
        return {}

    def _apply(self, x, params, **opts):
        return x.copy()


class MinMax(Normaliser):
    """Min-max scaling onto ``range`` (COINr ``n_minmax``).

    .. math:: y = \\frac{x - \\min x}{\\max x - \\min x} (hi - lo) + lo

    with the minimum and maximum taken over the units (NaN skipped).

    Parameters (options)
    --------------------
    range : (lo, hi), default (0, 100)
        Target interval; ``lo`` maps the worst unit, ``hi`` the best.

    Fitted parameters: ``min``, ``max``. An indicator with zero range (all units equal, or a
    single value) gives NaN for every unit, as COINr does (it warns "The range of x is 0:
    returning vector of NaNs"); an indicator with no data stays all-NaN.

    References
    ----------
    COINr ``n_minmax``, https://bluefoxr.github.io/COINr/reference/n_minmax.html ;
    OECD/JRC (2008), Handbook on Constructing Composite Indicators, section 5,
    https://doi.org/10.1787/9789264043466-en
    """

    name = "minmax"
    options: ClassVar[dict[str, Any]] = {"range": (0.0, 100.0)}

    def _fit(self, x, range):
        _pair(self.name, "range", range)
        return {"min": _nanmin(x), "max": _nanmax(x)}

    def _apply(self, x, params, range):
        lo, hi = _pair(self.name, "range", range)
        mn, mx = params["min"], params["max"]
        return _safe_div(x - mn, mx - mn) * (hi - lo) + lo


class ZScore(Normaliser):
    """Standardisation to mean ``mean`` and standard deviation ``sd`` (COINr ``n_zscore``).

    .. math:: y = \\frac{x - \\bar x}{s_x} \\, sd + mean

    where :math:`s_x` is the sample standard deviation (``ddof=1``, as R's ``sd``), NaN skipped.

    Parameters (options)
    --------------------
    mean : float, default 0
    sd : float > 0, default 1
    ddof : int, default 1
        Delta degrees of freedom of the standard deviation (0 = population sd, as used by
        some MPI implementations).

    Fitted parameters: ``mean``, ``sd``. An indicator with zero spread (or fewer than
    ``ddof + 1`` values) gives NaN.

    References
    ----------
    COINr ``n_zscore``, https://bluefoxr.github.io/COINr/reference/n_zscore.html ;
    OECD/JRC (2008), Handbook on Constructing Composite Indicators, section 5,
    https://doi.org/10.1787/9789264043466-en
    """

    name = "zscore"
    options: ClassVar[dict[str, Any]] = {"mean": 0.0, "sd": 1.0, "ddof": 1}

    def _fit(self, x, mean, sd, ddof):
        ddof = int(ddof)
        if ddof < 0:
            raise SpecError("normalise 'zscore': option 'ddof' must be >= 0", field="ddof", value=ddof)
        _positive(self.name, "sd", sd)
        n = _count(x)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            m = np.nanmean(x, axis=-2, keepdims=True)
        ss = np.nansum((x - m) ** 2, axis=-2, keepdims=True)
        s = np.sqrt(_safe_div(ss, n - ddof))
        s = np.where(n - ddof > 0, s, np.nan)
        return {"mean": m, "sd": s}

    def _apply(self, x, params, mean, sd, ddof):
        target_sd = _positive(self.name, "sd", sd)
        return _safe_div(x - params["mean"], params["sd"]) * target_sd + float(mean)


class Goalposts(Normaliser):
    """Goalpost scaling: distance from a lower to an upper goalpost, truncated (COINr ``n_goalposts``).

    With ``direction = +1`` the score is :math:`(x - lo)/(hi - lo)`; with ``direction = -1``
    it is :math:`(hi - x)/(hi - lo)` (the goalposts are given on the indicator's own scale; do
    **not** flip the data first). Scores are truncated to [0, 1] (``truncate=True``) and mapped
    onto ``range``.

    Parameters (options)
    --------------------
    lo, hi : float or array (one per indicator)
        The goalposts (``lo < hi``), on the raw scale of the indicator.
    direction : +1/-1 or array (one per indicator), default +1
    range : (lo, hi), default (0, 100)
    truncate : bool, default True
        Clamp values beyond the goalposts to the goalposts (COINr ``trunc2posts``).

    Fitted parameters: ``lo``, ``hi``, ``direction`` (the options broadcast to
    ``(..., 1, n_indicators)``); the data do not change them.

    References
    ----------
    COINr ``n_goalposts``, https://bluefoxr.github.io/COINr/reference/n_goalposts.html ;
    UNDP Human Development Report technical notes (goalposts),
    https://hdr.undp.org/sites/default/files/2023-24_HDR/hdr2023-24_technical_notes.pdf
    """

    name = "goalposts"
    options: ClassVar[dict[str, Any]] = {"lo": None, "hi": None, "direction": 1,
                                         "range": (0.0, 100.0), "truncate": True}

    def _fit(self, x, lo, hi, direction, range, truncate):
        _pair(self.name, "range", range)
        lo_a = _per_indicator(self.name, "lo", lo, x)
        hi_a = _per_indicator(self.name, "hi", hi, x)
        d = _per_indicator(self.name, "direction", direction, x)
        bad = ~np.isin(d, (-1.0, 1.0))
        if bad.any():
            raise SpecError("normalise 'goalposts': direction must be +1 or -1",
                            field="direction", value=_bad_indicators(bad),
                            fix="indicator positions listed in value")
        bad = ~np.isfinite(lo_a) | ~np.isfinite(hi_a) | (hi_a <= lo_a)
        if bad.any():
            raise SpecError("normalise 'goalposts': every indicator needs finite goalposts with lo < hi",
                            field="lo/hi", value=_bad_indicators(bad),
                            fix="set goalpost_lo < goalpost_hi for the indicator positions listed in value")
        return {"lo": lo_a, "hi": hi_a, "direction": d}

    def _apply(self, x, params, lo, hi, direction, range, truncate):
        rlo, rhi = _pair(self.name, "range", range)
        glo, ghi, d = params["lo"], params["hi"], params["direction"]
        y = np.where(d < 0, (ghi - x) / (ghi - glo), (x - glo) / (ghi - glo))
        if truncate:
            y = np.clip(y, 0.0, 1.0)  # NaN stays NaN
        return y * (rhi - rlo) + rlo


_TIES = ("average", "min", "max", "dense", "ordinal")


def _ranks(x: np.ndarray, ties: str, method: str) -> np.ndarray:
    if ties not in _TIES:
        raise SpecError(f"normalise '{method}': option 'ties' must be one of {', '.join(_TIES)}",
                        field="ties", value=ties)
    if x.shape[-2] == 0:
        return x.copy()
    from scipy.stats import rankdata  # imported on use: scipy.stats costs ~1 s at start-up

    return rankdata(x, method=ties, axis=-2, nan_policy="omit").astype(float)


class Rank(Normaliser):
    """Ranks over the units, 1 = lowest value, n = highest (COINr ``n_rank``, R's ``rank``).

    NaN stays NaN (``na.last = "keep"``). Ties get the *minimum* rank by default, as COINr's
    ``n_rank`` does (``ties.method = "min"``); ``ties="average"`` gives R's default (mid-ranks).

    Parameters (options)
    --------------------
    ties : {"min", "average", "max", "dense", "ordinal"}, default "min"

    Ranking is relative to the units in ``x`` itself: ``apply`` ranks the ``x`` it is given;
    the fitted parameter ``n`` (number of ranked units per indicator) is kept for the record.

    References
    ----------
    COINr ``n_rank``, https://bluefoxr.github.io/COINr/reference/n_rank.html ;
    OECD/JRC (2008), Handbook on Constructing Composite Indicators, section 5 (ranking),
    https://doi.org/10.1787/9789264043466-en
    """

    name = "rank"
    options: ClassVar[dict[str, Any]] = {"ties": "min"}

    def _fit(self, x, ties):
        if ties not in _TIES:
            raise SpecError(f"normalise 'rank': option 'ties' must be one of {', '.join(_TIES)}",
                            field="ties", value=ties)
        return {"n": _count(x)}

    def _apply(self, x, params, ties):
        return _ranks(x, ties, self.name)


class Percentile(Normaliser):
    """Percentile ranks: ``(rank - 1) / (n - 1) * scale`` (COINr ``n_prank``).

    ``rank`` uses the minimum rank for ties (COINr's "sport" ranking); ``n`` counts the units
    with data. The lowest unit scores 0 and the highest ``scale``. With ``scale=1`` this is
    exactly COINr's ``n_prank``; the default ``scale=100`` gives percentiles. A single unit
    with data gives NaN (0/0), as in COINr.

    Parameters (options)
    --------------------
    scale : float, default 100
    ties : {"min", "average", "max", "dense", "ordinal"}, default "min"

    References
    ----------
    COINr ``n_prank``, https://bluefoxr.github.io/COINr/reference/n_prank.html
    """

    name = "percentile"
    options: ClassVar[dict[str, Any]] = {"scale": 100.0, "ties": "min"}

    def _fit(self, x, scale, ties):
        _positive(self.name, "scale", scale)
        return {"n": _count(x)}

    def _apply(self, x, params, scale, ties):
        s = _positive(self.name, "scale", scale)
        r = _ranks(x, ties, self.name)
        return _safe_div(r - 1.0, params["n"] - 1.0) * s


class Dist2Max(Normaliser):
    """Distance to the maximum (frontier): ``1 - (max - x) / (max - min)`` (COINr ``n_dist2max``).

    The best unit scores 1 and the worst 0; scores are then mapped onto ``range`` (default
    (0, 1), COINr's scale). Zero range gives NaN, as in COINr. Also registered as
    ``dist2frontier``.

    Parameters (options)
    --------------------
    range : (lo, hi), default (0, 1)

    Fitted parameters: ``min``, ``max``.

    References
    ----------
    COINr ``n_dist2max``, https://bluefoxr.github.io/COINr/reference/n_dist2max.html ;
    OECD/JRC (2008), Handbook on Constructing Composite Indicators, table 3 (distance to a
    reference), https://doi.org/10.1787/9789264043466-en
    """

    name = "dist2max"
    options: ClassVar[dict[str, Any]] = {"range": (0.0, 1.0)}

    _fit = MinMax._fit  # the same fitted parameters: each indicator's min and max

    def _apply(self, x, params, range):
        lo, hi = _pair(self.name, "range", range)
        mn, mx = params["min"], params["max"]
        y = 1.0 - _safe_div(mx - x, mx - mn)
        return y * (hi - lo) + lo


class Dist2Frontier(Dist2Max):
    __doc__ = Dist2Max.__doc__
    name = "dist2frontier"


class FracMax(Normaliser):
    """Fraction of the maximum: ``x / max(x) * scale`` (COINr ``n_fracmax``).

    Meaningful for ratio-scale indicators with non-negative values. A zero maximum gives NaN.

    Parameters (options)
    --------------------
    scale : float, default 1 (COINr's scale; 100 gives percentages of the leader)

    Fitted parameter: ``max``.

    References
    ----------
    COINr ``n_fracmax``, https://bluefoxr.github.io/COINr/reference/n_fracmax.html
    """

    name = "fracmax"
    options: ClassVar[dict[str, Any]] = {"scale": 1.0}

    def _fit(self, x, scale):
        _positive(self.name, "scale", scale)
        return {"max": _nanmax(x)}

    def _apply(self, x, params, scale):
        return _safe_div(x, params["max"]) * _positive(self.name, "scale", scale)


class Dist2Target(Normaliser):
    """Distance to a target: ``1 - (target - x) / (target - min) = (x - min) / (target - min)``
    (COINr ``n_dist2targ``).

    The worst unit scores 0 and a unit at the target 1; values beyond the target score above 1
    unless ``cap_max=True`` caps them at 1. The result is multiplied by ``scale``. The target must
    be on the same scale as ``x`` (for an indicator flipped by direction -1, pass ``-target``).
    A target equal to the minimum gives NaN.

    Parameters (options)
    --------------------
    target : float or array (one per indicator), required
    cap_max : bool, default False
    scale : float, default 1

    Fitted parameters: ``min``, ``target``.

    References
    ----------
    COINr ``n_dist2targ``, https://bluefoxr.github.io/COINr/reference/n_dist2targ.html
    """

    name = "dist2target"
    options: ClassVar[dict[str, Any]] = {"target": None, "cap_max": False, "scale": 1.0}

    def _fit(self, x, target, cap_max, scale):
        _positive(self.name, "scale", scale)
        t = _per_indicator(self.name, "target", target, x)
        if np.isnan(t).any():
            raise SpecError("normalise 'dist2target': target is NaN", field="target",
                            value=_bad_indicators(np.isnan(t)), fix="give a target for every indicator")
        return {"min": _nanmin(x), "target": t}

    def _apply(self, x, params, target, cap_max, scale):
        mn, t = params["min"], params["target"]
        y = _safe_div(x - mn, t - mn)
        if cap_max:
            y = np.minimum(y, 1.0)  # NaN stays NaN
        return y * _positive(self.name, "scale", scale)


class Dist2Ref(Normaliser):
    """Distance to a reference unit (COINr ``n_dist2ref``).

    ``mode="coinr"`` (default): ``1 - (x_ref - x) / (x_ref - min) = (x - min) / (x_ref - min)``,
    COINr's definition: the worst unit scores 0, the reference unit 1.
    ``mode="ratio"``: ``x / x_ref`` (the reference unit scores 1).
    ``mode="difference"``: ``x - x_ref`` (the reference unit scores 0).

    ``cap_max=True`` caps scores above the reference's (1, or 0 for ``difference``). The result
    is multiplied by ``scale``. A NaN reference value gives NaN for the whole indicator (COINr
    warns and does the same); a zero denominator gives NaN.

    Parameters (options)
    --------------------
    ref_index : int, required
        Position of the reference unit on the unit axis (-2), 0-based (COINr's ``iref`` is 1-based).
    mode : {"coinr", "ratio", "difference"}, default "coinr"
    cap_max : bool, default False
    scale : float, default 1

    Fitted parameters: ``ref`` (the reference unit's values) and ``min``.

    References
    ----------
    COINr ``n_dist2ref``, https://bluefoxr.github.io/COINr/reference/n_dist2ref.html ;
    OECD/JRC (2008), Handbook on Constructing Composite Indicators, table 3 (distance to a
    reference country), https://doi.org/10.1787/9789264043466-en
    """

    name = "dist2ref"
    options: ClassVar[dict[str, Any]] = {"ref_index": None, "mode": "coinr", "cap_max": False,
                                         "scale": 1.0}
    _modes = ("coinr", "ratio", "difference")

    def _check(self, x, ref_index, mode, scale):
        _positive(self.name, "scale", scale)
        if mode not in self._modes:
            raise SpecError(f"normalise 'dist2ref': option 'mode' must be one of {', '.join(self._modes)}",
                            field="mode", value=mode)
        if ref_index is None or isinstance(ref_index, bool) or not isinstance(ref_index, (int, np.integer)):
            raise SpecError("normalise 'dist2ref': option 'ref_index' must be an integer unit position",
                            field="ref_index", value=ref_index, fix="0-based position on the unit axis")
        n = x.shape[-2]
        if not -n <= int(ref_index) < n:
            raise SpecError(f"normalise 'dist2ref': ref_index {ref_index} is out of range for {n} units",
                            field="ref_index", value=ref_index)

    def _fit(self, x, ref_index, mode, cap_max, scale):
        self._check(x, ref_index, mode, scale)
        ref = np.take(x, [int(ref_index)], axis=-2)
        return {"ref": ref, "min": _nanmin(x)}

    def _apply(self, x, params, ref_index, mode, cap_max, scale):
        if mode not in self._modes:
            raise SpecError(f"normalise 'dist2ref': option 'mode' must be one of {', '.join(self._modes)}",
                            field="mode", value=mode)
        ref, mn = params["ref"], params["min"]
        if mode == "coinr":
            y = _safe_div(x - mn, ref - mn)
            top = 1.0
        elif mode == "ratio":
            y = _safe_div(x, ref)
            top = 1.0
        else:
            y = x - ref
            top = 0.0
        if cap_max:
            y = np.minimum(y, top)
        return y * _positive(self.name, "scale", scale)


METHODS: dict[str, Normaliser] = {
    m.name: m
    for m in (NoNormalisation(), MinMax(), ZScore(), Goalposts(), Rank(), Percentile(),
              Dist2Max(), Dist2Frontier(), FracMax(), Dist2Target(), Dist2Ref())
}
"""Every normalisation method by name: ``METHODS[name].fit(x, **opts)`` / ``.apply(x, params, **opts)``."""

ALIASES: dict[str, str] = {"min-max": "minmax", "z-score": "zscore", "dist2targ": "dist2target",
                           "prank": "percentile", "goalpost": "goalposts"}
"""Other names accepted for a method (COINr's and common spellings) -> the name in :data:`METHODS`."""


def resolve(method: Any, where: str = "normalise.method") -> str:
    """The name in :data:`METHODS` of ``method`` or of its alias; :class:`SpecError` naming ``where``."""
    name = ALIASES.get(method, method) if isinstance(method, str) else method
    if not isinstance(name, str) or name not in METHODS:
        valid = ", ".join(METHODS)
        raise SpecError(f"{where}: unknown normalisation method {method!r}", field=where, value=method,
                        fix=f"use one of: {valid} (or an alias: {', '.join(ALIASES)})")
    return name


OPTIONS: frozenset[str] = frozenset(k for m in METHODS.values() for k in m.options)
"""Every option of any method."""


def normalise(x: Any, method: str = "minmax", **opts: Any) -> tuple[np.ndarray, Params]:
    """Fit and apply a normalisation method in one call.

    Parameters
    ----------
    x : array_like, shape (..., n_units, n_indicators)
        Indicator values, higher is better (except for ``goalposts``, which takes ``direction``),
        NaN for missing. Not modified.
    method : str, default "minmax"
        One of :data:`METHODS` (``none``, ``minmax``, ``zscore``, ``goalposts``, ``rank``,
        ``percentile``, ``dist2max``, ``dist2frontier``, ``fracmax``, ``dist2target``, ``dist2ref``).
    **opts
        Options of the method (see its class docstring).

    Returns
    -------
    y : ndarray, shape of ``x``
    params : dict of str to ndarray, each shaped ``(..., 1, n_indicators)``

    Raises
    ------
    SpecError
        Unknown method or option, or a bad option value; the message names the method and the
        valid choices.

    References
    ----------
    COINr normalisation vignette, https://bluefoxr.github.io/COINr/articles/normalise.html
    """
    try:
        m = METHODS[method]
    except (KeyError, TypeError):
        valid = ", ".join(METHODS)
        raise SpecError(f"unknown normalisation method {method!r}; valid methods: {valid}",
                        field="normalise.method", value=method, fix=f"use one of: {valid}") from None
    params = m.fit(x, **opts)
    return m.apply(x, params, **opts), params


# --------------------------------------------------------------------------------------------
# a spec's normalisation: groups of indicators sharing a method and options
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Group:
    """Indicators normalised together: one method (a name in :data:`METHODS`) and its options.

    ``opts`` are the options as the spec gives them (recorded with the fitted parameters);
    ``cols`` the positions of ``codes`` among the indicators; ``lo``/``hi`` the goalposts and
    ``target`` the targets of the nodes (NaN where absent), used by ``goalposts`` and ``dist2target``.
    """

    method: str
    opts: dict[str, Any]
    codes: tuple[str, ...]
    cols: tuple[int, ...]
    where: str = "normalise"
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    target: np.ndarray | None = None


def _range(value: Any, where: str) -> tuple[float, ...]:
    if isinstance(value, str):  # --set normalise.range=1,100
        try:
            value = [float(v) for v in value.replace(" ", "").strip("[]()").split(",")]
        except ValueError:
            raise SpecError(f"{where}: range must be two numbers, not {value!r}", field="normalise.range",
                            value=value, fix="e.g. normalise.range=1,100") from None
    return tuple(value)


def group_options(g: Group, directions: np.ndarray, units: list | None = None) -> dict[str, Any]:
    """The keyword options ``METHODS[g.method].fit/apply`` take for group ``g`` (directions: +1/-1
    per column of the group)."""
    o = dict(g.opts)
    if "range" in o:
        o["range"] = _range(o["range"], g.where)
    if g.method == "goalposts":
        o.update(lo=g.lo, hi=g.hi, direction=directions)
        return o
    if g.method == "dist2target" and o.get("target") is None:
        o["target"] = g.target * directions
    if g.method == "dist2ref":
        ref = o.pop("ref_unit", None)
        if ref is not None:
            if units is None or ref not in list(units):
                import difflib

                close = difflib.get_close_matches(str(ref), [str(u) for u in (units or [])], n=3)
                raise SpecError(f"{g.where}: ref_unit '{ref}' is not among the units", field="ref_unit",
                                value=ref, fix=f"did you mean {', '.join(close)}?" if close else "use a unit code")
            o["ref_index"] = int(list(units).index(ref))
    return o


def apply_groups(groups: list[Group], x: Any, directions: Any, *, units: list | None = None,
                 fixed: list[dict] | None = None) -> tuple[np.ndarray, list[dict]]:
    """Normalise every indicator by its group: ``x`` (..., n_units, n_indicators) -> same shape.

    ``directions`` (+1/-1 per indicator) flip lower-is-better indicators (``goalposts`` takes them as
    an option instead); ``units`` name the rows (for ``dist2ref``'s ``ref_unit``); ``fixed`` are
    fitted parameters to apply instead of fitting (as returned before: ``[{"method", "opts",
    "codes", "params"}]``). Returns ``(normalised, fits)``, parameters fitted over the leading axes.
    """
    arr = np.asarray(x, dtype=float)
    dirs = np.asarray(directions, dtype=float)
    fixed_by = {tuple(f["codes"]): f for f in fixed} if fixed else {}
    out = np.full(arr.shape, np.nan)
    fits = []
    for g in groups:
        cols = list(g.cols)
        o = group_options(g, dirs[cols], units)
        sub = arr[..., cols] if g.method == "goalposts" else arr[..., cols] * dirs[cols]
        meth = METHODS[g.method]
        try:
            f = fixed_by.get(tuple(g.codes))
            if f is not None and f["method"] == g.method:
                p = {k: np.asarray(v, dtype=float) for k, v in f["params"].items()}
            else:
                p = meth.fit(sub, **o)
            y = meth.apply(sub, p, **o)
        except SpecError as e:
            raise SpecError(f"{g.where} (node(s) {', '.join(g.codes[:5])}): {e.message}", field=g.where,
                            value=g.method, fix=e.problems[0].fix if e.problems else None) from None
        out[..., cols] = y
        fits.append({"method": g.method, "opts": dict(g.opts), "codes": list(g.codes),
                     "params": {k: np.asarray(v) for k, v in p.items()}})
    return out, fits
