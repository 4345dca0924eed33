"""Tests of digimeter.regions and the bundled Kazakhstan regional snapshot part (kz_regions).

Real values come from the bundled Parquet (made from ../shared/data/regions by
scripts/make_snapshot_regions.py) and from tests/data/regions/spot_checks.csv (values quoted in
shared/data/regions/SOURCES.md and issue 7), so CI does not depend on ../shared.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from digimeter import regions as R
from digimeter.errors import DataError, NotFoundError

HERE = Path(__file__).parent
SNAP = resources.files("digimeter").joinpath("data", "snapshot")
STORE_COLS = {
    "units": ["code", "name", "kind", "parent", "iso2", "un_region", "un_subregion", "wb_region",
              "income_group", "un_member", "valid_from", "valid_to"],
    "indicators": ["code", "name", "unit", "higher_is_better", "min_value", "max_value", "source",
                   "source_code", "description"],
    "origins": ["origin_id", "publisher", "dataset", "edition", "url", "repository", "licence",
                "retrieved", "sha256", "note"],
    "observations": ["unit", "indicator", "year", "value", "origin_id", "note"],
}


def _part(table: str) -> pd.DataFrame:
    with SNAP.joinpath(f"{table}_kz_regions.parquet").open("rb") as fh:
        return pd.read_parquet(fh)


@pytest.fixture(scope="module")
def obs() -> pd.DataFrame:
    return _part("observations")


@pytest.fixture(scope="module")
def xw() -> pd.DataFrame:
    return R.load_crosswalk("kz")


@pytest.fixture(scope="module")
def layouts() -> pd.DataFrame:
    return R.load_layouts("kz")


def _value(obs, unit, indicator, year):
    s = obs[(obs.unit == unit) & (obs.indicator == indicator) & (obs.year == year)].value
    assert len(s) == 1, (unit, indicator, year)
    return float(s.iloc[0])


# ---------------------------------------------------------------------------------------------------
# the snapshot part
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", list(STORE_COLS))
def test_snapshot_part_has_exactly_the_store_columns(table):
    assert list(_part(table).columns) == STORE_COLS[table]


def test_units_regions_of_kaz_with_layout_years():
    u = _part("units").set_index("code")
    regions = u[u.kind == "region"]
    assert len(regions) == 21 and (regions.parent == "KAZ").all()
    assert u.loc["KZ-43", "name"] == "Kyzylorda region"
    assert u.loc["KZ-51", "valid_to"] == 2017 and pd.isna(u.loc["KZ-51", "valid_from"])
    for code, first in {"KZ-61": 2018, "KZ-79": 2018, "KZ-10": 2022, "KZ-33": 2022, "KZ-62": 2022}.items():
        assert u.loc[code, "valid_from"] == first
    assert u.loc["KZ", "kind"] == "aggregate"


def test_every_observation_has_an_indicator_an_origin_with_checksum(obs):
    inds, ors = _part("indicators"), _part("origins")
    assert set(obs.indicator) == set(inds.code)
    assert set(obs.origin_id) <= set(ors.origin_id)
    assert ors.sha256.str.fullmatch(r"[0-9a-f]{64}").all()
    assert not obs.duplicated(["unit", "indicator", "year"]).any()
    i = inds.set_index("code")
    for code in ["internet_users_pct", "population", "mobile_phone_users_pct", "digital_literacy_pct"]:
        assert code in i.index
    assert i.loc["internet_users_pct", "max_value"] == 100 and i.loc["internet_users_pct", "higher_is_better"]
    assert not i.loc["poverty_below_subsistence_pct", "higher_is_better"]
    # values within their valid ranges (the script refuses otherwise; check the output too)
    m = obs.merge(i[["min_value", "max_value"]], left_on="indicator", right_index=True)
    assert not ((m.value < m.min_value) | (m.value > m.max_value)).any()


def test_published_spot_values(obs):
    spots = pd.read_csv(HERE / "data" / "regions" / "spot_checks.csv")
    for r in spots.itertuples():
        assert _value(obs, r.unit, r.indicator, r.year) == pytest.approx(r.value, abs=1e-6), r


def test_corrections_are_recorded_not_silent(obs):
    # ict skills above 100 % (Almaty city 2016-2017) are excluded, and listed with their published value
    applied = pd.read_csv(resources.files("digimeter").joinpath("data", "crosswalks",
                                                                "kz_regions_corrections_applied.csv"))
    ex = applied[applied.action == "exclude"]
    assert len(ex) == 7 and (ex.published_value > 100).all() and (ex.unit == "KZ-75").all()
    assert ex.published_value.max() == pytest.approx(368.90991)
    assert obs[obs.indicator.str.startswith("ict_skill")].value.max() <= 100
    # the survey break and the 2022 territory ambiguity are notes on the kept values
    b = obs[(obs.indicator == "internet_users_pct") & (obs.year == 2015)]
    assert b.note.str.startswith("series break").all()
    t = obs[(obs.indicator == "poverty_below_subsistence_pct") & (obs.year == 2022) & (obs.unit == "KZ-19")]
    assert t.note.iloc[0].startswith("territory before 2022-06-08")


# ---------------------------------------------------------------------------------------------------
# crosswalk and layouts
# ---------------------------------------------------------------------------------------------------

def test_crosswalk_membership(xw):
    m = xw[["layout", "unit", "atom"]].drop_duplicates()
    n = m.groupby("layout").unit.nunique().to_dict()
    assert n == {"kz16": 16, "kz17": 17, "kz20": 20}
    parts = m.groupby(["layout", "unit"]).atom.apply(lambda a: "+".join(sorted(a))).to_dict()
    assert parts["kz16", "KZ-51"] == "KZ-61+KZ-79"
    assert parts["kz17", "KZ-19"] == "KZ-19+KZ-33"
    assert parts["kz17", "KZ-35"] == "KZ-35+KZ-62"
    assert parts["kz17", "KZ-63"] == "KZ-10+KZ-63"
    assert parts["kz20", "KZ-19"] == "KZ-19"
    # every layout is a partition of the same 20 atoms
    for lay, g in m.groupby("layout"):
        assert sorted(g.atom) == sorted(m[m.layout == "kz20"].atom)


@pytest.mark.parametrize("target", ["kz16", "kz17", "kz20"])
def test_crosswalk_conserves_population_and_reproduces_national_total(obs, xw, layouts, target):
    pop = obs[(obs.indicator == "population") & (obs.unit != "KZ")]
    national = obs[(obs.indicator == "population") & (obs.unit == "KZ")].set_index("year").value
    before = pop.groupby("year").value.sum()
    # the published regions add up to the published national total in every year (2000-2023)
    assert (before - national.reindex(before.index)).abs().max() == 0
    after = R.to_layout(pop, xw, target, layouts=layouts).groupby("year").value.sum()
    assert sorted(after.index) == sorted(before.index)
    np.testing.assert_allclose(after.to_numpy(), before.reindex(after.index).to_numpy(), rtol=1e-12)
    # atoms too: the crosswalk's atom populations add up to the national total
    a = xw[xw.layout == target].groupby("year").atom_population.sum()
    np.testing.assert_allclose(a.to_numpy(), national.reindex(a.index).to_numpy(), rtol=1e-12)


def test_to_layout_split_merge_and_exact(obs, xw, layouts):
    iu = obs[(obs.indicator == "internet_users_pct") & (obs.unit != "KZ")]
    on20 = R.to_layout(iu, xw, "kz20", layouts=layouts).set_index(["unit", "year"])
    # exact where territory is unchanged, copied value
    assert on20.loc[("KZ-43", 2013), "value"] == 67.0 and not on20.loc[("KZ-43", 2013), "estimated"]
    # split: South Kazakhstan 2016 passes its rate to Turkistan and Shymkent (estimated)
    assert on20.loc[("KZ-61", 2016), "value"] == 75.4 and on20.loc[("KZ-61", 2016), "estimated"]
    assert on20.loc[("KZ-79", 2016), "sources"] == "KZ-51"
    # 2022 split: old Almaty region 2021 passes 92.8 to Zhetisu
    assert on20.loc[("KZ-33", 2021), "value"] == 92.8 and on20.loc[("KZ-33", 2021), "estimated"]
    assert len(on20.xs(2023, level="year")) == 20 and len(on20.xs(2011, level="year")) == 20
    # merge: Turkistan + Shymkent 2023 onto kz16 = population-weighted mean, between the two
    on16 = R.to_layout(iu, xw, "kz16", layouts=layouts).set_index(["unit", "year"])
    v = on16.loc[("KZ-51", 2023), "value"]
    p = xw[(xw.layout == "kz20") & (xw.year == 2023)].set_index("unit").atom_population
    assert v == pytest.approx((97.3 * p["KZ-61"] + 97.2 * p["KZ-79"]) / (p["KZ-61"] + p["KZ-79"]))
    assert on16.loc[("KZ-51", 2023), "estimated"]
    # old Almaty region 2023 = Almaty region + Zhetisu, weighted
    assert 93.1 <= on16.loc[("KZ-19", 2023), "value"] <= 93.7
    # a code published next to its own parts (poverty 2014-2017: KZ-51 with KZ-61 and KZ-79) is copied
    pov = obs[(obs.indicator == "poverty_below_subsistence_pct") & (obs.unit != "KZ")]
    p16 = R.to_layout(pov, xw, "kz16", layouts=layouts).set_index(["unit", "year"])
    assert p16.loc[("KZ-51", 2016), "value"] == 5.1 and not p16.loc[("KZ-51", 2016), "estimated"]


def test_infer_layout(obs, xw, layouts):
    pov = obs[(obs.indicator == "poverty_below_subsistence_pct") & (obs.unit != "KZ")]
    assert R.infer_layout(pov[pov.year == 2022].unit, xw, 2022, layouts) == "kz17"
    assert R.infer_layout(pov[pov.year == 2023].unit, xw, 2023, layouts) == "kz20"
    assert R.infer_layout(pov[pov.year == 2014].unit, xw, 2014, layouts) == "kz17"
    iu = obs[(obs.indicator == "internet_users_pct") & (obs.unit != "KZ")]
    assert R.infer_layout(iu[iu.year == 2017].unit, xw, 2017, layouts) == "kz16"


def test_to_layout_errors(xw):
    with pytest.raises(NotFoundError):
        R.to_layout(pd.DataFrame(columns=["unit", "indicator", "year", "value"]), xw, "kz99")
    with pytest.raises(DataError):
        R.to_layout(pd.DataFrame({"unit": ["KZ-43"]}), xw, "kz20")


# ---------------------------------------------------------------------------------------------------
# roll-up against the published national figure
# ---------------------------------------------------------------------------------------------------

def _rollup(obs, xw, layouts, indicator, year):
    reg = obs[obs.unit != "KZ"]
    v = reg[(reg.indicator == indicator) & (reg.year == year)].set_index("unit").value
    lay = R.infer_layout(v.index, xw, year, layouts)
    pop = R.to_layout(reg[(reg.indicator == "population") & (reg.year == year)], xw, lay,
                      layouts=layouts).set_index("unit").value
    nat = _value(obs, "KZ", indicator, year)
    return R.rollup(v, pop.reindex(v.index), nat)


def test_rollup_internet_2023_reproduces_national_94_7(obs, xw, layouts):
    r = _rollup(obs, xw, layouts, "internet_users_pct", 2023)
    assert r["national"] == 94.7 and r["n_units"] == 20
    # Regional values are published to 0.1 (rounding error of a weighted mean <= 0.05) and so is the
    # national figure (<= 0.05): a faithful roll-up is within 0.1 pp. Observed: +0.02 pp.
    assert abs(r["difference"]) <= 0.1


def test_rollup_internet_every_year(obs, xw, layouts):
    # 2011-2023: weights are 1-January populations, the survey weights its own population aged 6-74;
    # that base difference plus rounding stays within 0.3 pp every year (observed max 0.27, in 2014).
    for year in range(2011, 2024):
        r = _rollup(obs, xw, layouts, "internet_users_pct", year)
        assert abs(r["difference"]) <= 0.3, (year, r)


# ---------------------------------------------------------------------------------------------------
# inequality: hand-computed cases
# ---------------------------------------------------------------------------------------------------

def test_gini_hand_computed():
    # two regions, values 1 and 3, equal weights: sum |xi-xj| over ordered pairs = 4, W=2, mu=2
    # G = 4 / (2 * 4 * 2) = 0.25
    assert R.gini([1, 3]) == pytest.approx(0.25)
    # weights 1 and 3: pairs 2*1*3*|1-3| = 12; W=4; mu=(1+9)/4=2.5; G = 12/(2*16*2.5) = 0.15
    assert R.gini([1, 3], [1, 3]) == pytest.approx(0.15)
    # population replication: weight 3 equals three copies of the unit
    assert R.gini([1, 3], [1, 3]) == pytest.approx(R.gini([1, 3, 3, 3]))
    assert R.gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert np.isnan(R.gini([np.nan, np.nan]))
    # NaN drops out
    assert R.gini([1, 3, np.nan]) == pytest.approx(0.25)
    with pytest.raises(DataError):
        R.gini([-1, 2])


def test_theil_hand_computed_and_decomposition():
    # values 1, 3 equal weights: mu = 2; T = 0.5*(0.5 ln 0.5) + 0.5*(1.5 ln 1.5)
    expect = 0.5 * 0.5 * np.log(0.5) + 0.5 * 1.5 * np.log(1.5)
    assert R.theil([1, 3]) == pytest.approx(expect)
    assert R.theil([2, 2, 2]) == 0
    # decomposition with two groups {1,3} and {5}: between + within = total, by hand
    x, w, g = np.array([1.0, 3, 5]), np.array([1.0, 1, 2]), np.array(["a", "a", "b"])
    d = R.theil_decomposition(x, w, g)
    mu = (1 + 3 + 10) / 4
    within = 0.5 * (2 / mu) * R.theil([1, 3])  # group b has T = 0
    between = 0.5 * (2 / mu) * np.log(2 / mu) + 0.5 * (5 / mu) * np.log(5 / mu)
    assert d.within == pytest.approx(within) and d.between == pytest.approx(between)
    assert d.total == pytest.approx(R.theil(x, w)) == pytest.approx(within + between)


def test_cv_gap_and_population_below():
    assert R.cv([1, 3]) == pytest.approx(0.5)
    # weighted: mu = 2.5, var = (1*(1.5)^2 + 3*(0.5)^2)/4 = 0.75; cv = sqrt(.75)/2.5
    assert R.cv([1, 3], [1, 3]) == pytest.approx(np.sqrt(0.75) / 2.5)
    s = pd.Series({"A": 97.4, "B": 89.7, "C": 93.0})
    g = R.best_worst_gap(s)
    assert (g["best"], g["worst"]) == ("A", "B") and g["gap"] == pytest.approx(7.7)
    g2 = R.best_worst_gap(pd.Series({"A": 2.0, "B": 9.0}), higher_is_better=False)
    assert g2["best"] == "A" and g2["gap"] == pytest.approx(7.0)
    pb = R.population_below(s, pd.Series({"A": 10, "B": 5, "C": 5}), 95)
    assert pb["people"] == 10 and pb["share"] == 0.5 and pb["units"] == ["B", "C"]


# ---------------------------------------------------------------------------------------------------
# inequality: properties (hypothesis)
# ---------------------------------------------------------------------------------------------------

pos = arrays(np.float64, st.integers(2, 25), elements=st.floats(0.01, 1e4))


@settings(max_examples=60, deadline=None)
@given(pos, st.floats(0.01, 1e3))
def test_gini_range_scale_invariance_and_equal(x, k):
    w = np.linspace(1, 5, len(x))
    gval = R.gini(x, w)
    assert 0 <= gval < 1
    assert R.gini(k * x, w) == pytest.approx(gval, abs=1e-9)
    assert R.gini(np.full_like(x, x[0]), w) == pytest.approx(0, abs=1e-12)
    # weights scale-free too
    assert R.gini(x, 7 * w) == pytest.approx(gval, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(pos, st.integers(2, 4))
def test_population_replication(x, k):
    w = np.ones_like(x)
    assert R.gini(np.repeat(x, k)) == pytest.approx(R.gini(x, k * w), abs=1e-9)
    assert R.theil(np.repeat(x, k)) == pytest.approx(R.theil(x, w), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(3, 20), elements=st.floats(1, 100), unique=True))
def test_transfer_principle(x):
    # moving a small amount from a richer to a poorer region (keeping order) lowers Gini and Theil
    x = np.sort(x)
    eps = min(np.diff(x).min() / 4, 0.5)
    if eps <= 1e-6:
        return
    y = x.copy()
    y[0] += eps
    y[-1] -= eps
    assert R.gini(y) < R.gini(x)
    assert R.theil(y) < R.theil(x)


@settings(max_examples=60, deadline=None)
@given(pos, st.data())
def test_theil_between_plus_within_equals_total(x, data):
    w = data.draw(arrays(np.float64, len(x), elements=st.floats(0.1, 100)))
    g = np.array(data.draw(st.lists(st.sampled_from(["city", "oblast", "x"]), min_size=len(x), max_size=len(x))))
    d = R.theil_decomposition(x, w, g)
    assert d.between + d.within == pytest.approx(d.total, rel=1e-9, abs=1e-12)
    assert d.between >= -1e-12 and d.within >= -1e-12
    assert R.theil(x * 3.5, w) == pytest.approx(R.theil(x, w), abs=1e-9)


def test_batched_over_leading_axes():
    rng = np.random.default_rng(0)
    x = rng.uniform(50, 100, size=(4, 3, 10))
    w = rng.uniform(1, 5, size=10)
    g = R.gini(x, w)
    assert g.shape == (4, 3)
    assert g[2, 1] == pytest.approx(R.gini(x[2, 1], w))
    assert R.theil(x, w)[3, 0] == pytest.approx(R.theil(x[3, 0], w))
    assert R.cv(x, w)[1, 2] == pytest.approx(R.cv(x[1, 2], w))


# ---------------------------------------------------------------------------------------------------
# convergence
# ---------------------------------------------------------------------------------------------------

def test_beta_convergence_known_slope():
    # growth = 0.5 - 0.1 * ln(y0) exactly: slope -0.1, T = 5 -> lambda = -ln(1 - 0.5)/5, half-life 5 years
    y0 = np.array([10.0, 20, 40, 80, 160])
    g = 0.5 - 0.1 * np.log(y0)
    y1 = np.exp(np.log(y0) + 5 * g)
    b = R.beta_convergence(y0, y1, 5)
    assert b.slope == pytest.approx(-0.1)
    assert b.speed == pytest.approx(np.log(2) / 5)
    assert b.half_life == pytest.approx(5.0)
    assert b.ci95[0] <= b.slope <= b.ci95[1] and b.converging
    with pytest.raises(DataError):
        R.beta_convergence(y0, y1, 5, transform="cubic")


def test_beta_and_sigma_convergence_on_kazakhstan_internet_use(obs, xw, layouts):
    iu = obs[(obs.indicator == "internet_users_pct") & (obs.unit != "KZ")]
    on17 = R.to_layout(iu, xw, "kz17", layouts=layouts)
    wide = on17.pivot(index="year", columns="unit", values="value")
    sig = R.sigma_convergence(wide.loc[2015:])
    assert sig.loc[2023, "n"] == 17
    # the spread of regional internet use fell after the 2015 survey redesign
    assert sig.loc[2023, "cv"] < sig.loc[2015, "cv"]
    assert sig.attrs["trend"]["slope_per_year"] < 0
    b = R.beta_convergence(wide.loc[2015], wide.loc[2023], 8, transform="shortfall")
    assert b.n == 17 and b.slope < 0


# ---------------------------------------------------------------------------------------------------
# maps and the DataFrame face
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout,n", [("kz16", 16), ("kz17", 17), ("kz20", 20)])
def test_bundled_geojson(layout, n):
    g = R.load_geojson(layout)
    assert len(g["features"]) == n
    codes = {f["properties"]["unit"] for f in g["features"]}
    assert len(codes) == n and all(c.startswith("KZ-") for c in codes)
    size = resources.files("digimeter").joinpath("data", "geo", f"{layout}.geojson").stat().st_size \
        if hasattr(resources.files("digimeter"), "stat") else len(json.dumps(g))
    assert size < 1_000_000


def test_map_features(obs):
    g = R.load_geojson("kz20")
    v = obs[(obs.indicator == "internet_users_pct") & (obs.year == 2023) & (obs.unit != "KZ")]
    fc = R.map_features(g, v[["unit", "value"]], extra={"KZ-71": {"rank": 1}})
    p = {f["properties"]["unit"]: f["properties"] for f in fc["features"]}
    assert p["KZ-71"]["value"] == 97.4 and p["KZ-71"]["rank"] == 1
    assert p["KZ-23"]["value"] == 89.7
    assert fc["value_max"] == 97.6 and fc["value_min"] == 89.0
    assert "value" not in g["features"][0]["properties"]  # input untouched
    fc2 = R.map_features(g, {"KZ-43": 91.7})
    assert sum(f["properties"]["value"] is None for f in fc2["features"]) == 19


def test_divide_table_for_kazakhstan_2023(obs):
    cities = {"KZ-71": "city", "KZ-75": "city", "KZ-79": "city"}
    reg = obs[obs.unit != "KZ"]
    nat = obs[(obs.unit == "KZ") & (obs.indicator == "internet_users_pct")].set_index("year").value.to_dict()
    d = R.divide(reg, "internet_users_pct", groups={u: cities.get(u, "oblast") for u in reg.unit.unique()},
                 threshold=90, national=nat)
    r = d.loc[2023]
    assert r["n"] == 20 and r["best"] == "KZ-35" and r["worst"] == "KZ-62"
    assert r["gap"] == pytest.approx(97.6 - 89.0)
    assert abs(r["rollup_difference"]) <= 0.1
    assert 0 < r["gini"] < 0.05
    assert r["theil_between"] + r["theil_within"] == pytest.approx(r["theil"])
    # regions below 90 % in 2023: Abai 89.4, Atyrau 89.7, Ulytau 89.0
    pops = reg[(reg.indicator == "population") & (reg.year == 2023)].set_index("unit").value
    assert r["people_below"] == pops[["KZ-10", "KZ-23", "KZ-62"]].sum()


# ---------------------------------------------------------------------------------------------------
# store-facing layer: geography, regional panel on one layout, regional index, report, trend, map
# ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rstore(template_store_path, tmp_path_factory):
    """A read-only copy of the snapshot store shared by this module's store-facing tests."""
    import shutil

    from digimeter.store import Store

    p = tmp_path_factory.mktemp("regions_store") / "s.duckdb"
    shutil.copyfile(template_store_path, p)
    s = Store(p, read_only=True)
    yield s
    s.close()


