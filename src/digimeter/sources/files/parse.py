"""Parsing sheets into what the store holds: units and indicators tables, and data tables (long or wide)
into tidy observations, each checked against the store's catalogue; every problem names its row and
column."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..._util.problems import ProblemList
from .cells import (MIN_YEAR, UNIT_KINDS, Sheet, cell_text, is_blank, max_year, number_fix, same_value, to_bool,
                    to_number, to_year)
from .detect import IND_FILE_COLS, NAME_LANG, UNITS_FILE_COLS, Layout

__all__ = ["IND_FILE_HINT", "Catalogue", "parse_units", "parse_indicators", "Obs", "parse_data", "sheet_delim_hint",
           "check_values"]

IND_FILE_HINT = "code,name,unit,higher_is_better,min_value,max_value"


class Catalogue:
    def __init__(self, store):
        inds = store.query("SELECT * FROM indicators")
        self.ind = {r["code"]: r for r in inds.to_dict("records")}
        self.alias: dict[str, str] = {}
        for r in inds.to_dict("records"):
            if isinstance(r.get("source_code"), str) and r["source_code"]:
                self.alias.setdefault(r["source_code"], r["code"])
        self.ind_lower: dict[str, set[str]] = {}
        for c in list(self.ind) + list(self.alias):
            self.ind_lower.setdefault(c.lower(), set()).add(self.alias.get(c, c) if c not in self.ind else c)
        units = store.query("SELECT * FROM units")
        self.units = {r["code"]: r for r in units.to_dict("records")}
        self.unit_upper = {c.upper(): c for c in self.units}
        self.unit_name = {str(r["name"]).lower(): c for c, r in self.units.items() if r.get("name")}

    def indicator(self, code: str) -> str | None:
        if code in self.ind:
            return code
        if code in self.alias:
            return self.alias[code]
        hits = self.ind_lower.get(code.lower(), set())
        return next(iter(hits)) if len(hits) == 1 else None

    def unit(self, code: str) -> str | None:
        if code in self.units:
            return code
        return self.unit_upper.get(code.upper())

    def close_units(self, code: str) -> list[str]:
        close = difflib.get_close_matches(code.upper(), list(self.units), n=3, cutoff=0.6)
        by_name = self.unit_name.get(code.lower())
        if by_name and by_name not in close:
            close.insert(0, by_name)
        return close

    def close_indicators(self, code: str) -> list[str]:
        pool = list(self.ind) + list(self.alias)
        close = difflib.get_close_matches(code, pool, n=3, cutoff=0.6)
        if not close:
            close = difflib.get_close_matches(code.lower(), [p.lower() for p in pool], n=3, cutoff=0.6)
        return close


def parse_units(sheet: Sheet, lay: Layout, cat: Catalogue, problems: ProblemList) -> pd.DataFrame:
    for i, h in lay.unknown:
        problems.add(f"unexpected column '{h}' in a units table", sheet=sheet, row=sheet.rows[sheet.header_row][0],
                     field=h, fix=f"keep only the columns {', '.join(UNITS_FILE_COLS)}")
    recs, seen = [], {}
    body = [r for r in sheet.rows[sheet.header_row + 1:] if any(not is_blank(c) for c in r[1])]
    if not body:
        problems.add("the units table has a header but no rows", sheet=sheet, row=sheet.rows[sheet.header_row][0],
                     fix="add one row per unit: code,name,kind,parent")
    declared = {cell_text(c[lay.cols["code"]]) if lay.cols["code"] < len(c) else "" for _, c in body}

    def get(cells, role):
        i = lay.cols.get(role)
        return cells[i] if i is not None and i < len(cells) else None

    for n, cells in body:
        code, name = cell_text(get(cells, "code")), cell_text(get(cells, "name"))
        kind = cell_text(get(cells, "kind")).lower()
        parent = cell_text(get(cells, "parent"))
        rec = {"code": code, "name": name, "kind": kind, "parent": parent or None}
        if not code or re.search(r"\s", code):
            problems.add("a unit code must be given, without spaces", sheet=sheet, row=n, field="code", value=code,
                         fix="use a code such as KZ-ALM (ISO 3166-2) for a region")
        elif code in seen:
            problems.add(f"duplicate unit code '{code}' (also on row {seen[code]})", sheet=sheet, row=n,
                         field="code", value=code, fix="keep one row per unit")
        else:
            seen[code] = n
        if not name:
            problems.add("the unit has no name", sheet=sheet, row=n, field="name", fix="give every unit a name")
        if kind not in UNIT_KINDS:
            problems.add(f"unknown unit kind '{kind}'", sheet=sheet, row=n, field="kind", value=kind,
                         fix=f"use one of {', '.join(UNIT_KINDS)}")
        if parent and cat.unit(parent) is None and parent not in declared:
            close = cat.close_units(parent)
            problems.add(f"unknown parent unit '{parent}'", sheet=sheet, row=n, field="parent", value=parent,
                         fix=(f"did you mean {', '.join(close)}? " if close else "")
                         + "use a unit code from `digimeter data units` or one declared in this file")
        elif parent and cat.unit(parent):
            rec["parent"] = cat.unit(parent)
        if parent and parent == code:
            problems.add("a unit cannot be its own parent", sheet=sheet, row=n, field="parent", value=parent,
                         fix="leave parent blank or name the unit above it")
        for c in ("valid_from", "valid_to"):
            v = get(cells, c)
            if is_blank(v):
                rec[c] = None
                continue
            y, err = to_year(v)
            if err:
                problems.add(f"{c}: {err}", sheet=sheet, row=n, field=c, value=v,
                             fix=f"write a year between {MIN_YEAR} and {max_year()}, or leave it blank")
            rec[c] = y
        if rec.get("valid_from") and rec.get("valid_to") and rec["valid_from"] > rec["valid_to"]:
            problems.add("valid_from is after valid_to", sheet=sheet, row=n, field="valid_from",
                         value=rec["valid_from"], fix="swap the two years")
        for c in ("iso2", "un_region", "un_subregion", "wb_region", "income_group"):
            if c in lay.cols:
                rec[c] = cell_text(get(cells, c)) or None
        if "un_member" in lay.cols:
            v = get(cells, "un_member")
            rec["un_member"] = None if is_blank(v) else to_bool(v)
            if not is_blank(v) and rec["un_member"] is None:
                problems.add("un_member must be true or false", sheet=sheet, row=n, field="un_member", value=v,
                             fix="write true or false")
        for role in lay.cols:
            m = NAME_LANG.fullmatch(role)
            if not m:
                continue
            if m.group(1) == "en":
                problems.add("the English name goes in the 'name' column", sheet=sheet, row=n, field=role,
                             fix="rename the column name_en to name (or drop it)")
                continue
            v = cell_text(get(cells, role))
            if v:
                rec[role] = v
        recs.append(rec)
    return pd.DataFrame(recs)


def parse_indicators(sheet: Sheet, lay: Layout, cat: Catalogue, problems: ProblemList,
                      source: str) -> pd.DataFrame:
    hdr = sheet.rows[sheet.header_row][0]
    for i, h in lay.unknown:
        problems.add(f"unexpected column '{h}' in an indicators table", sheet=sheet, row=hdr, field=h,
                     fix=f"keep only the columns {', '.join(IND_FILE_COLS)}")
    body = [r for r in sheet.rows[sheet.header_row + 1:] if any(not is_blank(c) for c in r[1])]

    def get(cells, role):
        i = lay.cols.get(role)
        return cells[i] if i is not None and i < len(cells) else None

    recs, seen = [], {}
    for n, cells in body:
        code, name = cell_text(get(cells, "code")), cell_text(get(cells, "name"))
        if code not in cat.ind and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.\-]*", code or ""):  # (a store code stands)
            problems.add("an indicator code must start with a letter and use only letters, digits, _ . -",
                         sheet=sheet, row=n, field="code", value=code, fix="e.g. ecommerce_users_pct")
        elif code in seen:
            problems.add(f"indicator '{code}' is declared twice (also on row {seen[code]})", sheet=sheet, row=n,
                         field="code", value=code, fix="keep one row per indicator")
        else:
            seen[code] = n
        if not name:
            problems.add("the indicator has no name", sheet=sheet, row=n, field="name",
                         fix="give every indicator a name")
        hib_raw = get(cells, "higher_is_better")
        hib = to_bool(hib_raw)
        if hib is None:
            problems.add("higher_is_better must be true or false", sheet=sheet, row=n, field="higher_is_better",
                         value=hib_raw, fix="write true (more is better, e.g. internet use) or false (e.g. prices)")
        rng = {}
        for c in ("min_value", "max_value"):
            v = get(cells, c)
            if is_blank(v):
                rng[c] = None
                continue
            f = to_number(v)
            if f is None:
                problems.add(f"{c} is not a number", sheet=sheet, row=n, field=c, value=v, fix=number_fix(v))
            rng[c] = f
        if rng["min_value"] is not None and rng["max_value"] is not None and rng["min_value"] > rng["max_value"]:
            problems.add("min_value is greater than max_value", sheet=sheet, row=n, field="min_value",
                         value=rng["min_value"], fix="swap min_value and max_value")
        rec = {"code": code, "name": name, "unit": cell_text(get(cells, "unit")) or None, "higher_is_better": hib,
               **rng, "source": cell_text(get(cells, "source")) or source,
               "source_code": cell_text(get(cells, "source_code")) or None,
               "description": cell_text(get(cells, "description")) or None}
        old = cat.ind.get(code)
        if old is not None and hib is not None:
            # what the store does not know yet (a direction or range left blank by a data update) may be
            # filled in; what it knows may not be changed
            fills = [c for c in ("unit", "higher_is_better", "min_value", "max_value")
                     if same_value(old.get(c), None) and not same_value(rec[c], None)]
            diff = [c for c in ("name", "unit", "higher_is_better", "min_value", "max_value")
                    if c not in fills and not same_value(rec[c], old.get(c))]
            if diff:
                problems.add(f"indicator '{code}' already exists with a different {', '.join(diff)}",
                             sheet=sheet, row=n, field="code", value=code,
                             fix="drop this row to use the existing indicator, or declare a new code")
            if fills and not diff:
                from ...store import IND_COLS

                merged = {k: old.get(k) for k in IND_COLS}
                merged.update({c: rec[c] for c in fills})
                rec = {**merged, "_exists": False, "_completed": fills}
            else:
                rec["_exists"] = True
        elif code in cat.alias:
            problems.add(f"'{code}' is already the publisher code of indicator '{cat.alias[code]}'",
                         sheet=sheet, row=n, field="code", value=code,
                         fix=f"use '{cat.alias[code]}' in the data and drop this row, or choose another code")
        recs.append(rec)
    return pd.DataFrame(recs)


@dataclass(slots=True)
class Obs:
    unit: str | None
    indicator: str
    year: int | None
    value: float
    note: str | None
    sheet: Sheet
    row: int
    col: str


def parse_data(sheet: Sheet, lay: Layout, cat: Catalogue, problems: ProblemList,
                new_units: set[str], new_inds: dict[str, dict], stats: dict) -> list[Obs]:
    hdr_row, header = sheet.rows[sheet.header_row]
    _unexpected_columns(sheet, lay, hdr_row, problems)
    colname = {i: cell_text(header[i]) for i in range(len(header))}
    body: list = [r for r in sheet.rows[sheet.header_row + 1:] if any(not is_blank(c) for c in r[1])]
    if not body:
        problems.add("the file has a header but no data rows", sheet=sheet, row=hdr_row,
                     fix="add the values below the header")
        return []
    del sheet.rows[sheet.header_row + 1:]   # the body is read once, below: each row is let go once parsed

    unknown_units: dict[str, list[int]] = {}
    unknown_inds: dict[str, tuple[list[int], str]] = {}
    resolved_ind: dict[str, str | None] = {}

    def ind_code(raw: str, row: int, col: str) -> str | None:
        if raw not in resolved_ind:
            resolved_ind[raw] = raw if raw in new_inds else cat.indicator(raw)
        code = resolved_ind[raw]
        if code is None:
            unknown_inds.setdefault(raw, ([], col))[0].append(row)
        return code

    def unit_code(raw: str, row: int) -> str | None:
        code = raw if raw in new_units else cat.unit(raw)
        if code is None:
            unknown_units.setdefault(raw, []).append(row)
        return code

    def get(cells, i):
        return cells[i] if i is not None and i < len(cells) else None

    # year headers (wide by year) and indicator headers (wide by indicator) are checked once
    col_year, col_ind = _header_columns(sheet, lay, hdr_row, colname, ind_code, problems)

    out: list[Obs] = []
    years_seen: dict[int, int] = {}

    def value_cell(v, n, col, unit, ind, year, note):
        if is_blank(v):
            stats["blank"] += 1
            return
        f = to_number(v)
        if f is None:
            problems.add("not a number", sheet=sheet, row=n, field=col, value=v, fix=number_fix(v))
            return
        if ind is None:
            return
        out.append(Obs(unit, ind, year, f, note, sheet, n, col))

    def year_cell(v, n, col):
        if is_blank(v):
            problems.add("the year is missing", sheet=sheet, row=n, field=col, fix="fill in the year")
            return None
        y, err = to_year(v)
        if err:
            problems.add(err, sheet=sheet, row=n, field=col, value=v,
                         fix=f"write a whole year between {MIN_YEAR} and {max_year()}")
        return y if y is None else years_seen.setdefault(y, y)   # one int object per year, not per row

    ucol = colname[lay.cols["unit"]]
    width = len(header)
    while width and is_blank(header[width - 1]):
        width -= 1
    for k in range(len(body)):
        n, cells = body[k]
        body[k] = None
        if problems.full:
            break
        if any(not is_blank(c) for c in cells[width:]):
            problems.add(f"the row has {len(cells)} cells but the header has {width} columns", sheet=sheet,
                         row=n, field=None, value=sheet_delim_hint(cells[width - 1: width + 1]),
                         fix="a comma inside a number (12,5 or 1,234) splits the cell: write 12.5 / 1234, "
                             "put the cell in quotes, or use ';' as the delimiter")
            continue
        uraw = cell_text(get(cells, lay.cols["unit"]))
        if not uraw:
            problems.add("the unit is missing", sheet=sheet, row=n, field=ucol,
                         fix="fill in the unit code (e.g. KAZ)")
            unit = None
        else:
            unit = unit_code(uraw, n)
        if lay.form in ("long", "wide_by_year"):  # one indicator per row
            icol = colname[lay.cols["indicator"]]
            iraw = cell_text(get(cells, lay.cols["indicator"]))
            ind = ind_code(iraw, n, icol) if iraw else None
            if not iraw:
                problems.add("the indicator is missing", sheet=sheet, row=n, field=icol,
                             fix="fill in an indicator code from `digimeter data list`")
        if lay.form == "long":
            year = year_cell(get(cells, lay.cols["year"]), n, colname[lay.cols["year"]])
            note = cell_text(get(cells, lay.cols.get("note"))) or None if "note" in lay.cols else None
            value_cell(get(cells, lay.cols["value"]), n, colname[lay.cols["value"]], unit, ind, year, note)
        elif lay.form == "wide_by_year":
            for i, y in col_year.items():
                value_cell(get(cells, i), n, colname[i], unit, ind, y, None)
        else:  # wide_by_indicator
            year = year_cell(get(cells, lay.cols["year"]), n, colname[lay.cols["year"]])
            for i in lay.extra:
                if i in col_ind:
                    value_cell(get(cells, i), n, colname[i], unit, col_ind[i], year, None)
                else:
                    v = get(cells, i)
                    if is_blank(v):
                        stats["blank"] += 1

    _report_unknown(sheet, cat, problems, ucol, unknown_units, unknown_inds)
    return out


def _unexpected_columns(sheet: Sheet, lay: Layout, hdr_row: int, problems: ProblemList) -> None:
    for i, h in lay.unknown:
        problems.add(f"unexpected column '{h}' in a {lay.form.replace('_', ' ')} table", sheet=sheet,
                     row=hdr_row, field=h,
                     fix="remove it, or rename the columns to unit,indicator,year,value(,note)")


def _header_columns(sheet: Sheet, lay: Layout, hdr_row: int, colname: dict[int, str], ind_code,
                    problems: ProblemList) -> tuple[dict[int, int], dict[int, str]]:
    """The years of a wide-by-year header and the indicators of a wide-by-indicator header (column ->
    year or code), each checked once; ``ind_code(raw, row, col)`` resolves an indicator."""
    col_year: dict[int, int] = {}
    col_ind: dict[int, str] = {}
    if lay.form == "wide_by_year":
        for i, y in lay.extra.items():
            if y < MIN_YEAR or y > max_year():
                problems.add(f"year out of range ({MIN_YEAR}..{max_year()}) in the header", sheet=sheet,
                             row=hdr_row, field=colname[i], value=y,
                             fix="correct the column's year or delete the column")
            else:
                col_year[i] = y
    elif lay.form == "wide_by_indicator":
        for i, raw in lay.extra.items():
            c = ind_code(raw, hdr_row, raw)
            if c is not None:
                col_ind[i] = c
    return col_year, col_ind


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(map(str, rows[:10]))
    return f"row{'s' if len(rows) > 1 else ''} {shown}{' ...' if len(rows) > 10 else ''}"


def _report_unknown(sheet: Sheet, cat: Catalogue, problems: ProblemList, ucol: str,
                    unknown_units: dict[str, list[int]], unknown_inds: dict[str, tuple[list[int], str]]) -> None:
    """One problem per unknown unit and indicator code, naming its rows and the closest known codes."""
    for raw, rows in unknown_units.items():
        close = cat.close_units(raw)
        problems.add(f"unknown unit '{raw}' ({_rows_text(rows)})", sheet=sheet, row=rows[0], field=ucol, value=raw,
                     fix=(f"did you mean {', '.join(close)}? " if close else "")
                     + "use a unit code from `digimeter data units` (ISO3 for countries), or import the units "
                       "first from a units file (code,name,kind,parent)")
    if unknown_inds:
        for raw, (rows, col) in unknown_inds.items():
            close = cat.close_indicators(raw)
            companion = ("an 'indicators' sheet in this workbook" if sheet.sheet
                         else f"a file {Path(sheet.file).name}.indicators.csv beside it")
            problems.add(f"unknown indicator '{raw}' ({_rows_text(rows)}); all unknown: {', '.join(unknown_inds)}",
                         sheet=sheet, row=rows[0], field=col, value=raw,
                         fix=(f"did you mean {', '.join(close)}? " if close else "")
                         + "use a code from `digimeter data list`, or declare it in " + companion
                         + f" with columns {IND_FILE_HINT}")


def sheet_delim_hint(cells: list[Any]) -> str:
    return ",".join(cell_text(c) for c in cells)


def check_values(obs: list[Obs], cat: Catalogue, new_inds: dict[str, dict], problems: ProblemList) -> None:
    first: dict[tuple, Obs] = {}
    for o in obs:
        key = (o.unit, o.indicator, o.year)
        if o.unit is None or o.year is None:
            pass
        elif key in first:
            a = first[key]
            where = f"row {a.row}" + (f" of sheet {a.sheet.sheet}" if a.sheet.sheet and a.sheet is not o.sheet else "")
            problems.add(f"duplicate key {o.unit}/{o.indicator}/{o.year}: also on {where} "
                         f"(column '{a.col}', value {a.value!r})", sheet=o.sheet, row=o.row, field=o.col,
                         value=o.value, fix=f"keep one of rows {a.row} and {o.row}")
        else:
            first[key] = o
        meta = new_inds.get(o.indicator) or cat.ind.get(o.indicator) or {}
        lo, hi = meta.get("min_value"), meta.get("max_value")
        lo = None if lo is None or (isinstance(lo, float) and math.isnan(lo)) else lo
        hi = None if hi is None or (isinstance(hi, float) and math.isnan(hi)) else hi
        unit_of = str(meta.get("unit") or "")
        if (lo is not None and o.value < lo) or (hi is not None and o.value > hi):
            if hi == 100 and "%" in unit_of and o.value > hi:
                msg = f"a percentage above 100 for {o.indicator} ({unit_of})"
            else:
                msg = (f"value outside the valid range of {o.indicator} "
                       f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
                       + (f" ({unit_of})" if unit_of else ""))
            problems.add(msg, sheet=o.sheet, row=o.row, field=o.col, value=o.value,
                         fix="check the value and its unit (a share, not a count; a percentage, not a fraction)")
        if problems.full:
            return
