"""Make the bundled Kazakhstan regional snapshot part ``kz_regions`` from ../shared/data/regions.

Writes (all derived from files listed in shared/data/regions/SOURCES.md; no value is typed in):

* ``src/digimeter/data/snapshot/{units,names,indicators,origins,observations}_kz_regions.parquet``
* ``src/digimeter/data/crosswalks/kz_crosswalk.csv``   layout, unit, atom, year, atom_population, ...
* ``src/digimeter/data/crosswalks/kz_layouts.csv``     kz16 / kz17 / kz20 with their years
* ``src/digimeter/data/crosswalks/kz_regions_corrections_applied.csv``  every row a correction touched
* ``src/digimeter/data/geo/kz16.geojson``, ``kz17.geojson``, ``kz20.geojson`` (with a ``unit`` property)

Which 20-region unit lies in which older unit is derived from the boundary files themselves (point
sampling of each polygon), then checked against the validity dates of kz_reference/kz_regions.csv.
Corrections are read from src/digimeter/data/crosswalks/kz_regions_corrections.yaml.

Run: python scripts/make_snapshot_regions.py --shared ../shared/data
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from digimeter import store
import yaml

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "digimeter" / "data"
OUT = PKG / "snapshot"
XW = PKG / "crosswalks"
GEO = PKG / "geo"
PART = "kz_regions"
RETRIEVED = "2026-11-29"  # when the files were assembled into shared/data (as for the country part)
PARENT = "KAZ"
NATIONAL = "KZ"           # the data's own code for the national total (kept as a unit of kind 'aggregate')

# the store's own column lists (observations without vintage: the store assigns it)
UNIT_COLS, IND_COLS, ORIGIN_COLS = store.UNIT_COLS, store.IND_COLS, store.ORIGIN_COLS
OBS_COLS = [c for c in store.OBS_COLS if c != "vintage"]

LAYOUTS = [  # layout id, geojson in shared, first/last year of annual statistics on it, note
    ("kz16", "kz_adm1_pre2018_16units_derived.geojson", None, 2017,
     "14 oblasts + Astana + Almaty; South Kazakhstan (KZ-51) includes Shymkent; until 2018-06-18"),
    ("kz17", "kz_adm1_2018_17units.geojson", 2018, 2021,
     "South Kazakhstan split into Turkistan (KZ-61) and Shymkent (KZ-79); 2018-06-19 to 2022-06-07"),
    ("kz20", "kz_adm1_2024_20units.geojson", 2022, None,
     "Abai (KZ-10), Zhetisu (KZ-33), Ulytau (KZ-62) split from KZ-63, KZ-19, KZ-35; from 2022-06-08"),
]

SKILLS = {  # ITU / SDMX codes of SDG 4.4.1 skills
    "ATCH": ("attach", "sending e-mails with attached files"),
    "CDV": ("connect_device", "connecting and installing new devices"),
    "CMFL": ("copy_file", "copying or moving a file or folder"),
    "CPT": ("copy_paste", "using copy and paste tools in a document"),
    "PRGM": ("program", "writing a computer program in a specialised language"),
    "PST": ("presentation", "creating electronic presentations"),
    "SFWR": ("software", "finding, downloading, installing and configuring software"),
    "SSHT": ("spreadsheet", "using basic arithmetic formulas in a spreadsheet"),
    "TRFF": ("transfer_file", "transferring files between a computer and other devices"),
}
AGES = {"Y15T24": ("15_24", "aged 15-24"), "Y_GE15": ("15plus", "aged 15+")}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ind(code, name, unit, hib, lo, hi, source, source_code, description):
    return dict(zip(IND_COLS, [code, name, unit, hib, lo, hi, source, source_code, description]))


BNS = "Bureau of National Statistics, Agency for Strategic Planning and Reforms of the Republic of Kazakhstan (BNS)"


def sdg_map() -> dict[tuple[str, str], dict]:
    """(source indicator, breakdown) -> indicator row, for the SDG-platform file."""
    m: dict[tuple[str, str], dict] = {}
    pct = "% of population"
    desc_iu = ("Proportion of individuals using the Internet, BNS sample survey on ICT use by households "
               "(SDG 17.8.1); same concept as the country-level internet_users_pct (ITU i99H). Survey "
               "break 2014/2015.")
    m["internet_users_pct", "total"] = ind("internet_users_pct", "Individuals using the Internet", pct,
                                           True, 0, 100, BNS, "SDG 17.8.1", desc_iu)
    for b, suf, lab in [("area=urban", "urban", "urban"), ("area=rural", "rural", "rural"),
                        ("sex=female", "female", "women"), ("sex=male", "male", "men")]:
        m["internet_users_pct", b] = ind(f"internet_users_{suf}_pct", f"Individuals using the Internet, {lab}",
                                         f"% of {lab} population", True, 0, 100, BNS, f"SDG 17.8.1 ({b})", desc_iu)
    desc_mp = ("Proportion of mobile phone users aged 6 and above (BNS ICT household survey), reported under "
               "SDG 5.b.1 with a national definition (users, not owners): not the same series as the "
               "country-level mobile_phone_ownership_pct (ITU).")
    m["mobile_phone_users_pct", "total"] = ind("mobile_phone_users_pct", "Mobile phone users",
                                               "% of population aged 6+", True, 0, 100, BNS, "SDG 5.b.1 (national def.)", desc_mp)
    for b, suf, lab in [("area=urban", "urban", "urban"), ("area=rural", "rural", "rural"),
                        ("sex=female", "female", "women"), ("sex=male", "male", "men")]:
        m["mobile_phone_users_pct", b] = ind(f"mobile_phone_users_{suf}_pct", f"Mobile phone users, {lab}",
                                             f"% of {lab} population aged 6+", True, 0, 100, BNS,
                                             f"SDG 5.b.1 (national def.; {b})", desc_mp)
    m["digital_literacy_pct", "total"] = ind("digital_literacy_pct", "Digital literacy rate",
                                             "% of population aged 6-74", True, 0, 100, BNS, "SDG 4.4.1.1 (national)",
                                             "Digital literacy rate of the population aged 6-74 (BNS ICT household survey)")
    for sk, (short, text) in SKILLS.items():
        for age, (asuf, alab) in AGES.items():
            m["ict_skill_pct", f"age={age};skill=SKILL_ICT{sk}"] = ind(
                f"ict_skill_{short}_{asuf}_pct", f"People {alab} with the ICT skill: {text}",
                f"% of population {alab}", True, 0, 100, BNS, f"SDG 4.4.1 SKILL_ICT{sk} {age}",
                f"Proportion of people {alab} who have {text} (BNS ICT household survey)")
    subs = "thousand subscriptions"
    m["fixed_broadband_subscribers_thousand", "total"] = ind(
        "fixed_broadband_subs_thousand", "Fixed broadband subscriptions (all speeds)", subs, True, 0, None, BNS,
        "SDG 17.6.2", "Fixed (wired) broadband Internet subscribers; national only (regions publish speed bands)")
    for b, suf, lab, hib in [("speed=10Mbps_and_above", "10mbps_plus", ">= 10 Mbit/s", True),
                             ("speed=2_to_10Mbps", "2_10mbps", "2-10 Mbit/s", False),
                             ("speed=256kbps_to_2Mbps", "256kbps_2mbps", "256 kbit/s - 2 Mbit/s", False)]:
        m["fixed_broadband_subscribers_thousand", b] = ind(
            f"fixed_broadband_subs_{suf}_thousand", f"Fixed broadband subscriptions, {lab}", subs, hib, 0, None,
            BNS, f"SDG 17.6.2 ({b})", "Fixed (wired) broadband Internet subscribers by speed band (report on "
            "communication services); slow bands count as lower-is-better (subscribers left on slow lines), as the country catalogue does for rural_population_pct")
    for b, suf, lab in [("facility=intnt", "", ""), ("area=urban;facility=intnt", "_urban", ", urban"),
                        ("area=rural;facility=intnt", "_rural", ", rural")]:
        m["schools_with_facility_pct", b] = ind(
            f"schools_internet{suf}_pct", f"Schools with access to the Internet{lab}", "% of schools", True, 0, 100,
            "BNS / Ministry of Education (SDG platform)", f"SDG 4.a.1 ({b})",
            "Proportion of schools with access to the Internet for pedagogical purposes")
    m["real_grp_per_capita_index_2005", "total"] = ind(
        "real_grp_per_capita_index_2005", "Real GRP per capita (2005 = 100)", "% of 2005 level", True, 0, None, BNS,
        "SDG 8.1.1 (national)", "Real gross regional product per capita as a percentage of 2005; undefined for the "
        "regions re-drawn in 2022")
    m["poverty_below_subsistence_pct", "total"] = ind(
        "poverty_below_subsistence_pct", "Population with income below the subsistence minimum", pct, False, 0, 100,
        BNS, "SDG 1.2.1 (national)", "Proportion of population with income below the subsistence minimum")
    m["unemployment_rate_pct", "total"] = ind(
        "unemployment_rate_pct", "Unemployment rate", "% of labour force", False, 0, 100, BNS, "SDG 8.5.2",
        "Unemployment rate (labour force survey)")
    return m


# ---------------------------------------------------------------------------------------------------
# geometry: which 20-region unit lies in which older unit (point sampling, no GIS dependency)
# ---------------------------------------------------------------------------------------------------

def _rings(geom) -> list[np.ndarray]:
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    return [np.asarray(r, float) for p in polys for r in p]


def _inside(rings: list[np.ndarray], px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd rule over all rings (outer rings and holes) of a (multi)polygon."""
    inside = np.zeros(px.shape, bool)
    for r in rings:
        x1, y1, x2, y2 = r[:-1, 0], r[:-1, 1], r[1:, 0], r[1:, 1]
        for s in range(0, len(x1), 400):
            a, b, c, d = x1[s:s + 400, None], y1[s:s + 400, None], x2[s:s + 400, None], y2[s:s + 400, None]
            cond = (b > py) != (d > py)
            with np.errstate(invalid="ignore", divide="ignore"):
                xint = a + (py - b) * (c - a) / (d - b)
            inside ^= (cond & (px < xint)).sum(0) % 2 == 1
    return inside


