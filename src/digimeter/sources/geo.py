"""Import a country's regional geography: a layout crosswalk (CSV) and boundaries (GeoJSON).

Another country's regions arrive through ``digimeter data import`` as four files, in this order:

1. a **units** file (``code,name,kind,parent,valid_from,valid_to``; ``kind=region``, ``parent=<ISO3>``),
2. an **observations** file (long or wide; ``population`` by region is needed for the weights),
3. a **crosswalk** CSV, detected by its header ``layout,unit,atom,year,atom_population`` (optional
   ``population_estimated``, ``basis``, ``group``): each unit of each layout is a union of *atoms* (the
   pieces of the finest layout) with each atom's population by year; ``group`` labels regions for the
   Theil between/within decomposition (e.g. ``city`` / ``rural``). One layout with ``unit = atom`` is
   enough for a country whose regions never changed.
4. a **GeoJSON** FeatureCollection (``.geojson``) of one layout: each feature's region code in
   ``properties.unit`` (or ``code``, ``region_code``, ``iso_3166_2``, ``shapeISO``); the layout in
   ``properties.layout`` or found by matching the codes against the crosswalk's layouts.

Files (1) and (2) go through :mod:`digimeter.sources.files`; (3) and (4) come here (``files.import_file``
hands them over). Both are validated completely before anything is written (every problem is reported
with its row or feature and a fix); the copy under ``$DIGIMETER_HOME/geo/`` and its registration in the
store (table ``geo_files`` and an origin row with the file's checksum) happen together or not at all.
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

from ..errors import DataImportError, Problem

CROSSWALK_REQUIRED = ("layout", "unit", "atom", "year", "atom_population")
CROSSWALK_OPTIONAL = ("population_estimated", "basis", "group")
UNIT_KEYS = ("unit", "code", "region_code", "iso_3166_2", "shapeISO", "shapeiso", "iso")
GEOMETRIES = ("Polygon", "MultiPolygon")
MAX_PROBLEMS = 100


@dataclass
class GeoImportReport:
    """What an import of a crosswalk or boundary file did."""

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
    # ChangeReport-like fields so callers treating every import alike keep working
    vintage: int | None = None
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped_blank: int = 0
    new_indicators: list[str] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)
    form: str = ""

    def __str__(self) -> str:
        what = "crosswalk" if self.kind == "crosswalk" else "boundaries"
        lay = ", ".join(self.layouts)
        yrs = f", years {self.years[0]}-{self.years[1]}" if self.years else ""
        verb = "replaced" if self.replaced else "registered"
        return (f"{self.source}: {verb} {what} '{self.name}' for {self.country} (layouts {lay}; "
                f"{self.units} units{yrs}); stored at {self.path}; origin {self.origin_id}")


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
    head = p.open("rb").read(4096)
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

class _Problems:
    def __init__(self, file: str):
        self.file = file
        self.items: list[Problem] = []

    def add(self, message: str, **kw: Any) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(message, file=self.file, **kw))

    def raise_if_any(self) -> None:
        if self.items:
            n = len(self.items)
            raise DataImportError(f"{self.file}: {n} problem(s); nothing was imported", problems=self.items)


def _country_of(store, codes: list[str], problems: _Problems, where: str) -> str | None:
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


def _read_crosswalk(store, path: Path, raw: bytes, problems: _Problems) -> tuple[pd.DataFrame, str | None]:
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


def _read_boundaries(store, path: Path, raw: bytes, problems: _Problems) -> tuple[dict, str | None, str | None]:
    from ..regions import geo_registry

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
    feats = gj.get("features") or []
    if not feats:
        problems.add("the FeatureCollection has no features", field="features", fix="one feature per region")
    codes, layouts = [], set()
    key = None
    for k in UNIT_KEYS:
        if feats and all(isinstance(f, dict) and (f.get("properties") or {}).get(k) not in (None, "") for f in feats):
            key = k
            break
    if feats and key is None:
        problems.add("features carry no region code", field="properties",
                     fix=f"give every feature a 'unit' property with the region's code (or one of {', '.join(UNIT_KEYS[1:])})")
    for i, f in enumerate(feats):
        g = (f or {}).get("geometry") or {}
        if g.get("type") not in GEOMETRIES:
            problems.add(f"feature {i + 1}: geometry must be Polygon or MultiPolygon", field="geometry",
                         value=g.get("type"), fix="regions are areas; drop points and lines")
        if key:
            c = str(f["properties"][key]).strip()
            codes.append(c)
            if f["properties"].get("layout"):
                layouts.add(str(f["properties"]["layout"]))
    dups = sorted({c for c in codes if codes.count(c) > 1})
    if dups:
        problems.add(f"several features for the region(s) {', '.join(dups)}", field="unit", value=dups,
                     fix="dissolve them into one (Multi)Polygon per region")
    problems.raise_if_any()
    country = _country_of(store, codes, problems, "boundary file")
    problems.raise_if_any()
    if len(layouts) > 1:
        problems.add(f"features name several layouts: {', '.join(sorted(layouts))}", field="layout",
                     fix="one file per layout")
        problems.raise_if_any()
    layout = next(iter(layouts)) if layouts else None
    if layout is None:  # match the codes with a crosswalk layout of the country
        reg = geo_registry(store)
        cands = []
        for r in reg[(reg["kind"] == "crosswalk") & (reg["country"] == country)].itertuples():
            cw = pd.read_csv(r.path)
            for lay, g in cw.groupby("layout"):
                if set(g["unit"]) == set(codes):
                    cands.append(str(lay))
        if not cands:
            from ..regions import bundled_crosswalk_names, load_crosswalk

            for name in bundled_crosswalk_names():
                cw = load_crosswalk(name)
                for lay, g in cw.groupby("layout"):
                    if set(g["unit"]) == set(codes):
                        cands.append(str(lay))
        layout = cands[-1] if cands else re.sub(r"[^a-z0-9_-]+", "_", path.stem.lower())
    out = {"type": "FeatureCollection", "features": []}
    for f in feats:
        p = dict(f.get("properties") or {})
        p["unit"] = str(p[key]).strip()
        p["layout"] = layout
        out["features"].append({"type": "Feature", "geometry": f["geometry"], "properties": p})
    return out, country, layout


# --------------------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------------------

def import_geo(store, path: str | Path, *, kind: str | None = None, publisher: str | None = None,
               dataset: str | None = None, licence: str | None = None, url: str | None = None
               ) -> GeoImportReport:
    """Validate a crosswalk CSV or a GeoJSON boundary file, copy it under ``$DIGIMETER_HOME/geo/`` and
    register it in the store, all or nothing.

    Raises
    ------
    DataImportError
        Listing every problem (row or feature, column, value, fix); the store and the geo folder are
        then unchanged.
    """
    from ..regions import GEO_TABLE, GEO_TABLE_SQL, geo_home

    path = Path(path)
    problems = _Problems(str(path))
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
    if kind == "crosswalk":
        cw, country = _read_crosswalk(store, path, raw, problems)
        name = re.sub(r"[^a-z0-9_-]+", "_", re.sub(r"_?crosswalk$", "", path.stem.lower())) or "crosswalk"
        layout_key = ""
        layouts = list(dict.fromkeys(cw["layout"]))
        text = cw.to_csv(index=False)
        fname = f"{name}_crosswalk.csv"
        n_units = int(cw["unit"].nunique())
        years = (int(cw["year"].min()), int(cw["year"].max()))
    else:
        gj, country, layout = _read_boundaries(store, path, raw, problems)
        name = layout
        layout_key = layout
        layouts = [layout]
        text = json.dumps(gj, ensure_ascii=False)
        fname = f"{layout}.geojson"
        n_units = len(gj["features"])
        years = None
    folder = geo_home()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / fname
    tmp = folder / f".{fname}.{os.getpid()}.tmp"
    backup = folder / f".{fname}.{os.getpid()}.bak"
    origin_id = f"geo:{sha[:12]}"
    tmp.write_text(text, encoding="utf-8")
    replaced = final.exists()
    moved = False
    try:
        with store.transaction() as con:
            con.execute(GEO_TABLE_SQL)
            con.execute(f"DELETE FROM {GEO_TABLE} WHERE kind = ? AND name = ? AND layout = ?",
                        [kind, name, layout_key])
            con.execute(f"INSERT INTO {GEO_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [name, kind, country, layout_key, str(final), sha, origin_id,
                         datetime.now(timezone.utc).replace(tzinfo=None)])
            store._upsert_origins(pd.DataFrame([{
                "origin_id": origin_id, "publisher": publisher or "user file",
                "dataset": dataset or path.name, "edition": None, "url": url, "repository": None,
                "licence": licence, "retrieved": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "sha256": sha, "note": f"{kind} of {country} imported from {path}"}]))
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
    return GeoImportReport(kind=kind, name=name, country=country, path=str(final), origin_id=origin_id,
                           layouts=layouts, units=n_units, years=years, replaced=replaced,
                           source=str(path), form=kind)
