"""CLI: ``regions`` (every region of a country, and the divide between them) and ``divide`` (the divide
over time, and whether regions are catching up). Thin faces over :mod:`digimeter.regions`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.markup import escape
from .app import app, console, err, progress, run, store_ctx


def _num(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    return f"{v:,.{digits}f}"


def _people(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.0f}"


def _small(v) -> str:
    """Inequality measures are small numbers: 4 significant digits."""
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"


def _write(text: str, out: Optional[Path]) -> None:
    from .output import emit_text

    emit_text(text, out)


def measures_rows(rep) -> list[tuple[str, str, str]]:
    """The divide measures of a :class:`~digimeter.regions.RegionReport` as (measure, value, note) rows."""
    m = rep.measures
    names = dict(zip(rep.table.unit, rep.table.name))
    pct = "%" in rep.unit_of_measure
    d = 1
    wl = m.get("weights_label", "population-weighted")
    w_short = {"population": "population-weighted", "crosswalk": "crosswalk population",
               "none": "unweighted"}.get(m.get("weights"), "population-weighted")
    rows = [("regions", f"{m['n']}", f"{m.get('estimated_regions', 0)} with estimated values (earlier layout)"),
            ("weights", w_short, wl + (f": {m['weights_note']}" if m.get("weights_note") else ""))]
    if m.get("n", 0) == 0:
        return rows
    if m.get("national") is not None:
        diff = m["rollup_difference"]
        rows.append(("roll-up check", f"{_num(m['regional_mean'], 2)} vs {_num(m['national'], 2)}",
                     f"{w_short} mean of regions vs the published national figure: "
                     f"difference {diff:+.2f}{' pp' if pct else ''}"))
    else:
        rows.append((f"mean of the regions ({w_short})", _num(m.get("regional_mean"), 2),
                     "no national figure to check against"))
    rows.append((f"Gini ({w_short})", _small(m.get("gini")), "0 = every region equal"))
    if "theil_between" in m:
        groups = " / ".join(m.get("groups", []))
        rows.append(("Theil T", _small(m.get("theil")),
                     f"between groups ({groups}) {_small(m['theil_between'])} "
                     f"({m['theil_between_share']:.0%}) + within {_small(m['theil_within'])}"))
    else:
        rows.append(("Theil T", _small(m.get("theil")), "no region groups in the data for a decomposition"))
    rows.append(("coefficient of variation", _small(m.get("cv_weighted")),
                 f"{w_short}; unweighted {_small(m.get('cv'))}" if m.get("weights") != "none" else "unweighted"))
    rows.append(("best-worst gap", _num(m.get("gap"), d),
                 f"{names.get(m['best'], m['best'])} {_num(m['best_value'], d)} - "
                 f"{names.get(m['worst'], m['worst'])} {_num(m['worst_value'], d)} (ratio {m['ratio']:.2f})"))
    thr = m.get("threshold")
    side = "below" if rep.higher_is_better else "above"
    what = _num(thr, 1 if m.get("threshold_source") in ("national", "mean") else 0) + (" %" if pct else "")
    below = ", ".join(names.get(u, u) for u in rep.below_units[:6]) or "none"
    if len(rep.below_units) > 6:
        below += f" and {len(rep.below_units) - 6} more"
    src = m.get("threshold_label") or ("the regional mean" if m.get("threshold_is_mean") else "the threshold given")
    if m.get("weights") == "none":
        rows.append((f"regions {side} {what}", f"{len(rep.below_units)} of {m['n']}",
                     f"threshold: {src}; no population, so no people counted: {below}"))
    else:
        rows.append((f"people in regions {side} {what}", _people(m.get("people_below")),
                     f"{m.get('share_below', float('nan')):.1%} of the population; threshold: {src}; "
                     f"{len(rep.below_units)} region(s): {below}"))
    return rows


@app.command("regions")
def regions_cmd(country: str = typer.Argument(..., help="ISO3 of the country, e.g. KAZ"),
                indicator: Optional[str] = typer.Option(None, "--indicator", "-i",
                                                        help="an indicator (internet_users_pct); default: the "
                                                             "regional index scores, else the best-covered "
                                                             "regional indicator"),
                year: Optional[int] = typer.Option(None, "--year", "-y", help="default: latest year (indicator) or the spec's year"),
                spec: Optional[str] = typer.Option(None, "--spec", "-s", help="regional spec (default: the shipped one for the country)"),
                layout: Optional[str] = typer.Option(None, "--layout", help="regional layout (default: the year's)"),
                threshold: Optional[float] = typer.Option(None, "--threshold", "-t",
                                                          help="count people in regions below it (default: the "
                                                               "indicator's declared target, else the national "
                                                               "figure, else the mean)"),
                geojson: Optional[Path] = typer.Option(None, "--geojson", help="also write the map data (GeoJSON) to this file"),
                fmt: str = typer.Option("table", "--format", "-f", help="table, csv (the regions) or json (everything)"),
                out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """Every region of a country: value, rank, population, estimated?, and the divide between them
    (Gini, Theil between/within groups, CV, best-worst gap, people below a threshold, roll-up check)."""
    def go():
        from .. import regions as R
        from ..errors import NotFoundError

        with progress() as say, store_ctx() as s:
            say("measuring the regions")
            code = s.unit(country)["code"]
            subject = indicator or spec or R.default_regional_subject(s, code)
            if subject is None:
                raise NotFoundError(f"no regional data for {code} in the store", field="country", value=code,
                                    fix="import the regions (units file with kind=region, parent=" + code +
                                        ") and their observations with `digimeter data import`; see docs/regions.md")
            rep = R.region_report(s, code, subject, year, threshold=threshold, layout=layout)
            cname = s.unit(code)["name"]
            if geojson:
                fc = R.map_data(s, code, subject, rep.year, layout=rep.layout, report=rep)
                geojson.parent.mkdir(parents=True, exist_ok=True)
                geojson.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
                err.print(f"wrote {geojson}")
        if fmt == "csv":
            _write(rep.table.to_csv(index=False), out)
            return
        if fmt == "json":
            _write(json.dumps(rep.to_dict(), indent=1, ensure_ascii=False, default=str), out)
            return
        if fmt != "table":
            raise typer.BadParameter(f"unknown format {fmt!r}; use table, csv or json")
        if out:
            raise typer.BadParameter("--out needs --format csv or json")
        _print_report(console, rep, cname)
    run(go)

@app.command("divide")
def divide_cmd(country: str = typer.Argument(..., help="ISO3 of the country, e.g. KAZ"),
               indicator: str = typer.Argument(..., help="an indicator with regional data, e.g. internet_users_pct"),
               layout: Optional[str] = typer.Option(None, "--layout", help="regional layout (default: today's regions)"),
               start: Optional[int] = typer.Option(None, "--from", help="first year (default: all; convergence after the latest series break)"),
               end: Optional[int] = typer.Option(None, "--to", help="last year"),
               threshold: Optional[float] = typer.Option(None, "--threshold", "-t"),
               fmt: str = typer.Option("table", "--format", "-f", help="table, csv (by year) or json"),
               out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """The divide between a country's regions year by year, and whether regions are catching up
    (sigma-convergence: is the spread shrinking? beta-convergence: do laggards grow faster?)."""
    def go():
        from .. import regions as R

        with progress() as say, store_ctx() as s:
            say("measuring the divide over time")
            code = s.unit(country)["code"]
            tr = R.divide_trend(s, code, indicator, layout=layout, start=start, end=end, threshold=threshold)
            cname = s.unit(code)["name"]
            geo = R.geography(s, code)
            names = geo.names(tr.layout, s)
            meta = s.indicator(tr.indicator)
        if fmt == "csv":
            _write(tr.table.reset_index().to_csv(index=False), out)
            return
        if fmt == "json":
            _write(json.dumps(tr.to_dict(), indent=1, ensure_ascii=False, default=str), out)
            return
        if fmt != "table":
            raise typer.BadParameter(f"unknown format {fmt!r}; use table, csv or json")
        if out:
            raise typer.BadParameter("--out needs --format csv or json")
        _print_trend(console, tr, cname, names, meta)
    run(go)


def _print_report(console, rep, cname: str) -> None:
    from rich.table import Table

    from .output import fit

    t = rep.table
    score = rep.kind == "score"
    title = (f"{rep.name}, {rep.year}: {len(t)} regions of {cname} (layout {rep.layout})" if score else
             f"{rep.name} ({rep.unit_of_measure}), {rep.year}: {len(t)} regions of {cname} (layout {rep.layout})")
    tab = Table(title=title, header_style="bold")
    tab.add_column("rank", justify="right")
    tab.add_column("region")
    tab.add_column("code")
    tab.add_column("score" if score else "value", justify="right")
    pillars = [c for c in t.columns if c not in ("unit", "name", "value", "rank", "population", "estimated",
                                                  "year", "estimated_inputs")] if score else []
    for p in pillars:
        tab.add_column(p, justify="right")
    tab.add_column("population", justify="right")
    tab.add_column("estimated?")
    tab.add_column("data year" if not score else "oldest input", justify="right")
    n_inputs = len(rep.index.estimated.columns) if score else 1
    for r in t.itertuples(index=False):
        est = ""
        if r.estimated:
            est = f"yes ({len(r.estimated_inputs.split(', '))} of {n_inputs} inputs)" if score else "yes"
        row = [_num(r.rank, 0) if not pd.isna(r.rank) else "", r.name, r.unit, _num(r.value, 1)]
        row += [_num(getattr(r, p), 1) for p in pillars]
        row += [_people(r.population), est, "" if pd.isna(r.year) else str(int(r.year))]
        style = "yellow" if r.unit in rep.below_units else None
        tab.add_row(*row, style=style)
    console.print(fit(tab))
    mt = Table(title=f"The divide between regions, {rep.year}", header_style="bold")
    mt.add_column("measure")
    mt.add_column("value", justify="right")
    mt.add_column("note")
    for row in measures_rows(rep):
        mt.add_row(*row)
    console.print(fit(mt))
    if rep.measures.get("estimated_regions"):
        which = ""
        if score:
            inputs = sorted({i for v in t.estimated_inputs if v for i in v.split(", ")})
            which = f" Estimated inputs: {', '.join(inputs)}."
        console.print("[dim]" + escape(f"Estimated: a value published for a territory that differs from today's region "
                                       f"(before regions were split or merged) is read onto it, population-weighted "
                                       f"(digimeter.regions.to_layout).{which} Yellow rows: regions below the "
                                       "threshold.") + "[/]", markup=True)
    elif rep.below_units:
        console.print("[dim]Yellow rows: regions below the threshold.[/]", markup=True)


def _print_trend(console, tr, cname: str, names: dict, meta: dict) -> None:
    from rich.table import Table

    from .output import fit

    d = tr.table
    tab = Table(title=f"The regional divide in {meta['name'].lower()} ({meta['unit']}), {cname}, "
                      f"layout {tr.layout}", header_style="bold")
    if "theil_between" in d.columns:
        d = d.assign(between_share=d["theil_between"] / d["theil"])
    cols = [("year", None), ("n", "n"), ("mean", "mean_weighted"), ("national", "national"),
            ("diff.", "rollup_difference"), ("Gini", "gini"), ("Theil", "theil"),
            ("between", "between_share"), ("CV", "cv_weighted"),
            ("gap", "gap"), ("worst", "worst"), ("people below", "people_below"), ("est.", None)]
    if tr.weights == "none":   # no population: count regions, not people
        cols = [("regions below", "regions_below") if c == "people_below" else (h, c) for h, c in cols]
    cols = [(h, c) for h, c in cols if c is None or c in d.columns]
    for h, _ in cols:
        tab.add_column(h, justify="left" if h == "worst" else "right", no_wrap=h != "worst")
    for year, r in d.iterrows():
        cells = []
        for h, c in cols:
            if h == "year":
                y = str(int(year))
                cells.append(y + (" *" if tr.series_break == int(year) else ""))
            elif h == "est.":
                cells.append(f"{tr.estimated_share.get(year, 0):.0%}")
            elif c in ("n", "regions_below"):
                cells.append("" if pd.isna(r[c]) else str(int(r[c])))
            elif c in ("mean_weighted", "national", "gap"):
                cells.append(_num(r[c], 1))
            elif c == "rollup_difference":
                cells.append("" if pd.isna(r[c]) else f"{r[c]:+.2f}")
            elif c == "worst":
                cells.append(names.get(r[c], r[c]))
            elif c == "people_below":
                cells.append(_people(r[c]))
            elif c == "between_share":
                cells.append("" if pd.isna(r[c]) else f"{r[c]:.0%}")
            else:
                cells.append("" if pd.isna(r[c]) else f"{r[c]:.3g}")
        tab.add_row(*cells)
    console.print(fit(tab))
    grp = " / ".join(sorted(set(tr.groups.values()))) if tr.groups else ""
    wl = tr.weights_label
    console.print("[dim]" + escape(f"weights: {wl}" + (f" ({tr.weights_note})" if tr.weights_note else "")
                  + f"; mean: {'unweighted' if tr.weights == 'none' else 'weighted'} mean of the regions; national: "
                  f"the published national figure; diff.: mean - national (the roll-up check); Gini, Theil and CV "
                  f"{'unweighted' if tr.weights == 'none' else 'weighted'}"
                  + (f"; between: share of Theil between {grp}" if grp else "")
                  + (f"; {'regions' if tr.weights == 'none' else 'people'} below: in regions below "
                     + (f"{_num(tr.threshold, 1)} ({tr.threshold_label})" if tr.threshold_source in ("given", "target")
                        else tr.threshold_label) if tr.threshold is not None else "")
                  + "; est.: share of regions whose value was read from an earlier layout.") + "[/]", markup=True)
    if tr.series_break:
        console.print("[dim]" + escape(f"* series break in {tr.series_break} (recorded in the data): levels before and "
                                       f"after are not comparable; convergence is measured from {tr.series_break}.")
                      + "[/]", markup=True)
    ct = Table(title="Are regions catching up?", header_style="bold")
    ct.add_column("test")
    ct.add_column("estimate", justify="right")
    ct.add_column("95 % CI", justify="right")
    ct.add_column("reading")
    st = tr.sigma_trend
    if st:
        lo, hi = st["ci95"]
        ct.add_row(f"sigma-convergence: trend of {st['measure']} per year "
                   f"({int(tr.sigma.index.min())}-{int(tr.sigma.index.max())})",
                   f"{st['slope_per_year']:+.4f}", f"{lo:+.4f} .. {hi:+.4f}",
                   "spread shrinking" if hi < 0 else ("spread widening" if lo > 0 else "no clear trend"))
    b = tr.beta
    if b is not None:
        y0, y1 = tr.beta_period
        how = "gap to 100 %" if b.transform == "shortfall" else "log level"
        reading = "laggards grow faster" if b.converging else ("leaders pull away" if b.ci95[0] > 0 else "no clear catching-up")
        if b.converging and not math.isnan(b.half_life):
            reading += f"; half-life {b.half_life:.1f} years"
        ct.add_row(f"beta-convergence: growth on initial level ({how}), {y0}-{y1}, {b.n} regions",
                   f"{b.slope:+.4f}", f"{b.ci95[0]:+.4f} .. {b.ci95[1]:+.4f}", reading)
    console.print(fit(ct))
    console.print(tr.verdict())
