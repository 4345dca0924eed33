"""Tests of digimeter.forecast: analytic cases, honesty of the backtest, calibration on real ITU data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digimeter import forecast as F
from digimeter.errors import DataError

DATA = Path(__file__).parent / "data" / "forecast" / "itu_internet_users_pct.csv"


@pytest.fixture(scope="module")
def itu():
    d = pd.read_csv(DATA)
    w = d.pivot(index="iso3", columns="year", values="internet_users_pct")
    return w.columns.to_numpy(), w.to_numpy(), list(w.index), d


@pytest.fixture(scope="module")
def panel_2030(itu):
    yrs, v, units, _ = itu
    return F.forecast_panel(yrs, v, 2030, lo=0, hi=100, units=units, seed=1, n_samples=1000)


@pytest.fixture(scope="module")
def kaz(itu, panel_2030):
    yrs, v, units, _ = itu
    i = units.index("KAZ")
    r = F.forecast_series(yrs, v[i], 2030, lo=0, hi=100, unit="KAZ", calibration=panel_2030.calibration,
                          n_samples=1000, seed=1)
    # one series with the panel's calibration gives the same distribution as the panel forecast
    np.testing.assert_allclose(r.quantiles.to_numpy(), panel_2030.result("KAZ").quantiles.to_numpy())
    return r


# ------------------------------------------------------------------ analytic / textbook checks

def test_logistic_recovers_known_parameters():
    yrs = np.arange(2000, 2021)
    K, a, b = 85.0, 0.3, 0.35
    y = K / (1 + np.exp(-(a + b * (yrs - 2010))))
    p = F.fit_logistic(yrs, y, cap=100)
    assert p["K"][0] == pytest.approx(K, rel=1e-4)
    assert p["b"][0] == pytest.approx(b, rel=1e-3)
    assert F.predict_logistic(p, [2030])[0, 0] == pytest.approx(K / (1 + np.exp(-(a + b * 20))), rel=1e-4)


def test_gompertz_recovers_known_parameters_batched():
    yrs = np.arange(2000, 2024)
    truth = [(70.0, -0.5, 0.3), (98.0, 0.2, 0.25)]
    v = np.array([K * np.exp(-np.exp(-(a + b * (yrs - yrs.mean())))) for K, a, b in truth])
    v[0, 3] = np.nan  # a gap must not hurt
    p = F.fit_gompertz(yrs, v, cap=100)
    np.testing.assert_allclose(p["K"], [70.0, 98.0], rtol=1e-3)
    np.testing.assert_allclose(p["b"], [0.3, 0.25], rtol=1e-2)


def test_saturation_bounded_by_cap_and_max_observed():
    yrs = np.arange(2005, 2020)
    y = np.linspace(10, 95, yrs.size)  # a straight line would run past the cap
    for fit in (F.fit_logistic, F.fit_gompertz, F.fit_bass):
        p = fit(yrs, y, cap=100)
        k = p.get("K", p.get("m"))[0]
        assert 95 <= k <= 100


def test_rw_drift_equals_mean_of_differences():
    rng = np.random.default_rng(3)
    yrs = np.arange(2000, 2015)
    y = np.cumsum(rng.normal(1, 2, yrs.size))
    p = F.fit_rw_drift(yrs, y, window=None)
    assert p["drift"][0] == pytest.approx(np.mean(np.diff(y)))
    p5 = F.fit_rw_drift(yrs, y, window=5)
    assert p5["drift"][0] == pytest.approx(np.mean(np.diff(y[-6:])))
    assert F.predict_rw_drift(p5, [2016])[0, 0] == pytest.approx(y[-1] + 2 * np.mean(np.diff(y[-6:])))


def test_rw_drift_answers_across_a_gap():
    """The drift uses the observed points within the window; a gap that leaves none before the last
    value gives the random walk without drift (a number, not NaN). Paces stay unknown there."""
    yrs = np.arange(2000, 2015)
    y = np.full((3, yrs.size), np.nan)
    y[0, :8] = np.arange(8.0)                 # 2000-2007, then a gap ...
    y[0, -1] = 10.5                           # ... to 2014: nothing in [2009, 2014)
    y[1, [5, 11, 14]] = [1.0, 4.0, 10.0]      # 2011 and 2014: the drift is (10 - 4) / 3
    p = F.fit_rw_drift(yrs, y, window=5)
    assert p["drift"][0] == 0.0 and p["drift"][1] == pytest.approx(2.0) and np.isnan(p["drift"][2])
    np.testing.assert_allclose(F.predict_rw_drift(p, [2016])[:2, 0], [10.5, 14.0])
    assert np.isnan(F.achieved_pace(pd.Series(y[0], index=yrs), years=5))
    assert F.achieved_pace(pd.Series(y[1], index=yrs), years=5) == pytest.approx(2.0)


def test_linear_and_damped_on_a_straight_line():
    yrs = np.arange(2000, 2012)
    y = 3.0 + 2.0 * (yrs - 2000)
    pl = F.fit_linear(yrs, y)
    assert F.predict_linear(pl, [2015])[0, 0] == pytest.approx(33.0)
    pd_ = F.fit_damped(yrs, y + np.sin(yrs))
    a, b, phi = pd_["alpha"][0], pd_["beta"][0], pd_["phi"][0]
    # the textbook error-correction recursion (Gardner & McKenzie 1985), written out for one series
    z = y + np.sin(yrs)
    lvl, tr = z[1], z[1] - z[0]
    for x in z[2:]:
        e = x - (lvl + phi * tr)
        lvl, tr = lvl + phi * tr + a * e, phi * tr + b * e
    assert pd_["level"][0] == pytest.approx(lvl)
    assert pd_["trend"][0] == pytest.approx(tr)
    h = 4
    assert F.predict_damped(pd_, [2011 + h])[0, 0] == pytest.approx(lvl + tr * sum(phi ** i for i in range(1, h + 1)))
    # statsmodels' damped Holt with the same smoothing parameters and initial state agrees
    from statsmodels.tsa.holtwinters import Holt
    m = Holt(z[1:], damped_trend=True, initialization_method="known", initial_level=z[1] - phi * (z[1] - z[0]),
             initial_trend=(z[1] - z[0]) / phi).fit(smoothing_level=a, smoothing_trend=b / a, damping_trend=phi,
                                                    optimized=False)
    assert m.forecast(h)[-1] == pytest.approx(F.predict_damped(pd_, [2011 + h])[0, 0], rel=1e-6)


def test_bass_recovers_a_bass_curve():
    p, q, m = 0.01, 0.4, 90.0
    t = np.arange(0, 25.0)
    Fc = (1 - np.exp(-(p + q) * t)) / (1 + q / p * np.exp(-(p + q) * t))
    yrs = (2000 + t).astype(int)
    y = m * Fc
    par = F.fit_bass(yrs[:15], y[:15], cap=100)
    assert par["q"][0] == pytest.approx(q, rel=0.25)
    pred = F.predict_bass(par, yrs[15:])[0]
    np.testing.assert_allclose(pred, y[15:], atol=3.0)


def test_models_are_nan_for_too_short_series():
    yrs = np.arange(2000, 2010)
    v = np.full((2, yrs.size), np.nan)
    v[0] = np.linspace(1, 50, yrs.size)
    v[1, -3:] = [10, 12, 15]
    for name, (fit, pred) in F.MODELS.items():
        out = pred(fit(yrs, v, cap=100), [2011])
        assert np.isfinite(out[0, 0]), name
        assert np.isnan(out[1, 0]) == (F.MIN_POINTS[name] > 3), name


# ------------------------------------------------------------------ honesty of the backtest

def test_backtest_excludes_future_data(itu):
    yrs, v, units, _ = itu
    sub = v[:40]
    bt = F.backtest(yrs, sub, cap=100, lo=0, hi=100, origins=[2010, 2014])
    v2 = sub.copy()
    later = yrs > 2014
    v2[:, later] = np.clip(v2[:, later] * 0.5 + 7.0, 0, 100)
    bt2 = F.backtest(yrs, v2, cap=100, lo=0, hi=100, origins=[2010, 2014])
    np.testing.assert_array_equal(bt.forecasts, bt2.forecasts)
    assert not np.array_equal(np.nan_to_num(bt.actual), np.nan_to_num(bt2.actual))
    # the method's nested weights use only errors whose target year is before the origin
    m1 = F.method_forecasts(bt, "inverse_mae")
    m2 = F.method_forecasts(bt2, "inverse_mae")
    np.testing.assert_array_equal(m1[:, 0], m2[:, 0])


def test_forecast_ignores_values_after_the_origin(itu):
    yrs, v, units, _ = itu
    keep = yrs <= 2015
    a = F.forecast_panel(yrs[keep], v[:30, keep], 2018, lo=0, hi=100, n_samples=50)
    v2 = v[:30].copy()
    v2[:, ~keep] = 1.0
    b = F.forecast_panel(yrs[keep], v2[:, keep], 2018, lo=0, hi=100, n_samples=50)
    np.testing.assert_array_equal(a.quantiles, b.quantiles)


# ------------------------------------------------------------------ calibration on held-out real data

def _heldout(yrs, v, T, last=2023):
    keep = yrs <= T
    vt = v[:, keep]
    ok = ~np.isnan(vt[:, -1]) & ((~np.isnan(vt)).sum(1) >= 5)
    pf = F.forecast_panel(yrs[keep], vt[ok], min(T + 8, last), lo=0, hi=100, n_samples=200)
    act = v[ok][:, ~keep][:, :pf.years.size]
    h = pf.years[None, :] - pf.anchor_year[:, None]
    sc = F.recent_scale(yrs[keep], vt[ok])
    eq = pf.calibration.error_quantiles(np.maximum(h, 1), sc[:, None], pf.anchor_value[:, None])
    # the intervals sit around the models' combination (the central forecast may be the median)
    q = np.clip(pf.combination[..., None] + F.interp_q(eq, pf.calibration.probs, np.array([0.1, 0.9, 0.025, 0.975])),
                0, 100)
    rw = np.clip(F.predict_rw_drift(F.fit_rw_drift(yrs[keep], vt[ok]), pf.years), 0, 100)
    rw_unclipped = F.predict_rw_drift(F.fit_rw_drift(yrs[keep], vt[ok]), pf.years)
    return pf, act, h, q, rw, rw_unclipped


@pytest.mark.parametrize("T", [2012, 2015, 2018])
def test_intervals_cover_heldout_internet_use_near_nominal(itu, T):
    """Origins as in the reference backtest; every fit and the calibration only see data <= T."""
    yrs, v, units, _ = itu
    pf, act, h, q, rw, rwu = _heldout(yrs, v, T)
    assert pf.point.shape[0] > 150  # countries
    m = np.isfinite(act)
    a = act[m]
    cov80 = np.mean((a >= q[..., 0][m]) & (a <= q[..., 1][m]))
    cov95 = np.mean((a >= q[..., 2][m]) & (a <= q[..., 3][m]))
    # measured: 0.822/0.952 (2012), 0.797/0.959 (2015), 0.786/0.963 (2018)
    assert 0.70 <= cov80 <= 0.90
    assert 0.88 <= cov95 <= 0.98
    # the 90 % interval (5th-95th percentiles) on 3-year-ahead points
    m3 = m & (h == 3)
    a3 = act[m3]
    cov90_h3 = np.mean((a3 >= pf.quantiles[..., 0][m3]) & (a3 <= pf.quantiles[..., 4][m3]))
    assert m3.sum() > 100
    assert 0.80 <= cov90_h3 <= 0.97  # measured 0.926, 0.925, 0.904
    # point accuracy: beats the random walk with drift (5-year drift, unclipped as in issue 5)
    mae = np.mean(np.abs(a - pf.point[m]))
    assert mae < np.mean(np.abs(a - rwu[m]))
    assert mae < 1.05 * np.mean(np.abs(a - rw[m]))  # and no worse than the clipped walk


def _synthetic_backtest(offset, n_units=80, seed=0):
    """A hand-made Backtest: method errors = offset(level) + symmetric noise, 6 origins x 4 horizons."""
    rng = np.random.default_rng(seed)
    origins = np.arange(2010, 2016)
    hz = np.arange(1, 5)
    level = np.repeat(rng.uniform(0, 100, n_units)[:, None], origins.size, 1)
    forecast = np.repeat(level[..., None], hz.size, 2) + 1.0
    err = offset(level)[..., None] + rng.normal(0, 1.0, (n_units, origins.size, hz.size))
    bt = F.Backtest(models=("rw_drift",), origins=origins, horizons=hz, forecasts=forecast[None],
                    actual=forecast + err, level=level, scale=np.ones((n_units, origins.size)))
    return bt, forecast


def test_center_choice_follows_the_holdout_by_level_band():
    # errors run 4 points high below 50 and are centred above: the median wins only below 50
    bt, mb = _synthetic_backtest(lambda lv: np.where(lv < 50, 4.0, 0.0))
    ch = F.choose_center(bt, mb, lo=0, hi=100)
    assert list(ch.edges) == [20, 50, 80]
    assert ch.centers == ["median", "median", "point", "point"]
    ev = ch.evidence[0]
    assert ev["mae_median"] < 0.8 * ev["mae_point"] and ch.cut == 2019 - 3   # (the shift is pooled over levels)
    assert list(ch.use_median([10, 30, 60, 95])) == [True, True, False, False]
    # symmetric errors everywhere: nothing to correct
    bt0, mb0 = _synthetic_backtest(lambda lv: np.zeros_like(lv))
    assert F.choose_center(bt0, mb0, lo=0, hi=100).centers == ["point"] * 4


def test_center_changes_only_the_central_forecast(itu):
    yrs, v, units, _ = itu
    kw = dict(lo=0, hi=100, seed=3, n_samples=200)
    a = F.forecast_panel(yrs, v, 2028, center="point", **kw)
    b = F.forecast_panel(yrs, v, 2028, center="median", **kw)
    np.testing.assert_array_equal(a.quantiles, b.quantiles)
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.combination, b.combination)
    np.testing.assert_array_equal(a.point, a.combination)
    fut = b.years[None, :] > b.anchor_year[:, None]
    ok = fut & np.isfinite(b.point) & ~np.array([s.startswith("stuck") for s in b.status])[:, None]
    np.testing.assert_allclose(b.point[ok], b.quantiles[..., 2][ok])   # the median of the distribution
    with pytest.raises(DataError, match="unknown center"):
        F.forecast_panel(yrs, v, 2028, center="mode", **kw)
    auto = F.forecast_panel(yrs, v, 2028, units=units, **kw)
    r = auto.result("KAZ")
    assert "central forecast" in r.why


# ------------------------------------------------------------------ forecast results and target questions

def test_forecast_series_kaz(kaz):
    assert kaz.unit == "KAZ" and kaz.anchor_year == 2023
    q = kaz.quantiles.to_numpy()
    assert np.all(np.diff(q, axis=1) >= -1e-9)
    assert np.all((q >= 0) & (q <= 100))
    assert kaz.samples.shape == (1000, kaz.years.size)
    assert {"rw_drift", "gompertz", "damped", "mean(rw_drift, damped, gompertz)"} <= set(kaz.backtest.index)
    assert "MAE" in kaz.why
    assert np.all(kaz.samples >= 0) and np.all(kaz.samples <= 100)
    # the sample quantiles agree with the reported quantiles
    np.testing.assert_allclose(np.quantile(kaz.samples[:, -1], 0.5), kaz.quantiles.iloc[-1][0.5], atol=1.5)


def test_forecast_series_self_calibrated_notes(itu):
    yrs, v, units, _ = itu
    r = F.forecast_series(yrs, v[units.index("KAZ")], 2027, lo=0, hi=100, unit="KAZ", n_samples=100)
    assert any("own backtest errors" in n for n in r.notes)
    assert r.quantiles.shape == (4, 5)


def test_same_seed_same_result(itu):
    yrs, v, units, _ = itu
    a = F.forecast_panel(yrs[-12:], v[:20, -12:], 2027, lo=0, hi=100, seed=7, n_samples=300)
    b = F.forecast_panel(yrs[-12:], v[:20, -12:], 2027, lo=0, hi=100, seed=7, n_samples=300)
    c = F.forecast_panel(yrs[-12:], v[:20, -12:], 2027, lo=0, hi=100, seed=8, n_samples=300)
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.quantiles, b.quantiles)
    assert not np.array_equal(np.nan_to_num(a.samples), np.nan_to_num(c.samples))


@settings(max_examples=60, deadline=None)
@given(t1=st.floats(-10, 110), t2=st.floats(-10, 110), deadline=st.integers(2024, 2030),
       cmp=st.sampled_from([">=", ">", "<=", "<"]), mode=st.sampled_from(["at", "any"]))
def test_prob_reach_is_a_probability_monotone_in_threshold(kaz, t1, t2, deadline, cmp, mode):
    lo_, hi_ = min(t1, t2), max(t1, t2)
    p_lo = F.prob_reach(kaz, lo_, deadline, cmp, mode=mode)
    p_hi = F.prob_reach(kaz, hi_, deadline, cmp, mode=mode)
    assert 0.0 <= p_lo <= 1.0 and 0.0 <= p_hi <= 1.0
    if cmp in (">=", ">"):
        assert p_hi <= p_lo
    else:
        assert p_hi >= p_lo


def test_target_questions_on_kaz(kaz, panel_2030, itu):
    assert F.prob_reach(kaz, 50, 2027) == 1.0
    assert F.prob_reach(kaz, 101, 2030) == 0.0
    assert F.prob_reach(kaz, 90, 2020) == 1.0  # answered from the last observation (92.9 in 2023)
    with pytest.raises(DataError):
        F.prob_reach(kaz, 95, 2035)
    cy = F.crossing_year(kaz, 95)
    assert cy is None or 2024 <= cy <= 2030
    assert F.crossing_year(kaz, 90) == 2023  # already met
    assert F.crossing_year(kaz, 100.5) is None
    # panel versions are vectorised
    p = F.prob_reach(panel_2030, 95, 2027)
    assert p.shape == (len(panel_2030.units),)
    assert p[panel_2030.units.index("KAZ")] == pytest.approx(F.prob_reach(panel_2030.result("KAZ"), 95, 2027))


def test_paces(itu):
    yrs, v, units, d = itu
    assert F.required_pace(92.88, 95, 3) == pytest.approx((95 - 92.88) / 3)
    assert np.isnan(F.required_pace(92.88, 95, 0))
    kaz = pd.Series(v[units.index("KAZ")], index=yrs)
    assert F.achieved_pace(kaz, years=5) == pytest.approx((92.8785 - 78.9039) / 5)
    wide = pd.DataFrame(v, index=units, columns=yrs)
    per_unit = F.achieved_pace(wide)
    assert per_unit["KAZ"] == pytest.approx((92.8785 - 78.9039) / 5)
    long = d.rename(columns={"iso3": "unit", "internet_users_pct": "value"})
    best = F.fastest_pace_from_level(long, 30.0, window=5, tol=5.0)
    assert list(best.columns) == ["unit", "start_year", "start_value", "end_year", "end_value", "pace"]
    assert best["pace"].is_monotonic_decreasing and best["unit"].is_unique
    assert (best["start_value"].sub(30).abs() <= 5).all()
    top = best.iloc[0]
    # recompute the winner's episode from the raw data
    raw = long.set_index(["unit", "year"])["value"]
    assert top["pace"] == pytest.approx((raw[(top["unit"], top["end_year"])] - raw[(top["unit"], top["start_year"])]) / 5)
    assert top["pace"] > 5  # somebody gained more than 5 points a year from ~30 %


def test_clear_messages_for_bad_series():
    yrs = np.arange(2010, 2020)
    with pytest.raises(DataError, match="at least 5"):
        F.forecast_series(yrs, [np.nan] * 7 + [10, 11, 12], 2025, lo=0, hi=100)
    with pytest.raises(DataError, match="outside the valid range"):
        F.forecast_series(yrs, np.linspace(50, 120, 10), 2025, lo=0, hi=100)
    with pytest.raises(DataError, match="consecutive"):
        F.backtest([2000, 2001, 2005], [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="unknown forecast model"):
        F.backtest(yrs, np.arange(10.0), models=["prophet"])
    # stuck at 100: a note, and a forecast that stays at 100
    rng = np.random.default_rng(0)
    v = np.vstack([np.clip(np.linspace(40, 90, 10) + rng.normal(0, 2, 10), 0, 100) for _ in range(30)]
                  + [np.r_[np.linspace(80, 100, 6), [100] * 4]])
    pf = F.forecast_panel(yrs, v, 2023, lo=0, hi=100, n_samples=100)
    assert "stuck" in pf.status[-1]
    assert np.all(pf.point[-1] == 100) and np.all(pf.quantiles[-1, :, 2:] == 100)
    assert np.all(pf.quantiles[-1] <= 100)  # it may still slip (revisions), within its calibrated interval


def test_calibration_by_level_band_uses_each_bands_own_errors():
    """With ``level=``, errors are also binned by level band; the most specific quantiles with enough
    errors are used (level x volatility, level, volatility, all)."""
    rng = np.random.default_rng(0)
    U, O, H = 400, 3, 2
    level = np.repeat(np.where(np.arange(U) < U // 2, 10.0, 90.0)[:, None], O, 1)
    spread = np.where(level < 50, 1.0, 5.0)[..., None]
    err = rng.normal(0, 1, (U, O, H)) * spread
    scale = np.ones((U, O))
    plain = F.calibrate(err, scale)
    by_level = F.calibrate(err, scale, level=level, level_edges=F.level_bands(level, 0, 100))
    assert list(by_level.level_edges) == [20, 50, 80] and "4 level bands" in by_level.note
    p90 = lambda cal, lv: F.interp_q(cal.error_quantiles(1, 1.0, lv), cal.probs, np.array([0.9]))[..., 0]
    assert p90(by_level, 10.0) == pytest.approx(1.2816, abs=0.25)      # N(0, 1) errors
    assert p90(by_level, 90.0) == pytest.approx(5 * 1.2816, abs=1.0)   # N(0, 5) errors
    assert p90(by_level, 35.0) == pytest.approx(p90(plain, 35.0))       # an empty band: the pooled ones
    assert p90(by_level, np.nan) == pytest.approx(p90(plain, 0.0))      # no level given: the pooled ones


def _shocked_backtest(rho, n_units=60, seed=0):
    """Errors = sqrt(rho) * a shock shared by every unit in an (origin, horizon) cell + the rest."""
    rng = np.random.default_rng(seed)
    origins, hz = np.arange(2005, 2017), np.arange(1, 5)
    common = rng.standard_normal((1, origins.size, hz.size))
    err = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal((n_units, origins.size, hz.size))
    f = np.full((n_units, origins.size, hz.size), 50.0)
    bt = F.Backtest(models=("rw_drift",), origins=origins, horizons=hz, forecasts=f[None], actual=f + err,
                    level=np.full((n_units, origins.size), 50.0), scale=np.ones((n_units, origins.size)))
    return bt, f


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.6])
def test_error_correlation_recovers_a_shared_shock(rho):
    bt, mb = _shocked_backtest(rho)
    r, info = F.error_correlation(bt, mb)
    assert info["cells"] == 48
    assert info["estimate"] == pytest.approx(rho, abs=0.12)
    assert (r == 0.0) if rho == 0.0 else (r == pytest.approx(info["estimate"]))


def test_error_correlation_scales_errors_as_the_calibration_does():
    """Units forecast to move at different paces err in proportion to their pace (the calibration's
    error_scale); a shock shared by every unit of a cell is then recovered in full, as it would not be
    were the errors divided by the units' (equal) volatility alone."""
    rng = np.random.default_rng(3)
    n, origins, hz = 80, np.arange(2005, 2017), np.arange(1, 5)
    pace = np.geomspace(0.5, 20.0, n)[:, None, None]                     # points per year, unit by unit
    f = 50.0 + pace * hz[None, None, :] * np.ones((1, origins.size, 1))   # level 50, moving at its pace
    shock = rng.standard_normal((1, origins.size, hz.size))
    bt = F.Backtest(models=("rw_drift",), origins=origins, horizons=hz, forecasts=f[None],
                    actual=f + pace * (shock + 0.3 * rng.standard_normal(f.shape)),
                    level=np.full((n, origins.size), 50.0), scale=np.full((n, origins.size), 0.1))
    np.testing.assert_allclose(F.error_scale(bt, f), np.broadcast_to(pace, f.shape))
    r, info = F.error_correlation(bt, f)
    # the shock is 1 / 1.09 of each error's variance; on normal scores ranked over a horizon's cells the
    # estimate is 0.86 (errors over volatility alone, whose ranks the paces mix up: 0.65)
    assert r > 0.8


