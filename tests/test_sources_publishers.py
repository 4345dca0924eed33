"""ITU DataHub, UN e-government, Eurostat and generic SDMX connectors on recorded real responses."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest

from digimeter.errors import SourceError
from digimeter.sources import eurostat, itu, sdmx, unegov
from digimeter.sources.http import Fetcher, Response
from digimeter.sources.update import apply_batches

REC = Path(__file__).parent / "fixtures" / "recorded"


def serve(content: bytes, status: int = 200) -> Fetcher:
    return Fetcher(httpx.MockTransport(lambda req: httpx.Response(status, content=content)), cache_dir=False,
                   sleep=lambda s: None)


def resp(content: bytes) -> Response:
    return Response(url="https://example.org/x", content=content, status=200, retrieved="2025-01-01T00:00:00+00:00")


# --- ITU DataHub ---------------------------------------------------------------------------------
def test_itu_datahub_export_maps_series_to_catalogue(store):
    raw = (REC / "itu" / "datahub_i99H_first20rows.csv").read_bytes()
    (b,) = itu.connector(serve(raw), store, ["internet_users_pct"], url="https://datahub.itu.int/x")
    obs = b.observations.set_index(["unit", "year"])
    assert set(b.observations.indicator) == {"internet_users_pct"}
    assert obs.loc[("ABW", 2017), "value"] == pytest.approx(97.17)
    assert obs.loc[("AFG", 2001), "note"] == "ITU estimate."
    assert b.covers == ["internet_users_pct"]
    b.covers = []  # the fixture holds only the first 20 rows: not a complete answer, so no 'dropped' check
    # the real DataHub values equal the bundled snapshot's (same ITU database): nothing new to store
    rep = apply_batches(store, [b])
    assert rep.unchanged == 20 and rep.new == 0 and rep.vintage is None


def test_itu_zip_json_and_changed_schema():
    raw = (REC / "itu" / "datahub_i99H_first20rows.csv").read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("i99H.csv", raw)
    assert len(itu.parse(resp(buf.getvalue()))) == 20
    df = itu.parse(resp(raw))
    as_json = json.dumps({"data": df.to_dict("records")}).encode()  # same fields as JSON records (derived)
    assert itu.parse(resp(as_json))["entityIso"].iloc[0] == "ABW"
    with pytest.raises(SourceError, match="lacks column.*entityIso"):
        itu.parse(resp(raw.replace(b'"entityIso"', b'"countryIso"', 1)))
    with pytest.raises(SourceError, match="damaged ZIP"):
        itu.parse(resp(buf.getvalue()[:60]))


# --- UN e-government -----------------------------------------------------------------------------
def test_unegov_export_2022_all_193_matched_and_equal_to_snapshot(store):
    raw = (REC / "unegov" / "EGOV_DATA_2022.csv").read_bytes()
    (b,) = unegov.connector(serve(raw), store, [2022])
    assert b.skipped == [] and b.observations.unit.nunique() == 193
    kaz = b.observations.query("unit == 'KAZ' and indicator == 'egdi'").value.iloc[0]
    assert kaz == pytest.approx(store.observations("egdi", "KAZ", 2022).value.iloc[0])
    rep = apply_batches(store, [b])
    assert rep.new == 0 and rep.changed == 0 and rep.flagged == 0


def test_unegov_renamed_headers_2024_and_unknown_layout():
    raw = (REC / "unegov" / "EGOV_DATA_2024.csv").read_bytes()  # real file with renamed columns
    df = unegov.parse(resp(raw))
    assert {"E-Government Index", "Country Name", "Online Service Index"} <= set(df.columns)
    with pytest.raises(SourceError, match="lacks column.*E-Government Index"):
        unegov.parse(resp(raw.replace(b"E_Index", b"EGDI_2024", 1)))


# --- Eurostat ------------------------------------------------------------------------------------
def test_eurostat_jsonstat_v1_real_response(store):
    raw = (REC / "eurostat" / "jsonstat_v1_nama_gdp_c_FR_IT.json").read_bytes()
    (b,) = eurostat.connector(serve(raw), store, ["nama_gdp_c"], filters={})
    obs = b.observations.set_index(["unit", "year"]).value
    assert obs[("FRA", 2013)] == 31300 and obs[("ITA", 2013)] == 25600 and obs[("FRA", 1974)] == 4500
    assert ("FRA", 2014) not in obs.index  # ":" not available in the answer
    assert len(b.observations) == 40 + 24
    assert b.indicators.iloc[0].code == "nama_gdp_c.eur_hab.b1gm"
    assert b.indicators.iloc[0].unit == "Euro per inhabitant"


def test_eurostat_nuts_regions_become_region_units(store):
    # derived in the test: the real v1 answer with geo FR -> FR1 and IT -> ITC4 (NUTS codes)
    d = json.loads((REC / "eurostat" / "jsonstat_v1_nama_gdp_c_FR_IT.json").read_bytes())
    geo = d["nama_gdp_c"]["dimension"]["geo"]["category"]
    geo["index"] = {"FR1": 0, "ITC4": 1}
    geo["label"] = {"FR1": "Ile-de-France", "ITC4": "Lombardia"}
    (b,) = eurostat.connector(serve(json.dumps(d).encode()), store, ["nama_gdp_c"], filters={},
                              indicator="gdp_pc_eur_nuts")
    assert set(b.units.code) == {"FR1", "ITC4"} and dict(zip(b.units.code, b.units.parent)) == {"FR1": "FRA", "ITC4": "ITA"}
    assert set(b.units.kind) == {"region"}
    b.indicators["code"] = "gdp_pc_eur_nuts"
    rep = apply_batches(store, [b])
    assert rep.new_units == ["FR1", "ITC4"] and rep.new == 64
    assert store.unit("ITC4")["parent"] == "ITA"


def test_eurostat_jsonstat2_real_monthly_answer_is_refused_with_fix(store):
    raw = (REC / "eurostat" / "jsonstat2_une_rt_m_DE_last3.json").read_bytes()
    code, ds, df = eurostat.parse(resp(raw))
    assert code == "UNE_RT_M" and len(df) == 2 and list(df.value) == [4.0, 4.0]
    with pytest.raises(SourceError, match="not a year.*freq=A"):
        eurostat.connector(serve(raw), store, ["une_rt_m"], filters={})


def test_eurostat_error_and_truncated():
    with pytest.raises(SourceError, match="Eurostat answered with an error"):
        eurostat.parse(resp(b'{"error": {"status": 404, "label": "Dataset not found"}}'))
    raw = (REC / "eurostat" / "jsonstat_v1_nama_gdp_c_FR_IT.json").read_bytes()
    with pytest.raises(SourceError, match="not valid JSON"):
        eurostat.parse(resp(raw[:2000]))


# --- generic SDMX --------------------------------------------------------------------------------
def test_sdmx_generic_xml_real_eurostat_answer(store):
    raw = (REC / "sdmx" / "estat_cdh_e_fos_first7series.xml").read_bytes()
    (b,) = sdmx.connector(serve(raw), store, ["https://ec.europa.eu/eurostat/SDMX/x"], publisher="Eurostat")
    obs = b.observations.set_index(["unit", "year"]).value
    assert obs[("DEU", 2006)] == 36.65 and obs[("DNK", 2009)] == 23.71 and ("AUT", 2006) not in obs.index
    assert set(b.observations.indicator) == {"cdh_e_fos.pc.total.fos1"}
    assert b.observations.set_index("unit").loc["EST", "note"] == "OBS_FLAG=u"


def test_sdmx_truncated_xml_and_csv():
    raw = (REC / "sdmx" / "estat_cdh_e_fos_first7series.xml").read_bytes()
    with pytest.raises(SourceError, match="not well-formed XML"):
        sdmx.parse(resp(raw[:3000]))
    csv = b"DATAFLOW,FREQ,UNIT,GEO,TIME_PERIOD,OBS_VALUE\nESTAT:X(1.0),A,PC,DK,2009,23.71\nESTAT:X(1.0),A,PC,EU27_2020,2009,1\n"
    flow, df = sdmx.parse(resp(csv))
    obs, notes = sdmx.tidy(flow, df, {"DK": "DNK"})
    assert obs.to_dict("records")[0] | {} == {"unit": "DNK", "indicator": "x.pc", "year": 2009, "value": 23.71,
                                              "note": None}
