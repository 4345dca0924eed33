"""CLI: the ``data`` group: list, units, origins, show and import (the store's own commands; updates,
vintages, diff, review, export and as-of are in :mod:`digimeter.cli.data_store`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.markup import escape

from .app import console, data_app, err, progress, run, store_ctx
from .output import write_frame

# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
@data_app.command("list")
def data_list(fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
              out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """List the indicators in the store with their source, unit and coverage."""
    def go():
        with store_ctx() as s:
            df = s.indicators()[["code", "name", "unit", "source", "source_code", "n_units", "first_year", "last_year"]]
        write_frame(df, fmt, out, title="Indicators")
    run(go)


@data_app.command("units")
def data_units(kind: Optional[str] = typer.Option(None, help="country, region, territory or aggregate"),
               parent: Optional[str] = typer.Option(None, help="children of this unit (e.g. KAZ)"),
               fmt: str = typer.Option("table", "--format", "-f"), out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """List units (countries, regions)."""
    def go():
        with store_ctx() as s:
            df = s.units(kind=kind, parent=parent)[["code", "name", "kind", "parent", "un_region", "wb_region", "income_group"]]
        write_frame(df, fmt, out, title="Units")
    run(go)


@data_app.command("origins")
def data_origins(fmt: str = typer.Option("table", "--format", "-f"), out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """Where every number came from: publisher, dataset, edition, URL, licence, checksum."""
    def go():
        with store_ctx() as s:
            df = s.origins()
        write_frame(df, fmt, out, title="Origins")
    run(go)


@data_app.command("show")
def data_show(indicator: str = typer.Argument(..., help="digimeter code (internet_users_pct) or publisher code (i99H)"),
              unit: Optional[list[str]] = typer.Option(None, "--unit", "-u", help="unit code(s), e.g. KAZ"),
              year: Optional[list[int]] = typer.Option(None, "--year", "-y"),
              fmt: str = typer.Option("table", "--format", "-f"), out: Optional[Path] = typer.Option(None, "--out", "-o")):
    """Show the values of one indicator (with origin and vintage)."""
    def go():
        with store_ctx() as s:
            meta = s.indicator(indicator)
            units = [s.unit(u)["code"] for u in unit] if unit else None
            df = s.observations(indicators=meta["code"], units=units, years=year)
        if fmt == "table":
            hib = meta["higher_is_better"]
            way = ("direction unknown: set it with an indicators file" if hib is None or pd.isna(hib)
                   else f"{'higher' if hib else 'lower'} is better")
            err.print(f"[bold]{escape(str(meta['code']))}[/]: "
                      + escape(f"{meta['name']} ({meta['unit']}; source {meta['source']} {meta['source_code']}; {way})"),
                      markup=True)
        write_frame(df[["unit", "year", "value", "origin_id", "vintage", "note"]], fmt, out)
    run(go)


@data_app.command("import")
def data_import(file: Path = typer.Argument(..., help="CSV or XLSX, long (unit,indicator,year,value) or wide form"),
                publisher: Optional[str] = typer.Option(None, help="who published these numbers"),
                dataset: Optional[str] = typer.Option(None, help="dataset name (default: the file name)"),
                licence: Optional[str] = typer.Option(None),
                url: Optional[str] = typer.Option(None),
                id_property: Optional[str] = typer.Option(
                    None, "--id-property", help="boundaries: the feature property with the region code "
                                                "(default: unit, NUTS_ID, shapeISO, ISO or id, whichever matches)"),
                country: Optional[str] = typer.Option(
                    None, "--country", help="boundaries: take this country's regions from a multi-country file"),
                layout: Optional[str] = typer.Option(
                    None, "--layout", help="boundaries: the layout's name (default: properties.layout, the "
                                           "crosswalk layout with these regions, else the file name)"),
                name: Optional[str] = typer.Option(
                    None, "--name", help="crosswalk: its name (default: the file name without _crosswalk)"),
                partial: bool = typer.Option(
                    False, "--partial", help="boundaries: accept a file lacking some regions (listed)"),
                sheet: Optional[str] = typer.Option(
                    None, "--sheet", help="XLSX: import this sheet only (with its indicators/units sheets)"),
                wait: float = typer.Option(
                    0.0, "--wait", help="seconds to wait while another command writes to the store")):
    """Import a user's file in one transaction: a bad file changes nothing. Data, units and indicators
    files (CSV/XLSX), a crosswalk CSV or a GeoJSON boundary file (see docs/regions.md)."""
    def go():
        from ..sources.files import import_file

        with store_ctx(wait=wait) as s, progress() as say:
            say(f"importing {file}")
            geo = {k: v for k, v in dict(id_property=id_property, country=country, layout=layout, name=name,
                                         partial=partial).items() if v not in (None, False)}
            if sheet is not None:
                geo["sheet"] = sheet
            rep = import_file(s, file, publisher=publisher, dataset=dataset, licence=licence, url=url, **geo)
        console.print(escape(str(rep)), highlight=False)
    run(go)