def test_geography_comes_from_data_files(rstore):
    g = R.geography(rstore, "KAZ")
    assert (g.name, g.origin) == ("kz", "bundled")
    assert [g.layout_for(y) for y in (2016, 2018, 2021, 2022, 2030)] == ["kz16", "kz17", "kz17", "kz20", "kz20"]
    groups = g.groups("kz20")
    assert sorted(u for u, v in groups.items() if v == "city") == ["KZ-71", "KZ-75", "KZ-79"]
    assert len(g.units("kz20")) == 20
    with pytest.raises(NotFoundError):
        R.geography(rstore, "KGZ")  # a country without regions in the store


def test_regional_panel_reads_old_series_on_todays_layout(rstore):
    rp = R.regional_panel(rstore, "KAZ", ["digital_literacy_pct", "internet_users_pct"], 2023, window=4)
    v, e, y = rp.panel.values, rp.estimated, rp.panel.years
    assert rp.layout == "kz20" and len(v) == 20 and v.notna().all().all()
    # Abai, Zhetisu, Ulytau did not exist in 2020: their parent region's value, marked estimated
    for new, parent in {"KZ-10": "KZ-63", "KZ-33": "KZ-19", "KZ-62": "KZ-35"}.items():
        assert e.loc[new, "digital_literacy_pct"] and y.loc[new, "digital_literacy_pct"] == 2020
        assert v.loc[new, "digital_literacy_pct"] == v.loc[parent, "digital_literacy_pct"]
    assert not e.loc["KZ-43", "digital_literacy_pct"] and not e["internet_users_pct"].any()
    assert v.loc["KZ-23", "internet_users_pct"] == 89.7
    # population weights of the 20 regions add up to the published national total of that year
    nat = rstore.observations(indicators="population", units="KZ", years=2023).value.iloc[0]
    assert rp.population.sum() == pytest.approx(nat, rel=1e-12)