def test_common_shock_correlates_draws_and_keeps_each_units_distribution(itu):
    yrs, v, units, _ = itu
    kw = dict(lo=0, hi=100, seed=5, n_samples=4000, units=units)
    ind = F.forecast_panel(yrs, v, 2028, common_shock=0.0, **kw)
    dep = F.forecast_panel(yrs, v, 2028, common_shock=0.6, **kw)
    np.testing.assert_array_equal(ind.quantiles, dep.quantiles)   # the marginals are the same
    j = list(dep.years).index(2028)
    a, b = units.index("KAZ"), units.index("UZB")
    med = lambda pf, i: np.quantile(pf.samples[i, :, j], [0.25, 0.5, 0.75])
    np.testing.assert_allclose(med(dep, a), med(ind, a), atol=0.6)
    from scipy import stats

    r_dep = stats.spearmanr(dep.samples[a, :, j], dep.samples[b, :, j])[0]
    r_ind = stats.spearmanr(ind.samples[a, :, j], ind.samples[b, :, j])[0]
    assert r_dep > 0.4 and abs(r_ind) < 0.06
    assert dep.common_shock == 0.6 and ind.common_shock == 0.0
    with pytest.raises(DataError, match="common_shock"):
        F.forecast_panel(yrs, v, 2028, common_shock=1.0, **kw)


