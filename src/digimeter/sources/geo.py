"""Import a country's regional geography: a layout crosswalk (CSV) and boundaries (GeoJSON).

Another country's regions arrive through ``digimeter data import`` as four files, in this order:

1. a **units** file (``code,name,kind,parent,valid_from,valid_to``; ``kind=region``, ``parent=<ISO3>``),
2. an **observations** file (long or wide; ``population`` by region, optional, weights the measures),
3. optionally a **crosswalk** CSV, detected by its header ``layout,unit,atom,year,atom_population``
   (optional ``population_estimated``, ``basis``, ``group``): each unit of each layout is a union of
   *atoms* (the pieces of the finest layout); ``year`` dates ``atom_population`` (the atom's population
   that year); ``group`` labels regions for the Theil between/within decomposition (e.g. ``city`` /
   ``rural``). Named after its file (without ``_crosswalk``) or ``name=``. One layout with
   ``unit = atom`` is enough for a country whose regions never changed.
4. a **GeoJSON** FeatureCollection (``.geojson``) per layout, as publishers ship it: the region code in
   ``unit``, ``NUTS_ID``, ``shapeISO``, ``ISO`` or ``id`` (whichever matches the store's regions) or the
   property named by ``id_property``; a multi-country file gives the regions of one country
   (``country=``); a file lacking some of the layout's regions is refused unless ``partial=True``; very
   large files are simplified for the web (the original is kept). The layout is ``layout=``, else
   ``properties.layout``, else the crosswalk layout holding these regions, else the file name.

See ``docs/regions.md`` for a worked example (the UK's 12 regions).

Files (1) and (2) go through :mod:`digimeter.sources.files`; (3) and (4) come here (``files.import_file``
hands them over). Both are validated completely before anything is written (every problem is reported
with its row or feature and a fix); the copy under ``$DIGIMETER_HOME/geo/`` and its registration in the
store (table ``geo_files`` and an origin row with the file's checksum) happen together or not at all.
This module only reads and imports the files; what they mean (layouts, the crosswalk, the registry,
boundary simplification) is :mod:`digimeter.geography`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from .._util.problems import MAX_PROBLEMS, ProblemList
from ..errors import DataImportError
from ..geography import GEO_TABLE, GEO_TABLE_SQL, crosswalk_layouts, geo_home
from ..geography.maps import GEOMETRIES, count_points, simplify_collection
from ..store import ImportCounts

CROSSWALK_REQUIRED = ("layout", "unit", "atom", "year", "atom_population")
CROSSWALK_OPTIONAL = ("population_estimated", "basis", "group")
UNIT_KEYS = ("unit", "NUTS_ID", "shapeISO", "ISO", "id", "code", "region_code", "iso_3166_2", "shapeiso", "iso")


@dataclass(kw_only=True)
class GeoImportReport(ImportCounts):
    """What an import of a crosswalk or boundary file did (with :class:`~digimeter.store.ImportCounts`, all
    zero: no value is imported, so a caller treating every import alike reads it as such)."""

    kind: str                     # 'crosswalk' or 'boundaries'
    name: str
    country: str
    path: str
    origin_id: str
    layouts: list[str] = field(default_factory=list)
    units: int = 0
    years: tuple[int, int] | None = None
    replaced: bool = False
    source: str | None = None
    skipped_blank: int = 0
    form: str = ""
    key: str | None = None                  # boundaries: the property the region codes were read from
    expected: int | None = None             # boundaries: regions the layout has
    missing: list[str] = field(default_factory=list)   # boundaries: regions without a shape (--partial)
    skipped: list[str] = field(default_factory=list)   # boundaries: features that are not regions of the country
    simplified: tuple[int, int] | None = None          # boundaries: coordinates before and after
    original: str | None = None             # boundaries: where the unsimplified file is kept

    def __str__(self) -> str:
        verb = "replaced" if self.replaced else "imported"
        if self.kind == "crosswalk":
            yrs = ("" if not self.years else f"; atom_population for {self.years[0]}" if self.years[0] == self.years[1]
                   else f"; atom_population for {self.years[0]}-{self.years[1]}")
            return (f"{self.source}: {verb} crosswalk '{self.name}' of {self.country}: layouts "
                    f"{', '.join(self.layouts)} ({self.units} units{yrs}); stored at {self.path}; "
                    f"origin {self.origin_id}")
        cover = (f"{self.units} of {self.expected} regions have a shape" if self.expected is not None
                 else f"{self.units} regions")
        text = (f"{self.source}: {verb} boundaries of {self.country}, layout '{self.name}': {cover} "
                f"(codes from '{self.key}')")
        if self.missing:
            text += f"; no shape (--partial): {', '.join(self.missing)}"
        if self.skipped:
            more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += (f"; {len(self.skipped)} feature(s) skipped, not regions of {self.country}: "
                     f"{', '.join(self.skipped[:5])}{more}")
        if self.simplified:
            text += (f"; simplified for the web ({self.simplified[0]:,} -> {self.simplified[1]:,} points; "
                     f"original kept at {self.original})")
        return f"{text}; stored at {self.path}; origin {self.origin_id}"


# --------------------------------------------------------------------------------------------------
# detection
# --------------------------------------------------------------------------------------------------

def _norm(h: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(h).strip().lower().lstrip("\ufeff")).strip("_")


def _header(raw: bytes) -> list[str]:
    try:
        text = raw[:4096].decode("utf-8-sig")
    except UnicodeDecodeError:
        return []
    first = text.splitlines()[0] if text.splitlines() else ""
    delim = max([",", ";", "\t"], key=first.count)
    try:
        return [_norm(h) for h in next(csv.reader([first], delimiter=delim))]
    except StopIteration:
        return []


def geo_kind(path: str | Path) -> str | None:
    """'boundaries' for a GeoJSON FeatureCollection, 'crosswalk' for a CSV with the crosswalk header,
    else None (an ordinary data file)."""
    p = Path(path)
    if not p.is_file():
        return None
    suf = p.suffix.lower()
    if suf == ".geojson":
        return "boundaries"
    with p.open("rb") as fh:
        head = fh.read(4096)
    if suf == ".json" and b"FeatureCollection" in head:
        return "boundaries"
    if suf in (".csv", ".tsv", ".txt"):
        h = set(_header(head))
        if {"layout", "unit", "atom"} <= h:
            return "crosswalk"
    return None


# --------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------

def _country_of(store, codes: list[str], problems: ProblemList, where: str) -> str | None:
    """The common parent country of region codes (all must be regions in the store)."""
    units = store.units().set_index("code")
    parents = set()
    for c in sorted(set(codes)):
        if c not in units.index:
            problems.add(f"unknown region '{c}' in the {where}", field="unit", value=c,
                         fix="import the units file (code,name,kind,parent) first, then this file")
            continue
        if units.loc[c, "kind"] != "region":
            problems.add(f"'{c}' is a {units.loc[c, 'kind']}, not a region", field="unit", value=c,
                         fix="a crosswalk or boundary file lists regions (kind=region) of one country")
            continue
        parents.add(units.loc[c, "parent"])
    if len(parents) > 1:
        problems.add(f"the {where} mixes regions of several countries: {', '.join(sorted(map(str, parents)))}",
                     field="unit", fix="import one file per country")
    if len(parents) == 1:
        p = next(iter(parents))
        if p is None or (isinstance(p, float) and pd.isna(p)):
            problems.add("the regions have no parent country", field="parent",
                         fix="set parent=<ISO3> in the units file")
            return None
        return str(p)
    return None


def _read_crosswalk(store, path: Path, raw: bytes, problems: ProblemList) -> tuple[pd.DataFrame, str | None]:
    head = _header(raw)
    delim = max([",", ";", "\t"], key=raw[:4096].decode("utf-8-sig", "replace").splitlines()[0].count)
    missing = [c for c in CROSSWALK_REQUIRED if c not in head]
    if missing:
        problems.add(f"a crosswalk needs the columns {', '.join(CROSSWALK_REQUIRED)}; missing: {', '.join(missing)}",
                     row=1, fix="header: layout,unit,atom,year,atom_population (+ optional group)")
        problems.raise_if_any()
    try:
        df = pd.read_csv(io.BytesIO(raw), sep=delim, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError) as e:
        problems.add(f"cannot read the file as CSV: {e}", fix="save it as UTF-8 CSV")
        problems.raise_if_any()
    df.columns = [_norm(c) for c in df.columns]
    extra = [c for c in df.columns if c not in CROSSWALK_REQUIRED + CROSSWALK_OPTIONAL]
    for c in extra:
        problems.add(f"unexpected column '{c}' in a crosswalk", row=1, field=c,
                     fix=f"keep only {', '.join(CROSSWALK_REQUIRED + CROSSWALK_OPTIONAL)}")
    if df.empty:
        problems.add("the crosswalk has a header but no rows", row=1, fix="one row per layout, unit, atom and year")
    out = []
    for i, r in enumerate(df.to_dict("records")):
        row = i + 2
        rec = {k: str(r.get(k, "")).strip() for k in df.columns}
        for c in ("layout", "unit", "atom"):
            if not rec[c] or re.search(r"\s", rec[c]):
                problems.add(f"{c} must be given, without spaces", row=row, field=c, value=rec[c])
        try:
            y = int(float(rec["year"]))
            if not 1900 <= y <= 2100:
                raise ValueError
            rec["year"] = y
        except ValueError:
            problems.add("year must be a year such as 2023", row=row, field="year", value=rec["year"])
        try:
            v = float(rec["atom_population"].replace(",", "")) if rec["atom_population"] else float("nan")
            if not v >= 0:
                raise ValueError
            rec["atom_population"] = v
        except ValueError:
            problems.add("atom_population must be a number >= 0 (people living in the atom that year)",
                         row=row, field="atom_population", value=rec["atom_population"])
        if "population_estimated" in rec:
            pe = rec["population_estimated"].lower()
            rec["population_estimated"] = pe in ("true", "1", "yes", "y")
        if "group" in rec and not rec["group"]:
            rec["group"] = None
        out.append(rec)
    problems.raise_if_any()
    cw = pd.DataFrame(out)
    for c in ("population_estimated", "basis"):
        if c not in cw.columns:
            cw[c] = False if c == "population_estimated" else "imported"
    # every (layout, atom, year) once; every layout covers the same atoms; one population per (atom, year)
    dup = cw[cw.duplicated(["layout", "atom", "year"], keep=False)]
    for (lay, atom, year), g in dup.groupby(["layout", "atom", "year"]):
        problems.add(f"atom '{atom}' belongs to several units of layout '{lay}' in {year}: "
                     f"{', '.join(sorted(set(g['unit'])))}", field="atom", value=atom,
                     fix="in one layout each atom belongs to exactly one unit")
    atoms_by_layout = cw.groupby("layout")["atom"].apply(lambda a: frozenset(a))
    allatoms = frozenset(cw["atom"])
    for lay, atoms in atoms_by_layout.items():
        if atoms != allatoms:
            problems.add(f"layout '{lay}' does not cover the atoms {', '.join(sorted(allatoms - atoms))}",
                         field="layout", value=lay, fix="every layout must tile the same territory (the same atoms)")
    pops = cw.groupby(["atom", "year"])["atom_population"].nunique()
    for (atom, year), n in pops[pops > 1].items():
        problems.add(f"atom '{atom}' has {n} different populations in {year}", field="atom_population",
                     value=atom, fix="an atom's population is one number per year, the same in every layout")
    country = _country_of(store, list(cw["unit"]), problems, "crosswalk")
    problems.raise_if_any()
    cols = list(CROSSWALK_REQUIRED) + ["population_estimated", "basis"] + (["group"] if "group" in cw else [])
    return cw[cols], country


def _feature_code(f: Any, key: str) -> Any:
    """A feature's value of ``key``: its property, or for ``id`` the GeoJSON Feature's own ``id``."""
    props = (f.get("properties") or {}) if isinstance(f, dict) else {}
    v = props.get(key)
    if v in (None, "") and key == "id" and isinstance(f, dict):
        v = f.get("id")
    return None if v in (None, "") else str(v).strip()


def _pick_key(feats: list, id_property: str | None, regions: set[str], problems: ProblemList) -> str | None:
    """The property holding the region code: ``id_property`` if given, else the usual one whose
    values match most of the store's region codes (``unit``, ``NUTS_ID``, ``shapeISO``, ``ISO``, ``id``...)."""
    if id_property:
        lacking = [i + 1 for i, f in enumerate(feats) if _feature_code(f, id_property) is None]
        if lacking:
            have = sorted({k for f in feats if isinstance(f, dict) for k in (f.get("properties") or {})})
            problems.add(f"{len(lacking)} feature(s) have no '{id_property}' property (first: feature {lacking[0]})",
                         field="properties", value=id_property,
                         fix=f"name the property holding the region code with --id-property; the features have: "
                             f"{', '.join(have[:12])}")
            return None
        return id_property
    best, best_n = None, -1
    for k in UNIT_KEYS:
        codes = [_feature_code(f, k) for f in feats]
        if not all(codes):
            continue
        n = sum(c in regions for c in codes)
        if n > best_n:
            best, best_n = k, n
    if best is None:
        have = sorted({k for f in feats if isinstance(f, dict) for k in (f.get("properties") or {})})
        problems.add("features carry no region code in a property digimeter knows", field="properties",
                     fix=f"name the property with --id-property NAME (the features have: {', '.join(have[:12])}); "
                         f"known: {', '.join(UNIT_KEYS)}")
    return best


