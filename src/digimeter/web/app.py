"""The dashboard: FastAPI pages over the report's sections, each with a JSON twin under ``/api/``.

Faces are thin: every number comes from :func:`digimeter.report.make_report` (which calls build,
benchmark, regions, targets, uncertainty); uploads go through the same validation as the CLI
(:func:`digimeter.spec.parse_spec`, :meth:`digimeter.store.Store.import_file`). Errors have one JSON
shape, ``{"ok": false, "error", "errors", "status"}`` (:meth:`DigimeterError.to_dict`).

Uploads are read into memory with a size limit, never executed (``yaml.safe_load`` only), and written,
under a checked plain file name, only into a private temporary folder that is removed afterwards.
"""

from __future__ import annotations

import html
import re
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlencode

import jinja2
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import DataError, DigimeterError, NotFoundError, SpecError
from ..report import CSS, LANGS, Report, SECTION_IDS, gettext_for, make_report, section_body, table_html
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
SPEC_LIMIT = 256 * 1024
DATA_LIMIT = 5 * 1024 * 1024
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,120}$")


# --------------------------------------------------------------------------------------------------
# response models (the OpenAPI schema)
# --------------------------------------------------------------------------------------------------

class TableOut(BaseModel):
    title: str
    rows: list[dict[str, Any]]


class ChartOut(BaseModel):
    title: str
    spec: dict[str, Any] = Field(description="a Vega-Lite specification")


class SectionOut(BaseModel):
    id: str
    title: str
    available: bool
    paragraphs: list[str]
    missing: list[str]
    key_numbers: dict[str, Any]
    tables: dict[str, TableOut]
    charts: dict[str, ChartOut]
    blocks: dict[str, str]


class PageOut(BaseModel):
    ok: bool = True
    page: str
    unit: str
    unit_name: str
    lang: str
    spec: str
    scenario: Optional[str] = None
    regional: Optional[str] = Field(None, description="regions page: the regional indicator or spec shown")
    regional_choices: Optional[list[dict[str, Any]]] = Field(
        None, description="regions page: what else can be shown (regional indicators, best covered first, "
                          "and the regional spec)")
    sections: list[SectionOut]


class BuildOut(BaseModel):
    ok: bool = True
    spec: str
    year: int
    unit: Optional[str] = None
    unit_rank: Optional[int] = None
    n_ranked: int
    table: list[dict[str, Any]]
    import_report: Optional[str] = None


class ErrorOut(BaseModel):
    ok: bool = False
    error: str
    errors: list[dict[str, Any]]
    status: int


ERRORS = {400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut},
          500: {"model": ErrorOut}}


# --------------------------------------------------------------------------------------------------
# the service: reports computed by the library, cached
# --------------------------------------------------------------------------------------------------

