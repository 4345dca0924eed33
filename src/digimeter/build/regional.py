"""The regional index: a regional spec built over one layout, so every region is scored
(:func:`regional_index`; :func:`digimeter.build.build` hands a spec whose units are regions here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

from ..errors import SpecError
from ..geography import Geography, geography, regional_observations
from ..panel import regional_panel
from ..spec import load_spec, node_directions
from .pipeline import compute

__all__ = ["RegionalIndex", "regional_index"]


@dataclass
class RegionalIndex:
    """A regional index (an :class:`digimeter.build.Index` over regions) with its estimated cells.

    ``estimated`` is units x indicator nodes (True where the input was converted from another layout);
    ``index.params["estimated"]`` holds the same table so faces that only see the Index can mark them.
    """

    index: Any
    estimated: pd.DataFrame
    layout: str
    population: pd.Series
    geography: Geography

    @property
    def score(self) -> pd.Series:
        return self.index.score

    @property
    def rank(self) -> pd.Series:
        return self.index.rank

    def estimated_inputs(self) -> pd.Series:
        """Per region, the indicator nodes whose value was estimated (comma-separated, '' if none)."""
        e = self.estimated
        return pd.Series({u: ", ".join(c for c in e.columns if e.loc[u, c]) for u in e.index}, name="estimated")


def _spec_store_codes(spec) -> list[str]:
    codes = [n.indicator for n in spec.indicator_nodes()]
    dens = spec.denominators() if hasattr(spec, "denominators") else {}
    codes += [d for d, _ in dens.values()]
    return list(dict.fromkeys(codes))


def regional_index(spec, store, *, year: int | None = None, layout: str | None = None,
                   country: str | None = None, changes: Mapping[str, Any] | None = None) -> RegionalIndex:
    """Build a regional index spec over one layout, so every region is scored.

    The same pure pipeline as countries (:func:`digimeter.build.compute`), fed with a
    :func:`digimeter.panel.regional_panel` instead of the store's values as published.

    Parameters
    ----------
    spec : IndexSpec or str
        A spec whose ``units`` are ``{kind: region, parent: <ISO3>}`` (e.g. ``kz-regions``).
    store : Store
    year : int, optional
        Overrides ``spec.year``.
    layout : str, optional
        Default: the layout of the year (today's regions for recent years).
    country : str, optional
        Default: ``spec.units.parent``.
    """
    spec = load_spec(spec)
    ch = dict(changes or {})
    if year is not None and year != spec.year:
        ch["year"] = year
    if ch:
        spec = spec.with_changes(ch)
    country = country or spec.units.parent
    if not country:
        raise SpecError(f"spec '{spec.name}' names no parent country in units", field="units.parent",
                        fix="set units: {kind: region, parent: KAZ}")
    geo = geography(store, country)
    layout = layout or geo.layout_for(spec.year)
    units = [u for u in geo.units(layout) if u not in set(spec.units.exclude)]
    if spec.units.include:
        units = [u for u in units if u in set(spec.units.include)]
    codes = _spec_store_codes(spec)
    rp = regional_panel(store, country, codes, spec.year, window=spec.year_window, layout=layout,
                        units=units, geo=geo)
    ind_meta = {c: store.indicator(c) for c in codes}
    directions = node_directions(spec, ind_meta)
    empty = [n.code for n in spec.indicator_nodes() if rp.panel.values[n.indicator].isna().all()]
    if empty:
        raise SpecError(f"spec '{spec.name}': indicator(s) with no regional data for {spec.year} within "
                        f"year_window {spec.year_window}: {', '.join(empty)}", field="year_window",
                        fix="set a wider year_window, choose another year, or drop the indicator")
    umeta = store.units().set_index("code").reindex(units)
    unit_meta = umeta[["name", "un_region", "wb_region", "income_group"]].copy()
    history = None
    if spec.impute.get("method") == "panel":
        h = regional_observations(store, country, codes, layout=layout, geo=geo)
        history = h[h["year"] <= spec.year][["unit", "indicator", "year", "value"]].reset_index(drop=True)
    ix = compute(spec, rp.panel, unit_meta=unit_meta, directions=directions, history=history)
    est = pd.DataFrame({n.code: rp.estimated[n.indicator] for n in spec.indicator_nodes()},
                       index=rp.estimated.index).reindex(ix.scores.index)
    ix.params["estimated"] = est
    ix.params["layout"] = layout
    return RegionalIndex(index=ix, estimated=est, layout=layout, population=rp.population.reindex(ix.scores.index),
                         geography=geo)
