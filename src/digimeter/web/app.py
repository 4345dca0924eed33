"""The dashboard: FastAPI pages over the report's sections, each with a JSON twin under ``/api/``.

Faces are thin: every number comes from :func:`digimeter.report.make_report` (which calls build,
benchmark, regions, targets, uncertainty); uploads go through the same validation as the CLI
(:func:`digimeter.spec.parse_spec`, :func:`digimeter.sources.files.import_file`). Errors have one JSON
shape, ``{"ok": false, "error", "errors", "status"}`` (:meth:`DigimeterError.to_dict`).

Uploads are data, never code, and never stall the server:

- the body's size is checked while it streams in (a 413 as soon as it passes the limit, or at once from
  ``Content-Length``), and upload POSTs must come from this site (``Origin``/``Referer`` vs ``Host``);
- each upload is parsed, validated and built in a child process with a time budget and a memory cap
  (:mod:`digimeter.web.worker`), YAML through the one safe loader (no aliases, bounded depth), XLSX
  refused before it is opened when it unzips to more than a stated size or row count;
- errors never show the server's temporary paths.

Pages read a private copy of the store, refreshed from the last committed state whenever no import
holds the store: an import in another process never makes a page fail. Every response carries a
Content-Security-Policy (scripts only from /assets/: the bundled chart libraries, no inline script), ``X-Content-Type-Options: nosniff`` and
``X-Frame-Options: DENY``.
"""

from __future__ import annotations

import asyncio
import html
import re
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote, urlencode

import jinja2
from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import DataError, DigimeterError, NotFoundError, SpecError
from ..report import CSS, LANGS, Report, SECTION_IDS, gettext_for, make_report, section_body, table_html
from . import worker
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
        self.read_path: Path | None = None
        self._seen: tuple | None = None
        if str(store_path) == ":memory:":
            self.store_path = None
        else:
            if not path.exists():
                open_store(path).close()    # creates the store from the bundled snapshot on first use
            self.store_path = path
            # pages read a private copy of the last committed state: an import elsewhere never blocks them
            self._tmp = tempfile.TemporaryDirectory(prefix="digimeter-serve-")
            self.read_path = Path(self._tmp.name) / "store.duckdb"
            self.refresh(wait=None)
        self.lock = threading.RLock()
        self.cache: OrderedDict[tuple, Report] = OrderedDict()
        self.html: dict[tuple, str] = {}
        self.svgs: dict[int, dict[str, str]] = {}   # id(report) -> chart SVGs already drawn ("{section}_{chart}")
        self.json: dict[tuple, bytes] = {}          # (id(report), page) -> the JSON twin, validated and encoded
        self.cache_size = cache_size
        self.samples = samples
        self.default_scenario: str | None = None

    def _stamp(self) -> tuple | None:
        try:
            st = self.store_path.stat()
            wal = Path(str(self.store_path) + ".wal")
            return (st.st_mtime_ns, st.st_size, wal.stat().st_mtime_ns if wal.exists() else None)
        except OSError:
            return None

    def refresh(self, wait: float | None = 0.0) -> None:
        """Copy the store's last committed state for reading, when it changed and no writer holds it
        (otherwise the copy made before keeps answering)."""
        from ..store import snapshot_copy

        if self.store_path is None:
            return
        stamp = self._stamp()
        if stamp == self._seen and self.read_path.exists():
            return
        if snapshot_copy(self.store_path, self.read_path, wait=wait):
            self._seen = stamp
        elif not self.read_path.exists():
            from ..store import StoreBusyError, busy_message

            raise StoreBusyError(busy_message(self.store_path))

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

            # pages only read, from the private copy of the last committed state
            self.refresh()
            store = open_store(self.read_path, read_only=True) if self.read_path else open_store(None)
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


def build_out(ix, unit: str | None, import_report: str | None = None) -> dict[str, Any]:
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
# the guard: security headers, same-origin uploads, body size checked while it streams
# --------------------------------------------------------------------------------------------------

#: the dashboard's pages: scripts only from /assets/ (the charts); styles are inline (the report's CSS, SVG charts)
CSP_PAGES = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
             "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
             # the charts: the bundled Vega scripts from /assets/ only (no inline script); Vega compiles its
             # expressions with Function(), hence 'unsafe-eval'
             "script-src 'self' 'unsafe-eval'")
#: /docs and /redoc load FastAPI's Swagger UI / ReDoc from their CDN with an inline starter script
CSP_DOCS = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
            "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'")