# ------------------------------------------------------------------ the pooled analogue model (issue 14)

from digimeter.forecast.pooled import pooled_backtest, pooled_forecast, pooled_transform  # noqa: E402


def test_pooled_backtest_ignores_values_after_each_origin(itu):
    """No leakage: a forecast at origin T is unchanged when any value after T (of the panel or of the
    donors) is altered."""
    yrs, v, units, _ = itu
    sub, donors = v[:120], v[120:]
    a = pooled_backtest(yrs, sub, [2010, 2014], 8, lo=0, hi=100, donors=(yrs, donors))
    later = yrs > 2014
    s2, d2 = sub.copy(), donors.copy()
    s2[:, later] = np.clip(s2[:, later] * 0.5 + 7.0, 0, 100)
    d2[:, later] = 99.0
    b = pooled_backtest(yrs, s2, [2010, 2014], 8, lo=0, hi=100, donors=(yrs, d2))
    assert np.isfinite(a).sum() > 500
    np.testing.assert_array_equal(a, b)
    # and the backtest forecast at T is the forecast made from the data up to T alone
    keep = yrs <= 2014
    fy, p = pooled_forecast(yrs[keep], sub[:, keep], 2022, lo=0, hi=100, donors=(yrs[keep], donors[:, keep]))
    at = np.isfinite(sub[:, keep][:, -1])
    np.testing.assert_allclose(p[at][:, fy > 2014], a[at, 1], rtol=1e-9, atol=1e-9)


