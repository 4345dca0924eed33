"""Browser tests: the report file and every dashboard page (English and Russian; Kazakh for the pages with
the most interface text) in headless Chromium,
driven over the DevTools protocol (CDP).

For each page: no console errors, no uncaught exceptions, no failed requests (network failures or HTTP
status >= 400), every chart of the page's JSON twin is drawn as a non-empty inline SVG with paths (the
map too), and a full-page screenshot is written to ``test-artifacts/`` (or ``$DIGIMETER_ARTIFACTS``)
before anything is asserted, so it is there whether the test passes or fails.

The dashboard is served by uvicorn in a background thread on 127.0.0.1 and a free port; Chromium is the
Debian package (``.ci/run`` installs it), started once per module with ``--remote-debugging-port=0``.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from test_report import SAMPLES, assert_not_blank, shared_report

ARTIFACTS = Path(os.environ.get("DIGIMETER_ARTIFACTS") or Path(__file__).parents[1] / "test-artifacts")
PAGES = ("country", "compare", "regions", "targets", "methods", "upload")
LANGS = ("en", "ru")
#: Kazakh on the pages with the most interface text only (each language costs a report computed here)
KK_PAGES = ("country", "compare", "targets")
#: sample sizes of the reports the dashboard computes itself here (Russian and Kazakh pages): what is drawn, not precision
TINY = {**SAMPLES, "uncertainty": 16, "sensitivity": 8, "targets": 50, "index": 5}
#: pages whose sections must draw charts (the map is on the regions page)
CHARTED = ("country", "compare", "regions", "targets")


# --------------------------------------------------------------------------------------------------
# a minimal synchronous DevTools-protocol client
# --------------------------------------------------------------------------------------------------

def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not exe:
        pytest.fail("chromium is not installed: `make test` installs it as root; otherwise install Debian's chromium (sudo apt-get install chromium)")
    return exe


class Browser:
    """One headless Chromium with one tab; collects console errors, exceptions and failed requests."""

    def __init__(self, workdir: Path, width: int = 1280, height: int = 900):
        import websocket  # websocket-client

        self.profile = tempfile.mkdtemp(prefix="digimeter-chromium-", dir=workdir)
        self.errlog = open(Path(self.profile).parent / "chromium-stderr.txt", "w+b")
        self.proc = subprocess.Popen(
            [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.errlog)
        port = self._devtools_port(timeout=30)
        targets = []
        for _ in range(100):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                targets = [t for t in json.load(r) if t.get("type") == "page"]
            if targets:
                break
            time.sleep(0.1)
        assert targets, "chromium opened no page"
        self.ws = websocket.create_connection(targets[0]["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def _devtools_port(self, timeout: float) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.errlog.seek(0)
            for line in self.errlog.read().decode("utf-8", "replace").splitlines():
                if "DevTools listening on ws://" in line:
                    return int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.errlog.seek(0)
        pytest.fail("chromium did not start its DevTools endpoint: " + self.errlog.read().decode("utf-8", "replace")[-2000:])

    def _recv(self) -> dict:
        return json.loads(self.ws.recv())

    def call(self, method: str, **params) -> dict:
        i = next(self.ids)
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            msg = self._recv()
            if msg.get("id") == i:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        end = time.monotonic() + timeout
        seen = len(self.events)
        for ev in self.events[:seen]:
            if ev["method"] == method:
                return ev
        while time.monotonic() < end:
            self.ws.settimeout(max(0.05, end - time.monotonic()))
            msg = self._recv()
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    self.ws.settimeout(30)
                    return msg
        raise TimeoutError(f"no {method} within {timeout}s")

    def drain(self, seconds: float) -> None:
        """Collect events for a short while (late requests such as the favicon)."""
        import websocket

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.ws.settimeout(max(0.01, end - time.monotonic()))
            try:
                msg = self._recv()
            except websocket.WebSocketTimeoutException:
                break
            if "method" in msg:
                self.events.append(msg)
        self.ws.settimeout(30)

    def load(self, url: str) -> dict:
        """Navigate, wait for the load event; returns problems seen: console errors and failed requests."""
        self.events = []
        self.ws.settimeout(120)          # a dashboard page may compute its report on first request
        nav = self.call("Page.navigate", url=url)
        assert not nav.get("errorText"), f"{url}: {nav.get('errorText')}"
        self.wait_for("Page.loadEventFired", timeout=120)
        self.drain(0.3)
        urls, console, failed = {}, [], []
        for ev in self.events:
            m, p = ev["method"], ev.get("params", {})
            if m == "Network.requestWillBeSent":
                urls[p["requestId"]] = p["request"]["url"]
            elif m == "Network.loadingFailed":
                if not p.get("canceled"):
                    failed.append(f"{urls.get(p['requestId'], '?')}: {p.get('errorText')}")
            elif m == "Network.responseReceived" and p["response"]["status"] >= 400:
                failed.append(f"{p['response']['url']}: HTTP {p['response']['status']}")
            elif m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                console.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                console.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                console.append(f"log: {p['entry'].get('text')} ({p['entry'].get('url', '')})")
        return {"console": console, "failed": failed}

    def evaluate(self, expression: str):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, out: Path, max_height: int = 12000) -> Path:
        m = self.call("Page.getLayoutMetrics")
        size = m.get("cssContentSize") or m["contentSize"]
        clip = {"x": 0, "y": 0, "width": max(1, int(size["width"])), "height": max(1, min(int(size["height"]), max_height)),
                "scale": 1}
        r = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(r["data"]))
        return out

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.errlog.close()
        shutil.rmtree(self.profile, ignore_errors=True)


#: what the page shows: charts drawn as SVG with paths, the map, headings, untranslated fallbacks
DOM_PROBE = r"""(() => {
  const charts = [...document.querySelectorAll('.chart')].map(c => {
    const svg = c.querySelector('svg');
    if (!svg) return {svg: false};
    const box = svg.getBoundingClientRect();
    return {svg: true, paths: svg.querySelectorAll('path').length, texts: svg.querySelectorAll('text').length,
            w: Math.round(box.width), h: Math.round(box.height), label: c.getAttribute('aria-label') || ''};
  });
  const wide = document.documentElement.scrollWidth > window.innerWidth + 2;
  return {charts, title: document.title, lang: document.documentElement.lang,
          h2: [...document.querySelectorAll('h2')].map(h => h.textContent.trim()),
          nav: [...document.querySelectorAll('nav.toc > a')].map(a => a.textContent.trim()),
          map: document.querySelector('#regions .chart svg') ?
               document.querySelector('#regions .chart svg').querySelectorAll('path').length : 0,
          horizontalScroll: wide,
          text: document.body.innerText.length};
})()"""


# --------------------------------------------------------------------------------------------------
# fixtures: the dashboard on loopback, one browser
# --------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def made(tmp_path_factory, template_store_path):
    return shared_report(tmp_path_factory, template_store_path)


@pytest.fixture(scope="module")
def dashboard(made, tmp_path_factory):
    """``(base_url, app)``: the dashboard on 127.0.0.1 and a free port.

    English pages answer from the run's shared report (its charts already drawn); Russian and Kazakh pages are
    computed by the dashboard itself on first request, as for a user."""
    import uvicorn

    from digimeter.web.app import create_app

    rep, written, shared = made
    store = tmp_path_factory.mktemp("dashboard") / "store.duckdb"   # this module's own copy: DuckDB locks its file
    shutil.copyfile(shared, store)
    app = create_app(store, samples=TINY)
    svgs = {p.stem: p.read_text(encoding="utf-8") for p in written["figures"] if p.suffix == ".svg"}
    app.state.service.put(rep, svgs=svgs)
    app.state.service.default_scenario = rep.scenario
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    th.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium"))
    yield b
    b.close()


def _url(base: str, page: str, lang: str) -> str:
    if page in ("methods", "upload"):
        return f"{base}/{page}?lang={lang}"
    return f"{base}/{page}/KAZ?lang={lang}"


# --------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------

def _chart_problems(dom: dict, where: str) -> list[str]:
    out = []
    for c in dom["charts"]:
        if not c["svg"]:
            out.append(f"{where}: a chart without an SVG")
        elif c["paths"] == 0:
            out.append(f"{where}: chart '{c['label']}' has no paths (empty chart)")
        elif c["w"] < 50 or c["h"] < 50:
            out.append(f"{where}: chart '{c['label']}' is drawn {c['w']}x{c['h']}")
    return out


def test_report_file_in_chromium(made, browser):
    rep, written, _ = made
    problems = browser.load(Path(written["html"]).resolve().as_uri())
    png = browser.screenshot(ARTIFACTS / "report.png")
    dom = browser.evaluate(DOM_PROBE)
    assert not problems["console"], problems["console"]
    assert not problems["failed"], problems["failed"]
    assert_not_blank(png)
    expected = sum(len(s.charts) for s in rep.sections)
    assert len(dom["charts"]) == expected >= 5
    assert not _chart_problems(dom, "report")
    assert dom["map"] > 20, "the regions map has too few shapes"   # one path per region, and more
    assert not dom["horizontalScroll"], "the report is wider than the window"


def _check_page(base: str, browser: Browser, page: str, lang: str) -> list[str]:
    """Everything wrong with one dashboard page (its screenshot is saved first)."""
    url = _url(base, page, lang)
    problems = browser.load(url)
    png = browser.screenshot(ARTIFACTS / f"dashboard-{page}-{lang}.png")
    dom = browser.evaluate(DOM_PROBE)
    bad = [f"{url}: console: {m}" for m in problems["console"]]
    bad += [f"{url}: failed request: {m}" for m in problems["failed"]]
    try:
        assert_not_blank(png)
    except AssertionError as exc:
        bad.append(f"{url}: {exc}")
    if dom["lang"] != lang or dom["text"] < 200:
        bad.append(f"{url}: lang={dom['lang']!r}, {dom['text']} characters of text")
    if dom["horizontalScroll"]:
        bad.append(f"{url}: the page is wider than the window")
    if page != "upload":
        with urllib.request.urlopen(url.replace(f"{base}/", f"{base}/api/", 1), timeout=60) as r:
            twin = json.load(r)
        titles = [s["title"] for s in twin["sections"]]
        if dom["h2"][-len(titles):] != titles:
            bad.append(f"{url}: headings {dom['h2']} are not the twin's sections {titles}")
        expected = sum(len(s["charts"]) for s in twin["sections"])
        if len(dom["charts"]) != expected:
            bad.append(f"{url}: {len(dom['charts'])} charts drawn, the JSON twin has {expected}")
    if page in CHARTED and not dom["charts"]:
        bad.append(f"{url}: no charts")
    bad += _chart_problems(dom, url)
    if page == "regions" and dom["map"] <= 20:
        bad.append(f"{url}: the map has {dom['map']} shapes")
    if lang != "en":   # the interface is translated: every menu label is Cyrillic
        latin = [x for x in dom["nav"] if not any("\u0400" <= ch <= "\u04ff" for ch in x)]
        if latin:
            bad.append(f"{url}: untranslated menu labels {latin}")
        latin = [x for x in dom["h2"] if not any("\u0400" <= ch <= "\u04ff" for ch in x)]
        if latin:
            bad.append(f"{url}: untranslated headings {latin}")
    return bad


@pytest.mark.parametrize("lang", LANGS)
def test_dashboard_pages_in_chromium(dashboard, browser, lang):
    """Each page in one test per language (keeps one server and one browser per xdist worker)."""
    base, _ = dashboard
    bad = []
    for page in PAGES:
        bad += _check_page(base, browser, page, lang)
    assert not bad, "\n".join(bad)


def test_dashboard_pages_in_kazakh(dashboard, browser):
    base, _ = dashboard
    bad = []
    for page in KK_PAGES:
        bad += _check_page(base, browser, page, "kk")
    assert not bad, "\n".join(bad)
