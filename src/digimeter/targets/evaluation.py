"""Evaluate a scenario: every target answered with P(met) as the target defines it (``hold``: in the
deadline year; ``reach``: in any year up to it), the paces (required, achieved, fastest from a similar
level) and a status in words and as a code. See :mod:`digimeter.targets` for the method."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from .. import forecast as F
from ..errors import DataError, DigimeterError, NotFoundError, SpecError
from .forecaster import STALE_YEARS, Forecaster, IndicatorForecast
from .index import INDEX_SAMPLES, IndexFeasibility, index_feasibility
from .scenario import RankScoreRef, Target, load_scenario

__all__ = ["ON_TRACK", "LIKELY_SLIP", "COLUMNS", "p_met_of", "status_code", "status_text", "evaluate", "group_units"]

#: probability from which a target counts as on track
ON_TRACK = 0.8


# --------------------------------------------------------------------------------------------
# paces and status
# --------------------------------------------------------------------------------------------

def _sign(comparator: str) -> int:
    return 1 if comparator in (">=", ">") else -1


def _met(value, threshold, comparator) -> bool:
    return bool(F.comparison(comparator)(value, threshold))


def _fastest(long: pd.DataFrame, level: float, sign: int, tol: float, window: int = 5, memo: dict | None = None):
    """Fastest pace in the target's direction from near ``level`` (pace, unit, window). ``memo``: a dict
    kept across calls on the same ``long`` (each unit of a group), so its episodes are made once."""
    if long.empty or not np.isfinite(level):
        return np.nan, None, window
    memo = {} if memo is None else memo
    if ("d", sign) not in memo:
        memo[("d", sign)] = long.assign(value=sign * long["value"])
    d = memo[("d", sign)]
    found = []  # the episode length with the most units wins (biennial series have no 5-year episodes)
    for w in (window, window - 1, window + 1):
        if (sign, w) not in memo:
            memo[(sign, w)] = F.pace_episodes(d, window=w)
        best = F.fastest_pace_from_level(d, sign * level, window=w, tol=tol, episodes=memo[(sign, w)])
        if len(best):
            found.append((len(best), -abs(w - window), w, best))
    if not found:
        return np.nan, None, window
    _, _, w, best = max(found, key=lambda x: (x[0], x[1]))
    return float(sign * best["pace"].iloc[0]), str(best["unit"].iloc[0]), w


#: below this P(met), a target met now is "likely to slip" (between it and :data:`ON_TRACK`: "may slip")
LIKELY_SLIP = 0.5


def p_met_of(forecast, threshold: float, deadline: int, comparator: str = ">=", met: str = "hold"
             ) -> tuple[float, float, float]:
    """``(p_met, p_at_deadline, p_reach)`` of one forecast (a :class:`digimeter.forecast.ForecastResult`).

    ``p_at_deadline``: the share of predictive draws that meet the target in the deadline year;
    ``p_reach``: the share that meet it in some year up to the deadline, or now;
    ``p_met``: the one ``met`` names (``hold`` -> ``p_at_deadline``, ``reach`` -> ``p_reach``).
    """
    if met not in ("hold", "reach"):
        raise SpecError(f"unknown definition of met {met!r}", field="met", value=met, fix="'hold' or 'reach'")
    p_reach = F.prob_reach(forecast, threshold, deadline, comparator, mode="any")
    p_at = F.prob_reach(forecast, threshold, deadline, comparator, mode="at")
    return (p_at if met == "hold" else p_reach), p_at, p_reach


def status_code(p_met: float, already: bool, req: float, fastest: float, sign: int, p_at: float,
                 deadline: int, value: float, year: int, achieved: float = np.nan) -> tuple[str, dict]:
    """The status as a machine-readable code and its parameters (what :func:`status_text` says in words).

    ``p_met`` is P(met as the target defines it: in the deadline year for ``hold``, in any year up to
    it for ``reach``); ``already`` whether it is met now (the latest value); ``p_at`` P(met in the
    deadline year). A target met now counts as met only when ``p_met`` is on track:

    Codes: ``no_forecast`` (too little data); ``already_met`` (met now and ``p_met`` >= :data:`ON_TRACK`;
    ``value``, ``year``, ``p``; for a ``reach`` target that may not hold, ``p_still`` and ``deadline``);
    ``met_now_may_slip`` / ``met_now_likely_to_slip`` (met now, but ``p_met`` below :data:`ON_TRACK` /
    below :data:`LIKELY_SLIP`: ``value``, ``year``, ``p``, ``deadline``); ``on_track``,
    ``out_of_reach``, ``at_risk`` (``p``), ``needs_acceleration``. :func:`_row_for` and
    :func:`_eval_index` add paces; ``no_data``, ``no_forecast_stale`` (``year``) and group rows
    (``met``, ``n_units``) are set where they arise.
    """
    if not np.isfinite(p_met):
        return "no_forecast", {}
    if already:
        params = {"value": float(value), "year": int(year), "p": float(p_met)}
        if p_met < ON_TRACK:
            params.update(deadline=int(deadline))
            return ("met_now_likely_to_slip" if p_met < LIKELY_SLIP else "met_now_may_slip"), params
        if np.isfinite(p_at) and p_at < ON_TRACK and year < deadline:
            params.update(p_still=float(p_at), deadline=int(deadline))
        return "already_met", params
    if p_met >= ON_TRACK:
        return "on_track", {"p": float(p_met)}
    if np.isfinite(req) and np.isfinite(fastest) and sign * req > sign * fastest:
        return "out_of_reach", {"p": float(p_met)}
    if np.isfinite(req) and np.isfinite(achieved) and sign * req <= sign * achieved:
        return "at_risk", {"p": float(p_met)}
    return "needs_acceleration", {"p": float(p_met)}


def status_text(p_met: float, already: bool, req: float, fastest: float, sign: int, p_at: float,
            deadline: int, value: float, year: int, achieved: float = np.nan) -> str:
    code, k = status_code(p_met, already, req, fastest, sign, p_at, deadline, value, year, achieved)
    if code == "no_forecast":
        return "no forecast (too little data)"
    if code == "already_met":
        s = f"already met ({value:.4g} in {year})"
        if "p_still" in k:
            s += f"; may slip back: P(still met in {deadline}) = {p_at:.2f}"
        return s
    if code in ("met_now_may_slip", "met_now_likely_to_slip"):
        how = "likely to slip" if code == "met_now_likely_to_slip" else "may slip"
        return f"met now ({value:.4g} in {year}), {how} by {deadline}: P = {p_met:.2f}"
    if code == "on_track":
        return "on track"
    if code == "out_of_reach":
        return "out of reach at historical paces"
    if code == "at_risk":
        return (f"at risk (P = {p_met:.2f}): the last 5 years' pace would suffice, but the forecast "
                "expects growth to slow")
    return "needs acceleration"


# --------------------------------------------------------------------------------------------
# evaluate a scenario
# --------------------------------------------------------------------------------------------

COLUMNS = ["target", "unit", "unit_name", "measure", "latest_value", "latest_year", "estimated", "estimated_years",
           "comparator", "threshold", "deadline", "met_definition", "met_now", "p_met", "p_at_deadline", "p_reach",
           "median_crossing_year", "required_pace", "achieved_pace_5y",
           "fastest_pace_similar", "fastest_unit", "status", "status_code", "status_params", "method", "why",
           "source", "note"]


def _unit_names(store) -> dict:
    u = store.units()
    return dict(zip(u.code, u.name))


def evaluate(scenario, store, *, seed: int = 0, n_samples: int = 2000, index_samples: int = INDEX_SAMPLES,
             progress: Callable[[str], None] | None = None, forecaster: Forecaster | None = None) -> pd.DataFrame:
    """Answer every target of a scenario: one row per target (and per unit of a group target).

    Columns
    -------
    target, unit, unit_name, measure : what is measured for whom
    latest_value, latest_year : the latest observation (for score/rank targets: the index built on the
        latest data)
    estimated, estimated_years : whether the latest value is an estimate, and the years of the unit's
        history that are (regions' values read onto today's layout, or a parent's value; see
        :meth:`Forecaster.group`)
    comparator, threshold, deadline : the target (a ``rank_score`` threshold is resolved to a number)
    met_definition : what "met" means for this target: ``hold`` (the state in the deadline year, the
        default) or ``reach`` (in any year up to the deadline)
    met_now : whether the latest value meets it (a fact, not the answer)
    p_met : P(the target is met as ``met_definition`` defines it): ``p_at_deadline`` for ``hold``,
        ``p_reach`` for ``reach``. The headline probability.
    p_at_deadline : P(it is met in the deadline year itself)
    p_reach : P(it is met in some year up to the deadline; 1 if met now)
    median_crossing_year : median year the threshold is first met (None: not by the forecast horizon)
    required_pace : change per year needed from the latest value to the threshold by the deadline
    achieved_pace_5y : change per year over the last 5 years
    fastest_pace_similar, fastest_unit : the fastest change per year (over 5 years) any country achieved
        from a level near the latest value, in the target's direction, and which country
    status : plain words (already met / met now, likely to slip by 2028: P = 0.32 / on track / at risk /
        needs acceleration / out of reach at historical paces). Met now counts as met only when
        ``p_met`` is on track (>= :data:`ON_TRACK`).
    status_code, status_params : the same, machine-readable (for translations): a code (``already_met``,
        ``met_now_may_slip``, ``met_now_likely_to_slip``, ``on_track``, ``at_risk``, ``needs_acceleration``,
        ``out_of_reach``, ``no_forecast``, ``no_forecast_stale``, ``no_data``) and a dict of its numbers
        (``p``, ``value``, ``year``, ``p_still``, ``deadline``, ``required_pace``, ``achieved_pace``,
        ``pace_unit``, ``met``, ``n_units``)
    method, why : the forecasting method and why it was chosen (from the backtest)
    source : the source of the threshold; note : data caveats (thin years, stale data, calibration,
        estimated values)

    Group targets add a row ``unit = "all"``: P(every unit meets it), from the units' joint draws when
    their past errors moved together (else the product, as for independent units); its note gives the
    bounds that hold whatever their dependence.

    ``forecaster``: a :class:`Forecaster` to reuse (its forecasts are cached per indicator).

    Forecasts: see the module docstring (pooled calibration across countries, thin years left out of
    the calibration).
    """
    sc = load_scenario(scenario)
    horizon = max(sc.deadline, max(_latest_year_hint(store), 2000) + 1)
    if forecaster is not None and forecaster.to_year < horizon:
        raise DataError(f"the forecaster reaches {forecaster.to_year}, the scenario needs {horizon}",
                        field="forecaster", fix=f"make it with to_year >= {horizon}")
    fc = forecaster or Forecaster(store, horizon, seed=seed, n_samples=n_samples, progress=progress)
    names = _unit_names(store)
    # made here rather than aside: the forecasts that much more work here waits for (an index's, or
    # the countries' whose calibration a group of regions borrows)
    prefer = [c for t in sc.targets if t.kind != "indicator" or t.unit is None for c in _target_indicators(t, store)]
    fc.prefetch(_country_indicators(sc), prefer=prefer)
    index_cache: dict = {}
    # targets whose forecasts are made here first, while the second process of prefetch makes the others
    order = sorted(range(len(sc.targets)), key=lambda i: fc.pending(_target_indicators(sc.targets[i], store)))
    answers: dict = {}
    try:
        for i in order:
            t = sc.targets[i]
            if progress:
                progress(f"target {t.id}")
            if t.kind == "indicator":
                answers[i] = _eval_indicator(t, store, fc, names)
            else:
                answers[i] = [_eval_index(t, store, fc, names, index_cache, index_samples, seed)]
        fc.collect()   # nothing left running (the forecasts made aside were all asked for by now, as a rule)
    except BaseException:
        fc.close()
        raise
    df = pd.DataFrame([r for i in range(len(sc.targets)) for r in answers[i]])
    return df.reindex(columns=COLUMNS)


def _target_indicators(t: Target, store) -> list:
    """The codes of the indicators whose every-country forecasts a target uses (see :func:`_country_indicators`)."""
    from ..spec import load_spec

    try:
        if t.kind == "indicator":
            return [store.indicator(t.indicator)["code"]]
        return [store.indicator(n.indicator)["code"] for n in load_spec(t.spec).indicator_nodes()]
    except DigimeterError:
        return []


def _country_indicators(sc) -> list:
    """The indicators whose every-country forecast the scenario's targets use: their own (a country's
    target, or the calibration a group of regions borrows) and those of the specs of score/rank targets."""
    from ..spec import load_spec

    out = []
    for t in sc.targets:
        if t.kind == "indicator":
            out.append(t.indicator)
        else:
            try:
                out += [n.indicator for n in load_spec(t.spec).indicator_nodes()]
            except DigimeterError:
                pass   # reported where the target is evaluated
    return list(dict.fromkeys(out))


def _latest_year_hint(store) -> int:
    r = store.query("SELECT max(year) AS y FROM observations")
    return int(r.y.iloc[0]) if len(r) and pd.notna(r.y.iloc[0]) else 2024


def group_units(t: Target, store) -> list:
    """The units a group target answers for: every unit of its kind under its parent still alive at the deadline."""
    u = store.units(kind=t.units.kind, parent=t.units.parent)
    if u.empty:
        raise SpecError(f"target '{t.id}': no units of kind '{t.units.kind}' under '{t.units.parent}'",
                        field=f"target '{t.id}'.units", fix="check units.parent / units.kind (`digimeter data units`)")
    alive = u.valid_to.isna() | (pd.to_numeric(u.valid_to, errors="coerce") >= t.deadline)
    return u.code[alive].tolist()


def _row_for(t: Target, unit: str, ifc: IndicatorForecast, long: pd.DataFrame, names: dict, fastest_pool: pd.DataFrame,
             notes_extra=(), memo: dict | None = None) -> dict:
    thr = float(t.threshold)
    base = {"target": t.id, "unit": unit, "unit_name": names.get(unit, unit), "measure": t.indicator,
            "comparator": t.comparator, "threshold": thr, "deadline": t.deadline, "met_definition": t.met,
            "source": t.source}
    try:
        r = ifc.result(unit)
    except NotFoundError:
        return {**base, "p_met": np.nan, "p_at_deadline": np.nan, "status": "no data",
                "status_code": "no_data", "status_params": {}, "note": f"no value of {t.indicator} for {unit}"}
    ay, av = int(r.anchor_year), float(r.anchor_value)
    est_years = ifc.estimated_years(unit)
    notes = list(r.notes) + ifc.estimated_notes(unit) + list(ifc.notes) + list(notes_extra)
    base.update(estimated=ay in est_years, estimated_years=est_years)
    if ay < t.deadline - STALE_YEARS:
        return {**base, "latest_value": av, "latest_year": ay, "p_met": np.nan, "p_at_deadline": np.nan,
                "met_now": _met(av, thr, t.comparator),
                "status": f"no forecast: latest value is from {ay}",
                "status_code": "no_forecast_stale", "status_params": {"year": ay}, "note": "; ".join(notes)}
    already = _met(av, thr, t.comparator)
    p_met, p_at, p_reach = p_met_of(r, thr, t.deadline, t.comparator, t.met)
    cy = F.crossing_year(r, thr, t.comparator)
    hist = ifc.history.loc[unit].dropna() if unit in ifc.history.index else pd.Series(dtype=float)
    ach = F.achieved_pace(hist, years=5) if len(hist) >= 2 else np.nan
    req = F.required_pace(av, thr, t.deadline - ay)
    sign = _sign(t.comparator)
    lo, hi = ifc.lo, ifc.hi
    tol = 0.05 * (hi - lo) if lo is not None and hi is not None else 0.1 * abs(av) + 1e-9
    fast, fast_u, fw = _fastest(fastest_pool, av, sign, tol, memo=memo)
    if fw != 5 and np.isfinite(fast):
        notes.append(f"fastest pace measured over {fw}-year episodes (the series is not annual)")
    status = status_text(p_met, already, req, fast, sign, p_at, t.deadline, av, ay, ach)
    code, params = status_code(p_met, already, req, fast, sign, p_at, t.deadline, av, ay, ach)
    if status.startswith(("needs", "out of")) and np.isfinite(ach) and np.isfinite(req):
        status += f": needs {req:+.3g}/yr against {ach:+.3g}/yr achieved"
        params.update(required_pace=float(req), achieved_pace=float(ach), pace_unit="per_year")
    return {**base, "latest_value": av, "latest_year": ay, "met_now": already, "p_met": p_met,
            "p_at_deadline": p_at, "p_reach": p_reach,
            "median_crossing_year": (ay if already else cy) if (already or cy is not None) else None,
            "required_pace": req if not already else 0.0, "achieved_pace_5y": ach,
            "fastest_pace_similar": fast, "fastest_unit": fast_u, "status": status,
            "status_code": code, "status_params": params, "method": r.model,
            "why": f"{r.why}; intervals {ifc.calibrated_on}", "note": "; ".join(dict.fromkeys(notes))}


def _eval_indicator(t: Target, store, fc: Forecaster, names: dict) -> list[dict]:
    meta = store.indicator(t.indicator)
    code = meta["code"]
    # the pool for "fastest pace from a similar level": every country's series
    pool = store.observations(indicators=[code], units=fc.countries())[["unit", "year", "value"]]
    if t.unit is not None:
        unit = store.unit(t.unit)["code"]
        kind = store.unit(unit)["kind"]
        if kind == "country":
            ifc = fc.country(code)
        else:
            parent = store.unit(unit)["parent"]
            group = store.units(kind=kind, parent=parent).code.tolist() if parent else [unit]
            ifc = fc.group(code, group, f"{kind}s of {parent}")
        return [_row_for(t, unit, ifc, pool, names, pool)]
    units = group_units(t, store)
    label = f"every {t.units.kind} of {t.units.parent}"
    ifc = fc.group(code, units, label)
    if pool.empty:  # e.g. a regional-only indicator: the regions themselves (on today's layout) are the pool
        pool = ifc.history.reindex(units).stack().rename("value").reset_index()
        pool.columns = ["unit", "year", "value"]
    memo: dict = {}   # the pool's pace episodes, made once for every unit
    rows = [_row_for(t, u, ifc, pool, names, pool, memo=memo) for u in units]
    fin = [r for r in rows if np.isfinite(r.get("p_met", np.nan))]
    ps = np.array([r["p_met"] for r in fin])
    n_all = len(units)
    if len(ps):
        indep = float(np.prod(ps))
        lo_b = float(max(0.0, ps.sum() - (len(ps) - 1)))
        hi_b = float(ps.min())
        rho = ifc.base.common_shock
        thr = float(t.threshold)
        mode = "at" if t.met == "hold" else "any"

        def p_every(m):
            """P(every unit meets it) in mode ``m``, from the units' joint draws (sample k of every unit
            is one joint state of the country: a shared shock where their past errors moved together)."""
            hits = [F.reach_draws(ifc.result(r["unit"]), thr, t.deadline, t.comparator, mode=m) for r in fin]
            n = min(len(h) for h in hits)
            return float(np.all([h[:n] for h in hits], axis=0).mean())

        p_at_all, p_reach_all = p_every("at"), p_every("any")
        p_all = p_at_all if mode == "at" else p_reach_all
        met = sum(bool(r.get("met_now")) for r in fin)
        all_now = met == len(ps)
        params = {"p": p_all, "met": int(met), "n_units": int(len(ps))}
        if all_now and p_all < ON_TRACK:
            scode = "met_now_likely_to_slip" if p_all < LIKELY_SLIP else "met_now_may_slip"
            params["deadline"] = int(t.deadline)
            status = (f"met now, {'likely to slip' if p_all < LIKELY_SLIP else 'may slip'} by {t.deadline}: "
                      f"P = {p_all:.2f}")
        else:
            status = ("already met" if all_now else "on track" if p_all >= ON_TRACK else
                      "needs acceleration" if hi_b > 0.05 else "out of reach at historical paces")
            scode = {"already met": "already_met", "on track": "on_track", "needs acceleration": "needs_acceleration",
                     "out of reach at historical paces": "out_of_reach"}[status]
        missing = n_all - len(ps)
        what = "in the deadline year" if mode == "at" else "by the deadline"
        rows.append({"target": t.id, "unit": "all", "unit_name": f"all {len(ps)} {t.units.kind}s with data",
                     "measure": code, "comparator": t.comparator, "threshold": thr, "deadline": t.deadline,
                     "met_definition": t.met, "met_now": all_now, "p_met": p_all, "p_at_deadline": p_at_all,
                     "p_reach": p_reach_all, "source": t.source,
                     "estimated": any(bool(r.get("estimated")) for r in fin),
                     "status": f"{status} ({met} of {len(ps)} meet it now)",
                     "status_code": scode, "status_params": params,
                     "method": ("joint draws with a shared shock" if rho > 0
                                else "joint draws, independent across units"),
                     "note": ((f"P(every unit meets it {what}) = {p_all:.3f} from joint draws whose shared shock "
                               f"matches the correlation of the units' past errors ({rho:.2f}); {indep:.3f} if they "
                               "moved independently" if rho > 0 else
                               f"P(every unit meets it {what}) = {p_all:.3f} from joint draws, independent across "
                               f"units (their past errors did not move together; the product is {indep:.3f})")
                              + f"; whatever their dependence it lies in [{lo_b:.3f}, {hi_b:.3f}] (Frechet bounds)"
                              + (f"; {missing} unit(s) without a forecast left out" if missing else ""))})
    return rows


def _eval_index(t: Target, store, fc: Forecaster, names: dict, cache: dict, n_samples: int, seed: int) -> dict:
    from ..spec import load_spec

    spec = load_spec(t.spec)
    node = t.node or spec.name
    unit = store.unit(t.unit)["code"]
    key = (spec.name, node, t.deadline)
    if key not in cache:
        cache[key] = index_feasibility(spec, store, t.deadline, node=node, n_samples=n_samples, seed=seed,
                                       forecaster=fc)
    fe: IndexFeasibility = cache[key]
    latest = fe.latest
    ly = int(latest.year)
    lscore = float(latest.scores[node].get(unit, np.nan))
    lrank = float(latest.ranks[node].get(unit, np.nan))
    notes = list(fe.notes)
    # the threshold
    if isinstance(t.threshold, RankScoreRef):
        ref = t.threshold.rank_score
        rspec = load_spec(ref.spec)
        if rspec.name == spec.name and (ref.year is None or ref.year == ly) and (ref.node or spec.name) == node:
            ix = latest
        else:
            from ..build import build
            ix = build(rspec, store, year=ref.year)
        col = ref.node or rspec.name
        srt = ix.scores[col].dropna().sort_values(ascending=False)
        if ref.rank > len(srt):
            raise SpecError(f"target '{t.id}': rank_score rank {ref.rank} but only {len(srt)} units are scored",
                            field=f"target '{t.id}'.threshold", fix="use a smaller rank")
        thr = float(srt.iloc[ref.rank - 1])
        notes.insert(0, f"threshold = the {_ordinal(ref.rank)}-best {col} score in {ix.year} "
                        f"({srt.index[ref.rank - 1]}, {thr:.5g}), held fixed")
    else:
        thr = float(t.threshold)
    p_at = float(_index_hits(fe, unit, t, thr).mean())
    if t.kind == "rank":
        value = lrank
        measure = f"{spec.name} rank" + (f" ({node})" if node != spec.name else "")
        series_code = (spec.published or {}).get("rank") if node == spec.name else None
    else:
        value = lscore
        measure = f"{spec.name} score" + (f" ({node})" if node != spec.name else "")
        series_code = (spec.published or {}).get("score") if node == spec.name else None
    already = bool(np.isfinite(value) and _met(value, thr, t.comparator))
    crossing = ly if already else None
    p_reach = 1.0 if already else p_at
    if not already and t.deadline > ly:
        # met in any year up to the deadline: the draws are paths (each unit keeps its quantile rank
        # from year to year), so propagate every year and find each draw's first year met
        hit_years = []
        for y in range(ly + 1, t.deadline + 1):
            ky = (spec.name, node, y)
            if ky not in cache:
                cache[ky] = index_feasibility(spec, store, y, node=node, n_samples=n_samples, seed=seed,
                                              forecaster=fc)
            hit_years.append(_index_hits(cache[ky], unit, t, thr))
        hits = np.column_stack(hit_years)                                   # (draws, years)
        p_reach = float(hits.any(axis=1).mean())
        first = np.where(hits.any(axis=1), ly + 1 + hits.argmax(axis=1), np.inf)
        med = float(np.median(first))
        crossing = int(med) if np.isfinite(med) else None
    p_met = p_at if t.met == "hold" else p_reach
    sign = _sign(t.comparator)
    req = F.required_pace(value, thr, t.deadline - ly) if not already else 0.0
    ach, fast, fast_u = np.nan, np.nan, None
    if series_code:
        long = store.observations(indicators=[series_code])[["unit", "year", "value"]]
        hist = long[long.unit == unit].set_index("year")["value"]
        if len(hist) >= 2:
            ach = F.achieved_pace(hist, years=5)
        tol = 3.0 if t.kind == "rank" else (0.02 if abs(value) <= 1.5 else 0.05 * abs(value))
        fast, fast_u, fw = _fastest(long, value, sign, tol)
        if fw != 5 and np.isfinite(fast):
            notes.append(f"paces of the published {series_code} series; fastest pace over {fw}-year episodes "
                         "(biennial editions)")
    status = status_text(p_met, already, req, fast, sign, p_at, t.deadline, value, ly, ach)
    code, params = status_code(p_met, already, req, fast, sign, p_at, t.deadline, value, ly, ach)
    if t.kind == "rank" and status.startswith(("needs", "out of")) and np.isfinite(ach):
        status += f": needs {req:+.3g} places/yr against {ach:+.3g}/yr achieved"
        params.update(required_pace=float(req), achieved_pace=float(ach), pace_unit="places_per_year")
    q = fe.summary(unit)
    notes.insert(0, f"{t.deadline}: median rank {q.loc[0.5, 'rank']:.0f} (90 % interval "
                    f"{q.loc[0.95, 'rank']:.0f}-{q.loc[0.05, 'rank']:.0f}), median score {q.loc[0.5, 'score']:.4g}")
    return {"target": t.id, "unit": unit, "unit_name": names.get(unit, unit), "measure": measure,
            "latest_value": value, "latest_year": ly, "comparator": t.comparator, "threshold": thr,
            "deadline": t.deadline, "met_definition": t.met, "met_now": already, "p_met": p_met,
            "p_at_deadline": p_at, "p_reach": p_reach, "estimated": False,
            "median_crossing_year": crossing, "required_pace": req, "achieved_pace_5y": ach,
            "fastest_pace_similar": fast, "fastest_unit": fast_u, "status": status,
            "status_code": code, "status_params": params,
            "method": f"index propagation ({len(fe.scores)} draws through spec {spec.name})",
            "why": "every indicator of the spec forecast for every country (calibrated, pooled), the index "
                   "rebuilt per draw with the spec's own method",
            "source": t.source, "note": "; ".join(notes)}


def _index_hits(fe: "IndexFeasibility", unit: str, t: Target, thr: float) -> np.ndarray:
    """Per draw of an index propagation, whether the unit's rank or score meets the target."""
    i = fe.units.index(unit)
    if t.kind == "rank":
        k = thr if t.comparator == "<=" else thr - 1
        return np.nan_to_num(fe.ranks[:, i], nan=np.inf) <= k
    worst = -np.inf if t.comparator in (">=", ">") else np.inf
    return F.comparison(t.comparator)(np.nan_to_num(fe.scores[:, i], nan=worst), thr)


def _ordinal(n: int) -> str:
    suf = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suf}"
