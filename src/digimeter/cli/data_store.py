"""CLI: ``data update | diff | review | export | vintages | as-of`` (thin faces over digimeter.sources)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _apply_bulk(store, files: list[Path], indicators: list[str] | None, *, threshold: float, dry_run: bool,
                prog=None):
    """Read WDI bulk CSVs and apply them as one update (``data update --bulk``)."""
    from ..errors import NotFoundError
    from ..sources.update import apply_batches
    from ..sources.worldbank import read_bulk_csv

    batches = []
    for f in files:
        task = prog.add_task(f"reading {f.name}", total=None) if prog is not None else None
        b = read_bulk_csv(f, store)
        if indicators:
            ind = store.indicators()
            want = set(indicators) | set(ind.code[ind.source_code.isin(indicators)])
            keep = b.observations.indicator.isin(list(want)).to_numpy()
            if not keep.any():
                raise NotFoundError(f"{f}: none of the indicators {', '.join(indicators)} is in the file",
                                    field="indicator", value=indicators,
                                    fix="give WDI codes (e.g. IT.NET.USER.ZS) or digimeter codes present in the file")
            b.observations = b.observations[keep]
            if b.indicators is not None:
                b.indicators = b.indicators[b.indicators.code.isin(list(want))]
        batches.append(b)
        if task is not None:
            prog.update(task, total=1, completed=1)
    if prog is not None:
        prog.add_task("writing to the store", total=None)
    return apply_batches(store, batches, threshold=threshold, dry_run=dry_run)

from rich.markup import escape
from .app import console, data_app, err, run, store_ctx
from .output import write_frame

@data_app.command("update")
def data_update(
    source: Optional[list[str]] = typer.Option(None, "--source", "-s",
                                               help="worldbank, itu, unegov, eurostat or sdmx (repeatable; default: the first four)"),
    indicator: Optional[list[str]] = typer.Option(None, "--indicator", "-i",
                                                  help="publisher or digimeter codes (WDI code, ITU series, Eurostat dataset, UN survey year)"),
    url: Optional[str] = typer.Option(None, "--url", help="URL for the sdmx source (or to override a connector's URL)"),
    offline: bool = typer.Option(False, "--offline", help="use only cached responses"),
    threshold: float = typer.Option(0.20, "--threshold", help="relative change above which a revision is held for review"),
    keep_going: bool = typer.Option(False, "--keep-going", help="apply the sources that worked when one fails"),
    dry_run: bool = typer.Option(False, "--dry-run", help="fetch and check, write nothing"),
    bulk: Optional[list[Path]] = typer.Option(None, "--bulk", exists=True, dir_okay=False,
                                              help="a World Bank WDI bulk-download CSV (WDICSV.csv from "
                                                   "WDI_CSV.zip, or an API_*.csv) to apply instead of "
                                                   "fetching (repeatable; no network)"),
):
    """Refresh the store from the publishers as one new vintage (all or nothing).

    With --bulk, the World Bank's bulk-download CSV files are read from disk (the fast path for the
    whole WDI) and applied by the same rules: one vintage, suspicious revisions held for review.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..sources.http import Fetcher
    from ..sources.update import update

    def go():
        opts = {}
        if url:
            for s in source or []:
                opts[s] = {"url": url}
        with store_ctx() as st, Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                                         MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                                         transient=True) as prog:
            tasks: dict[str, int] = {}

            def progress(src: str, done: int, total: int):
                if src not in tasks:
                    tasks[src] = prog.add_task(f"fetching {src}", total=total)
                prog.update(tasks[src], completed=done, total=total)

            def hook(stage: str):
                if stage == "fetched":
                    tasks["_write"] = prog.add_task("writing to the store", total=None)

            if bulk:
                rep = _apply_bulk(st, bulk, indicator, threshold=threshold, dry_run=dry_run, prog=prog)
                console.print(escape(str(rep)), highlight=False)
                return
            fetcher = Fetcher(offline=offline)
            try:
                rep = update(st, source, indicator, fetcher=fetcher, threshold=threshold, keep_going=keep_going,
                             dry_run=dry_run, options=opts, progress=progress, hook=hook)
            finally:
                fetcher.close()
        console.print(escape(str(rep)), highlight=False)
    run(go)

