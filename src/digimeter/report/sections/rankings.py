"""Rankings side by side: the report's indices, every published ranking (digimeter.benchmark), how
far they agree and why they differ."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...errors import DigimeterError
from ...i18n import fmt_num
from .. import model
from ..model import ReportContext, Section, peers_of, rank_of


def rankings_section(ctx: ReportContext) -> Section:
    _ = ctx._
    sec = Section("rankings", _("Rankings side by side"))
    bench = model.optional("benchmark")
    rows = []
    main = ctx.indices[ctx.spec]
    peers = peers_of(ctx, main)
    leaders = main.table().index[:3].tolist()
    shown = list(dict.fromkeys([ctx.unit, *peers, *leaders]))
    for name, ix in ctx.indices.items():
        t = ix.table()
        n = int(t["rank"].notna().sum())
        for u in shown:
            if u in t.index and pd.notna(t.loc[u, "rank"]):
                rows.append({"index": f"{ctx.index_title(ix)} {ix.year}", "unit": u, "label": ctx.name_of(u),
                             "rank": int(t.loc[u, "rank"]), "n": n, "score": float(t.loc[u, ix.name])})
    long = pd.DataFrame(rows)
    wide = long.pivot_table(index=["unit", "label"], columns="index", values="rank", aggfunc="first")
    wide = wide.reindex([x for x in shown if x in wide.index.get_level_values(0)], level=0)
    wide = wide.reset_index().rename(columns={"unit": _("code"), "label": _("unit")})
    for c in wide.columns[2:]:
        wide[c] = wide[c].astype("Int64")
    sec.tables["ranks"] = wide
    sec.table_titles["ranks"] = _("Rank on each index (1 = best): {unit}, its peers ({region}) and the leaders").format(
        unit=ctx.unit_name, region=ctx.subregion())
    from ... import charts

    sec.charts["rank_dots"] = charts.rank_dots(long, unit=ctx.unit, x_title=_("rank (1 = best)"),
                                               source=ctx.index_source(main))
    sec.chart_titles["rank_dots"] = _("Where {unit} and its peers stand on each index").format(unit=ctx.unit_name)
    for name, ix in ctx.indices.items():
        t = ix.table().reset_index().rename(columns={"unit": "unit"})
        t["name"] = t["unit"].map(ctx.name_of)
        t = t[t["rank"].notna()]
        dom = (0, 100) if float(t[ix.name].max()) > 1.5 else (0, 1)
        key = f"strip_{name}"
        sec.charts[key] = charts.score_strip(t, score=ix.name, unit=ctx.unit,
                                             x_title=_("{index} score").format(index=ctx.index_title(ix)) +
                                             (" (0-100)" if dom[1] == 100 else " (0-1)"),
                                             source=ctx.index_source(ix), domain=dom)
        sec.chart_titles[key] = _("{unit} among all {n} ranked countries, {index} {year}").format(
            unit=ctx.unit_name, n=len(t), index=ctx.index_title(ix), year=ix.year)
    sec.paragraphs.append(_("Peers are the other countries of {unit}'s UN sub-region ({region}); leaders are "
                            "the top three of {index}.").format(unit=ctx.unit_name,
                                                                 region=ctx.subregion(),
                                                                 index=ctx.index_title(main)))
    if bench is not None:
        _benchmark_rankings(ctx, bench, sec)
    else:
        sec.missing.append("published rankings side by side (needs digimeter.benchmark)")
    # published EGDI rank, when the spec names it, checks the rebuilt index against the UN's table
    eg = ctx.indices.get("egdi")
    if eg is not None and eg.spec.published and eg.spec.published.get("rank"):
        obs = ctx.store.observations(indicators=eg.spec.published["rank"], units=ctx.unit, years=eg.year)
        if len(obs):
            pub = int(obs.value.iloc[0])
            r, _n = rank_of(eg, ctx.unit)
            sec.key_numbers["egdi.published_rank"] = pub
            sec.paragraphs.append(_("The UN publishes rank {pub} for {unit} in the E-Government Survey {year}; "
                                    "digimeter's rebuild of the index gives {r}.").format(
                pub=pub, unit=ctx.unit_name, year=eg.year, r=r))
    for name, ix in ctx.indices.items():
        r, n = rank_of(ix, ctx.unit)
        sec.key_numbers[f"{name}.rank"] = r
    return sec


def ranking_label(ctx: ReportContext, key: str, name: str) -> str:
    """A ranking's name in the report's language (published rankings by key; specs by title)."""
    from ...benchmark import RANKINGS

    _ = ctx._
    names = {p.key: p.name for p in RANKINGS}
    if key in names:
        return _(names[key])
    if key.endswith("_press") and key[:-len("_press")] in names:
        return _("{ranking} (press)").format(ranking=_(names[key[:-len("_press")]]))
    return _(name)


def _ranking_note(ctx: ReportContext, basis: str, n: Any, english: str, listed: Any = None) -> str:
    """What a rank rests on, in the report's language (``benchmark.BASIS_NOTES`` keys)."""
    _ = ctx._
    notes = {"press": _("rank as quoted in the press; of {n} economies"),
             "press_partial": _("rank as quoted in the press; partial table"),
             "published_among": _("as published, among {n} economies"),
             "published_incomplete": _("as published, among {n} economies; {k} of them in the bundled copy"),
             "published": _("published rank"),
             "computed": _("rank computed from the published scores"),
             "computed_unofficial": _("rank computed by digimeter from the published scores; the publisher "
                                      "publishes no ranks"),
             "spec": _("built by digimeter")}
    k = int(listed) if listed is not None and not pd.isna(listed) else int(n)
    return notes[basis].format(n=int(n), k=k) if basis in notes else english


def _published_rankings(ctx: ReportContext, bench):
    """digimeter.benchmark.rankings for the report's unit, computed once (the brief and the rankings
    section share it); the report's built indices are reused, the E-Government rebuild left out (the
    published EGDI is there)."""
    if "published" not in ctx.cache:
        try:
            ctx.cache["published"] = bench.rankings(ctx.store, ctx.unit, default_specs=(),
                                            specs=[ix for name, ix in ctx.indices.items() if name != "egdi"])
        except DigimeterError as e:
            ctx.errors["benchmark.rankings"] = str(e)
            ctx.cache["published"] = None
    return ctx.cache["published"]


_THEME_WORDS = ("infrastructure", "government", "skills", "economy", "other")


def _theme(ctx: ReportContext, theme: str) -> str:
    _ = ctx._
    return {"infrastructure": _("infrastructure"), "government": _("government"), "skills": _("skills"),
            "economy": _("economy"), "other": _("other")}.get(theme, theme)


def rankings_brief(ctx: ReportContext, sec: Section) -> list[str]:
    """One sentence for the brief: the highest and lowest published ranking and the main reason."""
    bench = model.optional("benchmark")
    r = _published_rankings(ctx, bench) if bench is not None else None
    m = r.main_reason if r is not None else {}
    if not m:
        return []
    _ = ctx._
    hi, lo = m["highest"], m["lowest"]
    reasons = {
        "measures": _("they measure different things: {a} puts {a_share}% of its weight on {a_theme}, {b} "
                      "{b_share}% on {b_theme}"),
        "coverage": _("they rank different fields: {b_hi}% of the economies {b} ranks are high-income, "
                      "against {a_hi}% for {a}"),
        "method": _("they are made differently: {a} rests {a_survey}% on survey answers, {b} {b_survey}%"),
        "vintage": _("their data are of different years: up to {a_year} for {a}, up to {b_year} for {b}"),
    }
    pct = lambda v: fmt_num(100 * float(v), ctx.lang, 0) if v is not None and not pd.isna(v) else "–"
    why = reasons[m["reason"]].format(
        a=ranking_label(ctx, hi["key"], hi["ranking"]), b=ranking_label(ctx, lo["key"], lo["ranking"]),
        a_share=pct(hi["top_theme_share"]), b_share=pct(lo["top_theme_share"]),
        a_theme=_theme(ctx, hi["top_theme"]), b_theme=_theme(ctx, lo["top_theme"]),
        a_hi=pct(hi["high_income_share"]), b_hi=pct(lo["high_income_share"]),
        a_survey=pct(hi["survey_share"]), b_survey=pct(lo["survey_share"]), a_year=hi["data_last"],
        b_year=lo["data_last"])
    sec.key_numbers["rankings.highest"] = hi["key"]
    sec.key_numbers["rankings.lowest"] = lo["key"]
    sec.key_numbers["rankings.main_reason"] = m["reason"]
    return [_("Of the published rankings, {unit} stands highest on {hi} {hi_year} ({hi_rank} of {hi_n}) and "
              "lowest on {lo} {lo_year} ({lo_rank} of {lo_n}), mainly because {why}.").format(
        unit=ctx.unit_name, hi=ranking_label(ctx, hi["key"], hi["ranking"]), hi_year=hi["year"],
        hi_rank=hi["rank"], hi_n=hi["n"], lo=ranking_label(ctx, lo["key"], lo["ranking"]), lo_year=lo["year"],
        lo_rank=lo["rank"], lo_n=lo["n"], why=why)]


