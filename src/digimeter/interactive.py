"""Interactive charts, offline: Vega-Lite specs drawn by vega-embed, with the static SVG as the fallback.

Every chart of the report and the dashboard is emitted as

.. code-block:: html

    <div class="chart" role="img" aria-label="..." data-chart="KEY">
      <div class="vega-chart"></div>                      <!-- vega-embed draws here (SVG renderer) -->
      <div class="static">SVG</div>                        <!-- vl-convert's SVG: no scripts, and for print -->
      <script type="application/json" class="vl-spec">{...}</script>
    </div>

The JavaScript (Vega, Vega-Lite and vega-embed, bundled by vl-convert, and vega-interpreter; every part
BSD-3-Clause or ISC, see ``data/js/NOTICE.md``) ships in the package (``data/js/vega-bundle.js``): the report
inlines it, the dashboard serves it from ``/assets/``; nothing comes from a CDN, and the report opens with the
network off. Vega's expressions run through vega-interpreter (``ast: true``), never through ``Function()``, so
both pages' Content-Security-Policy leaves out ``'unsafe-eval'``. Once a chart
is drawn its ``.chart`` gets the class ``live`` and the static SVG is hidden; without scripts, or when drawing
fails, the static SVG stays, and print always uses it (``@media print``). Every chart gets CSV, JSON and Vega-Lite
links (its data), every table CSV and JSON links (its cells as shown), made in the page (no server needed).

:func:`interactive_spec` adds what a reader needs to explore: tooltips that carry the source and the unit of
measure (the quantitative axis title) next to each mark's own fields (value, year ...), and zoom and pan
(scales bound to an interval selection, as altair's ``.interactive()``) on charts over years.
"""

from __future__ import annotations

import copy
import html
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["interactive_spec", "chart_html", "bundle_js", "EMBED_JS", "CHART_CSS", "report_scripts",
           "chart_source"]

