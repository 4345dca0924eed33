"""Reading a file's bytes into sheets: encodings (UTF-8 or a clear refusal naming the encoding found),
CSV with its delimiter, XLSX with its size limits checked before the workbook is opened, and the
companion tables beside a CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from ..._util.problems import ProblemList
from ...errors import DataImportError, Problem
from .cells import Sheet
from .detect import find_layout, sniff_delimiter

__all__ = ["SAVE_UTF8", "XLSX_MAX_BYTES", "XLSX_MAX_ROWS", "CSV_FIELD_LIMIT", "read_csv", "check_csv_head",
           "check_xlsx", "read_xlsx", "read_companions"]

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


def read_csv(path: Path, raw: bytes, problems: ProblemList, *, max_rows: int | None = None) -> Sheet | None:
    text = _decode(raw, path, problems)
    if text is None:
        return None
    delim = sniff_delimiter(text[:65536])
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


def check_csv_head(path: Path, head: bytes, problems: ProblemList) -> None:
    """Refuse a large CSV whose first megabyte has no recognisable header (or is not text), before the
    whole file is read: the problem is the same one the full read would report."""
    cut = head[: head.rfind(b"\n") + 1] or head
    sub = ProblemList(str(path))
    sheet = read_csv(path, cut, sub, max_rows=40)
    if sub:
        problems.items.extend(sub.items)
    elif sheet is not None:
        find_layout(sheet, problems)
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


def read_xlsx(path: Path, problems: ProblemList, only: str | None = None) -> list[Sheet] | None:
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


def read_companions(path: Path, problems: ProblemList) -> dict[str, Sheet]:
    out = {}
    for kind in ("indicators", "units"):
        p = path.with_name(f"{path.name}.{kind}.csv")
        if p.exists():
            sub = ProblemList(str(p))
            sh = read_csv(p, p.read_bytes(), sub)
            problems.items.extend(sub.items)
            if sh is not None:
                out[kind] = sh
    return out
