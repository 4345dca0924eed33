"""One evaluation per (scenario, data vintage), kept on disk under the store's home (issue 18: compute once).

:func:`evaluate_cached` answers a scenario from ``<store home>/cache/targets/<key>.pkl`` when the key
matches, else calls :func:`~digimeter.targets.evaluate` and writes the file. The key is the SHA-256 of

- the store's state (:func:`store_fingerprint`): the latest vintage and the number of observation rows,
  and a hash of every other table (units, indicators, origins, groups, names, geography files ...), so
  an import, a correction or a new boundary file all make a new key;
- the scenario (its canonical JSON, SHA-256) and every index spec its score/rank targets name;
- the package version and a fingerprint of the installed package's files (size, mtime; all but the
  faces: CLI, web, report, charts, translations), so a change of code in a development checkout is
  never answered from an older computation;
- the seed and the sample sizes.

A cache file is only ever read under its own key (written atomically: a reader never sees half a
file), so it cannot serve stale data; stale files are simply never read again (and are removed
when newer ones are written). ``DIGIMETER_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import pandas as pd

from ..store.cache import (MISSING, cache_enabled, cache_folder, cache_path, code_fingerprint, read_cached,
                           store_fingerprint, write_cached)

__all__ = ["store_fingerprint", "evaluation_key", "cache_dir", "evaluate_cached"]

#: bump when the cached value's layout changes
_FORMAT = 1
#: evaluations kept per scenario (e.g. the CLI's and the report's sample sizes)
_KEEP = 4
#: parts of the package that cannot change an evaluation (the faces, words and pictures)
_FACES = {"cli", "web", "report", "locale", "js", "__pycache__", "charts.py", "i18n.py", "interactive.py", "pdf.py",
          "whatif.py"}


def _code_fingerprint() -> str:
    """:func:`digimeter.store.cache.code_fingerprint` of every file an evaluation can depend on (code,
    shipped specs, scenarios, crosswalks, data; not the faces: :data:`_FACES`)."""
    return code_fingerprint(_FACES)


def _scenario_digest(sc) -> str:
    from ..spec import load_spec

    h = hashlib.sha256(sc.model_dump_json().encode())
    for t in sc.targets:
        if getattr(t, "spec", None):
            h.update(load_spec(t.spec).model_dump_json().encode())
        ref = getattr(getattr(t, "threshold", None), "rank_score", None)
        if ref is not None and getattr(ref, "spec", None):
            h.update(load_spec(ref.spec).model_dump_json().encode())
    return h.hexdigest()


def evaluation_key(sc, store, *, seed: int, n_samples: int, index_samples: int) -> str:
    """The cache key of one evaluation (see the module docstring)."""
    from .. import __version__

    payload = {"format": _FORMAT, "version": __version__, "code": _code_fingerprint(),
               "store": store_fingerprint(store), "scenario": _scenario_digest(sc),
               "seed": int(seed), "n_samples": int(n_samples), "index_samples": int(index_samples)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def cache_dir(store) -> Path | None:
    """``<store home>/cache/targets`` (None for an in-memory store)."""
    return cache_folder(store, "targets")


def evaluate_cached(scenario, store, *, seed: int = 0, n_samples: int = 2000, index_samples: int | None = None,
                    progress: Callable[[str], None] | None = None, cache: bool = True) -> pd.DataFrame:
    """:func:`~digimeter.targets.evaluate`, answered from the on-disk cache when this exact evaluation
    (same data, scenario, code, seed and sample sizes) was made before; ``cache=False`` (or
    ``DIGIMETER_NO_CACHE=1``) always computes. The result is the same DataFrame either way."""
    from .evaluation import evaluate
    from .index import INDEX_SAMPLES
    from .scenario import load_scenario

    sc = load_scenario(scenario)
    index_samples = INDEX_SAMPLES if index_samples is None else int(index_samples)
    folder = cache_dir(store) if cache_enabled(cache) else None
    path = None
    if folder is not None:
        key = evaluation_key(sc, store, seed=seed, n_samples=n_samples, index_samples=index_samples)
        path = cache_path(folder, sc.name, key)
        got = read_cached(path, key)
        if got is not MISSING:
            return got
    df = evaluate(sc, store, seed=seed, n_samples=n_samples, index_samples=index_samples, progress=progress)
    if path is not None:
        write_cached(path, key, df, keep=_KEEP)
    return df

