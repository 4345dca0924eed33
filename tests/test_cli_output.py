"""Commands that print tables are good command-line citizens (issue 12).

- Every command listed in docs/cli.md that prints a table takes ``--format table|csv|json``, and its CSV
  and JSON parse (the command tree is walked, so a new command cannot be forgotten).
- Piped output is plain aligned text at full width: no cell cut with "…", no row wrapped.
- In a narrow terminal, wide tables drop their least important columns, never the names.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pandas as pd
import pytest
import typer.main
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from digimeter import cli
from digimeter.cli import app, fit

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"

#: commands that print no table (they write files, serve, or report what they changed)
NO_TABLE = {"report", "serve", "data import", "data update", "data export"}

#: the shortest real invocation of each table command (arguments after the command's name)
ARGS = {
    "build": ["egdi"], "rank": ["KAZ", "egdi", "--top", "3"], "audit": ["egdi"],
    "compare": ["KAZ"], "gaps": ["KAZ", "egdi"], "what-it-takes": ["KAZ", "egdi", "--rank", "20"],
    "regions": ["KAZ", "--indicator", "internet_users_pct"], "divide": ["KAZ", "internet_users_pct"],
    "forecast": ["KAZ", "internet_users_pct"], "targets": ["fully-digital-kz"],
    "backtest": ["fixed_broadband_per100", "--origin", "2018"],
    "uncertainty": ["egdi", "--factors", "egdi-default", "--samples", "16"],
    "sensitivity": ["egdi", "--factors", "egdi-default", "--samples", "8"],
    "data list": [], "data units": ["--parent", "KAZ"], "data origins": [],
    "data show": ["internet_users_pct", "--unit", "KAZ"], "data diff": [], "data vintages": [],
    "data review": [], "data as-of": ["1", "egdi"],
    "whatif": ["KAZ", "--set", "coverage_4g=99"],
}


def leaves(c, path=()):
    if hasattr(c, "commands"):
        for name, sub in c.commands.items():
            yield from leaves(sub, (*path, name))
    else:
        yield " ".join(path), c


TREE = dict(leaves(typer.main.get_command(app)))
TABLE_COMMANDS = sorted(set(TREE) - NO_TABLE)


def test_every_documented_command_is_known_here():
    text = DOCS.read_text(encoding="utf-8")
    for name in TREE:
        assert f"digimeter {name}" in text, f"{name} is missing from docs/cli.md (make docs)"
    assert set(ARGS) == set(TABLE_COMMANDS), "give each table command a real invocation in ARGS"


@pytest.mark.parametrize("name", TABLE_COMMANDS)
def test_every_table_command_takes_format_csv_and_json(name, digimeter_home):
    opts = {o for p in TREE[name].params for o in getattr(p, "opts", [])}
    assert "--format" in opts, f"`digimeter {name}` prints a table but has no --format"
    runner = CliRunner()
    base = name.split() + ARGS[name]
    res = runner.invoke(app, [*base, "--format", "json"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    json.loads(res.stdout)
    res = runner.invoke(app, [*base, "--format", "csv"])
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(io.StringIO(res.stdout))
    assert len(frame.columns) >= 2


def test_regions_piped_show_every_full_name_on_one_line(digimeter_home):
    out = subprocess.run([sys.executable, "-m", "digimeter.cli", "regions", "KAZ", "--year", "2023"],
                         capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"}, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "…" not in out.stdout
    from digimeter.store import open_store

    with open_store() as s:
        regions = s.units(kind="region", parent="KAZ")
    lines = out.stdout.splitlines()
    current = [r for r in regions.itertuples() if any(r.code in line for line in lines)]
    assert len(current) == 20
    for r in current:
        line = next(line for line in lines if f" {r.code} " in f" {line} ")
        assert r.name in line, f"{r.name!r} is not whole on its row: {line!r}"


def _table(n_extra: int) -> Table:
    t = Table(title="t")
    for c in ["unit", "name", *[f"measure_{i}" for i in range(n_extra)]]:
        t.add_column(c)
    t.add_row("KZ-71", "Astana city (the capital)", *["12345.6"] * n_extra)
    return t


def test_a_narrow_terminal_drops_the_least_important_columns_not_the_names():
    t = fit(_table(12), width=60, plain=False)
    heads = [str(c.header) for c in t.columns]
    assert heads[:2] == ["unit", "name"] and len(heads) < 14
    assert "not shown" in str(t.caption) and "--format csv" in str(t.caption)
    buf = io.StringIO()
    Console(file=buf, width=60).print(t)
    assert "Astana city (the capital)" in buf.getvalue()
    assert max(len(line) for line in buf.getvalue().splitlines()) <= 60
    # named least important columns go first
    t = fit(_table(12), width=60, plain=False, least=("measure_0",))
    assert "measure_0" not in [str(c.header) for c in t.columns]


def test_piped_tables_are_plain_aligned_text_at_full_width():
    text = fit(_table(12), plain=True).plain.splitlines()
    assert text[0] == "t" and text[1].split()[:3] == ["unit", "name", "measure_0"]
    assert "Astana city (the capital)" in text[2] and len(text) == 3
    assert len({line.index("measure_0") if "measure_0" in line else None for line in text[1:2]}) == 1
    assert cli.KEY_COLUMNS >= {"unit", "name", "code", "region"}


def test_one_argument_order_the_unit_first_with_the_old_forms_kept(digimeter_home):
    """``rank KAZ egdi`` as ``gaps KAZ egdi``; ``rank egdi --unit KAZ`` still works (deprecated)."""
    runner = CliRunner()
    new = runner.invoke(app, ["rank", "KAZ", "egdi", "--top", "3", "--format", "csv"])
    old = runner.invoke(app, ["rank", "egdi", "--unit", "KAZ", "--top", "3", "--format", "csv"])
    assert new.exit_code == 0 and old.exit_code == 0, new.output + old.output
    assert new.stdout == old.stdout and "KAZ" in new.stdout
    assert "deprecated" in old.stderr and "digimeter rank KAZ egdi" in old.stderr
    both = runner.invoke(app, ["rank", "KAZ", "egdi", "--unit", "UZB"])
    assert both.exit_code != 0 and "give the unit once" in both.output
    new = runner.invoke(app, ["audit", "KAZ", "egdi", "-t", "strengths", "--format", "json"])
    old = runner.invoke(app, ["audit", "egdi", "--unit", "KAZ", "-t", "strengths", "--format", "json"])
    assert new.exit_code == 0 and json.loads(new.stdout) == json.loads(old.stdout)
