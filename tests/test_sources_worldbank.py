"""World Bank connector on recorded real API responses (tests/fixtures/recorded/worldbank, see PROVENANCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
import pytest

from digimeter.errors import SourceError
from digimeter.sources.files import import_file
from digimeter.sources import worldbank
from digimeter.sources.http import Fetcher
from digimeter.sources.update import apply_batches

REC = Path(__file__).parent / "fixtures" / "recorded" / "worldbank"


def body(name: str) -> bytes:
    return (REC / name).read_bytes()


def replay(routes: dict, calls: list | None = None):
    """A transport answering from recorded bodies, keyed by (path suffix, page)."""
    def handler(req: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(str(req.url))
        for (path, page), resp in routes.items():
            if req.url.path.endswith(path) and req.url.params.get("page", "1") == str(page):
                return resp() if callable(resp) else httpx.Response(200, content=resp)
        return httpx.Response(404, content=b"not recorded")
    return httpx.MockTransport(handler)


def fetcher(transport, **kw):
    kw.setdefault("cache_dir", False)
    return Fetcher(transport, sleep=lambda s: None, **kw)


def test_parse_real_page_and_tidy():
    r = worldbank.Response(url="u", content=body("JPN_USA_NY.GDP.MKTP.CD_footnote_page1_of_3.json"), status=200,
                           retrieved="2021-02-23T05:14:34+00:00")
    meta, recs = worldbank.parse_page(r)
    assert meta["pages"] == 3 and meta["total"] == 122 and meta["lastupdated"] == "2021-02-17"
    obs, notes = worldbank.tidy(recs, "NY.GDP.MKTP.CD", "gdp_usd")
    assert len(obs) == 49  # 2020 is null in this recording
    assert "1 empty values skipped" in notes[0]
    row = obs.set_index("year").loc[2019]
    assert row.unit == "JPN" and row.value == pytest.approx(5081769542379.77)


def test_paging_fetches_every_page_and_checks_the_total():
    # real page 1 (JPN 2019, 2018) of a 2-page answer; page 2 is derived: the same record shape for USA
    # with the values replaced by those of page 1 (the recording holds no page 2) -- parsing only
    p1 = body("JPN_USA_NY.GDP.MKTP.CD_2018-2019_page1.json")
    d = json.loads(p1)
    d[0]["page"] = 2
    for rec in d[1]:
        rec["countryiso3code"], rec["country"] = "USA", {"id": "US", "value": "United States"}
    calls: list = []
    f = fetcher(replay({("/NY.GDP.MKTP.CD", 1): p1, ("/NY.GDP.MKTP.CD", 2): json.dumps(d).encode()}, calls))
    responses, meta, records = worldbank.fetch(f, "NY.GDP.MKTP.CD", countries="JPN;USA", per_page=2, date="2018:2019")
    assert len(responses) == 2 and len(records) == 4
    assert [httpx.URL(c).params["page"] for c in calls] == ["1", "2"]


def test_truncated_paging_is_refused():
    # page 1 of a real 264-page answer; page 2 missing from the store of recordings -> 404 -> error
    f = fetcher(replay({("/NY.GDP.MKTP.CD", 1): body("ARB_all_NY.GDP.MKTP.CD_2018-2019_page1_of_264.json")}))
    with pytest.raises(SourceError, match="HTTP 404"):
        worldbank.fetch(f, "NY.GDP.MKTP.CD", per_page=2, date="2018:2019")


def test_api_error_message_names_the_problem():
    f = fetcher(replay({("/INVALID.INDICATOR.ID", 1): body("error_invalid_value.json")}))
    with pytest.raises(SourceError, match="Invalid value: The provided parameter value is not valid"):
        worldbank.fetch(f, "INVALID.INDICATOR.ID")


def test_http_500_is_retried_then_succeeds():
    n = {"k": 0}

    def flaky():
        n["k"] += 1
        if n["k"] < 3:
            return httpx.Response(500, content=b"<html><body>Internal Server Error</body></html>")
        return httpx.Response(200, content=body("JPN_USA_NY.GDP.MKTP.CD_footnote_page1_of_3.json"))
    waits: list = []
    f = Fetcher(replay({("/X", 1): flaky}), cache_dir=False, sleep=waits.append, backoff=0.5)
    r = f.get("https://api.worldbank.org/v2/country/all/indicator/X", {"page": 1})
    assert r.status == 200 and waits == [0.5, 1.0]  # exponential backoff


def test_timeouts_give_up_with_a_clear_error():
    def handler(req):
        raise httpx.ReadTimeout("timed out", request=req)
    f = Fetcher(httpx.MockTransport(handler), cache_dir=False, sleep=lambda s: None, retries=2, timeout=5)
    with pytest.raises(SourceError, match="gave up after 3 attempts; last: timed out after 5 s"):
        f.get("https://api.worldbank.org/v2/country/all/indicator/X")
    assert f.requests == 3


def test_truncated_body_and_changed_schema():
    full = body("JPN_USA_NY.GDP.MKTP.CD_footnote_page1_of_3.json")
    r = worldbank.Response(url="u", content=full[: len(full) // 2], status=200, retrieved="t")
    with pytest.raises(SourceError, match="not valid JSON"):
        worldbank.parse_page(r)
    changed = full.replace(b'"countryiso3code"', b'"iso3"')  # a renamed field (derived from the recording)
    with pytest.raises(SourceError, match="lack field.*countryiso3code"):
        worldbank.parse_page(worldbank.Response(url="u", content=changed, status=200, retrieved="t"))


def test_cache_and_offline(tmp_path):
    f = fetcher(replay({("/NY.GDP.MKTP.CD", 1): body("JPN_USA_NY.GDP.MKTP.CD_footnote_page1_of_3.json")}),
                cache_dir=tmp_path)
    r = f.get("https://api.worldbank.org/v2/country/JPN/indicator/NY.GDP.MKTP.CD", {"page": 1}, publisher="worldbank")
    cached = list((tmp_path / "worldbank").glob("*.body"))
    assert len(cached) == 1 and cached[0].read_bytes() == r.content
    off = Fetcher(cache_dir=tmp_path, offline=True)
    r2 = off.get("https://api.worldbank.org/v2/country/JPN/indicator/NY.GDP.MKTP.CD", {"page": 1}, publisher="worldbank")
    assert r2.from_cache and r2.sha256 == r.sha256
    with pytest.raises(SourceError, match="offline and no cached response"):
        off.get("https://api.worldbank.org/v2/country/JPN/indicator/OTHER", publisher="worldbank")


def test_catalogue_code_maps_and_unknown_code_becomes_new_indicator(store):
    gdp = body("JPN_USA_NY.GDP.MKTP.CD_footnote_page1_of_3.json")
    one_page = json.loads(gdp)
    one_page[0].update(pages=1, total=50)  # derived: page 1 served as the whole answer (no paging)
    pov = body("indicator_1.0.HCount.1.90usd.json")
    routes = {("/NY.GDP.MKTP.CD", 1): json.dumps(one_page).encode(), ("/v2/indicator/1.0.HCount.1.90usd", 1): pov}
    # the unknown code's data: the GDP records relabelled (derived), its metadata: the real recording
    relab = json.loads(json.dumps(one_page).replace("NY.GDP.MKTP.CD", "1.0.HCount.1.90usd"))
    routes[("/country/all/indicator/1.0.HCount.1.90usd", 1)] = json.dumps(relab).encode()
    f = fetcher(replay(routes))
    b_known, b_new = worldbank.connector(f, store, ["NY.GDP.MKTP.CD", "1.0.HCount.1.90usd"])
    assert set(b_known.observations.indicator) == {"gdp_usd"}
    assert b_new.indicators.iloc[0]["name"] == "Poverty Headcount ($1.90 a day)"
    assert b_known.origin["edition"] == "2021-02-17" and b_known.origin["publisher"] == "World Bank"
    rep = apply_batches(store, [b_new], threshold=10)
    assert rep.new_indicators == ["1.0.HCount.1.90usd"] and rep.new == 49
    assert store.indicator("1.0.HCount.1.90usd")["source"] == "World Bank"


def test_an_updated_indicator_has_no_assumed_direction(store, tmp_path):
    """A code the catalogue does not know arrives without a direction: a spec that uses it must give
    one (a clear error otherwise), and an indicators file can fill it in later."""
    from digimeter.build import build
    from digimeter.errors import SpecError
    from digimeter.spec import parse_spec

    gdp = json.loads(body("JPN_USA_NY.GDP.MKTP.CD_footnote_page1_of_3.json"))
    gdp[0].update(pages=1, total=50)
    relab = json.loads(json.dumps(gdp).replace("NY.GDP.MKTP.CD", "1.0.HCount.1.90usd"))
    routes = {("/v2/indicator/1.0.HCount.1.90usd", 1): body("indicator_1.0.HCount.1.90usd.json"),
              ("/country/all/indicator/1.0.HCount.1.90usd", 1): json.dumps(relab).encode()}
    (b,) = worldbank.connector(fetcher(replay(routes)), store, ["1.0.HCount.1.90usd"])
    apply_batches(store, [b], threshold=10)
    code = "1.0.HCount.1.90usd"
    assert store.indicator(code)["higher_is_better"] is None or pd.isna(store.indicator(code)["higher_is_better"])
    year = int(store.observations(indicators=code).year.max())

    def spec(direction=None):
        node = {"code": "pov", "indicator": code}
        if direction is not None:
            node["direction"] = direction
        return parse_spec({"name": "t", "year": year, "year_window": 0,
                           "tree": [{"code": "p", "children": [node, {"code": "gdp", "indicator": "gdp_usd"}]}]})

    with pytest.raises(SpecError, match="which way is better is not known") as e:
        build(spec(), store)
    assert "pov" in str(e.value) and "direction: -1" in " ".join(p.fix or "" for p in e.value.problems)
    lower = build(spec(-1), store)
    # an indicators file fills in what the update left unknown (and only that)
    f = tmp_path / "ind.csv"
    f.write_text(f"code,name,unit,higher_is_better,min_value,max_value\n{code},Poverty Headcount ($1.90 a day),,false,,\n")
    import_file(store, f)
    assert store.indicator(code)["higher_is_better"] == False  # noqa: E712
    filled = build(spec(), store)
    pd.testing.assert_series_equal(filled.score, lower.score)
    f.write_text(f"code,name,unit,higher_is_better,min_value,max_value\n{code},Poverty Headcount ($1.90 a day),,true,,\n")
    with pytest.raises(Exception, match="already exists with a different higher_is_better"):
        import_file(store, f)
