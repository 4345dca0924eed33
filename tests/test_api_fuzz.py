"""The JSON API: every operation of the OpenAPI schema is exercised (checked against the schema itself),
bad uploads of every kind answer with the one error shape and a helpful message, and the whole API is
fuzzed from its OpenAPI schema with schemathesis (in-process ASGI, no network) with no server error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from test_report import SAMPLES, shared_report

SPEC = Path(__file__).parents[1] / "src/digimeter/data/specs/egdi.yaml"
ERROR_KEYS = {"ok", "error", "errors", "status"}


@pytest.fixture(scope="module")
def app(tmp_path_factory, template_store_path):
    from digimeter.web.app import create_app

    rep, written, shared = shared_report(tmp_path_factory, template_store_path)
    store = tmp_path_factory.mktemp("api") / "store.duckdb"     # this module's own copy: DuckDB locks its file
    shutil.copyfile(shared, store)
    a = create_app(store, samples=SAMPLES, spec_limit=64 * 1024, data_limit=256 * 1024)
    svgs = {p.stem: p.read_text(encoding="utf-8") for p in written["figures"] if p.suffix == ".svg"}
    a.state.service.put(rep, svgs=svgs)          # KAZ in English answers from the run's shared report
    a.state.service.default_scenario = rep.scenario
    return a


@pytest.fixture(scope="module")
def client(app):
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False)


def _call(client, method: str, url: str, **kw):
    return client.request(method, url, **kw)


def error_of(r, status: int) -> dict:
    """The body of an error answer, checked to have the one error shape and a helpful message."""
    body = r.json()
    assert r.status_code == status, body
    assert set(body) == ERROR_KEYS, body
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and len(body["error"]) >= 8, body
    assert isinstance(body["errors"], list)
    assert body["errors"], f"no details: {body}"
    e = body["errors"][0]
    assert e.get("message") and (e.get("fix") or e.get("field")), f"an error must say what to fix: {body}"
    return body


def _up(client, name, data, url="/api/upload/spec", **form):
    return _call(client, "POST", url, files={"file": (name, data, "application/octet-stream")}, data=form)


# --------------------------------------------------------------------------------------------------
# every operation of the schema
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["country", "compare", "regions", "targets"])
def test_page_twins(client, page):
    r = _call(client, "GET", f"/api/{page}/KAZ")
    j = r.json()
    assert r.status_code == 200 and j["ok"] is True and j["page"] == page and j["unit"] == "KAZ"
    assert j["unit_name"] == "Kazakhstan" and j["sections"]
    assert all(s["title"] and s["available"] for s in j["sections"])
    b = error_of(_call(client, "GET", f"/api/{page}/XXX"), 404)            # unknown country
    assert "XXX" in b["error"] or "XXX" in str(b["errors"])
    b = error_of(_call(client, "GET", f"/api/{page}/KAZ?lang=fr"), 404)    # unknown language
    assert "en" in b["errors"][0]["fix"]
    b = error_of(_call(client, "GET", f"/api/{page}/KAZ?spec=../../etc/passwd"), 404)   # names only
    assert "digital-nation" in b["errors"][0]["fix"]


def test_methods_and_health(client):
    j = _call(client, "GET", "/api/methods").json()
    assert j["ok"] and j["page"] == "methods" and j["sections"][0]["tables"]["sources"]["rows"]
    error_of(_call(client, "GET", "/api/methods?spec=/etc/passwd"), 404)
    h = _call(client, "GET", "/api/health").json()
    assert h["ok"] is True and "headline" in h["sections"] and h["version"]


def test_upload_spec_rebuilds(client):
    j = _up(client, "my-egdi.yaml", SPEC.read_bytes(), unit="KAZ").json()
    assert j["ok"] is True and j["spec"] and j["unit"] == "KAZ" and j["unit_rank"] == 24 and j["n_ranked"] == 193
    assert any(row.get("unit") == "KAZ" for row in j["table"])


def test_upload_data_rebuilds(client):
    csv = b"unit,indicator,year,value\nKAZ,internet_users_pct,2025,99.5\n"
    j = _up(client, "mine.csv", csv, url="/api/upload/data", spec="digital-nation").json()
    assert j["ok"] is True and j["spec"] == "digital-nation" and "1 new" in j["import_report"]


# --------------------------------------------------------------------------------------------------
# bad uploads: one error shape, a helpful message
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url,ok_name", [("/api/upload/spec", "s.yaml"), ("/api/upload/data", "d.csv")])
def test_wrong_type(client, url, ok_name):
    for name in ("spec.exe", "notes.txt", "data.json", "archive.yaml.zip", "noextension"):
        b = error_of(_up(client, name, b"MZ\x90\x00", url=url), 400)
        assert b["errors"][0]["field"] == "filename" and "file" in b["error"]
        assert Path(ok_name).suffix in b["errors"][0]["fix"], b


@pytest.mark.parametrize("url,name,limit_kb", [("/api/upload/spec", "big.yaml", 64),
                                               ("/api/upload/data", "big.csv", 256)])
def test_too_large(client, url, name, limit_kb):
    b = error_of(_up(client, name, b"#" * (limit_kb * 1024 + 1), url=url), 413)
    assert "too large" in b["error"] and f"{limit_kb} KB" in b["errors"][0]["fix"]
    r = _up(client, name, b"", url=url)          # and the other end: an empty file
    assert "empty" in error_of(r, 400)["error"]


@pytest.mark.parametrize("name", ["../../etc/passwd.yaml", "..\\..\\boot.ini.yaml", "/etc/passwd.yaml",
                                  "a/../../b.yaml", "..yaml", "x\x00.yaml", ".hidden.yaml", "~/.bashrc.yaml"])
def test_path_traversal_names(client, name):
    b = error_of(_up(client, name, b"name: x\n"), 400)
    assert b["errors"][0]["field"] == "filename" and "no folders" in b["errors"][0]["fix"], b
    csv_name = name.replace(".yaml", ".csv")
    b = error_of(_up(client, csv_name, b"unit,indicator,year,value\n", url="/api/upload/data"), 400)
    assert b["errors"][0]["field"] == "filename"


def test_malformed_yaml(client):
    b = error_of(_up(client, "bad.yaml", b"name: x\nindicators:\n  - [unclosed\n"), 400)
    assert "not valid YAML" in b["error"] and b["errors"][0]["row"] >= 2
    assert "indentation" in b["errors"][0]["fix"]
    b = error_of(_up(client, "tab.yaml", b"name: x\n\tpillars: []\n"), 400)
    assert "YAML" in b["error"]
    error_of(_up(client, "latin1.yaml", "name: caf\u00e9".encode("latin-1")), 400)       # not UTF-8
    b = error_of(_up(client, "code.yaml", b"!!python/object/apply:os.system ['echo pwned']"), 400)
    assert "YAML" in b["error"]                                                         # never executed
    for doc in (b"- just\n- a list\n", b"42\n", b"name: only-a-name\n"):                # valid YAML, no spec
        error_of(_up(client, "shape.yaml", doc), 400)


def test_unknown_indicator(client):
    spec = SPEC.read_bytes()
    assert b"indicator: hci" in spec
    b = error_of(_up(client, "e.yaml", spec.replace(b"indicator: hci", b"indicator: hcii")), 400)
    assert "hcii" in str(b) and b["errors"][0]["fix"] == "did you mean hci?"
    b = error_of(_up(client, "mine.csv", b"unit,indicator,year,value\nKAZ,no_such_thing,2025,1\n",
                     url="/api/upload/data"), 400)
    assert "no_such_thing" in str(b)


def test_bad_data_files(client):
    b = error_of(_up(client, "cols.csv", b"country,what\nKAZ,1\n", url="/api/upload/data"), 400)
    assert b["errors"]
    error_of(_up(client, "fake.xlsx", b"not a zip at all", url="/api/upload/data"), 400)
    b = error_of(_up(client, "ok.csv", b"unit,indicator,year,value\nKAZ,internet_users_pct,2025,1\n",
                     url="/api/upload/data", spec="../../x"), 404)
    assert "digital-nation" in b["errors"][0]["fix"]


def test_missing_parts_and_methods(client):
    b = error_of(_call(client, "POST", "/api/upload/spec"), 422)
    assert any("file" in e["field"] for e in b["errors"])
    b = error_of(_call(client, "POST", "/api/upload/data", data={"spec": "egdi"}), 422)
    b = error_of(client.get("/api/upload/spec"), 405)
    assert b["errors"][0]["fix"] == "use POST"
    b = error_of(client.get("/api/no-such-thing"), 404)
    assert "/api/no-such-thing" in b["error"] and "/docs" in b["errors"][0]["fix"]


#: a good call of every operation of the schema (the tests above also call each one with bad input)
GOOD_CALLS = {
    ("GET", "/api/country/{unit}"): dict(url="/api/country/KAZ"),
    ("GET", "/api/compare/{unit}"): dict(url="/api/compare/KAZ"),
    ("GET", "/api/regions/{unit}"): dict(url="/api/regions/KAZ"),
    ("GET", "/api/targets/{unit}"): dict(url="/api/targets/KAZ"),
    ("GET", "/api/methods"): dict(url="/api/methods?lang=en"),
    ("GET", "/api/health"): dict(url="/api/health"),
    ("GET", "/api/whatif/{unit}"): dict(url="/api/whatif/KAZ?coverage_4g=99"),
    ("POST", "/api/whatif/{unit}"): dict(url="/api/whatif/KAZ", json={"changes": {"coverage_4g": 99}}),
    ("POST", "/api/upload/spec"): dict(url="/api/upload/spec", files={"file": ("s.yaml", SPEC.read_bytes())},
                                       data={"unit": "KAZ"}),
    ("POST", "/api/upload/data"): dict(url="/api/upload/data", data={"spec": "egdi", "unit": "KAZ"}, files={
        "file": ("d.csv", b"unit,indicator,year,value\nKAZ,internet_users_pct,2025,99.5\n")}),
}


def test_every_schema_operation_is_exercised(client):
    """Every (method, path) of the OpenAPI schema has a good call here, answering 200 in the schema's shape,
    and documents the error shape; a new operation fails this test until it is added to GOOD_CALLS."""
    schema = client.get("/openapi.json").json()
    ops = {(m.upper(), p) for p, item in schema["paths"].items() for m in item}
    assert ops == set(GOOD_CALLS), f"operations without a test: {sorted(ops - set(GOOD_CALLS))}"
    for (method, path), kw in GOOD_CALLS.items():
        r = client.request(method, **kw)
        assert r.status_code == 200 and r.json()["ok"] is True, (method, path, r.text[:300])
        responses = schema["paths"][path][method.lower()]["responses"]
        if path != "/api/health":
            for code in ("404", "422"):
                ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (method, path, code, ref)


# --------------------------------------------------------------------------------------------------
# property-based fuzzing from the OpenAPI schema
# --------------------------------------------------------------------------------------------------

def _operations(app) -> list:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [r.ok() for r in schema.get_all_operations()]


#: examples per operation and generation mode (positive: what the schema allows; negative: what it forbids)
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
def test_fuzz_no_server_error(app, mode):
    """Requests generated from the OpenAPI schema (in-process ASGI) never get a 5xx; errors keep the one shape.

    One test per generation mode that walks every operation (pytest-xdist keeps it on one worker)."""
    from schemathesis.checks import not_a_server_error

    ops = _operations(app)
    assert len(ops) >= 8
    seen = {}

    for op in ops:
        @given(case=op.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call_and_validate(checks=[not_a_server_error])
            assert response.status_code < 500, (case.as_curl_command(), response.text)
            seen[op.label] = seen.get(op.label, 0) + 1
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == ERROR_KEYS and body["ok"] is False, body
                assert body["status"] == response.status_code and body["error"], body

        try:
            run()
        except Unsatisfiable:
            raw = op.definition.raw
            if mode is GenerationMode.POSITIVE or raw.get("parameters") or raw.get("requestBody"):
                raise
            seen[op.label] = 0          # no input to make invalid (GET /api/health)
    assert set(seen) == {op.label for op in ops}, f"operations never fuzzed: {set(op.label for op in ops) - set(seen)}"
