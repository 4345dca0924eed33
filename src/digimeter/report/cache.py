"""One report per (unit, spec, scenario, language, sections, regional subject, samples, data vintage, code),
kept on disk under the store's home with its charts drawn (issue 18: compute once, render once).

:func:`cached_report` answers from ``<store home>/cache/report/<unit>-<key>.pkl`` when the key matches,
else calls :func:`~digimeter.report.make_report` (and, with ``svgs=True``, draws every chart) and writes
the file. The key is the SHA-256 of

- the store's data state (:func:`digimeter.store.cache.store_fingerprint`: a new vintage, an import or a
  correction makes a new key);
- the unit, the spec (its file's SHA-256 when it is a YAML file), the scenario (its file's SHA-256, shipped
  or given by path), the language, the sections, the regional subject and the sample sizes;
- the package version and the code fingerprint of the installed package (all of it but the CLI and the
  dashboard: :func:`digimeter.store.cache.code_fingerprint`).

The reading, the atomic writing and the bounded number of files are those of the targets' cache
(:mod:`digimeter.store.cache`). :func:`make_report` itself always computes; ``cache=False`` or
``DIGIMETER_NO_CACHE=1`` makes :func:`cached_report` compute too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from ..store.cache import (MISSING, cache_enabled, cache_folder, cache_path, code_fingerprint, read_cached,
                           store_fingerprint, write_cached)
from .model import DEFAULT_SAMPLES, SECTION_IDS, Report, optional

__all__ = ["cached_report", "report_key"]

#: bump when the cached value's layout changes
_FORMAT = 1
#: reports kept per unit (languages, scenarios, section sets)
_KEEP = 8
#: parts of the package a report cannot depend on
_NOT_REPORT = ("cli", "web")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _file_of(name: str | None, kind: str) -> str | None:
    """SHA-256 of the spec's or scenario's file (a path, or the shipped file of a name); else the name."""
    if name is None:
        return None
    p = Path(str(name))
    if p.suffix.lower() in (".yaml", ".yml", ".json") and p.is_file():
        return _digest(p)
    if kind == "scenario":
        T = optional("targets")
        shipped = T.shipped_scenarios().get(str(name)) if T is not None and hasattr(T, "shipped_scenarios") \
            else None
        if shipped is not None and Path(shipped).is_file():
            return _digest(Path(shipped))
    return f"name:{name}"   # a shipped spec: its file is in the code fingerprint


def report_key(store, unit: str, spec: str, *, scenario: str | None, lang: str, sections: Any,
               samples: dict[str, int] | None, regional: str | None) -> str:
    """The cache key of one report (see the module docstring)."""
    from .. import __version__

    payload = {"format": _FORMAT, "version": __version__, "code": code_fingerprint(_NOT_REPORT),
               "store": store_fingerprint(store), "unit": unit, "spec": [spec, _file_of(spec, "spec")],
               "scenario": [scenario, _file_of(scenario, "scenario")], "lang": lang,
               "sections": list(sections) if sections is not None else list(SECTION_IDS),
               "samples": {**DEFAULT_SAMPLES, **(samples or {})}, "regional": [regional, _file_of(regional, "spec")]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def cached_report(unit: str = "KAZ", spec: str = "digital-nation", *, scenario: str | None = None,
                  lang: str = "en", store=None, progress: Callable[[str], None] | None = None,
                  sections: Any = None, samples: dict[str, int] | None = None, regional: str | None = None,
                  cache: bool = True, svgs: bool = False, folder: str | Path | None = None
                  ) -> tuple[Report, dict[str, str]]:
    """:func:`~digimeter.report.make_report` (same parameters), answered from the on-disk cache when the
    same report was made on the same data and code before. Returns ``(report, svgs)``: the charts drawn
    (``"{section}_{chart}"`` -> SVG, for :func:`~digimeter.report.write_report`); with ``svgs=True`` all of
    them are drawn before the report is kept (render once), else those kept with it (maybe none).
    ``folder``: where the files go (default ``<store home>/cache/report``; the dashboard, which reads a
    private copy of the store, names the real home's). ``cache=False`` or ``DIGIMETER_NO_CACHE=1``:
    always computed, nothing read or written."""
    from ..store.cache import open_reading_store
    from .html import render_svgs
    from .render import ChartRenderer
    from .make import make_report

    own = store is None
    store = store or open_reading_store()
    try:
        path = key = None
        if cache_enabled(cache):
            where = Path(folder) if folder is not None else cache_folder(store, "report")
            if where is not None:
                code = store.unit(unit)["code"]
                key = report_key(store, code, spec, scenario=scenario, lang=lang, sections=sections,
                                 samples=samples, regional=regional)
                path = cache_path(where, code, key)
                got = read_cached(path, key)   # MISSING (none, unreadable) or anything else: computed again
                if got is not MISSING and isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], Report):
                    rep, drawn = got
                    if svgs and not drawn:
                        drawn = render_svgs(rep)
                        write_cached(path, key, (rep, drawn), keep=_KEEP)
                    return rep, dict(drawn)
        # with svgs, the charts are drawn while the later sections are computed (render once)
        renderer = ChartRenderer() if svgs else None
        try:
            rep = make_report(unit, spec, scenario=scenario, lang=lang, store=store, progress=progress,
                              sections=sections, samples=samples, regional=regional,
                              on_section=renderer.add if renderer is not None else None)
            drawn = render_svgs(rep, renderer.result()) if renderer is not None else {}
        finally:
            if renderer is not None:
                renderer.close()
        if path is not None:
            write_cached(path, key, (rep, drawn), keep=_KEEP)
        return rep, dict(drawn)
    finally:
        if own:
            store.close()
