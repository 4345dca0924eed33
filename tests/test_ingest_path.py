"""The fast ingest path (WDI bulk CSV -> read_bulk_csv -> apply_batches -> add_observations).

The input is a WDI bulk-layout CSV written from REAL values of the bundled snapshot (World Bank
indicators, under their WDI codes), with a few values revised by 5 %, a year the store lacks, and one
indicator new to the catalogue. The optimised path must leave exactly the store the previous,
row-by-row-in-pandas path left: ``_reference_add`` below is that path's comparison and insert, verbatim.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from digimeter.errors import DataError
from digimeter.sources.http import Batch
from digimeter.sources.update import apply_batches
from digimeter.sources.worldbank import read_bulk_csv
from digimeter.store import Store

WB = ["population", "gdp_usd", "urban_population_pct", "mobile_cellular_per100"]
UNITS = ["KAZ", "DNK", "JPN", "USA", "BRA", "KEN", "IND", "DEU", "UZB", "CHL"]
YEARS = list(range(1960, 2026))


def _real_wide(store: Store) -> tuple[pd.DataFrame, dict[str, str]]:
    ind = store.query("SELECT code, source_code, name FROM indicators WHERE code IN ({})".format(
        ",".join("?" * len(WB))), WB)
    wdi = dict(zip(ind.code, ind.source_code))
    obs = store.observations(WB, UNITS)
    wide = obs.pivot_table(index=["unit", "indicator"], columns="year", values="value", aggfunc="first")
    wide = wide.reindex(columns=YEARS)
    names = dict(zip(ind.code, ind.name))
    unit_names = dict(zip(store.units().code, store.units().name))
    rows = []
    for (u, i), vals in wide.iterrows():
        rows.append([unit_names[u], u, names[i], wdi[i], *vals.tolist()])
    df = pd.DataFrame(rows, columns=["Country Name", "Country Code", "Indicator Name", "Indicator Code",
                                     *[str(y) for y in YEARS]])
    return df, wdi


def _write(df: pd.DataFrame, path, preamble: bool = True) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        if preamble:
            f.write('"Data Source","World Development Indicators",\n\n"Last Updated Date","2025-07-01",\n\n')
        w = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator=",\n")
        w.writerow(df.columns)
        for r in df.itertuples(index=False):
            w.writerow(["" if isinstance(v, float) and np.isnan(v) else (repr(v) if isinstance(v, float) else v)
                        for v in r])


@pytest.fixture
def wdi_csv(store, tmp_path):
    """A WDI bulk CSV of real snapshot values, with 5 % revisions, one new year and one new indicator."""
    df, wdi = _real_wide(store)
    df = df.copy()
    # revise a few real values by 5 % (below the 20 % review threshold) and add a year the store lacks
    m = df["Indicator Code"] == wdi["population"]
    df.loc[m & (df["Country Code"] == "KAZ"), "2020"] *= 1.05
    df.loc[m & (df["Country Code"] == "DNK"), "2019"] *= 0.95
    df.loc[m & (df["Country Code"] == "JPN"), "2025"] = np.nan
    extra = df[df["Indicator Code"] == wdi["gdp_usd"]].copy()  # a code not in the catalogue: a new indicator
    extra["Indicator Code"] = "NY.GDP.MKTP.CN.TEST"
    extra["Indicator Name"] = "GDP (test copy of real values)"
    df = pd.concat([df, extra], ignore_index=True)
    path = tmp_path / "API_test_DS2.csv"
    _write(df, path)
    return path, df, wdi


def _reference_add(store: Store, obs: pd.DataFrame, *, kind: str, origin_id: str | None, note=None):
    """The previous ``Store.add_observations`` (before the Arrow/one-comparison rewrite), verbatim."""
    obs = obs.copy()
    if origin_id is not None:
        obs["origin_id"] = origin_id
    if "note" not in obs:
        obs["note"] = None
    obs = obs[["unit", "indicator", "year", "value", "origin_id", "note"]]
    obs["year"] = obs["year"].astype("int32")
    obs["value"] = obs["value"].astype("float64")
    store.con.register("_obs", obs)
    try:
        counts = store.con.execute("""
            WITH cur AS (
                SELECT unit, indicator, year, arg_max(value, vintage) AS value
                FROM observations SEMI JOIN _obs USING (unit, indicator, year) GROUP BY ALL)
            SELECT
                count(*) FILTER (WHERE cur.value IS NULL),
                count(*) FILTER (WHERE cur.value IS NOT NULL AND cur.value IS DISTINCT FROM o.value),
                count(*) FILTER (WHERE cur.value IS NOT DISTINCT FROM o.value)
            FROM _obs o LEFT JOIN cur USING (unit, indicator, year)""").fetchall()[0]
        new, changed, unchanged = (int(c) for c in counts)
        vintage = None
        if new or changed:
            vintage = store.next_vintage()
            store.con.execute("INSERT INTO vintages VALUES (?, ?, ?, ?, ?)",
                              [vintage, datetime.now(timezone.utc).replace(tzinfo=None), kind, origin_id, note])
            store.con.execute("""
                INSERT INTO observations
                WITH cur AS (
                    SELECT unit, indicator, year, arg_max(value, vintage) AS value
                    FROM observations SEMI JOIN _obs USING (unit, indicator, year) GROUP BY ALL)
                SELECT o.unit, o.indicator, o.year, o.value, o.origin_id, ?, o.note
                FROM _obs o LEFT JOIN cur USING (unit, indicator, year)
                WHERE cur.value IS DISTINCT FROM o.value""", [vintage])
    finally:
        store.con.unregister("_obs")
    return new, changed, unchanged, vintage


def _contents(store: Store) -> pd.DataFrame:
    return (store.query("SELECT unit, indicator, year, value, origin_id, vintage, note FROM observations")
            .sort_values(["unit", "indicator", "year", "vintage"]).reset_index(drop=True))


def _melt(df: pd.DataFrame, wdi: dict[str, str]) -> pd.DataFrame:
    """The plain pandas parse of the same file (object strings, melt, dropna): the old benchmark's parse."""
    back = {v: k for k, v in wdi.items()}
    long = df.melt(id_vars=["Country Code", "Indicator Code"], value_vars=[str(y) for y in YEARS],
                   var_name="year", value_name="value").dropna(subset=["value"])
    return pd.DataFrame({"unit": long["Country Code"].astype(object).to_numpy(),
                         "indicator": long["Indicator Code"].map(lambda c: back.get(c, c)).astype(object).to_numpy(),
                         "year": long["year"].astype(int).to_numpy(), "value": long["value"].to_numpy()})


