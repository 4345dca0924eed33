"""The report as HTML: one self-contained page (styles, SVG charts and the interactive charts' scripts
inlined; nothing loads from the network), and the files :func:`write_report` writes beside it (figures as
SVG/PNG, tables as CSV and XLSX, the JSON twin and the text skeleton).
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..i18n import fmt_num, gettext_for, ordinal
from ..interactive import CHART_CSS
from .model import Report, Section, spec_of
from .render import ChartRenderer, chart_svg

CSS = """
:root{--ink:#1b1b1b;--muted:#555;--rule:#ddd;--accent:#D55E00;--blue:#0072B2;--bg:#fff;--soft:#f6f7f9}
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:var(--ink);background:var(--bg);margin:0;line-height:1.5}
header{background:#0b2a4a;color:#fff;padding:28px 40px}
header h1{margin:0 0 6px;font-size:28px}
header .sub{color:#cfe0f3;font-size:14px}
nav.toc{background:var(--soft);border-bottom:1px solid var(--rule);padding:8px 40px;font-size:14px}
nav.toc a{color:var(--blue);margin-right:14px;text-decoration:none}
main{max-width:1100px;margin:0 auto;padding:10px 40px 60px}
section{border-bottom:1px solid var(--rule);padding:18px 0 26px}
h2{font-size:22px;margin:8px 0 10px}
h3{font-size:16px;margin:18px 0 6px;color:#222}
p{max-width:860px}
.lead{font-size:19px;max-width:900px}
.unavailable{background:#fff7e6;border-left:4px solid #E69F00;padding:10px 14px;max-width:860px}
.chart{margin:8px 0 16px;overflow-x:auto}
.chart svg{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
.table-wrap{overflow-x:auto;max-width:100%}
th,td{border-bottom:1px solid var(--rule);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.me td{background:#fdebe0;font-weight:600}
.mono{font-family:"DejaVu Sans Mono",monospace;font-size:11px;word-break:break-all}
td.mono{min-width:9em}
pre{background:var(--soft);padding:10px;font-size:12px;overflow-x:auto;max-height:420px}
.key{display:inline-block;background:var(--soft);border:1px solid var(--rule);border-radius:6px;padding:8px 12px;margin:4px 8px 4px 0}
.key b{font-size:22px;color:var(--accent);display:block}
footer{color:var(--muted);font-size:12px;padding:20px 40px}
details summary{cursor:pointer;color:var(--blue)}
@media print{
@page{size:A4;margin:14mm 12mm}
body{font-size:11px}
header{padding:14px 0;-webkit-print-color-adjust:exact;print-color-adjust:exact}
nav.toc,.downloads,nav.langs{display:none}
main{max-width:none;padding:0}
section{break-before:page;border-bottom:none}
main>section:first-child{break-before:auto}
h2,h3{break-after:avoid}
.chart,.key,tr,pre,.vega-chart{break-inside:avoid}
.chart,.table-wrap{overflow:visible}
details>*{display:block}
table{font-size:8.5px}th,td{padding:2px 4px}th{overflow-wrap:break-word}
}
"""
#: the interactive charts' screen and print rules
CSS += CHART_CSS


def _cell(v: Any, lang: str, col: str) -> tuple[str, bool]:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "–", True
    if isinstance(v, (bool, np.bool_)):
        return str(v), False
    if isinstance(v, (int, np.integer)):
        # years (also a target's deadline) are written without a thousands separator, as floats are below
        yearish = "year" in col.lower() or "год" in col.lower() or "жыл" in col.lower() or 1900 < abs(int(v)) < 2200
        return (str(int(v)) if yearish else fmt_num(v, lang, 0)), True
    if isinstance(v, (float, np.floating)):
        if float(v).is_integer() and abs(v) > 1900 and abs(v) < 2200:
            return str(int(v)), True
        a = abs(float(v))
        digits = 4 if a < 1.5 else (2 if a < 100 else 1)
        return fmt_num(v, lang, digits), True
    return html.escape(str(v)), False


def table_html(df: pd.DataFrame, lang: str, *, highlight: str | None = None, mono: tuple[str, ...] = ()) -> str:
    cols = [str(c) for c in df.columns]
    # a wide table scrolls inside its own box, never the page (long headers in ru/kk)
    out = ["<div class=\"table-wrap\"><table><thead><tr>", "".join(f"<th>{html.escape(c)}</th>" for c in cols),
           "</tr></thead><tbody>"]
    for row in df.itertuples(index=False):
        vals = list(row)
        me = highlight is not None and any(isinstance(v, str) and v == highlight for v in vals)
        out.append("<tr class=\"me\">" if me else "<tr>")
        for c, v in zip(cols, vals):
            text, num = _cell(v, lang, c)
            cls = "mono" if c in mono else ("num" if num else "")
            out.append(f"<td class=\"{cls}\">{text}</td>" if cls else f"<td>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def section_body(s: Section, report: Report, svgs: dict[str, str] | None = None) -> str:
    """One section as an HTML fragment (charts inline as SVG); shared by the report and the dashboard."""
    from ..interactive import chart_html

    _ = gettext_for(report.lang)
    svgs = svgs if svgs is not None else {}
    parts = []
    if s.id == "headline" and s.key_numbers:
        keys = []
        for name, ix in report.indices.items():
            if f"{name}.rank" in s.key_numbers:
                keys.append((ordinal(s.key_numbers[f"{name}.rank"], report.lang) + f" / {s.key_numbers[f'{name}.n']}",
                             f"{_(ix.spec.title or ix.name)} {ix.year}"))
        if keys:
            parts.append("<div>" + "".join(f"<span class=\"key\"><b>{html.escape(a)}</b>{html.escape(b)}</span>"
                                           for a, b in keys) + "</div>")
    for p in s.paragraphs:
        cls = "lead" if s.id == "headline" else ("unavailable" if not s.available else "")
        parts.append(f"<p class=\"{cls}\">{html.escape(p)}</p>" if cls else f"<p>{html.escape(p)}</p>")
    if s.available and s.missing:
        for m in s.missing:
            parts.append(f"<p class=\"unavailable\">{html.escape(_('Not yet available: {what}.').format(what=m))}</p>")
    for k, ch in s.charts.items():
        key = f"{s.id}_{k}"
        svg = svgs.get(key) or chart_svg(ch)
        svgs[key] = svg
        parts.append(f"<h3>{html.escape(s.chart_titles.get(k, k))}</h3>"
                     + chart_html(spec_of(ch), svg, key=key, title=s.chart_titles.get(k, k),
                                  labels={"measure": _("unit of measure"), "source": _("source")}))
    for k, df in s.tables.items():
        mono = ("sha256", "spec_sha256", "panel_sha256", "url", "repository")
        tbl = table_html(df, report.lang, highlight=report.unit_name, mono=mono)
        title = html.escape(s.table_titles.get(k, k))
        if len(df) > 25:
            parts.append(f"<h3>{title}</h3><details><summary>{html.escape(_('show {n} rows').format(n=len(df)))}"
                         f"</summary>{tbl}</details>")
        else:
            parts.append(f"<h3>{title}</h3>{tbl}")
    for k, text in s.blocks.items():
        parts.append(f"<h3>{html.escape(_('Spec: {name}').format(name=k.removeprefix('spec_')))}</h3>"
                     f"<details><summary>{html.escape(_('show the YAML'))}</summary><pre>{html.escape(text)}</pre></details>")
    return "\n".join(parts)


def render_html(report: Report, *, svgs: dict[str, str] | None = None) -> str:
    """The report as one self-contained HTML page: inline CSS, SVG and scripts (the charts drawn by the bundled
    vega-embed, :mod:`digimeter.interactive`), no external URLs."""
    import jinja2

    from ..interactive import report_scripts

    _ = gettext_for(report.lang)
    svgs = dict(svgs or {})
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    sections = [{"id": s.id, "title": s.title, "body": section_body(s, report, svgs)} for s in report.sections]
    tpl = env.from_string(PAGE)
    return tpl.render(lang=report.lang, title=report.meta["title"], sections=sections,
                      subtitle=_("A digimeter report, {date}; digimeter {version}; main index {index} {year}").format(
                          date=report.meta["generated"], version=report.meta["version"],
                          index=report.meta["main_index"], year=report.meta["main_year"]),
                      contents=_("Contents"),
                      footer=_("Made offline by digimeter {version}. Every number carries its source; see Methods and data.").format(
                          version=report.meta["version"]),
                      css=CSS, markup=jinja2.utils.markupsafe.Markup, scripts=report_scripts())


PAGE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'">
<title>{{ title }}</title>
<style>{{ markup(css) }}</style>
</head>
<body>
<header><h1>{{ title }}</h1><div class="sub">{{ subtitle }}</div></header>
<nav class="toc" aria-label="{{ contents }}">{% for s in sections %}<a href="#{{ s.id }}">{{ s.title }}</a>{% endfor %}</nav>
<main>
{% for s in sections %}<section id="{{ s.id }}"><h2>{{ s.title }}</h2>
{{ markup(s.body) }}
</section>
{% endfor %}
</main>
<footer>{{ footer }}</footer>
{{ markup(scripts) }}
</body>
</html>
"""


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s).strip("_")


def render_svgs(report: Report, svgs: dict[str, str] | None = None) -> dict[str, str]:
    """Every chart of ``report`` as SVG, keyed ``"{section}_{chart}"`` (drawn by a :class:`ChartRenderer`),
    with those given in ``svgs``, which are not drawn again."""
    have = dict(svgs or {})
    if any(f"{s.id}_{k}" not in have for s in report.sections for k in s.charts):
        renderer = ChartRenderer()
        for s in report.sections:
            renderer.add(s, skip=have)
        have.update(renderer.result())
    return have


def write_report(report: Report, out: str | Path, *, figures: bool = True, png: bool = True,
                 progress: Callable[[str], None] | None = None,
                 svgs: dict[str, str] | None = None) -> dict[str, Any]:
    """Write ``report.html`` (self-contained), ``figures/*.svg|png`` and ``tables/*.csv`` + ``tables.xlsx``.

    ``svgs``: charts already drawn (``"{section}_{chart}"`` -> SVG, e.g. kept with a cached report by
    :func:`digimeter.report.cached_report`); they are used as they are, the others are drawn.

    Returns the paths written: ``{"html": Path, "figures": [...], "tables": [...], "xlsx": Path, "svgs": {...}}``.
    """
    import vl_convert as vlc

    step = progress or (lambda label: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figdir, tabdir = out / "figures", out / "tables"
    written: dict[str, Any] = {"figures": [], "tables": []}
    _ = gettext_for(report.lang)
    svgs = render_svgs(report, svgs)   # the charts not given are drawn
    for s in report.sections:
        for k in s.charts:
            step(_("Chart: {name}").format(name=f"{s.id}/{k}"))
            key = f"{s.id}_{k}"
            if figures:
                figdir.mkdir(exist_ok=True)
                p = figdir / f"{_safe_name(key)}.svg"
                p.write_text(svgs[key], encoding="utf-8")
                written["figures"].append(p)
                if png:
                    pp = figdir / f"{_safe_name(key)}.png"
                    pp.write_bytes(vlc.svg_to_png(svgs[key], scale=1.5))
                    written["figures"].append(pp)
    step(_("Tables"))
    from .._util.safetext import neutralise_frame

    tabdir.mkdir(exist_ok=True)
    xlsx = out / "tables.xlsx"
    with pd.ExcelWriter(xlsx, engine="openpyxl") as xw:
        for s in report.sections:
            for k, df in s.tables.items():
                name = _safe_name(f"{s.id}_{k}")
                p = tabdir / f"{name}.csv"
                neutralise_frame(df).to_csv(p, index=False)   # text is never a spreadsheet formula
                written["tables"].append(p)
                clean = neutralise_frame(df)
                for c in clean.columns:
                    if str(clean[c].dtype) in ("Int64", "Float64", "string", "str"):
                        clean[c] = clean[c].astype(object).where(clean[c].notna(), None)
                clean.to_excel(xw, sheet_name=name[:31], index=False)
    written["xlsx"] = xlsx
    step(_("Writing the HTML file"))
    page = render_html(report, svgs=svgs)
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    (out / "report.json").write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1, default=str),
                                     encoding="utf-8")
    (out / "skeleton.txt").write_text(report.skeleton(), encoding="utf-8")
    written["html"] = html_path
    written["sha256"] = hashlib.sha256(page.encode()).hexdigest()
    written["svgs"] = svgs
    return written


EXTERNAL = re.compile(r"""<(script|link|img|iframe|source|video|audio|embed|object|image|use)\b[^>]*?\b(src|href|xlink:href|data)\s*=\s*["']?\s*(https?:)?//""",
                      re.IGNORECASE)


def external_references(page: str) -> list[str]:
    """Elements of an HTML page that would load something from the network (should be none)."""
    out = [m.group(0) for m in EXTERNAL.finditer(page)]
    out += re.findall(r"url\(\s*['\"]?https?://[^)]*\)", page)
    out += re.findall(r"@import\s+['\"]?https?://", page)
    return out
