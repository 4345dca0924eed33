"""What the dashboard's routers share: the app's state (its :class:`~digimeter.web.service.Service`, its
settings and templates, set by :func:`digimeter.web.app.create_app` on ``app.state``), the pages'
names, the checks of a request's names, rendering, and the one error shape as a response."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse

from .. import __version__
from ..errors import NotFoundError
from ..report import CSS, LANGS, Report, gettext_for
from .service import Service
from .templates import TEMPLATES

#: page -> (sections shown, title msgid)
PAGES: dict[str, tuple[tuple[str, ...], str]] = {
    "country": (("headline", "profile", "gaps"), "Country"),
    "compare": (("rankings", "robustness"), "Comparison"),
    "regions": (("regions",), "Regions"),
    "targets": (("targets",), "Targets"),
    "methods": (("methods",), "Methods and data"),
}
LANG_LABELS = (("en", "English"), ("ru", "Русский"), ("kk", "Қазақша"))
#: a plain name (a file name without folders, a spec or scenario name kept in the menu's links)
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,120}$")


@dataclass(frozen=True)
class Settings:
    """Upload limits: bytes of a spec and of a data file; seconds and bytes of memory an upload may use."""
    spec_limit: int
    data_limit: int
    upload_seconds: float
    upload_memory: int | None


def get_service(request: Request) -> Service:
    """The app's service (a FastAPI dependency)."""
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    """The app's upload settings (a FastAPI dependency)."""
    return request.app.state.settings


def templates() -> jinja2.Environment:
    """The pages' templates (:mod:`digimeter.web.templates`), escaped."""
    return jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True)


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise NotFoundError(f"unknown language '{lang}'", field="lang", value=lang,
                            fix=f"use one of: {', '.join(LANGS)}")
    return lang


def page_data(service: Service, page: str, unit: str, spec: str, lang: str, scenario: str | None,
              regional: str | None = None) -> tuple[Report, tuple[str, ...]]:
    """The report behind ``page`` and the ids of its sections, after checking every name asked for."""
    from ..spec import shipped_specs

    check_lang(lang)
    # names only: a query parameter never names a file on the server
    if spec not in shipped_specs():
        raise NotFoundError(f"no shipped spec named '{spec}'", field="spec", value=spec,
                            fix=f"one of: {', '.join(shipped_specs())} (upload your own at /upload)")
    if scenario is not None:
        try:
            from ..targets import shipped_scenarios
        except ModuleNotFoundError:
            shipped_scenarios = dict
        if scenario not in shipped_scenarios():
            raise NotFoundError(f"no shipped scenario named '{scenario}'", field="scenario", value=scenario,
                                fix=f"one of: {', '.join(shipped_scenarios()) or '(none yet)'}")
    if regional is not None:   # a name only: an indicator code or a shipped spec, never a path
        choices = service.regional_choices(unit)
        if regional not in {c["code"] for c in choices}:
            raise NotFoundError(f"no regional data for '{regional}' in {unit.upper()}", field="regional",
                                value=regional, fix="one of: " + (", ".join(c["code"] for c in choices)
                                                                 or "(none: import the regions first)"))
    ids = PAGES[page][0]
    return service.report(unit, spec, lang, scenario, ids, regional), ids


def render(request: Request, template: str, lang: str, *, title: str, api_url: str, status: int = 200,
           **kw) -> HTMLResponse:
    """A page of the dashboard: ``template`` in ``lang`` with the menu, the language links and ``kw``."""
    _ = gettext_for(lang)
    unit = kw.get("unit") or request.query_params.get("unit") or "KAZ"
    # the menu keeps the page's state (language, spec, scenario): every URL is a permalink
    keep = {k: request.query_params[k] for k in ("spec", "scenario")
            if SAFE_NAME.match(request.query_params.get(k) or "")}
    keep = f"&{urlencode(keep)}" if keep else ""
    menu = [(f"/country/{unit}?lang={lang}{keep}", _("Country")),
            (f"/compare/{unit}?lang={lang}{keep}", _("Comparison")),
            (f"/regions/{unit}?lang={lang}{keep}", _("Regions")), (f"/targets/{unit}?lang={lang}{keep}", _("Targets")),
            (f"/whatif/{unit}?lang={lang}{keep}", _("What if")),
            (f"/methods?lang={lang}{keep}", _("Methods and data")), (f"/upload?lang={lang}", _("Upload"))]
    params = dict(request.query_params)
    lang_urls = {c: f"{request.url.path}?{urlencode({**params, 'lang': c})}" for c in LANGS}
    page = request.app.state.templates.get_template(template).render(
        lang=lang, _=_, css=jinja2.utils.markupsafe.Markup(CSS), page_title=title, subtitle=kw.pop("subtitle", ""),
        menu=menu, langs=LANG_LABELS, lang_urls=lang_urls, api_url=api_url, version=__version__, **kw)
    return HTMLResponse(page, status_code=status)


def error_response(request: Request, body: dict[str, Any]) -> JSONResponse | HTMLResponse:
    """The one error shape: as JSON under /api/, as an error page elsewhere."""
    status = int(body.get("status", 500))
    if request.url.path.startswith("/api") or request.url.path in ("/openapi.json",):
        return JSONResponse(body, status_code=status)
    lang = request.query_params.get("lang", "en")
    lang = lang if lang in LANGS else "en"
    _ = gettext_for(lang)
    return render(request, "sections.html", lang, title=_("Error"), api_url="/api/methods", status=status,
                  error=body, sections=[], pick_unit=False)
