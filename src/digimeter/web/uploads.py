"""Uploads: a spec YAML or a CSV/XLSX data file, answered with the index rebuilt with it, as JSON
(``/api/upload/...``) or under the upload form (``/upload/...``).

Uploads are data, never code, and never stall the server: the body's size is checked while it streams
in (:class:`digimeter.web.app.Guard`, and again here), and each upload is parsed, validated and built
in a child process with a time budget and a memory cap (:mod:`digimeter.web.worker`). Errors never show
the server's temporary paths.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from ..errors import DataError, NotFoundError
from . import worker
from .deps import SAFE_NAME, Settings, get_service, get_settings
from .models import ERRORS, BuildOut
from .pages import upload_page
from .service import Service

router = APIRouter()

SPECS = (".yaml", ".yml")
DATA = (".csv", ".xlsx")


def safe_filename(name: str | None, allowed: tuple[str, ...]) -> str:
    """A plain file name with an allowed extension, or a :class:`DataError` naming the problem."""
    raw = name or ""
    if not raw or "/" in raw or "\\" in raw or ".." in raw or "\x00" in raw or not SAFE_NAME.match(raw):
        raise DataError("unsafe or missing file name", field="filename", value=raw,
                        fix="upload a file with a plain name such as my-spec.yaml (no folders, no '..')")
    if not raw.lower().endswith(allowed):
        raise DataError(f"wrong file type '{Path(raw).suffix or raw}'", field="filename", value=raw,
                        fix=f"upload a {' or '.join(allowed)} file")
    return raw


async def read_limited(file: UploadFile, limit: int) -> bytes:
    """The uploaded file's bytes: a 413 past ``limit``, a :class:`DataError` when it is empty."""
    data = await file.read(limit + 1)
    if len(data) > limit:
        e = DataError(f"file too large (more than {limit // 1024} KB)", field="file", value=file.filename,
                      fix=f"upload a file of at most {limit // 1024} KB")
        e.status = 413
        raise e
    if not data:
        raise DataError("empty file", field="file", value=file.filename, fix="choose a non-empty file")
    return data


async def build_spec_upload(service: Service, settings: Settings, name: str, data: bytes,
                            unit: str) -> dict[str, Any]:
    """Build an uploaded spec on the store's readable copy, in a child process (:func:`worker.spec_job`)."""
    await asyncio.to_thread(service.refresh)
    store = str(service.read_path) if service.read_path else None
    return await asyncio.to_thread(worker.run_job, worker.spec_job, name, data, store, unit,
                                   timeout=settings.upload_seconds, memory=settings.upload_memory)


async def build_data_upload(service: Service, settings: Settings, name: str, data: bytes, spec: str,
                            unit: str) -> dict[str, Any]:
    """Import an uploaded file into a private copy of the store and rebuild ``spec`` with it, in a child
    process (:func:`worker.data_job`)."""
    from ..spec import shipped_specs

    if spec not in shipped_specs():
        raise NotFoundError(f"no shipped spec named '{spec}'", field="spec", value=spec,
                            fix=f"one of: {', '.join(shipped_specs())}")
    if service.read_path is None:
        raise DataError("the dashboard runs without a store file; cannot import", field="store")
    await asyncio.to_thread(service.refresh)
    return await asyncio.to_thread(worker.run_job, worker.data_job, name, data, spec, str(service.read_path),
                                   unit, timeout=settings.upload_seconds, memory=settings.upload_memory)


@router.post("/api/upload/spec", response_model=BuildOut, responses=ERRORS,
             summary="Upload a spec YAML; get the rebuilt index")
async def upload_spec_api(file: UploadFile = File(...), unit: str = Form("KAZ"),
                          service: Service = Depends(get_service), settings: Settings = Depends(get_settings)):
    name = safe_filename(file.filename, SPECS)
    data = await read_limited(file, settings.spec_limit)
    return await build_spec_upload(service, settings, name, data, unit)


@router.post("/api/upload/data", response_model=BuildOut, responses=ERRORS,
             summary="Upload a CSV/XLSX data file; get the index rebuilt with it (a private copy of the store)")
async def upload_data_api(file: UploadFile = File(...), spec: str = Form("digital-nation"),
                          unit: str = Form("KAZ"), service: Service = Depends(get_service),
                          settings: Settings = Depends(get_settings)):
    name = safe_filename(file.filename, DATA)
    data = await read_limited(file, settings.data_limit)
    return await build_data_upload(service, settings, name, data, spec, unit)


@router.post("/upload/spec", response_class=HTMLResponse, include_in_schema=False)
async def upload_spec_html(request: Request, file: UploadFile = File(...), unit: str = Form("KAZ"),
                           lang: str = "en", service: Service = Depends(get_service),
                           settings: Settings = Depends(get_settings)):
    name = safe_filename(file.filename, SPECS)
    data = await read_limited(file, settings.spec_limit)
    return upload_page(request, settings, lang, await build_spec_upload(service, settings, name, data, unit), unit)


@router.post("/upload/data", response_class=HTMLResponse, include_in_schema=False)
async def upload_data_html(request: Request, file: UploadFile = File(...), spec: str = Form("digital-nation"),
                           unit: str = Form("KAZ"), lang: str = "en", service: Service = Depends(get_service),
                           settings: Settings = Depends(get_settings)):
    name = safe_filename(file.filename, DATA)
    data = await read_limited(file, settings.data_limit)
    return upload_page(request, settings, lang, await build_data_upload(service, settings, name, data, spec, unit),
                       unit)
