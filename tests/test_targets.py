"""Tests of digimeter.targets: scenarios, evaluation on the bundled data, index-level feasibility, CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from digimeter import targets as T
from digimeter.errors import DataError, SpecError
from digimeter.sources.files import import_file


@pytest.fixture(scope="module")
def store(template_store_path):
    from digimeter.store import Store

    s = Store(template_store_path, read_only=True)
    yield s
    s.close()


@pytest.fixture(scope="module")
def forecaster(store):
    return T.Forecaster(store, 2028, seed=0, n_samples=1000)


@pytest.fixture(scope="module")
def result(store, forecaster):
    # the forecaster's cache is shared with the index-level tests (same store, seed and horizon)
    return T.evaluate("fully-digital-kz", store, seed=0, n_samples=1000, index_samples=100, forecaster=forecaster)


@pytest.fixture(scope="module")
def egdi_2028(store, forecaster):
    return T.index_feasibility("egdi", store, 2028, n_samples=100, forecaster=forecaster)


# ------------------------------------------------------------------ scenario files

def test_shipped_scenario_loads_with_sources_and_rationales():
    sc = T.load_scenario("fully-digital-kz")
    ids = [t.id for t in sc.targets]
    assert {"internet_use", "households_online", "coverage_4g", "egov_rank", "digital_skills", "electricity",
            "regional_internet"} <= set(ids)
    assert all(t.source.strip() and t.rationale.strip() for t in sc.targets)
    assert sc.deadline == 2028


def _bad(tmp_path, target_changes, drop=()):
    good = {"id": "net", "indicator": "internet_users_pct", "unit": "KAZ", "comparator": ">=", "threshold": 95,
            "deadline": 2028, "source": "ITU", "rationale": "everyone online"}
    t = {**good, **target_changes}
    for k in drop:
        t.pop(k)
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump({"name": "bad", "targets": [good | {"id": "ok"}, t]}), encoding="utf-8")
    with pytest.raises(SpecError) as e:
        T.load_scenario(p)
    return str(e.value), e.value


@pytest.mark.parametrize("changes,drop,field", [
    ({"deadline": "soon"}, (), "deadline"),
    ({"threshold": "high"}, (), "threshold"),
    ({"comparator": "=>"}, (), "comparator"),
    ({"treshold": 95}, ("threshold",), "treshold"),
    ({}, ("source",), "source"),
])
def test_bad_scenario_names_target_and_field(tmp_path, changes, drop, field):
    msg, err = _bad(tmp_path, changes, drop)
    assert "target 'net'" in msg and field in msg
    assert any(p.field and p.field.startswith("target 'net'") for p in err.problems)
    if field == "treshold":
        assert "did you mean threshold" in msg


def test_bad_scenario_cross_field_rules(tmp_path):
    msg, _ = _bad(tmp_path, {"kind": "rank", "spec": "egdi", "indicator": None, "comparator": ">=", "threshold": 25})
    assert "target 'net'" in msg and "rank" in msg
    msg, _ = _bad(tmp_path, {"units": {"parent": "KAZ", "kind": "region"}})
    assert "exactly one of `unit:`" in msg
    msg, _ = _bad(tmp_path, {"id": "ok"})
    assert "unique" in msg and "ok" in msg


def test_unknown_scenario_is_not_found():
    from digimeter.errors import NotFoundError

    with pytest.raises(NotFoundError, match="fully-digital-kz"):
        T.load_scenario("fully-digtal-kz")


def test_thin_years_rule():
    counts = pd.Series({2019: 205, 2020: 205, 2021: 200, 2022: 205, 2023: 202, 2024: 50, 2025: 1})
    assert T.thin_years(counts) == [2024, 2025]
    biennial = pd.Series({2018: 193, 2020: 193, 2022: 193, 2024: 193})
    assert T.thin_years(biennial) == []
    assert T.thin_years(pd.Series({2022: 216, 2023: 167, 2024: 136})) == []


# ------------------------------------------------------------------ evaluation on the bundled data

def test_every_target_gets_a_probability_and_a_status(result):
    sc = T.load_scenario("fully-digital-kz")
    assert set(result.target) == {t.id for t in sc.targets}
    p = result.p_met.dropna()
    assert len(p) >= len(sc.targets)
    assert ((p >= 0) & (p <= 1)).all()
    # every target has at least one row with a probability and plain-words status
    assert result.dropna(subset=["p_met"]).groupby("target").size().reindex([t.id for t in sc.targets]).notna().all()
    assert result.status.str.len().gt(0).all()
    words = ("already met", "met now", "on track", "needs acceleration", "out of reach at historical paces", "at risk",
             "no data")
    assert result.status.map(lambda s: s.startswith(words)).all()


def test_real_latest_values(result):
    kaz = result.set_index(["target", "unit"])
    row = kaz.loc[("internet_use", "KAZ")]
    assert row.latest_year == 2024 and row.latest_value == pytest.approx(93.3917, abs=1e-4)  # ITU i99H
    assert row.required_pace == pytest.approx((95 - 93.3917) / 4, rel=1e-4)
    assert 0 < row.p_met < 1
    assert "ITU" in row.source
    assert "thin year" in row.note and "2024" in row.note
    assert row.method == "auto" and "MAE" in row.why   # the default method (pooled model per horizon)
    assert kaz.loc[("households_online", "KAZ")].latest_value == pytest.approx(97.0572, abs=1e-4)
    assert kaz.loc[("coverage_4g", "KAZ")].latest_value == pytest.approx(91.6)


def test_already_met_target_gets_one_and_says_so(result):
    e = result.set_index("target").loc["electricity"]
    assert e.latest_value == 100.0 and e.met_now and e.p_reach == 1.0
    # judged in the deadline year ("hold"): the headline probability is P(still met in 2028)
    assert e.met_definition == "hold" and e.p_met == e.p_at_deadline >= 0.8
    assert e.status.startswith("already met") and e.status_code == "already_met"
    assert e.median_crossing_year == e.latest_year


def test_regional_target_has_a_row_per_region(result, store):
    reg = result[result.target == "regional_internet"]
    regions = store.units(kind="region", parent="KAZ")
    alive = regions[regions.valid_to.isna()].code
    assert set(alive) <= set(reg.unit)
    assert "KZ-51" not in set(reg.unit)   # South Kazakhstan region, abolished in 2018
    per = reg[reg.unit != "all"]
    assert per.p_met.between(0, 1).all()
    assert per.set_index("unit").loc["KZ-71"].latest_value == pytest.approx(97.4)  # Astana, BNS 2023
    allrow = reg[reg.unit == "all"].iloc[0]
    assert allrow.p_met <= per.p_met.min() + 1e-12
    assert "Frechet" in allrow.note


def test_index_targets(result):
    r = result.set_index("target")
    rank = r.loc["egov_rank"]
    assert rank.latest_value == 24 and rank.latest_year == 2024       # UN E-Government Survey 2024
    # 24th now, but the propagation puts the median rank in 2028 in the 30s: met now, not met at the deadline
    assert rank.met_now and rank.p_reach == 1.0 and rank.p_met == rank.p_at_deadline < 0.5
    assert rank.status_code == "met_now_likely_to_slip"
    assert rank.status.startswith("met now (24 in 2024), likely to slip by 2028: P = 0.")
    med = int(re.search(r"2028: median rank (\d+)", rank.note).group(1))
    assert med > 25                                                   # the propagation's median 2028 rank
    score = r.loc["egov_score"]
    assert score.threshold == pytest.approx(0.90059, abs=5e-5)         # 25th-best EGDI 2024 (URY)
    assert "25th-best" in score.note


# ------------------------------------------------------------------ index-level feasibility

def test_index_probability_of_top_k_is_monotone(egdi_2028):
    ks = np.arange(1, 194)
    p = egdi_2028.p_rank_at_most("KAZ", ks)
    assert np.all((p >= 0) & (p <= 1))
    assert np.all(np.diff(p) >= 0)
    assert p[-1] == 1.0
    p25 = egdi_2028.p_rank_at_most("KAZ", 25)
    assert 0 <= p25 <= 1
    s = np.linspace(0.5, 1.0, 51)
    ps = egdi_2028.p_score_at_least("KAZ", s)
    assert np.all(np.diff(ps) <= 0)
    # every draw ranks each scored unit exactly once
    assert np.all(np.nanmax(egdi_2028.ranks, axis=1) <= 193)


@settings(max_examples=40, deadline=None)
@given(k1=st.integers(1, 193), k2=st.integers(1, 193))
def test_index_probability_monotone_property(egdi_2028, k1, k2):
    lo_, hi_ = min(k1, k2), max(k1, k2)
    assert egdi_2028.p_rank_at_most("KAZ", lo_) <= egdi_2028.p_rank_at_most("KAZ", hi_)


def test_batched_rebuild_equals_compute(store):
    """The batched kernels reproduce build.compute on the latest data and on perturbed panels."""
    from digimeter.build import build, compute
    from digimeter.panel import Panel
    from digimeter.spec import load_spec

    for name in ("egdi", "digital-nation"):
        ix = build(name, store)
        sp = load_spec(name)
        nodes = sp.indicator_nodes()
        X = np.stack([ix.panel.values[n.indicator].to_numpy(float) for n in nodes], -1)
        rng = np.random.default_rng(1)
        Xs = np.stack([X, X * (1 + 0.05 * rng.standard_normal(X.shape))])
        units = list(ix.panel.values.index)
        sc, rk = T.compute_batch(sp, Xs, ix.params["directions"], units=units)
        np.testing.assert_allclose(sc[0], ix.score.reindex(units).to_numpy(), equal_nan=True)
        codes = list(dict.fromkeys(n.indicator for n in nodes))
        first = {c: [n.indicator for n in nodes].index(c) for c in codes}
        vals = pd.DataFrame(Xs[1][:, [first[c] for c in codes]], index=ix.panel.values.index,
                            columns=pd.Index(codes, name="indicator"))
        ix2 = compute(sp, Panel(values=vals, years=ix.panel.years, origins=ix.panel.origins, year=sp.year, window=0),
                      unit_meta=ix.params["unit_meta"], directions=ix.params["directions"])
        np.testing.assert_allclose(sc[1], ix2.score.reindex(units).to_numpy(), equal_nan=True)
        np.testing.assert_array_equal(np.nan_to_num(rk[1]), np.nan_to_num(ix2.rank.reindex(units).to_numpy()))


# ------------------------------------------------------------------ CLI

SMALL = {"name": "small", "title": "Two quick targets", "targets": [
    {"id": "electricity", "indicator": "electricity_access_pct", "unit": "KAZ", "threshold": 99.9, "deadline": 2028,
     "source": "SDG 7.1.1", "rationale": "power first"},
    {"id": "coverage_4g", "indicator": "pop_cov_4g_pct", "unit": "KAZ", "threshold": 99, "deadline": 2028,
     "source": "ITU", "rationale": "everyone covered"}]}


@pytest.fixture
def runner(digimeter_home):
    from typer.testing import CliRunner

    from digimeter.cli import app
    r = CliRunner()
    return lambda *args: r.invoke(app, list(args))


def test_cli_targets_json_and_table(runner, tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(yaml.safe_dump(SMALL), encoding="utf-8")
    res = runner("targets", str(p), "--format", "json", "--samples", "300")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    rows = {r["target"]: r for r in data["targets"]}
    assert rows["electricity"]["met_now"] is True and rows["electricity"]["p_reach"] == 1.0
    assert rows["electricity"]["met_definition"] == "hold"
    assert rows["electricity"]["p_met"] == rows["electricity"]["p_at_deadline"]
    assert 0 <= rows["coverage_4g"]["p_met"] <= 1
    res = runner("targets", str(p), "--samples", "300")
    assert res.exit_code == 0, res.output
    assert "Two quick targets" in res.stdout  # the rich table (columns fold in the narrow test terminal)
    out = tmp_path / "t.csv"
    res = runner("targets", str(p), "--format", "csv", "--out", str(out), "--samples", "300")
    assert res.exit_code == 0 and pd.read_csv(out).shape[0] == 2


def test_cli_bad_scenario_is_a_clear_error(runner, tmp_path):
    bad = {**SMALL, "targets": [{**SMALL["targets"][0], "deadline": "soon"}]}
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(bad), encoding="utf-8")
    res = runner("targets", str(p))
    assert res.exit_code == 1
    assert "target 'electricity'" in res.output and "deadline" in res.output


def test_cli_forecast_json(runner):
    res = runner("forecast", "KAZ", "pop_cov_4g_pct", "--to", "2030", "--format", "json", "--samples", "300")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["unit"] == "KAZ" and d["anchor_year"] == 2024 and d["method"] == "auto"
    years = [r["year"] for r in d["forecast"]]
    assert years == list(range(2025, 2031))
    for r in d["forecast"]:
        assert 0 <= r["q05"] <= r["q25"] <= r["q50"] <= r["q75"] <= r["q95"] <= 100
    res = runner("forecast", "KAZ", "pop_cov_4g_pct", "--to", "2027", "--samples", "200")
    assert res.exit_code == 0 and "why" in res.stdout


def test_cli_forecast_of_a_new_region_uses_its_territorys_history(runner):
    """Ulytau (KZ-62, part of Karaganda until 2022) is forecast from 2011 on, the years before 2022
    read onto today's layout and marked estimated."""
    res = runner("forecast", "KZ-62", "internet_users_pct", "--to", "2028", "--format", "json", "--samples", "200")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["anchor_year"] == 2023 and d["anchor_value"] == pytest.approx(89.0)
    assert d["estimated_years"] == list(range(2011, 2022))
    assert any("territory of KZ-35" in n for n in d["notes"])


