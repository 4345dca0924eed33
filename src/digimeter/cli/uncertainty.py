"""`digimeter uncertainty` and `digimeter sensitivity`: thin shells over :mod:`digimeter.uncertainty`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from .app import app, err, parse_sets, run
from .output import write_frame


@app.command("uncertainty")
def uncertainty_cmd(
    spec: str = typer.Argument(..., help="a shipped spec (egdi, digital-nation) or a YAML file"),
    factors: str = typer.Option(..., "--factors", help="factor YAML file, or a shipped one (egdi-default)"),
    n: int = typer.Option(1000, "-n", "--samples", help="number of Monte Carlo samples"),
    seed: int = typer.Option(0, "--seed", help="one seed for everything (same seed, same numbers)"),
    workers: Optional[int] = typer.Option(None, "--workers", help="run on a local Dask cluster with N worker processes"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="run on the Dask cluster at this address"),
    node: Optional[str] = typer.Option(None, "--node", help="only this node in the output (default: all aggregates; table: the index)"),
    year: Optional[int] = typer.Option(None, "--year", "-y"),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="change a setting of the nominal spec: ADDRESS=VALUE"),
    sampler: str = typer.Option("sobol", "--sampler", help="sobol, latin or random"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json (long rows unit,node,...)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o"),
):
    """Rank and score intervals of every unit when the factors' choices vary (Monte Carlo)."""
    def go():
        from ..build import build
        from ..uncertainty import uncertainty

        if workers and scheduler:
            raise typer.BadParameter("give --workers or --scheduler, not both")
        ix = build(spec, year=year, changes=parse_sets(set_))
        res = uncertainty(ix, factors, n, seed=seed, sampler=sampler, workers=workers,
                          scheduler=scheduler, progress=True)
        df = res.summary
        if fmt == "table":
            t = res.node(node)
            names = ix.params.get("unit_meta")
            if names is not None and "name" in names:
                t.insert(1, "name", t.unit.map(names["name"]))
            cols = ["unit"] + (["name"] if "name" in t else []) + [
                "nominal_rank", "median_rank", "q05_rank", "q95_rank", "p_nominal_rank",
                "nominal_score", "median_score"]
            write_frame(t[cols], "table", None,
                        title=f"{ix.spec.title or ix.name} {ix.year}: {res.n} samples, seed {seed}")
            err.print(f"{len(res.design.factors)} factors; {res.n_rebuilds_upstream} distinct upstream "
                      "builds; ranks 5-95 %; p_nominal_rank = share of samples keeping the nominal rank; "
                      "score intervals: --format csv")
            return
        if node:
            df = df[df.node == node]
        write_frame(df, fmt, out)
    run(go)

@app.command("sensitivity")
def sensitivity_cmd(
    spec: str = typer.Argument(..., help="a shipped spec (egdi, digital-nation) or a YAML file"),
    factors: str = typer.Option(..., "--factors", help="factor YAML file, or a shipped one"),
    n: int = typer.Option(1024, "-n", "--samples", help="base sample size (Sobol: n*(k+2) runs; Morris: n trajectories)"),
    method: str = typer.Option("sobol", "--method", help="sobol (first/total order) or morris (screening)"),
    seed: int = typer.Option(0, "--seed"),
    node: Optional[str] = typer.Option(None, "--node", help="whose ranks (default: the index)"),
    per_unit: bool = typer.Option(True, "--per-unit/--no-per-unit", help="indices of every unit's rank too"),
    workers: Optional[int] = typer.Option(None, "--workers"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler"),
    year: Optional[int] = typer.Option(None, "--year", "-y"),
    set_: Optional[list[str]] = typer.Option(None, "--set"),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or json"),
    out: Optional[Path] = typer.Option(None, "--out", "-o"),
):
    """Which choices move the ranks most: Sobol' indices or Morris screening (SALib)."""
    def go():
        from ..build import build
        from ..uncertainty import sensitivity

        if workers and scheduler:
            raise typer.BadParameter("give --workers or --scheduler, not both")
        ix = build(spec, year=year, changes=parse_sets(set_))
        res = sensitivity(ix, factors, n, method=method, seed=seed, node=node, per_unit=per_unit,
                          workers=workers, scheduler=scheduler, progress=True)
        if fmt == "table":
            write_frame(res.of().reset_index(), "table", None,
                        title=f"{ix.spec.title or ix.name} {ix.year}: {method} indices of the mean absolute "
                              f"rank shift ({res.n_runs} runs, seed {seed})")
            if per_unit:
                err.print("per-unit indices: use --format csv or json")
            return
        write_frame(res.indices, fmt, out)
    run(go)