#: draws every chart of the page; leaves the static SVG in place when a chart cannot be drawn
EMBED_JS = r"""(function () {
  "use strict";
  function csv(rows) {
    if (!rows.length) return "";
    var cols = Object.keys(rows[0]);
    var cell = function (v) {
      if (v === null || v === undefined) return "";
      if (typeof v === "object") v = JSON.stringify(v);
      v = String(v);
      if (/^[=+\-@\t\r]/.test(v) && isNaN(Number(v))) v = "'" + v;
      return /[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
    };
    return [cols.join(",")].concat(rows.map(function (r) { return cols.map(function (c) { return cell(r[c]); }).join(","); })).join("\n") + "\n";
  }
  function rowsOf(spec) {
    var out = [];
    (function walk(s) {
      if (!s || typeof s !== "object") return;
      if (s.data && Array.isArray(s.data.values)) out.push(s.data.values);
      if (s.datasets) Object.keys(s.datasets).forEach(function (k) { out.push(s.datasets[k]); });
      ["layer", "vconcat", "hconcat", "concat"].forEach(function (k) { (s[k] || []).forEach(walk); });
      if (s.spec) walk(s.spec);
    })(spec);
    out.sort(function (a, b) { return b.length - a.length; });
    return (out[0] || []).filter(function (r) { return r && typeof r === "object" && !r.type; });
  }
  function links(el, spec, key) {
    var bar = el.querySelector(".downloads");
    if (!bar || bar.dataset.ready) return;
    var rows = rowsOf(spec);
    var add = function (label, text, type, name) {
      var a = document.createElement("a");
      a.textContent = label;
      a.href = URL.createObjectURL(new Blob([text], {type: type}));
      a.download = name;
      bar.appendChild(a);
      bar.appendChild(document.createTextNode(" "));
    };
    add("CSV", csv(rows), "text/csv", key + ".csv");
    add("JSON", JSON.stringify(rows, null, 1), "application/json", key + ".json");
    add("Vega-Lite", JSON.stringify(spec, null, 1), "application/json", key + ".vl.json");
    bar.dataset.ready = "1";
  }
  function draw(el) {
    var holder = el.querySelector(".vega-chart"), data = el.querySelector("script.vl-spec");
    if (!holder || !data || el.dataset.drawn) return Promise.resolve();
    el.dataset.drawn = "1";
    var spec;
    try { spec = JSON.parse(data.textContent); } catch (e) { return Promise.resolve(); }
    links(el, spec, el.getAttribute("data-chart") || "chart");
    if (typeof window.vegaEmbed !== "function") return Promise.resolve();
    var opts = {renderer: "svg", actions: false, tooltip: {theme: "light"}, logLevel: 1};
    if (window.vegaExpressionInterpreter) {   // expressions interpreted, never compiled: no 'unsafe-eval'
      opts.ast = true; opts.expr = window.vegaExpressionInterpreter;
    }
    return window.vegaEmbed(holder, spec, opts)
      .then(function (res) { el.classList.add("live"); el.__view = res.view; })
      .catch(function (err) { holder.textContent = ""; el.classList.add("static-only");
                              if (window.console) console.warn("chart not drawn:", err && err.message); });
  }
  function tableRows(t) {
    var head = Array.prototype.map.call(t.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
    return Array.prototype.map.call(t.querySelectorAll("tbody tr"), function (tr) {
      var r = {};
      Array.prototype.forEach.call(tr.children, function (td, i) {
        var v = td.textContent.trim();
        r[head[i] || ("column " + (i + 1))] = v === "\u2013" ? null : v;
      });
      return r;
    });
  }
  function tableLinks() {
    Array.prototype.forEach.call(document.querySelectorAll("main section table"), function (t, i) {
      if (t.dataset.links || t.closest(".chart") || t.closest("form")) return;
      t.dataset.links = "1";
      var bar = document.createElement("div");
      bar.className = "downloads table-downloads";
      var sec = t.closest("section"), name = (sec && sec.id ? sec.id : "table") + "-" + (i + 1);
      var rows = tableRows(t);
      [["CSV", csv(rows), "text/csv", ".csv"], ["JSON", JSON.stringify(rows, null, 1), "application/json", ".json"]]
        .forEach(function (x) {
          var a = document.createElement("a");
          a.textContent = x[0];
          a.href = URL.createObjectURL(new Blob([x[1]], {type: x[2]}));
          a.download = name + x[3];
          bar.appendChild(a);
          bar.appendChild(document.createTextNode(" "));
        });
      var box = t.parentNode && t.parentNode.classList && t.parentNode.classList.contains("table-wrap") ? t.parentNode : t;
      box.parentNode.insertBefore(bar, box.nextSibling);
    });
  }
  function all() {
    try { tableLinks(); } catch (e) { if (window.console) console.warn("table links:", e && e.message); }
    var charts = Array.prototype.slice.call(document.querySelectorAll(".chart"));
    window.digimeterCharts = Promise.all(charts.map(draw)).then(function () {
      document.documentElement.setAttribute("data-charts", "drawn");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();"""

#: screen and print rules of the interactive charts (the report's and the dashboard's CSS add them)
CHART_CSS = """
.chart .vega-chart:empty{display:none}
.chart.live .static{display:none}
.downloads{font-size:12px;margin:2px 0 8px}
.downloads a{margin-right:8px;color:var(--blue)}
#vg-tooltip-element{font-family:"DejaVu Sans",Arial,sans-serif;font-size:12px}
@media print{.chart .vega-chart{display:none!important}.chart .static{display:block!important}.downloads{display:none}}
"""


@lru_cache(maxsize=1)
def bundle_js() -> str:
    """Vega, Vega-Lite and vega-embed as one script (``data/js/vega-bundle.js``, made by vl-convert)."""
    return (resources.files("digimeter") / "data" / "js" / "vega-bundle.js").read_text(encoding="utf-8")


def report_scripts() -> str:
    """The scripts a self-contained page inlines: the bundle, then :data:`EMBED_JS`."""
    return f"<script>{_script_safe(bundle_js())}</script>\n<script>{EMBED_JS}</script>"


