"""Gap decomposition: the contribution of each pillar and indicator to the score gap between a unit and a
reference (exact at arithmetic nodes, Shapley values elsewhere), and its waterfall."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..stats.shapley import shapley
from .peer_groups import PEER_KINDS, peer_list
from .unit_tree import Agg, agg_rows, aggregate_nodes, needs_context

__all__ = ["gap", "waterfall"]


def _reference_units(index, unit: str, reference: Any, store=None) -> tuple[list[str], str]:
    s = index.score.dropna().sort_values(ascending=False, kind="stable")
    if isinstance(reference, str) and reference.lower() in ("leader", "top1"):
        return [s.index[0]], f"leader ({s.index[0]})"
    if isinstance(reference, str) and reference.lower() == "top5":
        return list(s.index[:5]), "mean of the top 5"
    if isinstance(reference, str) and reference.lower() == "top25":
        if len(s) < 25:
            raise DataError(f"{index.name} ranks only {len(s)} units; no top 25", field="reference")
        return [s.index[24]], f"top-25 threshold ({s.index[24]}, rank 25)"
    if isinstance(reference, str) and reference in PEER_KINDS:
        members = peer_list(index, unit, reference, store)
        members = [c for c in members if c in s.index]
        return members, f"{reference} peers mean ({len(members)} units)"
    if isinstance(reference, str) and "," not in reference:
        ref = reference.upper() if reference.upper() in index.scores.index else reference
        index.ranked_code(ref)
        return [ref], ref
    members = reference if not isinstance(reference, str) else [c.strip().upper() for c in reference.split(",")]
    members = [c for c in members if c in s.index]
    if not members:
        raise DataError("no ranked unit in the reference group", field="reference", value=reference)
    return members, f"peer group mean ({len(members)} units)"


def _node_split(a: Agg, xu: np.ndarray, xr: np.ndarray, ctx: np.ndarray | None, row: int | None,
                **shap_kw) -> np.ndarray:
    """Local decomposition of a node's gap ``f(xr) - f(xu)`` among its children (sums exactly)."""
    k = len(a.kids)
    if a.method == "arithmetic":
        # exact: effective weight x value, weights rescaled over each side's available children
        def eff(x):
            ok = ~np.isnan(x) & (a.w > 0)
            w = np.where(ok, a.w, 0.0)
            tot = w.sum()
            return np.where(ok, w / tot if tot > 0 else 0.0, 0.0) * np.where(ok, x, 0.0)

        return eff(xr) - eff(xu)

    def value(masks):
        xs = np.where(masks, xr, xu)
        return agg_rows(a, xs, ctx, row)

    return shapley(value, k, **shap_kw)


def _decompose_pair(index, unit: str, ref: str, tree: list[Agg], **shap_kw) -> dict[str, float]:
    """Contribution of every node to ``score(ref) - score(unit)``."""
    sc = index.scores
    rows = list(sc.index)
    row = rows.index(unit)
    root = index.spec.name
    contrib = {root: float(sc.at[ref, root] - sc.at[unit, root])}
    # carried (a_r, a_u) along all-arithmetic chains: contribution = a_r s_r - a_u s_u
    carry: dict[str, tuple[float, float] | None] = {root: (1.0, 1.0)}
    for a in reversed(tree):  # top-down
        c = contrib[a.code]
        xu = sc.loc[unit, a.kids].to_numpy(dtype=float)
        xr = sc.loc[ref, a.kids].to_numpy(dtype=float)
        ctx = sc[a.kids].to_numpy(dtype=float) if needs_context(a) else None
        lin = carry.get(a.code)
        if a.method == "arithmetic" and lin is not None:
            def wn(x):
                ok = ~np.isnan(x) & (a.w > 0)
                w = np.where(ok, a.w, 0.0)
                return w / w.sum() if w.sum() > 0 else w
            wr, wu = wn(xr), wn(xu)
            for j, kid in enumerate(a.kids):
                ar, au = lin[0] * wr[j], lin[1] * wu[j]
                carry[kid] = (ar, au)
                contrib[kid] = (ar * (0.0 if np.isnan(xr[j]) else xr[j])
                                - au * (0.0 if np.isnan(xu[j]) else xu[j]))
            # fix the last bit so children sum exactly to the parent
            kids_sum = sum(contrib[k] for k in a.kids)
            if a.kids:
                big = max(a.kids, key=lambda k: abs(contrib[k]))
                contrib[big] += c - kids_sum
            continue
        phi = _node_split(a, xu, xr, ctx, row if ctx is not None else None, **shap_kw)
        delta = float(np.nansum(phi))
        if abs(delta) > 1e-12:
            out = phi * (c / delta)
        else:  # no local gap: pass on the local split unscaled and share any residual by weight
            wsh = a.w / a.w.sum() if a.w.sum() > 0 else np.full(len(a.w), 1.0 / len(a.w))
            out = phi + (c - phi.sum()) * wsh
        out = out + (c - out.sum()) / len(out)
        for j, kid in enumerate(a.kids):
            contrib[kid] = float(out[j])
            carry[kid] = None
    return contrib


