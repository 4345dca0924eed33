"""Uploads are parsed and built in a child process, never on the server's event loop.

Each upload runs in its own child process, forked from a single-threaded fork server that has already
imported digimeter (so a job starts in milliseconds, not seconds). The parent watches the child's
resident memory every few milliseconds and kills it when it passes :data:`UPLOAD_MEMORY`, or when the
time budget (:data:`UPLOAD_SECONDS`) runs out; the child also reports its peak resident memory with its
result, so a job that spiked past the cap between two looks is refused too. Either way the upload is
answered with a 413 naming the limit, and the server keeps answering other requests meanwhile.

The cap is on memory really used (resident pages), not on address space: libraries reserve address
space by the gigabyte (thread stacks and allocator arenas grow with the number of cores), so an
address-space cap refuses small uploads on one machine and lets large ones through on another.
At most :data:`MAX_JOBS` children run at once; later uploads wait their turn.

The child sends back a JSON-able result or the one JSON error shape; paths of the private temporary
folder are replaced by the uploaded file's name before anything leaves the child.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from typing import Any, Callable

from ..errors import DigimeterError, Problem

#: seconds an upload may take (parse, validate, import into a private store copy, build)
UPLOAD_SECONDS = 60.0
#: resident memory an upload's child process may use, in bytes (its imported libraries included)
UPLOAD_MEMORY = 3 * 1024 ** 3
#: uploads processed at once (others wait)
MAX_JOBS = 2
#: seconds between two looks at a running child's memory
_WATCH_SECONDS = 0.01

_ctx_lock = threading.Lock()
_ctx: Any = None
_slots = threading.BoundedSemaphore(MAX_JOBS)
PRELOAD = ["digimeter.web.worker", "digimeter.build", "digimeter.sources.files", "digimeter.spec",
           "digimeter._util.yamlsafe"]


class UploadError(DigimeterError):
    """An upload refused by its child process (the error it raised, or a limit it reached)."""


def _context():
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            if "forkserver" in mp.get_all_start_methods():
                ctx = mp.get_context("forkserver")
                ctx.set_forkserver_preload(PRELOAD)
            else:   # pragma: no cover - platforms without fork
                ctx = mp.get_context("spawn")
            _ctx = ctx
        return _ctx


def _noop() -> None:
    return None


_warmed = threading.Event()


def warm_up_in_background() -> None:
    """:func:`warm_up` in a daemon thread, once per process."""
    if not _warmed.is_set():
        _warmed.set()
        threading.Thread(target=warm_up, daemon=True, name="digimeter-upload-warm-up").start()


def warm_up() -> None:
    """Start the fork server (it imports digimeter once), so the first upload does not wait for it."""
    try:
        p = _context().Process(target=_noop, daemon=True)
        p.start()
        p.join(60)
    except Exception:   # noqa: BLE001 - warming is an optimisation only
        pass


def _scrub(obj: Any, secrets: list[tuple[str, str]]) -> Any:
    if isinstance(obj, str):
        for old, new in secrets:
            obj = obj.replace(old, new)
        return obj
    if isinstance(obj, dict):
        return {k: _scrub(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_scrub(v, secrets) for v in obj]
    return obj


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (``ru_maxrss`` is in KiB on Linux, bytes on macOS)."""
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)
    except (ImportError, OSError):   # pragma: no cover - no getrusage on this platform
        return 0


def _rss(pid: int) -> int:
    """The resident memory of process ``pid`` in bytes, or 0 when it has gone."""
    import psutil

    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error:
        return 0


def _child(conn, fn: Callable, args: tuple) -> None:
    import tempfile

    tmp = tempfile.mkdtemp(prefix="digimeter-upload-")
    secrets = [(os.path.realpath(tmp) + os.sep, ""), (tmp + os.sep, ""), (os.path.realpath(tmp), "(upload)"),
               (tmp, "(upload)"), (tempfile.gettempdir(), "(tmp)")]
    try:
        try:
            out = ("ok", fn(tmp, *args))
        except DigimeterError as e:
            out = ("error", e.to_dict())
        except MemoryError:
            out = ("memory", None)
        except RecursionError:
            out = ("error", {"ok": False, "error": "the upload is nested too deeply to process", "errors": [],
                             "status": 413})
        except Exception as e:   # noqa: BLE001 - never leak a traceback or a path
            out = ("error", {"ok": False, "error": f"internal error ({type(e).__name__})", "errors": [],
                             "status": 500})
        conn.send((*_scrub(out, secrets), _peak_rss()))
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        conn.close()


def _wait(p, parent, timeout: float, memory: int | None) -> tuple[str, Any]:
    """Wait for the child's answer, looking at its memory between waits: ``(kind, body)``."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        if memory and _rss(p.pid) > memory:
            return "memory", None
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", None
        if parent.poll(min(_WATCH_SECONDS, left)):
            try:
                kind, body, peak = parent.recv()
            except (EOFError, OSError):
                return "died", None
            return ("memory", None) if memory and peak > memory else (kind, body)


def run_job(fn: Callable, *args, timeout: float = UPLOAD_SECONDS, memory: int | None = UPLOAD_MEMORY) -> Any:
    """``fn(tmpdir, *args)`` in a child process with a time budget and a cap on its resident memory
    (blocking: call it from a worker thread). Returns its result, or raises :class:`UploadError` with
    its error (status 413 for a limit reached)."""
    ctx = _context()
    with _slots:
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
        p.start()
        child.close()
        try:
            kind, body = _wait(p, parent, timeout, memory)
        finally:
            if p.is_alive():
                p.kill()
            p.join(5)
            parent.close()
    if kind == "ok":
        return body
    if kind == "timeout":
        e = UploadError(f"the upload took longer than {timeout:g} s to process and was stopped", field="file",
                        fix="upload a smaller file, or import it on the command line (digimeter data import)")
        e.status = 413
        raise e
    if kind == "memory":
        e = UploadError(f"the upload needed more than {(memory or 0) // 1024 ** 2} MB of memory and was stopped",
                        field="file", fix="upload a smaller file, or import it on the command line "
                                          "(digimeter data import)")
        e.status = 413
        raise e
    if kind == "died":
        e = UploadError("processing the upload stopped before it answered", field="file",
                        fix="try again; if it happens again, import the file on the command line "
                            "(digimeter data import), which shows the error")
        e.status = 500
        raise e
    e = UploadError(body.get("error") or "upload refused",
                    problems=[Problem(**{k: v for k, v in p.items() if k in Problem.__dataclass_fields__})
                              for p in body.get("errors") or [] if isinstance(p, dict) and "message" in p])
    e.status = int(body.get("status") or 400)
    raise e


# --------------------------------------------------------------------------------------------------
# the jobs (module-level, so the child process can be given them)
# --------------------------------------------------------------------------------------------------

#: an uploaded XLSX is refused, before it is opened, when its parts unzip to more than this many bytes
UPLOAD_XLSX_BYTES = 64 * 1024 ** 2
#: ... or when a sheet holds more rows than this
UPLOAD_ROWS = 250_000


def spec_job(tmp: str, name: str, data: bytes, store_path: str | None, unit: str) -> dict[str, Any]:
    """Parse an uploaded spec with the safe loader and build it on the store (opened read-only)."""
    from ..build import build
    from ..store import open_store

    spec = parse_spec_upload(name, data)
    store = open_store(store_path, read_only=store_path is not None) if store_path else open_store(":memory:")
    try:
        ix = build(spec, store)
    finally:
        store.close()
    return build_out(ix, unit)


def data_job(tmp: str, name: str, data: bytes, spec: str, store_path: str, unit: str) -> dict[str, Any]:
    """Import an uploaded file into a private copy of the store (in ``tmp``) and rebuild ``spec`` with it."""
    import shutil
    from pathlib import Path

    from ..build import build
    from ..errors import DataError
    from ..sources.files import check_xlsx, import_file
    from ..store import Store, snapshot_copy

    tmpdir = Path(tmp)
    path = (tmpdir / name).resolve()
    if path.parent != tmpdir.resolve():   # belt and braces: never outside the private folder
        raise DataError("unsafe file name", field="filename", value=name)
    path.write_bytes(data)
    if name.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        check_xlsx(path, max_bytes=UPLOAD_XLSX_BYTES, max_rows=UPLOAD_ROWS, name=name)
    dst = tmpdir / "store.duckdb"
    snapshot_copy(store_path, dst, wait=None)
    store = Store(dst)
    try:
        rep = import_file(store, path, dataset=name)
        ix = build(spec, store)
    finally:
        store.close()
    return build_out(ix, unit, import_report=str(rep))


def parse_spec_upload(name: str, data: bytes):
    """Validate an uploaded spec exactly as the CLI does (:func:`~digimeter._util.yamlsafe.load_yaml` +
    :func:`parse_spec`)."""
    from .._util.yamlsafe import load_yaml
    from ..spec import parse_spec

    return parse_spec(load_yaml(data, source=name), source=name)


def build_out(ix, unit: str | None, import_report: str | None = None) -> dict[str, Any]:
    """The rebuilt index as an upload is answered (:class:`~digimeter.web.models.BuildOut`): the top 25
    and ``unit``, its rank, and a data upload's import report."""
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
