"""Outlier treatment: COINr's skew/kurtosis rule, one-point-at-a-time Winsorisation, log transforms.

The default procedure is the one of the JRC COIN Tool and COINr's ``Treat()``
(https://github.com/bluefoxr/COINr, ``R/treat.R``; OECD/JRC Handbook on Constructing Composite
Indicators, 2008, https://doi.org/10.1787/9789264043466-en):

1. an indicator *passes* if ``|skewness| < skew_thresh`` **or** ``kurtosis < kurt_thresh``
   (sample skewness and excess kurtosis of "type 2", as ``e1071`` and Excel compute them);
2. if it fails, Winsorise one point at a time (the maximum if skew >= 0, else the minimum, replaced by the
   next value), re-testing after each point, up to ``winmax`` points;
3. if it still fails, apply a second treatment (``log_CT`` by default) to the *original* values.

Kernels take ``x`` of shape ``(..., n_units, n_indicators)`` (NaN = missing) and never mutate it.
Winsorisation is inherently sequential, so :func:`treat` loops over leading axes and indicators.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from digimeter.errors import SpecError

__all__ = [
    "skew", "kurt", "check_skew_kurt", "winsorise", "log_ct", "log_ct_plus", "log_ct_orig",
    "boxcox", "treat", "to_coinr_log", "F1_METHODS", "F2_METHODS",
]

_COINR_URL = "https://github.com/bluefoxr/COINr/blob/master/R/treat.R"

#: methods of a spec's ``treat`` stage (``coinr``: Winsorise then log as COINr; ``none``: untouched)
SPEC_METHODS = ("none", "coinr", "winsorise", "boxcox", "log")
#: options of a spec's ``treat`` stage (those of :func:`treat`, and ``lambda`` for ``boxcox``)
SPEC_OPTIONS = ("winmax", "skew_thresh", "kurt_thresh", "f1", "f2", "f2_params", "force_win",
                "combine_treat", "indiv", "lambda", "lmbda")


# ----------------------------------------------------------------------------------------------
# statistics
# ----------------------------------------------------------------------------------------------

def _moment_sums(x, axis: int, k: int):
    """``(n, sum of d**2, sum of d**k)`` of the deviations d from the mean along ``axis``, NaN ignored
    (keepdims); ``k`` is 3 or 4 (powers by multiplication: libm's ``pow`` cost most of a build)."""
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    n = ok.sum(axis=axis, keepdims=True).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=axis, keepdims=True) / n
        d = np.where(ok, x - mean, 0.0)
    d2 = d * d
    return n, d2.sum(axis=axis, keepdims=True), (d2 * d if k == 3 else d2 * d2).sum(axis=axis, keepdims=True)


def _moments_1d(v: np.ndarray) -> tuple[np.float64, np.float64, np.float64, np.float64]:
    """``(n, sum d**2, sum d**3, sum d**4)`` of a 1-D vector, NaN ignored, in one pass over the data
    (the same sums as :func:`_moment_sums`, without the copies when nothing is missing)."""
    ok = ~np.isnan(v)
    if ok.all():
        n = np.float64(v.size)
        d = v - v.sum() / n
    else:
        n = np.float64(ok.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(ok, v - np.where(ok, v, 0.0).sum() / n, 0.0)
    d2 = d * d
    return n, d2.sum(), (d2 * d).sum(), (d2 * d2).sum()     # numpy scalars: x / 0 is inf or nan


def _skew_of(n, m2, m3):
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.sqrt(n) * m3 / m2 ** 1.5
        y = y * np.sqrt(n * (n - 1)) / (n - 2)
    return np.where((n < 3) | (m2 == 0), np.nan, y)


def _kurt_of(n, m2, m4):
    with np.errstate(invalid="ignore", divide="ignore"):
        r = n * m4 / m2 ** 2
        y = ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))
    return np.where((n < 4) | (m2 == 0), np.nan, y)