def test_auto_method_forecast_at_an_origin_ignores_later_values(itu):
    yrs, v, units, _ = itu
    keep = yrs <= 2015
    a = F.forecast_panel(yrs[keep], v[:60, keep], 2020, lo=0, hi=100, n_samples=50, method="auto",
                         donors=(yrs[keep], v[60:, keep]))
    v2 = v.copy()
    v2[:, ~keep] = 3.0
    b = F.forecast_panel(yrs[keep], v2[:60, keep], 2020, lo=0, hi=100, n_samples=50, method="auto",
                         donors=(yrs[keep], v2[60:, keep]))
    np.testing.assert_array_equal(a.point, b.point)
    np.testing.assert_array_equal(a.quantiles, b.quantiles)
    assert a.method == "auto" and a.result(0).model == "auto"


def test_pooled_scale_is_logit_only_near_the_bound(itu):
    yrs, v, units, _ = itu
    assert pooled_transform(v, 0, 100) == "logit"           # internet use reaches 100 %
    assert pooled_transform(np.minimum(v, 50), 0, 100) == "none"   # like fixed broadband per 100
    assert pooled_transform(v, 0, None) == "none"


def test_pooled_forecast_borrows_from_donors_for_short_series(itu):
    """Regions with two or three observations are forecast from the donor countries' experience:
    low-level series rise, high-level ones stay below the bound, all within the valid range."""
    yrs, v, units, _ = itu
    keep = yrs <= 2023
    short = np.full((6, keep.sum()), np.nan)
    short[:, -3:] = np.array([[10, 12, 15], [30, 34, 38], [50, 55, 60], [70, 74, 77], [90, 92, 93],
                              [5, np.nan, 8]], float)
    fy, alone = pooled_forecast(yrs[keep], short, 2030, lo=0, hi=100)
    fy, p = pooled_forecast(yrs[keep], short, 2030, lo=0, hi=100, donors=(yrs[keep], v[:, keep]))
    assert np.isnan(alone).all()            # too few pairs of their own
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 100).all()
    assert (p[:, -1] > short[:, -1]).all()  # every one keeps growing, as countries at these levels did
    assert (np.diff(p, axis=1) >= -1e-9).all()
    pf = F.forecast_panel(yrs[keep], short, 2030, lo=0, hi=100, method="auto", n_samples=200,
                          donors=(yrs[keep], v[:, keep]),
                          calibration=F.forecast_panel(yrs[keep], v[:, keep], 2030, lo=0, hi=100,
                                                       n_samples=10).calibration)
    np.testing.assert_allclose(pf.point, p)
    assert (pf.quantiles[..., 0] <= pf.quantiles[..., 4]).all()


