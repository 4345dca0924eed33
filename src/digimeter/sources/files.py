"""Import a user's CSV or XLSX file into the store, atomically.

Accepted layouts (detected from the header; the report says which one was found):

* **long**: ``unit, indicator, year, value`` (+ optional ``note``); ``iso3``, ``code``,
  ``country_code`` are accepted for ``unit``.
* **wide by indicator**: ``unit, year, <indicator codes...>``.
* **wide by year** (the World Bank layout): ``unit, indicator, <years...>``; World Bank files
  (``Country Name, Country Code, Indicator Name, Indicator Code, 1960, ...``, with their preamble
  lines) are read as they are downloaded.
* **units**: ``code, name, kind, parent`` (+ optional ``valid_from, valid_to, iso2, ...``), e.g. the
  regions of a country (``kind=region``, ``parent=<ISO3>``); ``name_<lang>`` columns (``name_ru``,
  ``name_kk``, ...) give names in other languages (the store's ``unit_names``).
* **indicators**: ``code, name, unit, higher_is_better, min_value, max_value``.

Indicator codes may be digimeter codes or publisher codes (``i99H``). New indicators can be declared in
a companion table: an XLSX sheet named ``indicators`` or a file ``<file>.indicators.csv`` beside a CSV
(likewise ``units`` / ``<file>.units.csv`` for new units). Everything is validated before anything is
written; every problem found (up to :data:`MAX_PROBLEMS`) is reported in one
:class:`~digimeter.errors.DataImportError` that names the file, row (the file's own line number, header
= row 1; the sheet for XLSX), column and the fix. All writes happen in one transaction.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from .._util.problems import MAX_PROBLEMS, ProblemList
from ..errors import DataImportError, Problem

MIN_YEAR = 1900
UNIT_KINDS = ("country", "region", "territory", "aggregate")
BLANKS = {"", ".."}  # ".." is the World Bank's "no data" marker

UNIT_ALIASES = ("unit", "iso3", "code", "country_code", "unit_code", "iso")
INDICATOR_ALIASES = ("indicator", "indicator_code")
DESCRIPTIVE = {"unit_name", "country_name", "country", "indicator_name", "name"}
# a units table may give each unit's name in other languages: name_ru, name_kk, ... (ISO 639 codes)
NAME_LANG = re.compile(r"name_([a-z]{2,3})")
UNITS_FILE_COLS = ("code", "name", "kind", "parent", "iso2", "un_region", "un_subregion", "wb_region",
                   "income_group", "un_member", "valid_from", "valid_to")
IND_FILE_COLS = ("code", "name", "unit", "higher_is_better", "min_value", "max_value", "source",
                 "source_code", "description")
IND_FILE_HINT = "code,name,unit,higher_is_better,min_value,max_value"
YEAR_HEADER = re.compile(r"^(?:YR)?(\d{4})(?:\.0)?(?:\s*\[YR\d{4}\])?$", re.IGNORECASE)
SAVE_UTF8 = ("open it in a spreadsheet or text editor and save it as UTF-8 "
             "(in Excel: 'CSV UTF-8 (Comma delimited)')")
#: an XLSX workbook is refused before it is opened when its parts unzip to more than this many bytes
XLSX_MAX_BYTES = 1024 ** 3
#: ... or when a sheet holds more rows than Excel itself allows
XLSX_MAX_ROWS = 1_048_576
#: longest CSV cell read, in characters
CSV_FIELD_LIMIT = 131_072
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def max_year() -> int:
    return datetime.now(timezone.utc).year + 1


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------
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


def _guess_encoding(raw: bytes) -> str:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16"
    high = [b for b in raw if b >= 0x80]
    if not high:
        return "an unknown encoding"
    # Windows-1251 Cyrillic letters live in 0xC0-0xFF; Latin-1 accented letters too, but Cyrillic text
    # has almost no ASCII letters between its high bytes. Count the share of Cyrillic-looking words.
    text = raw.decode("cp1251", errors="replace")
    cyr = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    if cyr >= 0.8 * len(high) and re.search(r"[\u0400-\u04ff]{3,}", text):
        return "Windows-1251 (Cyrillic)"
    return "Latin-1 / Windows-1252"


def _utf16_without_bom(raw: bytes) -> str | None:
    """'UTF-16LE'/'UTF-16BE' when ``raw`` looks like UTF-16 text without a byte-order mark (every other
    byte NUL), else None."""
    head = raw[:4096]
    if len(head) < 4 or head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "UTF-16LE"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "UTF-16BE"
    return None


def _decode(raw: bytes, path: Path, problems: ProblemList) -> str | None:
    enc16 = _utf16_without_bom(raw)
    if enc16 is not None:
        problems.add(f"the file is {enc16} text without a byte-order mark, not UTF-8", row=1,
                     fix=f"{SAVE_UTF8}, then import it again")
        return None
    if b"\x00" in raw[:65536] and raw[:2] not in (b"\xff\xfe", b"\xfe\xff"):   # (UTF-16 with a BOM: below)
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        problems.add("the file holds NUL bytes: it is a binary file, not CSV text", row=line,
                     fix="import a CSV (UTF-8) or an XLSX workbook")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        enc = _guess_encoding(raw)
        problems.add(f"the file is not UTF-8 text (it looks like {enc}; byte 0x{raw[e.start]:02X} at "
                     f"line {line} is not valid UTF-8)", row=line, value=raw[max(0, e.start - 10): e.end + 10],
                     fix=f"{SAVE_UTF8}, then import it again")
        return None


def _sniff_delimiter(text: str) -> str:
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


def _read_csv(path: Path, raw: bytes, problems: ProblemList, *, max_rows: int | None = None) -> Sheet | None:
    text = _decode(raw, path, problems)
    if text is None:
        return None
    delim = _sniff_delimiter(text[:65536])
    del text   # the rows are read from the bytes as a stream (a StringIO of the text would hold 4 bytes a char)
    rows: list[tuple[int, list[Any]]] = []
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline=""), delimiter=delim)
    start = 1
    same: dict[str, str] = {}   # one string object per repeated code or year (not per cell): less memory

    def one(c: str) -> str:
        if (len(c) <= 4 or (len(c) <= 40 and c[:1].isalpha())) and len(same) < 200_000:
            return same.setdefault(c, c)
        return c

    try:
        for cells in reader:
            rows.append((start, tuple([one(x.strip()) for x in cells])))   # (a tuple: smaller than a list)
            start = reader.line_num + 1
            if max_rows is not None and len(rows) >= max_rows:
                break
    except csv.Error as e:
        if "field larger than field limit" in str(e):
            problems.add(f"a cell is longer than {CSV_FIELD_LIMIT:,} characters", row=start,
                         fix="shorten that cell (values, codes and notes are short texts); if a quote before it "
                             "is never closed, close it")
        else:
            problems.add(f"the file is not valid CSV: {e}", row=reader.line_num,
                         fix="check the quotes on that line (a quote opened and never closed)")
        return None
    return Sheet(str(path), None, rows)


def _check_csv_head(path: Path, head: bytes, problems: ProblemList) -> None:
    """Refuse a large CSV whose first megabyte has no recognisable header (or is not text), before the
    whole file is read: the problem is the same one the full read would report."""
    cut = head[: head.rfind(b"\n") + 1] or head
    sub = ProblemList(str(path))
    sheet = _read_csv(path, cut, sub, max_rows=40)
    if sub:
        problems.items.extend(sub.items)
    elif sheet is not None:
        _find_layout(sheet, problems)
    problems.raise_if_any()


def _cell(v: Any) -> Any:
    if isinstance(v, str):
        return v.strip()
    return v


def _sheet_parts(zf) -> dict[str, str]:
    """Worksheet part name (``xl/worksheets/sheet1.xml``) -> sheet title, from the workbook's XML."""
    import html as _html
    import posixpath

    try:
        book = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except KeyError:
        return {}
    target = {}
    for m in re.finditer(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
        rid = re.search(r'\bId="([^"]*)"', m.group(0))
        tgt = re.search(r'\bTarget="([^"]*)"', m.group(0))
        if rid and tgt:
            t = tgt.group(1)
            target[rid.group(1)] = t.lstrip("/") if t.startswith("/") else posixpath.normpath("xl/" + t)
    out = {}
    for m in re.finditer(r"<(?:\w+:)?sheet\b[^>]*>", book):
        name = re.search(r'\bname="([^"]*)"', m.group(0))
        rid = re.search(r'\b(?:\w+:)?id="([^"]*)"', m.group(0))
        if name and rid and rid.group(1) in target:
            out[target[rid.group(1)]] = _html.unescape(name.group(1))
    return out


def check_xlsx(path: str | Path, *, max_bytes: int = XLSX_MAX_BYTES, max_rows: int = XLSX_MAX_ROWS,
               name: str | None = None) -> set[str]:
    """Refuse a workbook before it is opened when its parts unzip to more than ``max_bytes`` or a sheet has
    more than ``max_rows`` rows (a "zip bomb" of a few hundred KB can unzip to gigabytes). Rows are counted
    by streaming each sheet's XML, never building it. Returns the titles of the sheets holding formulas.

    Raises :class:`DataImportError` naming the file (``name``, default the path), the sheet and the limit.
    """
    import zipfile

    label = name or str(path)

    def refuse(message: str, fix: str, sheet: str | None = None):
        where = f"{label}, sheet '{sheet}'" if sheet else label
        raise DataImportError(f"{where}: {message}; nothing was changed in the store",
                              problems=[Problem(message, file=where, fix=fix)])

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        refuse(f"not an Excel workbook (.xlsx is a zip archive; {type(e).__name__})",
               "save it from Excel as .xlsx, or export it as CSV UTF-8")
    with zf:
        infos = zf.infolist()
        total = sum(i.file_size for i in infos)
        if len(infos) > 10_000 or total > max_bytes:
            refuse(f"the workbook unzips to {total / 2 ** 20:,.0f} MB in {len(infos)} parts, more than the limit of "
                   f"{max_bytes / 2 ** 20:,.0f} MB", "split the data into smaller files, or save it as CSV UTF-8")
        titles = _sheet_parts(zf)
        formulas: set[str] = set()
        for info in infos:
            part = info.filename
            if not (part.startswith("xl/worksheets/") and part.endswith(".xml")):
                continue
            title = titles.get(part, part)
            rows, has_f, tail = 0, False, b""
            try:
                with zf.open(info) as f:
                    while chunk := f.read(1 << 20):
                        buf = tail + chunk
                        rows += len(_ROW_TAG.findall(buf)) - len(_ROW_TAG.findall(tail))   # tail: counted before
                        has_f = has_f or _FORMULA_TAG.search(buf) is not None
                        tail = buf[-8:]
                        if rows > max_rows:
                            refuse(f"the sheet has more than {max_rows:,} rows (the limit)",
                                   "split the data into smaller files, or import it as CSV", sheet=title)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as e:
                refuse(f"the workbook is damaged ({type(e).__name__})", "save it again from Excel as .xlsx")
            if has_f:
                formulas.add(title)
    return formulas


def _formula_cells(path: Path, sheet: Sheet, problems: ProblemList) -> None:
    """Formula cells without a saved value (openpyxl reads them as blank) are problems naming the cell."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        ws = wb[sheet.sheet]
        values = dict(sheet.rows)
        for i, r in enumerate(ws.iter_rows(values_only=True), start=1):
            got = values.get(i, [])
            for j, v in enumerate(r):
                if isinstance(v, str) and v.startswith("=") and (j >= len(got) or got[j] is None):
                    cell = f"{get_column_letter(j + 1)}{i}"
                    problems.add(f"cell {cell} holds a formula with no saved value", sheet=sheet, row=i,
                                 field=cell, value=v[:80],
                                 fix="open the workbook in Excel or LibreOffice and save it (that stores each "
                                     "formula's value), or type the value in")
                    if problems.full:
                        return
    finally:
        wb.close()


def _read_xlsx(path: Path, problems: ProblemList, only: str | None = None) -> list[Sheet] | None:
    from openpyxl import load_workbook

    try:
        formulas = check_xlsx(path)
    except DataImportError as e:
        problems.items.extend(e.problems)
        return None
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds of errors for a damaged or mislabelled file
        problems.add(f"cannot read the file as an Excel workbook ({type(e).__name__}: {e})",
                     fix="save it from Excel as .xlsx, or export it as CSV UTF-8")
        return None
    try:
        if only is not None and only not in wb.sheetnames:
            problems.add(f"the workbook has no sheet named '{only}'", field="sheet", value=only,
                         fix=f"use one of: {', '.join(wb.sheetnames)}")
            return None
        sheets = []
        for ws in wb.worksheets:
            if only is not None and ws.title != only and ws.title.strip().lower() not in ("indicators", "units"):
                continue
            rows = [(i, [_cell(v) for v in r]) for i, r in enumerate(ws.iter_rows(values_only=True), start=1)]
            sheets.append(Sheet(str(path), ws.title, rows))
    finally:
        wb.close()
    for sh in sheets:
        if sh.sheet in formulas:
            _formula_cells(path, sh, problems)
    return sheets


def _is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() in BLANKS


def _nonblank_rows(sheet: Sheet) -> list[tuple[int, list[Any]]]:
    return [(n, cells) for n, cells in sheet.rows if any(not _is_blank(c) for c in cells)]


# ------------------------------------------------------------------------------------------------
# form detection
# ------------------------------------------------------------------------------------------------
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


def _find_layout(sheet: Sheet, problems: ProblemList, *, required: bool = True) -> Layout | None:
    """Detect the header row (the first non-blank row, or up to 10 rows down for World Bank files)."""
    rows = sheet.rows
    first = next((k for k, (_, c) in enumerate(rows) if any(not _is_blank(x) for x in c)), None)
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
        got = ", ".join(str(c) for c in rows[first][1] if not _is_blank(c))
        problems.add("cannot tell the layout of the table from its header", sheet=sheet, row=rows[first][0],
                     value=got,
                     fix="use a header like 'unit,indicator,year,value' (long), 'unit,year,<indicator codes>' "
                         "(wide by indicator), 'unit,indicator,<years>' (wide by year) or "
                         "'code,name,kind,parent' (units)")
    return None


# ------------------------------------------------------------------------------------------------
# parsing cells
# ------------------------------------------------------------------------------------------------
def _number(v: Any) -> float | None:
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


def _number_fix(v: Any) -> str:
    s = str(v).strip()
    if re.fullmatch(r"[+-]?\d+,\d+", s):
        return f"use a dot as the decimal separator ({s.replace(',', '.')}), or leave the cell blank"
    if re.fullmatch(r"[+-]?\d{1,3}([, ]\d{3})+(\.\d+)?", s):
        return f"remove the thousands separators ({re.sub('[, ]', '', s)})"
    if s.endswith("%"):
        return f"drop the % sign ({s[:-1].strip()})"
    return "write a plain number (e.g. 12.5) or leave the cell blank if there is no value"


def _year(v: Any) -> tuple[int | None, str | None]:
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


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _bool(v: Any) -> bool | None:
    s = _text(v).lower()
    if s in ("true", "yes", "y", "1", "+1", "higher"):
        return True
    if s in ("false", "no", "n", "0", "-1", "lower"):
        return False
    return None


# ------------------------------------------------------------------------------------------------
# the catalogue the file is checked against
# ------------------------------------------------------------------------------------------------
class _Catalogue:
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


# ------------------------------------------------------------------------------------------------
# units and indicators tables
# ------------------------------------------------------------------------------------------------
def _parse_units(sheet: Sheet, lay: Layout, cat: _Catalogue, problems: ProblemList) -> pd.DataFrame:
    for i, h in lay.unknown:
        problems.add(f"unexpected column '{h}' in a units table", sheet=sheet, row=sheet.rows[sheet.header_row][0],
                     field=h, fix=f"keep only the columns {', '.join(UNITS_FILE_COLS)}")
    recs, seen = [], {}
    body = [r for r in sheet.rows[sheet.header_row + 1:] if any(not _is_blank(c) for c in r[1])]
    if not body:
        problems.add("the units table has a header but no rows", sheet=sheet, row=sheet.rows[sheet.header_row][0],
                     fix="add one row per unit: code,name,kind,parent")
    declared = {_text(c[lay.cols["code"]]) if lay.cols["code"] < len(c) else "" for _, c in body}

    def get(cells, role):
        i = lay.cols.get(role)
        return cells[i] if i is not None and i < len(cells) else None

    for n, cells in body:
        code, name, kind = _text(get(cells, "code")), _text(get(cells, "name")), _text(get(cells, "kind")).lower()
        parent = _text(get(cells, "parent"))
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
            if _is_blank(v):
                rec[c] = None
                continue
            y, err = _year(v)
            if err:
                problems.add(f"{c}: {err}", sheet=sheet, row=n, field=c, value=v,
                             fix=f"write a year between {MIN_YEAR} and {max_year()}, or leave it blank")
            rec[c] = y
        if rec.get("valid_from") and rec.get("valid_to") and rec["valid_from"] > rec["valid_to"]:
            problems.add("valid_from is after valid_to", sheet=sheet, row=n, field="valid_from",
                         value=rec["valid_from"], fix="swap the two years")
        for c in ("iso2", "un_region", "un_subregion", "wb_region", "income_group"):
            if c in lay.cols:
                rec[c] = _text(get(cells, c)) or None
        if "un_member" in lay.cols:
            v = get(cells, "un_member")
            rec["un_member"] = None if _is_blank(v) else _bool(v)
            if not _is_blank(v) and rec["un_member"] is None:
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
            v = _text(get(cells, role))
            if v:
                rec[role] = v
        recs.append(rec)
    return pd.DataFrame(recs)


def _parse_indicators(sheet: Sheet, lay: Layout, cat: _Catalogue, problems: ProblemList,
                      source: str) -> pd.DataFrame:
    hdr = sheet.rows[sheet.header_row][0]
    for i, h in lay.unknown:
        problems.add(f"unexpected column '{h}' in an indicators table", sheet=sheet, row=hdr, field=h,
                     fix=f"keep only the columns {', '.join(IND_FILE_COLS)}")
    body = [r for r in sheet.rows[sheet.header_row + 1:] if any(not _is_blank(c) for c in r[1])]

    def get(cells, role):
        i = lay.cols.get(role)
        return cells[i] if i is not None and i < len(cells) else None

    recs, seen = [], {}
    for n, cells in body:
        code, name = _text(get(cells, "code")), _text(get(cells, "name"))
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
        hib = _bool(hib_raw)
        if hib is None:
            problems.add("higher_is_better must be true or false", sheet=sheet, row=n, field="higher_is_better",
                         value=hib_raw, fix="write true (more is better, e.g. internet use) or false (e.g. prices)")
        rng = {}
        for c in ("min_value", "max_value"):
            v = get(cells, c)
            if _is_blank(v):
                rng[c] = None
                continue
            f = _number(v)
            if f is None:
                problems.add(f"{c} is not a number", sheet=sheet, row=n, field=c, value=v, fix=_number_fix(v))
            rng[c] = f
        if rng["min_value"] is not None and rng["max_value"] is not None and rng["min_value"] > rng["max_value"]:
            problems.add("min_value is greater than max_value", sheet=sheet, row=n, field="min_value",
                         value=rng["min_value"], fix="swap min_value and max_value")
        rec = {"code": code, "name": name, "unit": _text(get(cells, "unit")) or None, "higher_is_better": hib,
               **rng, "source": _text(get(cells, "source")) or source,
               "source_code": _text(get(cells, "source_code")) or None,
               "description": _text(get(cells, "description")) or None}
        old = cat.ind.get(code)
        if old is not None and hib is not None:
            # what the store does not know yet (a direction or range left blank by a data update) may be
            # filled in; what it knows may not be changed
            fills = [c for c in ("unit", "higher_is_better", "min_value", "max_value")
                     if _same(old.get(c), None) and not _same(rec[c], None)]
            diff = [c for c in ("name", "unit", "higher_is_better", "min_value", "max_value")
                    if c not in fills and not _same(rec[c], old.get(c))]
            if diff:
                problems.add(f"indicator '{code}' already exists with a different {', '.join(diff)}",
                             sheet=sheet, row=n, field="code", value=code,
                             fix="drop this row to use the existing indicator, or declare a new code")
            if fills and not diff:
                from ..store import IND_COLS

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


# ------------------------------------------------------------------------------------------------
# observations
# ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Obs:
    unit: str | None
    indicator: str
    year: int | None
    value: float
    note: str | None
    sheet: Sheet
    row: int
    col: str


def _parse_data(sheet: Sheet, lay: Layout, cat: _Catalogue, problems: ProblemList,
                new_units: set[str], new_inds: dict[str, dict], stats: dict) -> list[_Obs]:
    hdr_row, header = sheet.rows[sheet.header_row]
    for i, h in lay.unknown:
        problems.add(f"unexpected column '{h}' in a {lay.form.replace('_', ' ')} table", sheet=sheet,
                     row=hdr_row, field=h,
                     fix="remove it, or rename the columns to unit,indicator,year,value(,note)")
    colname = {i: _text(header[i]) for i in range(len(header))}
    body: list = [r for r in sheet.rows[sheet.header_row + 1:] if any(not _is_blank(c) for c in r[1])]
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

    out: list[_Obs] = []
    years_seen: dict[int, int] = {}

    def value_cell(v, n, col, unit, ind, year, note):
        if _is_blank(v):
            stats["blank"] += 1
            return
        f = _number(v)
        if f is None:
            problems.add("not a number", sheet=sheet, row=n, field=col, value=v, fix=_number_fix(v))
            return
        if ind is None:
            return
        out.append(_Obs(unit, ind, year, f, note, sheet, n, col))

    def year_cell(v, n, col):
        if _is_blank(v):
            problems.add("the year is missing", sheet=sheet, row=n, field=col, fix="fill in the year")
            return None
        y, err = _year(v)
        if err:
            problems.add(err, sheet=sheet, row=n, field=col, value=v,
                         fix=f"write a whole year between {MIN_YEAR} and {max_year()}")
        return y if y is None else years_seen.setdefault(y, y)   # one int object per year, not per row

    ucol = colname[lay.cols["unit"]]
    width = len(header)
    while width and _is_blank(header[width - 1]):
        width -= 1
    for k in range(len(body)):
        n, cells = body[k]
        body[k] = None
        if problems.full:
            break
        if any(not _is_blank(c) for c in cells[width:]):
            problems.add(f"the row has {len(cells)} cells but the header has {width} columns", sheet=sheet,
                         row=n, field=None, value=sheet_delim_hint(cells[width - 1: width + 1]),
                         fix="a comma inside a number (12,5 or 1,234) splits the cell: write 12.5 / 1234, "
                             "put the cell in quotes, or use ';' as the delimiter")
            continue
        uraw = _text(get(cells, lay.cols["unit"]))
        if not uraw:
            problems.add("the unit is missing", sheet=sheet, row=n, field=ucol,
                         fix="fill in the unit code (e.g. KAZ)")
            unit = None
        else:
            unit = unit_code(uraw, n)
        if lay.form in ("long", "wide_by_year"):  # one indicator per row
            icol = colname[lay.cols["indicator"]]
            iraw = _text(get(cells, lay.cols["indicator"]))
            ind = ind_code(iraw, n, icol) if iraw else None
            if not iraw:
                problems.add("the indicator is missing", sheet=sheet, row=n, field=icol,
                             fix="fill in an indicator code from `digimeter data list`")
        if lay.form == "long":
            year = year_cell(get(cells, lay.cols["year"]), n, colname[lay.cols["year"]])
            note = _text(get(cells, lay.cols.get("note"))) or None if "note" in lay.cols else None
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
                    if _is_blank(v):
                        stats["blank"] += 1

    def rows_text(rows: list[int]) -> str:
        shown = ", ".join(map(str, rows[:10]))
        return f"row{'s' if len(rows) > 1 else ''} {shown}{' ...' if len(rows) > 10 else ''}"

    for raw, rows in unknown_units.items():
        close = cat.close_units(raw)
        problems.add(f"unknown unit '{raw}' ({rows_text(rows)})", sheet=sheet, row=rows[0], field=ucol, value=raw,
                     fix=(f"did you mean {', '.join(close)}? " if close else "")
                     + "use a unit code from `digimeter data units` (ISO3 for countries), or import the units "
                       "first from a units file (code,name,kind,parent)")
    if unknown_inds:
        for raw, (rows, col) in unknown_inds.items():
            close = cat.close_indicators(raw)
            companion = ("an 'indicators' sheet in this workbook" if sheet.sheet
                         else f"a file {Path(sheet.file).name}.indicators.csv beside it")
            problems.add(f"unknown indicator '{raw}' ({rows_text(rows)}); all unknown: {', '.join(unknown_inds)}",
                         sheet=sheet, row=rows[0], field=col, value=raw,
                         fix=(f"did you mean {', '.join(close)}? " if close else "")
                         + "use a code from `digimeter data list`, or declare it in " + companion
                         + f" with columns {IND_FILE_HINT}")
    return out


def sheet_delim_hint(cells: list[Any]) -> str:
    return ",".join(_text(c) for c in cells)


def _check_values(obs: list[_Obs], cat: _Catalogue, new_inds: dict[str, dict], problems: ProblemList) -> None:
    first: dict[tuple, _Obs] = {}
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


# ------------------------------------------------------------------------------------------------
# the import
# ------------------------------------------------------------------------------------------------
def _companions(path: Path, problems: ProblemList) -> dict[str, Sheet]:
    out = {}
    for kind in ("indicators", "units"):
        p = path.with_name(f"{path.name}.{kind}.csv")
        if p.exists():
            sub = ProblemList(str(p))
            sh = _read_csv(p, p.read_bytes(), sub)
            problems.items.extend(sub.items)
            if sh is not None:
                out[kind] = sh
    return out


def import_file(store, path: str | Path, *, publisher: str | None = None, dataset: str | None = None,
                licence: str | None = None, url: str | None = None, sheet: str | None = None, **geo_options):
    """Import a user's CSV or XLSX file into ``store`` in one transaction.

    Parameters
    ----------
    store : digimeter.store.Store
    path : str or Path
        A CSV (UTF-8, delimiter ``,`` ``;`` or tab) or XLSX file in long, wide-by-indicator,
        wide-by-year, units or indicators form (see the module docstring).
    publisher, dataset, licence, url : str, optional
        Recorded in the file's origin row (default publisher "user file", dataset the file name).
    sheet : str, optional
        XLSX: import this sheet only (with the ``indicators``/``units`` sheets). Without it, every sheet
        must be importable: a later sheet in wide form, or with rows but no header, is an error naming it.
    **geo_options
        For a crosswalk or boundary file only: ``id_property``, ``country``, ``layout``, ``name``,
        ``partial`` (see :func:`digimeter.sources.geo.import_geo`).

    Returns
    -------
    ChangeReport
        New, changed and unchanged values, blank cells skipped, new indicators and units. Its ``form``
        attribute names the layout detected.

    Raises
    ------
    DataImportError
        Listing every problem found (file, row, column, value, fix); the store is then unchanged.
    """
    from ..store import ChangeReport

    path = Path(path)
    problems = ProblemList(str(path))
    if not path.exists():
        problems.add("no such file", fix="check the path")
        problems.raise_if_any()
    if path.is_dir():
        problems.add("is a folder, not a file", fix="give the path of one CSV or XLSX file (import each file "
                                                     "of the folder on its own)")
        problems.raise_if_any()
    from .geo import geo_kind  # regional geography: a crosswalk CSV or GeoJSON boundaries

    if (kind := geo_kind(path)) is not None:
        from .geo import import_geo

        return import_geo(store, path, kind=kind, publisher=publisher, dataset=dataset, licence=licence, url=url,
                          **geo_options)
    given = sorted(k for k, v in geo_options.items() if v not in (None, False))
    if given:
        problems.add(f"{', '.join('--' + k.replace('_', '-') for k in given)} appl{'ies' if len(given) == 1 else 'y'} "
                     f"to a crosswalk CSV or a "
                     f"GeoJSON boundary file only, and this is a data file", field=given[0],
                     fix="drop the option, or check that the file is the boundary file you meant")
        problems.raise_if_any()
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    is_xlsx = path.suffix.lower() in (".xlsx", ".xlsm") or head[:4] == b"PK\x03\x04"
    if not is_xlsx and len(head) == 1 << 20:
        _check_csv_head(path, head, problems)   # junk is refused from its first rows, never read in whole
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    if not raw.strip() or (raw.strip() in (b"\xef\xbb\xbf",)):
        problems.add("the file is empty (no header and no rows)",
                     fix="export the data again; the first row must be a header such as unit,indicator,year,value")
        problems.raise_if_any()

    data_sheets: list[Sheet] = []
    companions: dict[str, Sheet] = {}
    if is_xlsx:
        sheets = _read_xlsx(path, problems, sheet) or []
        main = [s for s in sheets if s.sheet.strip().lower() not in ("indicators", "units")]
        if main:
            companions = {s.sheet.strip().lower(): s for s in sheets
                          if s.sheet.strip().lower() in ("indicators", "units")}
        else:  # a workbook holding only an indicators and/or a units table
            main = sorted(sheets, key=lambda s: s.sheet.strip().lower() != "units")
        data_sheets = main
    else:
        sh = _read_csv(path, raw, problems)
        del raw   # the rows hold the data now
        if sh is not None:
            data_sheets = [sh]
        companions = _companions(path, problems)
    problems.raise_if_any()

    cat = _Catalogue(store)
    source = publisher or "user file"

    # layouts: the first sheet always; later sheets only when they hold data in long form
    layouts: list[tuple[Sheet, Layout]] = []
    for k, sh in enumerate(data_sheets):
        sub = ProblemList(str(path))
        lay = _find_layout(sh, sub, required=(k == 0))
        if k == 0:
            problems.items.extend(sub.items)
        if lay is not None and (k == 0 or lay.form in ("long", "units", "indicators")):
            layouts.append((sh, lay))
        elif k > 0 and lay is not None:   # never dropped in silence
            problems.add(f"the sheet holds a table in {FORM_NAMES[lay.form].split(':')[0]}; only the first sheet "
                         "may be in wide form", sheet=sh, row=sh.rows[sh.header_row][0],
                         fix=f"import it on its own with --sheet '{sh.sheet}', or put it in long form")
        elif k > 0 and len(_nonblank_rows(sh)) > 1:
            problems.add(f"the sheet has {len(_nonblank_rows(sh))} rows but no header digimeter recognises",
                         sheet=sh, row=_nonblank_rows(sh)[0][0],
                         fix=f"delete the sheet, give it a header such as unit,indicator,year,value, or import "
                             f"only the sheet you want with --sheet NAME")
    problems.raise_if_any()

    # companion tables first: they declare what the data may use
    new_ind_df = pd.DataFrame()
    units_frames: list[pd.DataFrame] = []
    if "indicators" in companions:
        sh = companions["indicators"]
        lay = _find_layout(sh, problems)
        if lay is not None and lay.form != "indicators":
            problems.add(f"the indicators table must have the columns {IND_FILE_HINT}", sheet=sh,
                         row=sh.rows[sh.header_row][0], fix=f"use the header {IND_FILE_HINT}")
        elif lay is not None:
            new_ind_df = _parse_indicators(sh, lay, cat, problems, source)
    if "units" in companions:
        sh = companions["units"]
        lay = _find_layout(sh, problems)
        if lay is not None and lay.form != "units":
            problems.add("the units table must have the columns code,name,kind,parent", sheet=sh,
                         row=sh.rows[sh.header_row][0], fix="use the header code,name,kind,parent")
        elif lay is not None:
            units_frames.append(_parse_units(sh, lay, cat, problems))
    for sh, lay in layouts:
        if lay.form == "units":
            units_frames.append(_parse_units(sh, lay, cat, problems))
        elif lay.form == "indicators":
            df = _parse_indicators(sh, lay, cat, problems, source)
            new_ind_df = pd.concat([new_ind_df, df], ignore_index=True) if len(new_ind_df) else df

    new_inds = ({r["code"]: r for r in new_ind_df.to_dict("records") if r.get("code")}
                if len(new_ind_df) else {})
    units_df = pd.concat(units_frames, ignore_index=True) if units_frames else pd.DataFrame()
    declared_units = set(units_df["code"]) if len(units_df) else set()

    stats = {"blank": 0}
    obs: list[_Obs] = []
    for sh, lay in layouts:
        if lay.form in ("long", "wide_by_indicator", "wide_by_year"):
            obs += _parse_data(sh, lay, cat, problems, declared_units, new_inds, stats)
    _check_values(obs, cat, new_inds, problems)
    problems.raise_if_any()

    forms = list(dict.fromkeys(lay.form for _, lay in layouts))
    form_text = " + ".join(FORM_NAMES[f] for f in forms)
    sheets_text = (f"; sheets {', '.join(sh.sheet for sh, _ in layouts)}" if is_xlsx else "")
    origin_id = f"user:{sha[:12]}"

    # -- write, all or nothing --------------------------------------------------------------------
    from ..store import IND_COLS, UNIT_COLS

    with store.transaction() as con:
        added_inds: list[str] = []
        completed_inds: list[str] = []
        if new_inds:
            todo = new_ind_df[~new_ind_df.get("_exists", pd.Series(False, index=new_ind_df.index))
                              .fillna(False).astype(bool)]
            if len(todo):
                store.upsert_indicators(todo.reindex(columns=IND_COLS))
                completed = (todo["_completed"].map(lambda v: isinstance(v, list) and bool(v))
                             if "_completed" in todo else pd.Series(False, index=todo.index))
                added_inds = todo.loc[~completed, "code"].tolist()
                completed_inds = todo.loc[completed, "code"].tolist()
        added_units: list[str] = []
        changed_names = 0
        if len(units_df):
            merged, names = [], []
            for rec in units_df.to_dict("records"):
                for k in [k for k in rec if NAME_LANG.fullmatch(k)]:
                    v = rec.pop(k)
                    if isinstance(v, str) and v:
                        names.append({"code": rec["code"], "lang": NAME_LANG.fullmatch(k).group(1), "name": v})
                old = cat.units.get(rec["code"])
                if old is None:
                    added_units.append(rec["code"])
                    merged.append(rec)
                else:
                    upd = dict(old)
                    upd.update({k: v for k, v in rec.items() if v is not None})
                    if any(not _same(upd[k], old.get(k)) for k in upd):
                        merged.append(upd)
            if merged:
                df = pd.DataFrame(merged).reindex(columns=UNIT_COLS)
                df = df.astype({"un_member": "boolean", "valid_from": "Int32", "valid_to": "Int32"})
                store.upsert_units(df)
            if names:   # names in other languages: only those new or changed are written
                have = {(c, l): n for c, l, n in con.execute("SELECT code, lang, name FROM unit_names").fetchall()}
                todo_names = [r for r in names if have.get((r["code"], r["lang"])) != r["name"]]
                if todo_names:
                    store.upsert_names(pd.DataFrame(todo_names).assign(origin_id=origin_id))
                    changed_names = len(todo_names)

        origin_new = con.execute("SELECT count(*) FROM origins WHERE origin_id = ?",
                                 [origin_id]).fetchall()[0][0] == 0
        if origin_new:
            store.upsert_origins(pd.DataFrame([{
                "origin_id": origin_id, "publisher": source, "dataset": dataset or path.name, "edition": None,
                "url": url, "repository": None, "licence": licence,
                "retrieved": datetime.now(timezone.utc).isoformat(timespec="seconds"), "sha256": sha,
                "note": f"imported from {path}"}]))
        if obs:
            frame = pd.DataFrame({"unit": [o.unit for o in obs], "indicator": [o.indicator for o in obs],
                                  "year": [o.year for o in obs], "value": [o.value for o in obs],
                                  "note": [o.note for o in obs]})
            obs.clear()   # the frame holds them now (memory: a 2 M-row import stays under 1 GB)
            rep = store.add_observations(frame, kind="import", origin_id=origin_id,
                                          note=f"import of {path.name} ({', '.join(forms)})", source=str(path))
        else:
            rep = ChangeReport(vintage=None, origin_id=origin_id, source=str(path))
        if rep.vintage is None and (added_inds or added_units or changed_names or completed_inds
                                    or (len(units_df) and merged)):
            # units, indicators or names only: the change is a vintage too (``data vintages`` lists it)
            rep.vintage = store.next_vintage()
            what = [f"{len(v)} {k}" for k, v in (("new units", added_units), ("new indicators", added_inds),
                                                  ("completed indicators", completed_inds)) if v]
            if changed_names:
                what.append(f"{changed_names} names")
            con.execute("INSERT INTO vintages VALUES (?, ?, ?, ?, ?)",
                        [rep.vintage, datetime.now(timezone.utc).replace(tzinfo=None), "import", origin_id,
                         f"import of {path.name}: {', '.join(what) or 'units updated'}"])
        if (origin_new and rep.vintage is None and not added_inds and not added_units and not changed_names
                and not completed_inds):
            con.execute("DELETE FROM origins WHERE origin_id = ?", [origin_id])

    rep.source = f"{path} ({form_text}{sheets_text})"
    rep.skipped_blank = stats["blank"]
    rep.new_indicators = added_inds
    rep.new_units = added_units
    rep.form = forms[0] if len(forms) == 1 else "+".join(forms)  # type: ignore[attr-defined]
    return rep


def _same(a, b) -> bool:
    na = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA
    nb = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if na or nb:
        return na and nb
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False
