"""Layouts and the crosswalk between them, and reading values on one layout (:func:`to_layout`).

A *layout* is one set of regions that tiles a country (Kazakhstan: ``kz16`` until 2018, ``kz17``
2018-2022, ``kz20`` from 2022). The crosswalk is a long table with one row per
``(layout, unit, atom, year)``: each unit of each layout is a union of *atoms* (the pieces of the finest
layout), and ``atom_population`` gives each atom's population by year (marked ``population_estimated``
where it had to be apportioned). :func:`to_layout` uses it to read any series on any layout,
population-weighted where regions merge or split, and marks such values ``estimated``.

Pure functions of DataFrames; the only file access is :func:`load_crosswalk` and :func:`load_layouts`,
which read the small bundled tables under ``digimeter/data/crosswalks``.
"""

from __future__ import annotations

from importlib import resources
from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import DataError, NotFoundError

__all__ = ["load_crosswalk", "load_layouts", "bundled_crosswalk_names", "territories", "infer_layout",
           "to_layout"]

_PKG = "digimeter"


def load_crosswalk(name: str = "kz") -> pd.DataFrame:
    """The bundled crosswalk ``data/crosswalks/<name>_crosswalk.csv`` (layout, unit, atom, year,
    atom_population, population_estimated, basis)."""
    try:
        f = resources.files(_PKG).joinpath("data", "crosswalks", f"{name}_crosswalk.csv")
        with f.open("r", encoding="utf-8") as fh:
            return pd.read_csv(fh)
    except FileNotFoundError as e:
        raise NotFoundError(f"no bundled crosswalk '{name}'", value=name,
                            fix="see digimeter/data/crosswalks/ for the available ones") from e


def load_layouts(name: str = "kz") -> pd.DataFrame:
    """The bundled layout table ``data/crosswalks/<name>_layouts.csv`` (layout, first_year,
    last_year, n_units, geojson, note)."""
    try:
        f = resources.files(_PKG).joinpath("data", "crosswalks", f"{name}_layouts.csv")
        with f.open("r", encoding="utf-8") as fh:
            return pd.read_csv(fh)
    except FileNotFoundError as e:
        raise NotFoundError(f"no bundled layouts '{name}'", value=name) from e


def bundled_crosswalk_names() -> list[str]:
    """Names of the bundled crosswalks (``data/crosswalks/<name>_crosswalk.csv``)."""
    folder = resources.files(_PKG).joinpath("data", "crosswalks")
    return sorted(p.name[: -len("_crosswalk.csv")] for p in folder.iterdir()
                  if p.name.endswith("_crosswalk.csv"))


def territories(crosswalk: pd.DataFrame) -> dict[str, dict[str, frozenset]]:
    """layout -> unit -> frozenset of atoms (the territory of each unit of each layout)."""
    m = crosswalk[["layout", "unit", "atom"]].drop_duplicates()
    out: dict[str, dict[str, frozenset]] = {}
    for (lay, unit), g in m.groupby(["layout", "unit"], sort=False):
        out.setdefault(lay, {})[unit] = frozenset(g["atom"])
    return out


def infer_layout(units: Iterable[str], crosswalk: pd.DataFrame, year: int | None = None,
                 layouts: pd.DataFrame | None = None, *, _terr: dict | None = None) -> str:
    """The layout a set of regional values (one indicator, one year) was published on.

    Scores each layout by ``|units in layout| - |layout units missing|`` and takes the best; a tie is
    broken by the layout whose years (``layouts.first_year .. last_year``) contain ``year``, then by
    the later layout. Codes such as ``KZ-19`` that exist in several layouts with different territories
    are resolved this way (Almaty region 2022 is the new territory only if Zhetisu is published too).
    """
    terr = _terr if _terr is not None else territories(crosswalk)
    us = set(units)
    best, key = None, None
    spans = ({} if layouts is None else
             {r[0]: (r[1], r[2]) for r in zip(layouts["layout"], layouts["first_year"], layouts["last_year"])})
    for order, (lay, members) in enumerate(terr.items()):
        ms = set(members)
        score = len(us & ms) - len(ms - us)
        covers = 0
        if year is not None and lay in spans:
            lo, hi = spans[lay]
            covers = int((pd.isna(lo) or year >= lo) and (pd.isna(hi) or year <= hi))
        k = (score, covers, order)
        if key is None or k > key:
            best, key = lay, k
    if best is None:
        raise DataError("the crosswalk has no layouts", field="crosswalk")
    return best


def _atom_pop(crosswalk: pd.DataFrame) -> pd.DataFrame:
    """atom x year population (wide)."""
    a = crosswalk[["atom", "year", "atom_population"]].drop_duplicates(["atom", "year"])
    return a.pivot(index="year", columns="atom", values="atom_population").sort_index()