def test_kz_regions_index_2023_scores_every_region_and_marks_estimates(rstore):
    ri = R.regional_index("kz-regions", rstore)
    ix = ri.index
    assert ix.year == 2023 and ri.layout == "kz20"
    assert len(ix.score) == 20 and ix.score.notna().all() and len(ix.excluded) == 0
    assert sorted(ix.rank.astype(int)) == list(range(1, 21))
    assert (ix.score.between(0, 100)).all()
    est = ri.estimated
    assert est.loc["KZ-10"].any() and est.loc["KZ-62", "digital_literacy"]
    assert not est.loc["KZ-43"].any()
    assert set(est.index[est.any(axis=1)]) == {"KZ-10", "KZ-19", "KZ-33", "KZ-35", "KZ-62", "KZ-63"}
    assert ix.params["estimated"].equals(est)
    # goalposts: internet use 97.4 in Astana is a normalised 97.4; broadband per 100 people via denominate
    assert ix.stages["normalised"].loc["KZ-71", "internet_use"] == pytest.approx(97.4)
    bb = ix.stages["denominated"].loc["KZ-71", "fixed_broadband"]
    assert 20 < bb < 30  # ~25 subscriptions >= 10 Mbit/s per 100 people in Astana, 2023
    # the same pure build: rebuilding from the kept panel is bit for bit
    assert ix.rebuild().score.equals(ix.score)