#: room for the multipart envelope (boundaries, headers, form fields) around the uploaded file
MULTIPART_SLACK = 16 * 1024


class Guard:
    """Pure ASGI middleware: security headers on every response; on upload POSTs (``limits``: path ->
    bytes), a same-origin check (``Origin``, else ``Referer``, against ``Host``) and the body's size
    checked as it streams in (a 413 as soon as it passes the limit, without reading the rest)."""

    def __init__(self, app, limits: dict[str, int]):
        self.app = app
        self.limits = limits

    @staticmethod
    async def _refuse(scope, send, status: int, error: str, fix: str) -> None:
        import json

        body = {"ok": False, "error": error, "errors": [{"message": error, "field": "request", "fix": fix}],
                "status": status}
        if scope["path"].startswith("/api"):
            data, ctype = json.dumps(body).encode(), b"application/json"
        else:
            data = (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>digimeter</title></head><body>"
                    f"<p>{html.escape(error)}</p><p>{html.escape(fix)}</p><p><a href=\"/upload\">/upload</a></p>"
                    f"</body></html>").encode()
            ctype = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(data)).encode()),
                                (b"connection", b"close")] + Guard._security(scope["path"])})
        await send({"type": "http.response.body", "body": data})

    @staticmethod
    def _security(path: str) -> list[tuple[bytes, bytes]]:
        csp = CSP_DOCS if path.startswith(("/docs", "/redoc")) else CSP_PAGES
        return [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
                (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin")]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        extra = self._security(path)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": list(message.get("headers", [])) +
                           [(k, v) for k, v in extra if k not in have]}
            await send(message)

        limit = self.limits.get(path.rstrip("/")) if scope.get("method") == "POST" else None
        if limit is None:
            return await self.app(scope, receive, send_with_headers)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        from urllib.parse import urlsplit

        host = headers.get(b"host", b"").decode("latin-1").lower()
        source = headers.get(b"origin") or headers.get(b"referer")
        if source is not None:
            try:
                src = source.decode("latin-1")
                netloc = urlsplit(src).netloc.lower() if src != "null" else "null"
            except ValueError:
                netloc = "?"
            if netloc != host:
                return await self._refuse(scope, send, 403, "uploads are accepted from this site's own pages only",
                                          "open the upload form on this server (/upload) and send the file from there")
        size = headers.get(b"content-length")
        if size is not None:
            try:
                n = int(size)
            except ValueError:
                return await self._refuse(scope, send, 400, "bad Content-Length header", "send a valid request")
            if n > limit:
                return await self._refuse(scope, send, 413, f"upload too large ({n // 1024} KB; limit "
                                          f"{(limit - MULTIPART_SLACK) // 1024} KB)", "upload a smaller file")
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                return await self._refuse(scope, send, 413, f"upload too large (more than "
                                          f"{(limit - MULTIPART_SLACK) // 1024} KB)", "upload a smaller file")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send_with_headers)


# --------------------------------------------------------------------------------------------------
# the app
# --------------------------------------------------------------------------------------------------

