"""A country's regional geography: which crosswalk, layouts, boundaries and region groups its regions
use (bundled or imported data files, nothing hard-coded), and the store's registry of imported files.

Imported files live under ``$DIGIMETER_HOME/geo`` and are registered in the store's ``geo_files`` table
by :mod:`digimeter.sources.geo`; these functions take the store as an argument and never print.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import NotFoundError
from ..store.schema import GEO_TABLE, GEO_TABLE_SQL  # the table's DDL is the store's (re-exported here)
from .crosswalk import bundled_crosswalk_names, load_crosswalk, load_layouts, territories
from .maps import has_bundled_boundaries, load_geojson

__all__ = ["GEO_TABLE", "GEO_TABLE_SQL", "GROUP_PROPERTIES", "geo_home", "geo_registry", "Geography",
           "geography", "crosswalk_layouts"]

#: Feature properties that may hold a region's group for the Theil decomposition (first found wins).
GROUP_PROPERTIES = ("group", "unit_type")


def geo_home() -> Path:
    """Folder of imported geography files: ``$DIGIMETER_HOME/geo``."""
    from ..store import default_home

    return Path(default_home()) / "geo"


def geo_registry(store) -> pd.DataFrame:
    """The imported geography files registered in the store (table :data:`GEO_TABLE`), oldest first;
    empty when nothing was imported."""
    cols = ["name", "kind", "country", "layout", "path", "sha256", "origin_id", "imported"]
    try:
        have = store.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                 [GEO_TABLE]).fetchone()[0]
        if not have:
            return pd.DataFrame(columns=cols)
        return store.query(f"SELECT * FROM {GEO_TABLE} ORDER BY imported")
    except Exception:  # pragma: no cover - a store without the table
        return pd.DataFrame(columns=cols)


@dataclass
class Geography:
    """A country's regional layouts, the crosswalk between them, their boundaries and region groups.

    Get one with :func:`geography`. ``crosswalk`` and ``layouts`` have the columns of
    :func:`load_crosswalk` and :func:`load_layouts`.
    """

    country: str
    name: str
    crosswalk: pd.DataFrame
    layouts: pd.DataFrame
    origin: str                                  # 'bundled', 'imported' or 'derived' (no crosswalk)
    boundaries: dict[str, str] = field(default_factory=dict)   # layout -> imported GeoJSON path
    _geo_cache: dict[str, dict] = field(default_factory=dict, repr=False)

    def layout_names(self) -> list[str]:
        return list(self.layouts["layout"])

    def layout_for(self, year: int | None = None) -> str:
        """The layout the statistics of ``year`` are published on (the latest layout if None)."""
        lay = self.layouts.copy()
        lo = pd.to_numeric(lay["first_year"], errors="coerce")
        hi = pd.to_numeric(lay["last_year"], errors="coerce")
        if year is not None:
            ok = lay[(lo.isna() | (lo <= year)) & (hi.isna() | (hi >= year))]
            if len(ok):
                return str(ok["layout"].iloc[-1])
        return str(lay.assign(_k=lo.fillna(-1e9)).sort_values("_k")["layout"].iloc[-1])

    def latest_layout(self) -> str:
        return self.layout_for(None)

    def units(self, layout: str) -> list[str]:
        """Unit codes of a layout, in crosswalk order."""
        u = self.crosswalk[self.crosswalk["layout"] == layout]["unit"]
        if u.empty:
            raise NotFoundError(f"no layout '{layout}' for {self.country}", field="layout", value=layout,
                                fix=f"one of {', '.join(self.layout_names())}")
        return list(dict.fromkeys(u))

    def geojson(self, layout: str) -> dict:
        """Boundaries of ``layout`` (imported file if registered, else the bundled one)."""
        if layout not in self._geo_cache:
            path = self.boundaries.get(layout)
            if path is not None:
                with open(path, encoding="utf-8") as fh:
                    self._geo_cache[layout] = json.load(fh)
            else:
                self._geo_cache[layout] = load_geojson(layout)
        return self._geo_cache[layout]

    def has_boundaries(self, layout: str) -> bool:
        return layout in self.boundaries or has_bundled_boundaries(layout)

    def groups(self, layout: str) -> dict[str, str] | None:
        """Region -> group (e.g. city / oblast) for the Theil decomposition, from the data.

        A ``group`` column of the crosswalk wins; else the boundary features' ``group`` or
        ``unit_type`` property. None when the data give no groups.
        """
        cw = self.crosswalk
        if "group" in cw.columns:
            g = cw[(cw["layout"] == layout) & cw["group"].notna()].drop_duplicates("unit")
            if len(g):
                return dict(zip(g["unit"], g["group"].astype(str)))
        if not self.has_boundaries(layout):
            return None
        feats = self.geojson(layout).get("features", [])
        for prop in GROUP_PROPERTIES:
            vals = {f["properties"].get("unit"): f["properties"].get(prop) for f in feats}
            if vals and all(v not in (None, "") for v in vals.values()) and len(set(vals.values())) > 1:
                return {k: str(v) for k, v in vals.items()}
        return None

    def unit_population(self, layout: str, year: int | None = None) -> pd.Series | None:
        """Each unit's population from the crosswalk's ``atom_population`` (the sum over its atoms, for
        the crosswalk year nearest ``year``; the latest if None), or None when the crosswalk carries no
        population of its own (a geography derived from the store's units)."""
        if self.origin == "derived" or "atom_population" not in self.crosswalk:
            return None
        cw = self.crosswalk
        ap = cw[["atom", "year", "atom_population"]].dropna(subset=["atom_population"])
        ap = ap[pd.to_numeric(ap["atom_population"], errors="coerce") > 0]
        if ap.empty:
            return None
        yrs = np.array(sorted(ap["year"].astype(int).unique()))
        y = yrs[-1] if year is None else yrs[np.argmin(np.abs(yrs - int(year)))]
        pop = ap[ap["year"].astype(int) == y].drop_duplicates("atom").set_index("atom")["atom_population"].astype(float)
        terr = territories(cw).get(layout, {})
        out = {u: float(pop.reindex(sorted(atoms)).sum(min_count=len(atoms))) for u, atoms in terr.items()}
        return pd.Series(out, dtype=float, name="atom_population")

    def names(self, layout: str | None = None, store=None, lang: str = "en") -> dict[str, str]:
        """Region names in ``lang``: the store's names for that language (``Store.unit_names``; the
        units table's ``name`` for English), else the boundary files' ``name_<lang>`` / ``name``, else
        the store's English name."""
        out: dict[str, str] = {}
        if store is not None:
            u = store.units(parent=self.country)
            out.update(dict(zip(u["code"], u["name"])))
        if layout is not None and self.has_boundaries(layout):
            for f in self.geojson(layout).get("features", []):
                p = f.get("properties") or {}
                n = p.get(f"name_{lang}") or (p.get("name_en") or p.get("name") if p.get("unit") not in out else None)
                if n:
                    out[p.get("unit")] = n
        if store is not None:
            local = store.unit_names(lang)
            out.update({c: local[c] for c in out if c in local})
        return out


def _derived_layouts(crosswalk: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Layout years from the validity of their units (a layout lasts while all its units are valid)."""
    vf = pd.to_numeric(units.set_index("code")["valid_from"], errors="coerce")
    vt = pd.to_numeric(units.set_index("code")["valid_to"], errors="coerce")
    rows = []
    for lay, g in crosswalk.groupby("layout", sort=False):
        us = list(dict.fromkeys(g["unit"]))
        f = vf.reindex(us).max()
        t = vt.reindex(us).min()
        rows.append({"layout": lay, "first_year": f, "last_year": t, "n_units": len(us),
                     "geojson": None, "note": "years derived from the units' validity"})
    return pd.DataFrame(rows).sort_values("first_year", na_position="first").reset_index(drop=True)


def geography(store, country: str) -> Geography:
    """The regional geography of ``country``: which crosswalk, layouts and boundaries its regions use.

    Candidates are the bundled crosswalks (``data/crosswalks/<name>_crosswalk.csv``) and the imported
    ones registered in the store; the one sharing most unit codes with the country's regions in the
    store is taken (an imported one wins a tie). A country with regions but no crosswalk gets a single
    layout of all its regions (population from the store), so every measure still works.
    """
    code = store.unit(country)["code"]
    regs = store.units(kind="region", parent=code)
    if regs.empty:
        raise NotFoundError(f"no regions of {code} in the store", field="country", value=code,
                            fix="import a units file with kind=region and parent=" + code)
    have = set(regs["code"])
    reg = geo_registry(store)
    cands: list[tuple[int, int, str, str, pd.DataFrame, pd.DataFrame | None]] = []
    for name in bundled_crosswalk_names():
        cw = load_crosswalk(name)
        ov = len(set(cw["unit"]) & have)
        if ov:
            try:
                lay = load_layouts(name)
            except NotFoundError:
                lay = None
            cands.append((ov, 0, name, "bundled", cw, lay))
    for r in reg[(reg["kind"] == "crosswalk") & (reg["country"] == code)].itertuples():
        cw = pd.read_csv(r.path)
        cands.append((len(set(cw["unit"]) & have), 1, r.name, "imported", cw, None))
    bounds = {r.layout: r.path for r in reg[(reg["kind"] == "boundaries") & (reg["country"] == code)].itertuples()}
    if cands:
        ov, _, name, origin, cw, lay = max(cands, key=lambda c: (c[0], c[1]))
        if lay is None:
            lay = _derived_layouts(cw, regs)
        return Geography(code, name, cw, lay, origin, boundaries=bounds)
    # no crosswalk: one layout of the regions valid now, weights = population in the store
    now = regs[pd.to_numeric(regs["valid_to"], errors="coerce").isna()]
    lay_name = next(iter(bounds), code.lower())
    pop = store.observations(indicators="population", units=now["code"].tolist())
    if pop.empty:
        pop = pd.DataFrame({"unit": now["code"], "year": 2000, "value": 1.0})
    cw = pd.DataFrame({"layout": lay_name, "unit": pop["unit"], "atom": pop["unit"],
                       "year": pop["year"].astype(int), "atom_population": pop["value"].astype(float),
                       "population_estimated": False, "basis": "store population"})
    lay = pd.DataFrame([{"layout": lay_name, "first_year": np.nan, "last_year": np.nan,
                         "n_units": len(now), "geojson": bounds.get(lay_name), "note": "single layout"}])
    return Geography(code, lay_name, cw, lay, "derived", boundaries=bounds)


def crosswalk_layouts(store, country: str, codes: Iterable[str] = ()) -> dict[str, set[str]]:
    """Layout -> its units, for every crosswalk layout of ``country``: the imported crosswalks first,
    then the bundled ones that hold any of ``codes`` (a layout named in both keeps the imported units)."""
    out: dict[str, set[str]] = {}
    reg = geo_registry(store)
    for r in reg[(reg["kind"] == "crosswalk") & (reg["country"] == country)].itertuples():
        for lay, g in pd.read_csv(r.path).groupby("layout"):
            out.setdefault(str(lay), set(g["unit"]))
    codes = set(codes)
    for name in bundled_crosswalk_names():
        cw = load_crosswalk(name)
        if set(cw["unit"]) & codes:
            for lay, g in cw.groupby("layout"):
                out.setdefault(str(lay), set(g["unit"]))
    return out