def membership(geo: dict[str, dict], finest: str, step: float = 0.04) -> pd.DataFrame:
    """layout, unit, atom (atom = unit of the finest layout) and the sampled share of the atom inside."""
    rows = []
    atoms = {f["properties"]["region_code"]: _rings(f["geometry"]) for f in geo[finest]["features"]}
    for atom, rings in atoms.items():
        allpts = np.vstack(rings)
        (x0, y0), (x1, y1) = allpts.min(0), allpts.max(0)
        gx, gy = np.meshgrid(np.arange(x0, x1, step) + step / 2, np.arange(y0, y1, step) + step / 2)
        px, py = gx.ravel(), gy.ravel()
        keep = _inside(rings, px, py)
        px, py = px[keep], py[keep]
        if len(px) < 10:  # small city: finer grid
            gx, gy = np.meshgrid(np.arange(x0, x1, step / 8), np.arange(y0, y1, step / 8))
            px, py = gx.ravel(), gy.ravel()
            keep = _inside(rings, px, py)
            px, py = px[keep], py[keep]
        for lay, g in geo.items():
            best, share = None, 0.0
            for f in g["features"]:
                s = _inside(_rings(f["geometry"]), px, py).mean()
                if s > share:
                    best, share = f["properties"]["region_code"], float(s)
            rows.append({"layout": lay, "unit": best, "atom": atom, "sampled_share": share, "n_points": len(px)})
    m = pd.DataFrame(rows)
    bad = m[m.sampled_share < 0.9]
    if len(bad):
        sys.exit(f"boundary overlay is ambiguous (< 90 % of an atom in one unit):\n{bad}")
    return m


