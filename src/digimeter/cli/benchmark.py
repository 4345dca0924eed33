"""CLI: ``compare``, ``gaps`` and ``what-it-takes`` (thin faces over :mod:`digimeter.benchmark`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.markup import escape
from .app import app, console, err, parse_sets, progress, run, store_ctx
from .output import df_table


def _json(obj) -> str:
    def conv(df):
        return json.loads(df.to_json(orient="records", force_ascii=False))
    return json.dumps({k: conv(v) if isinstance(v, pd.DataFrame) else v for k, v in obj.items()},
                      indent=1, ensure_ascii=False, default=str)


def _emit(fmt: str, out: Optional[Path], frames: dict, main: str) -> None:
    """csv: the main frame; json: every frame and value."""
    from .output import emit_text

    if fmt == "csv":
        text = frames[main].to_csv(index=False)
    elif fmt == "json":
        text = _json(frames)
    else:
        raise typer.BadParameter(f"unknown format {fmt!r}; use table, csv or json")
    emit_text(text, out)


def _fmt_rank(r, n) -> str:
    return "" if pd.isna(r) else f"{int(r)} / {int(n)}"


@app.command("compare")
def compare_cmd(unit: str = typer.Argument(..., help="unit code, e.g. KAZ"),
                peers: Optional[str] = typer.Option(None, "--peers", "-p",
                                                    help="region, subregion, wb_region, income, nearest or a list (KGZ,UZB,...)"),
                spec: list[str] = typer.Option([], "--spec", "-s", help="add a spec (name or YAML file) to the rankings"),
                against: str = typer.Option("digital-nation", "--index", help="the index peers are compared on"),
                year: Optional[int] = typer.Option(None, "--year", "-y", help="latest editions up to this year"),
                levels: int = typer.Option(2, "--levels", help="1 overall only, 2 with components, 3 with IMD sub-factors"),
                fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
                out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """A unit's rank in every index and ranking side by side, why they differ, and (with --peers)
    its place among its peers."""
    def go():
        from .. import benchmark as bm
        from ..build import build

        with progress() as say, store_ctx() as s:
            say("comparing rankings")
            rk = bm.rankings(s, unit, year, specs=spec, levels=levels)
            frames = {"rankings": rk.table, "agreement": rk.agreement, "differences": rk.differences,
                      "pillars": rk.pillars, "history": rk.history, "main_reason": rk.main_reason,
                      "correlations": rk.correlations}
            ix = None
            if peers:
                ix = build(against, s, year=year) if year else build(against, s)
                pl = bm.peer_list(ix, rk.unit, peers, s)
                fr = bm.frontier(ix, rk.unit, peers=pl, store=s)
                sw = bm.strengths(ix, rk.unit, pl, store=s)
                frames.update(peers=pl, frontier=fr, strengths=sw)
            name = s.unit(rk.unit)["name"]
        if fmt != "table":
            _emit(fmt, out, frames, "rankings")
            return
        t = rk.table.copy()
        show = pd.DataFrame({"ranking": t.ranking, "year": t.year, "rank": [_fmt_rank(r, n) for r, n in zip(t["rank"], t.n)],
                             "percentile": ["" if pd.isna(v) else f"{v:.0f}" for v in t.percentile],
                             "score": ["" if pd.isna(v) else f"{v:.4g}" for v in t.score], "note": t.note})
        console.print(df_table(show, f"{name} ({rk.unit}) in every ranking", index=False))
        console.print("[bold]What each measures[/]", markup=True)
        for r in t[(t.level == 1) & ~t.key.str.endswith("_press")].itertuples():
            if r.measures:
                console.print(f"- {r.ranking}: {r.measures}", soft_wrap=True, highlight=False)
        ag = rk.agreement
        if len(ag):
            console.print(df_table(ag[["ranking_a", "ranking_b", "n_common", "spearman"]],
                                   "Pairwise agreement: Spearman's rho over the countries both rank (n_common)",
                                   index=False, floatfmt="{:.2f}"))
        d = rk.differences
        if len(d):
            shares = d[[c for c in d.columns if c.startswith("share_")]].rename(columns=lambda c: c[6:])
            why = pd.concat([d[["ranking", "year", "n"]],
                             pd.DataFrame({"high-income %": (100 * d.high_income_share).round(0)}),
                             (100 * shares).round(0),
                             pd.DataFrame({"survey %": [None if pd.isna(v) else round(100 * v) for v in d.survey_share],
                                           "data years": [f"{a}-{b}" + ("~" if ap else "") for a, b, ap in
                                                          zip(d.data_first, d.data_last, d.approx)]})], axis=1)
            console.print(df_table(why, "Why they differ: coverage (high-income share of the ranked field), "
                                        "weight on each theme (%), survey share, data years (~ approximate)",
                                   index=False, floatfmt="{:.0f}"))
        if len(rk.pillars):
            pl = rk.pillars
            show_p = pd.DataFrame({"ranking": pl.ranking, "parts of": pl.parts_year,
                                   "highest": [f"{a} ({b} of {c})" for a, b, c in zip(pl.highest, pl.highest_rank, pl.highest_n)],
                                   "lowest": [f"{a} ({b} of {c})" for a, b, c in zip(pl.lowest, pl.lowest_rank, pl.lowest_n)]})
            console.print(df_table(show_p, f"Which pillar of which ranking puts {rk.unit} highest and lowest",
                                   index=False))
        if rk.main_reason:
            console.print(rk.main_reason["text"], soft_wrap=True, highlight=False)
        trust = t[(t.trust.fillna("") != "") & (t.level == 1) & (t.family != "spec")] if "trust" in t else t.iloc[:0]
        for r in trust.itertuples():
            console.print(f"- trust, {r.ranking} {r.year}: {r.trust}", soft_wrap=True, highlight=False)
        if ix is not None:
            fr = frames["frontier"]
            top = fr[fr.kind == "aggregate"][["node", "name", "score", "rank", "n", "gap_leader", "gap_top5",
                                              "gap_top25", "peer_mean", "gap_peers"]]
            console.print(df_table(top, f"{ix.spec.title or ix.name} {ix.year}: distance to the frontier "
                                        f"(peers: {', '.join(frames['peers'])})", index=False, floatfmt="{:.2f}"))
            sw = frames["strengths"][["name", "measure", "raw", "peer_median", "difference", "percentile", "verdict"]]
            console.print(df_table(sw, f"Strengths and weaknesses of {rk.unit} against its peers "
                                       "(difference > 0 = better than the peer median)", index=False,
                                   floatfmt="{:,.3g}"))
    run(go)

@app.command("gaps")
def gaps_cmd(unit: str = typer.Argument(..., help="unit code, e.g. KAZ"),
             spec: str = typer.Argument("digital-nation", help="a shipped spec or a YAML file"),
             to: str = typer.Option("leader", "--to", help="leader, top5, top25, a unit code, region/income/nearest or a list"),
             year: Optional[int] = typer.Option(None, "--year", "-y"),
             set_: Optional[list[str]] = typer.Option(None, "--set", help="change a setting: ADDRESS=VALUE"),
             fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
             out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """Which pillars and indicators make up the gap between a unit and a reference (waterfall table)."""
    def go():
        from .. import benchmark as bm
        from ..build import build

        with progress() as say, store_ctx() as s:
            say("decomposing the gap")
            ix = build(spec, s, year=year, changes=parse_sets(set_))
            g = bm.gap(ix, unit, to, store=s)
        if fmt != "table":
            _emit(fmt, out, {"gap": g, **{k: v for k, v in g.attrs.items()}}, "gap")
            return
        a = g.attrs
        show = g[["name", "unit_score", "reference_score", "contribution", "share", "cumulative", "raw",
                  "raw_reference"]].copy()
        show["name"] = ["  " * (d - 1 if d > 0 else 0) + str(n) for n, d in zip(g.name, g.depth)]
        console.print(df_table(show, f"{ix.spec.title or ix.name} {ix.year}: gap of {a['unit']} to the "
                                     f"{a['reference']}", index=False, floatfmt="{:,.3f}"))
        console.print(f"total gap {a['total']:+.3f} = {a['reference_score']:.3f} (reference) - "
                      f"{a['unit_score']:.3f} ({a['unit']}); positive contributions are where the reference "
                      "is ahead.")
    run(go)

@app.command("what-it-takes")
def wit_cmd(unit: str = typer.Argument(..., help="unit code, e.g. KAZ"),
            spec: str = typer.Argument("digital-nation", help="a shipped spec or a YAML file"),
            rank: Optional[int] = typer.Option(None, "--rank", "-r", help="target rank (or better)"),
            score: Optional[float] = typer.Option(None, "--score", help="target index score"),
            by: Optional[int] = typer.Option(None, "--by", help="deadline year (bounds each indicator by its observed pace)"),
            cost: Optional[list[str]] = typer.Option(None, "--cost", help="NODE=COST per normalised point (default 1)"),
            year: Optional[int] = typer.Option(None, "--year", "-y"),
            set_: Optional[list[str]] = typer.Option(None, "--set", help="change a setting: ADDRESS=VALUE"),
            fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
            out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """The least improvement in indicators that lifts a unit to a target rank or score by a deadline."""
    def go():
        from .. import benchmark as bm
        from ..build import build

        costs = {k: float(v) for k, v in parse_sets(cost).items()} if cost else None
        with progress() as say, store_ctx() as s:
            say("solving what it takes")
            ix = build(spec, s, year=year, changes=parse_sets(set_))
            p = bm.what_it_takes(ix, unit, rank=rank, score=score, by=by, costs=costs, store=s)
        info = {"message": p.message, "reachable": p.reachable, "rank_now": p.rank, "score_now": p.score,
                "target_rank": p.target_rank, "target_score": p.target_score, "achieved_rank": p.achieved_rank,
                "achieved_score": p.achieved_score, "best_rank": p.best_rank, "best_score": p.best_score,
                "years": p.years, "method": p.method, "summary": p.summary()}
        if fmt != "table":
            _emit(fmt, out, {**info, "plan": p.table}, "plan")
            return
        t = p.table[p.table.change.abs() > 1e-12] if (p.table.change.abs() > 1e-12).any() else p.table
        show = t[["name", "measure", "current", "change", "new", "pace_per_year", "max_change", "at_bound",
                  "normalised_change"]].sort_values("normalised_change", ascending=False)
        console.print(df_table(show, f"What it takes: {p.unit} in {ix.spec.title or ix.name} "
                                     f"({'rank ' + str(rank) if rank else 'score ' + str(score)}"
                                     f"{' by ' + str(by) if by else ''})", index=False, floatfmt="{:,.4g}"))
        style = "green" if p.reachable else "red"
        console.print(f"[{style}]{escape(p.message)}[/]", markup=True)
        console.print(f"In short: {p.summary()}.", soft_wrap=True)
        if by:
            err.print("bounds: each indicator may improve at most the 90th percentile of the yearly gains "
                      "countries achieved from within +/-10 % of its level, times the years to the deadline, "
                      "and never beyond its valid range or upper goalpost")
    run(go)
