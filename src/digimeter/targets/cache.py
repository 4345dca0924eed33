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
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Callable

import pandas as pd

__all__ = ["store_fingerprint", "evaluation_key", "cache_dir", "evaluate_cached"]

#: bump when the cached value's layout changes
_FORMAT = 1
#: evaluations kept per scenario (e.g. the CLI's and the report's sample sizes)
_KEEP = 4
_code_fp: str | None = None


def store_fingerprint(store) -> str:
    """The store's data state: latest vintage and row count of the observations (append-only), and a
    hash of every other table's rows. Any write to the store changes it."""
    tabs = store.con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                             "ORDER BY table_name").fetchall()
    parts = []
    for (tb,) in tabs:
        q = '"' + tb.replace('"', '""') + '"'
        if tb == "observations":
            r = store.con.execute(f"SELECT count(*), max(vintage) FROM {q}").fetchone()
        else:
            r = store.con.execute(f"SELECT count(*), sum(hash(t)) FROM {q} t").fetchone()
        parts.append(f"{tb}:{r[0]}:{r[1]}")
    return "|".join(parts)


#: parts of the package that cannot change an evaluation (the faces, words and pictures)
_FACES = {"cli", "web", "report", "locale", "js", "__pycache__", "charts.py", "i18n.py", "interactive.py", "pdf.py",
          "whatif.py"}


def _code_fingerprint() -> str:
    """Size and mtime of every file of the installed package that an evaluation can depend on (code,
    shipped specs, scenarios, crosswalks, data; not the faces: :data:`_FACES`)."""
    global _code_fp
    if _code_fp is None:
        import digimeter

        root = Path(digimeter.__file__).resolve().parent
        h = hashlib.sha256(str(root).encode())
        for dirpath, dirnames, files in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in _FACES)
            for f in sorted(files):
                if f.endswith((".pyc", ".pyo")) or f in _FACES:
                    continue
                st = os.stat(os.path.join(dirpath, f))
                h.update(f"{os.path.relpath(os.path.join(dirpath, f), root)}:{st.st_size}:{st.st_mtime_ns}\n"
                         .encode())
        _code_fp = h.hexdigest()
    return _code_fp


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
    p = str(getattr(store, "path", ":memory:"))
    if p == ":memory:":
        return None
    return Path(p).resolve().parent / "cache" / "targets"


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
    folder = cache_dir(store) if cache and os.environ.get("DIGIMETER_NO_CACHE", "") in ("", "0") else None
    path = None
    if folder is not None:
        key = evaluation_key(sc, store, seed=seed, n_samples=n_samples, index_samples=index_samples)
        path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', sc.name)}-{key[:32]}.pkl"
        try:
            with open(path, "rb") as f:
                got = pickle.load(f)
            if isinstance(got, dict) and got.get("key") == key:
                return got["result"]
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, ValueError):
            pass   # missing or unreadable: compute
    df = evaluate(sc, store, seed=seed, n_samples=n_samples, index_samples=index_samples, progress=progress)
    if path is not None:
        _write(path, {"key": key, "result": df})
    return df


def _write(path: Path, value) -> None:
    """Write atomically (a temporary file renamed), keeping this scenario's :data:`_KEEP` newest files; a
    cache that cannot be written (read-only home) is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        stem = path.name.rsplit("-", 1)[0]
        mine = [p for p in path.parent.glob(f"{stem}-*.pkl") if len(p.name) == len(path.name)]
        mine.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in mine[_KEEP:]:
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass
