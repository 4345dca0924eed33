"""Regions: the regional map and ranking, the divide year by year and whether it is closing
(digimeter.regions)."""

from __future__ import annotations

import pandas as pd

from ...errors import NotFoundError
from ...i18n import fmt_num
from .. import model
from ..model import ReportContext, Section, unavailable


def regions_section(ctx: ReportContext) -> Section:
    _ = ctx._
    title = _("Regions")
    rmod = model.optional("regions")
    if rmod is None:
        return unavailable("regions", title, ctx, "regions", "regional map and divide measures")
    sec = Section("regions", title)
    regs = ctx.store.units(kind="region", parent=ctx.unit)
    # the shipped regional spec where one exists, else the best-covered regional indicator
    ind = ctx.regional
    if ind is None and len(regs):
        ind = rmod.default_regional_subject(ctx.store, ctx.unit)
    if ind is None:
        sec.available = False
        sec.paragraphs.append(_("No regional data for {unit} in the store.").format(unit=ctx.unit_name))
        sec.missing.append("regional data")
        return sec
    ctx.regional_shown = ind
    # every region of today's layout (older series read on it, population-weighted and marked estimated)
    rep = rmod.region_report(ctx.store, ctx.unit, ind, lang=ctx.lang)
    score = rep.kind == "score"
    meta = ({"name": rep.name, "unit": rep.unit_of_measure} if score else ctx.store.indicator(ind))
    # the divide year by year: the indicator's own, or for a score (one year, no series of its own)
    # that of the best-covered regional indicator among its inputs
    div_ind = rmod.divide_indicator(ctx.store, ctx.unit, ind)
    trend = None
    if div_ind is not None:
        try:
            trend = rmod.divide_trend(ctx.store, ctx.unit, div_ind)
        except NotFoundError:
            if not score:      # the subject's own series: as before, the error says what is missing
                raise
    geo = rmod.geography(ctx.store, ctx.unit)
    fc = rmod.map_data(ctx.store, ctx.unit, ind, lang=ctx.lang, report=rep) if geo.has_boundaries(rep.layout) else None
    tab = rep.table
    names = dict(zip(tab.unit, tab.name))
    from ... import charts

    inputs = ([n.indicator for n in rep.index.index.spec.indicator_nodes()] if score else [ind])
    obs = ctx.store.observations(indicators=inputs, units=tab.unit.tolist(), years=[rep.year])
    src = ctx.origin_label(obs.origin_id.tolist())
    ylabel = f"{_(meta['name'])} ({_(str(meta['unit']))})"
    if fc is not None:
        sec.charts["map"] = charts.choropleth(fc, value_title=_(meta["name"]) if len(meta["name"]) < 30 else "%",
                                              source=src, domain=None)
        sec.chart_titles["map"] = _("{indicator}, {year}, by region").format(indicator=ylabel, year=rep.year)
    else:
        sec.missing.append("regional boundaries (map)")
    sec.charts["bars"] = charts.bars(tab.rename(columns={"name": "label"})[["label", "value"]].dropna(),
                                     x_title=ylabel, source=src)
    sec.chart_titles["bars"] = _("Regions ranked, {year}").format(year=rep.year)
    div = trend.table if trend is not None else pd.DataFrame()
    m = rep.measures
    wl = _weights_label(_, m.get("weights"))

    def _fmt(x: float, digits: int, signed: bool = False) -> str:
        return ("+" if signed and x >= 0 else "") + fmt_num(x, ctx.lang, digits)

    about_divide: list[str] = []     # the divide year by year and whether it is closing
    if not div.empty:
        # a score's divide is that of another indicator (div_ind): named in every title and sentence
        dmeta = ctx.store.indicator(div_ind) if score else meta
        dlabel = f"{_(dmeta['name'])} ({_(str(dmeta['unit']))})" if score else ylabel
        dw = trend.weights if score else m.get("weights")
        dwl = _weights_label(_, dw)
        dsrc = src
        if score:
            dobs = ctx.store.observations(indicators=[div_ind], units=tab.unit.tolist())
            dsrc = ctx.origin_label(dobs.origin_id.tolist())
        keep = [c for c in ("n", "mean_weighted", "national", "gini", "theil", "cv_weighted", "best", "worst", "gap")
                if c in div.columns]
        d = div[keep].copy()
        d["best"] = d["best"].map(lambda u: names.get(u, u))
        d["worst"] = d["worst"].map(lambda u: names.get(u, u))
        labels = {"n": _("regions"), "mean_weighted": _("population-weighted mean") if dw == "population"
                  else _("mean ({weights})").format(weights=dwl), "national": _("national figure"),
                  "gini": _("Gini"), "theil": _("Theil"), "cv_weighted": _("coefficient of variation"),
                  "best": _("best region"), "worst": _("worst region"), "gap": _("best-worst gap")}
        sec.tables["divide"] = d.reset_index().rename(columns={"year": _("year"), **labels})
        sec.table_titles["divide"] = (
            _("Alongside the score: the regional divide in {indicator}, year by year") if score else
            _("The regional divide in {indicator}, year by year")).format(indicator=dlabel)
        tr = div.reset_index()[["year", "gini"]].rename(columns={"gini": "value"}).assign(series=_("Gini"))
        if "cv_weighted" in div:
            tr = pd.concat([tr, div.reset_index()[["year", "cv_weighted"]].rename(
                columns={"cv_weighted": "value"}).assign(series=_("coefficient of variation"))])
        sec.charts["divide"] = charts.lines(tr, y_title=_("inequality between regions (0 = none)"), source=dsrc,
                                            x_title=_("year"))
        sec.chart_titles["divide"] = (
            _("Is the divide in {indicator} closing?").format(indicator=_(dmeta["name"]).lower()) if score else
            _("Is the divide closing?"))
        first, last = div.iloc[0], div.iloc[-1]
        if score:
            about_divide.append((
                _("The score ({score}) covers one year only; the year-by-year divide below is that of "
                  "{indicator}, the best-covered regional indicator among its inputs: its {weights} Gini "
                  "between regions was {gini} in {year} (it was {gini0} in {year0}).")
                if div_ind in inputs else
                _("The score ({score}) covers one year only; the year-by-year divide below is that of "
                  "{indicator}, the best-covered regional indicator of the country: its {weights} Gini "
                  "between regions was {gini} in {year} (it was {gini0} in {year0}).")
            ).format(score=_(meta["name"]), indicator=_(dmeta["name"]).lower(), weights=dwl,
                     gini=fmt_num(last["gini"], ctx.lang, 3), year=int(div.index[-1]),
                     gini0=fmt_num(first["gini"], ctx.lang, 3), year0=int(div.index[0])))
        else:
            sec.paragraphs.append((
                _("In {year}, {indicator} ranged from {worst_v} in {worst} to {best_v} in {best} "
                  "(a gap of {gap} points); the population-weighted Gini between regions was {gini} "
                  "(it was {gini0} in {year0}).") if m.get("weights") == "population" else
                _("In {year}, {indicator} ranged from {worst_v} in {worst} to {best_v} in {best} "
                  "(a gap of {gap} points); the {weights} Gini between regions was {gini} "
                  "(it was {gini0} in {year0}).")).format(
                year=rep.year, indicator=_(meta["name"]).lower(), weights=wl,
                worst_v=fmt_num(m["worst_value"], ctx.lang), worst=names.get(m["worst"], m["worst"]),
                best_v=fmt_num(m["best_value"], ctx.lang), best=names.get(m["best"], m["best"]),
                gap=fmt_num(m["gap"], ctx.lang), gini=fmt_num(m["gini"], ctx.lang, 3),
                gini0=fmt_num(first["gini"], ctx.lang, 3), year0=int(div.index[0])))
    if (score or div.empty) and m.get("n"):
        sec.paragraphs.append(_("In {year}, {indicator} ranged from {worst_v} in {worst} to {best_v} in {best}; "
                                "the {weights} Gini between regions was {gini}.").format(
            year=rep.year, indicator=_(meta["name"]) if score else _(meta["name"]).lower(), weights=wl,
            worst_v=fmt_num(m["worst_value"], ctx.lang), worst=names.get(m["worst"], m["worst"]),
            best_v=fmt_num(m["best_value"], ctx.lang), best=names.get(m["best"], m["best"]),
            gini=fmt_num(m["gini"], ctx.lang, 3)))
    if trend is not None:
        about_divide.append(trend.verdict(_, _fmt))
    if score:      # the score's own checks first, then the divide of the indicator shown with it
        _checks(ctx, sec, rep, wl)
        _estimated(ctx, sec, tab)
        sec.paragraphs.extend(about_divide)
    else:
        sec.paragraphs.extend(about_divide)
        _checks(ctx, sec, rep, wl)
        _estimated(ctx, sec, tab)
    sec.key_numbers.update({"regions.indicator": ind, "regions.year": rep.year, "regions.n": int(m["n"]),
                            "regions.gini": round(float(m["gini"]), 4), "regions.gap": round(float(m["gap"]), 1)})
    if trend is not None and score:
        sec.key_numbers["regions.divide_indicator"] = div_ind
    return sec


def _weights_label(_, weights: str | None) -> str:
    return {"population": _("population-weighted"), "crosswalk": _("weighted by the crosswalk's population"),
            "none": _("unweighted")}.get(weights, _("population-weighted"))


def _estimated(ctx: ReportContext, sec: Section, tab: pd.DataFrame) -> None:
    _ = ctx._
    n_est = int(tab.estimated.sum()) if "estimated" in tab else 0
    if n_est:
        sec.paragraphs.append(_("Values for {n} regions are estimated from an earlier regional layout "
                                "(population-weighted).").format(n=n_est))


def _checks(ctx: ReportContext, sec: Section, rep, wl: str) -> None:
    """The weights when not by population, the roll-up check against the national figure, and the
    people (or regions) on the wrong side of the threshold."""
    _ = ctx._
    m = rep.measures
    if m.get("weights") != "population":
        sec.paragraphs.append(_("Weights: {weights} ({why}).").format(weights=wl, why=m.get("weights_note", "")))
    if m.get("national") is not None and m.get("rollup_difference") is not None:
        sec.paragraphs.append((_("Roll-up check: the population-weighted mean of the regions is {mean}, the national "
                                 "figure {national} (difference {diff}).") if m.get("weights") == "population" else
                               _("Roll-up check: the {weights} mean of the regions is {mean}, the national "
                                 "figure {national} (difference {diff}).")).format(
            weights=wl, mean=fmt_num(m["regional_mean"], ctx.lang), national=fmt_num(m["national"], ctx.lang),
            diff=fmt_num(m["rollup_difference"], ctx.lang, 2)))
    thr_src = {"target": _("the declared target"), "national": _("the national figure"),
               "mean": _("the regional mean"), "given": _("the threshold given")}.get(m.get("threshold_source"), "")
    hib = rep.higher_is_better   # the wrong side of the threshold: below it, or above it when lower is better
    if m.get("threshold") is not None and m.get("people_below") is not None:
        sec.paragraphs.append((_("{people} people ({share}) live in regions below {threshold} ({source}).") if hib else
                               _("{people} people ({share}) live in regions above {threshold} ({source}).")).format(
            people=fmt_num(m["people_below"], ctx.lang, 0), share=fmt_num(100 * m["share_below"], ctx.lang) + " %",
            threshold=fmt_num(m["threshold"], ctx.lang), source=thr_src))
    elif m.get("threshold") is not None and m.get("regions_below") is not None:
        sec.paragraphs.append((_("{n} of {total} regions are below {threshold} ({source}).") if hib else
                               _("{n} of {total} regions are above {threshold} ({source}).")).format(
            n=m["regions_below"], total=m["n"], threshold=fmt_num(m["threshold"], ctx.lang), source=thr_src))
