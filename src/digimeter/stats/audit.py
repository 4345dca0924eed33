"""Statistical audit of an index: correlations and flags, Cronbach's alpha, PCA by group, the effect
of removing each indicator or pillar, and each unit's strengths and weaknesses.

Functions take node scores as a DataFrame (units x node codes: indicators and/or aggregates) and the
spec's "meta" table (``IndexSpec.meta()``, docs/CONTRACTS.md). Definitions follow COINr
(``R/correlations.R``, ``R/audit_tools.R``, ``R/results.R``), https://github.com/bluefoxr/COINr, and the
OECD/JRC (2008) Handbook on Constructing Composite Indicators, https://doi.org/10.1787/9789264043466-en
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from digimeter.errors import DataError, SpecError

__all__ = ["correlations", "corr_flags", "corr_with_parents", "cronbach_alpha", "cronbach_by_group",
           "pca_by_group", "ranks", "removal_effect", "RemovalEffect", "strengths_weaknesses"]

_CORR = ("pearson", "spearman", "kendall")


def _root(p) -> bool:
    return p is None or (isinstance(p, float) and np.isnan(p)) or p is pd.NA or p == ""


def _need(meta: pd.DataFrame, cols=("code", "parent", "level")) -> None:
    if not isinstance(meta, pd.DataFrame) or not set(cols) <= set(meta.columns):
        raise SpecError("meta must be the spec's node table", field="meta",
                        value=None if not isinstance(meta, pd.DataFrame) else list(meta.columns),
                        fix=f"pass IndexSpec.meta() (columns {list(cols)})")


def correlations(x: pd.DataFrame, y: pd.DataFrame | None = None, *,
                 method: str = "pearson") -> pd.DataFrame:
    """Correlation matrix with pairwise-complete observations (R ``cor(use="pairwise.complete.obs")``).

    Parameters
    ----------
    x : DataFrame (units x variables)
    y : DataFrame, optional
        Second set of variables (rows of the result are ``x``'s columns, columns ``y``'s).
    method : {"pearson", "spearman", "kendall"}

    References
    ----------
    COINr ``get_corr`` (``R/correlations.R``), https://github.com/bluefoxr/COINr
    """
    if method not in _CORR:
        raise SpecError(f"unknown correlation method {method!r}", field="method", value=method,
                        fix=f"use one of {_CORR}")
    if y is None:
        return x.astype(float).corr(method=method)
    both = pd.concat([x, y], axis=1)
    both = both.loc[:, ~both.columns.duplicated()]
    c = both.astype(float).corr(method=method)
    return c.loc[list(x.columns), list(y.columns)]


def _lineage(meta: pd.DataFrame) -> dict[str, list[str]]:
    """code -> [code, parent, grandparent, ..., root]."""
    par = dict(zip(meta["code"], meta["parent"]))
    out = {}
    for c in par:
        chain, cur = [c], c
        while not _root(par.get(cur)):
            cur = par[cur]
            chain.append(cur)
        out[c] = chain
    return out


def _ancestor_at(meta: pd.DataFrame, level: int) -> dict[str, str | None]:
    lev = dict(zip(meta["code"], meta["level"]))
    res = {}
    for c, chain in _lineage(meta).items():
        res[c] = next((a for a in chain if lev[a] == level), None)
    return res


def corr_flags(data: pd.DataFrame, meta: pd.DataFrame, *, level: int = 1,
               group_level: int | None = None, high: float | None = 0.9,
               low: float | None = -0.4, method: str = "pearson") -> pd.DataFrame:
    """Flag pairs of nodes of the same group whose correlation is too high or negative.

    Pairs of nodes at ``level`` that share their ancestor at ``group_level`` (default the level
    just above) are flagged ``"collinear"`` if ``corr > high`` (COINr ``get_corr_flags`` default
    0.9, possible double counting) and ``"negative"`` if ``corr < low`` (COINr's usual -0.4 check
    for trade-offs). Each pair is reported once.

    Returns
    -------
    DataFrame with columns ``group, node1, node2, corr, flag``.

    References
    ----------
    COINr ``get_corr_flags`` (``R/correlations.R``), https://github.com/bluefoxr/COINr ; OECD/JRC (2008)
    Handbook, section 4, https://doi.org/10.1787/9789264043466-en
    """
    _need(meta)
    group_level = level + 1 if group_level is None else group_level
    if group_level <= level:
        raise SpecError("group_level must be above level", field="group_level", value=group_level)
    codes = [c for c in meta.loc[meta["level"] == level, "code"] if c in data.columns]
    if not codes:
        raise DataError(f"no node of level {level} is a column of the data", field="level",
                        value=level)
    anc = _ancestor_at(meta, group_level)
    cm = correlations(data[codes], method=method)
    rows = []
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            if anc.get(a) is None or anc.get(a) != anc.get(b):
                continue
            r = cm.loc[a, b]
            if np.isnan(r):
                continue
            if high is not None and r > high:
                rows.append({"group": anc[a], "node1": a, "node2": b, "corr": r, "flag": "collinear"})
            elif low is not None and r < low:
                rows.append({"group": anc[a], "node1": a, "node2": b, "corr": r, "flag": "negative"})
    return pd.DataFrame(rows, columns=["group", "node1", "node2", "corr", "flag"])


def corr_with_parents(data: pd.DataFrame, meta: pd.DataFrame, *,
                      method: str = "pearson") -> pd.DataFrame:
    """Correlation of every node with its parent and with the index (across levels).

    Returns a DataFrame with ``code, level, parent, corr_parent, corr_index``; ``data`` must hold
    the scores of the nodes and their aggregates (e.g. an aggregated data set).

    References
    ----------
    COINr ``get_corr(withparent = "family")`` (``R/correlations.R``), https://github.com/bluefoxr/COINr
    """
    _need(meta)
    roots = [c for c, p in zip(meta["code"], meta["parent"]) if _root(p)]
    root = roots[0] if len(roots) == 1 else None
    present = [c for c in meta["code"] if c in data.columns]
    cm = correlations(data[present], method=method)
    rows = []
    for c, p, lev in zip(meta["code"], meta["parent"], meta["level"]):
        if c not in cm.index or _root(p):
            continue
        rows.append({"code": c, "level": lev, "parent": p,
                     "corr_parent": cm.loc[c, p] if p in cm.columns else np.nan,
                     "corr_index": cm.loc[c, root] if root in cm.columns else np.nan})
    return pd.DataFrame(rows, columns=["code", "level", "parent", "corr_parent", "corr_index"])


def cronbach_alpha(x) -> float:
    """Cronbach's alpha of a set of variables (columns), with listwise deletion of incomplete units.

    ``alpha = k / (k - 1) * (1 - sum(var_j) / var(sum_j x_j))`` with sample variances (ddof = 1).

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    *Psychometrika* 16, 297-334. https://doi.org/10.1007/BF02310555 ; COINr ``get_cronbach``.
    """
    a = np.asarray(x, dtype=float)
    a = a[~np.isnan(a).any(axis=1)]
    k = a.shape[1]
    if k < 2 or a.shape[0] < 2:
        return np.nan
    tot = a.sum(axis=1).var(ddof=1)
    if tot == 0:
        return np.nan
    return float(k / (k - 1) * (1 - a.var(axis=0, ddof=1).sum() / tot))


def _groups(data: pd.DataFrame, meta: pd.DataFrame, level: int) -> dict[str, list[str]]:
    _need(meta)
    g: dict[str, list[str]] = {}
    for c, p in zip(meta.loc[meta["level"] == level, "code"], meta.loc[meta["level"] == level, "parent"]):
        if c in data.columns and not _root(p):
            g.setdefault(p, []).append(c)
    if not g:
        raise DataError(f"no node of level {level} is a column of the data", field="level",
                        value=level)
    return g


def cronbach_by_group(data: pd.DataFrame, meta: pd.DataFrame, level: int = 1) -> pd.DataFrame:
    """Cronbach's alpha of the children (at ``level``) of each group; columns ``group, n, alpha``.

    References
    ----------
    Cronbach (1951) https://doi.org/10.1007/BF02310555 ; OECD/JRC (2008) Handbook, section 4.
    """
    rows = [{"group": g, "n_children": len(k), "n_units": int(data[k].notna().all(axis=1).sum()),
             "alpha": cronbach_alpha(data[k])} for g, k in _groups(data, meta, level).items()]
    return pd.DataFrame(rows)


def pca_by_group(data: pd.DataFrame, meta: pd.DataFrame, level: int = 1) -> pd.DataFrame:
    """PCA (correlation matrix, listwise deletion) of the children of each group.

    Returns ``group, n_children, n_units, var_explained_pc1, n_eigen_above_1, var_explained`` (the
    share of variance of every component). A group that one component explains well (high
    ``var_explained_pc1``, one eigenvalue above 1) is statistically coherent.

    References
    ----------
    OECD/JRC (2008) Handbook, section 4.1, https://doi.org/10.1787/9789264043466-en ; COINr
    ``get_PCA`` (``R/PCA.R``).
    """
    rows = []
    for g, k in _groups(data, meta, level).items():
        d = data[k].astype(float).dropna()
        if len(k) < 2 or len(d) < 3:
            rows.append({"group": g, "n_children": len(k), "n_units": len(d),
                         "var_explained_pc1": np.nan, "n_eigen_above_1": np.nan,
                         "var_explained": None})
            continue
        ev = np.linalg.eigvalsh(np.corrcoef(d.to_numpy(), rowvar=False))[::-1]
        share = ev / ev.sum()
        rows.append({"group": g, "n_children": len(k), "n_units": len(d),
                     "var_explained_pc1": float(share[0]), "n_eigen_above_1": int((ev > 1).sum()),
                     "var_explained": share})
    return pd.DataFrame(rows)


def ranks(scores) -> np.ndarray:
    """Ranks of units along the last axis: 1 = highest score, ties share the lowest rank, NaN stays NaN.

    ``scores`` has shape ``(..., n_units)``. Same convention as COINr ``rank_df`` (R ``rank(-x,
    ties.method = "min")``).
    """
    s = np.asarray(scores, dtype=float)
    out = np.full(s.shape, np.nan)
    flat = s.reshape(-1, s.shape[-1])
    of = out.reshape(-1, s.shape[-1])
    for i, row in enumerate(flat):
        ok = ~np.isnan(row)
        if ok.any():
            of[i, ok] = stats.rankdata(-row[ok], method="min")
    return of.reshape(s.shape)


@dataclass
class RemovalEffect:
    """Result of :func:`removal_effect`."""

    scores: pd.DataFrame
    """Column ``nominal`` plus one column of index scores per removed node."""
    ranks: pd.DataFrame
    rank_change: pd.DataFrame
    """Nominal rank minus rank with the node removed (positive = the unit moves up without it)."""
    mean_abs_rank_change: pd.Series
    """Mean over units of |rank change|, per removed node (COINr ``MeanAbsDiff``)."""


def removal_effect(score_fn: Callable[[pd.DataFrame], np.ndarray], meta: pd.DataFrame,
                   level: int = 1, *, nodes: Sequence[str] | None = None,
                   how: str = "zero_weight", units: Sequence | None = None) -> RemovalEffect:
    """Effect on the index ranks of removing each indicator or pillar in turn (COINr ``remove_elements``).

    Parameters
    ----------
    score_fn : callable
        ``score_fn(meta_variant) -> index scores (n_units,)``: rebuilds the index from a modified
        tree (e.g. ``lambda m: build(...).scores``).
    meta : DataFrame
        The spec's node table (nominal tree).
    level : int
        Level of the nodes to remove (1 = indicators, 2 = pillars ...).
    nodes : sequence of str, optional
        Restrict to these nodes.
    how : {"zero_weight", "drop"}
        ``"zero_weight"`` sets the node's weight to 0 (COINr); ``"drop"`` deletes the node and its
        descendants from the table.
    units : sequence, optional
        Unit labels for the result's index.

    Returns
    -------
    RemovalEffect

    References
    ----------
    COINr ``remove_elements`` (``R/audit_tools.R``), https://github.com/bluefoxr/COINr ; OECD/JRC
    (2008) Handbook, section 7 (uncertainty and sensitivity), https://doi.org/10.1787/9789264043466-en
    """
    _need(meta, ("code", "parent", "level", "weight"))
    if how not in ("zero_weight", "drop"):
        raise SpecError(f"unknown removal {how!r}", field="how", value=how,
                        fix="use 'zero_weight' or 'drop'")
    cand = list(meta.loc[meta["level"] == level, "code"])
    if nodes is not None:
        bad = [n for n in nodes if n not in cand]
        if bad:
            raise SpecError(f"nodes are not at level {level}", field="nodes", value=bad)
        cand = list(nodes)
    nominal = np.asarray(score_fn(meta.copy()), dtype=float)
    cols = {"nominal": nominal}
    lin = _lineage(meta)
    for c in cand:
        m = meta.copy()
        if how == "zero_weight":
            m.loc[m["code"] == c, "weight"] = 0.0
        else:
            m = m[[c not in lin[k] for k in m["code"]]].copy()
        cols[c] = np.asarray(score_fn(m), dtype=float)
    idx = pd.Index(units if units is not None else range(len(nominal)), name="unit")
    sc = pd.DataFrame(cols, index=idx)
    rk = pd.DataFrame(ranks(sc.to_numpy().T).T, index=idx, columns=sc.columns)
    ch = rk[cand].rsub(rk["nominal"], axis=0)
    return RemovalEffect(scores=sc, ranks=rk, rank_change=ch,
                         mean_abs_rank_change=ch.abs().mean().rename("mean_abs_rank_change"))


def strengths_weaknesses(x: pd.DataFrame, unit, *, top: int = 5, bottom: int = 5,
                         meta: pd.DataFrame | None = None,
                         direction: Mapping[str, float] | None = None,
                         values: pd.DataFrame | None = None, min_discard: bool = True,
                         unique_min: float | None = None, report_level: int = 2
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A unit's strengths and weaknesses: its best- and worst-ranked indicators (COINr ``get_str_weak``).

    Indicators are ranked across units (1 = best, ties share the lowest rank), after multiplying by
    ``direction`` if given (use it with raw data; normalised data already point up). The unit's
    indicators are sorted by rank; the ``top`` first are strengths, the ``bottom`` last weaknesses.

    Parameters
    ----------
    x : DataFrame (units x indicators)
    unit : label of a row of ``x``
    meta : DataFrame, optional
        Node table, to report the indicator's name and its ancestor at ``report_level``.
    direction : mapping indicator -> +1/-1, optional
    values : DataFrame, optional
        Values to report (default ``x``), e.g. raw data while ranking normalised data.
    min_discard : bool
        Drop indicators on which the unit has the worst rank (e.g. shared zeros), as COINr does.
    unique_min : float in [0, 1], optional
        Only consider indicators whose share of distinct values exceeds this (COINr
        ``unq_discard``; skips binary indicators).

    Returns
    -------
    strengths, weaknesses : DataFrame
        Columns ``code, name, group, rank, value``.

    References
    ----------
    COINr ``get_str_weak`` (``R/results.R``), https://github.com/bluefoxr/COINr
    """
    if unit not in x.index:
        raise DataError(f"unit {unit!r} is not in the data", field="unit", value=unit)
    xs = x.astype(float).copy()
    if direction is not None:
        for c, d in direction.items():
            if c in xs.columns:
                xs[c] = xs[c] * d
    rk = pd.DataFrame(ranks(xs.to_numpy().T).T, index=x.index, columns=x.columns)
    codes = list(x.columns)
    if unique_min is not None:
        frac = x.nunique() / len(x)
        codes = [c for c in codes if frac[c] > unique_min]
    r = rk.loc[unit, codes].dropna()
    if min_discard:
        r = r[r != rk[r.index].max()]
    r = r.sort_values(kind="stable")
    vals = x if values is None else values
    names, group = {}, {}
    if meta is not None:
        names = dict(zip(meta["code"], meta["name"])) if "name" in meta.columns else {}
        group = _ancestor_at(meta, report_level) if "level" in meta.columns else {}

    def table(cs):
        return pd.DataFrame({"code": cs, "name": [names.get(c, c) for c in cs],
                             "group": [group.get(c) for c in cs], "rank": r[cs].to_numpy(),
                             "value": [vals.loc[unit, c] for c in cs]})

    s = list(r.index[:top])
    w = list(r.index[max(len(r) - bottom, 0):])
    return table(s), table(w)
