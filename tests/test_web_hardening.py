"""The dashboard under hostile uploads: bombs are refused with a 4xx while /api/health keeps answering
fast, bodies over the limit get an early 413, uploads come from this site only, every response carries
security headers, and errors never show a temporary path."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

import badinput

EGDI = Path(__file__).parents[1] / "src/digimeter/data/specs/egdi.yaml"


@pytest.fixture(scope="module")
def server(tmp_path_factory, template_store_path):
    import shutil

    import uvicorn

    from digimeter.web.app import create_app

    store = tmp_path_factory.mktemp("served") / "s.duckdb"
    shutil.copyfile(template_store_path, store)
    app = create_app(store, samples={"mc": 8, "sobol": 8})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    from digimeter.web import worker

    worker.warm_up()      # the fork server is ready before the timing starts
    yield f"http://127.0.0.1:{port}", port
    srv.should_exit = True
    th.join(timeout=10)


def _post(base: str, url: str, name: str, data: bytes, out: dict, key: str, **headers) -> None:
    t0 = time.perf_counter()
    r = httpx.post(base + url, files={"file": (name, data)}, timeout=120, headers=headers)
    out[key] = (r.status_code, r.json() if r.headers.get("content-type", "").startswith("application/json")
                else r.text, time.perf_counter() - t0)


def test_health_stays_fast_while_bombs_are_refused(server):
    base, _ = server
    out: dict = {}
    jobs = [("/api/upload/spec", "alias.yaml", badinput.alias_bomb(), "alias"),
            ("/api/upload/spec", "deep.yaml", badinput.deep_yaml(), "deep"),
            ("/api/upload/data", "bomb.xlsx", badinput.xlsx_bomb(), "xlsx"),
            ("/api/upload/data", "rows.xlsx", badinput.xlsx_bomb(300_000), "rows"),
            ("/api/upload/spec", "egdi.yaml", EGDI.read_bytes(), "valid")]
    threads = [threading.Thread(target=_post, args=(base, u, n, d, out, k)) for u, n, d, k in jobs]
    times = []
    with httpx.Client(timeout=5) as c:
        assert c.get(base + "/api/health").status_code == 200  # the connection is made before the clock runs
        for t in threads:
            t.start()
        for _ in range(10):
            t0 = time.perf_counter()
            r = c.get(base + "/api/health")
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200 and r.json()["ok"] is True
            time.sleep(0.1)
    for t in threads:
        t.join(120)
    assert max(times) < 0.2, times
    for key, says in (("alias", "aliases"), ("deep", "levels deep"), ("xlsx", "unzips to"),
                      ("rows", "more than 250,000 rows")):
        status, body, took = out[key]
        assert 400 <= status < 500 and body["ok"] is False and says in json.dumps(body), (key, body)
        assert took < 30, (key, took)
    status, body, _ = out["valid"]
    assert status == 200 and body["n_ranked"] == 193


def test_body_over_the_limit_gets_an_early_413(server):
    base, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /api/upload/data HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                  b"boundary=x\r\nContent-Length: 104857600\r\n\r\n" + b"x" * 65536)
        t0 = time.perf_counter()
        head = s.recv(65536)
        took = time.perf_counter() - t0
        # the status line is what must come early; the JSON body may follow in another TCP segment
        while b"413" not in head.split(b"\r\n\r\n", 1)[-1] and time.perf_counter() - t0 < 5:
            more = s.recv(65536)
            if not more:
                break
            head += more
    assert head.startswith(b"HTTP/1.1 413") and took < 2
    assert b'"status": 413' in head or b'"status":413' in head

    def chunks():    # no Content-Length: counted while it streams
        for _ in range(200):
            yield b"y" * 65536

    try:
        r = httpx.post(base + "/api/upload/spec", content=chunks(),
                       headers={"content-type": "multipart/form-data; boundary=x"}, timeout=10)
        assert r.status_code == 413
    except httpx.TransportError:
        pass   # the server may close the connection before the client has finished sending; never a 200


def test_uploads_from_another_site_are_refused(server):
    base, _ = server
    out: dict = {}
    _post(base, "/api/upload/spec", "egdi.yaml", EGDI.read_bytes(), out, "x", origin="http://evil.example")
    _post(base, "/upload/spec", "egdi.yaml", EGDI.read_bytes(), out, "y", referer="http://evil.example/upload")
    assert out["x"][0] == 403 and out["x"][1]["ok"] is False and "this site" in out["x"][1]["error"]
    assert out["y"][0] == 403
    host = base.split("//")[1]
    _post(base, "/api/upload/spec", "e.yaml", b"name: [", out, "z", origin=base, referer=base + "/upload")
    assert out["z"][0] == 400 and host   # same origin: parsed (and refused for its YAML)


def test_security_headers_and_pages_render(server):
    base, _ = server
    for path in ("/upload", "/api/health", "/nothing-here"):
        r = httpx.get(base + path)
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        csp = dict((d.strip().split(" ", 1) + [""])[:2] for d in r.headers["content-security-policy"].split(";"))
        assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
        script = csp.get("script-src", "'none'").split()
        assert "'unsafe-inline'" not in script and all(s.startswith("'") for s in script)   # no inline, no hosts
        assert "'unsafe-eval'" not in script     # Vega's expressions run through vega-interpreter
    r = httpx.get(base + "/upload")
    assert r.status_code == 200 and 'enctype="multipart/form-data"' in r.text
    import re

    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text)          # scripts, if any, only from files
    assert "cdn.jsdelivr.net" in httpx.get(base + "/docs").headers["content-security-policy"]


def test_time_budget_memory_cap_and_no_temp_paths(template_store_path, tmp_path):
    import shutil

    from fastapi.testclient import TestClient

    from digimeter.web.app import create_app

    store = tmp_path / "s.duckdb"
    shutil.copyfile(template_store_path, store)
    csv = b"unit,indicator,year,value\nKAZ,internet_users_pct,2025,99.5\n"
    slow = TestClient(create_app(store, upload_seconds=0.05), raise_server_exceptions=False)
    r = slow.post("/api/upload/data", files={"file": ("d.csv", csv)})
    assert r.status_code == 413 and "took longer than 0.05 s" in r.json()["error"]
    small = TestClient(create_app(store, upload_memory=64 * 1024 ** 2), raise_server_exceptions=False)
    r = small.post("/api/upload/data", files={"file": ("d.csv", csv)})
    assert r.status_code == 413 and "memory" in r.json()["error"]
    ok = TestClient(create_app(store), raise_server_exceptions=False)
    r = ok.post("/api/upload/data", files={"file": ("d.csv", csv)})
    assert r.status_code == 200 and r.json()["import_report"].startswith("d.csv (long form")
    assert "/tmp" not in r.text and "digimeter-upload" not in r.text
    r = ok.post("/api/upload/data", files={"file": ("d.csv", b"unit,indicator,year,value\nKAZ,nope,2025,1\n")})
    body = r.text
    assert r.status_code == 400 and "d.csv" in body and "unknown indicator" in body.lower()
    assert "/tmp" not in body and "digimeter-upload" not in body and str(tmp_path) not in body


def test_the_memory_cap_is_on_memory_used_not_on_address_space():
    """A job within the cap runs whatever address space its libraries reserve (thread stacks and allocator
    arenas grow with the machine's cores); a job that touches more than the cap is stopped with a 413."""
    from digimeter.web import worker

    assert worker.run_job(str.ljust, 40, memory=1024 ** 3).startswith("(upload)")   # its temp path is scrubbed
    with pytest.raises(worker.UploadError) as e:
        worker.run_job(str.ljust, 1536 * 1024 ** 2, memory=1024 ** 3)         # a 1.5 GB string
    assert e.value.status == 413 and "more than 1024 MB of memory" in str(e.value)
