"""Who holds the store: DuckDB allows one writer and no reader meanwhile, so an open waits for the
writer (readers for :data:`READ_WAIT` seconds), and a writer leaves a note (pid, start, command) beside the
file that the one-line busy message names.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from ..errors import DataError, DigimeterError

__all__ = ["StoreBusyError", "READ_WAIT", "READER_GRACE", "writer_file", "mark_writer", "store_holder",
           "busy_message", "connect", "snapshot_copy"]


class StoreBusyError(DigimeterError):
    """Another process is writing to the store (DuckDB allows one writer, and no reader meanwhile)."""

    status = 503


#: seconds a read-only open waits for a writer to finish ($DIGIMETER_STORE_WAIT overrides it)
READ_WAIT = 30.0
#: seconds any open waits when the store is held by readers only (they hold it briefly)
READER_GRACE = 3.0


def writer_file(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".writer.json")


def mark_writer(path: str | Path) -> Path | None:
    """Leave a note of who writes (pid, start time, command) for processes that find the store locked;
    returns the note's path (None when it cannot be written)."""
    import json
    import sys

    marker = writer_file(path)
    try:
        marker.write_text(json.dumps({"pid": os.getpid(),
                                      "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                      "command": " ".join(["digimeter", *sys.argv[1:]])[:200]}),
                          encoding="utf-8")
        return marker
    except OSError:
        return None


def store_holder(path: str | Path) -> dict | None:
    """Who writes to the store at ``path`` now: ``{pid, started, command}`` from its marker file, or None."""
    import json

    try:
        info = json.loads(writer_file(path).read_text(encoding="utf-8"))
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None     # a writer that died without removing its marker
    except OSError:
        pass
    return info


def busy_message(path: str | Path, *, waited: float = 0.0) -> str:
    """One line: what holds the store at ``path`` and what to do."""
    info = store_holder(path)
    if info:
        cmd = str(info.get("command") or "")
        what = "an import" if " import" in cmd else f"another command ({cmd[:80]})" if cmd else "another process"
        started = str(info.get("started") or "")[:19].replace("T", " ")
        head = f"the store is busy with {what} started at {started} UTC (pid {info['pid']})"
    else:
        head = "the store is busy (another process is writing to it)"
    after = f" (waited {waited:.0f} s)" if waited >= 1 else ""
    return f"{head}{after}; try again when it ends, or wait with --wait SECONDS"


def _is_lock_error(exc: Exception) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def connect(path: str | Path, *, read_only: bool, wait: float | None = None, say=None):
    """A DuckDB connection to ``path``, retried while another process holds its lock.

    ``wait``: seconds to keep trying (default :data:`READ_WAIT`, or ``$DIGIMETER_STORE_WAIT``; a command
    that only writes, such as ``data import``, passes 0 unless told ``--wait``). ``say(message)`` is
    called once when waiting starts (default: a line on stderr). Raises :class:`StoreBusyError` (one
    line, never a traceback) when time runs out.
    """
    import sys
    import time

    if wait is None:
        env = os.environ.get("DIGIMETER_STORE_WAIT")
        try:
            wait = float(env) if env else READ_WAIT
        except ValueError:
            wait = READ_WAIT
    t0 = time.monotonic()
    delay, told = 0.05, False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                raise DataError(f"cannot open the store: {str(exc).splitlines()[0][:200]}", file=str(path),
                                fix="check the path and permissions; move a damaged file away to start afresh"
                                ) from None
            waited = time.monotonic() - t0
            # no writer's note: a reader (the dashboard copying the store) holds it for a moment
            limit = wait if store_holder(path) else max(wait, READER_GRACE)
            if waited >= limit:
                raise StoreBusyError(busy_message(path, waited=waited)) from None
            if not told:
                msg = busy_message(path).split(";")[0] + f"; waiting up to {limit:.0f} s ..."
                if say is not None:
                    say(msg)
                else:
                    print(msg, file=sys.stderr, flush=True)
                told = True
            time.sleep(min(delay, max(0.0, limit - waited)))
            delay = min(delay * 2, 1.0)


def snapshot_copy(path: str | Path, dst: str | Path, *, wait: float | None = 0.0) -> bool:
    """Copy the store at ``path`` to ``dst`` as last committed (no writer can be mid-write: a read-only
    connection is held during the copy). Returns False, leaving ``dst`` as it was, when a writer holds it."""
    import shutil

    try:
        con = connect(path, read_only=True, wait=wait, say=lambda m: None)
    except StoreBusyError:
        return False
    try:
        dst = Path(dst)
        tmp = dst.with_name(dst.name + f".{os.getpid()}.part")
        shutil.copyfile(path, tmp)
        wal = Path(str(path) + ".wal")
        dwal = Path(str(dst) + ".wal")
        if wal.exists():
            shutil.copyfile(wal, str(tmp) + ".wal")
            os.replace(str(tmp) + ".wal", dwal)
        elif dwal.exists():
            dwal.unlink()
        os.replace(tmp, dst)
    finally:
        con.close()
    return True
