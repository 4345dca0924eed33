"""The targets' evaluation and the fan charts' forecasts, made in a second process while the report
computes its other sections (issue 18: the forecasts are the report's slowest step and hold the GIL
most of the time, so a thread beside the sections would not make the report faster).

:func:`targets_work` is the one implementation: the scenario that concerns the unit,
:func:`digimeter.targets.evaluate`, and the forecasts of the unit's indicator targets for the fan charts,
all from one :class:`~digimeter.targets.Forecaster` (each forecast is made once). :class:`TargetsJob` runs it
in a second Python process (:class:`digimeter._util.aside.Aside`) that opens the same store file read-only
(there the evaluation's forecasts are all made in that one process). It is started when the report reads a
store *file* opened read-only (another process may then read it too) and ``DIGIMETER_THREADS`` is not 1
(one thread: nothing runs aside, e.g. to profile); otherwise the report calls :func:`targets_work` itself.
Same code, same seeds, same data: the same numbers either way. Should the second process fail for a reason
that is not a :class:`~digimeter.errors.DigimeterError` (it died, its answer did not unpickle), the work is
done again in the report's process.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._util.aside import Aside
from ..errors import DigimeterError

#: seconds the report waits for the second process before doing the work itself
WAIT_SECONDS = 300.0

__all__ = ["WAIT_SECONDS", "TargetsJob", "TargetsWork", "scenario_for", "targets_work", "targets_work_at"]


@dataclass
class TargetsWork:
    """What the targets section and the headline need: the scenario, its evaluated table and the fan
    charts' forecasts ``(target, ForecastResult or None, error message or None)``, in the scenario's order."""

    scenario: Any
    table: Any
    fans: list[tuple[Any, Any, str | None]] = field(default_factory=list)


def scenario_for(tmod, unit: str, scenario: str | None) -> Any:
    """The chosen scenario, or the first shipped one whose targets concern ``unit`` (None if none)."""
    if scenario:
        return tmod.load_scenario(scenario)
    for name in tmod.shipped_scenarios():
        sc = tmod.load_scenario(name)
        if any(t.unit == unit or (t.units is not None and t.units.parent == unit) for t in sc.targets):
            return sc
    return None


def targets_work(tmod, store, unit: str, scenario: str | None, samples: dict[str, int]) -> TargetsWork | None:
    """Evaluate the scenario for ``unit`` and forecast its indicator targets for the fan charts (at most
    ``samples["fans"]`` that could be forecast); None when no scenario concerns the unit."""
    sc = scenario_for(tmod, unit, scenario)
    if sc is None:
        return None
    to_year = max(sc.deadline, 2030)
    # one forecaster for the targets table and the fan charts (forecasts are made once per indicator)
    fc = tmod.Forecaster(store, to_year, seed=0, n_samples=samples["targets"])
    table = tmod.evaluate(sc, store, seed=0, n_samples=samples["targets"], index_samples=samples["index"],
                          forecaster=fc)
    work = TargetsWork(sc, table)
    shown = 0
    for tg in sc.targets:
        if tg.kind != "indicator" or tg.unit != unit or shown >= samples["fans"]:
            continue
        try:
            fr, _ifc = tmod.forecast_unit(store, unit, tg.indicator, to_year, seed=0, n_samples=samples["targets"],
                                          forecaster=fc)
        except DigimeterError as e:
            work.fans.append((tg, None, str(e)))
            continue
        work.fans.append((tg, fr, None))
        shown += 1
    return work


def targets_work_at(store_path: str, unit: str, scenario: str | None, samples: dict[str, int]) -> TargetsWork | None:
    """:func:`targets_work` on the store file ``store_path`` opened read-only (what the second process does)."""
    from ..store import open_store
    from ..store.cache import remember_reads

    tmod = importlib.import_module("digimeter.targets")
    with open_store(store_path, read_only=True) as store:
        return targets_work(tmod, remember_reads(store), unit, scenario, samples)


class TargetsJob:
    """:func:`targets_work` running in a second Python process (:class:`~digimeter._util.aside.Aside`);
    :meth:`result` waits for it."""

    def __init__(self, process, args: tuple):
        self.job = process if isinstance(process, Aside) else Aside(process)
        self.args = args

    @classmethod
    def start(cls, store, unit: str, scenario: str | None, samples: dict[str, int]) -> TargetsJob | None:
        """Start the work aside, or None when it cannot run there (a store in memory or open for writing,
        which another process cannot read) or should not (``DIGIMETER_THREADS=1``)."""
        if not getattr(store, "read_only", False):
            return None
        path = Path(str(getattr(store, "path", ":memory:")))
        if str(path) == ":memory:" or not path.is_file():
            return None
        args = (unit, scenario, dict(samples))
        job = Aside.start(__name__, "targets_work_at", str(path.resolve()), *args)
        return None if job is None else cls(job, args)

    def result(self, tmod, store) -> TargetsWork | None:
        """The work's answer (a DigimeterError raised in the other process is raised here); computed here
        with ``store`` if the other process failed otherwise (it died, hung past :data:`WAIT_SECONDS`, or its
        answer did not unpickle)."""
        kind, value = self.job.result(WAIT_SECONDS)
        if kind == "ok":
            return value
        if kind == "error":
            raise value
        return targets_work(tmod, store, *self.args)

    def close(self) -> None:
        """Stop the process if it still runs (the report failed or was interrupted)."""
        self.job.close()