def test_regions_are_forecast_by_the_pooled_model_with_the_countries_as_donors(store, monkeypatch):
    """Kazakhstan's regions (internet use) get the pooled model's forecasts, trained on every country's
    history as well as their own."""
    from digimeter.targets import Forecaster

    seen = []
    real = F.forecast_panel

    def spy(*a, **k):
        seen.append(k.get("donors"))
        return real(*a, **k)

    monkeypatch.setattr(F, "forecast_panel", spy)
    fc = Forecaster(store, 2028, n_samples=200)
    regions = store.units(kind="region", parent="KAZ").code.tolist()
    ifc = fc.group("internet_users_pct", regions, "regions of KAZ")
    pf = ifc.base
    assert pf.method == "auto" and len(pf.units) >= 17
    donors = seen[-1]
    assert donors is not None and donors[1].shape[0] > 150      # the countries' panel
    j = list(pf.years).index(2028)
    p = pf.point[:, j]
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 100).all()


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 50.0), st.floats(0.0, 100.0), st.floats(0.0, 100.0), st.integers(1, 10))
def test_forecast_scale_is_the_larger_of_volatility_and_pace(scale, point, level, h):
    got = float(F.forecast_scale(scale, point, level, h))
    pace = abs(point - level) / h
    assert got >= scale and got >= pace - 1e-12 and got in (scale, pytest.approx(pace))
    assert float(F.forecast_scale(np.nan, point, level, h)) == pytest.approx(pace)   # no volatility: the pace


