"""Make the bundled country snapshot (Parquet) from the real data sets in ../shared/data/countries.

Nothing here types in a number: every value is read from a file listed in that folder's SOURCES.md,
and every file's SHA-256 is recorded in its origin. Code corrections come from
src/digimeter/data/corrections.yaml. Run: python scripts/make_snapshot.py --shared ../shared/data
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pandas as pd

from digimeter import store
import yaml

PKG = Path(__file__).resolve().parents[1] / "src" / "digimeter" / "data"
OUT = PKG / "snapshot"
RETRIEVED = "2026-11-29"  # when the files were assembled into shared/data (SOURCES.md)

# the store's own column lists (observations without vintage: the store assigns it)
UNIT_COLS, IND_COLS, ORIGIN_COLS = store.UNIT_COLS, store.IND_COLS, store.ORIGIN_COLS
OBS_COLS = [c for c in store.OBS_COLS if c != "vintage"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_map(corrections: dict, source: str) -> dict[str, str]:
    return {c["from"]: c["to"] for c in corrections["unit_codes"] if c["source"] == source}


def origin(**kw) -> dict:
    row = {c: None for c in ORIGIN_COLS}
    row.update(kw)
    row.setdefault("retrieved", RETRIEVED)
    if row["retrieved"] is None:
        row["retrieved"] = RETRIEVED
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", default="../shared/data", type=Path)
    args = ap.parse_args()
    base = args.shared / "countries"
    cat = yaml.safe_load((PKG / "catalogue.yaml").read_text())
    corr = yaml.safe_load((PKG / "corrections.yaml").read_text())

    origins: list[dict] = []
    obs: list[pd.DataFrame] = []
    indicators: list[dict] = []

    def add_indicators(source: str, publisher: str, names: dict[str, str] | None = None,
                       descriptions: dict[str, str] | None = None) -> None:
        for code, meta in cat[source].items():
            sc = str(meta["source_code"])
            indicators.append({
                "code": code,
                "name": meta.get("name") or (names or {}).get(sc, code),
                "unit": meta["unit"],
                "higher_is_better": bool(meta["higher_is_better"]),
                "min_value": meta.get("min"), "max_value": meta.get("max"),
                "source": publisher, "source_code": sc,
                "description": (descriptions or {}).get(sc),
            })

    # --- country metadata -------------------------------------------------------------------
    meta_path = base / "metadata" / "countries.csv"
    c = pd.read_csv(meta_path, keep_default_na=False, dtype=str)
    units = pd.DataFrame({
        "code": c.iso3, "name": c.name, "kind": "country", "parent": None,
        "iso2": c.iso2.replace("", None), "un_region": c.un_region.replace("", None),
        "un_subregion": c.un_subregion.replace("", None), "wb_region": c.wb_region.replace("", None),
        "income_group": c.wb_income_group_fy2026.replace("", None),
        "un_member": c.un_member_in_egdi.eq("True"), "valid_from": None, "valid_to": None,
    })
    origins.append(origin(
        origin_id="meta_countries", publisher="ISO / UN Statistics Division / World Bank",
        dataset="Country codes (ISO 3166, UN M49) with World Bank regions and income groups (FY2026)",
        edition="2026-05 (country-codes), FY2026 (World Bank)",
        url="https://datahub.io/core/country-codes; https://datacatalog.worldbank.org/search/dataset/0037712",
        repository="datasets/country-codes@caa72d1e data/country-codes.csv; WB-PIDA-Data-Science-Shop/cliaretl@c9a9869b data/wb_income_and_region.rda",
        licence="ODC-PDDL (codes); CC BY 4.0 (World Bank)", sha256=sha256(meta_path),
        note="metadata/countries.csv in shared data; CUB and PRK have no World Bank income group there"))

    # --- UN E-Government Survey ----------------------------------------------------------------
    eg_path = base / "un_egov" / "egdi_all_editions.csv"
    eg = pd.read_csv(eg_path)
    add_indicators("un_egov", "UN DESA")
    col_of = {"egdi": "egdi", "egdi_rank": "egdi_rank", "osi": "osi", "hci": "hci", "tii": "tii", "epi": "epi"}
    for year, g in eg.groupby("year"):
        raw = base / "un_egov" / "raw" / f"EGOV_DATA_{year}.csv"
        repo = ("MaryliaCruzS/Estadistica1CienciaPolitica@c22aa0b1 EGOV_DATA_2024.csv" if year == 2024
                else f"sevenChrisK/text-mining-week1@26c955ca data/EGOV_DATA_{year}.csv")
        oid = f"un_egov_{year}"
        origins.append(origin(
            origin_id=oid, publisher="UN DESA, Division for Public Institutions and Digital Government",
            dataset="United Nations E-Government Survey (Data Center export)", edition=str(year),
            url="https://publicadministration.un.org/egovkb/en-us/Data-Center", repository=repo,
            licence="UN DESA publication; free to download, cite 'United Nations E-Government Survey "
                    f"{year}, UN DESA' (attribution required)",
            sha256=sha256(raw),
            note=f"values from un_egov/egdi_all_editions.csv (sha256 {sha256(eg_path)[:16]}...), ISO3 added by name matching"))
        for code, col in col_of.items():
            part = g[["iso3", "year", col]].dropna()
            obs.append(pd.DataFrame({"unit": part.iso3, "indicator": code, "year": part.year,
                                     "value": part[col].astype(float), "origin_id": oid, "note": None}))

    # --- ITU -------------------------------------------------------------------------------
    itu_path = base / "itu" / "itu_ict_indicators_long.csv"
    itu = pd.read_csv(itu_path, keep_default_na=False, na_values={"value": [""]})
    itu_meta = pd.read_csv(base / "itu" / "itu_series_metadata.csv")
    names = dict(zip(itu.itu_series_code, itu.indicator))
    desc = dict(zip(itu_meta.seriesCode, itu_meta.seriesDescription))
    add_indicators("itu", "ITU", names, desc)
    origins.append(origin(
        origin_id="itu_ict_2025", publisher="International Telecommunication Union (ITU)",
        dataset="World Telecommunication/ICT Indicators Database (ITU DataHub export)", edition="December 2025",
        url="https://datahub.itu.int/",
        repository="DenSkrytskyi/itu-ict-indicators-analysis@3a84dc20 src/*.csv; DenSkrytskyi/giga-school-connectivity-analysis@da8add4e data/raw/*.csv",
        licence="ITU DataHub terms: free for non-commercial/research use with attribution 'ITU World Telecommunication/ICT Indicators Database'",
        sha256=sha256(itu_path), note=corr["itu_units"]["reason"]))
    itu_codes = code_map(corr, "itu")
    by_source = {str(m["source_code"]): code for code, m in cat["itu"].items()}
    unknown = set(itu.itu_series_code) - set(by_source)
    if unknown:
        raise SystemExit(f"ITU series without a catalogue entry: {sorted(unknown)}")
    note = (itu.note.str.strip() + "; source: " + itu.data_source.str.strip()).str.strip("; ")
    note = note.where(note.ne("source:") & note.ne(""), None)
    obs.append(pd.DataFrame({"unit": itu.iso3.replace(itu_codes), "indicator": itu.itu_series_code.map(by_source),
                             "year": itu.year.astype(int), "value": itu.value.astype(float),
                             "origin_id": "itu_ict_2025", "note": note.str.replace("^source: ", "source: ", regex=True)}))
    extra = sorted(set(itu.iso3.replace(itu_codes)) - set(units.code))
    itu_names = itu.drop_duplicates("iso3").set_index("iso3").country
    units = pd.concat([units, pd.DataFrame({"code": extra, "name": [itu_names[x] for x in extra],
                                            "kind": "territory"})], ignore_index=True)

    # --- World Bank WDI --------------------------------------------------------------------
    wdi_path = base / "wdi" / "wdi_selected_long.parquet"
    wdi = pd.read_parquet(wdi_path)
    wmeta = pd.read_csv(base / "wdi" / "wdi_indicator_metadata.csv")
    add_indicators("wdi", "World Bank", dict(zip(wdi.indicator_code, wdi.indicator_name)),
                   dict(zip(wmeta.indicator_code, wmeta.definition)))
    origins.append(origin(
        origin_id="wdi_2026_07", publisher="World Bank", dataset="World Development Indicators",
        edition="2026-07-01 update", url="https://datacatalog.worldbank.org/search/dataset/0037712",
        repository="datasets/world-development-indicators@4ebec5a2 indicators/<code>/data.csv",
        licence="CC BY 4.0 (cite 'The World Bank: World Development Indicators')", sha256=sha256(wdi_path),
        note="World Bank aggregates (WLD, ECS, ...) are kept as units of kind 'aggregate'"))
    wby = {str(m["source_code"]): code for code, m in cat["wdi"].items()}
    wdi = wdi.dropna(subset=["value"])
    obs.append(pd.DataFrame({"unit": wdi.iso3, "indicator": wdi.indicator_code.map(wby), "year": wdi.year.astype(int),
                             "value": wdi.value.astype(float), "origin_id": "wdi_2026_07", "note": None}))
    aggs = sorted(set(wdi.iso3) - set(units.code))
    wnames = wdi.drop_duplicates("iso3").set_index("iso3").country
    units = pd.concat([units, pd.DataFrame({"code": aggs, "name": [wnames[x] for x in aggs], "kind": "aggregate"})],
                      ignore_index=True)

    # --- GovTech Maturity Index ------------------------------------------------------------
    gt_path = base / "govtech_gtmi" / "gtmi_2020_2022_2025.csv"
    gt = pd.read_csv(gt_path)
    gt["iso3"] = gt.iso3.replace(code_map(corr, "gtmi"))
    add_indicators("gtmi", "World Bank")
    gcols = {"gtmi": "gtmi", "gtmi_cgsi": "cgsi", "gtmi_psdi": "psdi", "gtmi_dcei": "dcei", "gtmi_gtei": "gtei"}
    for year, g in gt.groupby("year"):
        oid = f"gtmi_{year}"
        origins.append(origin(
            origin_id=oid, publisher="World Bank", dataset="GovTech Maturity Index (GovTech Dataset)",
            edition=str(year), url="https://datacatalog.worldbank.org/search/dataset/0037889",
            repository="WB-PIDA-Data-Science-Shop/gtmiR@2042c6ea data/gtmi2025.rda",
            licence="CC BY 4.0 (World Bank)", sha256=sha256(gt_path),
            note="GTMI group (A-D) kept in the observation note"))
        for code, col in gcols.items():
            part = g.dropna(subset=[col])
            obs.append(pd.DataFrame({"unit": part.iso3, "indicator": code, "year": part.year.astype(int),
                                     "value": part[col].astype(float), "origin_id": oid,
                                     "note": "GTMI group " + part.gtmi_group.astype(str)}))

    # --- IMD World Digital Competitiveness Ranking -----------------------------------------
    add_indicators("imd", "IMD World Competitiveness Center")
    imd_by = {str(m["source_code"]): code for code, m in cat["imd"].items()}
    f_path = base / "imd_wdcr" / "imd_wdcr_factor_ranks_2018_2022.csv"
    s_path = base / "imd_wdcr" / "imd_wdcr_subfactor_ranks_2022.csv"
    p_path = base / "imd_wdcr" / "imd_wdcr_press_supplement_2023_2025.csv"
    origins.append(origin(
        origin_id="imd_wdcr_2022", publisher="IMD World Competitiveness Center",
        dataset="IMD World Digital Competitiveness Ranking (report, 5-year overall and factor ranks)", edition="2022",
        url="https://www.imd.org/centers/wcc/world-competitiveness-center/rankings/world-digital-competitiveness-ranking/",
        repository="e-atom/Digital_Competitiveness@f97e2270 Data/IMD_digital_competencies.xlsx",
        licence="IMD copyright; ranks published in a free report, cite IMD", sha256=sha256(f_path),
        note="ranks 2018-2022 as printed in the 2022 report (economies still ranked in 2022 only)"))
    fr = pd.read_csv(f_path)
    obs.append(pd.DataFrame({"unit": fr.iso3, "indicator": fr.factor.map(imd_by), "year": fr.year.astype(int),
                             "value": fr["rank"].astype(float), "origin_id": "imd_wdcr_2022", "note": None}))
    origins.append(origin(
        origin_id="imd_wdcr_2022_subfactors", publisher="IMD World Competitiveness Center",
        dataset="IMD World Digital Competitiveness Ranking (sub-factor ranks)", edition="2022",
        url="https://www.imd.org/centers/wcc/world-competitiveness-center/rankings/world-digital-competitiveness-ranking/",
        repository="e-atom/Digital_Competitiveness@f97e2270 Data/IMD_digital_competencies.xlsx",
        licence="IMD copyright; ranks published in a free report, cite IMD", sha256=sha256(s_path),
        note="6 of the 9 sub-factors"))
    sf = pd.read_csv(s_path).melt(id_vars=["iso3", "economy", "year"], var_name="factor", value_name="rank").dropna()
    obs.append(pd.DataFrame({"unit": sf.iso3, "indicator": sf.factor.map(imd_by), "year": sf.year.astype(int),
                             "value": sf["rank"].astype(float), "origin_id": "imd_wdcr_2022_subfactors", "note": None}))
    pr = pd.read_csv(p_path, keep_default_na=False)
    p_sha = sha256(p_path)
    for year, g in pr.groupby("year"):
        oid = f"imd_wdcr_press_{year}"
        urls = sorted({u for u in g.source_url if u})
        origins.append(origin(
            origin_id=oid, publisher="IMD World Competitiveness Center (as quoted in the press)",
            dataset="IMD World Digital Competitiveness Ranking (ranks quoted in press releases and news)",
            edition=str(year), url="; ".join(urls) if urls else None,
            repository="hand-assembled press supplement in shared data (imd_wdcr_press_supplement_2023_2025.csv)",
            licence="IMD copyright; facts quoted in the press, cite IMD", sha256=p_sha,
            note=f"{len(g)} ranks of {int(g.n_economies.iloc[0])} economies; each row's source is in its note"))
        notes = ("of " + g.n_economies.astype(str) + " economies; " + g.note + "; " + g.source_url).str.rstrip("; ")
        obs.append(pd.DataFrame({"unit": g.iso3, "indicator": g.factor.map(imd_by), "year": g.year.astype(int),
                                 "value": g["rank"].astype(float), "origin_id": oid, "note": notes}))

    # --- write -----------------------------------------------------------------------------
    ob = pd.concat(obs, ignore_index=True)[OBS_COLS]
    if ob.indicator.isna().any():
        raise SystemExit("observation with no catalogue indicator")
    missing = set(ob.unit) - set(units.code)
    if missing:
        raise SystemExit(f"observations for units not in the units table: {sorted(missing)}")
    dup = ob.duplicated(["unit", "indicator", "year"], keep=False)
    if dup.any():
        raise SystemExit(f"duplicate keys:\n{ob[dup].head(20)}")
    ob["year"] = ob.year.astype("int32")
    OUT.mkdir(parents=True, exist_ok=True)
    units[UNIT_COLS].to_parquet(OUT / "units_countries.parquet", index=False)
    pd.DataFrame(indicators)[IND_COLS].to_parquet(OUT / "indicators_countries.parquet", index=False)
    pd.DataFrame(origins)[ORIGIN_COLS].to_parquet(OUT / "origins_countries.parquet", index=False)
    ob.sort_values(["indicator", "unit", "year"]).to_parquet(OUT / "observations_countries.parquet", index=False)
    print(f"units {len(units)}, indicators {len(indicators)}, origins {len(origins)}, observations {len(ob)}")


if __name__ == "__main__":
    main()