class Service:
    """Computes report sections with the library and keeps the latest ones (one computation at a time)."""

    def __init__(self, store_path: str | Path | None = None, *, cache_size: int = 32,
                 samples: dict[str, int] | None = None):
        from ..store import open_store

        from ..store import default_home

        path = Path(store_path) if store_path is not None else default_home() / "digimeter.duckdb"
        if str(store_path) == ":memory:":
            self.store_path = None
        else:
            if not path.exists():
                open_store(path).close()    # creates the store from the bundled snapshot on first use
            self.store_path = path
        self.lock = threading.RLock()
        self.cache: OrderedDict[tuple, Report] = OrderedDict()
        self.html: dict[tuple, str] = {}
        self.svgs: dict[int, dict[str, str]] = {}   # id(report) -> chart SVGs already drawn ("{section}_{chart}")
        self.json: dict[tuple, bytes] = {}          # (id(report), page) -> the JSON twin, validated and encoded
        self.cache_size = cache_size
        self.samples = samples
        self.default_scenario: str | None = None

    def put(self, report: Report, svgs: dict[str, str] | None = None) -> None:
        """Keep a computed report (e.g. one made by the CLI or a test) to answer pages from; ``svgs``: its
        charts already drawn (as :func:`digimeter.report.write_report` names them), not drawn again."""
        key = (report.unit, report.spec, report.lang, report.scenario, tuple(s.id for s in report.sections),
               report.meta.get("regional_requested"))
        with self.lock:
            old = self.cache.pop(key, None)
            if old is not None and old is not report:
                self._forget(old)
            self.cache[key] = report
            self.svgs.setdefault(id(report), {}).update(svgs or {})
            while len(self.cache) > self.cache_size:
                self._forget(self.cache.popitem(last=False)[1])

    def _forget(self, report: Report) -> None:
        # cached HTML is keyed by id(report): drop it, or a later report given the same id would show it
        rid = id(report)
        self.svgs.pop(rid, None)
        for cache in (self.html, self.json):
            for k in [k for k in cache if k[0] == rid]:
                del cache[k]

    def page_json(self, rep: Report, page: str, make: Any) -> bytes:
        """The JSON twin of ``page`` for ``rep``, made by ``make()`` once and kept with the report: a report
        does not change once computed, and Vega-Lite specs are slow to make (altair validates them)."""
        key = (id(rep), page)
        with self.lock:
            if key not in self.json:
                self.json[key] = PageOut.model_validate(make()).model_dump_json().encode()
            return self.json[key]

    def report(self, unit: str, spec: str, lang: str, scenario: str | None, ids: tuple[str, ...],
               regional: str | None = None) -> Report:
        unit = unit.upper() if len(unit) == 3 else unit
        scenario = scenario or self.default_scenario
        with self.lock:
            for key, rep in reversed(self.cache.items()):
                if key[:4] == (unit, spec, lang, scenario) and set(ids) <= set(key[4]) and \
                        (key[5] == regional or "regions" not in ids):
                    return rep
            from ..store import open_store

            # pages only read: read-only lets other processes (the CLI, other workers) read the store too
            store = open_store(self.store_path, read_only=self.store_path is not None)
            try:
                rep = make_report(unit, spec, scenario=scenario, lang=lang, store=store, sections=ids,
                                  samples=self.samples, regional=regional)
            finally:
                store.close()
            rep.meta["regional_requested"] = regional
            self.put(rep)
            return rep

    def regional_choices(self, unit: str) -> list[dict[str, Any]]:
        """What the regions page can show for ``unit``: its regional spec (if shipped) and the regional
        indicators of the store, best covered first (:func:`digimeter.regions.regional_indicators`)."""
        from .. import regions as R
        from ..store import open_store

        with self.lock:
            if getattr(self, "read_path", None) is not None:   # pages read a private copy of the store
                self.refresh()
                store = open_store(self.read_path, read_only=True)
            else:
                store = open_store(self.store_path, read_only=self.store_path is not None)
            try:
                code = store.unit(unit)["code"]
                out = [{"code": c["code"], "name": c["name"], "regions": c["regions"], "latest_year": c["latest_year"]}
                       for c in R.regional_indicators(store, code)]
            finally:
                store.close()
        spec = R.regional_spec_for(code)
        if spec is not None:
            out.append({"code": spec, "name": spec, "regions": None, "latest_year": None})
        return out

    def section_html(self, rep: Report, sid: str) -> str:
        key = (id(rep), sid)
        with self.lock:
            if key not in self.html:
                if len(self.html) > 256:
                    self.html.clear()
                self.html[key] = section_body(rep.section(sid), rep, self.svgs.setdefault(id(rep), {}))
            return self.html[key]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------

def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise NotFoundError(f"unknown language '{lang}'", field="lang", value=lang, fix=f"use one of: {', '.join(LANGS)}")
    return lang


def safe_filename(name: str | None, allowed: tuple[str, ...]) -> str:
    """A plain file name with an allowed extension, or a :class:`DataError` naming the problem."""
    raw = name or ""
    if not raw or "/" in raw or "\\" in raw or ".." in raw or "\x00" in raw or not _SAFE_NAME.match(raw):
        raise DataError("unsafe or missing file name", field="filename", value=raw,
                        fix="upload a file with a plain name such as my-spec.yaml (no folders, no '..')")
    if not raw.lower().endswith(allowed):
        raise DataError(f"wrong file type '{Path(raw).suffix or raw}'", field="filename", value=raw,
                        fix=f"upload a {' or '.join(allowed)} file")
    return raw


async def _read_limited(file: UploadFile, limit: int) -> bytes:
    data = await file.read(limit + 1)
    if len(data) > limit:
        e = DataError(f"file too large (more than {limit // 1024} KB)", field="file", value=file.filename,
                      fix=f"upload a file of at most {limit // 1024} KB")
        e.status = 413
        raise e
    if not data:
        raise DataError("empty file", field="file", value=file.filename, fix="choose a non-empty file")
    return data


