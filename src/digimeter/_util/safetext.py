"""User input is data: text from a file is made inert before a spreadsheet or a terminal sees it.

- :func:`neutralise_cell` / :func:`neutralise_frame`: a text cell that a spreadsheet would read as a
  formula (it starts with ``= + - @``, a tab or a carriage return) gets a leading ``'`` (OWASP "CSV
  injection"); numbers, and text that is just a number (``-1.5``), are left as they are.
- :func:`printable`: control characters (ESC sequences, bells, backspaces) are shown escaped
  (``\\x1b``), never sent raw to a terminal.
- :func:`quote_input`: :func:`printable`, plus rich markup (``[bold]``) and emoji codes (``:warning:``)
  escaped, for every message that quotes user input and may be printed by rich.
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
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


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


def _escape_char(m: re.Match) -> str:
    c = m.group(0)
    o = ord(c)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def printable(text: Any) -> str:
    """``str(text)`` with control characters escaped (``\\x1b``); newlines and tabs kept."""
    return _CONTROL.sub(_escape_char, str(text))


def quote_input(text: Any, limit: int | None = 200) -> str:
    """``text`` made safe to quote in a message printed by rich: control characters escaped, rich markup
    (``[tag]``) and emoji codes (``:name:``) escaped, and cut to ``limit`` characters."""
    s = printable(text).replace("\n", "\\n").replace("\t", "\\t")
    if limit is not None and len(s) > limit:
        s = s[:limit] + f"... ({len(s)} characters)"
    s = s.replace("[", "\\[")
    # rich replaces :name: with an emoji; a zero-width joiner between the colon and the name stops it
    return re.sub(r":(?=[A-Za-z0-9_+\-]+:)", ":\u200d", s)