# ---------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", default="../shared/data", type=Path)
    args = ap.parse_args()
    base = args.shared / "regions"
    sys.path.insert(0, str(ROOT / "src"))
    from digimeter.geography import infer_layout  # noqa: E402

    corr = yaml.safe_load((XW / "kz_regions_corrections.yaml").read_text())
    ref_path = base / "kz_reference" / "kz_regions.csv"
    ref = pd.read_csv(ref_path, dtype=str, keep_default_na=False)

    # ---- boundaries -> geo/ and membership ----------------------------------------------------
    GEO.mkdir(parents=True, exist_ok=True)
    geo, geo_files = {}, {}
    for lay, fname, *_ in LAYOUTS:
        path = base / "kz_boundaries_geokz" / fname
        g = json.loads(path.read_text(encoding="utf-8"))
        for f in g["features"]:
            f["properties"] = {"unit": f["properties"]["region_code"], "layout": lay, **f["properties"]}
        g["name"] = lay
        geo[lay], geo_files[lay] = g, path
        (GEO / f"{lay}.geojson").write_text(json.dumps(g, ensure_ascii=False, separators=(",", ":")),
                                            encoding="utf-8")
    mem = membership(geo, "kz20")
    # cross-check with the reference table: a unit created on date D must not be an atom of a
    # layout that ended before D under its own code, and every layout must have its expected size
    for lay, *_ in LAYOUTS:
        n = mem[mem.layout == lay].unit.nunique()
        assert n == len(geo[lay]["features"]), (lay, n)
    created = ref[ref.valid_from != ""].set_index("region_code").valid_from.to_dict()
    for _, r in mem.iterrows():
        if r.unit in created and r.layout == "kz16":
            sys.exit(f"{r.unit} (created {created[r.unit]}) cannot be a unit of kz16")

    # ---- population by atom and year -----------------------------------------------------------
    pop_path = base / "kz_bns_population" / "kz_population_by_region_2000_2023_long.csv"
    pop = pd.read_csv(pop_path)
    ptot = pop[(pop.breakdown == "total") & (pop.region_code != NATIONAL)]
    terr = {(r.layout, r.unit): set() for r in mem.itertuples()}
    for r in mem.itertuples():
        terr[r.layout, r.unit].add(r.atom)
    layouts_df = pd.DataFrame([{"layout": l, "first_year": a, "last_year": b, "n_units": len(geo[l]["features"]),
                                "geojson": f"geo/{l}.geojson", "note": note} for l, _, a, b, note in LAYOUTS])
    layouts_df["first_year"] = layouts_df.first_year.astype("Int64")
    layouts_df["last_year"] = layouts_df.last_year.astype("Int64")
    xw_members = mem[["layout", "unit", "atom"]]
    direct = {}  # (atom, year) -> population where the atom is published as a unit
    for r in ptot.itertuples():
        direct[r.region_code, r.year] = float(r.value)
    atoms = sorted(mem.atom.unique())
    years = sorted(ptot.year.unique())
    full_years = {a: [y for y in years if (a, y) in direct] for a in atoms}
    atom_pop = []
    for y in years:
        g = ptot[ptot.year == y]
        lay = infer_layout(g.region_code, xw_members, int(y), layouts_df)
        for u, v in zip(g.region_code, g.value):
            ats = sorted(terr[lay, u])
            if len(ats) == 1:
                atom_pop.append((ats[0], y, float(v), False, f"published: {u} {y}"))
                continue
            # apportion by the shares of the nearest year in which every atom is published
            ref_years = [yy for yy in years if all((a, yy) in direct for a in ats)]
            ry = min(ref_years, key=lambda yy: abs(yy - y))
            tot = sum(direct[a, ry] for a in ats)
            for a in ats:
                atom_pop.append((a, y, float(v) * direct[a, ry] / tot, True,
                                 f"{u} {y} ({lay}) apportioned by {ry} shares of {'+'.join(ats)}"))
    ap_df = pd.DataFrame(atom_pop, columns=["atom", "year", "atom_population", "population_estimated", "basis"])
    assert not ap_df.duplicated(["atom", "year"]).any()
    xw = xw_members.merge(ap_df, on="atom").sort_values(["layout", "unit", "atom", "year"])
    XW.mkdir(parents=True, exist_ok=True)
    xw.to_csv(XW / "kz_crosswalk.csv", index=False)
    layouts_df.to_csv(XW / "kz_layouts.csv", index=False)

    # ---- units ---------------------------------------------------------------------------------
    first = {"KZ-61": 2018, "KZ-79": 2018, "KZ-10": 2022, "KZ-33": 2022, "KZ-62": 2022}
    units = []
    lay_years = {l: (a, b) for l, _, a, b, _ in LAYOUTS}
    for r in ref.itertuples():
        if r.region_code == NATIONAL:
            units.append({"code": NATIONAL, "name": "Kazakhstan, national total of the BNS regional statistics",
                          "kind": "aggregate", "parent": PARENT})
            continue
        in_layouts = sorted(set(mem[mem.unit == r.region_code].layout))
        vf = [lay_years[l][0] for l in in_layouts]
        vt = [lay_years[l][1] for l in in_layouts]
        units.append({"code": r.region_code, "name": r.name_en, "kind": "region", "parent": PARENT,
                      "iso2": None,
                      "valid_from": None if any(v is None for v in vf) else min(vf),
                      "valid_to": None if any(v is None for v in vt) else max(vt)})
    units = pd.DataFrame(units).reindex(columns=UNIT_COLS)
    for c in ["valid_from", "valid_to"]:
        units[c] = units[c].astype("Int64")
    for c in ["parent", "iso2", "un_region", "un_subregion", "wb_region", "income_group", "un_member"]:
        units[c] = units[c].astype(object).where(units[c].notna(), None)
    for code, y in first.items():  # consistency with the reference dates
        assert units.set_index("code").valid_from[code] == y, code

    # ---- origins -------------------------------------------------------------------------------
    origins = []

    def origin(**kw):
        row = {c: None for c in ORIGIN_COLS}
        row.update(kw)
        row["retrieved"] = row["retrieved"] or RETRIEVED
        origins.append(row)

    sdg_path = base / "kz_bns_sdg_platform" / "kz_sdg_regional_indicators_long.csv"
    origin(origin_id="kz_bns_sdg_2024_10", publisher=BNS,
           dataset="National SDG Reporting Platform of Kazakhstan: regional indicators (ICT use, skills, "
                   "broadband, schools online, poverty, unemployment, real GRP)",
           edition="sdg-data-kazstat commit 2024-10-24", url="https://github.com/kazstat/sdg-data-kazstat",
           repository="kazstat/sdg-data-kazstat@72277878d12502232b21c3d4b8ac459630b4f578 data/indicator_<id>.csv",
           licence="MIT (repository); official statistics of the Republic of Kazakhstan, cite 'BNS ASPR RK / "
                   "National SDG Reporting Platform'",
           sha256=sha256(sdg_path),
           note="file regions/kz_bns_sdg_platform/kz_sdg_regional_indicators_long.csv (tidy copy of the "
                "original CSVs); corrections: data/crosswalks/kz_regions_corrections.yaml")
    origin(origin_id="kz_bns_population_2023", publisher=BNS,
           dataset="Population by region, total/urban/rural, 1 January (dynamic table)",
           edition="2000-2023 (1 January of each year)",
           url="https://github.com/open-data-kazakhstan/population-projections-by-regions",
           repository="open-data-kazakhstan/population-projections-by-regions@2568e4140d8527c5e501619440ae4eb2e769275a "
                      "archive/source.xlsx",
           licence="ODC-PDDL", sha256=sha256(pop_path),
           note="file regions/kz_bns_population/kz_population_by_region_2000_2023_long.csv; upstream BNS "
                "stat.gov.kz api/iblock/element/6584; 1-January population (not mid-year)")
    grp_path = base / "kz_bns_grp_per_capita" / "kz_grp_per_capita_by_region_2008_2022_long.csv"
    origin(origin_id="kz_bns_grp_2022", publisher=BNS, dataset="Gross regional product per capita",
           edition="2008-2022 (annual)", url="https://github.com/open-data-kazakhstan/city-gdp-per-capita",
           repository="open-data-kazakhstan/city-gdp-per-capita@659fb639048bf7897462e6f9d4db1b057cce42b5 "
                      "arhive/6. ВРП на душу населения.xlsx",
           licence="ODC-PDDL", sha256=sha256(grp_path),
           note="file regions/kz_bns_grp_per_capita/kz_grp_per_capita_by_region_2008_2022_long.csv; nominal; USD "
                "converted by BNS at the National Bank's average rate")
    inc_path = base / "kz_bns_income" / "kz_nominal_cash_income_per_capita_2000_2020_long.csv"
    origin(origin_id="kz_bns_income_2020", publisher=BNS,
           dataset="Per-capita nominal cash income of the population (Taldau index 704447)",
           edition="2000-2020 (annual)",
           url="https://github.com/open-data-kazakhstan/average-per-capita-nominal-cash-income",
           repository="open-data-kazakhstan/average-per-capita-nominal-cash-income@495278c8f40fd82b0a56bfb369f7c66393fc449e "
                      "data/output.csv",
           licence="not stated; official statistics of the Republic of Kazakhstan", sha256=sha256(inc_path),
           note="file regions/kz_bns_income/kz_nominal_cash_income_per_capita_2000_2020_long.csv; tenge per "
                "person per month (BNS convention; the repository gives no unit)")
    origin(origin_id="kz_reference_regions", publisher="digimeter shared data (compiled)",
           dataset="Kazakhstan first-level units: KATO, ISO 3166-2, legacy codes, SDG codes, names, validity",
           edition="2024 division", url="https://en.wikipedia.org/wiki/ISO_3166-2:KZ",
           repository="compiled from arodionoff/geokz@41c1a004 and kazstat/sdg-data-kazstat@72277878 "
                      "translations/*/REF_AREA.yml",
           licence="facts/identifiers", sha256=sha256(ref_path),
           note="file regions/kz_reference/kz_regions.csv; source of the units part")
    for lay, fname, *_ in LAYOUTS:
        origin(origin_id=f"kz_boundaries_{lay}", publisher="OCHA COD-AB via geokz (A. Rodionov)",
               dataset=f"Kazakhstan admin-1 boundaries, layout {lay}", edition="geokz 2024-07-01; simplified",
               url="https://github.com/arodionoff/geokz",
               repository=f"arodionoff/geokz@41c1a00454ec9e01bda031b5074920bd82de02ce inst/shape/"
                          f"kaz_admbnda_adm1_{'2024' if lay == 'kz20' else '2018'}.shp",
               licence="CC BY 4.0 (geokz); source OCHA COD-AB CC BY-IGO", sha256=sha256(geo_files[lay]),
               note=f"file regions/kz_boundaries_geokz/{fname}; bundled as data/geo/{lay}.geojson; also the "
                    f"basis of the layout crosswalk (data/crosswalks/kz_crosswalk.csv)")
    origins = pd.DataFrame(origins, columns=ORIGIN_COLS)

    # ---- indicators and observations ---------------------------------------------------------
    indicators: dict[str, dict] = {}
    obs, applied = [], []
    smap = sdg_map()
    sdg = pd.read_csv(sdg_path)
    sdg["key"] = list(zip(sdg.indicator, sdg.breakdown))
    sdg = sdg[sdg.key.isin(smap)].copy()
    for rule in corr["exclude"]:
        m = (sdg.indicator == rule["source_indicator"]) & (sdg.region_code == rule["unit"]) & sdg.eval(rule["rule"])
        for r in sdg[m].itertuples():
            applied.append({"action": "exclude", "unit": r.region_code, "indicator": smap[r.key]["code"],
                            "year": r.year, "published_value": r.value, "source_indicator": r.indicator,
                            "breakdown": r.breakdown, "reason": " ".join(rule["reason"].split())})
        sdg = sdg[~m]
    for key, row in smap.items():
        indicators[row["code"]] = row
    obs.append(pd.DataFrame({"unit": sdg.region_code, "indicator": sdg.key.map(lambda k: smap[k]["code"]),
                             "year": sdg.year, "value": sdg.value, "origin_id": "kz_bns_sdg_2024_10",
                             "note": None}))
    pmap = {"total": ("population", "Population (1 January)", "people", True, "population total"),
            "area=urban": ("population_urban", "Urban population (1 January)", "people", True, "urban"),
            "area=rural": ("population_rural", "Rural population (1 January)", "people", False, "rural")}
    p = pop[pop.breakdown.isin(pmap)]
    for b, (code, name, unit, hib, lab) in pmap.items():
        indicators[code] = ind(code, name, unit, hib, 0, None, BNS,
                               "SP.POP.TOTL" if code == "population" else f"BNS population by region ({b})",
                               f"Resident population on 1 January of the year ({lab}); the country-level "
                               "'population' (SP.POP.TOTL) is the mid-year estimate")
    obs.append(pd.DataFrame({"unit": p.region_code, "indicator": p.breakdown.map(lambda b: pmap[b][0]),
                             "year": p.year, "value": p.value.astype(float), "origin_id": "kz_bns_population_2023",
                             "note": None}))
    grp = pd.read_csv(grp_path)
    indicators["grp_per_capita_thousand_kzt"] = ind(
        "grp_per_capita_thousand_kzt", "Gross regional product per capita", "thousand KZT per person (nominal)",
        True, 0, None, BNS, "BNS GRP per capita (тыс.тенге)", "Nominal GRP per capita; deflate before comparing years")
    indicators["grp_per_capita_usd"] = ind(
        "grp_per_capita_usd", "Gross regional product per capita (USD)", "USD per person (nominal)", True, 0, None,
        BNS, "BNS GRP per capita (в долларах США)", "Nominal GRP per capita converted by BNS at the National "
        "Bank's average annual rate; oil regions' GRP is not household income")
    obs.append(pd.DataFrame({"unit": grp.region_code, "indicator": grp.indicator, "year": grp.year,
                             "value": grp.value.astype(float), "origin_id": "kz_bns_grp_2022", "note": None}))
    inc = pd.read_csv(inc_path)
    indicators["cash_income_per_capita_kzt_month"] = ind(
        "cash_income_per_capita_kzt_month", "Per-capita nominal cash income", "KZT per person per month (nominal)",
        True, 0, None, BNS, "Taldau 704447", "Average per-capita nominal cash income of the population")
    obs.append(pd.DataFrame({"unit": inc.region_code, "indicator": "cash_income_per_capita_kzt_month",
                             "year": inc.year, "value": inc.value.astype(float), "origin_id": "kz_bns_income_2020",
                             "note": None}))
    ob = pd.concat(obs, ignore_index=True)
    ob = ob[ob.value.notna()].reset_index(drop=True)
    ob["note"] = ob["note"].astype(object)

    # series breaks -> notes
    for br in corr["series_breaks"]:
        m = (ob.indicator == br["indicator"]) & (ob.year == br["first_year_after"])
        ob.loc[m, "note"] = f"series break: first year after a survey redesign ({' '.join(br['reason'].split())})"
        for r in ob[m].itertuples():
            applied.append({"action": "note_series_break", "unit": r.unit, "indicator": r.indicator, "year": r.year,
                            "published_value": r.value, "reason": " ".join(br["reason"].split())})
    # territory of codes that changed in 2022
    changed = set(corr["territory"]["changed_in_2022"])
    for (indc, year), g in ob[ob.unit != NATIONAL].groupby(["indicator", "year"]):
        lay = infer_layout(g.unit, xw_members, int(year), layouts_df)
        if year >= 2022 and lay != "kz20":
            m = ob.index.isin(g.index) & ob.unit.isin(changed)
            text = (f"territory before 2022-06-08 ({lay} layout): no values for the new regions in this "
                    f"indicator-year")
            ob.loc[m, "note"] = ob.loc[m, "note"].where(ob.loc[m, "note"].notna(), text)
            for r in ob[m].itertuples():
                applied.append({"action": "note_territory", "unit": r.unit, "indicator": r.indicator, "year": r.year,
                                "published_value": r.value, "reason": text})
        elif year < 2022 and lay == "kz20":
            sys.exit(f"{indc} {year}: published on the 2022 layout before 2022")
    # range checks: report, never alter
    problems = []
    for code, meta in indicators.items():
        v = ob[ob.indicator == code].value
        lo, hi = meta["min_value"], meta["max_value"]
        bad = v[((v < lo) if lo is not None else False) | ((v > hi) if hi is not None else False)]
        if len(bad):
            problems.append(f"{code}: {len(bad)} values outside [{lo}, {hi}]")
    if problems:
        sys.exit("values outside their valid range (add a correction with a reason):\n" + "\n".join(problems))
    if ob.duplicated(["unit", "indicator", "year"]).any():
        sys.exit("duplicate (unit, indicator, year) rows")
    assert set(ob.unit) <= set(units.code), set(ob.unit) - set(units.code)

    ob["year"] = ob.year.astype("int32")
    ob["value"] = ob.value.astype(float)
    ob = ob.sort_values(["indicator", "unit", "year"]).reset_index(drop=True)[OBS_COLS]
    used = set(ob.indicator)
    inds = pd.DataFrame([indicators[c] for c in sorted(used)], columns=IND_COLS)
    inds["higher_is_better"] = inds.higher_is_better.astype("boolean")
    inds["min_value"] = inds.min_value.astype(float)
    inds["max_value"] = inds.max_value.astype(float)

    # names in the other languages of the reference file (name_ru, name_kk): the report's region names
    names = [{"code": r.region_code, "lang": col[len("name_"):], "name": getattr(r, col).strip(),
              "origin_id": "kz_reference_regions"}
             for r in ref.itertuples() if r.region_code in set(units.code) and r.region_code != NATIONAL
             for col in ("name_ru", "name_kk") if getattr(r, col).strip()]
    names = pd.DataFrame(names, columns=store.NAME_COLS).sort_values(["code", "lang"]).reset_index(drop=True)

    OUT.mkdir(parents=True, exist_ok=True)
    units.to_parquet(OUT / f"units_{PART}.parquet", index=False)
    names.to_parquet(OUT / f"names_{PART}.parquet", index=False)
    inds.to_parquet(OUT / f"indicators_{PART}.parquet", index=False)
    origins.to_parquet(OUT / f"origins_{PART}.parquet", index=False)
    ob.to_parquet(OUT / f"observations_{PART}.parquet", index=False)
    pd.DataFrame(applied).to_csv(XW / "kz_regions_corrections_applied.csv", index=False)
    print(f"{PART}: {len(units)} units ({len(names)} names in other languages), {len(inds)} indicators, {len(origins)} origins, {len(ob)} observations; "
          f"crosswalk {len(xw)} rows; corrections applied {len(applied)}")


if __name__ == "__main__":
    main()