def skew(x: np.ndarray, axis: int = -2) -> np.ndarray:
    """Sample skewness, "type 2" (as ``e1071::skewness(type = 2)``, Excel's ``SKEW``), NaN ignored.

    ``G1 = g1 * sqrt(n (n - 1)) / (n - 2)`` with ``g1 = m3 / m2^(3/2)``. NaN where fewer than 3
    values are available or the values are constant.

    References
    ----------
    Joanes, D. N. & Gill, C. A. (1998). Comparing measures of sample skewness and kurtosis.
    *The Statistician* 47(1), 183-189. https://doi.org/10.1111/1467-9884.00122
    """
    n, m2, m3 = _moment_sums(x, axis, 3)
    return np.squeeze(_skew_of(n, m2, m3), axis=axis)


def kurt(x: np.ndarray, axis: int = -2) -> np.ndarray:
    """Sample excess kurtosis, "type 2" (as ``e1071::kurtosis(type = 2)``, Excel's ``KURT``), NaN ignored.

    ``G2 = ((n + 1) (r - 3) + 6) (n - 1) / ((n - 2) (n - 3))`` with ``r = n m4 / m2^2``. NaN where fewer
    than 4 values are available or the values are constant.

    References
    ----------
    Joanes, D. N. & Gill, C. A. (1998). https://doi.org/10.1111/1467-9884.00122
    """
    n, m2, m4 = _moment_sums(x, axis, 4)
    return np.squeeze(_kurt_of(n, m2, m4), axis=axis)


