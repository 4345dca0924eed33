"""CLI: ``forecast``, ``targets`` and ``backtest`` (thin faces over :mod:`digimeter.targets`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import typer
from rich.markup import escape

from .._util.jsonsafe import jsonable
from .app import app, console, err, run, store_ctx


def _write(text: str, out: Optional[Path]) -> None:
    from .output import emit_text

    emit_text(text, out)


def _progress(enabled: bool):
    """The CLI's progress bar (``digimeter.cli.progress``); yields ``say(message)`` or None."""
    from .app import progress

    return progress(enabled)


def _fmt(v, nd=3):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{v:.{nd}g}"
    return str(v)


@app.command("forecast")
def forecast_cmd(unit: str = typer.Argument(..., help="unit code, e.g. KAZ or KZ-43"),
                 indicator: str = typer.Argument(..., help="indicator code, e.g. internet_users_pct"),
                 to: int = typer.Option(2030, "--to", help="last year to forecast"),
                 method: str = typer.Option("auto", "--method", help="auto, pooled, mean, inverse_mae or select"),
                 samples: int = typer.Option(2000, "--samples", help="predictive draws"),
                 seed: int = typer.Option(0, "--seed"),
                 fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
                 out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """Fan table of a unit's indicator: predictive quantiles by year, the method and why."""
    def go():
        from ..targets import forecast_unit

        with store_ctx(read_only=True) as s, _progress(fmt == "table") as say:
            r, ifc = forecast_unit(s, unit, indicator, to, seed=seed, n_samples=samples, method=method,
                                   progress=say)
            meta = s.indicator(indicator)
        q = r.quantiles.copy()
        q.columns = [f"q{int(round(c * 100)):02d}" for c in q.columns]
        q.insert(0, "point", r.point)
        q = q.reset_index()
        if fmt == "table":
            from .output import df_table

            hist = ifc.history.loc[r.unit].dropna().tail(3) if r.unit in ifc.history.index else pd.Series(dtype=float)
            console.print(f"[bold]{escape(str(r.unit))}[/] " + escape(
                          f"{meta['code']} ({meta['unit']}): last observed {r.anchor_value:.4g} in {int(r.anchor_year)}"
                          + (f"; before: {', '.join(f'{int(y)}: {v:.4g}' for y, v in hist.iloc[:-1].items())}"
                             if len(hist) > 1 else "")), markup=True)
            console.print(df_table(q.set_index("year"), f"Forecast of {meta['code']} for {r.unit} "
                                                        "(point and 5/25/50/75/95 % quantiles)"))
            console.print(f"[bold]method:[/] {escape(str(r.model))}", markup=True)
            console.print(f"[bold]why:[/] {escape(str(r.why))}", markup=True)
            console.print(f"[bold]intervals:[/] {escape(str(ifc.calibrated_on))}", markup=True)
            for n in list(r.notes) + ifc.estimated_notes(r.unit) + list(ifc.notes):
                err.print(f"note: {n}")
        elif fmt == "csv":
            _write(q.to_csv(index=False), out)
        elif fmt == "json":
            payload = {"unit": r.unit, "indicator": meta["code"], "method": r.model, "why": r.why,
                       "intervals": ifc.calibrated_on, "anchor_year": int(r.anchor_year),
                       "anchor_value": r.anchor_value, "weights": r.weights,
                       "notes": list(r.notes) + ifc.estimated_notes(r.unit) + list(ifc.notes),
                       "estimated_years": ifc.estimated_years(r.unit),
                       "forecast": q.to_dict(orient="records"),
                       "backtest": r.backtest.reset_index().to_dict(orient="records")}
            _write(json.dumps(jsonable(payload), indent=1, ensure_ascii=False), out)
        else:
            raise typer.BadParameter(f"unknown format {fmt!r}; use table, csv or json")
    run(go)

@app.command("targets")
def targets_cmd(scenario: str = typer.Argument(..., help="a shipped scenario (fully-digital-kz) or a YAML file"),
                samples: int = typer.Option(2000, "--samples", help="predictive draws per unit"),
                index_samples: int = typer.Option(200, "--index-samples", help="index rebuilds for score/rank targets"),
                seed: int = typer.Option(0, "--seed"),
                fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
                out: Optional[Path] = typer.Option(None, "--out", "-o"),
                cache: bool = typer.Option(True, "--cache/--no-cache",
                                           help="reuse the evaluation made on the same data (kept under the store)")):
    """Each target of a scenario: P(met as the target defines it: the state in the deadline year, or any
    year up to it for met: reach), whether it is met now, median crossing year, required vs achieved pace."""
    def go():
        from ..targets import evaluate_cached, json_records, load_scenario

        sc = load_scenario(scenario)
        with store_ctx(read_only=True) as s, _progress(fmt == "table" or out is not None) as say:
            df = evaluate_cached(sc, s, seed=seed, n_samples=samples, index_samples=index_samples, progress=say,
                                 cache=cache)
        if fmt == "table":
            if out:
                raise typer.BadParameter("--out needs --format csv or json")
            _table(sc, df)
        elif fmt == "csv":
            _write(df.to_csv(index=False), out)
        elif fmt == "json":
            payload = {"scenario": sc.name, "title": sc.title, "targets": json_records(df)}
            _write(json.dumps(jsonable(payload), indent=1, ensure_ascii=False), out)
        else:
            raise typer.BadParameter(f"unknown format {fmt!r}; use table, csv or json")
    run(go)

def _table(sc, df: pd.DataFrame) -> None:
    from rich.table import Table

    from .output import fit

    t = Table(title=f"{sc.title or sc.name}", header_style="bold", show_lines=False,
              caption="P(met): met in the deadline year (in any year up to it where marked); now: the latest "
                      "value meets it; pace columns: points per year needed / achieved in the last 5 years / "
                      "fastest any country achieved from a similar level")
    for c, j in (("target", "left"), ("unit", "left"), ("latest", "right"), ("goal", "left"), ("now", "left"),
                 ("P(met)", "right"), ("crosses", "right"), ("need", "right"), ("5y", "right"),
                 ("fastest", "right")):
        t.add_column(c, justify=j, overflow="fold", no_wrap=c in ("target", "goal", "latest"))
    statuses = []
    for r in df.itertuples(index=False):
        p = r.p_met
        style = None
        if isinstance(p, float) and math.isfinite(p):
            style = "green" if p >= 0.8 else ("yellow" if p >= 0.2 else "red")
        latest = "" if pd.isna(r.latest_value) else f"{_fmt(r.latest_value, 4)} ({int(r.latest_year)})"
        cy = r.median_crossing_year
        cy = (f">{r.deadline}" if (cy is None or (isinstance(cy, float) and not math.isfinite(cy)))
              and isinstance(p, float) and math.isfinite(p) and r.unit != "all" else
              ("" if cy is None or (isinstance(cy, float) and not math.isfinite(cy)) else str(int(cy))))
        fast = _fmt(r.fastest_pace_similar) + (f" {r.fastest_unit}" if isinstance(r.fastest_unit, str) else "")
        t.add_row(str(r.target), str(r.unit), latest,
                  f"{r.comparator}{_fmt(r.threshold, 4)} {r.deadline}"
                  + (" (any year)" if getattr(r, "met_definition", "hold") == "reach" else ""),
                  "met" if getattr(r, "met_now", None) is True or getattr(r, "met_now", None) is np.True_ else "",
                  "" if not (isinstance(p, float) and math.isfinite(p)) else f"{p:.2f}", cy,
                  _fmt(r.required_pace), _fmt(r.achieved_pace_5y), fast, style=style)
        statuses.append((r.target, r.unit, r.status))
    console.print(fit(t))
    console.print("[bold]Status[/]", markup=True)
    for target, unit, status in statuses:
        console.print(f"- {target} ({unit}): {status}", highlight=False, markup=False)
    methods = df.dropna(subset=["method"]).drop_duplicates("target")
    for r in methods.itertuples(index=False):
        if r.unit != "all":
            err.print(f"[bold]{escape(str(r.target))}[/]: " + escape(f"{r.method}. {r.note or ''}"), highlight=False,
                      markup=True)

@app.command("backtest")
def backtest_cmd(indicators: list[str] = typer.Argument(..., help="indicator code(s), e.g. internet_users_pct"),
                 origin: Optional[list[int]] = typer.Option(None, "--origin", help="origin year(s) (default 2012, 2015, 2018)"),
                 horizons: int = typer.Option(8, "--horizons", help="years ahead"),
                 method: str = typer.Option("auto", "--method", help="auto, pooled, mean, inverse_mae or select"),
                 fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
                 markdown: Optional[Path] = typer.Option(None, "--markdown", help="also write the tables as Markdown"),
                 compare_methods: bool = typer.Option(False, "--compare-methods",
                                                      help="also backtest mean, inverse_mae and select side by side"),
                 out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """Out-of-sample skill and interval coverage over every country: n, mae, mae_baseline,
    coverage80, coverage95 per model and for the chosen method."""
    def go():
        from ..targets import METHODS_COMPARED, backtest_markdown, backtest_report, method_comparison

        origins = tuple(origin) if origin else (2012, 2015, 2018)
        reports, comparisons = [], {}
        with store_ctx(read_only=True) as s, _progress(fmt == "table") as say:
            for ind in indicators:
                r = backtest_report(s, ind, origins=origins, horizons=horizons, method=method, progress=say)
                reports.append(r)
                if compare_methods:
                    others = [backtest_report(s, ind, origins=origins, horizons=horizons, method=m, progress=say)
                              for m in METHODS_COMPARED if m != method]
                    comparisons[r.indicator] = method_comparison([r, *others])
        if markdown:
            markdown.parent.mkdir(parents=True, exist_ok=True)
            markdown.write_text(backtest_markdown(reports, comparisons), encoding="utf-8")
            err.print(f"wrote {markdown}")
        if fmt == "table":
            from .output import df_table

            for r in reports:
                cols = ["origin", "model", "n", "countries", "mae", "mae_baseline", "mae_rw_clipped", "ratio",
                        "bias", "coverage80", "coverage95"]
                console.print(df_table(r.summary[cols], f"Backtest of {r.indicator} (all countries)",
                                       index=False, floatfmt="{:.3f}",
                                       least=("countries", "n", "mae_rw_clipped", "coverage95", "bias",
                                              "mae_baseline")))
                if len(r.reliability):
                    console.print(df_table(r.reliability, f"Reliability of P(value >= threshold), countries below it "
                                                          f"at the origin: {r.indicator}", index=False,
                                           floatfmt="{:.3f}"))
                if r.indicator in comparisons:
                    console.print(df_table(comparisons[r.indicator], f"Combination methods side by side: "
                                                                     f"{r.indicator}", index=False,
                                           floatfmt="{:.3f}"))
                for n in r.notes:
                    err.print(f"note: {n}")
        elif fmt == "csv":
            _write(pd.concat([r.summary.assign(indicator=r.indicator) for r in reports]).to_csv(index=False), out)
        elif fmt == "json":
            payload = reports[0].to_dict() if len(reports) == 1 else [r.to_dict() for r in reports]
            _write(json.dumps(jsonable(payload), indent=1, ensure_ascii=False), out)
        else:
            raise typer.BadParameter(f"unknown format {fmt!r}; use table, csv or json")
    run(go)