def _script_safe(text: str) -> str:
    return text.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def chart_source(spec: dict) -> str:
    """The source line(s) :func:`digimeter.charts.style` puts under a chart (``usermeta.source``, else its
    bottom title)."""
    meta = spec.get("usermeta") or {}
    if meta.get("source"):
        return str(meta["source"])
    t = spec.get("title")
    if isinstance(t, dict) and t.get("orient") == "bottom":
        text = t.get("text")
        return " ".join(text) if isinstance(text, list) else str(text or "")
    return ""


def _quant_title(enc: dict) -> str | None:
    for ch in ("y", "x"):
        e = enc.get(ch)
        if isinstance(e, dict) and e.get("type") == "quantitative" and e.get("field") not in ("year", None):
            t = e.get("title")
            if t:
                return " ".join(t) if isinstance(t, list) else str(t)
    return None


def interactive_spec(spec: dict, labels: dict | None = None) -> dict:
    """A chart's Vega-Lite spec with tooltips carrying source and unit of measure, and zoom and pan over years.

    ``labels``: the tooltip titles in the page's language (``{"measure": ..., "source": ...}``)."""
    labels = {"measure": "unit of measure", "source": "source", **(labels or {})}
    spec = copy.deepcopy(spec)
    source = chart_source(spec)
    units: list[dict] = []

    def walk(s: Any) -> None:
        if not isinstance(s, dict):
            return
        if "mark" in s:
            units.append(s)
        for k in ("layer", "vconcat", "hconcat", "concat"):
            for c in s.get(k, []) or []:
                walk(c)
        if isinstance(s.get("spec"), dict):
            walk(s["spec"])

    walk(spec)
    _trim_features(spec, units)
    measure = next((m for m in (_quant_title(u.get("encoding") or {}) for u in units) if m), None)
    zoomed = False
    for u in units:
        enc = u.setdefault("encoding", {})
        tip = enc.get("tooltip")
        if tip:
            tips = tip if isinstance(tip, list) else [tip]
            extra = []
            calc = []
            m = _quant_title(enc) or measure
            if m:
                calc.append({"calculate": json.dumps(m), "as": "unit of measure"})
                extra.append({"field": "unit of measure", "type": "nominal", "title": labels["measure"]})
            if source:
                calc.append({"calculate": json.dumps(source), "as": "source"})
                extra.append({"field": "source", "type": "nominal", "title": labels["source"]})
            u["transform"] = list(u.get("transform") or []) + calc
            enc["tooltip"] = tips + extra
        x = enc.get("x")
        over_years = isinstance(x, dict) and x.get("field") == "year" and x.get("type") == "quantitative"
        if over_years and not zoomed and tip:
            # zoom and pan over the years (as altair's .interactive(), on the x axis)
            u["params"] = list(u.get("params") or []) + [
                {"name": f"zoom{len(units)}", "select": {"type": "interval", "encodings": ["x"]}, "bind": "scales"}]
            zoomed = True
    return spec


def _trim_features(spec: dict, units: list[dict]) -> None:
    """GeoJSON features keep only the properties the chart reads (what the reader sees, in its language)."""
    used = set()
    text = json.dumps([u.get("encoding") for u in units] + [u.get("transform") for u in units], default=str)
    for k in re.findall(r"properties\.([A-Za-z0-9_]+)", text):
        used.add(k)

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            if o.get("type") == "Feature" and isinstance(o.get("properties"), dict):
                o["properties"] = {k: v for k, v in o["properties"].items() if k in used}
                return
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    if used:
        walk(spec)


def chart_html(chart: Any, svg: str, *, key: str, title: str, labels: dict | None = None) -> str:
    """One chart as the markup of the module docstring (``chart``: an altair chart or a Vega-Lite dict)."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    data = json.dumps(interactive_spec(spec, labels), ensure_ascii=False, separators=(",", ":"), default=str)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e")     # JSON inside <script>: no tag can end it
    return (f"<div class=\"chart\" role=\"img\" aria-label=\"{html.escape(title)}\" data-chart=\"{html.escape(key)}\">"
            f"<div class=\"vega-chart\"></div><div class=\"static\">{svg}</div>"
            f"<div class=\"downloads\"></div>"
            f"<script type=\"application/json\" class=\"vl-spec\">{data}</script></div>")
