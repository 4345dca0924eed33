"""Importing users' CSV/XLSX files: layouts, validation naming the culprit, atomicity, vintages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from typer.testing import CliRunner

from digimeter.errors import DataImportError
from digimeter.sources.files import import_file

DATA = Path(__file__).parent / "data" / "import"
HEADER = "unit,indicator,year,value\n"


def current(store, unit, indicator, year):
    df = store.observations(indicators=indicator, units=unit, years=year)
    return None if df.empty else df.value.iloc[0]


def write(tmp_path, name, text, encoding="utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def rejected(store, store_state, path, **kw) -> DataImportError:
    """Import ``path`` expecting a DataImportError; check the store did not change."""
    before = store_state(store)
    with pytest.raises(DataImportError) as e:
        import_file(store, path, **kw)
    assert store_state(store) == before
    assert str(path) in str(e.value)
    assert "nothing was changed" in str(e.value)
    return e.value


def only(err: DataImportError, contains: str):
    hits = [p for p in err.problems if contains in p.message]
    assert len(hits) == 1, (contains, [str(p) for p in err.problems])
    return hits[0]


# ------------------------------------------------------------------------------------------------
# bad inputs: a clear error naming file, row, column and fix; the store unchanged
# ------------------------------------------------------------------------------------------------
def test_empty_file(store, store_state, tmp_path):
    e = rejected(store, store_state, write(tmp_path, "empty.csv", ""))
    p = only(e, "empty")
    assert p.file == str(tmp_path / "empty.csv") and p.fix and "header" in p.fix
    e = rejected(store, store_state, write(tmp_path, "blank.csv", "\ufeff\n \n"))
    only(e, "empty")


def test_unquoted_decimal_comma_splits_the_row(store, store_state, tmp_path):
    path = write(tmp_path, "c.csv", HEADER + "KAZ,egdi,2026,0.9\nKAZ,internet_users_pct,2026,12,5\n")
    p = only(rejected(store, store_state, path), "cells but the header has 4")
    assert p.row == 3 and p.value == "12,5" and "12.5" in p.fix


def test_header_only(store, store_state, tmp_path):
    e = rejected(store, store_state, write(tmp_path, "header.csv", HEADER))
    p = only(e, "no data rows")
    assert p.row == 1 and p.fix


@pytest.mark.parametrize("encoding,text,looks", [
    ("latin-1", "unit,indicator,year,value,note\nKAZ,egdi,2026,0.9,ok\nKAZ,osi,2026,0.9,révisé à Genève\n",
     "Latin-1"),
    ("cp1251", "unit,indicator,year,value,note\nKAZ,egdi,2026,0.9,ok\nKAZ,osi,2026,0.9,Данные Казахстана\n",
     "Windows-1251"),
])
def test_wrong_encoding(store, store_state, tmp_path, encoding, text, looks):
    path = write(tmp_path, "enc.csv", text, encoding)
    e = rejected(store, store_state, path)
    p = only(e, "not UTF-8")
    assert looks in p.message
    assert p.row == 3 and p.file == str(path)
    assert "UTF-8" in p.fix and "save" in p.fix


def test_unknown_unit(store, store_state, tmp_path):
    path = write(tmp_path, "u.csv", HEADER + "KAZ,egdi,2026,0.9\nKAX,egdi,2026,0.8\nKAX,osi,2026,0.8\n")
    e = rejected(store, store_state, path)
    p = only(e, "unknown unit 'KAX'")
    assert (p.row, p.field, p.value) == (3, "unit", "KAX")
    assert "rows 3, 4" in p.message
    assert "KAZ" in p.fix and "digimeter data units" in p.fix
    assert f"{path}, row 3, column/field 'unit'" in str(e)


def test_duplicate_key_names_both_rows(store, store_state, tmp_path):
    path = write(tmp_path, "d.csv", HEADER + "KAZ,egdi,2026,0.9\nDNK,egdi,2026,0.95\nKAZ,egdi,2026,0.91\n")
    e = rejected(store, store_state, path)
    p = only(e, "duplicate key")
    assert p.row == 4 and p.field == "value" and "row 2" in p.message
    assert "2" in p.fix and "4" in p.fix


def test_duplicate_key_via_alias_in_wide_form(store, store_state, tmp_path):
    # internet_users_pct and its ITU code i99H are the same indicator
    path = write(tmp_path, "d.csv", "unit,year,internet_users_pct,i99H\nKAZ,2026,90,91\n")
    p = only(rejected(store, store_state, path), "duplicate key")
    assert p.row == 2 and p.field == "i99H"


@pytest.mark.parametrize("cell,fixword", [("12,5", "12.5"), ("n/a", "blank"), ("85%", "85"),
                                          ("1,234,567", "1234567")])
def test_non_numeric_value(store, store_state, tmp_path, cell, fixword):
    path = write(tmp_path, "n.csv", 'unit;indicator;year;value\nKAZ;egdi;2026;0.9\n'
                                    f'KAZ;internet_users_pct;2026;{cell}\n')
    p = only(rejected(store, store_state, path), "not a number")
    assert (p.row, p.field, p.value) == (3, "value", cell)
    assert fixword in p.fix


def test_non_numeric_in_wide_form_blank_is_not_an_error(store, store_state, tmp_path):
    path = write(tmp_path, "n.csv", "unit,year,egdi,internet_users_pct\nKAZ,2026,,n/a\nDNK,2026,0.9,\n")
    e = rejected(store, store_state, path)
    assert len(e.problems) == 1
    p = e.problems[0]
    assert (p.row, p.field, p.value) == (2, "internet_users_pct", "n/a")


def test_percentage_above_100(store, store_state, tmp_path):
    path = write(tmp_path, "p.csv", HEADER + "KAZ,internet_users_pct,2026,92.5\nDNK,i99H,2026,100.4\n")
    p = only(rejected(store, store_state, path), "percentage above 100")
    assert (p.row, p.field, p.value) == (3, "value", 100.4)
    assert p.fix


def test_value_outside_indicator_range(store, store_state, tmp_path):
    path = write(tmp_path, "r.csv", HEADER + "KAZ,egdi,2026,1.3\nKAZ,population,2026,-5\n")
    e = rejected(store, store_state, path)
    assert [p.row for p in e.problems] == [2, 3]
    assert "egdi [0, 1]" in e.problems[0].message


@pytest.mark.parametrize("year,why", [("1850", "out of range"), ("2200", "out of range"),
                                      ("2020.5", "whole number"), ("twenty", "not a year")])
def test_year_out_of_range(store, store_state, tmp_path, year, why):
    path = write(tmp_path, "y.csv", HEADER + f"KAZ,egdi,2024,0.9\nKAZ,egdi,{year},0.9\n")
    e = rejected(store, store_state, path)
    assert len(e.problems) == 1
    p = e.problems[0]
    assert why in p.message and (p.row, p.field) == (3, "year") and "1900" in p.fix


def test_year_column_out_of_range_in_wide_by_year(store, store_state, tmp_path):
    path = write(tmp_path, "y.csv", "unit,indicator,1850,2026\nKAZ,egdi,0.1,0.9\n")
    p = only(rejected(store, store_state, path), "out of range")
    assert (p.row, p.field) == (1, "1850")


def test_unknown_indicator_lists_them_and_the_fix(store, store_state, tmp_path):
    path = write(tmp_path, "i.csv", "unit,year,internet_userz_pct,ecommerce_pct\nKAZ,2026,90,10\n")
    e = rejected(store, store_state, path)
    assert len(e.problems) == 2
    p = e.problems[0]
    assert (p.row, p.field, p.value) == (1, "internet_userz_pct", "internet_userz_pct")
    assert "internet_userz_pct, ecommerce_pct" in p.message
    assert "internet_users_pct" in p.fix  # close match
    assert "digimeter data list" in p.fix and "i.csv.indicators.csv" in p.fix
    assert "code,name,unit,higher_is_better,min_value,max_value" in p.fix


def test_all_problems_are_collected(store, store_state, tmp_path):
    path = write(tmp_path, "many.csv", HEADER + "KAX,egdi,2026,0.9\nKAZ,egdi,1800,0.9\nKAZ,osi,2026,x\n"
                                               "KAZ,internet_users_pct,2026,300\n")
    e = rejected(store, store_state, path)
    assert [p.row for p in e.problems] == [2, 3, 4, 5]
    assert "4 problems" in str(e)


def test_unrecognised_header(store, store_state, tmp_path):
    p = only(rejected(store, store_state, write(tmp_path, "h.csv", "a,b,c\n1,2,3\n")), "layout")
    assert p.row == 1 and "unit,indicator,year,value" in p.fix


def test_xlsx_errors_name_sheet_and_row(store, store_state, tmp_path):
    path = xlsx(tmp_path / "bad.xlsx", {"values": [["unit", "indicator", "year", "value"],
                                                   ["KAZ", "egdi", 2026, 0.9],
                                                   [None, None, None, None],
                                                   ["KAZ", "osi", 2026, "0,8"]]})
    p = only(rejected(store, store_state, path), "not a number")
    assert p.row == 4 and p.field == "value" and p.file == f"{path}, sheet 'values'"


def test_failure_during_writes_rolls_everything_back(store, store_state, monkeypatch):
    before = store_state(store)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "add_observations", boom)
    with pytest.raises(RuntimeError):
        # the companion file declares a new indicator: its row must be rolled back too
        import_file(store, DATA / "new_indicator.csv")
    assert store_state(store) == before


# ------------------------------------------------------------------------------------------------
# good inputs
# ------------------------------------------------------------------------------------------------
def test_long_form(store):
    rep = import_file(store, DATA / "long.csv", publisher="Test Office", licence="CC BY 4.0")
    assert rep.form == "long" and "long form" in str(rep)
    assert (rep.new, rep.changed, rep.unchanged) == (3, 0, 0)
    assert rep.vintage == 2
    assert current(store, "KAZ", "egdi", 2026) == 0.91
    obs = store.observations(indicators="egdi", units="KAZ", years=2026)
    assert obs.note.iloc[0] == "test value for an edition not yet published"
    origin = store.origins().set_index("origin_id").loc[rep.origin_id]
    assert rep.origin_id.startswith("user:") and len(rep.origin_id) == len("user:") + 12
    assert origin.publisher == "Test Office" and origin.licence == "CC BY 4.0"
    assert origin.dataset == "long.csv" and origin.sha256.startswith(rep.origin_id[5:])
    assert origin.note == f"imported from {DATA / 'long.csv'}"
    assert store.vintages().set_index("vintage").loc[2, "kind"] == "import"


def test_import_twice_adds_nothing(store, store_state):
    import_file(store, DATA / "long.csv")
    after_first = store_state(store)
    rep = import_file(store, DATA / "long.csv")
    assert (rep.new, rep.changed, rep.unchanged, rep.vintage) == (0, 0, 3, None)
    assert store_state(store) == after_first


def test_changed_value_makes_new_vintage_and_keeps_old(store, tmp_path):
    old = current(store, "KAZ", "internet_users_pct", 2023)
    r1 = import_file(store, DATA / "long.csv")
    path = write(tmp_path, "rev.csv", HEADER + "KAZ,egdi,2026,0.92\nKAZ,i99H,2023,93.5\nDNK,i99H,2026,98.9\n")
    rep = import_file(store, path)
    assert (rep.new, rep.changed, rep.unchanged) == (0, 2, 1)
    assert rep.vintage == r1.vintage + 1
    hist = store.history("KAZ", "egdi", 2026)
    assert hist.value.tolist() == [0.91, 0.92] and hist.vintage.tolist() == [r1.vintage, rep.vintage]
    assert store.history("KAZ", "internet_users_pct", 2023).value.tolist() == [old, 93.5]
    assert current(store, "KAZ", "egdi", 2026) == 0.92
    as_of = store.observations(indicators="egdi", units="KAZ", years=2026, as_of_vintage=r1.vintage)
    assert as_of.value.tolist() == [0.91]
    # the unchanged value keeps its first origin
    dnk = store.observations(indicators="internet_users_pct", units="DNK", years=2026)
    assert dnk.origin_id.iloc[0] == r1.origin_id


def test_wide_by_indicator(store):
    rep = import_file(store, DATA / "wide_by_indicator.csv")
    assert rep.form == "wide_by_indicator"
    assert (rep.new, rep.skipped_blank) == (4, 2)
    assert current(store, "KAZ", "internet_users_pct", 2027) == 95.1  # via the ITU code i99H
    assert current(store, "DNK", "population", 2027) == 6000000
    assert current(store, "DNK", "internet_users_pct", 2027) is None


def test_wide_by_year_world_bank_layout(store):
    rep = import_file(store, DATA / "wide_by_year.csv")
    assert rep.form == "wide_by_year"
    assert rep.new == 3 and rep.skipped_blank == 3
    assert current(store, "KAZ", "internet_users_pct", 2025) == 93.1
    assert current(store, "DNK", "internet_users_pct", 2026) == 99.0
    assert current(store, "KAZ", "internet_users_pct", 2026) is None


def test_xlsx_every_long_sheet_and_indicators_sheet(store, tmp_path):
    path = xlsx(tmp_path / "book.xlsx", {
        "2026": [["unit", "indicator", "year", "value"], ["KAZ", "egdi", 2026, 0.91],
                 ["KAZ", "egov_users_pct", 2026, 81.5]],
        "2027": [["iso3", "indicator", "year", "value", "note"], ["KAZ", "egdi", 2027.0, 0.93, "draft"]],
        "notes": [["This workbook was made for a test."]],
        "indicators": [["code", "name", "unit", "higher_is_better", "min_value", "max_value"],
                       ["egov_users_pct", "Individuals using e-government services", "% of individuals",
                        True, 0, 100]],
    })
    rep = import_file(store, path)
    assert rep.form == "long" and rep.new == 3 and rep.new_indicators == ["egov_users_pct"]
    assert "sheets 2026, 2027" in str(rep)
    assert current(store, "KAZ", "egdi", 2027) == 0.93
    assert store.indicator("egov_users_pct")["max_value"] == 100
    bad = xlsx(tmp_path / "book2.xlsx", {
        "data": [["unit", "indicator", "year", "value"], ["KAZ", "egov_users_pct", 2026, 181.5]],
        "indicators": [["code", "name", "unit", "higher_is_better", "min_value", "max_value"],
                       ["egov_users_pct", "Individuals using e-government services", "% of individuals",
                        True, 0, 100]]})
    with pytest.raises(DataImportError, match="percentage above 100"):
        import_file(store, bad)


def test_xlsx_wide_by_year(store, tmp_path):
    path = xlsx(tmp_path / "wb.xlsx", {"Data": [["Country Code", "Indicator Code", 2025, 2026],
                                                ["KAZ", "i99H", 93.1, None], ["DNK", "i99H", 98.7, 99]]})
    rep = import_file(store, path)
    assert rep.form == "wide_by_year" and (rep.new, rep.skipped_blank) == (3, 1)


def test_new_indicator_from_companion_file(store, store_state, tmp_path):
    rep = import_file(store, DATA / "new_indicator.csv")
    assert rep.new_indicators == ["egov_users_pct"] and rep.new == 2
    meta = store.indicator("egov_users_pct")
    assert meta["higher_is_better"] and meta["unit"] == "% of individuals"
    # a second import is a no-op, indicators included
    before = store_state(store)
    rep = import_file(store, DATA / "new_indicator.csv")
    assert rep.new_indicators == [] and rep.unchanged == 2
    assert store_state(store) == before
    # declaring an existing code with a different direction is refused
    shutil.copy(DATA / "new_indicator.csv", tmp_path / "x.csv")
    (tmp_path / "x.csv.indicators.csv").write_text(
        "code,name,unit,higher_is_better,min_value,max_value\n"
        "egov_users_pct,Individuals using e-government services,% of individuals,false,0,100\n")
    p = only(rejected(store, store_state, tmp_path / "x.csv"), "already exists")
    assert p.row == 2 and "higher_is_better" in p.message


def test_indicators_and_units_on_their_own(store, tmp_path):
    rep = import_file(store, DATA / "new_indicator.csv.indicators.csv")
    # declaring an indicator changes the store: a vintage of its own (issue 16), listed with what it added
    assert rep.form == "indicators" and rep.new_indicators == ["egov_users_pct"] and rep.vintage == 2
    v = store.vintages().set_index("vintage").loc[2]
    assert v["kind"] == "import" and "1 new indicators" in v["note"] and "recorded as vintage 2" in str(rep)
    path = xlsx(tmp_path / "meta.xlsx", {
        "indicators": [["code", "name", "unit", "higher_is_better", "min_value", "max_value"],
                       ["ecommerce_pct", "Individuals buying online", "% of individuals", "yes", 0, 100]],
        "units": [["code", "name", "kind", "parent"], ["UZ-QR", "Qoraqalpog'iston Respublikasi", "region", "UZB"]]})
    rep = import_file(store, path)
    assert rep.new_indicators == ["ecommerce_pct"] and rep.new_units == ["UZ-QR"]
    assert store.unit("UZ-QR")["parent"] == "UZB"


def test_units_file_adds_regions_with_parent(store, store_state, tmp_path):
    rep = import_file(store, DATA / "uz_regions.csv")
    assert rep.form == "units" and rep.new_units == ["UZ-TO", "UZ-SA", "UZ-TK"]
    kids = store.units(parent="UZB")
    assert set(kids.code) >= {"UZ-TO", "UZ-SA", "UZ-TK"}
    assert set(kids.set_index("code").loc[["UZ-TO", "UZ-SA", "UZ-TK"], "kind"]) == {"region"}
    assert store.unit("UZ-TO")["valid_from"] == 1991
    # data for the new regions can now be imported
    rep = import_file(store, write(tmp_path, "uz.csv", HEADER + "UZ-TO,population,2026,3000000\n"))
    assert rep.new == 1
    # a second import of the units file changes nothing
    before = store_state(store)
    assert import_file(store, DATA / "uz_regions.csv").new_units == []
    assert store_state(store) == before


def test_units_file_errors(store, store_state, tmp_path):
    path = write(tmp_path, "units.csv", "code,name,kind,parent\nUZ-TO,Toshkent viloyati,region,UZX\n"
                                        "UZ-TO,Again,province,UZB\n")
    e = rejected(store, store_state, path)
    msgs = " | ".join(str(p) for p in e.problems)
    assert "unknown parent unit 'UZX'" in msgs and "UZB" in msgs
    assert "duplicate unit code" in msgs and "unknown unit kind 'province'" in msgs


def test_units_file_names_in_other_languages(store, store_state, tmp_path):
    path = write(tmp_path, "units.csv", "code,name,kind,parent,name_ru,name_uz\n"
                                        "UZ-TO,Tashkent region,region,UZB,Ташкентская область,Toshkent viloyati\n"
                                        "UZ-SA,Samarkand region,region,UZB,,Samarqand viloyati\n")
    rep = import_file(store, path)
    assert rep.new_units == ["UZ-TO", "UZ-SA"]
    ru = store.unit_names("ru")
    assert ru["UZ-TO"] == "Ташкентская область" and "UZ-SA" not in ru   # a blank cell adds no name
    assert store.unit_names("uz") == {"UZ-TO": "Toshkent viloyati", "UZ-SA": "Samarqand viloyati"}
    assert store.unit("UZ-TO")["name"] == "Tashkent region"
    before = store_state(store)
    assert import_file(store, path).new_units == [] and store_state(store) == before   # twice: nothing new
    # a changed name is written; the origin of the change is kept
    path2 = write(tmp_path, "units2.csv", "code,name,kind,parent,name_ru\nUZ-TO,Tashkent region,region,UZB,"
                                          "Ташкентская обл.\n")
    import_file(store, path2)
    assert store.unit_names("ru")["UZ-TO"] == "Ташкентская обл."
    # English names belong in 'name'
    bad = write(tmp_path, "units3.csv", "code,name,kind,parent,name_en\nUZ-BU,Bukhara,region,UZB,Bukhara\n")
    e = rejected(store, store_state, bad)
    assert any("name_en" in str(p) and "name" in p.fix for p in e.problems)


def test_companion_units_file_atomic_with_data(store, store_state, tmp_path):
    data = write(tmp_path, "reg.csv", HEADER + "UZ-NW,population,2026,1000\n")
    (tmp_path / "reg.csv.units.csv").write_text("code,name,kind,parent\nUZ-NW,Test region,region,UZB\n")
    rep = import_file(store, data)
    assert rep.new_units == ["UZ-NW"] and rep.new == 1
    # a bad value rolls back the units too
    data = write(tmp_path, "reg2.csv", HEADER + "UZ-NX,population,2026,-1\n")
    (tmp_path / "reg2.csv.units.csv").write_text("code,name,kind,parent\nUZ-NX,Test region,region,UZB\n")
    rejected(store, store_state, data)


# ------------------------------------------------------------------------------------------------
# property: any valid long frame imports and reads back exactly
# ------------------------------------------------------------------------------------------------
UNITS = ["KAZ", "DNK", "UZB", "KGZ", "EST", "USA"]
RANGES = {"egdi": (0.0, 1.0), "internet_users_pct": (0.0, 100.0), "population": (0.0, 1e10),
          "gdp_pc_growth_pct": (-1e3, 1e3)}


@st.composite
def long_frames(draw):
    keys = draw(st.lists(st.tuples(st.sampled_from(UNITS), st.sampled_from(sorted(RANGES)),
                                   st.integers(1900, 2027)), min_size=1, max_size=25, unique=True))
    rows = []
    for u, i, y in keys:
        lo, hi = RANGES[i]
        v = draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))
        rows.append((u, i, y, v + 0.0))
    return rows


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=long_frames(), delim=st.sampled_from([",", ";", "\t"]))
def test_property_long_frame_round_trips(store, tmp_path, rows, delim):
    text = delim.join(["unit", "indicator", "year", "value"]) + "\n" + "".join(
        delim.join([u, i, str(y), repr(v)]) + "\n" for u, i, y, v in rows)
    path = write(tmp_path, "prop.csv", text)
    rep = import_file(store, path)
    assert rep.new + rep.changed + rep.unchanged == len(rows)
    back = store.observations(indicators=sorted({r[1] for r in rows}), units=sorted({r[0] for r in rows}),
                              years=sorted({r[2] for r in rows}))
    got = {(r.unit, r.indicator, int(r.year)): r.value for r in back.itertuples()}
    for u, i, y, v in rows:
        assert got[(u, i, y)] == v


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------
def test_cli_data_import(digimeter_home, tmp_path):
    from digimeter.cli import app

    runner = CliRunner()
    bad = write(tmp_path, "bad.csv", HEADER + "KAZ,egdi,2026,0.9\nKAZ,egdi,2026,12,5\n")
    res = runner.invoke(app, ["data", "import", str(bad)])
    out = res.output + (getattr(res, "stderr", "") or "")
    assert res.exit_code == 1, out
    assert "bad.csv" in out and "row 3" in out and "nothing was changed" in out
    bad = write(tmp_path, "bad2.csv", HEADER + "KAZ,internet_users_pct,2026,12,5\n")
    res = runner.invoke(app, ["data", "import", str(bad)])
    out = res.output + (getattr(res, "stderr", "") or "")
    assert res.exit_code == 1 and "row 2" in out and "12.5" in out, out

    res = runner.invoke(app, ["data", "import", str(DATA / "long.csv"), "--publisher", "Test Office"])
    assert res.exit_code == 0, res.output
    assert "3 new" in res.output and "long form" in res.output
    res = runner.invoke(app, ["data", "import", str(DATA / "long.csv")])
    assert res.exit_code == 0 and "3 unchanged" in res.output