def _layout_of(codes: list[str], cw_layouts: dict[str, set[str]], path: Path) -> str:
    """The crosswalk layout whose units are exactly ``codes`` (else the smallest holding them all), else
    the file's name."""
    fits = [lay for lay, us in cw_layouts.items() if set(codes) <= us]
    exact = [lay for lay in fits if cw_layouts[lay] == set(codes)]
    cands = exact or sorted(fits, key=lambda lay: len(cw_layouts[lay] - set(codes)))
    layout = cands[-1] if exact else (cands[0] if cands else None)
    return layout or re.sub(r"[^a-z0-9_-]+", "_", path.stem.lower())


def _read_boundaries(store, path: Path, raw: bytes, problems: ProblemList, *, id_property: str | None = None,
                     country: str | None = None, layout: str | None = None, partial: bool = False
                     ) -> tuple[dict, str | None, str | None, dict[str, Any]]:
    """Validate a boundary file; returns (FeatureCollection of the country's regions, country, layout, info).

    ``info`` holds ``skipped`` (codes of features that are not regions of the country: other countries,
    other levels), ``missing`` (regions of the layout with no shape) and ``key`` (the code property)."""
    try:
        gj = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        problems.add(f"not valid GeoJSON: {e}", fix="export the layer as GeoJSON (UTF-8, WGS84)")
        problems.raise_if_any()
    if not isinstance(gj, dict) or gj.get("type") != "FeatureCollection":
        problems.add("not a GeoJSON FeatureCollection", field="type",
                     value=gj.get("type") if isinstance(gj, dict) else type(gj).__name__,
                     fix="export the regions layer as one FeatureCollection")
        problems.raise_if_any()
    feats = [f for f in (gj.get("features") or []) if isinstance(f, dict)]
    if not feats:
        problems.add("the FeatureCollection has no features", field="features", fix="one feature per region")
        problems.raise_if_any()
    units = store.units().set_index("code")
    regions = units[units["kind"] == "region"]
    if country is not None:
        try:
            country = store.unit(country)["code"]
        except Exception:
            problems.add(f"unknown country '{country}'", field="country", value=country,
                         fix="give the ISO3 code of a country in the store, e.g. GBR")
            problems.raise_if_any()
    key = _pick_key(feats, id_property, set(regions.index), problems)
    problems.raise_if_any()
    codes_all = [_feature_code(f, key) for f in feats]
    parent_of = {c: regions.loc[c, "parent"] for c in set(codes_all) if c in regions.index}
    parents = sorted({str(p) for p in parent_of.values() if isinstance(p, str) and p})
    if country is None:
        if len(parents) > 1:
            problems.add(f"the file holds regions of several countries ({', '.join(parents)})", field="country",
                         fix="name the country to take with --country ISO3")
            problems.raise_if_any()
        if not parents:
            sample = ", ".join(sorted({c for c in codes_all if c})[:5])
            for i, f in enumerate(feats):
                if (f.get("geometry") or {}).get("type") not in GEOMETRIES:
                    problems.add(f"feature {i + 1} ({codes_all[i]}): geometry must be Polygon or MultiPolygon",
                                 field="geometry", value=(f.get("geometry") or {}).get("type"),
                                 fix="regions are areas; drop points and lines")
            for c in sorted({c for c in codes_all if c})[:MAX_PROBLEMS]:
                problems.add(f"unknown region '{c}' in the boundary file", field=key, value=c,
                             fix="import the units file (code,name,kind,parent) first, or name the property "
                                 "holding the region code with --id-property")
            problems.add(f"no feature's '{key}' ({sample}) is a region in the store", field=key,
                         fix="import the units file (code,name,kind,parent) first, or name the property "
                             "holding the region code with --id-property")
            problems.raise_if_any()
        country = parents[0]
    keep = [i for i, c in enumerate(codes_all) if parent_of.get(c) == country]
    skipped = sorted({c for i, c in enumerate(codes_all) if i not in set(keep)})
    if not keep:
        problems.add(f"no feature is a region of {country} (by '{key}')", field=key,
                     fix=f"import the regions of {country} (units file) first, or name the code property with --id-property")
        problems.raise_if_any()
    codes, layouts = [], set()
    for i in keep:
        f = feats[i]
        g = f.get("geometry") or {}
        if g.get("type") not in GEOMETRIES:
            problems.add(f"feature {i + 1} ({codes_all[i]}): geometry must be Polygon or MultiPolygon", field="geometry",
                         value=g.get("type"), fix="regions are areas; drop points and lines")
        codes.append(codes_all[i])
        if (f.get("properties") or {}).get("layout"):
            layouts.add(str(f["properties"]["layout"]))
    dups = sorted({c for c in codes if codes.count(c) > 1})
    if dups:
        problems.add(f"several features for the region(s) {', '.join(dups)}", field=key, value=dups,
                     fix="dissolve them into one (Multi)Polygon per region")
    problems.raise_if_any()
    if layout is None and len(layouts) > 1:
        problems.add(f"features name several layouts: {', '.join(sorted(layouts))}", field="layout",
                     fix="one file per layout, or name it with --layout")
        problems.raise_if_any()
    layout = layout or (next(iter(layouts)) if layouts else None)
    # the layout's regions: a crosswalk layout of the country (imported, then bundled) with these codes
    cw_layouts = crosswalk_layouts(store, country, codes)
    layout = layout or _layout_of(codes, cw_layouts, path)
    if layout in cw_layouts:
        expected = cw_layouts[layout]
    else:   # no crosswalk: the country's regions valid now
        now = regions[(regions["parent"] == country) & pd.to_numeric(regions["valid_to"], errors="coerce").isna()]
        expected = set(now.index)
    missing = sorted(expected - set(codes))
    extra = sorted(set(codes) - expected)
    if extra and layout in cw_layouts:
        problems.add(f"region(s) {', '.join(extra)} are not in layout '{layout}'", field=key, value=extra,
                     fix="check the layout (--layout) or the crosswalk")
    if missing and not partial:
        names = units["name"].to_dict()
        problems.add(f"{len(missing)} region(s) of {country} (layout '{layout}') have no shape: "
                     + ", ".join(f"{c} ({names.get(c, c)})" for c in missing),
                     field=key, value=missing,
                     fix="add their features, or import an incomplete layout on purpose with --partial "
                         "(those regions are then missing from the map)")
    problems.raise_if_any()
    out = {"type": "FeatureCollection", "features": []}
    for i in keep:
        f = feats[i]
        p = dict(f.get("properties") or {})
        p["unit"] = codes_all[i]
        p["layout"] = layout
        out["features"].append({"type": "Feature", "geometry": f["geometry"], "properties": p})
    return out, country, layout, {"skipped": skipped, "missing": missing, "key": key,
                                  "expected": len(expected)}


