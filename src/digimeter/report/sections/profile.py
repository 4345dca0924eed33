"""The pillar profile: the unit's pillars against the leader, the top ten and its peers, and every
indicator's value, score and rank."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...i18n import fmt_num
from ..model import ReportContext, Section, peers_of, pillars_of, unranked


def profile_section(ctx: ReportContext) -> Section:
    _ = ctx._
    main = ctx.indices[ctx.spec]
    sec = Section("profile", _("Pillar profile against leaders and peers"))
    pil = pillars_of(main)
    t = main.table()
    ranked = t[t["rank"].notna()]
    if ctx.unit not in ranked.index:
        return unranked(sec, ctx, main)
    peers = peers_of(ctx, main)
    leader = ranked.index[0]
    series = {ctx.unit_name: main.scores.loc[ctx.unit, pil],
              _("leader ({name})").format(name=ctx.name_of(leader)): main.scores.loc[leader, pil],
              _("top-10 mean"): main.scores.loc[ranked.index[:10], pil].mean()}
    if peers:
        series[_("peers' mean ({region})").format(region=ctx.subregion())] = \
            main.scores.loc[peers, pil].mean()
    rows = []
    for sname, s in series.items():
        for p in pil:
            rows.append({"pillar": ctx.node_name(main, p), "series": sname, "score": float(s[p])})
    df = pd.DataFrame(rows)
    from ... import charts

    big = float(ranked[main.name].max()) > 1.5
    dom = (0, 100) if big else (0, 1)
    sec.charts["pillars"] = charts.pillar_profile(df, x_title=_("pillar score") + (" (0-100)" if big else " (0-1)"),
                                                  source=ctx.index_source(main), domain=dom)
    sec.chart_titles["pillars"] = _("{unit}'s pillars on {index} {year}").format(
        unit=ctx.unit_name, index=ctx.index_title(main), year=main.year)
    tab = df.pivot_table(index="pillar", columns="series", values="score", sort=False)[list(series)]
    ranks = main.ranks.loc[ctx.unit, pil]
    tab.insert(1, _("rank of {unit}").format(unit=ctx.unit_name), [int(ranks[p]) if pd.notna(ranks[p]) else None for p in pil])
    tab[_("gap to leader")] = tab[list(series)[1]] - tab[list(series)[0]]
    sec.tables["pillars"] = tab.reset_index().rename(columns={"pillar": _("pillar")})
    sec.table_titles["pillars"] = _("Pillar scores and ranks")
    # indicator detail
    m = ctx.meta(main).set_index("code")
    ind = [c for c in m.index if m.loc[c, "kind"] == "indicator"]
    raw = main.stages["raw"]
    det = pd.DataFrame({
        _("indicator"): [ctx.node_name(main, c) for c in ind],
        _("pillar"): [ctx.node_name(main, m.loc[c, "parent"]) for c in ind],
        _("value"): [raw.loc[ctx.unit, c] if ctx.unit in raw.index else np.nan for c in ind],
        _("year"): [main.panel.years.loc[ctx.unit, m.loc[c, "indicator"]] if ctx.unit in main.panel.years.index else None for c in ind],
        _("score"): [main.scores.loc[ctx.unit, c] for c in ind],
        _("rank"): [main.ranks.loc[ctx.unit, c] for c in ind],
    })
    det[_("rank")] = det[_("rank")].astype("Int64")
    sec.tables["indicators"] = det
    sec.table_titles["indicators"] = _("Every indicator of {index}: {unit}'s value, score and rank").format(
        index=ctx.index_title(main), unit=ctx.unit_name)
    for p in pil:
        sec.key_numbers[f"{p}.score"] = round(float(main.scores.loc[ctx.unit, p]), 1)
        sec.key_numbers[f"{p}.rank"] = int(ranks[p]) if pd.notna(ranks[p]) else None
    worst = tab[_("gap to leader")].idxmax()
    sec.paragraphs.append(_("The widest gap to the leader is in {pillar}: {gap} points.").format(
        pillar=worst, gap=fmt_num(tab.loc[worst, _("gap to leader")], ctx.lang)))
    return sec