def to_layout(obs: pd.DataFrame, crosswalk: pd.DataFrame, target_layout: str, *,
              extensive: Iterable[str] = ("population",), layouts: pd.DataFrame | None = None
              ) -> pd.DataFrame:
    """Read regional observations on one layout (e.g. every year on today's 20 regions).

    Each (indicator, year) group is placed on the layout it was published on (:func:`infer_layout`,
    or the ``layout`` column of ``obs`` if present). Every atom of a target unit takes its value from
    the smallest source region containing it; atoms are then combined:

    * intensive indicators (rates, %, per capita): population-weighted mean over the target's atoms
      (a split region passes its value to each part; merged regions are averaged by population);
    * extensive indicators (counts, listed in ``extensive``): a source count is apportioned to its
      atoms by population share and the shares are summed (conserves the total).

    A target value equal to one source value on the same territory is copied (``estimated=False``);
    anything apportioned or averaged is ``estimated=True``. A target unit with an atom no source
    covers is left out. Population shares come from the crosswalk's ``atom_population`` for the year
    (nearest year when outside its range).

    Parameters
    ----------
    obs : DataFrame
        Columns ``unit, indicator, year, value`` (``origin_id`` and ``layout`` optional). Units not in
        the crosswalk (e.g. a national total) are ignored.
    crosswalk : DataFrame
        From :func:`load_crosswalk`.
    target_layout : str
        e.g. ``"kz20"``.
    extensive : iterable of str
        Indicator codes summed rather than averaged.

    Returns
    -------
    DataFrame with ``unit, indicator, year, value, estimated, source_layout, sources`` (and
    ``origin_id``, the union of contributing origins joined by ';', if ``obs`` has it).

    References
    ----------
    Goodchild, M. F. & Lam, N. S.-N. (1980). Areal interpolation: a variant of the traditional spatial
    problem. *Geo-Processing* 1, 297-312 (here with population instead of area as ancillary weight).
    """
    terr = territories(crosswalk)
    if target_layout not in terr:
        raise NotFoundError(f"layout '{target_layout}' is not in the crosswalk", field="target_layout",
                            value=target_layout, fix=f"one of {sorted(terr)}")
    need = {"unit", "indicator", "year", "value"}
    if not need <= set(obs.columns):
        raise DataError("observations need columns unit, indicator, year, value", field="obs",
                        value=sorted(set(obs.columns)))
    known = set().union(*[set(t) for t in terr.values()])
    obs = obs[obs["unit"].isin(known) & obs["value"].notna()]
    ext = set(extensive)
    apop = _atom_pop(crosswalk)
    years_avail = apop.index.to_numpy()
    target = terr[target_layout]
    has_origin = "origin_id" in obs.columns
    rows = []
    for (ind, year), g in obs.groupby(["indicator", "year"], sort=True):
        yr = int(year)
        pyear = years_avail[np.argmin(np.abs(years_avail - yr))]
        pop = apop.loc[pyear].to_dict()  # dict lookups: much faster than Series indexing per atom
        if "layout" in g.columns and g["layout"].notna().all() and g["layout"].nunique() == 1:
            src_layout = g["layout"].iloc[0]
        else:
            src_layout = infer_layout(g["unit"], crosswalk, yr, layouts, _terr=terr)
        # territory of each source unit: its territory in the source layout if it is a member there,
        # else in any layout (a unit published alongside its parts, e.g. KZ-51 with KZ-61/KZ-79)
        src = {}
        for u, v, o in zip(g["unit"], g["value"], g["origin_id"] if has_origin else [None] * len(g)):
            t = terr[src_layout].get(u)
            if t is None:
                cands = [terr[lay][u] for lay in terr if u in terr[lay]]
                t = cands[-1]
            src[u] = (t, float(v), o)
        # each atom's source: the smallest source territory containing it
        atom_src: dict[str, str] = {}
        for u, (t, _, _) in sorted(src.items(), key=lambda kv: -len(kv[1][0])):
            for a in t:
                atom_src[a] = u  # smaller territories overwrite larger ones
        for tu, tatoms in target.items():
            if not all(a in atom_src for a in tatoms) and not any(t == tatoms for t, _, _ in src.values()):
                continue
            same = [u for u, (t, _, _) in src.items() if t == tatoms]
            used = same[:1] or sorted({atom_src[a] for a in tatoms})
            exact = len(used) == 1 and src[used[0]][0] == tatoms
            if exact:
                val = src[used[0]][1]
            elif ind in ext:
                val = 0.0
                for a in tatoms:
                    su = atom_src[a]
                    st = src[su][0]
                    val += src[su][1] * pop[a] / sum(pop[b] for b in st)
            else:
                num = sum(src[atom_src[a]][1] * pop[a] for a in tatoms)
                den = sum(pop[a] for a in tatoms)
                val = num / den
            row = {"unit": tu, "indicator": ind, "year": yr, "value": float(val),
                   "estimated": not exact, "source_layout": src_layout, "sources": ";".join(used)}
            if has_origin:
                row["origin_id"] = ";".join(sorted({str(src[u][2]) for u in used if src[u][2] is not None}))
            rows.append(row)
    cols = ["unit", "indicator", "year", "value", "estimated", "source_layout", "sources"]
    if has_origin:
        cols.append("origin_id")
    return pd.DataFrame(rows, columns=cols)
