"""A country other than Kazakhstan, added through `digimeter data import` alone: the United Kingdom's 12
NUTS 1 regions (real ONS figures and boundaries, see tests/data/regions/gbr/README.md), then `regions`,
`divide`, the map, the report's regions section and the dashboard's regions page for it; the same
without population (unweighted, and said so); boundary files that lack a region, or come as GISCO
publishes them (NUTS_ID, several countries)."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digimeter.cli import app

GBR = Path(__file__).parent / "data" / "regions" / "gbr"
runner = CliRunner()


def _cli(*args: str, ok: bool = True):
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no RuntimeWarning (empty means, NaN weights) anywhere
        r = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    if ok:
        assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output and "Warning" not in r.output
    return r


def _import_uk(population: bool = True) -> list[str]:
    out = [_cli("data", "import", GBR / "gbr_regions.csv", "--publisher", "Office for National Statistics").stdout,
           _cli("data", "import", GBR / "gbr_internet_use.csv", "--publisher", "Office for National Statistics",
                "--licence", "OGL-UK-3.0").stdout]
    if population:
        out.append(_cli("data", "import", GBR / "gbr_population.csv", "--publisher", "Office for National Statistics").stdout)
    out.append(_cli("data", "import", GBR / "gbr_nuts1_2018.geojson", "--id-property", "nuts118cd",
                    "--layout", "uk-nuts1", "--licence", "OGL-UK-3.0").stdout)
    return out


@pytest.fixture(scope="module")
def uk(tmp_path_factory, template_store_path):
    """A home with the UK example imported through the CLI (units, internet use, population, boundaries)."""
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("uk_home")
    shutil.copyfile(template_store_path, home / "digimeter.duckdb")
    mp.setenv("DIGIMETER_HOME", str(home))
    msgs = _import_uk()
    yield home, msgs
    mp.undo()


@pytest.fixture
def uk_home(uk, monkeypatch):
    monkeypatch.setenv("DIGIMETER_HOME", str(uk[0]))
    return uk[0]


def test_import_messages_say_what_happened(uk):
    units, values, pop, bounds = uk[1]
    assert "12 new units: UKC, UKD, UKE, UKF, UKG, UKH, UKI, UKJ, UKK, UKL, UKM, UKN; recorded as vintage" in units
    assert "105 new values" in values and "1 new indicator: internet_users_adults_pct" in values
    assert "12 new values" in pop
    assert ("imported boundaries of GBR, layout 'uk-nuts1': 12 of 12 regions have a shape (codes from 'nuts118cd')"
            in " ".join(bounds.split()))


def test_regions_of_the_uk(uk_home, tmp_path):
    d = json.loads(_cli("regions", "GBR", "-f", "json", "--geojson", tmp_path / "uk.geojson").stdout)
    # default subject: the regional indicator the store has, best covered first
    assert d["subject"] == "internet_users_adults_pct" and d["year"] == 2020 and d["layout"] == "uk-nuts1"
    r = {x["unit"]: x for x in d["regions"]}
    assert len(r) == 12 and r["UKI"]["value"] == 94.9 and r["UKI"]["rank"] == 1
    assert r["UKN"]["value"] == 88.0 and r["UKN"]["rank"] == 12 and r["UKC"]["population"] == 2669941
    m = d["measures"]
    assert m["weights"] == "population" and m["national"] == 92.1
    assert m["regional_mean"] == pytest.approx(92.0627, abs=1e-4)     # ONS publishes 92.1 for the UK
    assert m["threshold"] == 92.1 and m["threshold_source"] == "national"
    assert m["people_below"] == 36793915 and m["regions_below"] == 8
    # the map: every region a shape with its value
    fc = json.loads((tmp_path / "uk.geojson").read_text())
    vals = {f["properties"]["unit"]: f["properties"]["value"] for f in fc["features"]}
    assert len(vals) == 12 and vals["UKI"] == 94.9 and vals["UKN"] == 88.0
    # 2017: population is only published for 2019 here, and still weights the earlier year
    m17 = json.loads(_cli("regions", "GBR", "-y", "2017", "-f", "json").stdout)["measures"]
    assert m17["weights"] == "population" and m17["national"] == 88.9
    assert m17["regional_mean"] == pytest.approx(88.8705, abs=1e-4)
    out = _cli("regions", "GBR").stdout
    assert "92.06 vs 92.10" in out and "population-weighted" in out and "threshold: the national figure" in out


def test_divide_of_the_uk(uk_home):
    d = json.loads(_cli("divide", "GBR", "internet_users_adults_pct", "-f", "json").stdout)
    by = {r["year"]: r for r in d["by_year"]}
    assert sorted(by) == list(range(2013, 2021)) and all(r["n"] == 12 for r in by.values())
    assert all(r["weights"] == "population" for r in by.values())
    assert by[2013]["national"] == 83.3 and by[2013]["threshold"] == 83.3   # each year's own national figure
    assert by[2020]["worst"] == "UKN" and by[2020]["gap"] == pytest.approx(6.9)
    assert d["sigma_trend"]["converging"] and d["weights"] == "population"
    out = _cli("divide", "GBR", "internet_users_adults_pct").stdout
    assert "spread shrinking" in out and "the national figure of each year" in out


def test_report_regions_section_for_the_uk(uk_home):
    from digimeter.report import make_report

    rep = make_report("GBR", sections=["regions"])
    sec = rep.section("regions")
    assert sec.available and {"map", "bars", "divide"} <= set(sec.charts)
    assert sec.key_numbers["regions.indicator"] == "internet_users_adults_pct" and sec.key_numbers["regions.n"] == 12
    text = " ".join(sec.paragraphs)
    assert "88.0 in Northern Ireland to 94.9 in London" in text and "(the national figure)" in text
    assert rep.meta["regional"] == "internet_users_adults_pct"


def test_dashboard_regions_page_for_the_uk(uk_home):
    from fastapi.testclient import TestClient

    from digimeter.web.app import create_app

    c = TestClient(create_app())
    d = c.get("/api/regions/GBR").json()
    assert d["regional"] == "internet_users_adults_pct"
    assert d["regional_choices"][0] == {"code": "internet_users_adults_pct",
                                        "name": "Adults who used the internet in the last three months",
                                        "regions": 12, "latest_year": 2020}
    assert d["sections"][0]["available"] and "map" in d["sections"][0]["charts"]
    html = c.get("/regions/GBR").text
    assert 'id="regional"' in html and "Northern Ireland" in html
    bad = c.get("/api/regions/GBR", params={"regional": "../../etc/passwd"})
    assert bad.status_code == 404 and bad.json()["errors"][0]["field"] == "regional"


def test_dashboard_regions_page_in_chromium(uk_home, tmp_path):
    """The regions page of the UK in headless Chromium: no console errors, the map drawn."""
    import socket
    import threading
    import time

    import uvicorn

    from test_browser import ARTIFACTS, DOM_PROBE, Browser
    from test_report import assert_not_blank

    from digimeter.web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    b = Browser(tmp_path)
    try:
        problems = b.load(f"http://127.0.0.1:{port}/regions/GBR?lang=en")
        png = b.screenshot(ARTIFACTS / "dashboard-regions-GBR.png")
        dom = b.evaluate(DOM_PROBE)
    finally:
        b.close()
        server.should_exit = True
        th.join(timeout=10)
    assert not problems["console"], problems["console"]
    assert not problems["failed"], problems["failed"]
    assert_not_blank(png)
    assert dom["map"] >= 12, "the UK map has fewer shapes than regions"
    assert len(dom["charts"]) >= 3


def test_without_population_measures_are_unweighted_and_say_so(digimeter_home):
    _import_uk(population=False)
    d = json.loads(_cli("regions", "GBR", "-f", "json").stdout)
    m = d["measures"]
    assert m["n"] == 12 and m["weights"] == "none" and m["weights_label"] == "unweighted"
    assert m["regional_mean"] == pytest.approx(91.3833, abs=1e-4)   # the plain mean of the 12 regions
    assert m["people_below"] is None and m["regions_below"] == 8 and m["best"] == "UKI"
    out = _cli("regions", "GBR").stdout
    assert "Gini (unweighted)" in out and "regions below 92.1 %" in out and "8 of 12" in out
    tr = json.loads(_cli("divide", "GBR", "internet_users_adults_pct", "-f", "json").stdout)
    assert tr["weights"] == "none" and len(tr["by_year"]) == 8 and tr["by_year"][-1]["regions_below"] == 8
    assert "regions below" in _cli("divide", "GBR", "internet_users_adults_pct").stdout
    from digimeter.report import make_report

    sec = make_report("GBR", sections=["regions"]).section("regions")
    assert sec.available and "unweighted" in " ".join(sec.paragraphs)


def test_crosswalk_population_is_the_fallback(digimeter_home, tmp_path):
    """No population in the store, but a crosswalk with atom_population: the weights come from it."""
    _import_uk(population=False)
    pop = {r.split(",")[0]: r.split(",")[3] for r in (GBR / "gbr_population.csv").read_text().split()[1:]}
    cw = tmp_path / "uk_crosswalk.csv"
    cw.write_text("layout,unit,atom,year,atom_population\n" +
                  "".join(f"uk-nuts1,{u},{u},2019,{p}\n" for u, p in pop.items()))
    assert "imported crosswalk 'uk'" in _cli("data", "import", cw).stdout
    m = json.loads(_cli("regions", "GBR", "-f", "json").stdout)["measures"]
    assert m["weights"] == "crosswalk" and m["regional_mean"] == pytest.approx(92.0627, abs=1e-4)


def _fingerprint(home: Path) -> dict[str, str]:
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(home.rglob("*")) if p.is_file()}


def test_boundaries_lacking_a_region_are_refused_and_nothing_changes(uk_home, tmp_path):
    gj = json.loads((GBR / "gbr_nuts1_2018.geojson").read_text())
    gj["features"] = [f for f in gj["features"] if f["properties"]["nuts118cd"] != "UKN"]
    p = tmp_path / "uk-nuts1.geojson"
    p.write_text(json.dumps(gj))
    before = _fingerprint(uk_home)
    r = _cli("data", "import", p, "--id-property", "nuts118cd", "--layout", "uk-nuts1", ok=False)
    assert r.exit_code == 1
    flat = " ".join(r.output.split())
    assert "1 region(s) of GBR (layout 'uk-nuts1') have no shape: UKN (Northern Ireland)" in flat and "--partial" in flat
    assert _fingerprint(uk_home) == before   # the store and the boundary files, byte for byte


def test_partial_boundaries_on_purpose(digimeter_home, tmp_path):
    _import_uk(population=False)
    gj = json.loads((GBR / "gbr_nuts1_2018.geojson").read_text())
    gj["features"] = [f for f in gj["features"] if f["properties"]["nuts118cd"] != "UKN"]
    p = tmp_path / "uk_part.geojson"
    p.write_text(json.dumps(gj))
    out = " ".join(_cli("data", "import", p, "--id-property", "nuts118cd", "--layout", "uk-nuts1",
                        "--partial").stdout.split())
    assert "replaced boundaries of GBR, layout 'uk-nuts1': 11 of 12 regions have a shape" in out
    assert "no shape (--partial): UKN" in out


def _gisco(features: list[dict]) -> dict:
    """GISCO's form of a NUTS file: NUTS_ID, CNTR_CODE, LEVL_CODE, NAME_LATN, several levels and countries."""
    return {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
            "features": features}


