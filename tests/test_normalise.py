"""Tests of the normalisation kernels: COINr parity, hand cases, properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from digimeter.errors import SpecError
from digimeter.stages.normalise import METHODS, Normaliser, normalise

DATA = Path(__file__).parent / "data" / "coinr_asem"

ALL_OPTS = {
    "goalposts": {"lo": 0.0, "hi": 10.0},
    "dist2target": {"target": 50.0},
    "dist2ref": {"ref_index": 0},
}


def _opts(name):
    return ALL_OPTS.get(name, {})


# ------------------------------------------------------------------ COINr parity

def test_minmax_reproduces_coinr_asem_normalised():
    """COINr's default: min-max [0, 100] after multiplying direction -1 indicators by -1."""
    meta = pd.read_csv(DATA / "input_iMeta.csv")
    ind = meta[meta["Type"] == "Indicator"]
    codes = list(ind["iCode"])
    treated = pd.read_csv(DATA / "example_treated.csv").set_index("uCode")
    expected = pd.read_csv(DATA / "example_normalised.csv").set_index("uCode").loc[treated.index, codes]
    x = treated[codes].to_numpy(float) * ind["Direction"].to_numpy(float)
    y, params = normalise(x, "minmax", range=(0, 100))
    assert params["min"].shape == (1, len(codes))
    np.testing.assert_allclose(y, expected.to_numpy(float), rtol=0, atol=1e-9)


def test_minmax_on_raw_asem_keeps_missing_values():
    meta = pd.read_csv(DATA / "input_iMeta.csv")
    ind = meta[meta["Type"] == "Indicator"]
    codes = list(ind["iCode"])
    raw = pd.read_csv(DATA / "example_raw.csv").set_index("uCode")[codes]
    x = raw.to_numpy(float) * ind["Direction"].to_numpy(float)
    y, _ = normalise(x, "minmax")
    assert np.array_equal(np.isnan(y), np.isnan(x))
    assert np.nanmin(y) == 0 and np.nanmax(y) == 100


# ------------------------------------------------------------------ hand cases

X = np.array([[1.0, 10.0], [2.0, 30.0], [3.0, np.nan], [3.0, 20.0]])


def test_minmax_hand_and_range():
    y, p = normalise(X, "minmax", range=(1, 3))
    np.testing.assert_allclose(y[:, 0], [1, 2, 3, 3])
    np.testing.assert_allclose(y[:, 1], [1, 3, np.nan, 2])
    np.testing.assert_array_equal(p["min"], [[1, 10]])
    np.testing.assert_array_equal(p["max"], [[3, 30]])


def test_minmax_zero_range_gives_nan_like_coinr():
    y, _ = normalise(np.array([[5.0, 1.0], [5.0, 2.0]]), "minmax")
    assert np.isnan(y[:, 0]).all()
    np.testing.assert_allclose(y[:, 1], [0, 100])


def test_all_nan_column_stays_nan_without_warning():
    x = np.array([[np.nan, 1.0], [np.nan, 2.0]])
    with np.errstate(all="raise"):
        for name in METHODS:
            y, _ = normalise(x, name, **_opts(name))
            assert np.isnan(y[:, 0]).all(), name


def test_zscore_matches_r_sd_and_options():
    x = np.array([[1.0], [2.0], [4.0], [np.nan]])
    y, p = normalise(x, "zscore", mean=10, sd=2)
    m, s = 7 / 3, np.std([1, 2, 4], ddof=1)
    np.testing.assert_allclose(y[:3, 0], (np.array([1, 2, 4]) - m) / s * 2 + 10)
    assert np.isnan(y[3, 0])
    np.testing.assert_allclose(p["sd"], [[s]])
    y0, _ = normalise(x, "zscore", ddof=0)
    np.testing.assert_allclose(y0[:3, 0], (np.array([1, 2, 4]) - m) / np.std([1, 2, 4]))


def test_goalposts_directions_truncation_and_range():
    x = np.array([[-5.0, 5.0], [5.0, 5.0], [15.0, 15.0], [np.nan, 0.0]])
    y, p = normalise(x, "goalposts", lo=[0, 0], hi=[10, 10], direction=[1, -1])
    np.testing.assert_allclose(y[:, 0], [0, 50, 100, np.nan])
    np.testing.assert_allclose(y[:, 1], [50, 50, 0, 100])  # (hi - x) / (hi - lo)
    assert set(p) == {"lo", "hi", "direction"} and p["lo"].shape == (1, 2)
    y2, _ = normalise(x, "goalposts", lo=0, hi=10, truncate=False, range=(0, 1))
    np.testing.assert_allclose(y2[:, 0], [-0.5, 0.5, 1.5, np.nan])


def test_goalposts_reject_bad_posts():
    with pytest.raises(SpecError, match="lo < hi"):
        normalise(X, "goalposts", lo=[0, 5], hi=[1, 5])
    with pytest.raises(SpecError, match="direction"):
        normalise(X, "goalposts", lo=0, hi=1, direction=2)
    with pytest.raises(SpecError, match="required"):
        normalise(X, "goalposts")


def test_rank_and_percentile_like_coinr():
    x = np.array([[3.0], [1.0], [3.0], [np.nan], [2.0]])
    r, _ = normalise(x, "rank")  # COINr n_rank: ties.method = "min", na.last = "keep"
    np.testing.assert_array_equal(r[:, 0], [3, 1, 3, np.nan, 2])
    ra, _ = normalise(x, "rank", ties="average")  # R's rank default
    np.testing.assert_array_equal(ra[:, 0], [3.5, 1, 3.5, np.nan, 2])
    pr, p = normalise(x, "percentile", scale=1)  # COINr n_prank: (rank - 1) / (n - 1)
    np.testing.assert_allclose(pr[:, 0], [2 / 3, 0, 2 / 3, np.nan, 1 / 3])
    np.testing.assert_array_equal(p["n"], [[4]])
    pc, _ = normalise(x, "percentile")
    np.testing.assert_allclose(pc, pr * 100)


