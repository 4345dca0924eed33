"""CLI: ``build`` and ``rank`` (thin faces over :func:`digimeter.build.build`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from .app import app, console, err, parse_sets, progress, run, store_ctx, unit_then_spec
from .output import df_table, write_frame

# ------------------------------------------------------------------------------------------
# build and rank
# ------------------------------------------------------------------------------------------
@app.command("build")
def build_cmd(spec: str = typer.Argument(..., help="a shipped spec (egdi, digital-nation) or a YAML file"),
              year: Optional[int] = typer.Option(None, "--year", "-y"),
              set_: Optional[list[str]] = typer.Option(None, "--set", help="change a setting: ADDRESS=VALUE"),
              as_of: Optional[str] = typer.Option(None, "--as-of", help="build from the data as of a date or vintage"),
              fmt: str = typer.Option("table", "--format", "-f", help="table, csv (long: unit,node,score,rank) or json"),
              out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """Build an index: scores and ranks for every unit and node."""
    def go():
        ix = _build(spec, year, set_, as_of)
        if fmt == "table":
            t = ix.table().reset_index()
            t.insert(2, "name", t.unit.map(ix.params["unit_meta"]["name"]))
            write_frame(t, "table", out, title=f"{ix.spec.title or ix.name} {ix.year}")
            _notes(ix)
        else:
            write_frame(ix.to_long(), fmt, out)
    run(go)


def _build(spec: str, year: int | None, sets: list[str] | None, as_of: str | None):
    """build() for the CLI: ``--set`` changes and ``--as-of`` (a date or vintage) resolved here."""
    from ..build import build

    with progress(total=2) as say:
        say("opening the store")
        with store_ctx() as s:
            vintage = s.vintage_as_of(as_of) if as_of else None
            say(f"building {spec}")
            ix = build(spec, s, year=year, changes=parse_sets(sets), as_of_vintage=vintage)
    if vintage is not None:
        err.print(f"note: data as of vintage {vintage} ({as_of})")
    return ix


def _notes(ix) -> None:
    lag = ix.panel.lagged()
    if len(lag):
        err.print(f"note: {len(lag)} values are older than {ix.year} (latest within {ix.spec.year_window} years), "
                  f"e.g. {', '.join(f'{r.unit}/{r.indicator}={int(r.year_used)}' for r in lag.head(3).itertuples())}")
    est = ix.params.get("estimated")
    if est is not None and bool(est.to_numpy().any()):
        err.print(f"note: {int(est.to_numpy().sum())} input values of {int(est.any(axis=1).sum())} regions are "
                  f"estimated from an earlier regional layout (population-weighted), layout {ix.params.get('layout')}")
    if len(ix.excluded):
        err.print(f"note: {len(ix.excluded)} units left out for lack of data (availability < "
                  f"{ix.spec.screen.get('min_availability', 0)})")


@app.command("rank")
def rank_cmd(args: list[str] = typer.Argument(..., metavar="[UNIT] SPEC",
                                             help="the unit (default KAZ), then a shipped spec or a YAML file"),
             unit_opt: Optional[str] = typer.Option(None, "--unit", "-u",
                                                    help="deprecated: give the unit first (rank KAZ egdi)"),
             top: int = typer.Option(25, "--top", "-t", help="how many leaders to show"),
             year: Optional[int] = typer.Option(None, "--year", "-y"),
             set_: Optional[list[str]] = typer.Option(None, "--set"),
             as_of: Optional[str] = typer.Option(None, "--as-of", help="build from the data as of a date or vintage"),
             fmt: str = typer.Option("table", "--format", "-f"),
             out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """A unit's place among the leaders of an index."""
    unit, spec = unit_then_spec(args, unit_opt, command="rank", default_unit="KAZ")

    def go():
        ix = _build(spec, year, set_, as_of)
        code = unit.upper()
        t = ix.table()
        t.insert(1, "name", ix.params["unit_meta"]["name"].reindex(t.index))
        if code not in t.index:
            from ..errors import NotFoundError

            why = ix.excluded.reason.get(code, "not among the spec's units") if code in ix.excluded.index else "not among the spec's units"
            raise NotFoundError(f"{code} is not ranked in {ix.name} {ix.year}: {why}", field="unit", value=code)
        shown = t.head(top)
        if code not in shown.index:
            shown = pd.concat([shown, t.loc[[code]]])
        if fmt != "table":
            write_frame(shown.reset_index(), fmt, out)
            return
        r = int(t.loc[code, "rank"])
        n = int(t["rank"].notna().sum())
        title = f"{ix.spec.title or ix.name}, {ix.year}: {t.loc[code, 'name']} ranks {r} of {n}"
        console.print(df_table(shown, title, highlight=code))
        gap_lead = t[ix.name].iloc[0] - t.loc[code, ix.name]
        msg = f"{t.loc[code, 'name']} is {'inside' if r <= top else 'outside'} the top {top}"
        if r > top:
            need = t[ix.name].iloc[top - 1] - t.loc[code, ix.name]
            msg += f"; it needs +{need:.4g} to reach rank {top}"
        console.print(f"{msg}; gap to the leader ({t.index[0]}): {gap_lead:.4g}.")
        _notes(ix)
    run(go)