def _uk_gisco_features() -> list[dict]:
    gj = json.loads((GBR / "gbr_nuts1_2018.geojson").read_text())
    out = [{"type": "Feature", "id": f["properties"]["nuts118cd"], "geometry": f["geometry"],
            "properties": {"NUTS_ID": f["properties"]["nuts118cd"], "LEVL_CODE": 1, "CNTR_CODE": "UK",
                           "NAME_LATN": f["properties"]["nuts118nm"]}} for f in gj["features"]]
    # the country itself (level 0) as GISCO ships it next to its regions: not a region, skipped
    out.append({"type": "Feature", "id": "UK", "geometry": gj["features"][6]["geometry"],
                "properties": {"NUTS_ID": "UK", "LEVL_CODE": 0, "CNTR_CODE": "UK", "NAME_LATN": "United Kingdom"}})
    return out


def test_gisco_nuts_file_imports_without_editing(digimeter_home, tmp_path):
    _import_uk(population=False)
    p = tmp_path / "NUTS_RG_20M_2016_4326_LEVL_1.geojson"
    p.write_text(json.dumps(_gisco(_uk_gisco_features())))
    out = " ".join(_cli("data", "import", p).stdout.split())
    assert "12 of 12 regions have a shape (codes from 'NUTS_ID')" in out and "1 feature(s) skipped" in out