def test_bulk_parse_gives_the_cells_of_the_file(store, wdi_csv):
    path, df, wdi = wdi_csv
    b = read_bulk_csv(path, store)
    got = b.observations.astype({"unit": object, "indicator": object}).sort_values(
        ["unit", "indicator", "year"]).reset_index(drop=True)
    want = _melt(df, wdi).sort_values(["unit", "indicator", "year"]).reset_index(drop=True)
    assert len(got) == len(want) == int(df[[str(y) for y in YEARS]].notna().sum().sum())
    assert got.unit.tolist() == want.unit.tolist() and got.indicator.tolist() == want.indicator.tolist()
    assert (got.year.to_numpy() == want.year.to_numpy()).all()
    assert (got.value.to_numpy() == want.value.to_numpy()).all()  # exact: same text, same double
    # catalogue codes map to digimeter codes; the unknown one becomes a new indicator
    assert set(got.indicator) == set(WB) | {"NY.GDP.MKTP.CN.TEST"}
    assert b.indicators.code.tolist() == ["NY.GDP.MKTP.CN.TEST"]
    assert b.indicators.name.iloc[0] == "GDP (test copy of real values)"
    assert b.origin["edition"] == "2025-07-01" and b.origin["sha256"]


def test_bulk_parse_without_preamble_and_bad_cell(store, wdi_csv, tmp_path):
    from digimeter.errors import SourceError

    path, df, wdi = wdi_csv
    p2 = tmp_path / "WDICSV.csv"
    _write(df, p2, preamble=False)
    assert len(read_bulk_csv(p2, store).observations) == len(read_bulk_csv(path, store).observations)
    bad = df.astype({"1999": object})
    bad.loc[3, "1999"] = "n/a!"
    _write(bad, tmp_path / "bad.csv")
    with pytest.raises(SourceError, match="not a readable WDI bulk CSV"):
        read_bulk_csv(tmp_path / "bad.csv", store)