def test_dist2max_fracmax_dist2target_dist2ref():
    x = np.array([[2.0], [4.0], [10.0], [np.nan]])
    d, _ = normalise(x, "dist2max")
    np.testing.assert_allclose(d[:, 0], [0, 0.25, 1, np.nan])
    d2, _ = normalise(x, "dist2frontier", range=(0, 100))
    np.testing.assert_allclose(d2, d * 100)
    f, _ = normalise(x, "fracmax", scale=100)
    np.testing.assert_allclose(f[:, 0], [20, 40, 100, np.nan])
    t, _ = normalise(x, "dist2target", target=[6.0])
    np.testing.assert_allclose(t[:, 0], [0, 0.5, 2, np.nan])  # 1 - (targ - x) / (targ - min)
    tc, _ = normalise(x, "dist2target", target=6.0, cap_max=True)
    np.testing.assert_allclose(tc[:, 0], [0, 0.5, 1, np.nan])
    r, p = normalise(x, "dist2ref", ref_index=1)  # COINr n_dist2ref, iref = 2
    np.testing.assert_allclose(r[:, 0], [0, 1, 4, np.nan])
    np.testing.assert_array_equal(p["ref"], [[4.0]])
    rr, _ = normalise(x, "dist2ref", ref_index=1, mode="ratio", cap_max=True)
    np.testing.assert_allclose(rr[:, 0], [0.5, 1, 1, np.nan])
    rd, _ = normalise(x, "dist2ref", ref_index=1, mode="difference")
    np.testing.assert_allclose(rd[:, 0], [-2, 0, 6, np.nan])


def test_none_is_identity_copy():
    y, p = normalise(X, "none")
    assert p == {} and y is not X
    np.testing.assert_array_equal(y, X)


def test_fit_apply_separation_reapplies_fitted_params():
    train = np.array([[0.0], [10.0]])
    m = METHODS["minmax"]
    params = m.fit(train)
    np.testing.assert_allclose(m.apply(np.array([[5.0], [20.0]]), params), [[50.0], [200.0]])


def test_unknown_method_and_options_name_the_choices():
    with pytest.raises(SpecError) as e:
        normalise(X, "minimax")
    assert "minimax" in str(e.value) and "minmax" in str(e.value) and "zscore" in str(e.value)
    with pytest.raises(SpecError) as e:
        normalise(X, "minmax", lu=(0, 1))
    assert "'minmax'" in str(e.value) and "range" in str(e.value)
    with pytest.raises(SpecError):
        normalise(X, "minmax", range=(0,))
    with pytest.raises(SpecError):
        normalise(X, "dist2ref", ref_index=10)
    with pytest.raises(SpecError):
        normalise(X, "dist2ref", ref_index=0, mode="pct")
    with pytest.raises(SpecError):
        normalise(X, "zscore", sd=0)


def test_every_method_is_documented_with_a_reference():
    names = {"none", "minmax", "zscore", "goalposts", "rank", "percentile", "dist2frontier",
             "dist2max", "fracmax", "dist2target", "dist2ref"}
    assert set(METHODS) == names
    for name, m in METHODS.items():
        assert isinstance(m, Normaliser)
        doc = type(m).__doc__ or ""
        assert "References" in doc and ("doi.org" in doc or "https://" in doc), name


# ------------------------------------------------------------------ properties

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
maybe_nan = st.one_of(finite, st.just(np.nan))


def matrices(min_units=2, max_units=8, max_ind=4, elements=maybe_nan, lead=()):
    return st.tuples(st.integers(min_units, max_units), st.integers(1, max_ind)).flatmap(
        lambda s: hnp.arrays(float, lead + s, elements=elements))


@settings(max_examples=60, deadline=None)
@given(matrices(), st.tuples(st.floats(-100, 100), st.floats(0.1, 100)))
def test_minmax_output_within_range(x, lo_span):
    lo, span = lo_span
    hi = lo + span
    y, _ = normalise(x, "minmax", range=(lo, hi))
    ok = ~np.isnan(y)
    tol = 1e-9 * max(1.0, abs(lo), abs(hi))
    assert np.all(y[ok] >= lo - tol) and np.all(y[ok] <= hi + tol)
    assert np.all(np.isnan(y[np.isnan(x)]))


@settings(max_examples=40, deadline=None)
@given(matrices(), st.randoms(use_true_random=False),
       st.sampled_from(["minmax", "zscore", "rank", "percentile", "dist2max", "fracmax", "goalposts",
                        "dist2target", "none"]))
def test_permuting_units_permutes_outputs(x, rnd, name):
    perm = list(range(x.shape[0]))
    rnd.shuffle(perm)
    y, _ = normalise(x, name, **_opts(name))
    yp, _ = normalise(x[perm], name, **_opts(name))
    np.testing.assert_allclose(yp, y[perm], rtol=1e-9, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 3).flatmap(lambda s: matrices(lead=(s,))),
       st.sampled_from(sorted(METHODS)))
def test_stacked_equals_slices_and_input_not_mutated(x, name):
    before = x.copy()
    y, params = normalise(x, name, **_opts(name))
    np.testing.assert_array_equal(x, before)
    for v in params.values():
        assert v.shape == x.shape[:-2] + (1, x.shape[-1])
    for i in range(x.shape[0]):
        yi, _ = normalise(x[i], name, **_opts(name))
        np.testing.assert_allclose(y[i], yi, rtol=1e-12, atol=1e-12)