def test_multi_country_file_takes_the_named_country(uk_home, tmp_path):
    from digimeter.geography import load_geojson

    kz = [{"type": "Feature", "geometry": f["geometry"],
           "properties": {"NUTS_ID": f["properties"]["unit"], "LEVL_CODE": 1, "CNTR_CODE": "KZ"}}
          for f in load_geojson("kz20")["features"]]
    p = tmp_path / "two_countries.geojson"
    p.write_text(json.dumps(_gisco(_uk_gisco_features() + kz)))
    r = _cli("data", "import", p, "--layout", "uk-nuts1", ok=False)
    assert r.exit_code == 1 and "several countries (GBR, KAZ)" in r.output and "--country" in r.output
    out = " ".join(_cli("data", "import", p, "--country", "GBR", "--layout", "uk-nuts1").stdout.split())
    assert "12 of 12 regions have a shape (codes from 'NUTS_ID')" in out
    assert "21 feature(s) skipped, not regions of GBR" in out
    fc = json.loads((uk_home / "geo" / "uk-nuts1.geojson").read_text())
    assert sorted(f["properties"]["unit"] for f in fc["features"])[0] == "UKC" and len(fc["features"]) == 12


def test_very_large_boundaries_are_simplified_and_the_original_kept(digimeter_home, monkeypatch):
    from digimeter.sources import geo

    _import_uk(population=False)
    monkeypatch.setattr(geo, "SIMPLIFY_ABOVE", 2000)
    monkeypatch.setattr(geo, "SIMPLIFY_TARGET", 1500)
    out = " ".join(_cli("data", "import", GBR / "gbr_nuts1_2018.geojson", "--id-property", "nuts118cd").stdout.split())
    assert "simplified for the web (4,825 ->" in out and "original kept at" in out
    web = json.loads((digimeter_home / "geo" / "gbr_nuts1_2018.geojson").read_text())
    orig = json.loads((digimeter_home / "geo" / "gbr_nuts1_2018.original.geojson").read_text())
    assert geo.count_points(web) <= 1500 < geo.count_points(orig) == 4825
    assert len(web["features"]) == 12 and all(f["geometry"]["coordinates"] for f in web["features"])
