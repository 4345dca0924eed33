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

    # --- issue 17: the other digital rankings at their latest editions (SOURCES.md section 7) ------
    name_fix = {(c["source"], c["from"]): c["to"] for c in corr.get("unit_names", [])}
    name_iso: dict[str, str] = {}
    for col in ("name", "official_name_en", "unterm_english_short", "wb_name", "un_egov_name", "itu_name"):
        for nm, iso in zip(c[col], c.iso3):
            if nm:
                name_iso.setdefault(nm.strip().lower(), iso)

    def to_iso(names: pd.Series, source: str) -> pd.Series:
        out = []
        for nm in names.str.strip():
            if (source, nm) in name_fix:
                out.append(name_fix[(source, nm)])
            elif nm.lower() in name_iso:
                out.append(name_iso[nm.lower()])
            else:
                raise SystemExit(f"{source}: no ISO3 for {nm!r}; add a unit_names row to corrections.yaml")
        return pd.Series(out, index=names.index, dtype=object)

    def tidy(df: pd.DataFrame, source: str, oid: str, note=None) -> None:
        """Wide (iso3, year, <source columns>) -> observations, one indicator per catalogue entry."""
        for code, meta in cat[source].items():
            col = str(meta["source_code"])
            if col not in df:
                continue
            part = df.dropna(subset=[col])
            obs.append(pd.DataFrame({"unit": part.iso3, "indicator": code, "year": part.year.astype(int),
                                     "value": part[col].astype(float), "origin_id": oid,
                                     "note": note if note is None or isinstance(note, str) else note[part.index]}))

    # IMD WDCR overall ranks 2023 (top 30) and 2024 (63 of 67), third-party transcription
    wd_dir = base / "imd_wdcr" / "overall_ranks_2019_2025"
    wd = pd.read_csv(wd_dir / "imd_wcr_wdcr_overall_ranks_long.csv")
    wd = wd[(wd["index"] == "WDCR") & (wd.year >= 2023)].copy()   # 2019-2022: see corrections.yaml
    universe = pr.groupby("year").n_economies.first()
    press_keys = {}
    for y, g in wd.groupby("year"):
        n_all = int(universe[y])
        gone = sorted(set(range(1, n_all + 1)) - set(g["rank"].astype(int)))
        if len(g) >= n_all / 2:
            what = f"of {n_all} economies; ranks {', '.join(map(str, gone))} are missing from the copy"
        else:
            what = f"of {n_all} economies; top {len(g)} only in the copy"
        oid = f"imd_wdcr_{y}"
        origins.append(origin(
            origin_id=oid, publisher="IMD World Competitiveness Center",
            dataset="IMD World Digital Competitiveness Ranking, overall ranks (transcribed by a third party)",
            edition=str(y),
            url="https://www.imd.org/centers/wcc/world-competitiveness-center/rankings/world-digital-competitiveness-ranking/",
            repository="aisear/context-monitor@1140bcab src/data/rankings_2025.csv (= src/data/indices_2025.csv)",
            licence="IMD copyright; ranks are facts published in IMD's free reports and press releases, cite IMD",
            sha256=sha256(wd_dir / "original" / "rankings_2025.csv"),
            note=f"{len(g)} ranks {what}. Trust: medium-high (hand-transcribed copy; every checked rank matches "
                 "press lists; Kazakhstan's 2024 rank not independently confirmed). Overall rank only, no factors"))
        obs.append(pd.DataFrame({"unit": g.iso3, "indicator": "imd_wdcr_rank", "year": g.year.astype(int),
                                 "value": g["rank"].astype(float), "origin_id": oid, "note": what}))
        press_keys.update({(u, int(y)): float(r) for u, r in zip(g.iso3, g["rank"])})
    # a press quote of the same economy and year gives way to the table (and must agree with it)
    for i, part in enumerate(obs):
        if len(part) and str(part.origin_id.iloc[0]).startswith("imd_wdcr_press_"):
            key = list(zip(part.unit, part.year.astype(int)))
            clash = [(k, v) for k, v in zip(key, part.value) if k in press_keys and press_keys[k] != v]
            if clash:
                raise SystemExit(f"IMD press quote differs from the 2023/2024 table: {clash}")
            obs[i] = part[[k not in press_keys for k in key]]

    # ITU ICT Development Index 2025 (overall score only)
    idi_path = base / "itu_idi" / "index-IDI-workspace.csv"
    idi = pd.read_csv(idi_path)
    idi["year"] = idi.value_year.astype(int)
    idi["IDI"] = idi.score
    add_indicators("itu_idi", "ITU")
    origins.append(origin(
        origin_id="itu_idi_2025", publisher="International Telecommunication Union (ITU)",
        dataset="Measuring digital development - ICT Development Index 2025 (overall scores, IDIDataset_2025.xlsx)",
        edition="2025 (June 2025)",
        url="https://www.itu.int/itu-d/reports/statistics/wp-content/uploads/sites/5/2025/06/IDIDataset_2025.xlsx",
        repository="Arseniy24RUS/GIR@94d74703 pages-dist/api/index-IDI-workspace.csv",
        licence="ITU terms (report CC BY-NC-SA 3.0 IGO); non-commercial use, cite 'ITU, ICT Development Index 2025'",
        sha256=sha256(idi_path),
        note=f"{len(idi)} economies (ITU reports about 170; India, Taiwan, Tajikistan, Turkmenistan absent). "
             "ITU publishes no ranks: digimeter ranks the scores (ties share the best rank); the copy's own ranks "
             "are not loaded. Scores at one decimal. Trust: medium (secondary export of ITU's file, checked on "
             "Kazakhstan and its neighbours only)"))
    tidy(idi, "itu_idi", "itu_idi_2025")

    # Oxford Insights Government AI Readiness Index 2020-2025
    ga_dir = base / "oxford_insights_gairi"
    ga = pd.read_csv(ga_dir / "gairi_2020_2025_scores_long.csv")
    add_indicators("gairi", "Oxford Insights")
    wb_sums = dict(line.split()[::-1] for line in (ga_dir / "original" / "SHA256SUMS").read_text().split("\n") if line.strip())
    for y, g in ga.groupby("year"):
        wb = next(k for k in wb_sums if k.startswith(str(y)))
        oid = f"gairi_{y}"
        trust = ("Trust: medium-high: this workbook looks like a revised release (Kazakhstan 58th here, 60th in "
                 "December 2025 press; AI infrastructure, development & diffusion and resilience differ); "
                 "new 6-pillar framework, not comparable with 2020-2024" if y == 2025 else
                 "Trust: high (publisher's workbook; ranking-sheet totals = detail-sheet totals)")
        origins.append(origin(
            origin_id=oid, publisher="Oxford Insights", dataset="Government AI Readiness Index (public data workbook)",
            edition=str(y), url="https://oxfordinsights.com/ai-readiness/",
            repository=f"tiasturias/Research_LeyIA_DataScience@9ad5d03e Research_AI_law/FUENTES/Oxford Insights/data_index/{wb}",
            licence="CC BY-SA 4.0 (Oxford Insights); cite 'Oxford Insights, Government AI Readiness Index "
                    f"{y}'; share-alike applies to derived tables",
            sha256=wb_sums[wb],
            note=f"{len(g)} economies; values from oxford_insights_gairi/gairi_2020_2025_scores_long.csv "
                 f"(sha256 {sha256(ga_dir / 'gairi_2020_2025_scores_long.csv')[:16]}...), reshaped from the workbook. "
                 + trust))
        tidy(g, "gairi", oid)

    # Portulans Institute Network Readiness Index 2020
    nri_path = base / "network_readiness_index" / "network_readiness_index.csv"
    nri = pd.read_csv(nri_path, encoding="utf-8-sig")
    nri["iso3"] = to_iso(nri.Country, "nri")
    nri["year"] = 2020
    add_indicators("nri", "Portulans Institute")
    origins.append(origin(
        origin_id="nri_2020", publisher="Portulans Institute", dataset="The Network Readiness Index (overall)",
        edition="2020", url="https://networkreadinessindex.org/",
        repository="undp/digital-development-compass@289f3df2 data/network_readiness_index.csv",
        licence="CC BY-NC-ND 3.0 (NRI report); non-commercial use with attribution to Portulans Institute",
        sha256=sha256(nri_path),
        note=f"{len(nri)} economies, overall rank and score only (no pillars); names matched to ISO3 "
             "(corrections.yaml unit_names). Trust: high for NRI 2020 overall (matches the report's summary). "
             "Later editions not found in a usable form"))
    tidy(nri, "nri", "nri_2020")

    # World Bank Global Findex 2025, Kazakhstan's rows only
    fx_path = base / "findex_kaz" / "findex2025_kaz_key_indicators_2021_2024.csv"
    fx = pd.read_csv(fx_path).pivot_table(index=["iso3", "year"], columns="indicator_code",
                                           values="value_share").reset_index()
    fx[[c_ for c_ in fx.columns if c_ not in ("iso3", "year")]] *= 100.0
    add_indicators("findex", "World Bank")
    origins.append(origin(
        origin_id="findex_2025_kaz", publisher="World Bank", dataset="Global Findex Database 2025 (Kazakhstan's rows)",
        edition="2025 (waves 2021 and 2024)", url="https://www.worldbank.org/en/publication/globalfindex",
        repository="VAL-Jerono/FinScope@600d8ed7 GlobalFindexDatabase2025.csv (two rows transcribed)",
        licence="CC BY 4.0 (World Bank Global Findex database)", sha256=sha256(fx_path),
        note="Kazakhstan only (the full file could not be copied): not enough coverage to rank or normalise "
             "across countries. Values are the database's shares x 100 (no rounding). Trust: medium "
             "(hand-transcribed rows of the publisher's file)"))
    tidy(fx, "findex", "findex_2025_kaz")

    # Eurostat: individuals with basic or above basic overall digital skills, 2021 and 2023
    es_path = base / "eurostat_digital_skills" / "original" / "isoc_sk_dskl_i21.csv"
    es = pd.read_csv(es_path)
    es = es[es.indic_is.str.startswith("Individuals with basic or above basic overall digital skills")
            & es.unit.eq("Percentage of individuals")].copy()
    es["iso3"] = to_iso(es.geo, "eurostat_skills")
    es = es[es.iso3.notna()]
    es["year"] = es.TIME_PERIOD.astype(int)
    es[str(cat["eurostat_skills"]["basic_digital_skills_pct"]["source_code"])] = es.OBS_VALUE
    add_indicators("eurostat_skills", "Eurostat")
    origins.append(origin(
        origin_id="eurostat_skills_2024_12", publisher="Eurostat",
        dataset="Individuals' level of digital skills (isoc_sk_dskl_i21; Digital Decade basic digital skills KPI)",
        edition="last update 2024-12-17 (waves 2021, 2023)",
        url="https://ec.europa.eu/eurostat/databrowser/view/isoc_sk_dskl_i21/default/table",
        repository="ByteToMight/New-Portfolio-Project@b6a60e07 data/isoc_sk_dskl_i21.csv",
        licence="CC BY 4.0 (Eurostat re-use policy; 'Source: Eurostat')", sha256=sha256(es_path),
        note=f"{es.iso3.nunique()} European economies and the EU27 (no Kazakhstan: not in the EU survey). "
             "Trust: high (publisher's SDMX-CSV export)"))
    tidy(es, "eurostat_skills", "eurostat_skills_2024_12",
         note=es.OBS_FLAG.map(lambda f: f"Eurostat flag {f}" if isinstance(f, str) and f.strip() else None))

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
