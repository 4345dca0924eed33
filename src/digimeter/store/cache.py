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
  kept;
- :func:`remember_reads`: a read-only store's repeated reads (``indicator``, ``unit``, ``units``,
  ``observations``) answered once per data state (the store's path and :func:`store_fingerprint`);
  :func:`open_reading_store`: the user's store opened read-only with its reads remembered, for the commands
  that only read (the report, the targets).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable

__all__ = ["store_fingerprint", "code_fingerprint", "cache_folder", "cache_enabled", "cache_path", "read_cached",
           "write_cached", "MISSING", "remember_reads", "REMEMBERED_READS"]

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


#: the Store readers :func:`remember_reads` answers once per data state
REMEMBERED_READS = ("indicator", "unit", "units", "observations")
#: data states kept in memory: (store file, store_fingerprint) -> {(reader, arguments): answer}
_read_memos: OrderedDict[tuple[str, str], OrderedDict] = OrderedDict()
_KEEP_STATES = 2
#: bytes of answers kept per data state; beyond it the least recently asked answers are let go (a report
#: keeps about 11 MB; a server asking about many units would otherwise keep every answer it ever gave)
MEMO_BYTES = 256 * 1024 * 1024


def _nbytes(value: Any) -> int:
    """About how much memory an answer holds (a frame's columns, without Python objects' own sizes)."""
    usage = getattr(value, "memory_usage", None)
    if callable(usage):
        try:
            total = usage(index=True, deep=False)
            return int(total.sum() if hasattr(total, "sum") else total)
        except (TypeError, ValueError):
            pass
    return 1024


def _frozen(value: Any) -> tuple[bool, Any]:
    """``(True, value as a hashable argument)``: a str, an int or None as it is, any other iterable as a
    tuple (which the store's readers take as they take a list); ``(False, None)`` when it cannot be."""
    if value is None or isinstance(value, (str, int)):
        return True, value
    try:
        out = tuple(value)
        hash(out)
    except TypeError:
        return False, None
    return True, out


def _remembering(read, name: str, memo: OrderedDict):
    """``read`` (a bound Store reader) answered from ``memo`` when asked the same again; the answer is
    copied each time (a caller may change what it gets), errors are never kept. ``memo`` holds at most
    :data:`MEMO_BYTES` of answers, the least recently asked let go first."""

    def remembered(*args, **kwargs):
        frozen = [_frozen(a) for a in args] + [_frozen(v) for v in kwargs.values()]
        if not all(ok for ok, _ in frozen):
            return read(*args, **kwargs)
        args = tuple(v for _, v in frozen[:len(args)])
        kwargs = dict(zip(kwargs, (v for _, v in frozen[len(args):])))
        key = (name, args, tuple(sorted(kwargs.items())))
        if key in memo:
            memo.move_to_end(key)
            got = memo[key][0]
        else:
            got = read(*args, **kwargs)
            size = _nbytes(got)
            memo[key] = (got, size)
            total = sum(n for _, n in memo.values())
            while total > MEMO_BYTES and len(memo) > 1:
                _, (_, n) = memo.popitem(last=False)
                total -= n
        return got.copy() if hasattr(got, "copy") else got

    remembered.__wrapped__ = read
    remembered.__doc__ = read.__doc__
    return remembered


def remember_reads(store):
    """``store`` with its readers :data:`REMEMBERED_READS` answered once per arguments and data state.

    Only a store opened read-only on a file: DuckDB lets no process write to a file while a reader holds
    it, so its data cannot change while it is open. The answers are kept under the file and its
    :func:`store_fingerprint`, so a store opened again after an import (a new vintage, new indicators ...)
    is asked afresh; another read-only store on the same unchanged file shares them (the newest
    ``_KEEP_STATES`` data states are kept). Returns the same object; any other store is left as it is."""
    path = str(getattr(store, "path", ":memory:"))
    if not getattr(store, "read_only", False) or path == ":memory:" or "_remembered_state" in vars(store):
        return store
    state = (str(Path(path).resolve()), store_fingerprint(store))
    memo = _read_memos.pop(state, None) or OrderedDict()
    _read_memos[state] = memo
    while len(_read_memos) > _KEEP_STATES:
        _read_memos.popitem(last=False)
    for name in REMEMBERED_READS:
        setattr(store, name, _remembering(getattr(store, name), name, memo))
    store._remembered_state = state
    return store


def open_reading_store(wait: float | None = None):
    """The user's store opened read-only, for work that only reads (a second process may then read it too).
    It is opened for writing first, briefly, as every command does: made from the bundled snapshot on first
    use, its schema and snapshot brought up to date. Its repeated reads are answered once
    (:func:`remember_reads`: a read-only store's data cannot change). ``wait``: seconds to wait while another
    process writes to it (see :func:`digimeter.store.connect`)."""
    from .core import open_store

    with open_store(wait=wait) as store:
        path = store.path
    return remember_reads(open_store(path, read_only=True, wait=wait))
