"""User input is data: text from a file is made inert before a spreadsheet sees it.

:func:`neutralise_cell` / :func:`neutralise_frame`: a text cell that a spreadsheet would read as a
formula (it starts with ``= + - @``, a tab or a carriage return) gets a leading ``'`` (OWASP "CSV
injection"); numbers, and text that is just a number (``-1.5``), are left as they are. (Terminal
output is made inert by the command line: :func:`digimeter.cli.printable`, consoles without emoji.)
"""

from __future__ import annotations

import re
from typing import Any

#: first characters that make a spreadsheet treat a text cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISE_NOTE = ("Text cells that begin with = + - @, a tab or a carriage return are written with a leading "
                   "apostrophe (') so that no spreadsheet runs them as formulas; remove it to recover the "
                   "original text. Numbers are written as numbers.")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise_cell(v: Any) -> Any:
    """``v`` with a leading ``'`` if it is text a spreadsheet would run as a formula; anything else unchanged."""
    if isinstance(v, str) and v.startswith(FORMULA_START) and not _NUMBER.match(v) and v not in ("-", "+"):
        return "'" + v
    return v


def neutralise_frame(df):
    """A copy of ``df`` whose text cells (object/string columns, and column names) are :func:`neutralise_cell`-ed."""
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        dt = out[c].dtype
        if dt == object or isinstance(dt, pd.StringDtype) or str(dt) in ("str", "string"):
            col = out[c]
            mask = col.map(lambda v: neutralise_cell(v) is not v)
            if bool(mask.any()):
                out[c] = col.astype(object).where(~mask, "'" + col.astype(object).where(mask, "").astype(str))
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out