def gap(index, unit: str, reference: Any = "leader", *, store=None, exact_max: int = 12,
        n_permutations: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Decompose the score gap between a reference and a unit into pillars and indicators.

    Parameters
    ----------
    index : Index
    unit : str
    reference : str or list of str
        A unit code, ``leader``, ``top5`` (the mean of the top-5 scores), ``top25`` (the unit ranked
        25th: the threshold of the top 25), a peer kind (``region``, ``income``, ``nearest`` ...; needs
        ``store`` or the default store) or a list of units (their mean).
    exact_max, n_permutations, seed
        Shapley settings for non-arithmetic nodes (see :func:`shapley`).

    Returns
    -------
    DataFrame
        Waterfall-ready, one row per node in tree order: ``node, name, level, depth, parent, kind,
        unit_score, reference_score, node_gap, contribution, share, cumulative`` and, for indicators,
        ``raw`` and ``raw_reference`` (natural units). ``contribution`` is the part of the total gap
        (``reference - unit`` in index score; positive = the reference is ahead) due to the node; the
        contributions of the children of any node sum exactly to the node's contribution, so the
        indicators (and the pillars) sum exactly to the total gap. ``cumulative`` is the running sum
        over the row's *cut* in tree order: the cut at depth d is the nodes at depth d plus the
        indicators that sit higher in an uneven tree (an indicator directly under the root), so every
        cut partitions the index and its running sum ends at the total (:func:`waterfall` returns one
        cut). ``attrs`` holds ``total``, ``unit_score``, ``reference_score``, ``reference`` and
        ``members``.

    Notes
    -----
    At an arithmetic node the contribution of a child is ``w_r x_r - w_u x_u`` with each side's
    weights rescaled over the children it has data for, exactly as the build does; chained down the
    tree the weights multiply (effective weights), so with complete data an indicator contributes
    effective weight x normalised gap. At any other node (geometric, harmonic, MPI, ...) the node's
    gap is split by the Shapley values of the game "switch these children from the unit's to the
    reference's values" (exact up to ``exact_max`` children, else permutation sampling with a fixed
    seed), scaled to the node's share of the total. For a group reference the decomposition is the
    mean of the decompositions against each member, so the total is the mean score of the group
    minus the unit's score.
    """
    code = index.ranked_code(unit)
    members, label = _reference_units(index, code, reference, store)
    tree = aggregate_nodes(index)
    kw = dict(exact_max=exact_max, n_permutations=n_permutations, seed=seed)
    parts = [_decompose_pair(index, code, r, tree, **kw) for r in members]
    m = index.meta()
    contrib = {c: float(np.mean([p[c] for p in parts])) for c in m.code}
    sc = index.scores
    raw = index.stages["raw"]
    out = m[["code", "name", "level", "depth", "parent", "kind"]].rename(columns={"code": "node"}).copy()
    out["unit_score"] = [sc.at[code, c] for c in m.code]
    out["reference_score"] = [sc.loc[members, c].mean() for c in m.code]
    out["node_gap"] = out.reference_score - out.unit_score
    out["contribution"] = [contrib[c] for c in m.code]
    total = contrib[index.spec.name]
    out["share"] = out.contribution / total if total != 0 else np.nan
    out["cumulative"] = _cut_cumulative(out)
    out["raw"] = [raw.at[code, c] if c in raw.columns and code in raw.index else np.nan for c in m.code]
    out["raw_reference"] = [raw.loc[[u for u in members if u in raw.index], c].mean() if c in raw.columns else np.nan
                            for c in m.code]
    out.attrs.update(total=total, unit=code, unit_score=float(sc.at[code, index.spec.name]),
                     reference_score=float(sc.loc[members, index.spec.name].mean()), reference=label,
                     members=members, index=index.name, year=index.year)
    return out.reset_index(drop=True)


def _cut_mask(g: pd.DataFrame, depth: int) -> np.ndarray:
    """Rows of the cut at ``depth``: nodes at that depth and shallower indicators (leaves)."""
    d = g["depth"].to_numpy()
    return (d == depth) | ((g["kind"].to_numpy() == "indicator") & (d < depth))


def _cut_cumulative(g: pd.DataFrame) -> np.ndarray:
    out = np.full(len(g), np.nan)
    contrib = g["contribution"].to_numpy(float)
    for depth in sorted(set(g["depth"])):
        if depth == 0:
            out[(g["depth"] == 0).to_numpy()] = contrib[(g["depth"] == 0).to_numpy()]
            continue
        cut = _cut_mask(g, depth)
        run = np.cumsum(contrib[cut])
        own = (g["depth"].to_numpy() == depth)[cut]   # a row shows the running sum of its own depth's cut
        idx = np.flatnonzero(cut)[own]
        out[idx] = run[own]
    return out


def waterfall(g: pd.DataFrame, depth: int = 1) -> pd.DataFrame:
    """One waterfall of a :func:`gap` table: the cut at ``depth`` (pillars at 1; add deeper levels for
    sub-pillars; indicators of an uneven tree that sit higher are included) in tree order, with
    ``start`` and ``end`` of each bar. The bars run from 0 to the total gap."""
    if depth < 1 or depth > int(g["depth"].max()):
        raise DataError(f"no depth {depth} in the gap table (depths 1-{int(g['depth'].max())})", field="depth",
                        value=depth, fix="1 = the root's children (pillars)")
    w = g[_cut_mask(g, depth)].copy()
    w["end"] = np.cumsum(w["contribution"].to_numpy(float))
    w["start"] = w["end"] - w["contribution"]
    w["cumulative"] = w["end"]
    w.attrs.update(g.attrs)
    return w.reset_index(drop=True)
