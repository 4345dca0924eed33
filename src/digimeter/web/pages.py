"""The dashboard's HTML pages: country, comparison, regions, targets, methods and the upload form. Each
shows the report's sections (:mod:`digimeter.report`) and links its JSON twin (:mod:`digimeter.web.api`);
the what-if page is in :mod:`digimeter.web.whatif`."""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ..report import LANGS, gettext_for, table_html
from .deps import PAGES, Settings, check_lang, get_service, get_settings, page_data, render
from .service import Service

router = APIRouter()


def page_html(request: Request, service: Service, page: str, unit: str, spec: str, lang: str,
              scenario: str | None, regional: str | None = None) -> HTMLResponse:
    """``page``'s sections for ``unit``, with the unit picker and a link to the JSON twin."""
    rep, ids = page_data(service, page, unit, spec, lang, scenario, regional)
    _ = gettext_for(lang)
    sections = [{"id": i, "title": rep.section(i).title,
                 "body": jinja2.utils.markupsafe.Markup(service.section_html(rep, i))} for i in ids]
    q = urlencode({k: v for k, v in (("spec", spec), ("lang", lang), ("scenario", scenario),
                                     ("regional", regional)) if v})
    api = f"/api/{page}" + (f"/{rep.unit}" if page != "methods" else "") + f"?{q}"
    choices = service.regional_choices(rep.unit) if page == "regions" else []
    return render(request, "sections.html", lang, title=f"{_(PAGES[page][1])}: {rep.unit_name}"
                  if page != "methods" else _(PAGES[page][1]), api_url=api, sections=sections,
                  unit=rep.unit, pick_unit=page != "methods", form_action=f"/{page}",
                  subtitle=_("How digital is {unit}?").format(unit=rep.unit_name),
                  regional_choices=choices, regional=rep.meta.get("regional"), spec=spec, scenario=scenario)


def pick(request: Request, page: str, unit: str, lang: str) -> RedirectResponse:
    """The unit picker's answer: ``page`` for ``unit``, keeping the rest of the query (spec, scenario)."""
    rest = {k: v for k, v in request.query_params.items() if k not in ("unit", "lang") and v}
    return RedirectResponse(f"/{page}/{quote(unit, safe='')}?{urlencode({'lang': lang, **rest})}")


@router.get("/", include_in_schema=False)
def home(lang: str = "en"):
    return RedirectResponse(f"/country/KAZ?lang={lang if lang in LANGS else 'en'}")


@router.get("/country/{unit}", response_class=HTMLResponse, include_in_schema=False)
def country_html(request: Request, unit: str, spec: str = "digital-nation", lang: str = "en",
                 scenario: Optional[str] = None, service: Service = Depends(get_service)):
    return page_html(request, service, "country", unit, spec, lang, scenario)


@router.get("/country", include_in_schema=False)
def country_pick(request: Request, unit: str = "KAZ", lang: str = "en"):
    return pick(request, "country", unit, lang)


@router.get("/compare/{unit}", response_class=HTMLResponse, include_in_schema=False)
def compare_html(request: Request, unit: str, spec: str = "digital-nation", lang: str = "en",
                 scenario: Optional[str] = None, service: Service = Depends(get_service)):
    return page_html(request, service, "compare", unit, spec, lang, scenario)


@router.get("/compare", include_in_schema=False)
def compare_pick(request: Request, unit: str = "KAZ", lang: str = "en"):
    return pick(request, "compare", unit, lang)


@router.get("/regions/{unit}", response_class=HTMLResponse, include_in_schema=False)
def regions_html(request: Request, unit: str, spec: str = "digital-nation", lang: str = "en",
                 scenario: Optional[str] = None, regional: Optional[str] = None,
                 service: Service = Depends(get_service)):
    return page_html(request, service, "regions", unit, spec, lang, scenario, regional or None)


@router.get("/regions", include_in_schema=False)
def regions_pick(request: Request, unit: str = "KAZ", lang: str = "en"):
    return pick(request, "regions", unit, lang)


@router.get("/targets/{unit}", response_class=HTMLResponse, include_in_schema=False)
def targets_html(request: Request, unit: str, spec: str = "digital-nation", lang: str = "en",
                 scenario: Optional[str] = None, service: Service = Depends(get_service)):
    return page_html(request, service, "targets", unit, spec, lang, scenario)


@router.get("/targets", include_in_schema=False)
def targets_pick(request: Request, unit: str = "KAZ", lang: str = "en"):
    return pick(request, "targets", unit, lang)


@router.get("/methods", response_class=HTMLResponse, include_in_schema=False)
def methods_html(request: Request, unit: str = "KAZ", spec: str = "digital-nation", lang: str = "en",
                 service: Service = Depends(get_service)):
    return page_html(request, service, "methods", unit, spec, lang, None)


def upload_page(request: Request, settings: Settings, lang: str, result: dict[str, Any] | None = None,
                unit: str = "KAZ") -> HTMLResponse:
    """The upload form, with the rebuilt index of an upload (``result``, a :class:`BuildOut`) under it."""
    from ..spec import shipped_specs

    _ = gettext_for(check_lang(lang))
    kw: dict[str, Any] = {}
    if result is not None:
        import pandas as pd

        df = pd.DataFrame(result["table"])
        kw = {"result": True,
              "result_title": _("Rebuilt index: {spec} {year}").format(spec=result["spec"], year=result["year"]),
              "result_text": ([result["import_report"]] if result.get("import_report") else []) + (
                  [_("{unit} ranks {rank} of {n}.").format(unit=result["unit"], rank=result["unit_rank"],
                                                           n=result["n_ranked"])] if result.get("unit_rank") else []),
              "result_table": jinja2.utils.markupsafe.Markup(table_html(df, lang, highlight=result.get("unit")))}
    return render(request, "upload.html", lang, title=_("Upload a spec or data"), api_url="/docs",
                  spec_kb=settings.spec_limit // 1024, data_kb=settings.data_limit // 1024,
                  specs=list(shipped_specs()), default_spec="digital-nation", unit=unit, **kw)


@router.get("/upload", response_class=HTMLResponse, include_in_schema=False)
def upload_html(request: Request, lang: str = "en", settings: Settings = Depends(get_settings)):
    return upload_page(request, settings, lang)