def create_app(store_path: str | Path | None = None, *, samples: dict[str, int] | None = None,
               spec_limit: int = SPEC_LIMIT, data_limit: int = DATA_LIMIT,
               upload_seconds: float = worker.UPLOAD_SECONDS, upload_memory: int | None = worker.UPLOAD_MEMORY
               ) -> FastAPI:
    """The dashboard app. ``store_path``: the DuckDB store (default: the user's store). Uploads: at most
    ``spec_limit``/``data_limit`` bytes, processed within ``upload_seconds`` and ``upload_memory`` bytes."""
    app = FastAPI(title="digimeter", version=__version__,
                  description="How digital is a country and each of its regions, what holds it back, and can it "
                              "reach its digital targets in time? Every HTML page has a JSON twin under /api/.")
    service = Service(store_path, samples=samples)
    app.state.service = service
    app.add_middleware(Guard, limits={"/api/upload/spec": spec_limit + MULTIPART_SLACK,
                                      "/upload/spec": spec_limit + MULTIPART_SLACK,
                                      "/api/upload/data": data_limit + MULTIPART_SLACK,
                                      "/upload/data": data_limit + MULTIPART_SLACK})
    worker.warm_up_in_background()   # the upload workers' fork server imports digimeter once
    env = jinja2.Environment(loader=jinja2.DictLoader(TEMPLATES), autoescape=True)

    def render(request: Request, template: str, lang: str, *, title: str, api_url: str, status: int = 200,
               **kw) -> HTMLResponse:
        _ = gettext_for(lang)
        unit = kw.get("unit") or request.query_params.get("unit") or "KAZ"
        # the menu keeps the page's state (language, spec, scenario): every URL is a permalink
        keep = {k: request.query_params[k] for k in ("spec", "scenario")
                if _SAFE_NAME.match(request.query_params.get(k) or "")}
        keep = f"&{urlencode(keep)}" if keep else ""
        menu = [(f"/country/{unit}?lang={lang}{keep}", _("Country")),
                (f"/compare/{unit}?lang={lang}{keep}", _("Comparison")),
                (f"/regions/{unit}?lang={lang}{keep}", _("Regions")), (f"/targets/{unit}?lang={lang}{keep}", _("Targets")),
                (f"/whatif/{unit}?lang={lang}{keep}", _("What if")),
                (f"/methods?lang={lang}{keep}", _("Methods and data")), (f"/upload?lang={lang}", _("Upload"))]
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
                      regional_choices=choices, regional=rep.meta.get("regional"), spec=spec, scenario=scenario)

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
                rest = {k: v for k, v in request.query_params.items() if k not in ("unit", "lang") and v}
                return RedirectResponse(f"/{page}/{quote(unit, safe='')}?{urlencode({'lang': lang, **rest})}")

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

    # -- what if: a page and its JSON twin (digimeter.web.whatif) ------------------------------------
    from . import assets
    from . import whatif as whatif_page

    whatif_page.register(app, service, render, env, ERRORS)
    assets.register(app)   # the charts' scripts (digimeter.web.assets), served from the package

    # -- uploads: in a child process, off the event loop (see digimeter.web.worker) ----------------
    async def _build_spec_upload(name: str, data: bytes, unit: str) -> dict[str, Any]:
        await asyncio.to_thread(service.refresh)
        store = str(service.read_path) if service.read_path else None
        return await asyncio.to_thread(worker.run_job, worker.spec_job, name, data, store, unit,
                                       timeout=upload_seconds, memory=upload_memory)

    async def _build_data_upload(name: str, data: bytes, spec: str, unit: str) -> dict[str, Any]:
        from ..spec import shipped_specs

        if spec not in shipped_specs():
            raise NotFoundError(f"no shipped spec named '{spec}'", field="spec", value=spec,
                                fix=f"one of: {', '.join(shipped_specs())}")
        if service.read_path is None:
            raise DataError("the dashboard runs without a store file; cannot import", field="store")
        await asyncio.to_thread(service.refresh)
        return await asyncio.to_thread(worker.run_job, worker.data_job, name, data, spec, str(service.read_path),
                                       unit, timeout=upload_seconds, memory=upload_memory)

    @app.post("/api/upload/spec", response_model=BuildOut, responses=ERRORS,
              summary="Upload a spec YAML; get the rebuilt index")
    async def upload_spec_api(file: UploadFile = File(...), unit: str = Form("KAZ")):
        name = safe_filename(file.filename, (".yaml", ".yml"))
        data = await _read_limited(file, spec_limit)
        return await _build_spec_upload(name, data, unit)

    @app.post("/api/upload/data", response_model=BuildOut, responses=ERRORS,
              summary="Upload a CSV/XLSX data file; get the index rebuilt with it (a private copy of the store)")
    async def upload_data_api(file: UploadFile = File(...), spec: str = Form("digital-nation"),
                              unit: str = Form("KAZ")):
        name = safe_filename(file.filename, (".csv", ".xlsx"))
        data = await _read_limited(file, data_limit)
        return await _build_data_upload(name, data, spec, unit)

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
        return _upload_page(request, lang, await _build_spec_upload(name, data, unit), unit)

    @app.post("/upload/data", response_class=HTMLResponse, include_in_schema=False)
    async def upload_data_html(request: Request, file: UploadFile = File(...), spec: str = Form("digital-nation"),
                               unit: str = Form("KAZ"), lang: str = "en"):
        name = safe_filename(file.filename, (".csv", ".xlsx"))
        data = await _read_limited(file, data_limit)
        return _upload_page(request, lang, await _build_data_upload(name, data, spec, unit), unit)

    @app.get("/api/health", summary="Liveness")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__, "sections": list(SECTION_IDS)}

    return app
