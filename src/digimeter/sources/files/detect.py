"""What a table is: the CSV delimiter, the header row and the layout it announces (long, wide by
indicator, wide by year, units or indicators)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from typing import Any

from ..._util.problems import ProblemList
from .cells import Sheet, is_blank

__all__ = ["UNIT_ALIASES", "INDICATOR_ALIASES", "DESCRIPTIVE", "NAME_LANG", "UNITS_FILE_COLS", "IND_FILE_COLS",
           "YEAR_HEADER", "Layout", "FORM_NAMES", "sniff_delimiter", "find_layout"]

UNIT_ALIASES = ("unit", "iso3", "code", "country_code", "unit_code", "iso")
INDICATOR_ALIASES = ("indicator", "indicator_code")
DESCRIPTIVE = {"unit_name", "country_name", "country", "indicator_name", "name"}
# a units table may give each unit's name in other languages: name_ru, name_kk, ... (ISO 639 codes)
NAME_LANG = re.compile(r"name_([a-z]{2,3})")
UNITS_FILE_COLS = ("code", "name", "kind", "parent", "iso2", "un_region", "un_subregion", "wb_region",
                   "income_group", "un_member", "valid_from", "valid_to")
IND_FILE_COLS = ("code", "name", "unit", "higher_is_better", "min_value", "max_value", "source",
                 "source_code", "description")
YEAR_HEADER = re.compile(r"^(?:YR)?(\d{4})(?:\.0)?(?:\s*\[YR\d{4}\])?$", re.IGNORECASE)


def sniff_delimiter(text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    best, n_best = ",", 0
    for d in (",", ";", "\t"):
        n = 0
        try:
            n = len(next(csv.reader([first], delimiter=d))) - 1
        except (csv.Error, StopIteration):
            pass
        if n > n_best:
            best, n_best = d, n
    return best


def _norm(h: Any) -> str:
    if h is None:
        return ""
    if isinstance(h, float) and h.is_integer():
        h = int(h)
    return re.sub(r"[\s\-]+", "_", str(h).strip()).lower()


def _year_header(h: Any) -> int | None:
    if isinstance(h, (int, float)) and not isinstance(h, bool):
        return int(h) if float(h).is_integer() and 1000 <= h <= 9999 else None
    m = YEAR_HEADER.match(str(h).strip()) if h is not None else None
    return int(m.group(1)) if m else None


@dataclass
class Layout:
    form: str  # long | wide_by_indicator | wide_by_year | units | indicators
    cols: dict[str, int]  # role -> column index
    extra: dict[int, Any] = field(default_factory=dict)  # column index -> indicator code or year
    ignored: list[str] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)


FORM_NAMES = {"long": "long form: unit, indicator, year, value",
              "wide_by_indicator": "wide form by indicator: unit, year, one column per indicator",
              "wide_by_year": "wide form by year: unit, indicator, one column per year",
              "units": "units file: code, name, kind, parent",
              "indicators": "indicators file: code, name, unit, higher_is_better, min_value, max_value"}


def _detect(header: list[Any]) -> Layout | None:
    names = [_norm(h) for h in header]
    pos = {n: i for i, n in reversed(list(enumerate(names))) if n}
    cols: dict[str, int] = {}

    if {"code", "name", "kind"} <= pos.keys():
        lay = Layout("units", {c: pos[c] for c in UNITS_FILE_COLS if c in pos})
        lay.cols.update({n: i for n, i in pos.items() if NAME_LANG.fullmatch(n)})
        lay.unknown = [(i, str(header[i])) for i, n in enumerate(names)
                       if n and n not in UNITS_FILE_COLS and not NAME_LANG.fullmatch(n)]
        return lay
    if {"code", "name", "higher_is_better"} <= pos.keys():
        lay = Layout("indicators", {c: pos[c] for c in IND_FILE_COLS if c in pos})
        lay.unknown = [(i, str(header[i])) for i, n in enumerate(names) if n and n not in IND_FILE_COLS]
        return lay

    unit_col = next((pos[a] for a in UNIT_ALIASES if a in pos), None)
    ind_col = next((pos[a] for a in INDICATOR_ALIASES if a in pos), None)
    if unit_col is None:
        return None
    cols["unit"] = unit_col
    if ind_col is not None:
        cols["indicator"] = ind_col
    for role in ("year", "value", "note"):
        if role in pos:
            cols[role] = pos[role]
    used = set(cols.values())

    def rest():
        for i, (h, n) in enumerate(zip(header, names)):
            if i in used or not n:
                continue
            yield i, h, n

    if {"indicator", "year", "value"} <= cols.keys():
        lay = Layout("long", cols)
        for i, h, n in rest():
            if n in DESCRIPTIVE or n in UNIT_ALIASES:
                lay.ignored.append(str(h))
            else:
                lay.unknown.append((i, str(h)))
        return lay
    if "indicator" in cols and "year" not in cols and "value" not in cols:
        lay = Layout("wide_by_year", cols)
        for i, h, n in rest():
            y = _year_header(h)
            if y is not None:
                lay.extra[i] = y
            elif n in DESCRIPTIVE or n in UNIT_ALIASES:
                lay.ignored.append(str(h))
            else:
                lay.unknown.append((i, str(h)))
        return lay if lay.extra else None
    if "year" in cols and "indicator" not in cols and "value" not in cols:
        lay = Layout("wide_by_indicator", cols)
        for i, h, n in rest():
            if n in DESCRIPTIVE or n in UNIT_ALIASES:
                lay.ignored.append(str(h))
            else:
                lay.extra[i] = str(h).strip() if not isinstance(h, float) else str(int(h)) if h.is_integer() else str(h)
        return lay if lay.extra else None
    return None


def find_layout(sheet: Sheet, problems: ProblemList, *, required: bool = True) -> Layout | None:
    """Detect the header row (the first non-blank row, or up to 10 rows down for World Bank files)."""
    rows = sheet.rows
    first = next((k for k, (_, c) in enumerate(rows) if any(not is_blank(x) for x in c)), None)
    if first is None:
        if required:
            problems.add("the file is empty (no header and no rows)", sheet=sheet,
                         fix="export the data again; the first row must be a header such as "
                             "unit,indicator,year,value")
        return None
    for k in range(first, min(first + 10, len(rows))):
        lay = _detect(rows[k][1])
        if lay is not None:
            sheet.header_row = k
            return lay
    if required:
        got = ", ".join(str(c) for c in rows[first][1] if not is_blank(c))
        problems.add("cannot tell the layout of the table from its header", sheet=sheet, row=rows[first][0],
                     value=got,
                     fix="use a header like 'unit,indicator,year,value' (long), 'unit,year,<indicator codes>' "
                         "(wide by indicator), 'unit,indicator,<years>' (wide by year) or "
                         "'code,name,kind,parent' (units)")
    return None