def test_same_store_contents_as_the_previous_path(store_path, tmp_path, wdi_csv):
    path, df, wdi = wdi_csv
    ref_path = tmp_path / "ref.duckdb"
    ref_path.write_bytes(store_path.read_bytes())
    with Store(store_path) as s:
        b = read_bulk_csv(path, s)
        rep = apply_batches(s, [b])
        got = _contents(s)
        origin = b.origin["origin_id"]
    with Store(ref_path) as r:
        with r.transaction():
            r.upsert_indicators(b.indicators)
            new, changed, unchanged, vintage = _reference_add(r, _melt(df, wdi), kind="update", origin_id=origin)
        want = _contents(r)
    assert (rep.new, rep.changed, rep.unchanged, rep.vintage) == (new, changed, unchanged, vintage)
    assert rep.changed == 2 and rep.new > 0 and rep.unchanged > 0 and rep.flagged == 0
    pd.testing.assert_frame_equal(got, want)


def test_direct_add_matches_reference_on_object_frames(store_path, tmp_path):
    """``add_observations`` called as import_file/snapshot/review call it (object strings, notes)."""
    ref_path = tmp_path / "ref.duckdb"
    ref_path.write_bytes(store_path.read_bytes())
    with Store(store_path) as s:
        cur = s.observations(["egdi", "internet_users_pct"], ["KAZ", "DNK", "EST"])
    frame = cur[["unit", "indicator", "year", "value"]].copy()
    frame.loc[frame.index[:3], "value"] *= 1.01
    frame = pd.concat([frame, pd.DataFrame({"unit": ["KAZ"], "indicator": ["egdi"], "year": [2031],
                                            "value": [0.9]})], ignore_index=True)
    frame["note"] = [None] * (len(frame) - 1) + ["a note"]
    with Store(store_path) as s, s.transaction():
        rep = s.add_observations(frame, kind="import", origin_id="test:obj", note="t")
    with Store(ref_path) as r, r.transaction():
        ref = _reference_add(r, frame, kind="import", origin_id="test:obj", note="t")
    assert (rep.new, rep.changed, rep.unchanged, rep.vintage) == ref == (1, 3, len(frame) - 4, 2)
    with Store(store_path) as s, Store(ref_path) as r:
        pd.testing.assert_frame_equal(_contents(s), _contents(r))


def test_reimport_adds_nothing_and_a_changed_value_makes_a_vintage(store, store_state, wdi_csv, tmp_path):
    path, df, wdi = wdi_csv
    first = apply_batches(store, [read_bulk_csv(path, store)])
    assert first.vintage == 2
    before = store_state(store)
    reread = read_bulk_csv(path, store)
    reread.origin["retrieved"] = "2099-01-01T00:00:00+00:00"   # the same file, read again on a later day
    again = apply_batches(store, [reread])
    assert (again.new, again.changed, again.vintage) == (0, 0, None)
    assert again.unchanged == first.new + first.changed + first.unchanged
    assert store_state(store) == before

    df2 = df.copy()
    m = (df2["Country Code"] == "KEN") & (df2["Indicator Code"] == wdi["urban_population_pct"])
    old = float(df2.loc[m, "2010"].iloc[0])
    df2.loc[m, "2010"] = old * 1.02
    p2 = tmp_path / "API_test_DS2_v2.csv"
    _write(df2, p2)
    rep = apply_batches(store, [read_bulk_csv(p2, store)])
    assert (rep.new, rep.changed, rep.vintage) == (0, 1, 3)
    hist = store.history("KEN", "urban_population_pct", 2010)
    assert hist.vintage.tolist() == [1, 3]  # the snapshot's value and the revision, both kept
    assert hist.value.tolist() == [old, pytest.approx(old * 1.02)]
    assert store.counts()["observations"] == before["observations"] + 1  # nothing deleted or rewritten


