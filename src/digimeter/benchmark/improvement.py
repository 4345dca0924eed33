"""What it would take: the least (optionally cost-weighted) improvement of a unit's indicators that lifts
it to a target rank or score under plausible bounds (observed pace from a similar level x years to the
deadline; the indicator's valid range), solved with :mod:`scipy.optimize` and verified by rebuilding."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ..stages import normalise as norm
from .peer_groups import indicator_info
from .unit_tree import Agg, aggregate_nodes, evaluate_unit

__all__ = ["pace", "Plan", "what_it_takes", "normaliser"]

def pace(store, indicator: str, level: float, *, direction: int = 1, quantile: float = 0.9,
         band: float = 0.10, min_obs: int = 30, max_gap: int = 5, until: int | None = None,
         history: pd.DataFrame | None = None) -> dict:
    """The fastest plausible yearly improvement of an indicator from a given level.

    Every pair of consecutive observations of a country (at most ``max_gap`` years apart, ending no
    later than ``until``) gives an annual gain ``(v2 - v1) / (y2 - y1)`` (times ``direction``, so that
    a gain is an improvement; ``history`` may hold these observations already). The pace is the
    ``quantile`` (default 0.9: faster than nine in ten country-years, but not the single fastest, which
    is often a data break) of the gains of the country-years that started within ``+/- band`` (10 %) of
    ``level``; the band doubles until at least ``min_obs`` gains are found (then all gains are used).
    Never negative.

    Returns a dict with ``pace`` (per year, natural units), ``n`` (gains used), ``band`` (the band
    used; ``inf`` = all levels) and ``quantile``.
    """
    if history is None:
        history = store.observations(indicators=indicator)
        history = history[history.unit.isin(store.units(kind="country").code)]
    obs = history[history.indicator == indicator] if "indicator" in history else history
    if until is not None:
        obs = obs[obs.year <= until]
    obs = obs.sort_values(["unit", "year"])
    g = obs.groupby("unit")
    v1, y1 = g.value.shift(1), g.year.shift(1)
    ok = v1.notna() & ((obs.year - y1) <= max_gap)
    gains = ((obs.value - v1) / (obs.year - y1) * direction)[ok].to_numpy()
    start = v1[ok].to_numpy()
    if len(gains) == 0:
        return {"pace": float("nan"), "n": 0, "band": float("nan"), "quantile": quantile}
    scale = abs(level) if level not in (0, None) and not pd.isna(level) else np.nanstd(start)
    b = band
    while True:
        sel = np.abs(start - level) <= b * scale
        if sel.sum() >= min_obs or b > 64:
            break
        b *= 2
    if sel.sum() < min_obs:
        sel, b = np.ones(len(gains), bool), float("inf")
    p = float(np.quantile(gains[sel], quantile))
    return {"pace": max(p, 0.0), "n": int(sel.sum()), "band": b, "quantile": quantile}


@dataclass
class Plan:
    """The least improvement that reaches a target, and whether it does.

    Attributes
    ----------
    table : DataFrame
        One row per indicator: ``node, name, indicator, measure, direction, current, change, new,
        pace_per_year, max_change, at_bound, normalised_change, cost``; ``change`` is in the
        indicator's natural unit (negative for indicators where lower is better).
    reachable : bool
    target_rank, target_score : the target (one of them may be None)
    rank, score : the unit's rank and score now
    achieved_rank, achieved_score : after applying the plan to the data and rebuilding
    best_rank, best_score : with every indicator at its bound (what is reachable at all)
    years : years to the deadline (None: no pace bound)
    message : str
    """

    unit: str
    index: str
    table: pd.DataFrame
    reachable: bool
    target_rank: int | None
    target_score: float | None
    rank: int
    score: float
    achieved_rank: int | None
    achieved_score: float | None
    best_rank: int
    best_score: float
    years: float | None
    method: str
    message: str
    rebuilt: Any = field(default=None, repr=False)

    def summary(self, top: int | None = None) -> str:
        """``internet use +3.1 points, fixed broadband +9 per 100`` style text."""
        t = self.table[self.table.change.abs() > 1e-9].sort_values("normalised_change", ascending=False)
        if top:
            t = t.head(top)
        parts = [f"{r.name} {_fmt_change(r.change)} {_short_measure(r.measure)}".strip() for r in t.itertuples()]
        return ", ".join(parts) if parts else "no change needed"


def _fmt_change(x: float) -> str:
    ax = abs(x)
    digits = 0 if ax >= 100 else 1 if ax >= 1 else 3 if ax >= 0.01 else 4
    return f"{x:+,.{digits}f}"


def _short_measure(measure: str) -> str:
    m = (measure or "").strip()
    if m.startswith("%"):
        if any(w in m for w in ("population", "households", "individuals", "people")):
            return "points"
        return f"points ({m})"
    if m.startswith("index"):
        return "index points"
    return m


def normaliser(index):
    """``f(raw (..., n_ind)) -> normalised`` for one unit with the index's fitted parameters, and each
    indicator's method (the plan's normalisation groups, :func:`digimeter.spec.plan.normalise_groups`)."""
    from ..spec.plan import normalise_groups

    icodes = list(index.stages["normalised"].columns)
    dirs = np.array([index.params["directions"][c] for c in icodes], dtype=float)
    groups = list(normalise_groups(index.spec, icodes))
    for g in groups:
        if g.method in ("rank", "percentile"):
            raise SpecError(f"what_it_takes needs a normalisation that maps each value on its own; "
                            f"'{g.method}' depends on the other units", field=g.where + ".method", value=g.method,
                            fix="use a variant with minmax, zscore or goalposts")
    fits = index.params["normalise_fit"]
    methods = [""] * len(icodes)
    for g in groups:
        for j in g.cols:
            methods[j] = g.method

    def apply(x):
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return norm.apply_groups(groups, x, dirs, fixed=fits)[0]

    return apply, methods


def _new_rank(scores: pd.Series, unit: str) -> int:
    s = scores.dropna()
    return int(1 + (s.drop(unit) > s[unit] + 1e-12).sum())


def what_it_takes(index, unit: str, *, rank: int | None = None, score: float | None = None,
                  by: int | None = None, costs: dict[str, float] | pd.Series | None = None, store=None,
                  quantile: float = 0.9, band: float = 0.10, max_iter: int = 6) -> Plan:
    """The least total improvement of a unit's indicators that lifts it to a target rank or score.

    Parameters
    ----------
    index : Index
    unit : str
    rank : int, optional
        Target rank (reach this rank or better).
    score : float, optional
        Target index score.
    by : int, optional
        Deadline year: each indicator may improve by at most its plausible pace (see :func:`pace`)
        times ``by - index.year`` years. Without it only the valid range bounds the change.
    costs : mapping of indicator node -> cost per normalised point, optional
        Default 1 for every indicator (the least total improvement in normalised units).
    store : Store, optional
        For the indicators' history (pace) and valid ranges; default: the user's store.
    quantile, band
        Pace settings (the 90th percentile of annual gains from within +/-10 % of the unit's level).

    Returns
    -------
    Plan
        The change per indicator in its natural unit, and the rank reached when the changed data are
        rebuilt with :func:`digimeter.build.compute` (other units unchanged); when the target is out
        of reach within the bounds, ``reachable`` is False and ``best_rank`` is the best rank the
        bounds allow.

    Notes
    -----
    Each indicator's normalised value is a function of its raw value with the index's fitted
    normalisation parameters; the bounds keep the raw value within the indicator's valid range (the
    store's min/max, and the goalposts, beyond which nothing is gained). When every aggregation is
    arithmetic the score is linear in the normalised values (effective weights) and the problem is a
    linear programme (:func:`scipy.optimize.linprog`); otherwise the rebuilt tree score is used with
    SLSQP (:func:`scipy.optimize.minimize`). For normalisations fitted on the data (min-max, z-scores)
    a change can move the fitted parameters; the plan is therefore verified by a full rebuild and the
    score target raised by any shortfall, up to ``max_iter`` times.
    """
    if (rank is None) == (score is None):
        raise DataError("give exactly one target: rank or score", field="rank/score",
                        fix="e.g. --rank 25 or --score 80")
    code = index.ranked_code(unit)
    info, base, dirs, years, paces = _unit_inputs(index, code, by, store, quantile, band)
    apply, nmethod = normaliser(index)
    room = _room(index, info, base, dirs, nmethod, years, paces)
    p = _problem(index, code, info, base, dirs, room, apply, costs)
    r_now = int(index.rank[code])
    target_s = _target_score(index, code, rank, score)
    best = p.rebuild(p.ub)   # every indicator at its bound: what is reachable at all
    best_rank = _new_rank(best[0].score, code)
    best_score = float(best[0].score[code])
    ix2, d_raw, raw_new, reached = _reach(p, rank, score, target_s, max_iter)
    target_txt = f"rank {rank}" if rank is not None else f"score {score:g}"
    when = f" by {by}" if by is not None else ""
    if reached:
        msg = (f"{code} can reach {target_txt}{when} in {index.name}: rank {_new_rank(ix2.score, code)} "
               f"(score {float(ix2.score[code]):.4g}, now {p.s_now:.4g}, rank {r_now}).")
    else:
        ix2, d_raw, raw_new = best
        msg = (f"{target_txt} is out of reach{when} within the bounds: the best reachable is rank "
               f"{best_rank} (score {best_score:.4g}; now rank {r_now}, score {p.s_now:.4g}).")
    table = _plan_table(p, info, d_raw, raw_new, paces)
    return Plan(unit=code, index=index.name, table=table, reachable=bool(reached), target_rank=rank,
                target_score=None if rank is not None else float(score), rank=r_now, score=p.s_now,
                achieved_rank=_new_rank(ix2.score, code), achieved_score=float(ix2.score[code]),
                best_rank=best_rank, best_score=best_score, years=years,
                method="linprog" if p.linear else "SLSQP", message=msg, rebuilt=ix2)


def _unit_inputs(index, code: str, by: int | None, store, quantile: float, band: float):
    """The unit's indicators (:func:`~digimeter.benchmark.peer_groups.indicator_info`), their imputed raw values,
    directions, the years to the deadline and each indicator's pace (read from ``store``, default: the
    user's store)."""
    own = store is None
    if own:
        from ..store import open_store
        store = open_store()
    try:
        info = indicator_info(index, store)
        icodes = list(info.index)
        base = index.stages["imputed"].reindex(columns=icodes).loc[code].to_numpy(dtype=float) \
            if code in index.stages["imputed"].index else np.full(len(icodes), np.nan)
        dirs = info.direction.to_numpy(dtype=float)
        years = None if by is None else max(float(by - index.year), 0.0)
        paces = []
        hist = None
        if years is not None:
            hist = store.observations(indicators=list(dict.fromkeys(info.indicator)))
            hist = hist[hist.unit.isin(store.units(kind="country").code)]
            hist = {k: v for k, v in hist.groupby("indicator")}
        for j, c in enumerate(icodes):
            if years is None or np.isnan(base[j]):
                paces.append({"pace": np.nan, "n": 0})
            else:
                empty = pd.DataFrame(columns=["unit", "indicator", "year", "value"])
                paces.append(pace(store, info.at[c, "indicator"], base[j], direction=int(dirs[j]),
                                  quantile=quantile, band=band, until=index.year,
                                  history=hist.get(info.at[c, "indicator"], empty)))
    finally:
        if own:
            store.close()
    return info, base, dirs, years, paces


def _room(index, info: pd.DataFrame, base: np.ndarray, dirs: np.ndarray, nmethod: list[str],
          years: float | None, paces: list[dict]) -> np.ndarray:
    """Raw room: how far each indicator may move in its better direction (valid range, upper goalpost,
    pace x years). An indicator without a valid range in that direction may move up to the best value any
    unit of the index has: beyond it the data say nothing, and a normalisation fitted on the data (min-max,
    z-scores) would rescale every unit around the new extreme."""
    room = np.full(len(info.index), np.inf)
    observed = index.stages["imputed"]
    for j, c in enumerate(info.index):
        if np.isnan(base[j]):
            room[j] = 0.0
            continue
        lim = info.at[c, "max_value"] if dirs[j] > 0 else info.at[c, "min_value"]
        if pd.isna(lim) and c in observed:
            col = pd.to_numeric(observed[c], errors="coerce")
            lim = col.max() if dirs[j] > 0 else col.min()
        if not pd.isna(lim):
            room[j] = min(room[j], max((lim - base[j]) * dirs[j], 0.0))
        if nmethod[j] == "goalposts":
            m = index.meta().set_index("code")
            gp = m.at[c, "goalpost_hi"] if dirs[j] > 0 else m.at[c, "goalpost_lo"]
            room[j] = min(room[j], max((gp - base[j]) * dirs[j], 0.0))
        if years is not None:
            p = paces[j]["pace"]
            room[j] = min(room[j], (0.0 if np.isnan(p) else p) * years)
    return room


@dataclass
class _Problem:
    """The optimisation for one unit: variables are the normalised improvements ``t`` of its indicators,
    within ``[0, ub]``, at cost ``c``; ``slope`` maps a raw improvement to a normalised one."""

    index: Any
    code: str
    icodes: list[str]
    base: np.ndarray
    dirs: np.ndarray
    room: np.ndarray
    slope: np.ndarray
    ub: np.ndarray
    c: np.ndarray
    ynow: np.ndarray
    tree: list[Agg]
    linear: bool
    ew: np.ndarray | None
    s_now: float

    def score_of(self, t: np.ndarray) -> float:
        return float(evaluate_unit(self.index, self.ynow + t, self.code, self.tree)[self.index.spec.name])

    def solve(self, target_s: float) -> tuple[np.ndarray, bool]:
        """The least-cost ``t`` reaching ``target_s`` by the tree score, and whether the bounds allow it."""
        from scipy import optimize

        ub, c, score_of = self.ub, self.c, self.score_of
        need = target_s - self.s_now
        if need <= 0:
            return np.zeros(len(self.icodes)), True
        if self.linear:
            res = optimize.linprog(c, A_ub=-self.ew[None, :], b_ub=[-need],
                                   bounds=list(zip(np.zeros(len(ub)), ub)), method="highs")
            if res.status == 0:
                return np.clip(res.x, 0, ub), True
            return ub.copy(), False
        if score_of(ub) < target_s - 1e-12:
            return ub.copy(), False
        # optimise the share of each indicator's room used (all variables on [0, 1])
        free = ub > 0
        cu = c * ub
        scale = float(cu[free].sum()) or 1.0
        gap_s = max(target_s - self.s_now, 1e-9)
        cons = [{"type": "ineq", "fun": lambda z: (score_of(z * ub) - target_s) / gap_s}]
        res = optimize.minimize(lambda z: float(cu @ z) / scale, np.where(free, 0.5, 0.0),
                                jac=lambda z: cu / scale, method="SLSQP",
                                bounds=[(0.0, 1.0 if f else 0.0) for f in free], constraints=cons,
                                options={"maxiter": 300, "ftol": 1e-12})
        t = np.clip(res.x, 0, 1) * ub
        if score_of(t) < target_s - 1e-9:
            # fall back to scaling the upper bounds until the target is met (bisection)
            lo_, hi_ = 0.0, 1.0
            for _ in range(60):
                mid = (lo_ + hi_) / 2
                if score_of(ub * mid) >= target_s:
                    hi_ = mid
                else:
                    lo_ = mid
            t = ub * hi_
        return t, True

    def rebuild(self, t: np.ndarray):
        """The index rebuilt with the unit's raw values moved by ``t`` (other units unchanged):
        ``(Index, raw change, new raw values)``."""
        from ..build import compute

        index, slope, room = self.index, self.slope, self.room
        d_raw = np.where(slope > 0, t / np.where(slope > 0, slope, 1.0), 0.0)
        d_raw = np.minimum(d_raw, np.where(np.isfinite(room), room, d_raw))
        new_vals = index.panel.values.copy()
        raw_new = self.base + self.dirs * d_raw
        m = index.meta().set_index("code")
        for j, k in enumerate(self.icodes):
            if d_raw[j] > 0:
                new_vals.at[self.code, m.at[k, "indicator"]] = raw_new[j]
        panel2 = dataclasses.replace(index.panel, values=new_vals)
        ix2 = compute(index.spec, panel2, unit_meta=index.params.get("unit_meta"),
                      directions=index.params["directions"])
        return ix2, d_raw, raw_new


def _problem(index, code: str, info: pd.DataFrame, base: np.ndarray, dirs: np.ndarray, room: np.ndarray,
             apply, costs) -> _Problem:
    """The bounds in normalised points, the costs, the tree and (all arithmetic) the effective weights."""
    icodes = list(info.index)
    # normalised slope per raw unit of improvement (linear within the bounds for the linear methods)
    y0 = apply(base[None, :])[0]
    probe = np.where(np.isfinite(room) & (room > 0), room, 1.0)
    y1 = apply((base + dirs * probe)[None, :])[0]
    slope = np.where(probe > 0, (y1 - y0) / probe, 0.0)
    slope = np.nan_to_num(slope, nan=0.0)
    ub = np.where(np.isfinite(room), room * slope, np.inf)  # normalised room
    ub = np.where(np.isnan(base), 0.0, ub)
    if np.isinf(ub).any():
        ub = np.where(np.isinf(ub), 1e6, ub)
    c = np.ones(len(icodes))
    if costs is not None:
        cs = pd.Series(costs, dtype=float)
        unknown = sorted(set(cs.index) - set(icodes))
        if unknown:
            raise DataError(f"costs for unknown indicator node(s): {', '.join(unknown)}", field="costs",
                            fix=f"use node codes: {', '.join(icodes)}")
        c = cs.reindex(icodes).fillna(1.0).to_numpy()
    ynow = index.scores.loc[code, icodes].to_numpy(dtype=float)
    tree = aggregate_nodes(index)
    linear = all(a.method == "arithmetic" for a in tree)
    ew = _effective_weights(index, code, tree, icodes) if linear else None
    return _Problem(index=index, code=code, icodes=icodes, base=base, dirs=dirs, room=room, slope=slope, ub=ub,
                    c=c, ynow=ynow, tree=tree, linear=linear, ew=ew, s_now=float(index.score[code]))


def _effective_weights(index, code: str, tree: list[Agg], icodes: list[str]) -> np.ndarray:
    """Effective weights of the unit's indicators in an all-arithmetic tree (over its available
    indicators)."""
    eff = {index.spec.name: 1.0}
    for a in reversed(tree):
        xs = index.scores.loc[code, a.kids].to_numpy(dtype=float)
        ok = ~np.isnan(xs) & (a.w > 0)
        w = np.where(ok, a.w, 0.0)
        w = w / w.sum() if w.sum() > 0 else w
        for j, k in enumerate(a.kids):
            eff[k] = eff.get(a.code, 0.0) * w[j]
    return np.array([eff.get(k, 0.0) for k in icodes])


def _target_score(index, code: str, rank: int | None, score: float | None) -> float:
    """The target score; from a target rank: the rank-th best score among the other units."""
    others = index.score.dropna().drop(code).sort_values(ascending=False)
    if rank is not None:
        if rank < 1:
            raise DataError("target rank must be >= 1", field="rank", value=rank)
        return float(others.iloc[rank - 1]) if rank <= len(others) else -np.inf
    return float(score)


def _met(ix2, code: str, rank: int | None, score: float | None) -> bool:
    if rank is not None:
        return _new_rank(ix2.score, code) <= rank
    return float(ix2.score[code]) >= score - 1e-9


def _reach(p: _Problem, rank: int | None, score: float | None, target_s: float, max_iter: int):
    """Solve for ``target_s``, rebuild, and raise the score target by any shortfall (fitted normalisation
    parameters can move) up to ``max_iter`` times: ``(Index, raw change, new raw values, reached)``."""
    code = p.code
    goal = target_s
    t, ok = p.solve(goal)
    ix2, d_raw, raw_new = p.rebuild(t)
    it = 0
    while ok and not _met(ix2, code, rank, score) and it < max_iter:
        it += 1
        if rank is not None:
            oth = ix2.score.dropna().drop(code).sort_values(ascending=False)
            short = float(oth.iloc[rank - 1] - ix2.score[code])
        else:
            short = float(score - ix2.score[code])
        goal = goal + max(short, 1e-9) * 1.0 + 1e-9
        t, ok = p.solve(goal)
        ix2, d_raw, raw_new = p.rebuild(t)
    return ix2, d_raw, raw_new, _met(ix2, code, rank, score)


def _plan_table(p: _Problem, info: pd.DataFrame, d_raw: np.ndarray, raw_new: np.ndarray,
                paces: list[dict]) -> pd.DataFrame:
    """One row per indicator: the change in its natural unit and in normalised points, and its bounds."""
    dirs, room, slope = p.dirs, p.room, p.slope
    tn = np.where(slope > 0, d_raw * slope, 0.0)
    return pd.DataFrame({
        "node": p.icodes, "name": info.name.to_numpy(), "indicator": info.indicator.to_numpy(),
        "measure": info.measure.to_numpy(), "direction": dirs.astype(int), "current": p.base,
        "change": dirs * d_raw, "new": raw_new, "pace_per_year": [x["pace"] for x in paces],
        "max_change": dirs * np.where(np.isfinite(room), room, np.nan),
        "at_bound": np.isfinite(room) & (d_raw >= room - 1e-9) & (room > 0),
        "normalised_change": tn, "cost": p.c * tn})
