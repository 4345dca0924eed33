"""Issue 17: every digital ranking side by side at its latest edition, and why they disagree.

Published values are checked against the spot checks in each shared folder's NOTES.md
(../shared/data/countries/<folder>/NOTES.md), three per new source.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from digimeter import benchmark as bm


def _v(store, indicator: str, unit: str, year: int) -> float:
    o = store.observations(indicators=indicator, units=unit, years=year)
    assert len(o) == 1, (indicator, unit, year)
    return float(o.value.iloc[0])


# -- published values = NOTES.md spot checks ---------------------------------------------------

def test_imd_wdcr_2024_spot_checks(store):
    # imd_wdcr/overall_ranks_2019_2025/NOTES.md: KAZ 34; APAC list CHN 14, AUS 15, JPN 31, THA 37; top: SGP 1
    assert _v(store, "imd_wdcr_rank", "KAZ", 2024) == 34
    assert [_v(store, "imd_wdcr_rank", u, 2024) for u in ("CHN", "AUS", "JPN", "THA")] == [14, 15, 31, 37]
    assert _v(store, "imd_wdcr_rank", "SGP", 2024) == 1
    o = store.observations(indicators="imd_wdcr_rank", years=2024)
    assert len(o) == 63 and "of 67 economies; ranks 60, 63, 64, 65" in o.note[o.unit == "KAZ"].iloc[0]


def test_itu_idi_2025_spot_checks(store):
    # itu_idi/NOTES.md: KAZ 90.5; TUR 88.5, GEO 89.5, UKR 82.5, DEU 89.6; BEL 89.8, CZE 89.3, HUN 88.9; UZB 86.5
    assert _v(store, "idi", "KAZ", 2025) == 90.5
    assert [_v(store, "idi", u, 2025) for u in ("TUR", "GEO", "UKR", "DEU")] == [88.5, 89.5, 82.5, 89.6]
    assert [_v(store, "idi", u, 2025) for u in ("BEL", "CZE", "HUN", "UZB", "KGZ")] == [89.8, 89.3, 88.9, 86.5, 85.9]
    assert len(store.observations(indicators="idi", years=2025)) == 164


def test_gairi_spot_checks(store):
    # oxford_insights_gairi/NOTES.md: KAZ 2023 #72 48.556; KAZ 2024 #76 51.41; IND 2025 #27 66.55;
    # KAZ 2025 Public Sector Adoption 73.59; KAZ 2025 #58 56.70
    assert (_v(store, "gairi_rank", "KAZ", 2023), round(_v(store, "gairi", "KAZ", 2023), 3)) == (72, 48.556)
    assert (_v(store, "gairi_rank", "KAZ", 2024), round(_v(store, "gairi", "KAZ", 2024), 2)) == (76, 51.41)
    assert (_v(store, "gairi_rank", "IND", 2025), round(_v(store, "gairi", "IND", 2025), 2)) == (27, 66.55)
    assert _v(store, "gairi_public_sector_adoption", "KAZ", 2025) == 73.59
    assert (_v(store, "gairi_rank", "KAZ", 2025), _v(store, "gairi", "KAZ", 2025)) == (58, 56.70)


def test_gairi_2025_weights_in_rankings_yaml_are_the_workbooks(store):
    """rankings.yaml's GAIRI 2025 pillar weights reproduce every economy's published total."""
    codes = ["gairi_policy_capacity", "gairi_ai_infrastructure", "gairi_governance",
             "gairi_public_sector_adoption", "gairi_development_diffusion", "gairi_resilience"]
    o = store.observations(indicators=["gairi", *codes], years=2025)
    w = o.pivot_table(index="unit", columns="indicator", values="value")
    weights = [p["weight"] for p in bm.ranking_methods()["gairi"]["weights"]]
    assert len(w) == 195
    assert np.abs(w[codes].to_numpy() @ np.array(weights) - w["gairi"].to_numpy()).max() < 0.01


def test_nri_2020_spot_checks(store):
    # network_readiness_index/NOTES.md: Sweden 1 (82.75), USA 8, Russia 48, Armenia 55, Kazakhstan 56 (51.38)
    assert (_v(store, "nri_rank", "SWE", 2020), _v(store, "nri", "SWE", 2020)) == (1, 82.75)
    assert [_v(store, "nri_rank", u, 2020) for u in ("USA", "RUS", "ARM", "MUS", "KEN")] == [8, 48, 55, 61, 82]
    assert (_v(store, "nri_rank", "KAZ", 2020), _v(store, "nri", "KAZ", 2020)) == (56, 51.38)
    # names matched through corrections.yaml unit_names
    assert _v(store, "nri_rank", "TUR", 2020) > 0 and _v(store, "nri_rank", "HKG", 2020) > 0


def test_findex_kaz_spot_checks(store):
    # findex_kaz/NOTES.md: digital payments 77.9 -> 85.0; account 81.1 -> 87.0; merchant payment 57.3 -> 70.1
    assert round(_v(store, "findex_digital_payments_pct", "KAZ", 2021), 1) == 77.9
    assert round(_v(store, "findex_digital_payments_pct", "KAZ", 2024), 1) == 85.0
    assert [round(_v(store, "findex_account_pct", "KAZ", y), 1) for y in (2021, 2024)] == [81.1, 87.0]
    assert [round(_v(store, "findex_merchant_payment_pct", "KAZ", y), 1) for y in (2021, 2024)] == [57.3, 70.1]


def test_eurostat_basic_skills_spot_checks(store):
    # eurostat_digital_skills/NOTES.md: EU27 53.92 (2021), 55.56 (2023); NL 82.70, FI 81.99, RO 27.73 (2023)
    assert (_v(store, "basic_digital_skills_pct", "EUU", 2021), _v(store, "basic_digital_skills_pct", "EUU", 2023)) \
        == (53.92, 55.56)
    assert [_v(store, "basic_digital_skills_pct", u, 2023) for u in ("NLD", "FIN", "ROU")] == [82.70, 81.99, 27.73]
    assert store.observations(indicators="basic_digital_skills_pct", units="KAZ").empty


def test_new_origins_carry_commit_licence_checksum_and_trust(store):
    o = store.origins().set_index("origin_id")
    for oid, repo, trust in [("imd_wdcr_2024", "aisear/context-monitor@1140bcab", "medium-high"),
                             ("itu_idi_2025", "Arseniy24RUS/GIR@94d74703", "medium"),
                             ("gairi_2025", "tiasturias/Research_LeyIA_DataScience@9ad5d03e", "revised release"),
                             ("nri_2020", "undp/digital-development-compass@289f3df2", "high"),
                             ("findex_2025_kaz", "VAL-Jerono/FinScope@600d8ed7", "medium"),
                             ("eurostat_skills_2024_12", "ByteToMight/New-Portfolio-Project@b6a60e07", "high")]:
        r = o.loc[oid]
        assert r.repository.startswith(repo) and r.licence and len(r.sha256) == 64
        assert "Trust:" in r.note and trust in r.note.split("Trust:")[1]
    assert o.at["gairi_2025", "sha256"] == "0d27476ed784cdc207c33e72e1ff2067685987d6dbfc5d68573467764bc54d8a"
    assert "publishes no ranks" in o.at["itu_idi_2025", "note"]


# -- every ranking side by side, and why they differ ------------------------------------------

@pytest.fixture(scope="module")
def kaz(template_store_path):
    from digimeter.store import Store

    s = Store(template_store_path, read_only=True)
    try:
        yield bm.rankings(s, "KAZ")
    finally:
        s.close()


def test_latest_editions_side_by_side(kaz):
    t = kaz.table.set_index("key")
    want = {"egdi": (2024, 24, 193), "imd": (2024, 34, 67), "idi": (2025, 47, 164), "gairi": (2025, 58, 195),
            "nri": (2020, 56, 134)}
    for k, v in want.items():
        assert (t.at[k, "year"], t.at[k, "rank"], t.at[k, "n"]) == v, k
        assert t.at[k, "percentile"] == pytest.approx(100 * (v[2] - v[1]) / (v[2] - 1))
    assert t.at["idi", "score"] == 90.5 and t.at["idi", "basis"] == "computed_unofficial"
    assert "publishes no ranks" in t.at["idi", "note"]
    assert t.at["imd", "basis"] == "published_incomplete" and "63 of them" in t.at["imd", "note"]
    assert "revised release" in t.at["gairi", "trust"]


def test_agreement_pairs_have_rho_and_n(kaz):
    a = kaz.agreement.set_index(["a", "b"])
    assert {"spearman", "n_common"} <= set(a.columns)
    # IMD ranks 67 economies: every pair with it is compared over at most the 63 bundled
    assert a.at[("egdi", "imd"), "n_common"] == 60 and a.at[("imd", "idi"), "n_common"] == 60
    assert a.at[("egdi", "idi"), "n_common"] == 161
    assert a.at[("egdi", "nri"), "spearman"] == pytest.approx(0.934, abs=1e-3)
    assert a.at[("gtmi", "imd"), "spearman"] == pytest.approx(0.250, abs=1e-3)
    assert (a.spearman.between(-1, 1)).all() and len(a) == 21


def test_why_they_differ_is_computed(kaz):
    d = kaz.differences.set_index("key")
    shares = d[[f"share_{t}" for t in bm.THEMES]]
    assert np.allclose(shares.sum(axis=1), 1.0, atol=1e-3)
    assert d.at["gtmi", "share_government"] == 1.0 and d.at["idi", "share_infrastructure"] == 1.0
    assert d.at["digital-nation", "share_infrastructure"] == pytest.approx(0.4)   # connectivity + infrastructure
    assert d.at["imd", "n"] == 67 and d.at["imd", "high_income_share"] > 0.7 > 0.4 > d.at["egdi", "high_income_share"]
    assert d.at["imd", "survey_share"] == pytest.approx(1 / 3, abs=1e-3) and d.at["idi", "survey_share"] == 0
    assert d.at["idi", "data_last"] == 2024 and d.at["idi", "lag"] == 1
    m = kaz.main_reason
    assert (m["highest"]["key"], m["lowest"]["key"], m["reason"]) == ("gtmi", "imd", "measures")
    assert m["scores"]["measures"] == pytest.approx(0.7777, abs=1e-3)


def test_pillar_extremes_and_history(kaz):
    p = kaz.pillars.set_index("key")
    assert (p.at["gairi", "highest"], p.at["gairi", "highest_rank"]) == ("GAIRI: Policy capacity", 22)
    assert (p.at["gairi", "lowest"], p.at["gairi", "lowest_rank"]) == ("GAIRI: Resilience", 107)
    assert (p.at["egdi", "highest"], p.at["egdi", "lowest"]) == ("EGDI: Online Service Index", "EGDI: Human Capital Index")
    assert p.at["digital-nation", "highest"] == "Digital government"
    h = kaz.history.set_index(["key", "year"])
    assert h.at[("gairi", 2020), "rank"] == 64 and h.at[("gairi", 2020), "n"] == 172
    assert (h.at[("imd", 2023), "rank"], h.at[("imd", 2023), "n"], h.at[("imd", 2023), "complete"]) == (34, 64, False)
    assert (h.at[("imd", 2024), "n"], h.at[("imd", 2025), "rank"]) == (67, 39)


def test_compare_json(digimeter_home):
    from typer.testing import CliRunner

    from digimeter.cli import app

    r = CliRunner().invoke(app, ["compare", "KAZ", "--format", "json", "--levels", "1"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    rk = {x["key"]: x for x in d["rankings"]}
    assert (rk["egdi"]["year"], rk["egdi"]["rank"]) == (2024, 24)
    assert (rk["idi"]["year"], rk["idi"]["score"]) == (2025, 90.5)
    assert (rk["imd"]["year"], rk["imd"]["rank"], rk["imd"]["n"]) == (2024, 34, 67)
    assert rk["gairi"]["year"] == 2025 and rk["nri"]["year"] == 2020
    assert all({"year", "n", "rank", "percentile"} <= set(x) for x in rk.values())
    pair = {(x["a"], x["b"]): x for x in d["agreement"]}
    assert pair[("egdi", "imd")]["n_common"] == 60 and -1 <= pair[("egdi", "imd")]["spearman"] <= 1
    assert {x["key"] for x in d["differences"]} >= {"egdi", "gtmi", "imd", "idi", "gairi", "nri"}
    assert d["main_reason"]["reason"] == "measures" and d["pillars"] and d["history"]


@pytest.mark.parametrize("lang, words", [
    ("en", ["Of the published rankings, Kazakhstan stands highest on GTMI 2025 (12 of 197) and lowest on IMD WDCR "
            "2024 (34 of 67), mainly because they measure different things", "100% of its weight on government"]),
    ("ru", ["Из опубликованных рейтингов Казахстан стоит выше всего в GTMI 2025 (12 из 197)", "IMD WDCR 2024 (34 из 67)",
            "теме «государственное управление»"]),
    ("kk", ["Жарияланған рейтингтердің ішінде Қазақстан", "(67 ішінен 34)", "«мемлекеттік басқару» тақырыбына"]),
])
def test_report_brief_and_rankings_section(template_store_path, lang, words):
    from digimeter import report as R
    from digimeter.store import Store

    s = Store(template_store_path, read_only=True)
    try:
        rep = R.make_report("KAZ", lang=lang, store=s, sections=["headline", "rankings"])
    finally:
        s.close()
    brief = " ".join(rep.section("headline").paragraphs)
    for w in words:
        assert w in brief, (w, brief)
    sec = rep.section("rankings")
    assert {"agreement", "why_rankings_differ", "pillar_extremes", "all_rankings"} <= set(sec.tables)
    assert "rank_trajectory" in sec.charts
    assert rep.section("headline").key_numbers["rankings.main_reason"] == "measures"
    if lang == "en":
        t = sec.tables["all_rankings"].set_index("ranking")
        assert (t.at["IMD WDCR", "rank"], t.at["IMD WDCR", "of"]) == (34, 67)
        assert "revised release" in t.at["GAIRI", "trust (source notes, English)"]


def test_differences_use_the_framework_of_the_edition_shown(template_store_path):
    from digimeter.store import Store

    s = Store(template_store_path, read_only=True)
    try:
        r = bm.rankings(s, "KAZ", 2022, default_specs=(), levels=1)
        o = s.observations(indicators=["gairi", "gairi_government", "gairi_technology_sector",
                                       "gairi_data_infrastructure"], years=2024)
    finally:
        s.close()
    d = r.differences.set_index("key")
    assert d.at["gairi", "year"] == 2022 and d.at["gairi", "share_other"] == 0
    assert d.at["gairi", "share_government"] == pytest.approx(1 / 3, abs=1e-3)
    assert "mean of the three pillars" in d.at["gairi", "sources"]
    w = o.pivot_table(index="unit", columns="indicator", values="value").dropna()
    assert np.abs(w.drop(columns="gairi").mean(axis=1) - w.gairi).max() < 1e-3   # the check the yaml cites


def test_levels_1_still_names_each_rankings_extreme_parts(template_store_path):
    from digimeter.store import Store

    s = Store(template_store_path, read_only=True)
    try:
        r = bm.rankings(s, "KAZ", default_specs=(), levels=1)
    finally:
        s.close()
    assert (r.table.level == 1).all() and "osi" not in r.ranks.columns
    p = r.pillars.set_index("key")
    assert (p.at["gtmi", "highest"], p.at["gtmi", "highest_rank"]) == ("GTMI: Public Service Delivery", 4)
    assert p.at["imd", "parts_year"] == 2022   # IMD factor ranks are bundled up to 2022 only
