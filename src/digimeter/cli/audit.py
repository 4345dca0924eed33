"""``digimeter audit SPEC``: the statistical audit of an index (correlations, Cronbach's alpha, PCA,
the rank effect of removing each indicator or pillar, strengths and weaknesses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from .app import app

TABLES = ("correlations", "flags", "parents", "cronbach", "pca", "removal", "strengths")
TITLES = {"correlations": "Correlations within each level", "flags": "Correlation flags within groups",
          "parents": "Correlation of each node with its parent and the index",
          "cronbach": "Cronbach's alpha by group", "pca": "PCA by group",
          "removal": "Rank effect of removing each node (weight 0)", "strengths": "Strengths and weaknesses"}


def audit_tables(spec: str, *, year: int | None = None, changes: dict | None = None,
                 unit: str | None = None, top: int = 5) -> dict[str, pd.DataFrame]:
    """Build the index and return its audit as named tables (what the command prints)."""
    from ..build import build

    ix = build(spec, year=year, changes=changes)
    units = None
    if unit:
        from ..errors import NotFoundError

        code = unit.upper()
        if code not in ix.scores.index:
            why = ix.excluded.reason.get(code) if code in ix.excluded.index else "not among the spec's units"
            raise NotFoundError(f"{code} is not scored in {ix.name} {ix.year}: {why}", field="unit", value=code)
        units = [code]
    a = ix.audit(top=top) if units is None else _audit_for(ix, units, top)
    t = a.tables()
    if units:
        t["removal"] = t["removal"].assign(**{f"rank_change_{units[0]}":
                                              [a.rank_changes.loc[units[0], c] for c in t["removal"].code]})
    return t


def _audit_for(ix, units, top):
    from ..build import audit_index

    return audit_index(ix, top=top, units=units)

@app.command("audit")
def audit_cmd(args: list[str] = typer.Argument(..., metavar="[UNIT] SPEC",
                                              help="optionally a unit (its strengths, weaknesses and rank changes), "
                                                   "then a shipped spec (egdi, digital-nation) or a YAML file"),
              unit_opt: Optional[str] = typer.Option(None, "--unit", "-u",
                                                     help="deprecated: give the unit first (audit KAZ egdi)"),
              table: Optional[list[str]] = typer.Option(None, "--table", "-t",
                                                        help=f"only these tables: {', '.join(TABLES)}"),
              top: int = typer.Option(5, "--top", help="strengths and weaknesses per unit"),
              year: Optional[int] = typer.Option(None, "--year", "-y"),
              set_: Optional[list[str]] = typer.Option(None, "--set", help="change a setting: ADDRESS=VALUE"),
              fmt: str = typer.Option("table", "--format", "-f", help="table, csv (one table column) or json"),
              out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """Statistical audit of an index: correlations and flags, Cronbach's alpha, PCA, removal effect,
    strengths and weaknesses."""
    from .app import console, err, parse_sets, progress, run, unit_then_spec
    from .output import df_table, emit_text

    unit, spec = unit_then_spec(args, unit_opt, command="audit")

    def go():
        if fmt not in ("table", "csv", "json"):
            raise typer.BadParameter(f"unknown format {fmt!r}; use table, csv or json")
        bad = [t for t in (table or []) if t not in TABLES]
        if bad:
            raise typer.BadParameter(f"unknown table(s) {', '.join(bad)}; use {', '.join(TABLES)}")
        with progress() as say:
            say(f"auditing {spec}")
            tables = audit_tables(spec, year=year, changes=parse_sets(set_), unit=unit, top=top)
        chosen = {k: v for k, v in tables.items() if not table or k in table}
        if fmt == "table":
            if out:
                raise typer.BadParameter("--out needs --format csv or json")
            for k, df in chosen.items():
                d = df
                if k == "correlations":
                    d = df.reindex(df["corr"].abs().sort_values(ascending=False).index).head(20)
                if k == "removal":
                    d = df.sort_values("mean_abs_rank_change", ascending=False)
                if k == "strengths" and not unit and len(df):
                    first = list(dict.fromkeys(df.unit))[:3]
                    d = df[df.unit.isin(first)]
                    err.print("note: strengths and weaknesses of 3 units shown; use --unit CODE or "
                              "--format csv for every unit")
                if k == "strengths":
                    d = d.assign(rank=d["rank"].astype("Int64"))
                title = TITLES[k] + (" (20 strongest)" if k == "correlations" else "")
                console.print(df_table(d.reset_index(drop=True), title, index=False, floatfmt="{:.3f}"))
                if d.empty:
                    console.print("  (none)")
            return
        if fmt == "json":
            text = json.dumps({k: json.loads(v.to_json(orient="records", force_ascii=False))
                               for k, v in chosen.items()}, indent=1, ensure_ascii=False)
        else:
            text = pd.concat([v.assign(table=k)[["table"] + list(v.columns)] for k, v in chosen.items()],
                             ignore_index=True).to_csv(index=False)
        emit_text(text, out)

    run(go)
