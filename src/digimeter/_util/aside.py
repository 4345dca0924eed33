"""One function call made in a second Python process while this one works on (issue 18: numpy-heavy work
in small arrays holds the GIL most of the time, so threads do not run it side by side; two processes do).

:meth:`Aside.start` runs ``module.function(*args)`` in a plain subprocess (``python -c``; not
:mod:`multiprocessing`: a spawned process would run the caller's ``__main__`` again, a forked one would
inherit the locks of DuckDB's and other libraries' threads). :meth:`Aside.open` starts the process and its
imports before the arguments are ready (:meth:`Aside.call` sends them), so they overlap the caller's own
work. Two pickles go to its stdin (``sys.path`` and the modules to import; then the function and its
arguments), the answer comes back pickled on its stdout (whatever the function prints goes to stderr). :meth:`Aside.result` gives ``("ok", value)``, ``("error", e)`` for a
:class:`~digimeter.errors.DigimeterError` raised there (the caller raises it, as it would have been raised
here), or ``("failed", why)`` when the process died, hung past ``wait`` seconds or answered nothing that
unpickles: the caller then does the work itself. Pass plain data (arrays, frames), not open stores.

:func:`enabled` is False under ``DIGIMETER_THREADS=1`` (one thread, one process: e.g. to profile) and in a
process that is itself aside (no process starts another).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from typing import Any

from ..errors import DigimeterError

__all__ = ["WAIT_SECONDS", "Aside", "enabled", "serve"]

#: seconds :meth:`Aside.result` waits by default before stopping the process (the caller then does the work)
WAIT_SECONDS = 300.0
_CHILD_ENV = "DIGIMETER_ASIDE_CHILD"

#: the second process's program: the request (plain types) first, so that it finds the same digimeter
_CHILD = ("import pickle, sys; r = pickle.load(sys.stdin.buffer); sys.path[:0] = r['path']; "
          "from digimeter._util.aside import serve; serve(r)")
_PROTOCOL = pickle.HIGHEST_PROTOCOL


def enabled() -> bool:
    """Whether work may go to a second process (see the module docstring)."""
    return (os.environ.get("DIGIMETER_THREADS", "").strip() != "1" and not os.environ.get(_CHILD_ENV)
            and bool(sys.executable))


def serve(request: dict) -> None:
    """The second process: import ``request["modules"]``, read the call (function and arguments) from stdin,
    make it, write ``(kind, value)`` pickled to stdout."""
    import importlib

    out = os.fdopen(os.dup(1), "wb")   # the answer's channel; whatever else is printed goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        for name in request["modules"]:
            importlib.import_module(name)
        call = pickle.load(sys.stdin.buffer)
        fn = getattr(importlib.import_module(request["modules"][0]), call["function"])
        answer: tuple[str, Any] = ("ok", fn(*call["args"]))
    except DigimeterError as e:
        answer = ("error", e)
    except Exception as e:   # anything else: the caller does the work itself
        answer = ("failed", repr(e))
    try:
        data = pickle.dumps(answer, protocol=_PROTOCOL)
    except Exception as e:   # the answer did not pickle
        data = pickle.dumps(("failed", repr(e)))
    with out:
        out.write(data)


class Aside:
    """``module.function(*args)`` running in a second process; :meth:`result` waits for its answer."""

    def __init__(self, process):
        self.process = process
        self._writer: threading.Thread | None = None
        self._reader: threading.Thread | None = None
        self._answer = b""

    @classmethod
    def open(cls, module: str, *preload: str) -> Aside | None:
        """Start a process that imports ``module`` (whose function :meth:`call` will name) and ``preload``,
        then waits for the call; None when it should not (:func:`enabled`) or could not start."""
        if not enabled():
            return None
        try:
            proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    env={**os.environ, _CHILD_ENV: "1"})
            proc.stdin.write(pickle.dumps({"path": [p for p in sys.path if p], "modules": [module, *preload]}))
            proc.stdin.flush()
        except Exception:   # no process starts: the caller works alone
            return None
        return cls(proc)

    @classmethod
    def start(cls, module: str, function: str, *args) -> Aside | None:
        """:meth:`open` and :meth:`call` at once; None when no process starts or the arguments do not pickle."""
        job = cls.open(module)
        if job is not None and not job.call(function, *args):
            return None
        return job

    def call(self, function: str, *args) -> bool:
        """Send the call (``function`` of the module given to :meth:`open`); False (and the process stopped)
        when the arguments do not pickle."""
        try:
            data = pickle.dumps({"function": function, "args": args}, protocol=_PROTOCOL)
        except Exception:
            self.close()
            return False
        # written by a thread: a large request would otherwise block until the process reads it; the
        # answer is read by another as it comes (a large one would otherwise wait in the pipe for result())
        self._writer = threading.Thread(target=self._write, args=(data,), daemon=True)
        self._writer.start()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return True

    def _read(self) -> None:
        try:
            self._answer = self.process.stdout.read()
        except (OSError, ValueError):   # stopped: result() says so
            self._answer = b""

    def _write(self, data: bytes) -> None:
        try:
            self.process.stdin.write(data)
            self.process.stdin.close()
        except (OSError, ValueError):   # it died or was stopped: result() says so
            pass

    def result(self, wait: float = WAIT_SECONDS) -> tuple[str, Any]:
        """``("ok", value)``, ``("error", DigimeterError)`` or ``("failed", why)``; a process still
        running after ``wait`` seconds is stopped (failed)."""
        if self._writer is None and self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()   # no call was sent: the process reads the end of its input and fails
        watchdog = threading.Timer(wait, self.process.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            if self._reader is not None:
                self._reader.join()
                data = self._answer
            else:
                data = self.process.stdout.read()
            self.process.wait()
            kind, value = pickle.loads(data)
        except Exception as e:   # it died, or its answer does not unpickle here
            kind, value = "failed", repr(e)
        finally:
            watchdog.cancel()
            self.close()
        return kind, value

    def __del__(self):
        try:
            self.close()
        except Exception:   # pragma: no cover - at interpreter exit
            pass

    def close(self) -> None:
        """Stop the process if it still runs (the caller failed or was interrupted)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for f in (self.process.stdout, self.process.stdin):
            if f is not None and not f.closed:
                try:
                    f.close()
                except OSError:
                    pass
