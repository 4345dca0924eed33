"""Gaps and what it would take: the gap to the leader by pillar and indicator, and the least improvement
that reaches a better rank (digimeter.benchmark)."""

from __future__ import annotations

import pandas as pd

from ...errors import DigimeterError
from ...i18n import fmt_num
from .. import model
from ..model import ReportContext, Section, rank_of, unavailable, unranked


def gaps_section(ctx: ReportContext) -> Section:
    _ = ctx._
    title = _("Gaps and what it would take")
    bench = model.optional("benchmark")
    if bench is None:
        return unavailable("gaps", title, ctx, "benchmark", "gap decomposition and what-it-takes")
    return _benchmark_section(ctx, bench, title)


def _benchmark_section(ctx: ReportContext, bench, title: str) -> Section:
    """Gap decomposition to the leader and what it would take (digimeter.benchmark)."""
    _ = ctx._
    sec = Section("gaps", title)
    main = ctx.indices[ctx.spec]
    r, n = rank_of(main, ctx.unit)
    if r is None:
        return unranked(sec, ctx, main)
    from ... import charts

    g = bench.gap(main, ctx.unit, "leader", store=ctx.store)
    leader = ctx.name_of(main.table().index[0])
    pil = g[g.depth == 1]
    sec.charts["gap_pillars"] = charts.gap_bars(
        pd.DataFrame({"label": [ctx.node_name(main, c) for c in pil.node], "gap": pil.contribution.to_numpy()}),
        x_title=_("contribution to the gap (index points)"), source=ctx.index_source(main))
    sec.chart_titles["gap_pillars"] = _("Why {unit} trails {leader} on {index}: the gap by pillar").format(
        unit=ctx.unit_name, leader=leader, index=ctx.index_title(main))
    ind = g[g.kind == "indicator"].sort_values("contribution", ascending=False)
    sec.tables["gap"] = pd.DataFrame({
        _("indicator"): [ctx.node_name(main, c) for c in ind.node],
        _("pillar"): [ctx.node_name(main, c) for c in ind.parent],
        ctx.unit_name: ind.raw.to_numpy(), leader: ind.raw_reference.to_numpy(),
        _("contribution to the gap"): ind.contribution.to_numpy(), _("share"): ind.share.to_numpy()})
    sec.table_titles["gap"] = _("The gap to {leader}, indicator by indicator (values in natural units)").format(leader=leader)
    total = float(g.attrs.get("total", g.contribution.iloc[0]))
    top = ind.head(3)
    sec.paragraphs.append(_("{unit} is {gap} points behind {leader} on {index}; {items} account for {share} of the gap.").format(
        unit=ctx.unit_name, gap=fmt_num(total, ctx.lang), leader=leader, index=ctx.index_title(main),
        items=", ".join(ctx.node_name(main, c) for c in top.node), share=f"{fmt_num(100 * top.share.sum(), ctx.lang, 0)}%"))
    sec.key_numbers["gap.total"] = round(total, 2)
    sec.key_numbers["gap.top"] = ", ".join(top.node)
    target = 25 if r > 25 else max(1, r - 5)
    by = main.year + 5
    try:
        plan = bench.what_it_takes(main, ctx.unit, rank=target, by=by, store=ctx.store)
    except DigimeterError as e:
        ctx.errors["benchmark.what_it_takes"] = str(e)
        sec.missing.append("what it would take (" + str(e)[:120] + ")")
        return sec
    pt = plan.table[plan.table.change.abs() > 1e-9].sort_values("normalised_change", ascending=False)
    sec.tables["what_it_takes"] = pd.DataFrame({
        _("indicator"): [ctx.node_name(main, c) for c in pt.node], _("measure"): [_(str(m)) for m in pt.measure],
        _("now"): pt.current.to_numpy(), _("change needed"): pt.change.to_numpy(), _("new value"): pt.new.to_numpy(),
        _("fastest plausible pace per year"): pt.pace_per_year.to_numpy(),
        _("at its bound"): [(_("yes") if b else _("no")) for b in pt.at_bound]})
    sec.table_titles["what_it_takes"] = _("What it would take to reach rank {rank} by {year}: the least improvement").format(
        rank=target, year=by)
    if plan.reachable:
        sec.paragraphs.append(_("To reach rank {rank} by {year}, {unit} would need at least: {plan}. Rebuilt with "
                                "these values (other countries unchanged) it ranks {achieved}.").format(
            rank=target, year=by, unit=ctx.unit_name, plan=plan.summary(5), achieved=plan.achieved_rank))
    else:
        sec.paragraphs.append(_("Rank {rank} is out of reach by {year} at the fastest plausible pace; the best "
                                "reachable rank is {best}.").format(rank=target, year=by, best=plan.best_rank))
    sec.key_numbers.update({"what_it_takes.target_rank": target, "what_it_takes.by": by,
                            "what_it_takes.reachable": bool(plan.reachable),
                            "what_it_takes.achieved_rank": plan.achieved_rank})
    return sec