def test_region_report_internet_2023(rstore):
    rep = R.region_report(rstore, "KAZ", "internet_users_pct", 2023)
    t = rep.table.set_index("unit")
    assert t.loc["KZ-23", "value"] == 89.7 and t.loc["KZ-71", "value"] == 97.4
    assert t.loc["KZ-71", "rank"] == 2 and t.loc["KZ-62", "rank"] == 20
    m = rep.measures
    assert m["national"] == 94.7 and abs(m["rollup_difference"]) <= 0.1
    assert m["theil_between"] + m["theil_within"] == pytest.approx(m["theil"])
    # the default bar is the declared target: 95 % in every region (fully-digital-kz, regional_internet);
    # 8 regions are at or above it in 2023 (README's targets table: "8 of 20 regions")
    assert m["threshold"] == 95 and m["threshold_source"] == "target" and "fully-digital-kz" in m["threshold_label"]
    assert set(rep.below_units) == {"KZ-10", "KZ-11", "KZ-19", "KZ-23", "KZ-27", "KZ-31", "KZ-33", "KZ-39",
                                    "KZ-43", "KZ-47", "KZ-59", "KZ-62"}
    assert m["weights"] == "population"
    assert m["gap"] == pytest.approx(8.6)
    r90 = R.region_report(rstore, "KAZ", "internet_users_pct", 2023, threshold=90)
    assert r90.measures["threshold_source"] == "given" and set(r90.below_units) == {"KZ-10", "KZ-23", "KZ-62"}


