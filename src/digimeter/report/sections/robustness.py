"""Robustness: rank intervals and Sobol' sensitivity indices under alternative specs
(digimeter.uncertainty)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...errors import DigimeterError
from ...i18n import fmt_num
from .. import model
from ..model import ReportContext, Section, peers_of, pillars_of, rank_of, unavailable, unranked


def _factors_for(ctx: ReportContext, umod, ix) -> tuple[Any, str]:
    """The uncertain choices to vary: a shipped factor file for the spec, else the report's default."""
    try:
        shipped = umod.shipped_factors()
    except Exception:  # no shipped factor folder yet
        shipped = {}
    for key in (ix.name, f"{ix.name}-default"):
        if key in shipped:
            return key, ctx._("the shipped factor set '{name}'").format(name=key)
    f = [{"address": "weights", "noise": 0.25},
         {"address": "exclude", "values": [None, *pillars_of(ix)]}]
    return f, ctx._("weights varied by up to ±25% and each pillar left out in turn")


def robustness_section(ctx: ReportContext) -> Section:
    _ = ctx._
    title = _("How robust are the ranks?")
    umod = model.optional("uncertainty")
    if umod is None:
        return unavailable("robustness", title, ctx, "uncertainty", "rank intervals and sensitivity indices")
    sec = Section("robustness", title)
    main = ctx.indices[ctx.spec]
    r, n = rank_of(main, ctx.unit)
    if r is None:
        return unranked(sec, ctx, main)
    factors, described = _factors_for(ctx, umod, main)
    n_samples = ctx.samples["uncertainty"]
    try:
        res = umod.uncertainty(main, factors, n=n_samples, seed=0)
    except DigimeterError as e:
        ctx.errors["uncertainty"] = str(e)
        sec.available = False
        sec.missing.append("rank intervals (" + str(e)[:120] + ")")
        return sec
    sm = res.summary
    root = sm[sm.node == main.name].copy()
    near = root[(root.nominal_rank - r).abs() <= 8]
    peers = set(peers_of(ctx, main))
    shown = root[root.unit.isin(set(near.unit) | peers | {ctx.unit})].copy()
    from ... import charts

    iv = pd.DataFrame({"label": shown.unit.map(ctx.name_of), "unit": shown.unit, "lo": shown.q05_rank,
                       "mid": shown.median_rank, "hi": shown.q95_rank})
    sec.charts["rank_intervals"] = charts.intervals(iv, unit=ctx.unit, x_title=_("rank (median and 5-95% interval)"),
                                                    source=ctx.index_source(main))
    sec.chart_titles["rank_intervals"] = _("Rank intervals on {index}: {unit}, its neighbours and peers").format(
        index=ctx.index_title(main), unit=ctx.unit_name)
    me = sm[sm.unit == ctx.unit]
    sec.tables["intervals"] = pd.DataFrame({
        _("node"): [ctx.node_name(main, c) if c != main.name else ctx.index_title(main) for c in me.node],
        _("nominal rank"): me.nominal_rank.astype("Int64").to_numpy(), _("median rank"): me.median_rank.to_numpy(),
        _("5% rank"): me.q05_rank.to_numpy(), _("95% rank"): me.q95_rank.to_numpy(),
        _("share of samples at the nominal rank"): me.p_nominal_rank.to_numpy()})
    sec.table_titles["intervals"] = _("{unit}'s ranks under {n} alternative specs").format(unit=ctx.unit_name, n=n_samples)
    k = root[root.unit == ctx.unit].iloc[0]
    sec.key_numbers.update({"uncertainty.n": n_samples, "uncertainty.q05_rank": float(k.q05_rank),
                            "uncertainty.median_rank": float(k.median_rank), "uncertainty.q95_rank": float(k.q95_rank)})
    sec.paragraphs.append(_("Varying the choices behind {index} ({factors}; {n} samples, seed 0), {unit}'s rank stays "
                            "between {lo} and {hi} in 90% of the samples (nominal {r}).").format(
        index=ctx.index_title(main), factors=described, n=n_samples, unit=ctx.unit_name,
        lo=fmt_num(k.q05_rank, ctx.lang, 0), hi=fmt_num(k.q95_rank, ctx.lang, 0), r=r))
    try:
        sr = umod.sensitivity(main, factors, n=ctx.samples["sensitivity"], seed=0)
        ind = sr.indices[sr.indices.output.isin(["mean_abs_rank_shift", ctx.unit])].copy()
        ind["output"] = ind.output.map({"mean_abs_rank_shift": _("mean rank shift of all countries"),
                                        ctx.unit: _("rank of {unit}").format(unit=ctx.unit_name)})
        cols = [c for c in ("output", "factor", "S1", "S1_conf", "ST", "ST_conf") if c in ind.columns]
        sec.tables["sobol"] = ind[cols].rename(columns={"output": _("output"), "factor": _("factor")}).reset_index(drop=True)
        sec.table_titles["sobol"] = _("Sobol' sensitivity indices: which choice moves the ranks (S1 first order, ST total)")
        top = ind.sort_values("ST", ascending=False).iloc[0]
        sec.paragraphs.append(_("The choice that moves the ranks most is '{factor}' (total-order Sobol' index {st}).").format(
            factor=top.factor, st=fmt_num(top.ST, ctx.lang, 2)))
    except DigimeterError as e:
        ctx.errors["sensitivity"] = str(e)
        sec.missing.append("sensitivity indices (" + str(e)[:120] + ")")
    return sec