def parse_spec_upload(name: str, data: bytes):
    """Validate an uploaded spec exactly as the CLI does (:func:`~digimeter._util.yamlsafe.load_yaml` +
    :func:`parse_spec`)."""
    from .._util.yamlsafe import load_yaml
    from ..spec import parse_spec

    return parse_spec(load_yaml(data, source=name), source=name)


def _build_out(ix, unit: str | None, import_report: str | None = None) -> dict[str, Any]:
    from .._util.jsonsafe import records

    t = ix.table()
    names = ix.params["unit_meta"]["name"] if ix.params.get("unit_meta") is not None else None
    t = t.reset_index()
    if names is not None:
        t.insert(2, "name", t["unit"].map(names))
    ranked = t[t["rank"].notna()]
    shown = ranked.head(25)
    u = unit.upper() if unit else None
    if u and u in set(ranked["unit"]) and u not in set(shown["unit"]):
        shown = ranked[ranked["unit"].isin(list(shown["unit"]) + [u])]
    rank = ranked.loc[ranked["unit"] == u, "rank"] if u else []
    return {"ok": True, "spec": ix.name, "year": ix.year, "unit": u,
            "unit_rank": int(rank.iloc[0]) if len(rank) else None, "n_ranked": int(len(ranked)),
            "table": records(shown), "import_report": import_report}


# --------------------------------------------------------------------------------------------------
# the app
# --------------------------------------------------------------------------------------------------