@data_app.command("diff")
def data_diff(
    from_: Optional[str] = typer.Option(None, "--from", help="vintage number or date (default: the one before --to)"),
    to: Optional[str] = typer.Option(None, "--to", help="vintage number or date (default: the latest)"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
    out: Optional[Path] = typer.Option(None, "--out", "-o"),
):
    """What changed between two vintages: revised values, new years, new and dropped series."""
    def go():
        with store_ctx() as st:
            v2 = st.vintage_as_of(to) if to else None
            v1 = st.vintage_as_of(from_) if from_ else None
            d = st.diff(v1, v2)
        if fmt == "table":
            if d.empty:
                console.print("no differences")
                return
            err.print(", ".join(f"{n} {k}" for k, n in d.groupby("change").size().items()))
            if len(d) > 100:
                err.print(f"showing the first 100 of {len(d)} rows; use --format csv for all")
                d = d.head(100)
        write_frame(d, fmt, out)
    run(go)

@data_app.command("vintages")
def data_vintages(fmt: str = typer.Option("table", "--format", "-f"), out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """List the vintages (one per snapshot load, import, update or review)."""
    def go():
        with store_ctx() as st:
            write_frame(st.vintage_list(), fmt, out)
    run(go)

@data_app.command("review")
def data_review(
    accept: Optional[list[str]] = typer.Option(None, "--accept", help="revision ids to apply (or 'all')"),
    reject: Optional[list[str]] = typer.Option(None, "--reject", help="revision ids to reject (or 'all')"),
    status: str = typer.Option("pending", "--status", help="pending, accepted, rejected or all"),
    note: Optional[str] = typer.Option(None, "--note", help="why (kept with the decision)"),
    fmt: str = typer.Option("table", "--format", "-f"), out: Optional[Path] = typer.Option(None, "--out", "-o"),
):
    """List revisions held back by updates; --accept applies them as a new vintage, --reject keeps the old values."""
    def ids(x):
        return "all" if any(i == "all" for i in x) else [int(i) for i in x]

    def go():
        with store_ctx() as st:
            if accept:
                rep = st.decide_revisions(ids(accept), accept=True, note=note)
                console.print(f"accepted; {rep}" if rep else "nothing to accept")
            if reject:
                st.decide_revisions(ids(reject), accept=False, note=note)
                console.print("rejected: the current values stay")
            if not accept and not reject:
                write_frame(st.revisions(None if status == "all" else status), fmt, out)
    run(go)

@data_app.command("export")
def data_export(
    out: Path = typer.Option(..., "--out", "-o", help="the file to write"),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="csv, parquet or xlsx (default: from --out)"),
    indicator: Optional[list[str]] = typer.Option(None, "--indicator", "-i"),
    unit: Optional[list[str]] = typer.Option(None, "--unit", "-u"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="a date or vintage: export the values of then"),
):
    """Export observations with the provenance of each value (origin and vintage columns)."""
    def go():
        from ..sources.export import export

        with store_ctx() as st:
            inds = [st.indicator(i)["code"] for i in indicator] if indicator else None
            units = [st.unit(u)["code"] for u in unit] if unit else None
            v = st.vintage_as_of(as_of) if as_of else None
            df = export(st, out, fmt=fmt, indicators=inds, units=units, as_of_vintage=v)
        err.print(f"wrote {len(df)} values to {out}")
    run(go)

@data_app.command("as-of")
def data_as_of(
    when: str = typer.Argument(..., help="a date (YYYY-MM-DD) or a vintage number"),
    spec: str = typer.Argument(..., help="a shipped spec (egdi, digital-nation) or a YAML file"),
    year: Optional[int] = typer.Option(None, "--year", "-y"),
    fmt: str = typer.Option("table", "--format", "-f"), out: Optional[Path] = typer.Option(None, "--out", "-o"),
):
    """Build an index from the data as it was on a date (the vintage current then)."""
    def go():
        from ..build import build

        with store_ctx() as st:
            v = st.vintage_as_of(when)
            ix = build(spec, st, year=year, as_of_vintage=v)
        err.print(f"as of {when}: vintage {v}")
        if fmt == "table":
            t = ix.table().reset_index()
            write_frame(t, "table", out, title=f"{ix.spec.title or ix.name} {ix.year} (vintage {v})")
        else:
            write_frame(ix.to_long(), fmt, out)
    run(go)
