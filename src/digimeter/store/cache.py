"""The on-disk cache's common parts (issue 18, compute once), shared by the targets' evaluations
(:mod:`digimeter.targets.cache`) and the report (:mod:`digimeter.report.cache`):

- :func:`store_fingerprint`: the store's data state (latest vintage and row count of the observations, a
  hash of every other table), so an import, a correction or a new boundary file all make a new key;
- :func:`code_fingerprint`: the package version and the size and mtime of the installed package's files
  (less the parts a cache declares irrelevant), so a change of code in a development checkout is never
  answered from an older computation;
- :func:`cache_folder`, :func:`cache_enabled` (``DIGIMETER_NO_CACHE=1`` turns every cache off),
  :func:`cache_path`, :func:`read_cached` and :func:`write_cached`: a value is only ever read under its own
  key, written atomically (a reader never sees half a file), and only the newest few files of one name are
  kept.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable

__all__ = ["store_fingerprint", "code_fingerprint", "cache_folder", "cache_enabled", "cache_path", "read_cached",
           "write_cached", "MISSING"]

_code_fps: dict[frozenset, str] = {}
#: what :func:`read_cached` returns when there is no readable value under the key
MISSING = object()


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


def code_fingerprint(exclude: Iterable[str] = ()) -> str:
    """The package version and the size and mtime of every file of the installed package, less the
    directories and files named in ``exclude`` (and compiled files); computed once per process."""
    skip = frozenset(exclude) | {"__pycache__"}
    if skip not in _code_fps:
        import digimeter

        root = Path(digimeter.__file__).resolve().parent
        h = hashlib.sha256(f"{root}:{digimeter.__version__}".encode())
        for dirpath, dirnames, files in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in skip)
            for f in sorted(files):
                if f.endswith((".pyc", ".pyo")) or f in skip:
                    continue
                st = os.stat(os.path.join(dirpath, f))
                h.update(f"{os.path.relpath(os.path.join(dirpath, f), root)}:{st.st_size}:{st.st_mtime_ns}\n"
                         .encode())
        _code_fps[skip] = h.hexdigest()
    return _code_fps[skip]


def cache_folder(store, kind: str) -> Path | None:
    """``<store home>/cache/<kind>`` (None for an in-memory store)."""
    p = str(getattr(store, "path", ":memory:"))
    if p == ":memory:":
        return None
    return Path(p).resolve().parent / "cache" / kind


def cache_enabled(cache: bool = True) -> bool:
    """``cache``, unless ``DIGIMETER_NO_CACHE`` is set (to anything but ``0``)."""
    return bool(cache) and os.environ.get("DIGIMETER_NO_CACHE", "") in ("", "0")


def cache_path(folder: Path, name: str, key: str) -> Path:
    """``<folder>/<name>-<key[:32]>.pkl`` (``name`` made safe for a file name)."""
    return Path(folder) / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}-{key[:32]}.pkl"


def read_cached(path: Path, key: str) -> Any:
    """The value written under ``key`` at ``path``; :data:`MISSING` when there is none or it cannot be read."""
    try:
        with open(path, "rb") as f:
            got = pickle.load(f)
        if isinstance(got, dict) and got.get("key") == key:
            return got["result"]
    except Exception:   # missing, truncated or unreadable (any unpickling error): compute
        pass
    return MISSING


def write_cached(path: Path, key: str, value: Any, keep: int = 4) -> None:
    """Write ``value`` under ``key`` atomically (a temporary file renamed), keeping the ``keep`` newest files
    of this name; a cache that cannot be written (read-only home) is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump({"key": key, "result": value}, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        stem = path.name.rsplit("-", 1)[0]
        mine = [p for p in path.parent.glob(f"{stem}-*.pkl") if len(p.name) == len(path.name)]
        mine.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in mine[keep:]:
            if old != path:
                old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass
