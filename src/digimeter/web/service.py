"""The dashboard's service: report sections computed by the library and kept (one computation at a time;
on disk too, under the store's home, shared with ``digimeter report``: :func:`digimeter.report.cached_report`).

Pages read a private copy of the store, refreshed from the last committed state whenever no import
holds the store: an import in another process never makes a page fail.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..report import Report, cached_report, section_body
from .models import PageOut


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
            tmp = tempfile.mkdtemp(prefix="digimeter-serve-")
            # removed when the service goes (or at exit), without TemporaryDirectory's ResourceWarning
            self._cleanup = weakref.finalize(self, shutil.rmtree, tmp, ignore_errors=True)
            self.read_path = Path(tmp) / "store.duckdb"
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
                # one evaluation per (unit, scenario, data vintage) shared with the CLI's reports: kept under
                # the real store's home (the copy read is private), keyed by the data read
                rep, drawn = cached_report(unit, spec, scenario=scenario, lang=lang, store=store, sections=ids,
                                           samples=self.samples, regional=regional,
                                           cache=self.store_path is not None,
                                           folder=self.store_path.parent / "cache" / "report"
                                           if self.store_path is not None else None)
            finally:
                store.close()
            rep.meta["regional_requested"] = regional
            self.put(rep, drawn)
            return rep

    def regional_choices(self, unit: str) -> list[dict[str, Any]]:
        """What the regions page can show for ``unit``, the default first: its regional spec (if shipped;
        :func:`digimeter.regions.default_regional_subject`), then the regional indicators of the store,
        best covered first (:func:`digimeter.regions.regional_indicators`)."""
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
            from ..spec import load_spec

            s = load_spec(spec)   # shown where the store has regional data of its inputs (as the default)
            if {c["code"] for c in out} & {n.indicator for n in s.indicator_nodes()}:
                out.insert(0, {"code": spec, "name": s.title or spec, "regions": None, "latest_year": None})
        return out

    def section_html(self, rep: Report, sid: str) -> str:
        key = (id(rep), sid)
        with self.lock:
            if key not in self.html:
                if len(self.html) > 256:
                    self.html.clear()
                self.html[key] = section_body(rep.section(sid), rep, self.svgs.setdefault(id(rep), {}))
            return self.html[key]