def test_default_subject_is_the_regional_spec_shown_with_its_best_covered_input(rstore):
    """By default the regional spec (a score of one year); its divide year by year is that of the
    best-covered regional indicator among its inputs: internet use for Kazakhstan (not GRP, better
    covered but no input of kz-regions). An indicator is its own divide's."""
    assert R.default_regional_subject(rstore, "KAZ") == "kz-regions"
    assert R.regional_indicators(rstore, "KAZ")[0]["code"] != "internet_users_pct"
    assert R.divide_indicator(rstore, "KAZ") == R.divide_indicator(rstore, "KAZ", "kz-regions") == "internet_users_pct"
    assert R.divide_indicator(rstore, "KAZ", "mobile_phone_users_pct") == "mobile_phone_users_pct"


def test_divide_trend_convergence(rstore):
    tr = R.divide_trend(rstore, "KAZ", "internet_users_pct")
    assert tr.layout == "kz20" and tr.series_break == 2015
    assert list(tr.table.index) == list(range(2011, 2024)) and (tr.table["n"] == 20).all()
    assert tr.sigma.index.min() == 2015 and tr.sigma_trend["converging"]
    assert tr.beta_period == (2015, 2023) and tr.beta.slope < 0 and tr.beta.transform == "shortfall"
    assert tr.estimated_share[2016] > 0 and tr.estimated_share[2023] == 0
    assert "catching" in tr.verdict() or "grew faster" in tr.verdict()
    json.dumps(tr.to_dict())


