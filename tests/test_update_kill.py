"""An update killed with SIGKILL in the middle leaves the store exactly as it was.

A real subprocess runs ``digimeter.sources.update.update`` with the World Bank connector over a large
replayed answer: pages in the API's real record layout (taken from the recorded response in
``fixtures/recorded/worldbank``) whose VALUES ARE SYNTHESISED (a deterministic formula, not World Bank
data) — only the size matters here. The test waits until the process is inside the write transaction,
kills it with SIGKILL, reopens the store and checks that nothing changed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digimeter.store import Store

SCRIPT = r'''
import json, os, sys, time
import httpx
from digimeter.store import Store
from digimeter.sources.http import Fetcher
from digimeter.sources.update import update

rec = json.loads(open(sys.argv[2], "rb").read())[1][0]       # one real record: the layout
store = Store(sys.argv[1])
codes = store.query("SELECT source_code FROM indicators WHERE source = 'World Bank' AND source_code LIKE '%.%' "
                    "ORDER BY 1 LIMIT 12").source_code.tolist()
units = store.query("SELECT code FROM units WHERE kind IN ('country', 'aggregate')").code.tolist()
PER = 5000

def records(code):
    out = []
    for k, u in enumerate(units):
        for y in range(1960, 2025):
            r = dict(rec)
            r.update(indicator={"id": code, "value": code}, countryiso3code=u, date=str(y),
                     value=round(0.5 + ((k * 31 + y) % 97) / 1000, 6))  # SYNTHESISED value
            out.append(r)
    return out

cache = {}
def handler(req):
    code = req.url.path.rsplit("/", 1)[-1]
    recs = cache.setdefault(code, records(code))
    page = int(req.url.params.get("page", 1))
    pages = -(-len(recs) // PER)
    meta = {"page": page, "pages": pages, "per_page": PER, "total": len(recs), "sourceid": "2",
            "lastupdated": "synthetic"}
    return httpx.Response(200, json=[meta, recs[(page - 1) * PER: page * PER]])

stop = os.environ["STOP_AT"]
def hook(stage):
    print(stage, flush=True)
    if stage == stop:
        time.sleep(120)

f = Fetcher(httpx.MockTransport(handler), cache_dir=False)
rep = update(store, ["worldbank"], codes, fetcher=f, threshold=1e9, options={"worldbank": {"per_page": PER}},
             hook=hook)
print("done", rep.vintage, rep.new + rep.changed, flush=True)
'''


def run_and_kill(path: Path, stop_at: str, delay: float) -> list[str]:
    rec = Path(__file__).parent / "fixtures" / "recorded" / "worldbank" / "JPN_USA_NY.GDP.MKTP.CD_2018-2019_page1.json"
    env = {**os.environ, "STOP_AT": stop_at}
    p = subprocess.Popen([sys.executable, "-c", SCRIPT, str(path), str(rec)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    deadline = time.time() + 300  # generous: a loaded CI machine opens the store slowly
    try:
        while time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            seen.append(line.strip())
            if line.strip() == stop_at:
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
                break
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == -signal.SIGKILL, (seen, p.stderr.read())
    return seen


@pytest.mark.parametrize("stop_at,delay", [("written", 0.0),   # every row inserted, COMMIT not reached
                                           ("begin", 0.3)])    # killed while the inserts run
def test_sigkill_mid_update_leaves_store_unchanged(store_path, store_state, stop_at, delay):
    with Store(store_path) as s:
        before = store_state(s)
    seen = run_and_kill(store_path, stop_at, delay)
    assert "fetched" in seen and "committed" not in seen
    with Store(store_path) as s:  # reopen: DuckDB replays/discards its WAL
        assert store_state(s) == before
        assert s.counts()["vintages"] == 1
        assert s.query("SELECT count(*) AS n FROM revisions").n.iloc[0] == 0
        assert s.query("SELECT count(*) AS n FROM observations WHERE vintage > 1").n.iloc[0] == 0
        # still usable: a small update commits normally afterwards
        import pandas as pd

        from digimeter.sources.http import Batch
        from digimeter.sources.update import apply_batches

        v = float(s.observations("population", "KAZ", 2020).value.iloc[0])
        obs = pd.DataFrame([("KAZ", "population", 2020, v * 1.01, None)],
                           columns=["unit", "indicator", "year", "value", "note"])
        rep = apply_batches(s, [Batch("test", obs, {"origin_id": "test:after-kill", "publisher": "test"})])
        assert rep.vintage == 2 and rep.changed == 1
