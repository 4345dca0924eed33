"""A panel of one country's regions on one layout (:func:`regional_panel`): the shape
:func:`digimeter.build.compute` takes, with the cells read from another layout marked ``estimated``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..geography import Geography, geography, regional_observations
from .national import Panel

__all__ = ["RegionalPanel", "regional_panel"]


@dataclass
class RegionalPanel:
    """A units x indicators panel of one country's regions on one layout, with estimated cells marked.

    ``panel`` is a :class:`digimeter.panel.Panel` (the shape ``build.compute`` takes); ``estimated``
    (same shape, bool) is True where a value was converted from another layout.
    """

    panel: Any
    estimated: pd.DataFrame
    layout: str
    population: pd.Series
    geography: Geography
    long: pd.DataFrame = field(repr=False)


def regional_panel(store, country: str, indicators: Iterable[str], year: int, *, window: int = 0,
                   layout: str | None = None, units: Iterable[str] | None = None,
                   population: str = "population", geo: Geography | None = None) -> RegionalPanel:
    """The regions of ``country`` x ``indicators`` for ``year`` (latest value within ``window`` years).

    Every region of the layout (default: the layout of ``year``) gets a value wherever the territory
    had one, converted from the layout it was published on when needed (marked in ``estimated``), so
    a region created recently is not left out of older series.
    """
    geo = geo or geography(store, country)
    layout = layout or geo.layout_for(year)
    inds = list(dict.fromkeys(indicators))
    long = regional_observations(store, country, inds, layout=layout,
                                 years=range(year - max(window, 0) - 0, year + 1), population=population,
                                 geo=geo)
    idx = pd.Index(list(units) if units is not None else geo.units(layout), name="unit")
    cols = pd.Index(inds, name="indicator")
    if len(long):
        last = long.sort_values("year").groupby(["unit", "indicator"], as_index=False).last()
    else:
        last = pd.DataFrame(columns=long.columns)

    def wide(col, dtype=None):
        if last.empty:
            return pd.DataFrame(index=idx, columns=cols, dtype=dtype)
        return last.pivot(index="unit", columns="indicator", values=col).reindex(index=idx, columns=cols)

    values = wide("value", float).astype(float)
    est = wide("estimated").fillna(False).astype(bool) if len(last) else \
        pd.DataFrame(False, index=idx, columns=cols)
    yrs = wide("year")
    origins = wide("origin_id")
    # population: the latest within the window, else the latest before the year (weights only)
    pop_rows = long[long["indicator"] == population] if len(long) else long
    if pop_rows.empty:
        pop_all = regional_observations(store, country, [population], layout=layout, geo=geo,
                                        population=population)
        pop_rows = pop_all[pop_all["year"] <= year]
        if pop_rows.empty and len(pop_all):   # population published only later: the earliest year there is
            pop_rows = pop_all[pop_all["year"] == pop_all["year"].min()]
    pop = (pop_rows.sort_values("year").groupby("unit")["value"].last().reindex(idx)
           if len(pop_rows) else pd.Series(np.nan, index=idx))
    notes = []
    if est.to_numpy().any():
        notes.append(f"{int(est.to_numpy().sum())} values read from an earlier layout onto {layout} "
                     "(population-weighted; marked estimated)")
    p = Panel(values=values, years=yrs, origins=origins, year=int(year), window=int(window), notes=notes)
    return RegionalPanel(panel=p, estimated=est, layout=layout, population=pop.rename("population"),
                         geography=geo, long=long)
