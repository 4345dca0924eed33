"""The pages' JSON twins under ``/api/`` (``/api/country/{unit}`` answers what ``/country/{unit}`` shows) and
the liveness check. The what-if twin is in :mod:`digimeter.web.whatif`, the uploads' in
:mod:`digimeter.web.uploads`."""

from __future__ import annotations

from typing import Any, Optional

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from .. import __version__
from ..report import SECTION_IDS
from .deps import get_service, page_data
from .models import ERRORS, PageOut
from .service import Service

router = APIRouter()

SPEC = Query("digital-nation", description="main index")
LANG = Query("en", description="en, ru or kk")
SCENARIO = Query(None, description="target scenario")


def page_json(service: Service, page: str, unit: str, spec: str, lang: str, scenario: str | None,
              regional: str | None = None) -> Response:
    """The JSON twin of ``page`` (:class:`PageOut`), encoded once per report."""
    rep, ids = page_data(service, page, unit, spec, lang, scenario, regional)
    extra = ({"regional": rep.meta.get("regional"), "regional_choices": service.regional_choices(rep.unit)}
             if page == "regions" else {})
    body = service.page_json(rep, page, lambda: {
        "ok": True, "page": page, "unit": rep.unit, "unit_name": rep.unit_name, "lang": rep.lang,
        "spec": rep.spec, "scenario": rep.scenario, **extra,
        "sections": [rep.section(i).to_dict() for i in ids]})
    return Response(body, media_type="application/json")


@router.get("/api/country/{unit}", response_model=PageOut, responses=ERRORS, summary="The country page as JSON",
            name="api_country")
def api_country(unit: str, spec: str = SPEC, lang: str = LANG, scenario: Optional[str] = SCENARIO,
                service: Service = Depends(get_service)) -> PageOut:
    return page_json(service, "country", unit, spec, lang, scenario)


@router.get("/api/compare/{unit}", response_model=PageOut, responses=ERRORS, summary="The compare page as JSON",
            name="api_compare")
def api_compare(unit: str, spec: str = SPEC, lang: str = LANG, scenario: Optional[str] = SCENARIO,
                service: Service = Depends(get_service)) -> PageOut:
    return page_json(service, "compare", unit, spec, lang, scenario)


@router.get("/api/regions/{unit}", response_model=PageOut, responses=ERRORS, summary="The regions page as JSON",
            name="api_regions")
def api_regions(unit: str, spec: str = SPEC, lang: str = LANG, scenario: Optional[str] = SCENARIO,
                regional: Optional[str] = Query(None, description="the regional indicator or regional spec to show "
                                                                  "(default: the first of regional_choices)"),
                service: Service = Depends(get_service)) -> PageOut:
    return page_json(service, "regions", unit, spec, lang, scenario, regional or None)


@router.get("/api/targets/{unit}", response_model=PageOut, responses=ERRORS, summary="The targets page as JSON",
            name="api_targets")
def api_targets(unit: str, spec: str = SPEC, lang: str = LANG, scenario: Optional[str] = SCENARIO,
                service: Service = Depends(get_service)) -> PageOut:
    return page_json(service, "targets", unit, spec, lang, scenario)


@router.get("/api/methods", response_model=PageOut, responses=ERRORS, summary="Methods and data as JSON")
def methods_api(unit: str = "KAZ", spec: str = "digital-nation", lang: str = "en",
                service: Service = Depends(get_service)):
    return page_json(service, "methods", unit, spec, lang, None)


@router.get("/api/health", summary="Liveness")
def health() -> dict[str, Any]:
    return {"ok": True, "version": __version__, "sections": list(SECTION_IDS)}
