"""The what-if page (``/whatif/{unit}``) and its JSON twin (``POST /api/whatif/{unit}``; ``GET`` with the
page's query string answers the same): thin faces over :func:`digimeter.whatif.whatif`.

The page is a plain form whose URL carries the whole state (unit, spec, language and every change), so a
what-if is a permalink; it works without scripts. The base of a what-if (the index and the forecasts of
the unit's targets) is prepared once per unit, spec and state of the store, so a request on a warm server
rebuilds one index and shifts a few thousand draws (well under 200 ms).
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any, Optional
from urllib.parse import urlencode

import jinja2
from fastapi import Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..errors import NotFoundError

WHATIF = """{% extends "base.html" %}{% block body %}
<section id="whatif-form"><h2>{{ _('What if') }}</h2>
<p>{{ _('Change the latest values of {unit} (a number, or a change per year until {deadline} such as +2/yr) and see its score, its rank and the chance of meeting each target change. The rest of the world stays as it is.').format(unit=unit_name, deadline=deadline) }}</p>
<form method="get" action="/whatif/{{ unit }}" id="whatif">
<input type="hidden" name="lang" value="{{ lang }}"><input type="hidden" name="spec" value="{{ spec }}">
<table><thead><tr><th>{{ _('Indicator') }}</th><th>{{ _('Latest') }}</th><th>{{ _('Valid range') }}</th><th>{{ _('New value') }}</th></tr></thead><tbody>
{% for r in levers %}<tr><td><label for="in-{{ r.node }}">{{ r.name }}</label> <small>({{ r.node }})</small></td><td class="num">{{ r.latest }} <small>{{ r.measure }}{% if r.year %}, {{ r.year }}{% endif %}</small></td><td class="num">{{ r.range }}</td>
<td><input id="in-{{ r.node }}" name="{{ r.node }}" value="{{ r.value }}" size="8" placeholder="{{ r.latest }}"></td></tr>{% endfor %}
</tbody></table>
<h3>{{ _('Pillar weights') }}</h3>
<p>{% for w in weights %}<label>{{ w.name }} <input id="w-{{ w.code }}" name="w.{{ w.code }}" value="{{ w.value }}" size="4" placeholder="{{ w.spec }}"></label> {% endfor %}</p>
<p><button type="submit" id="whatif-go">{{ _('Show') }}</button> <a href="/whatif/{{ unit }}?lang={{ lang }}&amp;spec={{ spec }}">{{ _('Reset') }}</a></p>
</form></section>
{% if result %}<section id="whatif-result"><h2>{{ _('Result') }}</h2>
<table id="whatif-index"><thead><tr><th></th><th>{{ _('Today') }}</th><th>{{ _('What if') }}</th></tr></thead><tbody>
<tr id="row-score"><td>{{ _('Score') }}: {{ spec_title }}</td><td class="num" data-v="{{ result.index.score_before }}">{{ fmt(result.index.score_before) }}</td><td class="num" data-v="{{ result.index.score_after }}">{{ fmt(result.index.score_after) }}</td></tr>
<tr id="row-rank"><td>{{ _('Rank') }} ({{ _('of {n}').format(n=result.index.n_ranked) }})</td><td class="num" data-v="{{ result.index.rank_before }}">{{ fmtr(result.index.rank_before) }}</td><td class="num" data-v="{{ result.index.rank_after }}">{{ fmtr(result.index.rank_after) }}</td></tr>
{% for n in pillars %}<tr><td>{{ n.name }}</td><td class="num">{{ fmt(n.score_before) }} ({{ fmtr(n.rank_before) }})</td><td class="num">{{ fmt(n.score_after) }} ({{ fmtr(n.rank_after) }})</td></tr>{% endfor %}
</tbody></table>
{% if result.targets %}<h3>{{ _('Targets') }}</h3>
<table id="whatif-targets"><thead><tr><th>{{ _('Target') }}</th><th>{{ _('Goal') }}</th><th>{{ _('P(met) today') }}</th><th>{{ _('P(met) what if') }}</th></tr></thead><tbody>
{% for t in result.targets %}<tr id="target-{{ t.target }}"{% if t.changed %} class="me"{% endif %}><td>{{ _(t.name) if t.name else t.target }}</td><td>{{ t.comparator }} {{ '%g' % t.threshold }} ({{ t.deadline }})</td><td class="num" data-v="{{ t.p_before }}">{{ fmtp(t.p_before) }}</td><td class="num" data-v="{{ t.p_after }}">{{ fmtp(t.p_after) }}</td></tr>{% endfor %}
</tbody></table>{% endif %}
<p class="note">{{ _('The rest of the world as in the {index} {year} build (data vintage {vintage}).').format(index=spec_title, year=result.year, vintage=result.vintage) }}
{{ _('A new value moves every draw of the forecast with it: towards a bound, by the same share of its distance to the bound; a change per year adds up year by year until the deadline, and the index uses the value it reaches by then.') }}</p>
<p><a href="{{ csv_url }}" download>CSV</a> · <a href="{{ json_url }}">JSON</a></p>
</section>{% endif %}
{% endblock %}"""


class WhatIfIn(BaseModel):
    changes: dict[str, Any] = Field(default_factory=dict, description="node or indicator code -> a number "
                                    "(absolute) or '+2/yr' / {'per_year': 2} (per year until the deadline)",
                                    examples=[{"coverage_4g": 99, "fixed_broadband": "+2/yr"}])
    weights: Optional[dict[str, Any]] = Field(None, description="node code -> weight", examples=[{"connectivity": 2}])
    spec: str = Field("digital-nation", description="a shipped index spec")
    scenario: Optional[str] = Field(None, description="a shipped scenario (default fully-digital-kz where it "
                                                      "has targets for the unit)")


class WhatIfOut(BaseModel):
    ok: bool = True
    unit: str
    unit_name: str
    spec: str
    year: int
    deadline: int
    scenario: Optional[str] = None
    vintage: Optional[int] = None
    weights: dict[str, Any]
    index: dict[str, Any]
    changes: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    notes: list[str]


def _fmt(x, nd=2):
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"


def register(app, service, render, env: jinja2.Environment, errors: dict) -> None:
    """Add the page and its twin to the dashboard ``app`` (``service``: its :class:`Service`)."""
    from ..report import gettext_for

    env.loader.mapping["whatif.html"] = WHATIF
    bases: dict[tuple, Any] = {}
    lock = threading.Lock()

    def _names(spec: str, scenario: Optional[str]) -> None:
        from ..spec import shipped_specs
        from ..targets import shipped_scenarios

        if spec not in shipped_specs():   # names only: a request never names a file on the server
            raise NotFoundError(f"no shipped spec named '{spec}'", field="spec", value=spec,
                                fix=f"one of: {', '.join(shipped_specs())}")
        if scenario is not None and scenario not in shipped_scenarios():
            raise NotFoundError(f"no shipped scenario named '{scenario}'", field="scenario", value=scenario,
                                fix=f"one of: {', '.join(shipped_scenarios())}")

    def base_for(unit: str, spec: str, scenario: Optional[str]):
        """The prepared base, cached per (unit, spec, scenario, state of the store's readable copy)."""
        from ..store import open_store
        from ..whatif import prepare

        _names(spec, scenario)
        unit = unit.upper() if len(unit) == 3 else unit
        try:
            stamp = os.stat(service.read_path).st_mtime_ns if service.read_path else None
        except OSError:
            stamp = None
        key = (unit, spec, scenario, stamp)
        with lock:
            if key in bases:
                return bases[key]
        with service.lock:
            service.refresh()
            store = open_store(service.read_path, read_only=True) if service.read_path else open_store(None)
        try:
            b = prepare(unit, spec=spec, scenario=scenario, store=store)
        finally:
            store.close()
        with lock:
            bases[key] = b
            while len(bases) > 8:
                bases.pop(next(iter(bases)))
        return b

    def answer(unit: str, changes, weights, spec: str, scenario: Optional[str]) -> dict:
        from ..whatif import whatif

        b = base_for(unit, spec, scenario)
        return whatif(b.unit, changes, weights=weights, base=b).to_dict()

    @app.post("/api/whatif/{unit}", response_model=WhatIfOut, responses=errors,
              summary="What if: scores, ranks and P(target) with a unit's indicators changed")
    def whatif_api(unit: str, body: WhatIfIn = Body(default_factory=WhatIfIn)):
        return JSONResponse(answer(unit, body.changes, body.weights, body.spec, body.scenario))

    def _query_changes(request: Request) -> dict[str, str]:
        skip = {"lang", "spec", "scenario", "format"}
        out = {}
        for k, v in request.query_params.items():
            if k in skip or not v.strip():
                continue
            if k.startswith("w."):
                continue
            out[k] = v.strip()
        return out

    def _query_weights(request: Request) -> dict[str, str] | None:
        w = {k[2:]: v for k, v in request.query_params.items() if k.startswith("w.") and v.strip()}
        return w or None

    @app.get("/api/whatif/{unit}", response_model=WhatIfOut, responses=errors,
             summary="What if, with the page's query string (node=value ...); format=csv for a table")
    def whatif_api_get(request: Request, unit: str, spec: str = "digital-nation", scenario: Optional[str] = None,
                       format: str = "json"):
        res = answer(unit, _query_changes(request), _query_weights(request), spec, scenario)
        if format == "csv":
            import pandas as pd
            from fastapi.responses import Response

            rows = [{"what": "index", "code": res["spec"], "before": res["index"]["score_before"],
                     "after": res["index"]["score_after"], "rank_before": res["index"]["rank_before"],
                     "rank_after": res["index"]["rank_after"]}]
            rows += [{"what": "node", "code": n["node"], "before": n["score_before"], "after": n["score_after"],
                      "rank_before": n["rank_before"], "rank_after": n["rank_after"]} for n in res["nodes"][1:]]
            rows += [{"what": "P(target)", "code": t["target"], "before": t["p_before"], "after": t["p_after"]}
                     for t in res["targets"]]
            return Response(pd.DataFrame(rows).to_csv(index=False), media_type="text/csv",
                            headers={"content-disposition": f'attachment; filename="whatif-{res["unit"]}.csv"'})
        return JSONResponse(res)

    @app.get("/whatif/{unit}", include_in_schema=False)
    def whatif_html(request: Request, unit: str, spec: str = "digital-nation", lang: str = "en",
                    scenario: Optional[str] = None):
        from ..report import LANGS

        if lang not in LANGS:
            raise NotFoundError(f"no language '{lang}'", field="lang", value=lang, fix=f"one of: {', '.join(LANGS)}")
        _ = gettext_for(lang)
        changes = _query_changes(request)
        b = base_for(unit, spec, scenario)
        name = b.unit_name
        if lang != "en" and b.iso2:   # the CLDR territory name in the page's language, as the report's
            from babel import Locale

            name = Locale.parse(lang).territories.get(b.iso2, name)
        res = answer(b.unit, changes, _query_weights(request), spec, scenario)
        ix = b.index
        panel = ix.panel
        levers = []
        for n in ix.spec.indicator_nodes():
            m = b.meta[n.indicator]
            v = panel.values.loc[b.unit, n.indicator] if b.unit in panel.values.index else float("nan")
            y = panel.years.loc[b.unit, n.indicator] if b.unit in panel.years.index else float("nan")
            lo, hi = m.get("min_value"), m.get("max_value")
            rng = "" if lo is None or hi is None or lo != lo or hi != hi else f"{lo:g}–{hi:g}"
            levers.append({"node": n.code, "name": _(n.name or n.code), "measure": _(m.get("unit") or ""),
                           "latest": "" if v != v else f"{v:.4g}", "year": "" if y != y else int(y),
                           "range": rng, "value": changes.get(n.code, changes.get(n.indicator, ""))})
        pillars = [dict(r, name=_(r["name"])) for r in res["nodes"] if r["depth"] == 1]
        meta = ix.spec.meta().set_index("code")
        given = _query_weights(request) or {}
        weights = [{"code": r["node"], "name": r["name"], "spec": f"{float(meta.loc[r['node'], 'weight']):g}",
                    "value": given.get(r["node"], "")} for r in pillars]
        q = urlencode({"spec": spec, **({"scenario": scenario} if scenario else {}), **changes,
                       **{f"w.{k}": v for k, v in given.items()}})
        return render(request, "whatif.html", lang, title=f"{_('What if')}: {name}",
                      api_url=f"/api/whatif/{b.unit}?{q}", unit=b.unit, unit_name=name, spec=spec,
                      spec_title=_(ix.spec.title or ix.spec.name), deadline=b.deadline, levers=levers, weights=weights,
                      result=res, pillars=pillars,
                      csv_url=f"/api/whatif/{b.unit}?{q}&format=csv", json_url=f"/api/whatif/{b.unit}?{q}",
                      fmt=_fmt, fmtr=lambda x: _fmt(x, 0), fmtp=lambda x: _fmt(x, 2),
                      subtitle=_("How digital is {unit}?").format(unit=name))
