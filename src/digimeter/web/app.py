"""The dashboard: FastAPI pages over the report's sections, each with a JSON twin under ``/api/``.

Faces are thin: every number comes from :func:`digimeter.report.make_report` (which calls build,
benchmark, regions, targets, uncertainty); uploads go through the same validation as the CLI
(:func:`digimeter.spec.parse_spec`, :func:`digimeter.sources.files.import_file`). Errors have one JSON
shape, ``{"ok": false, "error", "errors", "status"}`` (:meth:`DigimeterError.to_dict`).

:func:`create_app` puts together the routers: the pages (:mod:`digimeter.web.pages`), their JSON twins
(:mod:`digimeter.web.api`), the what-if page and twin (:mod:`digimeter.web.whatif`), the uploads
(:mod:`digimeter.web.uploads`) and the charts' scripts (:mod:`digimeter.web.assets`); their shared state
(the :class:`~digimeter.web.service.Service`, the upload settings, the templates) is on ``app.state``
(:mod:`digimeter.web.deps`).

Uploads are data, never code, and never stall the server:

- the body's size is checked while it streams in (a 413 as soon as it passes the limit, or at once from
  ``Content-Length``), and upload POSTs must come from this site (``Origin``/``Referer`` vs ``Host``);
- each upload is parsed, validated and built in a child process with a time budget and a memory cap
  (:mod:`digimeter.web.worker`), YAML through the one safe loader (no aliases, bounded depth), XLSX
  refused before it is opened when it unzips to more than a stated size or row count;
- errors never show the server's temporary paths.

Pages read a private copy of the store, refreshed from the last committed state whenever no import
holds the store: an import in another process never makes a page fail. Every response carries a
Content-Security-Policy (scripts only from /assets/: the bundled chart libraries, no inline script),
``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY``.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import DigimeterError
from . import api, assets, pages, uploads, whatif, worker
from .deps import PAGES, Settings, error_response, templates
from .models import ERRORS, BuildOut, ChartOut, ErrorOut, PageOut, SectionOut, TableOut
from .service import Service
from .uploads import safe_filename
from .worker import build_out, parse_spec_upload

__all__ = ["create_app", "Guard", "CSP_PAGES", "CSP_DOCS", "MULTIPART_SLACK", "SPEC_LIMIT", "DATA_LIMIT",
           # the names this module had before the routers moved out
           "Service", "PAGES", "ERRORS", "BuildOut", "ChartOut", "ErrorOut", "PageOut", "SectionOut", "TableOut",
           "build_out", "parse_spec_upload", "safe_filename"]

SPEC_LIMIT = 256 * 1024
DATA_LIMIT = 5 * 1024 * 1024


# --------------------------------------------------------------------------------------------------
# the guard: security headers, same-origin uploads, body size checked while it streams
# --------------------------------------------------------------------------------------------------

#: the dashboard's pages: scripts only from /assets/ (the charts); styles are inline (the report's CSS, SVG charts)
CSP_PAGES = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
             "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
             # the charts: the bundled Vega scripts from /assets/ only (no inline script, no eval: Vega's
             # expressions run through vega-interpreter, bundled with it)
             "script-src 'self'")
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
# errors: one shape (:func:`digimeter.web.deps.error_response`)
# --------------------------------------------------------------------------------------------------

async def digimeter_error(request: Request, exc: DigimeterError):
    return error_response(request, exc.to_dict())


async def validation_error(request: Request, exc: RequestValidationError):
    errs = [{"message": e.get("msg", ""), "field": ".".join(str(x) for x in e.get("loc", ()))} for e in exc.errors()]
    return error_response(request, {"ok": False, "error": "invalid request", "errors": errs, "status": 422})


async def http_error(request: Request, exc: StarletteHTTPException):
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
    resp = error_response(request, {"ok": False, "error": error, "errors": errs, "status": status})
    if exc.headers:
        resp.headers.update(exc.headers)
    return resp


async def server_error(request: Request, exc: Exception):  # never leak a traceback
    return error_response(request, {"ok": False, "error": f"internal error ({type(exc).__name__})",
                                    "errors": [], "status": 500})


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
    app.state.service = service = Service(store_path, samples=samples)
    app.state.settings = Settings(spec_limit, data_limit, upload_seconds, upload_memory)
    app.state.templates = templates()
    app.state.whatif = whatif.Bases(service)
    app.add_middleware(Guard, limits={"/api/upload/spec": spec_limit + MULTIPART_SLACK,
                                      "/upload/spec": spec_limit + MULTIPART_SLACK,
                                      "/api/upload/data": data_limit + MULTIPART_SLACK,
                                      "/upload/data": data_limit + MULTIPART_SLACK})
    worker.warm_up_in_background()   # the upload workers' fork server imports digimeter once
    app.add_exception_handler(DigimeterError, digimeter_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, server_error)
    for module in (pages, api, whatif, assets, uploads):
        app.include_router(module.router)
    return app
