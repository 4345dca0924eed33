"""A country's regional observations read on one layout (every series on today's regions).

:func:`regional_observations` reads the store and converts what was published on another layout with
:func:`digimeter.geography.crosswalk.to_layout` (population-weighted, counts apportioned, marked
``estimated``).
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from ..errors import NotFoundError
from .crosswalk import to_layout
from .registry import Geography, geography

__all__ = ["extensive_indicators", "regional_observations"]


def extensive_indicators(store, codes: Iterable[str]) -> list[str]:
    """Indicators that are counts (summed, not averaged, when regions merge): people, thousands ...

    Read from the indicator's unit of measure: counts are in ``people``, ``persons``, ``number``,
    ``thousand ...`` or ``... subscriptions`` and are not a share (``%``) or a rate (``per``).
    """
    out = []
    for c in codes:
        try:
            u = str(store.indicator(c).get("unit") or "").strip().lower()
        except NotFoundError:
            continue
        if "%" in u or " per " in f" {u} " or u.startswith("per"):
            continue
        if u.split(" ")[0] in ("people", "persons", "number", "thousand", "count", "units") \
                or u.endswith("subscriptions"):
            out.append(c)
    return out


def regional_observations(store, country: str, indicators: Iterable[str] | str, *,
                          layout: str | None = None, years: Iterable[int] | None = None,
                          population: str = "population", geo: Geography | None = None
                          ) -> pd.DataFrame:
    """Every value of ``indicators`` for the regions of ``country``, read on one layout.

    Values published on another layout (before a region was split or merged) are converted with
    :func:`to_layout` (population-weighted, counts apportioned) and marked ``estimated``.

    Parameters
    ----------
    store : digimeter.store.Store
    country : str
        ISO3 of the country (its regions are the store's units with ``parent`` = country).
    indicators : str or iterable of str
        Store indicator codes; ``population`` is always added (the weights).
    layout : str, optional
        Target layout (default: the latest).
    years : iterable of int, optional
        Years to read (default: all).

    Returns
    -------
    DataFrame with ``unit, indicator, year, value, estimated, source_layout, sources, origin_id``.
    """
    geo = geo or geography(store, country)
    layout = layout or geo.latest_layout()
    inds = [indicators] if isinstance(indicators, str) else list(indicators)
    inds = list(dict.fromkeys(inds + [population]))
    units = sorted(set(geo.crosswalk["unit"]))
    obs = store.observations(indicators=inds, units=units, years=None if years is None else list(years))
    cols = ["unit", "indicator", "year", "value", "estimated", "source_layout", "sources", "origin_id"]
    if obs.empty:
        return pd.DataFrame(columns=cols)
    ext = extensive_indicators(store, inds)
    out = to_layout(obs[["unit", "indicator", "year", "value", "origin_id"]], geo.crosswalk, layout,
                    extensive=ext, layouts=geo.layouts)
    return out[cols].sort_values(["indicator", "year", "unit"]).reset_index(drop=True)