def _benchmark_rankings(ctx: ReportContext, bench, sec: Section) -> None:
    """Every published ranking and every spec side by side (digimeter.benchmark.rankings)."""
    _ = ctx._
    r = _published_rankings(ctx, bench)
    if r is None:
        return
    t = r.table[r.table["rank"].notna()].copy()
    if t.empty:   # a territory no ranking lists (e.g. Vatican City, Curacao)
        sec.paragraphs.append(_("{unit} is in none of the published rankings digimeter knows, and none of the "
                                "indices built here ranks it.").format(unit=ctx.unit_name))
        return
    t["ranking"] = [ranking_label(ctx, k, name) for k, name in zip(t["key"], t["ranking"])]
    trust = t["trust"].fillna("").where(t["level"] == 1, "") if "trust" in t else pd.Series("", index=t.index)
    tab = pd.DataFrame({_("ranking"): t["ranking"], _("family"): t["family"].map(lambda f: _(str(f))),
                        _("year"): t["year"], _("rank"): t["rank"], _("of"): t["n"], _("percentile"): t["percentile"],
                        _("note"): [_ranking_note(ctx, b, n, note, k) for b, n, note, k in
                                    zip(t["basis"], t["n"], t["note"], t.get("n_listed", t["n"]))],
                        _("trust (source notes, English)"): [x or None for x in trust]})
    if tab[_("trust (source notes, English)")].isna().all():
        tab = tab.drop(columns=[_("trust (source notes, English)")])
    sec.tables["all_rankings"] = tab.reset_index(drop=True)
    sec.table_titles["all_rankings"] = _("{unit} in every ranking (digimeter.benchmark)").format(unit=ctx.unit_name)
    from ... import charts

    b = pd.DataFrame({"label": t["ranking"] + " " + t["year"].astype(str), "value": t["percentile"]})
    sec.charts["percentiles"] = charts.bars(
        b, x_title=_("percentile (100 = first, 0 = last)"), domain=(0, 100),
        highlight=[x for x in b.label if x.startswith(tuple(ctx.index_title(ix) for ix in ctx.indices.values()))],
        source=_("Source: UN DESA E-Government Survey, World Bank GovTech Dataset, IMD World Digital "
                 "Competitiveness Ranking, ITU ICT Development Index, Oxford Insights Government AI Readiness "
                 "Index, Portulans Network Readiness Index, digimeter indices; ranks computed by "
                 "digimeter.benchmark."))
    sec.chart_titles["percentiles"] = _("How far up each ranking {unit} stands").format(unit=ctx.unit_name)
    for row in t.itertuples():
        sec.key_numbers[f"benchmark.{row.key}.rank"] = int(row.rank)
    corr = r.correlations
    if len(corr):
        lo = corr.sort_values("spearman").iloc[0]
        sec.paragraphs.append(_("The rankings agree only in part: the least related pair is {a} and {b} "
                                "(Spearman's rho {rho} over {n} countries).").format(
            a=ranking_label(ctx, lo["a"], lo["a"]), b=ranking_label(ctx, lo["b"], lo["b"]), rho=fmt_num(lo["spearman"], ctx.lang, 2), n=int(lo["n_common"])))
    _why_rankings_differ(ctx, r, sec)


