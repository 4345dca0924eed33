"""The cells of a table read from a file: the :class:`Sheet` that holds them, and what a cell means
(blank, a number, a year, a bit of text, true/false)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pandas as pd

__all__ = ["MIN_YEAR", "UNIT_KINDS", "BLANKS", "max_year", "Sheet", "is_blank", "nonblank_rows", "to_number",
           "number_fix", "to_year", "cell_text", "to_bool", "same_value"]

MIN_YEAR = 1900
UNIT_KINDS = ("country", "region", "territory", "aggregate")
BLANKS = {"", ".."}  # ".." is the World Bank's "no data" marker


def max_year() -> int:
    return datetime.now(timezone.utc).year + 1


@dataclass
class Sheet:
    """One table read from a file: its header and its rows with their own row numbers."""

    file: str
    sheet: str | None
    rows: list[tuple[int, list[Any]]]  # (row number in the file, cells); header included
    header_row: int = 0  # index into rows of the header, set by form detection

    @property
    def where(self) -> str:
        return f"{self.file}, sheet '{self.sheet}'" if self.sheet else self.file


def is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() in BLANKS


def nonblank_rows(sheet: Sheet) -> list[tuple[int, list[Any]]]:
    return [(n, cells) for n, cells in sheet.rows if any(not is_blank(c) for c in cells)]


def to_number(v: Any) -> float | None:
    """A finite float, or None when the cell is not a plain number."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, str):
        s = v.strip()
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
            return None
        f = float(s)
        return f if math.isfinite(f) else None
    return None


def number_fix(v: Any) -> str:
    s = str(v).strip()
    if re.fullmatch(r"[+-]?\d+,\d+", s):
        return f"use a dot as the decimal separator ({s.replace(',', '.')}), or leave the cell blank"
    if re.fullmatch(r"[+-]?\d{1,3}([, ]\d{3})+(\.\d+)?", s):
        return f"remove the thousands separators ({re.sub('[, ]', '', s)})"
    if s.endswith("%"):
        return f"drop the % sign ({s[:-1].strip()})"
    return "write a plain number (e.g. 12.5) or leave the cell blank if there is no value"


def to_year(v: Any) -> tuple[int | None, str | None]:
    if isinstance(v, bool) or v is None:
        return None, "not a year"
    if isinstance(v, (int, float)):
        f = float(v)
    elif isinstance(v, str) and re.fullmatch(r"[+-]?\d+(\.0+)?", v.strip()):
        f = float(v)
    elif isinstance(v, str) and re.fullmatch(r"[+-]?\d+\.\d+", v.strip()):
        return None, "a year must be a whole number"
    else:
        return None, "not a year"
    if not f.is_integer():
        return None, "a year must be a whole number"
    y = int(f)
    if y < MIN_YEAR or y > max_year():
        return None, f"year out of range ({MIN_YEAR}..{max_year()})"
    return y, None


def cell_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def to_bool(v: Any) -> bool | None:
    s = cell_text(v).lower()
    if s in ("true", "yes", "y", "1", "+1", "higher"):
        return True
    if s in ("false", "no", "n", "0", "-1", "lower"):
        return False
    return None


def same_value(a, b) -> bool:
    na = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA
    nb = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if na or nb:
        return na and nb
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False