@pytest.mark.parametrize("stage", ["begin", "flagged", "written"])
def test_exception_mid_load_leaves_the_store_unchanged(store, store_state, wdi_csv, stage):
    path, _, _ = wdi_csv
    before = store_state(store)

    def hook(h):
        if h == stage:
            raise RuntimeError(f"killed at {h}")

    with pytest.raises(RuntimeError, match=stage):
        apply_batches(store, [read_bulk_csv(path, store)], hook=hook)
    assert store_state(store) == before
    # and the store still takes the load afterwards
    assert apply_batches(store, [read_bulk_csv(path, store)]).vintage == 2


def test_duplicate_keys_in_one_load_are_refused(store, store_state):
    before = store_state(store)
    dup = pd.DataFrame({"unit": ["KAZ", "KAZ"], "indicator": ["egdi", "egdi"], "year": [2031, 2031],
                        "value": [0.5, 0.6]})
    with pytest.raises(DataError, match="2 rows for KAZ egdi 2031"):
        with store.transaction():
            store.add_observations(dup, kind="import", origin_id="test")
    assert store_state(store) == before
    # apply_batches: identical duplicates collapse, different ones are refused (categorical keys too)
    cat = dup.astype({"unit": "category", "indicator": "category"})
    b = Batch("test", cat, {"origin_id": "t:1", "publisher": "test"})
    from digimeter.errors import SourceError

    with pytest.raises(SourceError, match="two sources give different values"):
        apply_batches(store, [b])
    same = cat.assign(value=0.5)
    rep = apply_batches(store, [Batch("test", same, {"origin_id": "t:1", "publisher": "test"})])
    assert (rep.new, rep.vintage) == (1, 2)


def test_cli_data_update_bulk(wdi_csv, digimeter_home):
    """`digimeter data update --bulk FILE` applies a WDI bulk CSV as one vintage, with no network."""
    from typer.testing import CliRunner

    from digimeter.cli import app
    from digimeter.store import open_store

    path, df, wdi = wdi_csv
    runner = CliRunner()
    r = runner.invoke(app, ["data", "update", "--bulk", str(path), "--indicator", wdi["population"], "--dry-run"])
    assert r.exit_code == 0, r.output
    with open_store(read_only=True) as s:
        assert s.counts()["vintages"] == 1                      # a dry run writes nothing
    r = runner.invoke(app, ["data", "update", "--bulk", str(path), "--indicator", wdi["population"]])
    assert r.exit_code == 0, r.output
    with open_store(read_only=True) as s:
        assert s.counts()["vintages"] == 2
        kaz = s.history("KAZ", "population", 2020)
        row = df[(df["Country Code"] == "KAZ") & (df["Indicator Code"] == wdi["population"])]
        assert kaz.value.iloc[-1] == pytest.approx(float(row["2020"].iloc[0]))   # the 5 % revision is in
        assert len(kaz) == 2                                                        # and the old value kept
        new = s.query("SELECT count(*) AS n FROM indicators WHERE code = 'NY.GDP.MKTP.CN.TEST'").n[0]
        assert new == 0                                          # --indicator kept the other series out
    r = runner.invoke(app, ["data", "update", "--bulk", str(path), "--indicator", "NO.SUCH.CODE"])
    assert r.exit_code != 0 and "none of the indicators" in r.output