def _why_rankings_differ(ctx: ReportContext, r, sec: Section) -> None:
    """Pairwise agreement, why the overall rankings differ, pillar extremes and the rank trajectory."""
    _ = ctx._
    lab = lambda k, name: ranking_label(ctx, k, name)
    ag = r.agreement
    if len(ag):
        sec.tables["agreement"] = pd.DataFrame({
            _("ranking"): [lab(a, x) for a, x in zip(ag.a, ag.ranking_a)],
            _("compared with"): [lab(b, x) for b, x in zip(ag.b, ag.ranking_b)],
            _("countries both rank"): ag.n_common.astype(int),
            _("Spearman's rho"): [fmt_num(v, ctx.lang, 2) for v in ag.spearman]})
        sec.table_titles["agreement"] = _("Pairwise agreement: rank correlation over the countries both rankings rank")
    d = r.differences
    if len(d):
        why = pd.DataFrame({_("ranking"): [lab(k, x) for k, x in zip(d.key, d.ranking)], _("year"): d.year,
                            _("economies ranked"): d.n,
                            _("high-income share (%)"): (100 * d.high_income_share).round(0).astype("Int64")})
        for th in _THEME_WORDS:
            why[_("weight on {theme} (%)").format(theme=_theme(ctx, th))] = (100 * d[f"share_{th}"].astype(float)).round(0).astype("Int64")
        why[_("survey answers (%)")] = pd.array([None if v is None or pd.isna(v) else round(100 * float(v))
                                                 for v in d.survey_share], dtype="Int64")
        why[_("data years")] = [f"{a}–{b}" + ("≈" if ap else "") if a is not None and not pd.isna(a) else None
                                for a, b, ap in zip(d.data_first, d.data_last, d.approx)]
        sec.tables["why_rankings_differ"] = why
        sec.table_titles["why_rankings_differ"] = _(
            "Why they differ: who is ranked (share of high-income economies), what is measured (share of the "
            "weight on each theme, from each publisher's method), how (weight resting on survey answers) and "
            "when (data years; ≈ approximate)")
    p = r.pillars
    if len(p):
        sec.tables["pillar_extremes"] = pd.DataFrame({
            _("ranking"): [lab(k, x) for k, x in zip(p.key, p.ranking)], _("parts of"): p.parts_year,
            _("highest part"): [lab(_pillar_key(h), h) + f" ({a}/{b})" for h, a, b in
                                zip(p.highest, p.highest_rank, p.highest_n)],
            _("lowest part"): [lab(_pillar_key(h), h) + f" ({a}/{b})" for h, a, b in
                               zip(p.lowest, p.lowest_rank, p.lowest_n)]})
        sec.table_titles["pillar_extremes"] = _("Which part of which ranking puts {unit} highest and lowest "
                                                "(rank/economies ranked)").format(unit=ctx.unit_name)
    m = r.main_reason
    if m:
        sec.paragraphs.extend(rankings_brief(ctx, Section("x", "")))
    h = r.history
    if len(h):
        from ... import charts

        hh = h.copy()
        hh["ranking"] = [lab(k, x) for k, x in zip(hh.key, hh.ranking)]
        sec.charts["rank_trajectory"] = charts.rank_trajectory(
            hh, y_title=_("rank (1 = best)"), x_title=_("year"), universe_title=_("economies ranked"),
            source=_("Source: UN DESA, World Bank GovTech, IMD, ITU, Oxford Insights, Portulans Institute "
                     "(bundled editions; origins in Methods and data)."),
            note=_("Dashed grey line: the number of economies ranked that year. Hollow points: editions "
                   "known only in part (press quotes, a top-30 table)."))
        sec.chart_titles["rank_trajectory"] = _("{unit}'s rank in each ranking over the years").format(
            unit=ctx.unit_name)
        for o in h.origin_id.dropna().unique():
            ctx.used_origins.add(str(o))


def _pillar_key(name: str) -> str:
    """A published component's key from its English name (for its translated label); '' if none."""
    from ...benchmark import RANKINGS

    return next((p.key for p in RANKINGS if p.name == name), "")
