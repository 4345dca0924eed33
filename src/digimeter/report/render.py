"""Charts drawn as SVG with vl-convert (no browser, no network): one at a time (:func:`chart_svg`), or in a
second process while the report goes on computing (:class:`ChartRenderer`).

vl-convert 1.9 holds the GIL while it draws (measured on the 2-core machine: a pure-Python loop of 0.055 s
took 0.99 s while another thread drew the report's 15 charts) and draws one chart at a time however many
threads ask (1.76 s one after the other, 1.62 s on 4 threads). A drawing thread would stall the sections
being computed, so the charts are drawn by a small Python process that imports vl-convert alone: each
chart's Vega-Lite spec (:func:`~digimeter.report.model.spec_of`, made in the caller's process) is written
as JSON to a private folder and named on the process's stdin; the process writes the SVG beside it. A chart
the process did not draw (a spec that is not JSON, the process gone) is drawn in the caller's process.
Same vl-convert, same spec (JSON keeps every value: floats round-trip exactly): the same SVG.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .model import Section, spec_of

__all__ = ["ChartRenderer", "chart_svg", "WAIT_SECONDS"]

#: seconds the report waits for the drawing process beyond 5 s a chart before drawing the rest itself
WAIT_SECONDS = 60.0
_PER_CHART = 5.0

_PROLOG = re.compile(r"<\?xml[^>]*\?>")

#: the drawing process: warm vl-convert's engine (its first drawing costs ~0.6 s more), then draw each
#: chart named on stdin, writing ``<n>.svg`` (atomically) beside ``<n>.json``
_PROGRAM = r"""
import json, os, sys
import vl_convert as vlc
folder = sys.argv[1]
vlc.vegalite_to_svg({"mark": "point", "data": {"values": [{"x": 0}]}, "encoding": {"x": {"field": "x"}}})
for line in sys.stdin:
    n = line.strip()
    if not n.isdigit():
        continue
    try:
        with open(os.path.join(folder, n + ".json"), encoding="utf-8") as f:
            svg = vlc.vegalite_to_svg(json.load(f))
        with open(os.path.join(folder, n + ".tmp"), "w", encoding="utf-8", newline="") as f:
            f.write(svg)
        os.replace(os.path.join(folder, n + ".tmp"), os.path.join(folder, n + ".svg"))
    except Exception as e:   # left to the caller's process
        print(f"digimeter: chart {n} not drawn aside: {e!r}", file=sys.stderr)
"""


def _svg_of(spec: dict) -> str:
    import vl_convert as vlc

    return _PROLOG.sub("", vlc.vegalite_to_svg(spec))


def chart_svg(chart) -> str:
    """An altair chart (or its Vega-Lite dict) as inline SVG, drawn in this process."""
    return _svg_of(spec_of(chart))


class ChartRenderer:
    """Charts drawn as SVG in a second process while the caller goes on computing (module docstring).

    ``aside=False``, or ``DIGIMETER_THREADS=1``: every chart is drawn in this process by :meth:`result`.
    """

    def __init__(self, *, aside: bool = True):
        self._todo: dict[str, dict] = {}
        self._proc: subprocess.Popen | None = None
        self._dir: tempfile.TemporaryDirectory | None = None
        if not aside or os.environ.get("DIGIMETER_THREADS", "").strip() == "1" or not sys.executable:
            return
        try:
            self._dir = tempfile.TemporaryDirectory(prefix="digimeter-svg-")
            self._proc = subprocess.Popen([sys.executable, "-c", _PROGRAM, self._dir.name], stdin=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, text=True, encoding="utf-8")
        except OSError:   # no second process: drawn here
            self._proc = None

    @property
    def aside(self) -> bool:
        """Whether the charts are drawn by a second process."""
        return self._proc is not None

    def add(self, section: Section, *, skip: Any = ()) -> None:
        """Start drawing ``section``'s charts (keyed ``"{section}_{chart}"``), but those in ``skip``."""
        for k, ch in section.charts.items():
            key = f"{section.id}_{k}"
            if key in skip or key in self._todo:
                continue
            n = str(len(self._todo))
            self._todo[key] = spec = spec_of(ch)
            if self._proc is None or self._dir is None:
                continue
            try:
                text = json.dumps(spec, ensure_ascii=False, allow_nan=False)
                tmp = Path(self._dir.name) / f"{n}.part"
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(tmp.with_suffix(".json"))
                self._proc.stdin.write(n + "\n")
                self._proc.stdin.flush()
            except (OSError, TypeError, ValueError):   # not JSON, or the process is gone: drawn here
                continue

    def result(self) -> dict[str, str]:
        """Every chart added, drawn (waits for the second process to finish)."""
        try:
            if self._proc is not None:
                try:
                    self._proc.stdin.close()
                except OSError:
                    pass
                try:   # a process that hangs does not hang the report: what it has not drawn is drawn here
                    self._proc.wait(timeout=WAIT_SECONDS + _PER_CHART * len(self._todo))
                except subprocess.TimeoutExpired:
                    self.close_process()
            out = {}
            for i, (key, spec) in enumerate(self._todo.items()):
                drawn = Path(self._dir.name) / f"{i}.svg" if self._dir is not None else None
                if drawn is not None and drawn.is_file():
                    with open(drawn, encoding="utf-8", newline="") as f:
                        out[key] = _PROLOG.sub("", f.read())
                else:
                    out[key] = _svg_of(spec)
            return out
        finally:
            self.close()

    def close_process(self) -> None:
        """Stop the second process if it still runs."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def close(self) -> None:
        """Stop the second process if it still runs and remove its folder."""
        self.close_process()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
