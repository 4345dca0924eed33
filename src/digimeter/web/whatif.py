"""The what-if page (``/whatif/{unit}``) and its JSON twin (``POST /api/whatif/{unit}``; ``GET`` with the
page's query string answers the same): thin faces over :func:`digimeter.whatif.whatif`.

The page is a plain form whose URL carries the whole state (unit, spec, language and every change), so a
what-if is a permalink; it works without scripts. The base of a what-if (the index and the forecasts of
the unit's targets) is prepared once per unit, spec and state of the store (:class:`Bases`, kept on
``app.state.whatif``), so a request on a warm server rebuilds one index and shifts a few thousand draws
(well under 200 ms).
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any, Optional
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ..errors import NotFoundError
from ..report import LANGS, gettext_for
from .deps import render
from .models import ERRORS
from .service import Service

router = APIRouter()


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


def check_names(spec: str, scenario: Optional[str]) -> None:
    """Names only: a request never names a file on the server."""
    from ..spec import shipped_specs
    from ..targets import shipped_scenarios

    if spec not in shipped_specs():
        raise NotFoundError(f"no shipped spec named '{spec}'", field="spec", value=spec,
                            fix=f"one of: {', '.join(shipped_specs())}")
    if scenario is not None and scenario not in shipped_scenarios():
        raise NotFoundError(f"no shipped scenario named '{scenario}'", field="scenario", value=scenario,
                            fix=f"one of: {', '.join(shipped_scenarios())}")


class Bases:
    """The prepared bases of what-ifs (:func:`digimeter.whatif.prepare`), the latest few, per (unit, spec,
    scenario, state of the service's readable copy of the store)."""

    def __init__(self, service: Service, size: int = 8):
        self.service = service
        self.size = size
        self.bases: dict[tuple, Any] = {}
        self.lock = threading.Lock()

    def get(self, unit: str, spec: str, scenario: Optional[str]):
        from ..store import open_store
        from ..whatif import prepare

        check_names(spec, scenario)
        service = self.service
        unit = unit.upper() if len(unit) == 3 else unit
        try:
            stamp = os.stat(service.read_path).st_mtime_ns if service.read_path else None
        except OSError:
            stamp = None
        key = (unit, spec, scenario, stamp)
        with self.lock:
            if key in self.bases:
                return self.bases[key]
        with service.lock:
            service.refresh()
            store = open_store(service.read_path, read_only=True) if service.read_path else open_store(None)
        try:
            b = prepare(unit, spec=spec, scenario=scenario, store=store)
        finally:
            store.close()
        with self.lock:
            self.bases[key] = b
            while len(self.bases) > self.size:
                self.bases.pop(next(iter(self.bases)))
        return b

    def answer(self, unit: str, changes, weights, spec: str, scenario: Optional[str]) -> dict:
        """The what-if (:meth:`digimeter.whatif.WhatIf.to_dict`) of ``changes`` and ``weights`` for ``unit``."""
        from ..whatif import whatif

        b = self.get(unit, spec, scenario)
        return whatif(b.unit, changes, weights=weights, base=b).to_dict()


def get_bases(request: Request) -> Bases:
    """The app's what-if bases (a FastAPI dependency)."""
    return request.app.state.whatif


def query_changes(request: Request) -> dict[str, str]:
    """The changes a page's query string asks for (every parameter but the page's own and the weights)."""
    skip = {"lang", "spec", "scenario", "format"}
    out = {}
    for k, v in request.query_params.items():
        if k in skip or not v.strip():
            continue
        if k.startswith("w."):
            continue
        out[k] = v.strip()
    return out


def query_weights(request: Request) -> dict[str, str] | None:
    """The weights a page's query string asks for (``w.<node>=...``)."""
    w = {k[2:]: v for k, v in request.query_params.items() if k.startswith("w.") and v.strip()}
    return w or None


@router.post("/api/whatif/{unit}", response_model=WhatIfOut, responses=ERRORS,
             summary="What if: scores, ranks and P(target) with a unit's indicators changed")
def whatif_api(unit: str, body: WhatIfIn = Body(default_factory=WhatIfIn), bases: Bases = Depends(get_bases)):
    return JSONResponse(bases.answer(unit, body.changes, body.weights, body.spec, body.scenario))


def as_csv(res: dict) -> Response:
    """A what-if as a CSV table: the index, its nodes and P(target), before and after."""
    import pandas as pd

    rows = [{"what": "index", "code": res["spec"], "before": res["index"]["score_before"],
             "after": res["index"]["score_after"], "rank_before": res["index"]["rank_before"],
             "rank_after": res["index"]["rank_after"]}]
    rows += [{"what": "node", "code": n["node"], "before": n["score_before"], "after": n["score_after"],
              "rank_before": n["rank_before"], "rank_after": n["rank_after"]} for n in res["nodes"][1:]]
    rows += [{"what": "P(target)", "code": t["target"], "before": t["p_before"], "after": t["p_after"]}
             for t in res["targets"]]
    return Response(pd.DataFrame(rows).to_csv(index=False), media_type="text/csv",
                    headers={"content-disposition": f'attachment; filename="whatif-{res["unit"]}.csv"'})


@router.get("/api/whatif/{unit}", response_model=WhatIfOut, responses=ERRORS,
            summary="What if, with the page's query string (node=value ...); format=csv for a table")
def whatif_api_get(request: Request, unit: str, spec: str = "digital-nation", scenario: Optional[str] = None,
                   format: str = "json", bases: Bases = Depends(get_bases)):
    res = bases.answer(unit, query_changes(request), query_weights(request), spec, scenario)
    if format == "csv":
        return as_csv(res)
    return JSONResponse(res)


def levers(b, changes: dict[str, str], _) -> list[dict[str, Any]]:
    """The form's rows: each indicator of the base's index with its latest value, valid range and change."""
    ix = b.index
    panel = ix.panel
    out = []
    for n in ix.spec.indicator_nodes():
        m = b.meta[n.indicator]
        v = panel.values.loc[b.unit, n.indicator] if b.unit in panel.values.index else float("nan")
        y = panel.years.loc[b.unit, n.indicator] if b.unit in panel.years.index else float("nan")
        lo, hi = m.get("min_value"), m.get("max_value")
        rng = "" if lo is None or hi is None or lo != lo or hi != hi else f"{lo:g}–{hi:g}"
        out.append({"node": n.code, "name": _(n.name or n.code), "measure": _(m["unit"]) if m.get("unit") else "",
                    "latest": "" if v != v else f"{v:.4g}", "year": "" if y != y else int(y),
                    "range": rng, "value": changes.get(n.code, changes.get(n.indicator, ""))})
    return out


@router.get("/whatif/{unit}", include_in_schema=False)
def whatif_html(request: Request, unit: str, spec: str = "digital-nation", lang: str = "en",
                scenario: Optional[str] = None, bases: Bases = Depends(get_bases)):
    if lang not in LANGS:
        raise NotFoundError(f"no language '{lang}'", field="lang", value=lang, fix=f"one of: {', '.join(LANGS)}")
    _ = gettext_for(lang)
    changes = query_changes(request)
    b = bases.get(unit, spec, scenario)
    name = b.unit_name
    if lang != "en" and b.iso2:   # the CLDR territory name in the page's language, as the report's
        from babel import Locale

        name = Locale.parse(lang).territories.get(b.iso2, name)
    res = bases.answer(b.unit, changes, query_weights(request), spec, scenario)
    ix = b.index
    pillars = [dict(r, name=_(r["name"])) for r in res["nodes"] if r["depth"] == 1]
    meta = ix.spec.meta().set_index("code")
    given = query_weights(request) or {}
    weights = [{"code": r["node"], "name": r["name"], "spec": f"{float(meta.loc[r['node'], 'weight']):g}",
                "value": given.get(r["node"], "")} for r in pillars]
    q = urlencode({"spec": spec, **({"scenario": scenario} if scenario else {}), **changes,
                   **{f"w.{k}": v for k, v in given.items()}})
    return render(request, "whatif.html", lang, title=f"{_('What if')}: {name}",
                  api_url=f"/api/whatif/{b.unit}?{q}", unit=b.unit, unit_name=name, spec=spec,
                  spec_title=_(ix.spec.title or ix.spec.name), deadline=b.deadline, levers=levers(b, changes, _),
                  weights=weights, result=res, pillars=pillars,
                  csv_url=f"/api/whatif/{b.unit}?{q}&format=csv", json_url=f"/api/whatif/{b.unit}?{q}",
                  fmt=_fmt, fmtr=lambda x: _fmt(x, 0), fmtp=lambda x: _fmt(x, 2),
                  subtitle=_("How digital is {unit}?").format(unit=name))
