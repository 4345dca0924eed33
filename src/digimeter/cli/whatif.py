"""CLI: ``whatif`` (a thin face over :func:`digimeter.whatif.whatif`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from .app import app


def summary_rows(res) -> list[dict]:
    """One row per answer: the index and every pillar (score, rank), each changed indicator, each target."""
    rows = []
    for r in res.nodes.itertuples(index=False):
        if r.depth <= 1 or r.changed:
            what = "index" if r.depth == 0 else ("pillar" if r.depth == 1 else "indicator")
            rows.append({"what": f"{what} score", "code": r.node, "name": r.name, "before": r.score_before,
                         "after": r.score_after})
            rows.append({"what": f"{what} rank", "code": r.node, "name": r.name, "before": r.rank_before,
                         "after": r.rank_after})
    for t in res.targets.itertuples(index=False):
        rows.append({"what": f"P(target {t.comparator}{t.threshold:g} {t.deadline})", "code": t.target,
                     "name": t.name, "before": t.p_before, "after": t.p_after})
    return rows

@app.command("whatif")
def whatif_cmd(unit: str = typer.Argument(..., help="a country (ISO3), e.g. KAZ"),
               set_: list[str] = typer.Option([], "--set", help="a change: NODE=VALUE (absolute) or "
                                                                "NODE=+X/yr (per year until the deadline); "
                                                                "NODE is a spec node or indicator code"),
               weight: list[str] = typer.Option([], "--weight", help="a weight: NODE=W, e.g. connectivity=2"),
               spec: str = typer.Option("digital-nation", "--spec", "-s", help="the index spec"),
               scenario: Optional[str] = typer.Option(None, "--scenario",
                                                      help="targets (default fully-digital-kz where it has "
                                                           "targets for the unit)"),
               seed: int = typer.Option(0, "--seed"),
               fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
               out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """What if: new scores, ranks and P(target) with the unit's indicators changed, the rest of the
    world unchanged."""
    from .app import console, err, run, store_ctx
    from .output import emit_text, fit

    def go():
        import pandas as pd
        from rich.table import Table

        from ..errors import DataError, Problem
        from ..whatif import whatif

        if fmt not in ("table", "csv", "json"):
            raise typer.BadParameter(f"unknown format {fmt!r}; use table, csv or json")
        weights = {}
        for w in weight:
            k, sep, v = w.partition("=")
            if not sep:
                raise DataError(f"a weight is NODE=W, not {w!r}",
                                problems=[Problem(f"a weight is NODE=W, not {w!r}", field="weights", value=w,
                                                  fix="e.g. --weight connectivity=2")])
            weights[k.strip()] = v.strip()
        with store_ctx() as s:
            res = whatif(unit, set_, weights=weights or None, spec=spec, scenario=scenario, store=s, seed=seed)
        rows = summary_rows(res)
        if fmt == "json":
            emit_text(json.dumps(res.to_dict(), indent=1, ensure_ascii=False), out)
            return
        if fmt == "csv":
            emit_text(pd.DataFrame(rows).to_csv(index=False), out)
            return
        if out:
            raise typer.BadParameter("--out needs --format csv or json")
        for c in res.changes.itertuples(index=False):
            how = (f"{c.value:+g}/yr until {res.deadline} (reaches {c.used:g})" if c.kind == "per_year"
                   else f"{c.value:g}")
            console.print(f"{c.node} ({c.indicator}): {c.latest:g} in {c.latest_year} -> {how} "
                          f"{c.measure or ''}", highlight=False, markup=False)
        t = Table(title=f"What if: {res.unit_name} ({res.unit}), {res.spec} {res.year}",
                  header_style="bold")
        for col, j in (("what", "left"), ("code", "left"), ("before", "right"), ("after", "right"),
                       ("change", "right")):
            t.add_column(col, justify=j)
        for r in rows:
            b, a = r["before"], r["after"]
            prob = r["what"].startswith("P(")
            rank = r["what"].endswith("rank")
            f = (lambda x: "" if pd.isna(x) else f"{x:.2f}") if prob else (
                (lambda x: "" if pd.isna(x) else f"{x:.0f}") if rank else (lambda x: "" if pd.isna(x) else f"{x:.2f}"))
            d = "" if pd.isna(a) or pd.isna(b) or a == b else (f"{a - b:+.2f}" if not rank else f"{a - b:+.0f}")
            t.add_row(r["what"], r["code"], f(b), f(a), d)
        console.print(fit(t))
        for n in res.notes:
            err.print(f"note: {n}", highlight=False, markup=False)
    run(go)
