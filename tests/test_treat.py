"""Outlier treatment: parity with COINr's ASEM example and invariants."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from digimeter.errors import SpecError
from digimeter.stages.treat import (boxcox, check_skew_kurt, kurt, log_ct, log_ct_plus, skew, to_coinr_log,
                             treat, winsorise)

DATA = Path(__file__).parent / "data" / "coinr_asem"


@pytest.fixture(scope="module")
def asem():
    screened = pd.read_csv(DATA / "example_screened.csv").set_index("uCode")
    treated = pd.read_csv(DATA / "example_treated.csv").set_index("uCode")
    log = pd.read_csv(DATA / "example_treatment_log.csv")
    return screened, treated, log


def test_reproduces_coinr_treated_data_exactly(asem):
    screened, treated, _ = asem
    out, _ = treat(screened)
    assert list(out.columns) == list(treated.columns)
    # Winsorised values are copies of data values: equal to the file's 15 significant digits
    np.testing.assert_allclose(out.to_numpy(), treated.to_numpy(), rtol=1e-15, atol=0)


def test_reproduces_coinr_treatment_log(asem):
    screened, _, log = asem
    _, mine = treat(screened)
    coinr = to_coinr_log(mine)
    assert list(coinr.columns) == list(log.columns)
    assert list(coinr["iCode"]) == list(log["iCode"])
    for col in log.columns[1:]:
        a = coinr[col].to_numpy(dtype=float)
        b = log[col].to_numpy(dtype=float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, equal_nan=True, err_msg=col)
    # 17 indicators failed and were Winsorised; none needed the log
    assert (mine["treatment"] == "winsorise").sum() == (~log["check_SkewKurt0.Pass"]).sum() == 15
    assert (mine["f2"] == "").all()


def test_skew_kurt_match_scipy_bias_corrected():
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=(3, 40, 4))
    x[0, 3, 1] = np.nan
    for k in range(3):
        for j in range(4):
            v = x[k, :, j]
            v = v[~np.isnan(v)]
            assert skew(x)[k, j] == pytest.approx(stats.skew(v, bias=False), rel=1e-12)
            assert kurt(x)[k, j] == pytest.approx(stats.kurtosis(v, bias=False), rel=1e-12)


def test_check_rule_is_or():
    x = np.r_[np.arange(1.0, 11.0), 30, 100][:, None]
    ok, sk, kt = check_skew_kurt(x)
    assert not ok[0] and sk[0] > 2 and kt[0] > 3.5
    ok2, _, _ = check_skew_kurt(x, kurt_thresh=100)
    assert ok2[0]


def test_winsorise_coinr_example():
    # COINr's own example: 1..10 with 30 and 100
    x = np.r_[np.arange(1.0, 11.0), 30, 100]
    w = winsorise(x)
    assert w["nwin"] == 1 and w["n_winhi"] == 1 and w["n_winlo"] == 0
    assert list(w["x"][-2:]) == [30.0, 30.0]
    assert list(w["treated"][-2:]) == ["", "winhi"]
    w = winsorise(x, kurt_thresh=-10, skew_thresh=0.1, winmax=2)  # forced to the limit: ties count
    assert w["nwin"] == 2 and list(w["x"][-3:]) == [10.0, 10.0, 10.0]
    assert np.array_equal(x[-2:], [30, 100])  # input untouched


def test_negative_skew_winsorises_low_end():
    x = -np.r_[np.arange(1.0, 11.0), 30, 100]
    w = winsorise(x)
    assert w["n_winlo"] == 1 and w["x"].min() == -30


def test_log_applied_to_original_when_winsorisation_is_not_enough(asem):
    screened, _, _ = asem
    v = screened[["ForPort"]]
    out, log = treat(v, winmax=1)
    orig = v["ForPort"].to_numpy()
    expect = np.log(orig - orig.min() + 0.01 * (orig.max() - orig.min()))
    np.testing.assert_allclose(out["ForPort"].to_numpy(), expect, rtol=1e-14)
    assert log.loc[0, "f2"] == "log_CT" and log.loc[0, "nwin"] == 1 and not log.loc[0, "pass1"]
    assert not np.isnan(log.loc[0, "skew2"])
    assert "check_SkewKurt2.Skew" in to_coinr_log(log).columns


def test_log_ct_plus_reflects_negative_skew():
    x = -np.r_[np.arange(1.0, 11.0), 30, 100][:, None]
    a = 0.01 * (x.max() - x.min())
    np.testing.assert_allclose(log_ct_plus(x), -np.log(x.max() + a - x))
    np.testing.assert_allclose(log_ct(-x), np.log(-x - (-x).min() + a))


def test_boxcox_lambda():
    x = np.array([[1.0], [2.0], [5.0]])
    np.testing.assert_allclose(boxcox(x, 0.5), (np.sqrt(x - 1 + 1) - 1) / 0.5)
    np.testing.assert_allclose(boxcox(x, 0), np.log(x))
    out, log = treat(np.r_[np.arange(1.0, 11.0), 300, 1000][:, None], f1=None, f2="boxcox",
                     f2_params={"lmbda": 0})
    assert log.loc[0, "f2"] == "boxcox"


def test_indiv_overrides(asem):
    screened, treated, _ = asem
    sub = screened[["Flights", "Bord", "Gas"]]
    out, log = treat(sub, indiv={"Flights": "none", "Gas": {"winmax": 1}})
    np.testing.assert_array_equal(out["Flights"], sub["Flights"])
    np.testing.assert_array_equal(out["Bord"], treated["Bord"])
    assert log.set_index("indicator").loc["Gas", "f2"] == "log_CT"
    with pytest.raises(SpecError):
        treat(sub, indiv={"Nope": "none"})
    with pytest.raises(SpecError):
        treat(sub, indiv={"Gas": {"winmx": 1}})


def test_force_win_treats_passing_indicator():
    x = np.arange(1.0, 21.0)[:, None]
    out, log = treat(x, force_win=True, winmax=2)
    assert log.loc[0, "nwin"] == 2
    assert np.nanmax(out) < 20


def test_leading_axes_match_slices(asem):
    screened, _, _ = asem
    a = screened[["Flights", "Bord", "LPI"]].to_numpy()
    stack = np.stack([a, a * 2.0])
    out, log = treat(stack)
    single, _ = treat(a)
    np.testing.assert_allclose(out[0], single)
    np.testing.assert_allclose(out[1], single * 2.0)
    assert len(log) == 6 and "lead" in log.columns


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(5, 30), st.integers(1, 3)),
              elements=st.floats(-1e6, 1e6, allow_nan=False)))
def test_winsorisation_stays_in_range_and_input_untouched(x):
    before = x.copy()
    out, log = treat(x, f2=None)
    np.testing.assert_array_equal(x, before)
    assert np.all(out <= x.max(axis=0) + 0) and np.all(out >= x.min(axis=0))
    # only extreme points move, each to a value present in the original column
    for j in range(x.shape[1]):
        moved = out[:, j] != x[:, j]
        assert np.all(np.isin(out[moved, j], x[:, j]))
