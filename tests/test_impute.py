"""Imputation: parity with COINr's ASEM example, panel methods, invariants."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from digimeter.errors import DataError, SpecError
from digimeter.stages.impute import (METHODS, guard_observed, impute, imputation_report, mean, mean_group,
                              median, median_group, panel, panel_frame)

DATA = Path(__file__).parent / "data" / "coinr_asem"


@pytest.fixture(scope="module")
def asem():
    den = pd.read_csv(DATA / "example_denominated.csv").set_index("uCode")
    imp = pd.read_csv(DATA / "example_imputed.csv").set_index("uCode")
    groups = pd.read_csv(DATA / "input_iData.csv").set_index("uCode").loc[den.index, "EurAsia_group"]
    return den, imp, groups


def test_group_mean_reproduces_coinr(asem):
    den, imp, groups = asem
    out, mask = impute(den, "mean_group", groups=groups)
    assert int(mask.to_numpy().sum()) == int(den.isna().sum().sum()) == 65
    np.testing.assert_allclose(out.to_numpy(), imp.to_numpy(), rtol=1e-14, atol=0)
    rep = imputation_report(out, mask, method="mean_group")
    assert len(rep) == 65 and set(rep.columns) == {"unit", "indicator", "value", "method"}
    r = rep.iloc[0]
    assert imp.loc[r["unit"], r["indicator"]] == pytest.approx(r["value"], rel=1e-14)


def test_group_mean_by_hand():
    x = np.array([[1.0, np.nan], [3.0, 4.0], [np.nan, 10.0], [20.0, np.nan], [np.nan, 2.0]])
    g = ["a", "a", "b", "b", None]
    out, mask = mean_group(x, g)
    np.testing.assert_array_equal(out, [[1, 4], [3, 4], [20, 10], [20, 10], [np.nan, 2]])
    assert mask.sum() == 3
    out, _ = median_group(np.array([[1.0], [2.0], [9.0], [np.nan]]), ["a"] * 4)
    assert out[3, 0] == 2.0


def test_mean_median_broadcast_over_leading_axes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 10, 3))
    x[x > 1] = np.nan
    out, mask = mean(x)
    for k in range(4):
        o, m = mean(x[k])
        np.testing.assert_array_equal(out[k], o)
        np.testing.assert_array_equal(mask[k], m)
    out, _ = median(x)
    assert out[0, :, 0][mask[0, :, 0]].tolist() == [np.nanmedian(x[0, :, 0])] * mask[0, :, 0].sum()


def test_all_nan_column_stays_nan():
    x = np.array([[np.nan, 1.0], [np.nan, 2.0]])
    out, mask = mean(x)
    assert np.isnan(out[:, 0]).all() and not mask[:, 0].any()


def test_registry_and_errors():
    assert {"mean", "median", "mean_group", "median_group"} <= set(METHODS)
    with pytest.raises(SpecError):
        impute(np.zeros((2, 2)), "nope")
    with pytest.raises(SpecError):
        mean_group(np.zeros((3, 2)), ["a", "b"])


def test_guard_raises_when_observed_value_changes():
    x = np.array([[1.0, np.nan], [2.0, 3.0]])
    bad = np.array([[1.0, 5.0], [2.5, 3.0]])
    with pytest.raises(DataError, match="changed 1 observed"):
        guard_observed(x, bad, "bad")


SERIES = np.array([np.nan, 1.0, np.nan, np.nan, 4.0, np.nan, np.nan])  # one unit, one indicator


def _p(v):
    return v[:, None, None]


def test_panel_latest_locf_and_max_time():
    out, mask = panel(_p(SERIES), "latest")
    np.testing.assert_array_equal(out[:, 0, 0], [np.nan, 1, 1, 1, 4, 4, 4])
    out, _ = panel(_p(SERIES), "latest", max_time=1)
    np.testing.assert_array_equal(out[:, 0, 0], [np.nan, 1, 1, np.nan, 4, 4, np.nan])


def test_panel_constant_is_approx_constant_rule2():
    out, _ = panel(_p(SERIES), "constant")
    np.testing.assert_array_equal(out[:, 0, 0], [1, 1, 1, 1, 4, 4, 4])


def test_panel_linear_and_linear_constant():
    out, _ = panel(_p(SERIES), "linear")
    np.testing.assert_allclose(out[:, 0, 0], [np.nan, 1, 2, 3, 4, np.nan, np.nan])
    out, _ = panel(_p(SERIES), "linear_constant")
    t = np.arange(7.0)
    ok = ~np.isnan(SERIES)
    np.testing.assert_allclose(out[:, 0, 0], np.interp(t, t[ok], SERIES[ok]))  # = approx(rule=2)
    out, _ = panel(_p(SERIES), "linear", max_gap=1)
    assert np.isnan(out[2:4, 0, 0]).all()
    # uneven times are the abscissa
    out, _ = panel(_p(np.array([0.0, np.nan, 10.0])), "linear", times=[2000, 2001, 2010])
    assert out[1, 0, 0] == pytest.approx(1.0)


def test_panel_single_observation_series():
    # COINr issue #63: a series with one observation must not fail
    v = np.array([np.nan, 5.0, np.nan])
    for m in ("latest", "constant", "linear", "linear_constant"):
        out, _ = panel(_p(v), m)
        assert out[1, 0, 0] == 5.0


def test_panel_frame_long():
    df = pd.DataFrame({"unit": ["A", "A", "B", "B", "B"],
                       "indicator": ["i"] * 5,
                       "year": [2019, 2021, 2019, 2020, 2021],
                       "value": [1.0, 3.0, 5.0, 6.0, 7.0]})
    out = panel_frame(df, "linear")
    row = out[(out.unit == "A") & (out.year == 2020)]
    assert len(row) == 1 and row["value"].iloc[0] == 2.0 and row["imputed"].iloc[0]
    assert out["imputed"].sum() == 1
    with pytest.raises(SpecError):
        panel_frame(df.rename(columns={"year": "t"}))


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 6), st.integers(1, 5), st.integers(1, 3)),
              elements=st.one_of(st.just(np.nan), st.floats(-1e6, 1e6))),
       st.sampled_from(["latest", "constant", "linear", "linear_constant"]),
       st.sampled_from(["mean", "median", "mean_group"]))
def test_imputation_never_changes_observed_values(x, pmethod, method):
    before = x.copy()
    obs = ~np.isnan(x)
    out, mask = panel(x, pmethod)
    np.testing.assert_array_equal(out[obs], x[obs])
    assert not (mask & obs).any()
    opts = {"groups": ["a", "b"] * x.shape[-2]} if method == "mean_group" else {}
    if opts:
        opts["groups"] = opts["groups"][: x.shape[-2]]
    out, mask = impute(x, method, **opts)
    np.testing.assert_array_equal(out[obs], x[obs])
    np.testing.assert_array_equal(x, before)