def create_app(store_path: str | Path | None = None, *, samples: dict[str, int] | None = None,
               spec_limit: int = SPEC_LIMIT, data_limit: int = DATA_LIMIT) -> FastAPI:
    """The dashboard app. ``store_path``: the DuckDB store (default: the user's store)."""
    app = FastAPI(title="digimeter", version=__version__,
                  description="How digital is a country and each of its regions, what holds it back, and can it "
                              "reach its digital targets in time? Every HTML page has a JSON twin under /api/.")
    service = Service(store_path, samples=samples)
    app.state.service = service
    env = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True)

    def render(request: Request, template: str, lang: str, *, title: str, api_url: str, status: int = 200,
               **kw) -> HTMLResponse:
        _ = gettext_for(lang)
        unit = kw.get("unit") or request.query_params.get("unit") or "KAZ"
        menu = [(f"/country/{unit}?lang={lang}", _("Country")), (f"/compare/{unit}?lang={lang}", _("Comparison")),
                (f"/regions/{unit}?lang={lang}", _("Regions")), (f"/targets/{unit}?lang={lang}", _("Targets")),
                (f"/methods?lang={lang}", _("Methods and data")), (f"/upload?lang={lang}", _("Upload"))]
        params = dict(request.query_params)
        lang_urls = {c: f"{request.url.path}?{urlencode({**params, 'lang': c})}" for c in LANGS}
        page = env.get_template(template).render(
            lang=lang, _=_, css=jinja2.utils.markupsafe.Markup(CSS), page_title=title, subtitle=kw.pop("subtitle", ""), menu=menu,
            langs=LANG_LABELS, lang_urls=lang_urls, api_url=api_url, version=__version__, **kw)
        return HTMLResponse(page, status_code=status)

    # -- errors: one shape ---------------------------------------------------------------------
    def _error_response(request: Request, body: dict[str, Any]) -> JSONResponse | HTMLResponse:
        status = int(body.get("status", 500))
        if request.url.path.startswith("/api") or request.url.path in ("/openapi.json",):
            return JSONResponse(body, status_code=status)
        lang = request.query_params.get("lang", "en")
        lang = lang if lang in LANGS else "en"
        _ = gettext_for(lang)
        return render(request, "sections.html", lang, title=_("Error"), api_url="/api/methods", status=status,
                      error=body, sections=[], pick_unit=False)

    @app.exception_handler(DigimeterError)
    async def _digimeter_error(request: Request, exc: DigimeterError):
        return _error_response(request, exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        errs = [{"message": e.get("msg", ""), "field": ".".join(str(x) for x in e.get("loc", ()))} for e in exc.errors()]
        return _error_response(request, {"ok": False, "error": "invalid request", "errors": errs, "status": 422})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        path, status = request.url.path, exc.status_code
        if status == 404:
            error = f"no page or API operation at {path}"
            errs = [{"message": error, "field": "path", "value": path,
                     "fix": "see /docs for the API's operations; pages: /country/KAZ, /compare/KAZ, /regions/KAZ, "
                            "/targets/KAZ, /methods, /upload"}]
        elif status == 405:
            allowed = exc.headers.get("Allow", "") if exc.headers else ""
            error = f"{request.method} is not allowed on {path}"
            errs = [{"message": error, "field": "method", "value": request.method,
                     "fix": f"use {allowed}" if allowed else "see /docs for the API's operations"}]
        else:
            error, errs = str(exc.detail), []
        resp = _error_response(request, {"ok": False, "error": error, "errors": errs, "status": status})
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception):  # never leak a traceback
        return _error_response(request, {"ok": False, "error": f"internal error ({type(exc).__name__})",
                                         "errors": [], "status": 500})

    # -- pages and their JSON twins ------------------------------------------------------------
    def page_data(page: str, unit: str, spec: str, lang: str, scenario: str | None,
                  regional: str | None = None) -> tuple[Report, tuple[str, ...]]:
        from ..spec import shipped_specs

        _check_lang(lang)
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

    def page_json(page: str, unit: str, spec: str, lang: str, scenario: str | None,
                  regional: str | None = None) -> Response:
        rep, ids = page_data(page, unit, spec, lang, scenario, regional)
        extra = ({"regional": rep.meta.get("regional"), "regional_choices": service.regional_choices(rep.unit)}
                 if page == "regions" else {})
        body = service.page_json(rep, page, lambda: {
            "ok": True, "page": page, "unit": rep.unit, "unit_name": rep.unit_name, "lang": rep.lang,
            "spec": rep.spec, "scenario": rep.scenario, **extra,
            "sections": [rep.section(i).to_dict() for i in ids]})
        return Response(body, media_type="application/json")

    def page_html(request: Request, page: str, unit: str, spec: str, lang: str, scenario: str | None,
                  regional: str | None = None):
        rep, ids = page_data(page, unit, spec, lang, scenario, regional)
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
                      regional_choices=choices, regional=rep.meta.get("regional"), spec=spec)

    @app.get("/", include_in_schema=False)
    def home(lang: str = "en"):
        return RedirectResponse(f"/country/KAZ?lang={lang if lang in LANGS else 'en'}")

    for page in ("country", "compare", "regions", "targets"):
        def make(page=page):
            def html_page(request: Request, unit: str, spec: str = "digital-nation", lang: str = "en",
                          scenario: Optional[str] = None):
                return page_html(request, page, unit, spec, lang, scenario)

            def html_regions(request: Request, unit: str, spec: str = "digital-nation", lang: str = "en",
                             scenario: Optional[str] = None, regional: Optional[str] = None):
                return page_html(request, page, unit, spec, lang, scenario, regional or None)

            def api_regions(unit: str, spec: str = Query("digital-nation", description="main index"),
                            lang: str = Query("en", description="en, ru or kk"),
                            scenario: Optional[str] = Query(None, description="target scenario"),
                            regional: Optional[str] = Query(None, description="the regional indicator or regional "
                                                                              "spec to show (default: see "
                                                                              "regional_choices)")) -> PageOut:
                return page_json(page, unit, spec, lang, scenario, regional or None)

            def html_pick(request: Request, unit: str = "KAZ", lang: str = "en"):
                return RedirectResponse(f"/{page}/{unit}?lang={lang}")

            def api_page(unit: str, spec: str = Query("digital-nation", description="main index"),
                         lang: str = Query("en", description="en, ru or kk"),
                         scenario: Optional[str] = Query(None, description="target scenario")) -> PageOut:
                return page_json(page, unit, spec, lang, scenario)

            app.add_api_route(f"/{page}/{{unit}}", html_regions if page == "regions" else html_page, methods=["GET"],
                              response_class=HTMLResponse, include_in_schema=False)
            app.add_api_route(f"/{page}", html_pick, methods=["GET"], include_in_schema=False)
            app.add_api_route(f"/api/{page}/{{unit}}", api_regions if page == "regions" else api_page,
                              methods=["GET"], response_model=PageOut, responses=ERRORS, summary=f"The {page} page as JSON", name=f"api_{page}")
        make()

    @app.get("/methods", response_class=HTMLResponse, include_in_schema=False)
    def methods_html(request: Request, unit: str = "KAZ", spec: str = "digital-nation", lang: str = "en"):
        return page_html(request, "methods", unit, spec, lang, None)

    @app.get("/api/methods", response_model=PageOut, responses=ERRORS, summary="Methods and data as JSON")
    def methods_api(unit: str = "KAZ", spec: str = "digital-nation", lang: str = "en"):
        return page_json("methods", unit, spec, lang, None)

    # -- uploads ----------------------------------------------------------------------------------
    def _build_spec_upload(name: str, data: bytes, unit: str) -> dict[str, Any]:
        from ..build import build
        from ..store import open_store

        spec = parse_spec_upload(name, data)
        with service.lock:
            store = open_store(service.store_path, read_only=service.store_path is not None)
            try:
                ix = build(spec, store)
            finally:
                store.close()
        return _build_out(ix, unit)

    def _build_data_upload(name: str, data: bytes, spec: str, unit: str) -> dict[str, Any]:
        from ..build import build
        from ..spec import shipped_specs
        from ..store import Store

        if spec not in shipped_specs():
            raise NotFoundError(f"no shipped spec named '{spec}'", field="spec", value=spec,
                                fix=f"one of: {', '.join(shipped_specs())}")
        with tempfile.TemporaryDirectory(prefix="digimeter-upload-") as tmp:
            tmpdir = Path(tmp)
            dst = tmpdir / "store.duckdb"
            with service.lock:
                if service.store_path is None:
                    raise DataError("the dashboard runs without a store file; cannot import", field="store")
                shutil.copyfile(service.store_path, dst)
            path = (tmpdir / name).resolve()
            if path.parent != tmpdir.resolve():   # belt and braces: never outside the private folder
                raise DataError("unsafe file name", field="filename", value=name)
            path.write_bytes(data)
            store = Store(dst)
            try:
                rep = store.import_file(path, dataset=name)
                ix = build(spec, store)
            finally:
                store.close()
        return _build_out(ix, unit, import_report=str(rep))

    @app.post("/api/upload/spec", response_model=BuildOut, responses=ERRORS,
              summary="Upload a spec YAML; get the rebuilt index")
    async def upload_spec_api(file: UploadFile = File(...), unit: str = Form("KAZ")):
        name = safe_filename(file.filename, (".yaml", ".yml"))
        data = await _read_limited(file, spec_limit)
        return _build_spec_upload(name, data, unit)

    @app.post("/api/upload/data", response_model=BuildOut, responses=ERRORS,
              summary="Upload a CSV/XLSX data file; get the index rebuilt with it (a private copy of the store)")
    async def upload_data_api(file: UploadFile = File(...), spec: str = Form("digital-nation"),
                              unit: str = Form("KAZ")):
        name = safe_filename(file.filename, (".csv", ".xlsx"))
        data = await _read_limited(file, data_limit)
        return _build_data_upload(name, data, spec, unit)

    def _upload_page(request: Request, lang: str, result: dict[str, Any] | None = None, unit: str = "KAZ"):
        from ..spec import shipped_specs

        _ = gettext_for(_check_lang(lang))
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
                      spec_kb=spec_limit // 1024, data_kb=data_limit // 1024, specs=list(shipped_specs()),
                      default_spec="digital-nation",
                      unit=unit, **kw)

    @app.get("/upload", response_class=HTMLResponse, include_in_schema=False)
    def upload_html(request: Request, lang: str = "en"):
        return _upload_page(request, lang)

    @app.post("/upload/spec", response_class=HTMLResponse, include_in_schema=False)
    async def upload_spec_html(request: Request, file: UploadFile = File(...), unit: str = Form("KAZ"),
                               lang: str = "en"):
        name = safe_filename(file.filename, (".yaml", ".yml"))
        data = await _read_limited(file, spec_limit)
        return _upload_page(request, lang, _build_spec_upload(name, data, unit), unit)

    @app.post("/upload/data", response_class=HTMLResponse, include_in_schema=False)
    async def upload_data_html(request: Request, file: UploadFile = File(...), spec: str = Form("digital-nation"),
                               unit: str = Form("KAZ"), lang: str = "en"):
        name = safe_filename(file.filename, (".csv", ".xlsx"))
        data = await _read_limited(file, data_limit)
        return _upload_page(request, lang, _build_data_upload(name, data, spec, unit), unit)

    @app.get("/api/health", summary="Liveness")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__, "sections": list(SECTION_IDS)}

    return app