def check_skew_kurt(x: np.ndarray, *, skew_thresh: float = 2.0, kurt_thresh: float = 3.5,
                    axis: int = -2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COINr's ``check_SkewKurt``: pass if ``|skew| < skew_thresh`` OR ``kurt < kurt_thresh``.

    Returns ``(passes, skew, kurt)``; ``passes`` is boolean (False where skew/kurtosis are undefined,
    check ``np.isnan(skew)`` for those). Reference: COINr ``check_SkewKurt`` (``R/treat.R``),
    https://github.com/bluefoxr/COINr.
    """
    sk = skew(x, axis=axis)
    kt = kurt(x, axis=axis)
    with np.errstate(invalid="ignore"):
        ok = (np.abs(sk) < skew_thresh) | (kt < kurt_thresh)
    return ok, sk, kt


# ----------------------------------------------------------------------------------------------
# first-stage treatment: Winsorisation (1-D, sequential)
# ----------------------------------------------------------------------------------------------

def _pass1(v: np.ndarray, skew_thresh: float, kurt_thresh: float) -> tuple[bool | None, float, float]:
    n, m2, m3, m4 = _moments_1d(v)
    sk, kt = float(_skew_of(n, m2, m3)), float(_kurt_of(n, m2, m4))
    if np.isnan(sk) or np.isnan(kt):
        return None, sk, kt
    return bool(abs(sk) < skew_thresh or kt < kurt_thresh), sk, kt


def winsorise(v: np.ndarray, *, winmax: int | None = 5, skew_thresh: float = 2.0,
              kurt_thresh: float = 3.5, force_win: bool = False) -> dict[str, Any]:
    """Winsorise a 1-D vector one point at a time until it passes the skew/kurtosis rule (COINr).

    While the vector fails :func:`check_skew_kurt` (or always, if ``force_win``) and fewer than
    ``winmax`` points have been treated: if the skewness is >= 0 the maximum value(s) are set to the
    next-highest value ("winhi"), else the minimum value(s) are set to the next-lowest ("winlo").
    As in COINr, points tied at the extreme are treated together and the count ``nwin`` is the
    number of points currently tied at the treated extreme(s), so it can exceed ``winmax`` by ties.

    Parameters
    ----------
    v : ndarray, shape (n,)
        Values, NaN = missing (left as is).
    winmax : int or None
        Maximum number of points to Winsorise (None = no limit; not allowed with ``force_win``).
    skew_thresh, kurt_thresh : float
        Thresholds of the pass rule.
    force_win : bool
        Winsorise up to ``winmax`` points even if the vector passes.

    Returns
    -------
    dict
        ``x`` (treated copy), ``nwin``, ``n_winhi``, ``n_winlo`` and ``treated`` (array of
        ``""``/``"winhi"``/``"winlo"`` per point).

    References
    ----------
    COINr ``winsorise()`` (``R/treat.R``), https://github.com/bluefoxr/COINr ; OECD/JRC (2008)
    Handbook on Constructing Composite Indicators, https://doi.org/10.1787/9789264043466-en
    """
    x = np.array(v, dtype=float, copy=True)
    if force_win and winmax is None:
        raise SpecError("force_win needs a finite winmax", field="winmax", value=None,
                        fix="set winmax to the number of points to Winsorise")
    passing, skew_now, _ = _pass1(x, skew_thresh, kurt_thresh)
    imax = np.zeros(0, dtype=int)
    imin = np.zeros(0, dtype=int)
    nwin = 0
    if passing is None:  # undefined statistics (too few / constant values): leave untouched
        return {"x": x, "nwin": 0, "n_winhi": 0, "n_winlo": 0,
                "treated": np.full(x.shape, "", dtype=object)}

    def below() -> bool:
        return True if winmax is None else nwin < winmax

    while ((not passing) or force_win) and below():
        sk = skew_now
        obs = ~np.isnan(x)
        if not np.isnan(sk) and sk >= 0:
            top = np.nanmax(x)
            imax = np.flatnonzero(obs & (x == top))
            rest = x[obs & (x != top)]
            if rest.size == 0:
                break
            x[imax] = rest.max()
        else:
            bot = np.nanmin(x)
            imin = np.flatnonzero(obs & (x == bot))
            rest = x[obs & (x != bot)]
            if rest.size == 0:
                break
            x[imin] = rest.min()
        nwin = len(imax) + len(imin)
        passing, skew_now, _ = _pass1(x, skew_thresh, kurt_thresh)
        if passing is None:
            break
    treated = np.full(x.shape, "", dtype=object)
    treated[imax] = "winhi"
    treated[imin] = "winlo"
    return {"x": x, "nwin": nwin, "n_winhi": len(imax), "n_winlo": len(imin), "treated": treated}


# ----------------------------------------------------------------------------------------------
# second-stage treatments (vectorised over axis -2)
# ----------------------------------------------------------------------------------------------

def log_ct(x: np.ndarray, axis: int = -2) -> np.ndarray:
    """COIN Tool log transform (COINr ``log_CT``): ``log(x - min + 0.01 (max - min))``.

    Applied column-wise (per indicator), NaN ignored for min/max. The minimum maps to
    ``log(0.01 (max - min))``. Note this is the same for negative skew (use :func:`log_ct_plus` to
    reflect negatively skewed indicators).

    References
    ----------
    COINr ``log_CT`` (``R/treat.R``), https://github.com/bluefoxr/COINr ; JRC COIN Tool User Guide
    (2019), https://doi.org/10.2760/523877
    """
    x = np.asarray(x, dtype=float)
    mn = np.nanmin(x, axis=axis, keepdims=True)
    mx = np.nanmax(x, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x - mn + 0.01 * (mx - mn))


def log_ct_plus(x: np.ndarray, axis: int = -2) -> np.ndarray:
    """Skew-aware COIN Tool log (COINr ``log_CT_plus``).

    If skewness > 0: ``log(x - min + a)``; otherwise ``-log(max + a - x)``, with
    ``a = 0.01 (max - min)``, so that negatively skewed indicators are also made more symmetric and
    keep their direction.

    References
    ----------
    COINr ``log_CT_plus`` (``R/treat.R``), https://github.com/bluefoxr/COINr
    """
    x = np.asarray(x, dtype=float)
    mn = np.nanmin(x, axis=axis, keepdims=True)
    mx = np.nanmax(x, axis=axis, keepdims=True)
    a = 0.01 * (mx - mn)
    sk = np.expand_dims(skew(x, axis=axis), axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sk > 0, np.log(x - mn + a), -np.log(mx + a - x))


def log_ct_orig(x: np.ndarray, axis: int = -2) -> np.ndarray:
    """Original COIN Tool log (COINr ``log_CT_orig``): ``log(x - min + 1)``.

    References
    ----------
    COINr ``log_CT_orig`` (``R/treat.R``), https://github.com/bluefoxr/COINr
    """
    x = np.asarray(x, dtype=float)
    mn = np.nanmin(x, axis=axis, keepdims=True)
    return np.log(x - mn + 1.0)


def boxcox(x: np.ndarray, lmbda: float = 0.5, *, makepos: bool = True, axis: int = -2) -> np.ndarray:
    """Box-Cox transform with a fixed ``lmbda`` (COINr ``boxcox``): ``(x^l - 1)/l``, ``log(x)`` if l = 0.

    With ``makepos`` (default) each column is first shifted to ``x - min + 1`` (COIN Tool style).

    References
    ----------
    Box, G. E. P. & Cox, D. R. (1964). An analysis of transformations. *JRSS B* 26(2), 211-252.
    https://doi.org/10.1111/j.2517-6161.1964.tb00553.x ; COINr ``boxcox`` (``R/treat.R``).
    """
    x = np.asarray(x, dtype=float)
    if makepos:
        x = x - np.nanmin(x, axis=axis, keepdims=True) + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        if lmbda == 0:
            return np.log(x)
        return (x ** lmbda - 1.0) / lmbda


F1_METHODS = {"winsorise": winsorise}
F2_METHODS = {"log_CT": log_ct, "log_CT_plus": log_ct_plus, "log_CT_orig": log_ct_orig,
              "boxcox": boxcox}

_DEFAULTS: dict[str, Any] = {"f1": "winsorise", "f2": "log_CT", "f2_params": None, "winmax": 5,
                             "skew_thresh": 2.0, "kurt_thresh": 3.5, "force_win": False,
                             "combine_treat": False}


def _treat_vector(v: np.ndarray, s: Mapping[str, Any]) -> dict[str, Any]:
    st, kt_ = s["skew_thresh"], s["kurt_thresh"]
    rec: dict[str, Any] = {"pass0": np.nan, "skew0": np.nan, "kurt0": np.nan, "nwin": np.nan,
                           "n_winhi": np.nan, "n_winlo": np.nan, "pass1": np.nan, "skew1": np.nan,
                           "kurt1": np.nan, "f2": "", "pass2": np.nan, "skew2": np.nan,
                           "kurt2": np.nan, "treatment": "none"}
    p0, sk0, k0 = _pass1(v, st, kt_)
    rec.update(pass0=p0 if p0 is not None else np.nan, skew0=sk0, kurt0=k0)
    points = None                               # per-point flags; None: none flagged (as "" everywhere)
    if p0 is None:
        rec["treatment"] = "skipped (too few or constant values)"
        return {"x": v.copy(), "rec": rec, "points": points}
    x1 = v.copy()
    passing = p0
    if s["f1"] is not None and (not p0 or s["force_win"]):
        if s["f1"] not in F1_METHODS:
            raise SpecError(f"unknown first-stage treatment {s['f1']!r}", field="f1", value=s["f1"],
                            fix=f"use one of {sorted(F1_METHODS)} or None")
        w = winsorise(v, winmax=s["winmax"], skew_thresh=st, kurt_thresh=kt_,
                      force_win=s["force_win"])
        x1 = w["x"]
        points = w["treated"] if w["nwin"] else None
        p1, sk1, k1 = _pass1(x1, st, kt_)
        passing = bool(p1)
        rec.update(nwin=w["nwin"], n_winhi=w["n_winhi"], n_winlo=w["n_winlo"],
                   pass1=p1 if p1 is not None else np.nan, skew1=sk1, kurt1=k1,
                   treatment="winsorise" if w["nwin"] else "none")
    if not passing and s["f2"] is not None:
        if s["f2"] not in F2_METHODS:
            raise SpecError(f"unknown second-stage treatment {s['f2']!r}", field="f2",
                            value=s["f2"], fix=f"use one of {sorted(F2_METHODS)} or None")
        base = x1 if s["combine_treat"] else v
        x2 = F2_METHODS[s["f2"]](base[:, None], axis=0, **(s["f2_params"] or {}))[:, 0]
        x2 = np.where(np.isnan(v), np.nan, x2)
        p2, sk2, k2 = _pass1(x2, st, kt_)
        rec.update(f2=s["f2"], pass2=p2 if p2 is not None else np.nan, skew2=sk2, kurt2=k2,
                   treatment=(rec["treatment"] + "+" if s["combine_treat"] and rec["nwin"] else "")
                   + s["f2"])
        marked = np.full(v.shape, s["f2"], dtype=object)
        if s["combine_treat"] and points is not None:
            first = points != ""                # the Winsorised points (few): "winhi+log_CT"
            marked[first] = [p + "+" + s["f2"] for p in points[first]]
        marked[np.isnan(v)] = ""
        points = marked
        x1 = x2
    return {"x": x1, "rec": rec, "points": points}


def treat(x, *, winmax: int | None = 5, skew_thresh: float = 2.0, kurt_thresh: float = 3.5,
          f1: str | None = "winsorise", f2: str | None = "log_CT",
          f2_params: Mapping[str, Any] | None = None, force_win: bool = False,
          combine_treat: bool = False, indiv: Mapping[Any, Any] | None = None,
          codes: list[str] | None = None):
    """Treat outliers indicator by indicator, as COINr's ``Treat()`` does by default.

    For each indicator (column): test with :func:`check_skew_kurt`; if it fails, apply ``f1``
    (:func:`winsorise` up to ``winmax`` points, re-testing after each); if it still fails, apply ``f2``
    (default :func:`log_ct`) to the *original* values (or to the Winsorised values if
    ``combine_treat``).

    Parameters
    ----------
    x : ndarray (..., n_units, n_indicators) or DataFrame (units x indicators)
        Data, NaN = missing. Not modified. Leading axes are looped over (the procedure is sequential).
    winmax, skew_thresh, kurt_thresh, force_win
        Settings of the Winsorisation and of the pass rule (COINr defaults 5, 2, 3.5, False).
        Unlike COINr (issue #53), ``force_win=True`` Winsorises ``winmax`` points even when the
        indicator passes the initial test.
    f1 : {"winsorise", None}
        First-stage treatment.
    f2 : {"log_CT", "log_CT_plus", "log_CT_orig", "boxcox", None}
        Second-stage treatment; ``f2_params`` are passed to it (e.g. ``{"lmbda": 0.5}`` for boxcox).
    combine_treat : bool
        Apply ``f2`` to the Winsorised rather than the original values.
    indiv : mapping, optional
        Per-indicator overrides: indicator code (or column index) -> ``"none"`` (no treatment) or a
        dict of any of the keyword settings above.
    codes : list of str, optional
        Indicator codes (default: DataFrame columns, or ``"0", "1", ...``).

    Returns
    -------
    treated : same type and shape as ``x``
    log : DataFrame
        One row per indicator (and leading index, if any) with ``indicator``, ``pass0``, ``skew0``,
        ``kurt0``, ``nwin``, ``n_winhi``, ``n_winlo``, ``pass1``, ``skew1``, ``kurt1``, ``f2``,
        ``pass2``, ``skew2``, ``kurt2`` and ``treatment``. ``log.attrs["points"]`` holds the per-point
        flags (``"winhi"``, ``"winlo"``, ``"log_CT"`` ...) with the shape of ``x``. See
        :func:`to_coinr_log` for COINr's column names.

    References
    ----------
    COINr ``Treat()``, ``winsorise()``, ``check_SkewKurt()`` (``R/treat.R``),
    https://github.com/bluefoxr/COINr ; Becker, W. et al. (2022) COINr: An R package for developing
    composite indicators. *JOSS* 7(78), 4567. https://doi.org/10.21105/joss.04567
    """
    frame = isinstance(x, pd.DataFrame)
    arr = np.asarray(x.to_numpy(dtype=float) if frame else x, dtype=float)
    if arr.ndim < 2:
        raise SpecError("treat needs data with units on axis -2 and indicators on axis -1",
                        field="x", value=arr.shape, fix="pass a 2-D array or a DataFrame")
    n_ind = arr.shape[-1]
    if codes is None:
        codes = [str(c) for c in x.columns] if frame else [str(i) for i in range(n_ind)]
    codes = list(codes)
    if len(codes) != n_ind:
        raise SpecError("codes must name every indicator column", field="codes",
                        value=len(codes), fix=f"give {n_ind} codes")
    base = dict(_DEFAULTS, winmax=winmax, skew_thresh=skew_thresh, kurt_thresh=kurt_thresh, f1=f1,
                f2=f2, f2_params=f2_params, force_win=force_win, combine_treat=combine_treat)
    specs: list[dict[str, Any] | None] = []
    indiv = dict(indiv or {})
    unknown = [k for k in indiv if k not in codes and not (isinstance(k, int) and 0 <= k < n_ind)]
    if unknown:
        raise SpecError("indiv names indicators that are not in the data", field="indiv",
                        value=unknown, fix=f"use codes among {codes[:10]}...")
    for j, c in enumerate(codes):
        o = indiv.get(c, indiv.get(j))
        if isinstance(o, str):
            if o != "none":
                raise SpecError(f"indiv[{c!r}] must be 'none' or a dict of settings", field="indiv",
                                value=o)
            specs.append(None)
            continue
        if o is not None:
            bad = set(o) - set(_DEFAULTS)
            if bad:
                raise SpecError(f"indiv[{c!r}] has unknown settings", field="indiv",
                                value=sorted(bad), fix=f"use keys among {sorted(_DEFAULTS)}")
            specs.append({**base, **o})
        else:
            specs.append(base)

    out = arr.copy()
    points = np.full(arr.shape, "", dtype=object)
    rows = []
    lead_shape = arr.shape[:-2]
    for lead in np.ndindex(*lead_shape):
        for j, c in enumerate(codes):
            s = specs[j]
            v = arr[lead + (slice(None), j)]
            if s is None:
                p0, sk0, k0 = _pass1(v, base["skew_thresh"], base["kurt_thresh"])
                rec = {"pass0": p0 if p0 is not None else np.nan, "skew0": sk0, "kurt0": k0,
                       "treatment": "none (indiv)"}
            else:
                r = _treat_vector(v, s)
                out[lead + (slice(None), j)] = r["x"]
                if r["points"] is not None:
                    points[lead + (slice(None), j)] = r["points"]
                rec = r["rec"]
            row = {"indicator": c, **rec}
            if lead:
                row = {"lead": lead, **row}
            rows.append(row)
    cols = (["lead"] if lead_shape else []) + [
        "indicator", "pass0", "skew0", "kurt0", "nwin", "n_winhi", "n_winlo", "pass1", "skew1",
        "kurt1", "f2", "pass2", "skew2", "kurt2", "treatment"]
    log = pd.DataFrame(rows).reindex(columns=cols)
    log.attrs["points"] = points
    if frame:
        return pd.DataFrame(out, index=x.index, columns=x.columns), log
    return out, log


def to_coinr_log(log: pd.DataFrame) -> pd.DataFrame:
    """Rename a :func:`treat` log to COINr's ``Dets_Table`` layout (``check_SkewKurt0.Pass`` ...).

    Columns of stages that never ran for any indicator are dropped, as in COINr.
    Reference: COINr ``Treat()`` output ``$Dets_Table``, https://github.com/bluefoxr/COINr
    """
    m = {"indicator": "iCode", "pass0": "check_SkewKurt0.Pass", "skew0": "check_SkewKurt0.Skew",
         "kurt0": "check_SkewKurt0.Kurt", "nwin": "winsorise.nwin",
         "pass1": "check_SkewKurt1.Pass", "skew1": "check_SkewKurt1.Skew",
         "kurt1": "check_SkewKurt1.Kurt", "pass2": "check_SkewKurt2.Pass",
         "skew2": "check_SkewKurt2.Skew", "kurt2": "check_SkewKurt2.Kurt"}
    out = log[[c for c in m if c in log.columns]].rename(columns=m)
    keep = [c for c in out.columns if c == "iCode" or out[c].notna().any()]
    return out[keep]
