"""What to show for a country's regions: its regional spec, the indicators with regional data, the
default subject, the published national figure, and what a name stands for (indicator or spec)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..errors import NotFoundError
from ..geography import extensive_indicators
from ..spec import IndexSpec, load_spec, shipped_specs

__all__ = ["regional_spec_for", "regional_indicators", "default_regional_subject", "divide_indicator",
           "national_figures", "resolve_subject"]


def regional_spec_for(country: str) -> str | None:
    """The shipped spec whose units are the regions of ``country`` (e.g. ``kz-regions`` for KAZ)."""
    for name, path in shipped_specs().items():
        try:
            s = load_spec(path)
        except Exception:  # a broken spec is reported where it is used, not here
            continue
        kinds = s.units.kind if isinstance(s.units.kind, list) else [s.units.kind]
        if s.units.parent == country and "region" in kinds:
            return name
    return None


def regional_indicators(store, country: str) -> list[dict[str, Any]]:
    """The indicators the store has for the regions of ``country``, best covered first.

    Coverage is the number of regions with a value in the indicator's latest year, then the number of
    years, then the code; counts (people, thousands ...) come after rates and shares. ``population``
    (the weights) and indicators without a known direction are left out. Each entry: ``code``, ``name``, ``unit``, ``regions`` (in the latest year), ``years``,
    ``latest_year``.
    """
    code = store.unit(country)["code"]
    regs = store.units(kind="region", parent=code)
    if regs.empty:
        return []
    o = store.observations(units=regs["code"].tolist())
    o = o[o["indicator"] != "population"]
    out = []
    for ind, g in o.groupby("indicator"):
        try:
            meta = store.indicator(ind)
        except NotFoundError:
            continue
        hib = meta.get("higher_is_better")
        if hib is None or hib is pd.NA or (isinstance(hib, float) and math.isnan(hib)):
            continue
        last = int(g["year"].max())
        out.append({"code": ind, "name": meta["name"], "unit": meta.get("unit"),
                    "regions": int(g[g["year"] == last]["unit"].nunique()), "years": int(g["year"].nunique()),
                    "latest_year": last})
    counts = set(extensive_indicators(store, [r["code"] for r in out]))   # counts compare sizes, not levels: last
    return sorted(out, key=lambda r: (r["code"] in counts, -r["regions"], -r["years"], r["code"]))


def default_regional_subject(store, country: str) -> str | None:
    """What to show for a country's regions by default: the shipped regional spec where one exists
    (and the store has regional data for one of its indicators at least), else the best-covered
    regional indicator (:func:`regional_indicators`). ``None``: no regional data for the country."""
    code = store.unit(country)["code"]
    inds = [r["code"] for r in regional_indicators(store, code)]
    spec = regional_spec_for(code)
    if spec is not None and set(inds) & {n.indicator for n in load_spec(spec).indicator_nodes()}:
        return spec
    return inds[0] if inds else None


def divide_indicator(store, country: str, subject: Any = None) -> str | None:
    """The indicator whose divide is shown year by year with ``subject`` (an indicator code, a
    regional spec's name or an :class:`IndexSpec`; default :func:`default_regional_subject`).

    An indicator is its own. A regional spec is a score of one year, with no divide of its own over
    time: it is shown with the best-covered regional indicator (:func:`regional_indicators`) among
    the spec's inputs, else the country's best-covered regional indicator (internet use for
    Kazakhstan's ``kz-regions``). ``None``: no regional indicator for the country in the store.
    """
    code = store.unit(country)["code"]
    if subject is None:
        subject = default_regional_subject(store, code)
        if subject is None:
            return None
    kind, what = resolve_subject(store, subject)
    if kind == "indicator":
        return what["code"]
    inds = [r["code"] for r in regional_indicators(store, code)]
    inputs = {n.indicator for n in what.indicator_nodes()}
    return next((c for c in inds if c in inputs), inds[0] if inds else None)


def national_figures(store, country: str, indicator: str) -> dict[int, float]:
    """The published national figure of ``indicator`` by year, from the same publisher as the regions
    where possible: an ``aggregate`` unit whose parent is the country (a statistics bureau's national
    total) wins over the country unit itself (which may hold an international series)."""
    aggs = store.units(kind="aggregate", parent=country)["code"].tolist()
    for units in (aggs, [country]):
        if not units:
            continue
        o = store.observations(indicators=indicator, units=units)
        if len(o):
            o = o[o["unit"] == o["unit"].iloc[0]]
            return dict(zip(o["year"].astype(int), o["value"].astype(float)))
    return {}


def resolve_subject(store, indicator_or_spec) -> tuple[str, Any]:
    """What a regional question is about: ``('indicator', meta dict)`` for a store indicator, or
    ``('spec', IndexSpec)`` for a regional spec (an IndexSpec, a shipped spec's name or a YAML path)."""
    if isinstance(indicator_or_spec, IndexSpec):
        return "spec", indicator_or_spec
    try:
        return "indicator", store.indicator(indicator_or_spec)
    except NotFoundError as e:
        if indicator_or_spec in shipped_specs() or str(indicator_or_spec).endswith((".yaml", ".yml")):
            return "spec", load_spec(indicator_or_spec)
        raise e
