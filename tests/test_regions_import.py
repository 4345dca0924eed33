"""Another country's regions arrive through `digimeter data import`: units, observations, a crosswalk
and boundaries (tests/data/regions/fixture: a TEST FIXTURE of two re-coded Kazakhstan regions, see its
README; not real data of any country)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digimeter import regions as R
from digimeter.cli import app
from digimeter.errors import DataImportError
from digimeter.sources.files import import_file

FIX = Path(__file__).parent / "data" / "regions" / "fixture"
TRIO = ["zt_units.csv", "zt_observations.csv", "zt_crosswalk.csv", "zt2.geojson"]
runner = CliRunner()


def _import(name: str):
    r = runner.invoke(app, ["data", "import", str(FIX / name), "--publisher", "test fixture"],
                      env={"COLUMNS": "200"})
    return r


def test_regions_of_another_country_arrive_through_data_import(digimeter_home):
    for f in TRIO:
        r = _import(f)
        assert r.exit_code == 0, r.output
    geo = digimeter_home / "geo"
    assert (geo / "zt_crosswalk.csv").is_file() and (geo / "zt2.geojson").is_file()
    from digimeter.store import open_store

    with open_store() as s:
        reg = s.query("SELECT kind, name, country, layout FROM geo_files ORDER BY kind")
        assert reg.values.tolist() == [["boundaries", "zt2", "ZZT", "zt2"], ["crosswalk", "zt", "ZZT", ""]]
        assert s.query("SELECT count(*) AS n FROM origins WHERE origin_id LIKE 'geo:%'").n[0] == 2
        g = R.geography(s, "ZZT")
        assert (g.name, g.origin) == ("zt", "imported")
        # names in another language come with the units file (a name_ru column)
        assert s.unit_names("ru")["ZT-A"] == "Тестовый регион A" and "ZZT" not in s.unit_names("ru")
        assert g.names("zt2", s, "ru")["ZT-B"] == "Тестовый регион B"
        assert g.names("zt2", s, "kk")["ZT-B"] == "Test region B (fixture; re-coded Atyrau)"   # no kk name: English
        assert g.layout_for(2021) == "zt1" and g.layout_for(2023) == "zt2"
        assert g.groups("zt2") == {"ZT-A": "city", "ZT-B": "oblast"}
        # 2021 was published for the merged region only: on today's layout both parts get it, estimated
        obs = R.regional_observations(s, "ZZT", "internet_users_pct", layout="zt2")
        obs = obs[obs.indicator == "internet_users_pct"].set_index(["unit", "year"])
        assert obs.loc[("ZT-A", 2021), "estimated"] and obs.loc[("ZT-A", 2021), "value"] == pytest.approx(94.0097)
        assert obs.loc[("ZT-B", 2023), "value"] == 89.7 and not obs.loc[("ZT-B", 2023), "estimated"]
        pop = R.regional_observations(s, "ZZT", "population", layout="zt2", years=[2021])
        assert pop[pop.indicator == "population"].value.sum() == pytest.approx(1_841_521)  # the crosswalk apportions and conserves it
        fc = R.map_data(s, "ZZT", "internet_users_pct", 2023)
        props = {f["properties"]["unit"]: f["properties"] for f in fc["features"]}
        assert props["ZT-A"]["value"] == 97.4 and props["ZT-B"]["rank"] == 2
    out = runner.invoke(app, ["regions", "ZZT", "-i", "internet_users_pct"], env={"COLUMNS": "200"}).stdout
    assert "97.4" in out and "89.7" in out and "between groups (city / oblast)" in out
    out = runner.invoke(app, ["divide", "ZZT", "internet_users_pct"], env={"COLUMNS": "200"}).stdout
    assert "2021" in out and "sigma-convergence" in out


def test_failed_geo_import_changes_nothing(digimeter_home, store_state):
    from digimeter.store import open_store

    for f in TRIO[:2]:
        assert _import(f).exit_code == 0
    with open_store() as s:
        before = store_state(s)
    r = _import("bad_crosswalk.csv")
    assert r.exit_code == 1
    assert "atom 'ZT-A' belongs to several units" in r.output and "unknown region 'ZT-Q'" in r.output
    with open_store() as s:
        assert store_state(s) == before
    assert not (digimeter_home / "geo").exists() or not any((digimeter_home / "geo").iterdir())


def test_geo_import_is_atomic_when_the_file_cannot_be_placed(store, store_state, monkeypatch, tmp_path):
    monkeypatch.setenv("DIGIMETER_HOME", str(tmp_path / "home"))
    for f in TRIO[:2]:
        import_file(store, FIX / f)
    before = store_state(store)
    real = os.replace

    def boom(src, dst):
        if str(dst).endswith("zt_crosswalk.csv"):
            raise OSError("disk full (simulated)")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        import_file(store, FIX / "zt_crosswalk.csv")
    assert store_state(store) == before
    geo = tmp_path / "home" / "geo"
    assert not any(geo.iterdir())
    monkeypatch.setattr(os, "replace", real)
    rep = import_file(store, FIX / "zt_crosswalk.csv")
    assert rep.kind == "crosswalk" and rep.country == "ZZT" and rep.layouts == ["zt1", "zt2"]
    assert (geo / "zt_crosswalk.csv").is_file()


def test_boundaries_need_known_regions(store, tmp_path, monkeypatch):
    monkeypatch.setenv("DIGIMETER_HOME", str(tmp_path / "home"))
    gj = json.loads((FIX / "zt2.geojson").read_text())
    p = tmp_path / "x.geojson"
    p.write_text(json.dumps(gj))
    with pytest.raises(DataImportError) as e:
        import_file(store, p)  # units not imported yet
    assert "unknown region 'ZT-A'" in str(e.value)
    gj["features"][0]["geometry"] = {"type": "Point", "coordinates": [0, 0]}
    p.write_text(json.dumps(gj))
    with pytest.raises(DataImportError) as e:
        import_file(store, p)
    assert "Polygon or MultiPolygon" in str(e.value)
