"""A corpus of bad inputs, generated (never committed as binary files): every kind of malformed import
file, spreadsheet and YAML the hardening probe tried, each with what its rejection must say.

``build(folder)`` writes every case into ``folder`` and returns the :class:`Case` list; the bombs
(``alias_bomb``, ``xlsx_bomb``) are also used by the web tests.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

HEAD = "unit,indicator,year,value\n"


@dataclass
class Case:
    name: str           # the file's name (its kind and suffix)
    data: bytes
    says: str           # a fragment the one-line error must contain
    row: int | None = None      # the row (line) the error must name, when it names one
    field: str | None = None    # the column/field/cell it must name
    kind: str = "import"        # import | spec (digimeter build FILE)
    path: Path | None = None

    @property
    def id(self) -> str:
        return self.name


def _csv(text: str, enc: str = "utf-8") -> bytes:
    return text.encode(enc)


def _xlsx(sheets: dict[str, list[list]], *, merge: str | None = None) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        if merge and title == next(iter(sheets)):
            ws.merge_cells(merge)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_bomb(rows: int = 1_100_000) -> bytes:
    """A valid workbook whose one sheet repeats a row ``rows`` times: 1.1 M rows are ~580 KB that unzip
    to ~143 MB (like the probe's 544 KB -> 139 MB), more rows than Excel allows in a sheet."""
    base = _xlsx({"data": [["unit", "indicator", "year", "value"]]})
    row = (b'<row><c t="inlineStr"><is><t>KAZ</t></is></c><c t="inlineStr"><is><t>internet_users_pct</t></is>'
           b'</c><c><v>2024</v></c><c><v>1</v></c></row>')
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                    compresslevel=6) as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename != "xl/worksheets/sheet1.xml":
                z.writestr(info.filename, data)
                continue
            at = data.index(b"</sheetData>")
            with z.open(info.filename, "w", force_zip64=True) as f:
                f.write(data[:at])
                block = row * 10_000
                for _ in range(rows // 10_000):
                    f.write(block)
                f.write(row * (rows % 10_000))
                f.write(data[at:])
    return out.getvalue()


def alias_bomb(levels: int = 7) -> bytes:
    """The probe's 435-byte spec: nested aliases under ``published:`` (10^7 nodes if expanded)."""
    lines = ["  l0: &l0 [a]"] + ["  l%d: &l%d [%s]" % (i, i, ",".join(["*l%d" % (i - 1)] * 10))
                                 for i in range(1, levels + 1)]
    return ("name: b\nyear: 2024\ntree: [{code: osi, indicator: osi}]\npublished:\n"
            + "\n".join(lines) + "\n").encode()


def deep_yaml(depth: int = 60_000) -> bytes:
    return ("name: d\ntree: " + "[" * depth + "]" * depth + "\n").encode()


def cases() -> list[Case]:
    ok = "KAZ,internet_users_pct,2024,85.1\n"
    out = [
        # encodings
        Case("latin1.csv", _csv(HEAD + "KAZ,internet_users_pct,2024,85\nCAF\u00c9,x,2024,1\n", "latin-1"),
             "not UTF-8", row=3),
        Case("cp1251.csv", _csv("unit,indicator,year,value,note\nKAZ,internet_users_pct,2024,85,"
                                "данные статистики\n",
                                "cp1251"), "Windows-1251", row=2),
        Case("utf16-bom.csv", _csv(HEAD + ok, "utf-16"), "UTF-16"),
        Case("utf16-nobom.csv", _csv(HEAD + ok, "utf-16-le"), "UTF-16LE text without a byte-order mark", row=1),
        Case("utf16be-nobom.csv", _csv(HEAD + ok, "utf-16-be"), "UTF-16BE", row=1),
        Case("binary-nul.csv", b"unit,indicator\x00\x01\x02,year,value\n" + bytes(range(256)), "NUL bytes", row=1),
        Case("junk.csv", bytes((i * 7919) % 251 + 1 for i in range(20000)).replace(b"\x00", b""), "not UTF-8"),
        # delimiters, layout
        Case("semicolon-decimal-comma.csv", _csv("unit;indicator;year;value\nKAZ;internet_users_pct;2024;85,1\n"),
             "decimal separator", row=2, field="value"),
        Case("pipe-delimited.csv", _csv("unit|indicator|year|value\nKAZ|internet_users_pct|2024|85.1\n"),
             "cannot tell the layout", row=1),
        Case("no-header.csv", _csv(ok + ok), "cannot tell the layout", row=1),
        Case("empty.csv", b"", "empty"),
        Case("bom-only.csv", b"\xef\xbb\xbf", "empty"),
        Case("header-only-blank-lines.csv", _csv("\n\n\n"), "empty"),
        # values
        Case("duplicate-rows.csv", _csv(HEAD + ok + "KAZ,internet_users_pct,2024,86.0\n"), "also on row 2", row=3),
        Case("nan.csv", _csv(HEAD + "KAZ,internet_users_pct,2024,nan\n"), "plain number", row=2, field="value"),
        Case("inf.csv", _csv(HEAD + "KAZ,internet_users_pct,2024,inf\n"), "plain number", row=2, field="value"),
        Case("thousands.csv", _csv(HEAD + 'KAZ,internet_users_pct,2024,"1,234.5"\n'), "thousands", row=2,
             field="value"),
        Case("percent-sign.csv", _csv(HEAD + "KAZ,internet_users_pct,2024,85%\n"), "% sign", row=2, field="value"),
        Case("out-of-range-value.csv", _csv(HEAD + "KAZ,internet_users_pct,2024,185\n"), "range", row=2,
             field="value"),
        Case("year-1800.csv", _csv(HEAD + "KAZ,internet_users_pct,1800,85\n"), "year out of range", row=2,
             field="year"),
        Case("year-3000.csv", _csv(HEAD + "KAZ,internet_users_pct,3000,85\n"), "year out of range", row=2,
             field="year"),
        Case("year-fraction.csv", _csv(HEAD + "KAZ,internet_users_pct,2024.5,85\n"), "whole number", row=2,
             field="year"),
        Case("year-negative.csv", _csv(HEAD + "KAZ,internet_users_pct,-12,85\n"), "year out of range", row=2,
             field="year"),
        Case("year-text.csv", _csv(HEAD + "KAZ,internet_users_pct,last year,85\n"), "not a year", row=2, field="year"),
        Case("year-missing.csv", _csv(HEAD + "KAZ,internet_users_pct,,85\n"), "the year is missing", row=2,
             field="year"),
        Case("wide-year-1800.csv", _csv("unit,indicator,1800,2024\nKAZ,internet_users_pct,1,2\n"),
             "year out of range", row=1, field="1800"),
        Case("extra-cells.csv", _csv(HEAD + "KAZ,internet_users_pct,2024,85,5\n"), "5 cells but the header has 4",
             row=2),
        Case("duplicate-header.csv", _csv("unit,indicator,year,value,value\nKAZ,internet_users_pct,2024,85,86\n"),
             "unexpected column 'value'", row=1, field="value"),
        Case("unit-missing.csv", _csv(HEAD + ",internet_users_pct,2024,85\n"), "the unit is missing", row=2,
             field="unit"),
        Case("cr-line-ends.csv", _csv((HEAD + "KAZ,internet_users_pct,2024,abc\n").replace("\n", "\r")),
             "not a number", row=2, field="value"),
        Case("unknown-unit.csv", _csv(HEAD + "XXQ,internet_users_pct,2024,85\n"), "unknown unit", row=2,
             field="unit"),
        Case("emoji-unit.csv", _csv(HEAD + ":warning:,internet_users_pct,2024,85\n"), ":warning:", row=2,
             field="unit"),
        Case("markup-unit.csv", _csv(HEAD + "[red]KAZ[/red],internet_users_pct,2024,85\n"), "[red]KAZ[/red]", row=2,
             field="unit"),
        Case("escape-unit.csv", _csv(HEAD + "KAZ\x1b[2J\x07,internet_users_pct,2024,85\n"), "\\x1b", row=2,
             field="unit"),
        Case("unknown-indicator.csv", _csv(HEAD + "KAZ,internet_users,2024,85\n"), "indicator", row=2,
             field="indicator"),
        Case("missing-value-column.csv", _csv("unit,indicator,year\nKAZ,internet_users_pct,2024\n"),
             "layout", row=1),
        Case("huge-field.csv", _csv("unit,indicator,year,value,note\nKAZ,internet_users_pct,2024,85,"
                                    + "x" * 1_000_000 + "\n"), "longer than 131,072 characters", row=2),
        Case("unclosed-quote.csv", _csv(HEAD + 'KAZ,internet_users_pct,2024,"85\n' + ok * 3), "value", row=2),
        Case("path-traversal-unit.csv", _csv(HEAD + "../../etc/passwd,internet_users_pct,2024,85\n"),
             "unknown unit", row=2, field="unit"),
        # spreadsheets
        Case("formula-no-cache.xlsx", _xlsx({"data": [["unit", "indicator", "year", "value"],
                                                      ["KAZ", "internet_users_pct", 2024, "=40+50"]]}),
             "formula with no saved value", row=2, field="D2"),
        Case("second-sheet-wide.xlsx", _xlsx({"data": [["unit", "indicator", "year", "value"],
                                                       ["KAZ", "internet_users_pct", 2024, 85]],
                                              "wide": [["unit", "year", "internet_users_pct"], ["KAZ", 2023, 80]]}),
             "--sheet 'wide'", row=1),
        Case("second-sheet-no-header.xlsx", _xlsx({"data": [["unit", "indicator", "year", "value"],
                                                            ["KAZ", "internet_users_pct", 2024, 85]],
                                                   "more": [["KAZ", 2023, 80], ["KAZ", 2022, 79]]}),
             "no header digimeter recognises", row=1),
        Case("merged-cells.xlsx", _xlsx({"data": [["unit", "indicator", "year", "value"],
                                                  ["KAZ", "internet_users_pct", 2023, 85],
                                                  [None, "internet_users_pct", 2024, 86]]}, merge="A2:A3"),
             "unit", row=3, field="unit"),
        Case("csv-named-xlsx.xlsx", _csv(HEAD + ok), "Excel workbook"),
        Case("truncated.xlsx", _xlsx({"data": [["unit"]]})[:400], "Excel workbook"),
        Case("xlsx-bomb.xlsx", xlsx_bomb(), "more than 1,048,576 rows"),
        # YAML (digimeter build FILE)
        Case("alias-bomb.yaml", alias_bomb(), "aliases", row=6, kind="spec"),
        Case("deep.yaml", deep_yaml(), "levels deep", row=2, kind="spec"),
        Case("bad-syntax.yaml", b"name: x\ntree: [1, 2\n", "not valid YAML", row=3, kind="spec"),
        Case("huge-int.yaml", b"name: x\nyear: 1" + b"0" * 5000 + b"\n", "cannot be read", kind="spec"),
        Case("latin1.yaml", "name: caf\u00e9\n".encode("latin-1"), "not UTF-8", kind="spec"),
    ]
    return out


def build(folder: Path) -> list[Case]:
    """Write every case into ``folder`` (and a sub-folder, for the "a folder is not a file" case)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = cases()
    for c in out:
        c.path = folder / c.name
        c.path.write_bytes(c.data)
    sub = folder / "a-folder.csv"
    sub.mkdir(exist_ok=True)
    (sub / "x.csv").write_bytes((HEAD + "KAZ,internet_users_pct,2024,85\n").encode())
    out.append(Case("a-folder.csv", b"", "is a folder", path=sub))
    return out