def test_cli_backtest_json(runner):
    res = runner("backtest", "pop_cov_4g_pct", "--origin", "2018", "--format", "json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    chosen = [r for r in d["summary"] if r["chosen"]]
    assert len(chosen) == 1
    for r in d["summary"]:
        assert {"n", "mae", "mae_baseline", "coverage80", "coverage95"} <= set(r)
        assert r["n"] > 100 and 0 <= r["coverage80"] <= r["coverage95"] <= 1
    assert d["by_band"] and d["by_horizon"]


def test_cli_backtest_baseline_answers_at_every_origin(runner):
    """Issue 14: a country whose last five years have a gap (Sri Lanka 2007 -> 2014, Sudan 2007 -> 2016,
    San Marino 2011 -> 2017) no longer turns the whole origin's baseline into null."""
    origins = [str(y) for y in range(2010, 2020)]
    res = runner("backtest", "internet_users_pct", *[a for o in origins for a in ("--origin", o)], "--format", "json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    by = {}
    for r in d["summary"]:
        by.setdefault(r["origin"], []).append(r)
    assert sorted(by) == list(range(2010, 2020))
    for o, rows in by.items():
        for r in rows:
            assert r["mae_baseline"] is not None and 2 < r["mae_baseline"] < 15, (o, r["model"])
            assert r["mae"] is not None and r["ratio"] is not None, (o, r["model"])
        walk = next(r for r in rows if r["model"] == "rw_drift")
        assert walk["mae"] <= walk["mae_baseline"]        # the clipped walk never does worse than the unclipped


def test_forecast_unit_reuses_a_forecaster_with_the_same_answer(store, forecaster):
    """The report's fan charts reuse the targets' forecaster: same point, quantiles and samples."""
    own, _ = T.forecast_unit(store, "KAZ", "internet_users_pct", 2028, seed=0, n_samples=1000)
    reused, _ = T.forecast_unit(store, "KAZ", "internet_users_pct", 2028, seed=0, n_samples=1000,
                                forecaster=forecaster)
    np.testing.assert_array_equal(own.point, reused.point)
    pd.testing.assert_frame_equal(own.quantiles, reused.quantiles)
    np.testing.assert_array_equal(own.samples, reused.samples)
    with pytest.raises(DataError, match="this forecast needs 2031"):
        T.forecast_unit(store, "KAZ", "internet_users_pct", 2031, forecaster=forecaster)


def test_every_region_row_uses_joint_draws_when_errors_move_together(result):
    """Regions' past errors moved together, so P(every region) comes from joint draws: inside the
    Frechet bounds, and at least the product of the regions' probabilities (positive dependence)."""
    reg = result[(result.target == "regional_internet")]
    each = reg[reg.unit != "all"].p_met.dropna().to_numpy()
    row = reg[reg.unit == "all"].iloc[0]
    assert row["method"] == "joint draws with a shared shock"
    lo_b, hi_b = max(0.0, each.sum() - (len(each) - 1)), each.min()
    assert lo_b - 1e-9 <= row.p_met <= hi_b + 1e-9
    assert row.p_met >= np.prod(each) - 0.01
    assert "from joint draws" in row.note and "Frechet" in row.note


def test_an_unmet_index_target_gets_p_by_deadline_and_a_crossing_year(store, forecaster, tmp_path):
    """Index targets not yet met are propagated year by year: P(met in any year by the deadline) is at
    least P(met in the deadline year), and the median crossing year is the median of each draw's
    first year met (None when most draws never get there)."""
    sc = {"name": "t-index", "title": "t", "targets": [
        {"id": "top15", "name": "EGDI top 15", "kind": "rank", "spec": "egdi", "unit": "KAZ",
         "comparator": "<=", "threshold": 15, "deadline": 2028, "source": "test", "rationale": "test"},
        {"id": "top50", "name": "EGDI top 50 (met)", "kind": "rank", "spec": "egdi", "unit": "KAZ",
         "comparator": "<=", "threshold": 50, "deadline": 2028, "source": "test", "rationale": "test"},
        {"id": "score95", "name": "EGDI >= 0.95", "kind": "score", "spec": "egdi", "unit": "KAZ",
         "comparator": ">=", "threshold": 0.95, "deadline": 2028, "source": "test", "rationale": "test"}]}
    path = tmp_path / "t-index.yaml"
    path.write_text(yaml.safe_dump(sc))
    res = T.evaluate(str(path), store, seed=0, n_samples=1000, index_samples=100, forecaster=forecaster).set_index("target")
    r = res.loc["top15"]
    assert r.latest_value == 24 and r.p_reach >= r.p_at_deadline == r.p_met and 0 <= r.p_reach <= 1
    assert not r.met_now
    cy = r.median_crossing_year
    assert (cy is None or pd.isna(cy)) if r.p_reach < 0.5 else (2025 <= cy <= 2028)
    met = res.loc["top50"]
    assert met.met_now and met.p_reach == 1 and met.median_crossing_year == 2024
    s = res.loc["score95"]
    assert s.p_reach >= s.p_at_deadline == s.p_met


def test_a_units_indicators_are_drawn_together_as_their_errors_moved(store, forecaster):
    """EPI is part of the OSI: their past errors moved together, so the index draws correlate them."""
    from scipy import stats

    from digimeter import forecast as F

    R, info = F.cross_correlation([forecaster.country(c).base for c in ("osi", "epi", "electricity_access_pct")])
    assert R[0, 1] > 0.4 and np.allclose(np.diag(R), 1) and np.all(np.linalg.eigvalsh(R) > 0)
    assert set(info["pairs"]) >= {"0-1"}
    spec = {"name": "t-oe", "year": 2024, "year_window": 0,
            "tree": [{"code": "osi", "indicator": "osi"}, {"code": "epi", "indicator": "epi"}]}
    from digimeter.spec import parse_spec

    fe = T.index_feasibility(parse_spec(spec), store, 2028, n_samples=100, forecaster=forecaster)
    assert "correlated across a unit's indicators" in fe.notes[0] and "osi/epi" in fe.notes[0]
    # draws at probability 1/2 are the medians of the predictive distributions
    ifc = forecaster.country("osi")
    med = ifc.draws_at(2028, ["KAZ", "DNK"], np.full((2, 3), 0.5))
    want = [ifc.result(u).quantiles.loc[2028, 0.5] for u in ("KAZ", "DNK")]
    np.testing.assert_allclose(med[:, 0], want, atol=1e-9)
    # the same seeds give the same paths in every year (crossing years rely on it)
    a = T.index_feasibility(parse_spec(spec), store, 2027, n_samples=100, forecaster=forecaster)
    b = T.index_feasibility(parse_spec(spec), store, 2027, n_samples=100, forecaster=forecaster)
    np.testing.assert_array_equal(a.scores, b.scores)
    k = fe.units.index("KAZ")
    assert stats.spearmanr(a.scores[:, k], fe.scores[:, k])[0] > 0.5


def test_digital_nation_feasibility(store, forecaster):
    """The default index propagated to 2028: every indicator of the spec forecast for every country,
    joint draws (countries share shocks, a country's indicators move together), the index rebuilt."""
    fe = T.index_feasibility("digital-nation", store, 2028, n_samples=60, forecaster=forecaster)
    assert fe.scores.shape == (60, len(fe.units)) and len(fe.units) > 150
    p = fe.p_rank_at_most("KAZ", [10, 25, 41, 60, 100])
    assert np.all(np.diff(p) >= 0) and p[-1] > 0.9
    q = fe.summary("KAZ")
    assert 20 <= q.loc[0.5, "rank"] <= 70          # nominal 41st in 2025
    assert "16 indicator(s)" in fe.notes[0] and "correlated across a unit's indicators" in fe.notes[0]


# ------------------------------------------------------------------ judged at the deadline (issue 14)

def _constructed(paths, anchor_value, years=(2025, 2026, 2027, 2028)):
    """A ForecastResult whose predictive draws are the given paths (rows) over ``years``."""
    from digimeter import forecast as F

    S = np.asarray(paths, dtype=float)
    yrs = np.asarray(years)
    q = pd.DataFrame(np.quantile(S, [0.5], axis=0).T, index=pd.Index(yrs, name="year"), columns=[0.5])
    return F.ForecastResult(unit="X", model="constructed", why="test", weights={}, years=yrs, point=S.mean(0),
                            quantiles=q, samples=S, backtest=pd.DataFrame(), anchor_year=2024.0,
                            anchor_value=float(anchor_value))


def test_hold_and_reach_on_constructed_draws():
    """hold = the state in the deadline year; reach = in any year up to it (or now)."""
    paths = [[96, 97, 94, 93],     # crosses, then falls back below 95 by 2028
             [90, 92, 96, 97],     # crosses late and holds
             [90, 91, 92, 93],     # never
             [95, 95, 95, 95]]     # exactly at the threshold (>= counts)
    r = _constructed(paths, anchor_value=89)
    p_hold, p_at, p_reach = T.p_met_of(r, 95, 2028, ">=", "hold")
    assert (p_hold, p_at, p_reach) == (0.5, 0.5, 0.75)
    assert T.p_met_of(r, 95, 2028, ">=", "reach")[0] == 0.75
    # an earlier deadline: 2026 is the state in 2026
    assert T.p_met_of(r, 95, 2026, ">=", "hold")[0] == 0.5 and T.p_met_of(r, 95, 2026, ">=", "reach")[0] == 0.5
    # met now (anchor 96) but most draws slip below by the deadline: reach counts it met, hold does not
    now = _constructed([[96, 94, 93, 92], [96, 95, 94, 93], [97, 96, 96, 96], [96, 95, 94, 90]], anchor_value=96)
    hold, at, reach = T.p_met_of(now, 95, 2028, ">=", "hold")
    assert (hold, reach) == (0.25, 1.0)
    code, k = T.status_code(hold, True, 0.0, np.nan, 1, at, 2028, 96.0, 2024)
    assert code == "met_now_likely_to_slip" and k == {"value": 96.0, "year": 2024, "p": 0.25, "deadline": 2028}
    assert T.status_text(hold, True, 0.0, np.nan, 1, at, 2028, 96.0, 2024) == \
        "met now (96 in 2024), likely to slip by 2028: P = 0.25"
    assert T.status_code(0.6, True, 0.0, np.nan, 1, 0.6, 2028, 96.0, 2024)[0] == "met_now_may_slip"
    code, k = T.status_code(reach, True, 0.0, np.nan, 1, at, 2028, 96.0, 2024)
    assert code == "already_met" and k["p_still"] == 0.25          # a milestone: met, with the caveat
    assert T.status_code(0.9, True, 0.0, np.nan, 1, 0.9, 2028, 96.0, 2024)[0] == "already_met"
    # the comparator is respected: "<=" with a falling series
    down = _constructed([[12, 11, 10, 9], [12, 12, 13, 14]], anchor_value=13)
    assert T.p_met_of(down, 10, 2028, "<=", "hold")[0] == 0.5
    with pytest.raises(SpecError):
        T.p_met_of(r, 95, 2028, ">=", "sometime")


def test_scenario_met_definition_is_validated(tmp_path):
    base = {"id": "x", "indicator": "internet_users_pct", "unit": "KAZ", "threshold": 95, "deadline": 2028,
            "source": "s", "rationale": "r"}
    sc = T.parse_scenario({"name": "m", "targets": [base, {**base, "id": "y", "met": "reach"}]})
    assert [t.met for t in sc.targets] == ["hold", "reach"]
    with pytest.raises(SpecError, match="target 'z', field 'met'"):
        T.parse_scenario({"name": "m", "targets": [{**base, "id": "z", "met": "sometime"}]})
    assert {t.met for t in T.load_scenario("fully-digital-kz").targets} == {"hold"}


def test_no_target_counts_as_met_while_it_would_not_hold(result):
    """Issue 14: no target reports status met, or a probability >= 0.8, while its own P(at the deadline)
    is below 0.5; every row carries met_now and p_met with the definition used."""
    assert {"met_now", "p_met", "met_definition", "p_at_deadline", "p_reach"} <= set(result.columns)
    rows = result[result.status_code != "no_data"]
    assert len(rows) == len(result)                      # every row, regions included, has a forecast
    assert set(rows.met_definition) == {"hold"}
    assert rows.met_now.map(lambda v: isinstance(v, (bool, np.bool_))).all()
    low = rows[rows.p_at_deadline < 0.5]
    assert len(low) >= 3                                  # egov_rank, coverage_4g, the "all" rows
    assert not low.status_code.isin(["already_met", "on_track"]).any()
    assert (low.p_met < 0.8).all()
    assert not low.status.str.startswith(("already met", "on track")).any()
    # hold: the headline is the deadline-year probability, for every row
    np.testing.assert_array_equal(rows.p_met.to_numpy(float), rows.p_at_deadline.to_numpy(float))
    assert (rows.p_reach >= rows.p_at_deadline - 1e-12).all()
    # met now but not likely to hold: said in words
    slip = rows[rows.status_code.isin(["met_now_may_slip", "met_now_likely_to_slip"])]
    assert slip.met_now.all() and (slip.p_met < 0.8).all()
    assert slip.status.str.contains(r"^met now .*(?:may|likely to) slip by 2028: P = 0\.\d\d$").all()
    score = result.set_index("target").loc["egov_score"]
    assert score.met_now and score.p_met < 0.8
    assert score.status_code == ("met_now_may_slip" if score.p_met >= 0.5 else "met_now_likely_to_slip")


def test_every_current_region_has_a_number(result, store):
    """Issue 14: both regional targets cover all 20 regions of today's layout (KZ-10 Abai, KZ-33 Zhetisu
    and KZ-62 Ulytau, created in 2022, included), history from older layouts read via the crosswalk."""
    from digimeter.geography import geography

    geo = geography(store, "KAZ")
    today = geo.units(geo.latest_layout())
    assert len(today) == 20 and {"KZ-10", "KZ-33", "KZ-62"} <= set(today)
    for tid in ("digital_skills", "regional_internet"):
        per = result[(result.target == tid) & (result.unit != "all")].set_index("unit")
        assert sorted(per.index) == sorted(today)
        assert per.latest_value.notna().all() and per.p_met.between(0, 1).all(), tid
        allrow = result[(result.target == tid) & (result.unit == "all")].iloc[0]
        assert allrow.unit_name == "all 20 regions with data" and allrow.status_params["n_units"] == 20
        assert allrow.p_met <= per.p_met.min() + 1e-12
    ds = result[result.target == "digital_skills"].set_index("unit")
    # 2020 (the last BNS year) was published on the 17-region layout: each new region takes the value of
    # the territory it was part of (East Kazakhstan, Almaty region, Karaganda), marked estimated
    for new, old, value in (("KZ-10", "KZ-63", 84.1), ("KZ-33", "KZ-19", 88.0), ("KZ-62", "KZ-35", 83.2)):
        r = ds.loc[new]
        assert r.latest_value == pytest.approx(value) and r.latest_year == 2020
        assert r.estimated and r.estimated_years == [2017, 2018, 2019, 2020]
        assert f"territory of {old}" in r.note and "(estimated)" in r.note
    assert not ds.loc["KZ-71"].estimated and ds.loc["KZ-71"].estimated_years == []   # Astana: as published
    ri = result[result.target == "regional_internet"].set_index("unit")
    for new in ("KZ-10", "KZ-33", "KZ-62"):
        r = ri.loc[new]
        assert r.latest_year == 2023 and not r.estimated                 # published on today's layout
        assert r.estimated_years == list(range(2011, 2022))              # 2011-2021 via the crosswalk
        # was: "too few observations (2 < 5); forecast by the random walk with drift only"
        assert "too few observations" not in r.note and "too little history" not in r.why
        assert r.method not in ("rw_drift", "mean(rw_drift)")
    assert ri.loc["KZ-62"].latest_value == pytest.approx(89.0)           # BNS 2023


def test_a_region_without_any_value_takes_its_parents(template_store_path, tmp_path):
    """A region with no value of its own (and no earlier territory with one) gets its parent unit's
    values, marked estimated; the regions with values keep theirs."""
    import shutil

    from digimeter.store import Store

    shutil.copyfile(template_store_path, tmp_path / "s.duckdb")
    units = tmp_path / "units.csv"
    units.write_text("code,name,kind,parent,valid_to\nUZ-T1,Test one,region,UZB,\nUZ-T2,Test two,region,UZB,\n"
                     "UZ-T3,Test three,region,UZB,\nUZ-T4,Test four (abolished),region,UZB,2010\n", encoding="utf-8")
    obs = tmp_path / "obs.csv"
    obs.write_text("unit,indicator,year,value\n" + "".join(
        f"{u},internet_users_pct,{y},{b + 3 * (y - 2015)}\n" for u, b in (("UZ-T1", 40), ("UZ-T2", 55))
        for y in range(2015, 2024)), encoding="utf-8")
    with Store(tmp_path / "s.duckdb") as s:
        import_file(s, units)
        import_file(s, obs)
        uzb = s.observations(indicators=["internet_users_pct"], units=["UZB"]).set_index("year").value
        fc = T.Forecaster(s, 2028, seed=0, n_samples=200)
        ifc = fc.group("internet_users_pct", ["UZ-T1", "UZ-T2", "UZ-T3", "UZ-T4"], "regions of UZB")
    assert len(uzb) > 10
    assert ifc.estimated_years("UZ-T3") == sorted(int(y) for y in uzb.index)
    assert ifc.history.loc["UZ-T3", 2023] == pytest.approx(uzb.loc[2023])
    assert "its parent UZB's value" in ifc.estimated_notes("UZ-T3")[0]
    assert ifc.estimated_years("UZ-T1") == [] and ifc.history.loc["UZ-T1", 2023] == pytest.approx(64)
    assert any("without any value take their parent UZB's values" in n for n in ifc.notes)
    assert np.isfinite(ifc.result("UZ-T3").point).all()
    assert "UZ-T4" not in ifc.history.index             # an abolished region is not filled in
