"""Text from user files never becomes a live spreadsheet formula in an export (OWASP CSV injection)."""

from __future__ import annotations

import pandas as pd

from digimeter._util.safetext import neutralise_cell, neutralise_frame
from digimeter.sources.export import export
from digimeter.sources.files import import_file

NOTES = ["=1+2", '=HYPERLINK("http://x","y")', "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain", "-1.5", "-"]


def test_neutralise_cell_and_frame():
    assert [neutralise_cell(n) for n in NOTES] == [
        "'=1+2", '\'=HYPERLINK("http://x","y")', "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "plain", "-1.5", "-"]
    df = pd.DataFrame({"note": ["=1", None, "ok"], "value": [-1.0, 2.0, 3.0], "=col": [1, 2, 3]})
    out = neutralise_frame(df)
    assert out["note"].tolist()[0] == "'=1" and out["note"].isna().tolist() == [False, True, False]
    assert out["value"].tolist() == [-1.0, 2.0, 3.0] and out["value"].dtype == float
    assert list(out.columns) == ["note", "value", "'=col"] and df["note"][0] == "=1"   # input untouched


def test_export_xlsx_and_csv_are_inert(store, tmp_path):
    import openpyxl

    rows = "\n".join(f"UZB,internet_users_pct,{2000 + i},{10 + i},\"{n.replace(chr(34), chr(34) * 2)}\""
                     for i, n in enumerate(NOTES[:5] + ["plain"]))
    f = tmp_path / "f.csv"
    f.write_text("unit,indicator,year,value,note\n" + rows + "\n")
    import_file(store, f)
    x = tmp_path / "o.xlsx"
    export(store, x, indicators=["internet_users_pct"], units=["UZB"], years=list(range(2000, 2006)))
    wb = openpyxl.load_workbook(x)
    assert wb.sheetnames == ["observations", "origins", "README"]
    ws = wb["observations"]
    head = [c.value for c in ws[1]]
    notes, values = head.index("note"), head.index("value")
    got = {r[notes].value: r[values] for r in ws.iter_rows(min_row=2)}
    assert set(got) == {"'=1+2", '\'=HYPERLINK("http://x","y")', "'+cmd", "'-2+3", "'@SUM(A1)", "plain"}
    assert all(c.data_type == "s" for c in (r[notes] for r in ws.iter_rows(min_row=2)))   # no formula cells
    assert sorted(c.value for c in got.values() if c.data_type == "n") == [10, 11, 12, 13, 14, 15]   # numbers stay numbers
    assert "apostrophe" in " ".join(str(r[0].value) for r in wb["README"].iter_rows())
    c = tmp_path / "o.csv"
    export(store, c, indicators=["internet_users_pct"], units=["UZB"], years=list(range(2000, 2006)))
    back = pd.read_csv(c)
    assert sorted(back["note"]) == sorted(got) and back["value"].dtype == float


def test_report_tables_are_inert(tmp_path):
    """The report's tables.xlsx and tables/*.csv: a region or note named like a formula stays text."""
    import openpyxl

    from digimeter.report import Report, Section, write_report

    df = pd.DataFrame({"unit": ["=cmd|' /C calc'!A0", "KAZ"], "score": [-3.5, 71.2], "note": ["@x", "-"]})
    rep = Report(unit="KAZ", unit_name="Kazakhstan", lang="en", spec="egdi", scenario=None,
                 sections=[Section(id="rankings", title="Rankings", tables={"table": df})],
                 meta={"title": "t", "generated": "2026-12-04", "version": "0", "main_index": "egdi", "main_year": 2024})
    w = write_report(rep, tmp_path / "r", figures=False, png=False)
    ws = openpyxl.load_workbook(w["xlsx"])["rankings_table"]
    cells = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert cells == [["'=cmd|' /C calc'!A0", -3.5, "'@x"], ["KAZ", 71.2, "-"]]
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)
    back = pd.read_csv(w["tables"][0])
    assert back["unit"].tolist()[0] == "'=cmd|' /C calc'!A0" and back["score"].tolist() == [-3.5, 71.2]
