"""Weights: equal, custom, effective (down the tree), PCA-based and optimised (Becker et al. 2017).

Functions that need the tree take the spec's "meta" table (``IndexSpec.meta()``, see
``docs/CONTRACTS.md``): one row per node with ``code``, ``parent`` (None for the root), ``level``
(1 = indicators) and ``weight`` (relative within siblings).

References: COINr ``get_eff_wts``, ``get_PCA``, ``get_opt_weights`` (``R/weights.R``, ``R/PCA.R``),
https://github.com/bluefoxr/COINr.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from digimeter.errors import DataError, SpecError

__all__ = ["equal", "custom", "rescale_within_groups", "effective_weights", "pca_weights",
           "optimise_weights", "OptimisedWeights", "METHODS"]


def _check_meta(meta: pd.DataFrame) -> pd.DataFrame:
    need = {"code", "parent", "weight"}
    if not isinstance(meta, pd.DataFrame) or not need <= set(meta.columns):
        raise SpecError("meta must be the spec's node table with columns code, parent, weight",
                        field="meta", value=None if not isinstance(meta, pd.DataFrame)
                        else sorted(meta.columns), fix="pass IndexSpec.meta()")
    if meta["code"].duplicated().any():
        raise SpecError("node codes must be unique", field="code",
                        value=meta.loc[meta["code"].duplicated(), "code"].tolist())
    return meta


def _is_root(p) -> bool:
    return p is None or (isinstance(p, float) and np.isnan(p)) or p is pd.NA or p == ""


def equal(meta: pd.DataFrame) -> pd.Series:
    """Equal weights: every node weighs 1 relative to its siblings.

    Returns a Series indexed by node code. Reference: OECD/JRC (2008) Handbook on Constructing
    Composite Indicators, section 6, https://doi.org/10.1787/9789264043466-en
    """
    meta = _check_meta(meta)
    return pd.Series(1.0, index=pd.Index(meta["code"], name="code"), name="weight")


def custom(meta: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """A copy of ``meta`` with the given node weights replaced (relative within siblings).

    Raises :class:`SpecError` for an unknown node, a negative or non-finite weight, or a group
    whose weights would all be zero.
    """
    meta = _check_meta(meta).copy()
    codes = set(meta["code"])
    bad = [k for k in weights if k not in codes]
    if bad:
        raise SpecError("weights name nodes that are not in the tree", field="weights", value=bad)
    neg = {k: v for k, v in weights.items() if not np.isfinite(v) or v < 0}
    if neg:
        raise SpecError("weights must be finite and non-negative", field="weights", value=neg)
    w = meta.set_index("code")["weight"].astype(float).copy()
    for k, v in weights.items():
        w[k] = float(v)
    meta["weight"] = w.loc[meta["code"]].to_numpy()
    sums = meta.groupby(meta["parent"].astype(object).where(meta["parent"].notna(), "<root>"))["weight"].sum()
    zero = [p for p, s in sums.items() if s == 0 and p != "<root>"]
    if zero:
        raise SpecError("all children of a node have zero weight", field="weights", value=zero,
                        fix="give at least one child a positive weight")
    return meta


def rescale_within_groups(meta: pd.DataFrame) -> pd.Series:
    """Weights rescaled to sum to 1 among the children of each node (the root gets 1).

    Reference: COINr ``get_eff_wts`` first step, https://github.com/bluefoxr/COINr
    """
    meta = _check_meta(meta)
    parent = meta["parent"].map(lambda p: "\0root" if _is_root(p) else p)
    w = meta["weight"].astype(float)
    tot = w.groupby(parent.to_numpy()).transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (w / tot).to_numpy()
    r = np.where(parent.to_numpy() == "\0root", 1.0, r)
    return pd.Series(r, index=pd.Index(meta["code"], name="code"), name="weight")


def effective_weights(meta: pd.DataFrame) -> pd.Series:
    """Effective weight of every node: the product of within-group rescaled weights up to the root.

    The effective weights of the nodes of any one level sum to 1 (e.g. indicators), so with the
    arithmetic mean and complete data the index equals ``sum_i w_eff_i * x_i``.

    Returns
    -------
    Series indexed by node code.

    References
    ----------
    COINr ``get_eff_wts`` (``R/weights.R``), https://github.com/bluefoxr/COINr ; Becker, W. et al.
    (2017) Weights and importance in composite indicators: Closing the gap. *Ecological Indicators*
    80, 12-22. https://doi.org/10.1016/j.ecolind.2017.03.056
    """
    r = rescale_within_groups(meta)
    parent = dict(zip(meta["code"], meta["parent"]))
    eff: dict[str, float] = {}

    def get(c: str, seen: tuple = ()) -> float:
        if c in eff:
            return eff[c]
        if c in seen:
            raise SpecError("the tree has a cycle", field="parent", value=list(seen))
        p = parent[c]
        if _is_root(p):
            val = 1.0
        else:
            if p not in parent:
                raise SpecError(f"node {c!r} has an unknown parent", field="parent", value=p)
            val = r[c] * get(p, seen + (c,))
        eff[c] = val
        return val

    return pd.Series([get(c) for c in meta["code"]], index=pd.Index(meta["code"], name="code"),
                     name="effective_weight")


def _as_frame(x, codes: Sequence[str] | None) -> pd.DataFrame:
    if isinstance(x, pd.DataFrame):
        return x
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2:
        raise SpecError("this analysis takes a 2-D (units x nodes) matrix", field="x",
                        value=arr.shape)
    if codes is None or len(codes) != arr.shape[1]:
        raise SpecError("codes must name every column of x", field="codes",
                        value=None if codes is None else len(codes))
    return pd.DataFrame(arr, columns=list(codes))


def _children_by_group(meta: pd.DataFrame, level: int, present: Sequence[str]) -> dict:
    if "level" not in meta.columns:
        raise SpecError("meta needs a 'level' column", field="level")
    rows = meta[meta["level"] == level]
    if rows.empty:
        raise SpecError(f"no nodes at level {level}", field="level", value=level,
                        fix=f"use a level among {sorted(meta['level'].unique())}")
    groups: dict = {}
    for c, p in zip(rows["code"], rows["parent"]):
        if c not in present:
            raise DataError(f"node {c!r} (level {level}) is not a column of the data", field=c,
                            fix="pass the scores of every node of that level")
        groups.setdefault("<root>" if _is_root(p) else p, []).append(c)
    return groups


def pca_weights(x, meta: pd.DataFrame, level: int = 1, *, codes: Sequence[str] | None = None
                ) -> pd.Series:
    """PCA weights: the first principal component's loadings within each group (COINr ``get_PCA``).

    For each parent group of the nodes at ``level``, units with any missing value are dropped
    (listwise deletion), the columns are standardised (centred, scaled by their sd) and the loadings
    of the first principal component (unit-norm eigenvector of the correlation matrix) become the
    weights of the children. The sign of a principal component is arbitrary: it is oriented so that
    the loadings sum to a positive number. A :class:`UserWarning` is issued when the loadings of a
    group have mixed signs (negative weights are hard to justify).

    Parameters
    ----------
    x : DataFrame (units x node codes) or ndarray with ``codes``
        Scores of the nodes at ``level`` (e.g. normalised indicators for level 1).
    meta : DataFrame
        The spec's node table.
    level : int
        Level whose nodes get weights (1 = indicators).

    Returns
    -------
    Series
        Weight (loading) per node at ``level``; ``.attrs["groups"]`` holds a DataFrame with, per
        group, the number of units used and the share of variance explained by PC1.

    References
    ----------
    COINr ``get_PCA`` (``R/PCA.R``), https://github.com/bluefoxr/COINr ; OECD/JRC (2008) Handbook,
    section 6.1, https://doi.org/10.1787/9789264043466-en ; Becker, W. et al. (2021)
    https://doi.org/10.1016/j.envsoft.2021.105208
    """
    df = _as_frame(x, codes)
    groups = _children_by_group(_check_meta(meta), level, list(df.columns))
    out: dict[str, float] = {}
    info = []
    for g, kids in groups.items():
        d = df[kids].astype(float).dropna()
        if len(kids) == 1:
            out[kids[0]] = 1.0
            info.append({"group": g, "n_children": 1, "n_units": len(d), "var_explained_pc1": 1.0})
            continue
        if len(d) < 2:
            raise DataError(f"group {g!r}: too few complete units for PCA", field=g, value=len(d),
                            fix="impute first")
        sd = d.std(ddof=1)
        if (sd == 0).any():
            raise DataError(f"group {g!r}: constant column(s) cannot be scaled for PCA",
                            field=g, value=list(sd.index[sd == 0]))
        z = ((d - d.mean()) / sd).to_numpy()
        _, s, vt = np.linalg.svd(z, full_matrices=False)
        load = vt[0]
        if load.sum() < 0:
            load = -load
        if (load < 0).any() and (load > 0).any():
            warnings.warn(f"PCA weights of group {g!r} have mixed signs: "
                          f"{dict(zip(kids, np.round(load, 3)))}", UserWarning, stacklevel=2)
        out.update(dict(zip(kids, load)))
        var = s ** 2
        info.append({"group": g, "n_children": len(kids), "n_units": len(d),
                     "var_explained_pc1": float(var[0] / var.sum())})
    ser = pd.Series(out, name="weight")
    ser.index.name = "code"
    ser.attrs["groups"] = pd.DataFrame(info)
    return ser


def _corr(a: np.ndarray, y: np.ndarray, cortype: str) -> float:
    ok = ~np.isnan(a) & ~np.isnan(y)
    if ok.sum() < 3:
        return np.nan
    a, y = a[ok], y[ok]
    if cortype == "pearson":
        return float(np.corrcoef(a, y)[0, 1])
    if cortype == "spearman":
        from scipy import stats

        return float(stats.spearmanr(a, y)[0])
    if cortype == "kendall":
        from scipy import stats

        return float(stats.kendalltau(a, y)[0])
    raise SpecError(f"unknown correlation type {cortype!r}", field="cortype", value=cortype,
                    fix="use 'pearson', 'spearman' or 'kendall'")


@dataclass
class OptimisedWeights:
    """Result of :func:`optimise_weights`."""

    weights: np.ndarray
    """Optimised weights of the children, summing to 1."""
    correlations: np.ndarray
    """Correlation of each child with the index at the optimum."""
    target: np.ndarray | None
    """Target importances (normalised), for ``method="balance"``."""
    objective: float
    success: bool
    n_evaluations: int
    details: dict = field(default_factory=dict)


def optimise_weights(children, score_fn: Callable[[np.ndarray], np.ndarray], *,
                     method: str = "balance", target: Sequence[float] | str | None = None,
                     w0: Sequence[float] | None = None, cortype: str = "pearson",
                     tol: float = 1e-4, maxiter: int = 500) -> OptimisedWeights:
    """Optimise the weights of one level so its nodes' correlations with the index hit targets.

    Parameters
    ----------
    children : array-like (n_units, n_children)
        Scores of the nodes whose weights are optimised (fixed while weights change).
    score_fn : callable
        ``score_fn(w) -> index scores (n_units,)``: the index recomputed with weights ``w``
        (length n_children, summing to 1) for these nodes. Keeps this module free of the builder.
    method : {"balance", "infomax"}
        ``"balance"`` minimises ``log(mean((t - c / sum(c))^2))`` where ``c`` are the correlations of
        the children with the index and ``t`` the normalised target importances (Becker et al. 2017,
        linear version as in COINr). ``"infomax"`` maximises ``sum(c)``.
    target : sequence or "equal", optional
        Target (relative) importances, required for "balance"; "equal" = all the same.
    w0 : sequence, optional
        Starting weights (default: the targets for "balance", equal weights for "infomax").
    cortype : {"pearson", "spearman", "kendall"}
    tol, maxiter
        Nelder-Mead tolerances (``fatol``/``xatol``) and iteration limit (COINr uses R's ``optim``
        Nelder-Mead with ``reltol = 0.1``, ``maxit = 500``).

    Returns
    -------
    OptimisedWeights

    Notes
    -----
    Weights are taken in absolute value and normalised to sum to 1 inside the objective, so the
    search is unconstrained while the weights stay valid.

    References
    ----------
    Becker, W., Saisana, M., Paruolo, P. & Vandecasteele, I. (2017). Weights and importance in
    composite indicators: Closing the gap. *Ecological Indicators* 80, 12-22.
    https://doi.org/10.1016/j.ecolind.2017.03.056 ; COINr ``get_opt_weights`` (``R/weights.R``).
    """
    c = np.asarray(children, dtype=float)
    if c.ndim != 2:
        raise SpecError("children must be a (units x children) matrix", field="children",
                        value=c.shape)
    k = c.shape[1]
    if method not in ("balance", "infomax"):
        raise SpecError(f"unknown optimisation {method!r}", field="method", value=method,
                        fix="use 'balance' or 'infomax'")
    t = None
    if method == "balance":
        if target is None:
            raise SpecError("method='balance' needs target importances", field="target",
                            fix="give target=[...] (one per child) or target='equal'")
        t = np.ones(k) if isinstance(target, str) and target == "equal" else np.asarray(target, float)
        if t.shape != (k,) or np.any(t < 0) or t.sum() <= 0:
            raise SpecError("target must give one non-negative importance per child",
                            field="target", value=list(np.atleast_1d(t)))
        t = t / t.sum()
    start = np.asarray(w0, dtype=float) if w0 is not None else (t if t is not None else np.ones(k) / k)

    def norm(w):
        a = np.abs(np.asarray(w, dtype=float))
        s = a.sum()
        return a / s if s > 0 else np.ones(k) / k

    def corrs(w):
        y = np.asarray(score_fn(norm(w)), dtype=float)
        return np.array([_corr(c[:, j], y, cortype) for j in range(k)])

    def objective(w):
        cr = corrs(w)
        if np.isnan(cr).any():
            return np.inf
        if method == "balance":
            return float(np.log(np.mean((t - cr / cr.sum()) ** 2)))
        return float(-cr.sum())

    from scipy import optimize  # imported on use (start-up time)

    res = optimize.minimize(objective, start, method="Nelder-Mead",
                            options={"fatol": tol, "xatol": tol, "maxiter": maxiter})
    w = norm(res.x)
    cr = corrs(w)
    return OptimisedWeights(weights=w, correlations=cr, target=t, objective=float(res.fun),
                            success=bool(res.success), n_evaluations=int(res.nfev),
                            details={"message": str(res.message), "start": start})


#: the weight methods by the names a spec uses (``weights.method``: see digimeter.spec.WEIGHT_METHODS)
METHODS = {"custom": custom, "equal": equal, "pca": pca_weights, "optimised": optimise_weights}
#: other spellings accepted for the same method
ALIASES = {"optimise": "optimised", "optimize": "optimised", "optimized": "optimised"}