@pytest.mark.parametrize("subject", ["internet_users_pct", "kz-regions"])
def test_map_data(rstore, subject):
    fc = R.map_data(rstore, "KAZ", subject, 2023)
    assert fc["type"] == "FeatureCollection" and fc["layout"] == "kz20" and len(fc["features"]) == 20
    p = {f["properties"]["unit"]: f["properties"] for f in fc["features"]}
    assert all(x["value"] is not None and isinstance(x["estimated"], bool) for x in p.values())
    if subject == "internet_users_pct":
        assert p["KZ-23"]["value"] == 89.7 and not p["KZ-10"]["estimated"]
    else:
        assert p["KZ-10"]["estimated"] and not p["KZ-43"]["estimated"] and fc["kind"] == "score"
    json.dumps(fc)


def test_regions_names_keep_their_address_and_live_in_their_layer():
    """``digimeter.regions`` re-exports the names it always had; each is implemented once, in its layer
    (pure measures in stats, layouts and maps in geography, panels in panel, the regional index in build)."""
    import digimeter.build as B
    import digimeter.geography as G
    import digimeter.panel as P
    import digimeter.stats as S

    for name in R.__all__:
        assert getattr(R, name) is not None, name
    assert R.gini is S.gini and R.divide is S.divide and R.rollup is S.rollup
    assert R.to_layout is G.to_layout and R.geography is G.geography and R.map_features is G.map_features
    assert R.regional_panel is P.regional_panel and R.regional_index is B.regional_index
    assert R.gini.__module__ == "digimeter.stats.inequality"
    assert R.to_layout.__module__ == "digimeter.geography.crosswalk"
    assert R.regional_index.__module__ == "digimeter.build.regional"
