"""Interactive charts and the what-if page in real Chromium over CDP (the Browser of test_browser.py).

- The report opened from file:// with the network blocked draws every chart with the bundled vega-embed: no
  console errors, no failed requests.
- Hovering a point of the internet-use fan chart shows a tooltip with its value and its source.
- On the what-if page, setting 4G coverage to 99 raises P(4G target) and changes the rank; the numbers shown
  are the JSON twin's.
Screenshots go to test-artifacts/ before anything is asserted.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from test_browser import ARTIFACTS, Browser, dashboard, made  # noqa: F401  (module fixtures reused)
from test_report import assert_not_blank


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-interactive"))
    yield b
    b.close()


def _wait_drawn(browser: Browser, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if browser.evaluate("document.documentElement.getAttribute('data-charts')") == "drawn":
            return
        time.sleep(0.1)
    raise AssertionError("the charts were not drawn")


def _problems(browser: Browser) -> dict:
    """Console errors and failed requests among the events collected since the last load."""
    console, failed, urls = [], [], {}
    for ev in browser.events:
        m, p = ev["method"], ev.get("params", {})
        if m == "Network.requestWillBeSent":
            urls[p["requestId"]] = p["request"]["url"]
        elif m == "Network.loadingFailed" and not p.get("canceled"):
            failed.append(f"{urls.get(p['requestId'], '?')}: {p.get('errorText')}")
        elif m == "Runtime.exceptionThrown":
            console.append(str(p["exceptionDetails"].get("exception", {}).get("description")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            console.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
            console.append(str(p["entry"].get("text")))
    return {"console": console, "failed": failed}


def test_report_offline_draws_every_chart(made, browser):
    rep, written, _ = made
    browser.call("Network.setBlockedURLs", urls=["http://*", "https://*", "ws://*", "wss://*"])
    try:
        first = browser.load(Path(written["html"]).resolve().as_uri())
        _wait_drawn(browser)
        browser.drain(0.5)
        png = browser.screenshot(ARTIFACTS / "report-interactive.png")
        state = browser.evaluate("""(() => ({
            charts: document.querySelectorAll('.chart').length,
            csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]').content,
            interpreter: typeof window.vegaExpressionInterpreter,
            live: [...document.querySelectorAll('.chart.live')].filter(c => {
                const s = c.querySelector('.vega-chart svg'); if (!s) return false;
                const b = s.getBoundingClientRect(); return b.width > 50 && b.height > 50 &&
                       s.querySelectorAll('path').length > 0; }).length,
            links: document.querySelectorAll('.chart .downloads a').length,
            tables: document.querySelectorAll('main section table').length,
            tableLinks: [...document.querySelectorAll('.table-downloads a')].map(a => a.textContent + ':' +
                        (a.href.startsWith('blob:') ? 'blob' : a.href) + ':' + a.download)}))()""")
    finally:
        browser.call("Network.setBlockedURLs", urls=[])
    problems = _problems(browser)
    assert not first["console"] and not problems["console"], problems["console"]
    assert not first["failed"] and not problems["failed"], problems["failed"]
    assert_not_blank(png)
    expected = sum(len(s.charts) for s in rep.sections)
    assert state["charts"] == expected >= 5
    assert state["live"] == expected, state                       # every chart drawn by vega-embed
    # ... under a policy without 'unsafe-eval': Vega's expressions interpreted, never compiled
    assert "'unsafe-eval'" not in state["csp"] and state["interpreter"] == "object", state
    assert state["links"] == 3 * expected                          # CSV, JSON, Vega-Lite under each chart
    assert state["tables"] > 5 and len(state["tableLinks"]) == 2 * state["tables"]   # CSV and JSON under each table
    assert all(x.split(":")[1] == "blob" for x in state["tableLinks"])
    assert {x.split(":")[0] for x in state["tableLinks"]} == {"CSV", "JSON"}


HOVER = """(() => {
  const el = [...document.querySelectorAll('.chart')].find(c => /fan_internet_use/.test(c.dataset.chart));
  el.scrollIntoView({block: 'center'});
  const pts = [...el.querySelectorAll('.vega-chart svg .mark-symbol path')];
  const p = pts[pts.length - 1];
  const b = p.getBoundingClientRect();
  return {n: pts.length, x: b.left + b.width / 2, y: b.top + b.height / 2, key: el.dataset.chart};
})()"""


def test_fan_chart_tooltip_has_value_and_source(made, browser):
    rep, written, _ = made
    browser.load(Path(written["html"]).resolve().as_uri())
    _wait_drawn(browser)
    at = browser.evaluate(HOVER)
    assert at["n"] > 3, at                                      # the observed points
    time.sleep(0.3)                                             # scrolling settles
    at = browser.evaluate(HOVER)
    for dx in (0, 1, -1, 2):
        browser.call("Input.dispatchMouseEvent", type="mouseMoved", x=at["x"] + dx, y=at["y"])
        time.sleep(0.3)
        tip = browser.evaluate("(() => { const t = document.querySelector('#vg-tooltip-element');"
                               " return t && t.classList.contains('visible') ? t.innerText : ''; })()")
        if tip:
            break
    browser.screenshot(ARTIFACTS / "report-tooltip.png", max_height=4000)
    assert tip, "no tooltip on the last observed point of the internet-use fan chart"
    # the point's own values, from the chart's data: the latest observation of KAZ's internet use
    sec = next(s for s in rep.sections if any(k.endswith("internet_use") and k.startswith("fan_") for k in s.charts))
    key = next(k for k in sec.charts if k.startswith("fan_") and k.endswith("internet_use"))
    spec = sec.charts[key].to_dict()
    rows = []

    def walk(o):
        if isinstance(o, dict):
            vals = (o.get("data") or {}).get("values") if isinstance(o.get("data"), dict) else None
            rows.extend(r for r in (vals or []) if isinstance(r, dict) and "value" in r and "year" in r)
            for d in (o.get("datasets") or {}).values():
                rows.extend(r for r in d if isinstance(r, dict) and "value" in r and "year" in r)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(spec)
    last = max(rows, key=lambda r: r["year"])
    assert f"{last['value']:.1f}" in tip and str(int(last["year"])) in tip, tip
    assert "source" in tip and "International Telecommunication Union" in tip, tip
    assert "unit of measure" in tip and "%" in tip, tip


def test_whatif_page_4g_to_99(dashboard, browser):
    base, _ = dashboard
    problems = browser.load(f"{base}/whatif/KAZ?lang=en")
    assert not problems["console"] and not problems["failed"], problems
    browser.evaluate("document.querySelector('#in-coverage_4g').value = '99'")
    browser.events = []
    browser.evaluate("document.querySelector('#whatif-go').click()")
    browser.wait_for("Page.loadEventFired", timeout=120)
    browser.drain(0.3)
    png = browser.screenshot(ARTIFACTS / "whatif-en.png")
    shown = browser.evaluate("""(() => {
      const v = sel => [...document.querySelectorAll(sel + ' td[data-v]')].map(td => Number(td.dataset.v));
      return {url: location.search, p: v('#target-coverage_4g'), rank: v('#row-rank'), score: v('#row-score'),
              text: document.querySelector('#target-coverage_4g').innerText};
    })()""")
    assert "coverage_4g=99" in shown["url"]                      # the state is in the permalink
    req = urllib.request.Request(f"{base}/api/whatif/KAZ", data=json.dumps({"changes": {"coverage_4g": 99}}).encode(),
                                 headers={"content-type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=120) as r:
        twin = json.load(r)
    t = next(x for x in twin["targets"] if x["target"] == "coverage_4g")
    assert shown["p"] == [pytest.approx(t["p_before"]), pytest.approx(t["p_after"])]
    assert shown["rank"] == [twin["index"]["rank_before"], twin["index"]["rank_after"]]
    assert shown["score"] == [pytest.approx(twin["index"]["score_before"]), pytest.approx(twin["index"]["score_after"])]
    assert t["p_after"] > t["p_before"] and twin["index"]["rank_after"] < twin["index"]["rank_before"]
    assert f"{t['p_after']:.2f}" in shown["text"]
    assert_not_blank(png)
    for lang in ("ru", "kk"):
        browser.load(f"{base}/whatif/KAZ?lang={lang}&coverage_4g=99")
        browser.screenshot(ARTIFACTS / f"whatif-{lang}.png")


def test_map_hover_shows_region_and_value(made, browser):
    rep, written, _ = made
    browser.load(Path(written["html"]).resolve().as_uri())
    _wait_drawn(browser)
    find = """(() => {
      const el = [...document.querySelectorAll('.chart')].find(c => /regions_map/.test(c.dataset.chart));
      el.scrollIntoView({block: 'center'});
      const shapes = [...el.querySelectorAll('.vega-chart svg .mark-shape path')];
      const sizes = shapes.map(p => { const b = p.getBoundingClientRect(); return {x: b.left + b.width / 2,
                                      y: b.top + b.height / 2, a: b.width * b.height}; });
      sizes.sort((a, b) => b.a - a.a);
      return {n: shapes.length, at: sizes.slice(0, 5)};
    })()"""
    browser.evaluate(find)
    time.sleep(0.3)
    got = browser.evaluate(find)
    assert got["n"] > 10, got
    tip = ""
    for at in got["at"]:
        browser.call("Input.dispatchMouseEvent", type="mouseMoved", x=at["x"], y=at["y"])
        time.sleep(0.3)
        tip = browser.evaluate("(() => { const t = document.querySelector('#vg-tooltip-element');"
                               " return t && t.classList.contains('visible') ? t.innerText : ''; })()")
        if tip:
            break
    assert tip, "no tooltip over the map"
    # the region's name and value, as the map's data hold them
    feats = []

    def walk(o):
        if isinstance(o, dict):
            if o.get("type") == "Feature":
                feats.append(o)
                return
            for x in o.values():
                walk(x)
        elif isinstance(o, list):
            for x in o:
                walk(x)

    walk(rep.section("regions").charts["map"].to_dict())
    shown = [f["properties"] for f in feats if f["properties"].get("name") and f["properties"]["name"] in tip]
    assert shown, tip
    v = shown[0].get("value")
    assert v is not None and f"{v:.1f}" in tip, (tip, shown[0])


def test_time_series_zoom_with_the_wheel(made, browser):
    """A chart over years zooms (its x axis changes) when the wheel turns over it: scales bound to an interval."""
    _, written, _ = made
    browser.load(Path(written["html"]).resolve().as_uri())
    _wait_drawn(browser)
    probe = """(() => {
      const el = [...document.querySelectorAll('.chart')].find(c => /fan_internet_use/.test(c.dataset.chart));
      el.scrollIntoView({block: 'center'});
      const svg = el.querySelector('.vega-chart svg');
      const labels = [...svg.querySelectorAll('.role-axis-label text')].map(t => t.textContent);
      const plot = svg.querySelector('.mark-area path').getBoundingClientRect();
      return {labels, x: plot.left + plot.width / 2, y: plot.top + plot.height / 2};
    })()"""
    browser.evaluate(probe)
    time.sleep(0.3)
    before = browser.evaluate(probe)
    for _ in range(5):
        browser.call("Input.dispatchMouseEvent", type="mouseWheel", x=before["x"], y=before["y"], deltaX=0, deltaY=-240)
        time.sleep(0.15)
    time.sleep(0.3)
    after = browser.evaluate(probe)
    assert before["labels"] and after["labels"] != before["labels"], (before["labels"], after["labels"])
