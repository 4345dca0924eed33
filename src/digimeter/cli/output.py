"""How the command line prints tables and data: one convention everywhere.

Output that is not a terminal (a pipe or a file) gets plain aligned text at full width: no cell cut with
"…" and no row wrapped. In a terminal, wide tables drop their least important columns, never the names.
``--format csv|json`` writes the data itself. Input is data: control characters are shown as ``\\xNN``, and
nothing printed is read as rich markup (both consoles have it off; the few styled lines ask for it and escape
the data they show), so a name such as ``[/x] [red]`` is printed as it is.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

#: one convention for output that is not a terminal (a pipe or a file): plain aligned text at full width,
#: no cell cut with "…" and no row wrapped; in a terminal, wide tables drop their least important columns
_TTY = sys.stdout.isatty()
console = Console(soft_wrap=not _TTY, emoji=False, markup=False)
err = Console(stderr=True, emoji=False, markup=False)

#: columns that name the row: never dropped to fit a narrow terminal
KEY_COLUMNS = {"", "unit", "code", "name", "region", "indicator", "target", "rank", "year", "origin", "node",
               "ranking", "method", "measure", "pillar"}


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters (terminal escapes among them) shown as ``\\xNN``: input is data."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _cell_text(cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def fit(table: Table, *, width: int | None = None, plain: bool | None = None, least: tuple[str, ...] = ()):
    """A rich table as it should be printed: plain aligned text at full width when stdout is not a
    terminal; in a terminal, the least important columns (those named in ``least``, in that order, then
    the rightmost ones that do not name the row) are dropped until the table fits, and the caption says
    which."""
    plain = (not console.is_terminal) if plain is None else plain
    cols = table.columns
    cells = [[_cell_text(c) for c in col.cells] for col in cols]
    heads = [_cell_text(col.header) for col in cols]
    if plain:
        widths = [max([len(h)] + [len(x) for x in cs]) for h, cs in zip(heads, cells)]
        nums = [all(_numeric(x) for x in cs if x) and any(cs) for cs in cells]

        def line(vals):
            return "  ".join((v.rjust(w) if n else v.ljust(w)) for v, w, n in zip(vals, widths, nums)).rstrip()

        out = ([_cell_text(table.title)] if table.title else []) + [line(heads)]
        out += [line(row) for row in zip(*cells)] if cells else []
        if table.caption:
            out.append(_cell_text(table.caption))
        return Text("\n".join(out))
    width = width or console.width
    need = [max([len(h)] + [len(x) for x in cs]) + 3 for h, cs in zip(heads, cells)]
    dropped: list[str] = []
    first = [heads.index(c) for c in least if c in heads]
    order = first + [i for i in range(len(cols) - 1, -1, -1)
                     if heads[i].strip().lower() not in KEY_COLUMNS and i not in first]
    keep = set(range(len(cols)))
    for i in order:
        if sum(need[j] for j in keep) + 1 <= width:
            break
        keep.discard(i)
        dropped.append(heads[i])
    if not dropped:
        for col in cols:
            col.no_wrap = True
        return table
    t = Table(title=table.title, header_style=table.header_style, show_lines=table.show_lines,
              caption=f"{len(dropped)} column(s) not shown to fit {width} columns: {', '.join(reversed(dropped))} "
                      "(widen the terminal, or use --format csv)")
    for i in sorted(keep):
        t.add_column(cols[i].header, justify=cols[i].justify, no_wrap=True,
                     overflow="ellipsis" if heads[i] != "name" else "fold")
    raw = [list(col.cells) for col in cols]
    for r, row in enumerate(table.rows):
        t.add_row(*[raw[i][r] for i in sorted(keep)], style=row.style)
    return t


def _numeric(x: str) -> bool:
    try:
        float(x.replace(",", "").replace("%", "").replace("+", ""))
        return True
    except ValueError:
        return False


def df_table(df: pd.DataFrame, title: str | None = None, *, floatfmt: str | None = None,
             highlight: str | None = None, index: bool = True, least: tuple[str, ...] = ()):
    """A frame as a table to print (see :func:`fit`)."""
    if floatfmt is None:  # 0-1 indices get 4 decimals, 0-100 scores 1
        num = df.select_dtypes("floating")
        big = bool(len(num.columns)) and float(num.abs().max().max() or 0) > 1.5
        floatfmt = "{:.1f}" if big else "{:.4f}"
    t = Table(title=title, header_style="bold", show_lines=False)
    cols = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    for c in cols:
        t.add_column(c)
    for idx, row in df.iterrows():
        cells = [str(idx)] if index else []
        for v in row:
            if isinstance(v, float):
                cells.append("" if pd.isna(v) else floatfmt.format(v))
            else:
                cells.append("" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
        style = "bold yellow" if highlight is not None and str(idx) == highlight else None
        t.add_row(*[Text(printable(c)) for c in cells], style=style)
    return fit(t, least=least)


def write_frame(df: pd.DataFrame, fmt: str, out: Optional[Path], *, title: str | None = None,
                index: bool = False) -> None:
    """Write a frame as a rich table, CSV or JSON to stdout or a file."""
    if fmt == "table":
        if out:
            raise typer.BadParameter("--out needs --format csv or json")
        console.print(df_table(df, title, index=index))
        return
    if fmt == "csv":
        text = df.to_csv(index=index)
    elif fmt == "json":
        text = df.to_json(orient="records", indent=1, force_ascii=False, date_format="iso")
    else:
        raise typer.BadParameter(f"unknown format {fmt!r}; use table, csv or json")
    emit_text(text, out)


def emit_text(text: str, out: Optional[Path]) -> None:
    """Write CSV/JSON text to ``out`` (saying so on stderr) or to stdout."""
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        err.print(f"wrote {out}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