def test_calibrate_takes_one_scale_per_forecast():
    """A take-off forecast that missed by 40 points, divided by its own pace (20 a year), is an ordinary
    error; divided by its calm series' volatility (1 a year) it is a 40-sigma one."""
    rng = np.random.default_rng(3)
    e = rng.normal(0.0, 1.0, (200, 3, 2))
    e[:20, :, :] = -40.0                                      # twenty take-offs that did not come
    vol = np.ones((200, 3))
    pace = np.where(np.arange(200)[:, None, None] < 20, 20.0, 1.0) * np.ones((1, 3, 2))
    by_vol = F.calibrate(e, vol, n_bins=1)
    by_pace = F.calibrate(e, np.fmax(vol[..., None], pace), n_bins=1)
    q05 = lambda c: float(F.interp_q(c.q[0], c.probs, np.array([0.05]))[0])  # noqa: E731
    assert q05(by_vol) == pytest.approx(-40.0) and -3.0 < q05(by_pace) < -1.0


def test_kaz_4g_is_not_forecast_to_fall_where_no_country_at_its_level_ever_fell(store):
    """KAZ's 4G coverage was 91.6 % in 2024. Of the countries at 90-93 % in some year none was lower four
    years later; the forecast for 2028 puts at least 90 % of its draws at or above 91.6 (with the
    volatility alone as the error scale it put 16 % below, and its 5 % quantile at 25 %)."""
    from digimeter.targets import forecast_unit

    obs = store.observations(indicators=["pop_cov_4g_pct"])
    w = obs.pivot_table(index="unit", columns="year", values="value")
    then, later = [], []
    for y in w.columns:
        if y + 4 in w.columns:
            m = w[y].between(90, 93) & w[y + 4].notna()
            then += list(w.loc[m, y])
            later += list(w.loc[m, y + 4])
    assert len(then) >= 30 and np.mean(np.array(later) >= np.array(then)) >= 0.95   # the record
    r, _ = forecast_unit(store, "KAZ", "pop_cov_4g_pct", 2028, n_samples=2000)
    assert r.anchor_year == 2024 and r.anchor_value == pytest.approx(91.6)
    at = r.samples[:, list(r.years).index(2028)]
    assert np.mean(at >= 91.6) >= 0.9
    assert np.quantile(at, 0.05) > 85.0