# --------------------------------------------------------------------------------------------------
# simplification (the kernels are digimeter.geography.maps)
# --------------------------------------------------------------------------------------------------

#: Boundary files with more coordinates than this are simplified for the web (the original is kept).
SIMPLIFY_ABOVE = 60_000
#: ... to about this many coordinates.
SIMPLIFY_TARGET = 20_000


# --------------------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------------------

def _place_and_register(store, text: str, final: Path, row: list, origin: dict[str, Any]) -> bool:
    """Write ``text`` to ``final`` and register it (a ``geo_files`` row: name, kind, country, layout,
    path, sha256, origin_id; and its origin) together or not at all; True when a file was replaced."""
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    backup = final.with_name(f".{final.name}.{os.getpid()}.bak")
    tmp.write_text(text, encoding="utf-8")
    replaced = final.exists()
    moved = False
    try:
        with store.transaction() as con:
            con.execute(GEO_TABLE_SQL)
            con.execute(f"DELETE FROM {GEO_TABLE} WHERE kind = ? AND name = ? AND layout = ?",
                        [row[1], row[0], row[3]])
            con.execute(f"INSERT INTO {GEO_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        row + [datetime.now(timezone.utc).replace(tzinfo=None)])
            store.upsert_origins(pd.DataFrame([origin]))
            # the file goes in place last, inside the transaction: if it fails, the rows roll back
            if replaced:
                os.replace(final, backup)
            moved = True
            os.replace(tmp, final)
    except BaseException:
        if moved and replaced and backup.exists():
            os.replace(backup, final)
        elif moved and not replaced and final.exists() and not tmp.exists():
            final.unlink()
        raise
    finally:
        if tmp.exists():
            tmp.unlink()
    if backup.exists():
        backup.unlink()
    return replaced


def import_geo(store, path: str | Path, *, kind: str | None = None, publisher: str | None = None,
               dataset: str | None = None, licence: str | None = None, url: str | None = None,
               id_property: str | None = None, country: str | None = None, layout: str | None = None,
               name: str | None = None, partial: bool = False) -> GeoImportReport:
    """Validate a crosswalk CSV or a GeoJSON boundary file, copy it under ``$DIGIMETER_HOME/geo/`` and
    register it in the store, all or nothing.

    Parameters
    ----------
    id_property : str, optional
        Boundaries: the feature property holding the region code (default: the one of ``unit``,
        ``NUTS_ID``, ``shapeISO``, ``ISO``, ``id``, ... whose values match the store's regions).
    country : str, optional
        Boundaries: take this country's regions from a file of several countries (GISCO's NUTS
        file); other features are skipped and counted.
    layout : str, optional
        Boundaries: the layout's name (default: ``properties.layout``, else the crosswalk layout with
        these regions, else the file name).
    name : str, optional
        Crosswalk: its name (default: the file name without ``_crosswalk``).
    partial : bool
        Boundaries: accept a file that lacks some regions of the layout (they are listed). Without it
        such a file is refused and nothing changes.

    Raises
    ------
    DataImportError
        Listing every problem (row or feature, column, value, fix); the store and the geo folder are
        then unchanged.
    """
    path = Path(path)
    problems = ProblemList(str(path))
    if not path.is_file():
        problems.add("no such file", fix="check the path")
        problems.raise_if_any()
    kind = kind or geo_kind(path)
    if kind not in ("crosswalk", "boundaries"):
        problems.add("neither a crosswalk CSV (layout,unit,atom,year,atom_population) nor a GeoJSON file",
                     fix="see digimeter.sources.geo for the two forms")
        problems.raise_if_any()
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    info: dict[str, Any] = {}
    original_text: str | None = None
    simplified = None
    if kind == "crosswalk":
        cw, country = _read_crosswalk(store, path, raw, problems)
        name = (re.sub(r"[^a-z0-9_-]+", "_", (name or "").lower()) or
                re.sub(r"[^a-z0-9_-]+", "_", re.sub(r"_?crosswalk$", "", path.stem.lower())) or "crosswalk")
        layout_key = ""
        layouts = list(dict.fromkeys(cw["layout"]))
        text = cw.to_csv(index=False)
        fname = f"{name}_crosswalk.csv"
        n_units = int(cw["unit"].nunique())
        years = (int(cw["year"].min()), int(cw["year"].max()))
    else:
        if layout is not None:
            layout = re.sub(r"[^a-z0-9_-]+", "_", layout.lower())
        gj, country, layout, info = _read_boundaries(store, path, raw, problems, id_property=id_property,
                                                     country=country, layout=layout, partial=partial)
        name = layout
        layout_key = layout
        layouts = [layout]
        n_pts = count_points(gj)
        if n_pts > SIMPLIFY_ABOVE:   # very large: simplify for the web, keep the original beside it
            original_text = json.dumps(gj, ensure_ascii=False)
            gj, _tol = simplify_collection(gj, SIMPLIFY_TARGET)
            simplified = (n_pts, count_points(gj))
        text = json.dumps(gj, ensure_ascii=False)
        fname = f"{layout}.geojson"
        n_units = len(gj["features"])
        years = None
    folder = geo_home()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / fname
    origin_id = f"geo:{sha[:12]}"
    original = folder / f"{layout_key}.original.geojson" if original_text is not None else None
    origin = {"origin_id": origin_id, "publisher": publisher or "user file",
              "dataset": dataset or path.name, "edition": None, "url": url, "repository": None,
              "licence": licence, "retrieved": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "sha256": sha, "note": f"{kind} of {country} imported from {path}"}
    replaced = _place_and_register(store, text, final, [name, kind, country, layout_key, str(final), sha,
                                                        origin_id], origin)
    if original is not None:
        original.write_text(original_text, encoding="utf-8")
    elif kind == "boundaries" and (folder / f"{layout_key}.original.geojson").exists():
        (folder / f"{layout_key}.original.geojson").unlink()   # an older original no longer applies
    return GeoImportReport(kind=kind, name=name, country=country, path=str(final), origin_id=origin_id,
                           layouts=layouts, units=n_units, years=years, replaced=replaced,
                           source=str(path), form=kind, key=info.get("key"), expected=info.get("expected"),
                           missing=info.get("missing", []), skipped=info.get("skipped", []),
                           simplified=simplified, original=str(original) if original else None)
