"""`digimeter report` (one self-contained HTML file with figures and tables) and `digimeter serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from .app import app

@app.command("report")
def report_cmd(unit: str = typer.Option("KAZ", "--unit", "-u", help="the country (ISO3), e.g. KAZ"),
               spec: str = typer.Option("digital-nation", "--spec", "-s",
                                        help="the main index: a shipped spec or a YAML file"),
               scenario: Optional[str] = typer.Option(None, "--scenario",
                                                      help="a target scenario, e.g. fully-digital-kz"),
               lang: str = typer.Option("en", "--lang", "-l", help="en, ru or kk"),
               out: Path = typer.Option(Path("out"), "--out", "-o", help="folder to write into"),
               png: bool = typer.Option(False, "--png/--no-png", help="also write PNG figures (SVG always)"),
               regional: Optional[str] = typer.Option(
                   None, "--regional-indicator", "-r",
                   help="what the regions section shows: a regional indicator or regional spec (default: "
                        "the shipped regional spec, shown with the year-by-year divide of its best-covered "
                        "indicator, else the best-covered regional indicator)"),
               pdf: bool = typer.Option(False, "--pdf", help="also print report.pdf with headless Chromium"),
               cache: bool = typer.Option(True, "--cache/--no-cache",
                                          help="answer from the report kept under the store when the data, code "
                                               "and options are the same (DIGIMETER_NO_CACHE=1 also turns it "
                                               "off)")):
    """Write the report: report.html (opens offline), figures (SVG/PNG) and tables (CSV/XLSX); with
    --pdf also report.pdf."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .app import console, err, run

    def go():
        from ..report import SECTION_IDS, cached_report, write_report

        with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
                      TimeElapsedColumn(), console=err, transient=True) as bar:
            task = bar.add_task("report", total=3 + len(SECTION_IDS) + 14)

            def step(label: str) -> None:
                bar.update(task, description=label, advance=1)

            rep, svgs = cached_report(unit, spec, scenario=scenario, lang=lang, progress=step, regional=regional,
                                      cache=cache, svgs=True)
            written = write_report(rep, out, png=png, progress=step, svgs=svgs)
            bar.update(task, completed=bar.tasks[0].total)
        head = rep.section("headline")
        for p in head.paragraphs:
            console.print(p)
        waiting = [s.id for s in rep.sections if not s.available]
        if waiting:
            err.print(f"not yet available: {', '.join(waiting)}")
        err.print(f"wrote {written['html']} ({len(written['figures'])} figures, "
                  f"{len(written['tables'])} tables, {written['xlsx'].name})")
        if pdf:
            from ..pdf import print_pdf

            err.print(f"wrote {print_pdf(written['html'], Path(written['html']).with_suffix('.pdf'))}")
    run(go)

@app.command("serve")
def serve_cmd(host: str = typer.Option("127.0.0.1", "--host", help="address to bind (default: loopback only)"),
              port: int = typer.Option(8000, "--port", "-p")):
    """The dashboard: country, comparison, regions, targets and methods pages, with a JSON API."""
    import uvicorn

    from ..web.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info")