def test_damped_at_every_origin_in_one_pass_is_the_fit_per_origin():
    """fit_damped_origins (the backtest's one pass) gives the numbers of fit_damped on the data up to each
    origin, gaps and all."""
    from digimeter.forecast.models import fit_damped, fit_damped_origins

    rng = np.random.default_rng(3)
    years = np.arange(2000, 2018)
    v = np.cumsum(rng.normal(1.0, 2.0, (40, years.size)), axis=1) + 20
    v[rng.random(v.shape) < 0.2] = np.nan
    v[0] = np.nan
    at = fit_damped_origins(years, v, range(years.size), cap=100.0)
    checked = 0
    for j in range(1, years.size):
        rows = np.flatnonzero(~np.isnan(v[:, j]) & ((~np.isnan(v[:, :j + 1])).sum(1) >= 2))
        if rows.size:
            one, per = at(j, rows), fit_damped(years[:j + 1], v[rows, :j + 1], cap=100.0)
            for k in per:
                np.testing.assert_array_equal(np.asarray(one[k], float), np.asarray(per[k], float))
            checked += 1
    assert checked > 10


def test_pooled_method_and_models_are_compared_on_the_same_backtest_origins(itu):
    """The "auto" method is backtested at the last POOLED_RECENT origins; so are the models it is compared
    with in `why` (it once set its MAE over those against theirs over every origin since 2004)."""
    yrs, v, units, _ = itu
    pf = F.forecast_panel(yrs, v, 2030, lo=0, hi=100, units=units, seed=1, n_samples=200, method="auto")
    assert pf.backtest.origins.size == F.POOLED_RECENT < F.backtest_origins(yrs).size
    np.testing.assert_array_equal(pf.backtest.origins, F.backtest_origins(yrs)[-F.POOLED_RECENT:])
    r = pf.result("KAZ")
    label = r.backtest.index[-1]
    assert r.backtest.loc["rw_drift", "n"] == r.backtest.loc[label, "n"] > 0
    mean = F.forecast_panel(yrs, v, 2030, lo=0, hi=100, units=units, seed=1, n_samples=200, method="mean")
    np.testing.assert_array_equal(mean.backtest.origins, F.backtest_origins(yrs))   # the others: every origin


def test_growth_curves_rise_and_a_flat_series_at_its_bound_does_not_collapse():
    """The Gompertz and logistic curves are growth curves (b >= 0, whatever the data): a flat series just
    below its bound (KAZ's electricity access before 2012) was once fitted a falling curve forecast to
    collapse to 0 within eight years."""
    yrs = np.arange(2004, 2013)
    flat = np.array([[100, 100, 99.9, 100, 99.8, 100, 99.9, 99.7, 99.6]], float)
    rng = np.random.default_rng(4)
    noisy = np.clip(rng.normal(50, 20, (200, 1)) + rng.normal(0, 3, (200, yrs.size)) - rng.random((200, 1)) * np.arange(yrs.size), 0, 100)
    for fit, pred in ((F.fit_gompertz, F.predict_gompertz), (F.fit_logistic, F.predict_logistic)):
        p = fit(yrs, flat, cap=100)
        assert p["b"][0] >= 0
        assert pred(p, np.arange(2013, 2021)).min() > 99      # stays at its level, no collapse
        q = fit(yrs, noisy, cap=100)                              # falling series too: never a falling curve
        assert np.all(q["b"][np.isfinite(q["b"])] >= 0)
