"""Tests of the aggregation kernels: COINr parity, hand cases, properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from digimeter.stages.aggregate import (
    METHODS,
    aggregate,
    arithmetic,
    available_share,
    copeland,
    generalised,
    geometric,
    harmonic,
    mazziotta_pareto,
    median,
)
from digimeter.errors import SpecError
from digimeter.stages.normalise import normalise

DATA = Path(__file__).parent / "data" / "coinr_asem"


# ------------------------------------------------------------------ COINr parity

def _meta():
    meta = pd.read_csv(DATA / "input_iMeta.csv")
    return meta[meta["Level"].notna()].copy()


def _walk_tree(data: pd.DataFrame, meta: pd.DataFrame, method="arithmetic", **opts) -> pd.DataFrame:
    """Aggregate level by level (2 .. top) with weights from iMeta, as COINr's Aggregate.coin."""
    out = data.copy()
    for lev in range(2, int(meta["Level"].max()) + 1):
        children = meta[meta["Level"] == lev - 1]
        for parent, grp in children.groupby("Parent", sort=False):
            x = out[list(grp["iCode"])].to_numpy(float)
            out[parent] = aggregate(x, grp["Weight"].to_numpy(float), method, **opts)
    return out


def test_arithmetic_tree_reproduces_coinr_asem_aggregated():
    meta = _meta()
    norm = pd.read_csv(DATA / "example_normalised.csv").set_index("uCode")
    expected = pd.read_csv(DATA / "example_aggregated.csv").set_index("uCode")
    got = _walk_tree(norm, meta)[list(expected.columns)].loc[expected.index]
    np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float), rtol=0, atol=1e-9)


def test_minimal_pipeline_with_missing_data_reproduces_coinr():
    """Raw data (with gaps): flip directions, min-max [0, 100], arithmetic means re-weighted over
    the available children: COINr's minimal_aggregated.csv."""
    meta = _meta()
    ind = meta[meta["Level"] == 1]
    codes = list(ind["iCode"])
    raw = pd.read_csv(DATA / "example_raw.csv").set_index("uCode")[codes]
    assert raw.isna().to_numpy().any()  # the point of this case: missing values
    y, _ = normalise(raw.to_numpy(float) * ind["Direction"].to_numpy(float), "minmax")
    norm = pd.DataFrame(y, index=raw.index, columns=codes)
    expected = pd.read_csv(DATA / "minimal_aggregated.csv").set_index("uCode")
    got = _walk_tree(norm, meta)[list(expected.columns)].loc[expected.index]
    np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float), rtol=0, atol=1e-9)


def test_geometric_on_minmax_1_100_asem_runs_and_guard_equals_coinr_recipe():
    """COINr's recipe for a geometric mean: normalise to [1, 100]; zero_guard='rescale' on
    [0, 100] data gives the same pillar scores."""
    meta = _meta()
    ind = meta[meta["Level"] == 1]
    codes = list(ind["iCode"])
    treated = pd.read_csv(DATA / "example_treated.csv").set_index("uCode")[codes]
    x = treated.to_numpy(float) * ind["Direction"].to_numpy(float)
    y100, _ = normalise(x, "minmax", range=(0, 100))
    y1, _ = normalise(x, "minmax", range=(1, 100))
    cols = [codes.index(c) for c in ind[ind["Parent"] == "Physical"]["iCode"]]
    with pytest.raises(SpecError, match="zero or negative"):
        geometric(y100[:, cols])
    np.testing.assert_allclose(geometric(y100[:, cols], zero_guard="rescale"), geometric(y1[:, cols]),
                               rtol=1e-12)


# ------------------------------------------------------------------ hand cases

def test_arithmetic_reweights_over_available_children():
    x = np.array([[1.0, 2.0, 4.0], [np.nan, 3.0, 6.0], [np.nan, np.nan, np.nan]])
    w = [1.0, 2.0, 1.0]
    np.testing.assert_allclose(arithmetic(x, w), [(1 + 4 + 4) / 4, (6 + 6) / 3, np.nan])
    np.testing.assert_allclose(available_share(x, w), [1.0, 0.75, 0.0])
    np.testing.assert_allclose(aggregate(x, w, "arithmetic", min_share=0.8), [2.25, np.nan, np.nan])
    # zero weight = absent child
    np.testing.assert_allclose(arithmetic(x, [0.0, 1.0, 1.0]), [3.0, 4.5, np.nan])


def test_geometric_harmonic_hand():
    x = np.array([[1.0, 4.0], [2.0, 8.0]])
    np.testing.assert_allclose(geometric(x), [2.0, 4.0])
    np.testing.assert_allclose(geometric(x, [3, 1]), [4 ** 0.25, 2 ** 0.75 * 8 ** 0.25])
    np.testing.assert_allclose(harmonic(x), [1.6, 3.2])
    with pytest.raises(SpecError):
        harmonic(np.array([[0.0, 1.0]]))
    with pytest.raises(SpecError):
        generalised(np.array([[-1.0, 1.0]]), p=2)


def test_median_plain_and_weighted():
    x = np.array([[1.0, 2.0, 10.0, 20.0], [1.0, 2.0, 3.0, np.nan]])
    np.testing.assert_allclose(median(x), [6.0, 2.0])
    np.testing.assert_allclose(median(x, [1, 1, 1, 1], weighted=True), [6.0, 2.0])
    np.testing.assert_allclose(median(x, [1, 1, 1, 5], weighted=True), [20.0, 2.0])
    np.testing.assert_allclose(median(x, [5, 1, 1, 1], weighted=True), [1.0, 1.0])


def test_min_max():
    x = np.array([[3.0, np.nan, 1.0], [np.nan] * 3])
    np.testing.assert_allclose(aggregate(x, None, "min"), [1.0, np.nan])
    np.testing.assert_allclose(aggregate(x, None, "max"), [3.0, np.nan])


def test_copeland_hand():
    # A beats B on 2 of 3 children, ties C on one, ... (weights 1, 1, 2, rescaled to 1/4, 1/4, 1/2)
    x = np.array([[3.0, 1.0, 2.0],   # A
                  [2.0, 2.0, 1.0],   # B
                  [3.0, 0.0, 5.0]])  # C
    w = [1.0, 1.0, 2.0]
    # e_AB = 1/4 + 0 + 1/2 = 3/4 ; e_AC = 1/8 + 1/4 + 0 = 3/8
    # e_BA = 1/4 ; e_BC = 0 + 1/4 + 0 = 1/4 ; e_CA = 5/8 ; e_CB = 3/4
    np.testing.assert_allclose(copeland(x, w, variant="rowsum"), [3 / 4 + 3 / 8, 1 / 4 + 1 / 4, 5 / 8 + 3 / 4])
    np.testing.assert_allclose(copeland(x, w), copeland(x, w, variant="majority"))
    np.testing.assert_allclose(copeland(x, w, variant="coinr"), copeland(x, w, variant="majority"))
    # classic Copeland: wins minus losses. A: beats B, loses to C -> 0; B: -2; C: +2
    np.testing.assert_allclose(copeland(x, w, variant="majority"), [0.0, -2.0, 2.0])
    # equal weights, row sums of the outranking matrix (COINr6):
    # e_AB = 2/3, e_AC = 1/6 + 1/3 = 1/2, e_BC = 1/3
    np.testing.assert_allclose(copeland(x, variant="rowsum"), [2 / 3 + 1 / 2, 1 / 3 + 1 / 3, 1 / 2 + 2 / 3])


def test_copeland_missing_data_and_blocks():
    x = np.array([[1.0, np.nan], [2.0, 5.0], [np.nan, np.nan], [np.nan, 1.0]])
    # A-B: child 1 only, A < B -> 0 ; A-D: nothing in common -> tie 1/2 ; B-D: child 2 -> B wins
    np.testing.assert_allclose(copeland(x, variant="rowsum"), [0.5, 2.0, np.nan, 0.5])
    rng = np.random.default_rng(1)
    big = rng.normal(size=(3, 17, 4))
    big[big > 1.5] = np.nan
    np.testing.assert_allclose(copeland(big, block=3), copeland(big))
    np.testing.assert_allclose(copeland(big, block=3, variant="rowsum"), copeland(big, variant="rowsum"))


def test_mazziotta_pareto_hand_and_compind():
    x = np.array([[100.0, 110.0, 90.0], [100.0, 100.0, 100.0]])
    m, s2 = 100.0, 200.0 / 3  # population variance across children
    np.testing.assert_allclose(mazziotta_pareto(x), [m - s2 / m, 100.0])
    np.testing.assert_allclose(mazziotta_pareto(x, penalty="positive"), [m + s2 / m, 100.0])
    np.testing.assert_allclose(mazziotta_pareto(x, ddof=1), [m - 100.0 / m, 100.0])
    # Compind's ci_mpi: z = 100 + 10 * (x - mean) / sd (sample sd), M_z * (1 - cv^2), sample sd by row
    rng = np.random.default_rng(7)
    raw = rng.lognormal(size=(12, 5))
    z, _ = normalise(raw, "zscore", mean=100, sd=10)
    zz = (raw - raw.mean(0)) / raw.std(0, ddof=1) * 10 + 100
    mz, sz = zz.mean(1), zz.std(1, ddof=1)
    np.testing.assert_allclose(mazziotta_pareto(z, ddof=1), mz * (1 - (sz / mz) ** 2), rtol=1e-12)


def test_weight_leading_axes_broadcast():
    rng = np.random.default_rng(3)
    x = rng.uniform(1, 100, size=(4, 6, 3))
    w = rng.uniform(0.1, 1, size=(4, 3))   # one weight set per sample
    got = arithmetic(x, w)
    for s in range(4):
        np.testing.assert_allclose(got[s], arithmetic(x[s], w[s]))
    np.testing.assert_allclose(arithmetic(x[0], w), np.stack([arithmetic(x[0], wi) for wi in w]))


def test_errors_name_method_and_choices():
    x = np.ones((2, 2))
    with pytest.raises(SpecError) as e:
        aggregate(x, None, "mean")
    assert "mean" in str(e.value) and "arithmetic" in str(e.value) and "copeland" in str(e.value)
    with pytest.raises(SpecError, match="valid options"):
        aggregate(x, None, "generalised", q=2)
    with pytest.raises(SpecError):
        aggregate(x, [1.0, -1.0], "arithmetic")
    with pytest.raises(SpecError):
        aggregate(x, [1.0, 1.0, 1.0], "arithmetic")
    with pytest.raises(SpecError):
        aggregate(x, None, "arithmetic", min_share=1.5)
    with pytest.raises(SpecError):
        mazziotta_pareto(x, penalty="NEG")


def test_every_method_is_documented_with_a_reference():
    assert set(METHODS) == {"arithmetic", "geometric", "harmonic", "generalised", "median", "copeland",
                            "mazziotta_pareto", "min", "max"}
    for name, f in METHODS.items():
        assert "References" in (f.__doc__ or "") and "https://" in f.__doc__, name


# ------------------------------------------------------------------ properties

pos = st.floats(0.5, 1000.0, allow_nan=False)
pos_or_nan = st.one_of(pos, st.just(np.nan))
weights_el = st.floats(0.01, 10.0)


@st.composite
def case(draw, elements=pos_or_nan, lead=()):
    n = draw(st.integers(1, 7))
    k = draw(st.integers(1, 5))
    x = draw(hnp.arrays(float, lead + (n, k), elements=elements))
    w = draw(hnp.arrays(float, (k,), elements=weights_el))
    return x, w


@settings(max_examples=60, deadline=None)
@given(case(), st.data())
def test_arithmetic_monotone(xw, data):
    x, w = xw
    i = data.draw(st.integers(0, x.shape[0] - 1))
    j = data.draw(st.integers(0, x.shape[1] - 1))
    assume(not np.isnan(x[i, j]))
    bump = data.draw(st.floats(0.0, 1000.0))
    x2 = x.copy()
    x2[i, j] += bump
    before, after = arithmetic(x, w), arithmetic(x2, w)
    assert after[i] >= before[i] - 1e-9 * max(1.0, abs(before[i]))
    others = np.arange(x.shape[0]) != i
    np.testing.assert_array_equal(after[others], before[others])


@settings(max_examples=50, deadline=None)
@given(case(), st.randoms(use_true_random=False), st.sampled_from(sorted(METHODS)))
def test_permuting_units_permutes_outputs(xw, rnd, name):
    x, w = xw
    perm = list(range(x.shape[0]))
    rnd.shuffle(perm)
    np.testing.assert_allclose(METHODS[name](x[perm], w), METHODS[name](x, w)[perm], rtol=1e-9, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(case())
def test_equal_weights_give_plain_mean(xw):
    x, _ = xw
    k = x.shape[1]
    expected = np.array([np.mean(r[~np.isnan(r)]) if (~np.isnan(r)).any() else np.nan for r in x])
    np.testing.assert_allclose(arithmetic(x, np.full(k, 3.7)), expected, rtol=1e-12)
    np.testing.assert_allclose(arithmetic(x, None), expected, rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(case())
def test_generalised_mean_special_cases(xw):
    x, w = xw
    np.testing.assert_allclose(generalised(x, w, p=1), arithmetic(x, w), rtol=1e-12)
    np.testing.assert_allclose(generalised(x, w, p=0), geometric(x, w), rtol=1e-12)
    np.testing.assert_allclose(generalised(x, w, p=-1), harmonic(x, w), rtol=1e-10)
    # p=2 path of the general formula, power-mean inequality
    g, a = geometric(x, w), generalised(x, w, p=2)
    ok = ~np.isnan(g)
    assert np.all(harmonic(x, w)[ok] <= g[ok] * (1 + 1e-9))
    assert np.all(g[ok] <= arithmetic(x, w)[ok] * (1 + 1e-9))
    assert np.all(arithmetic(x, w)[ok] <= a[ok] * (1 + 1e-9))


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 3).flatmap(lambda s: case(lead=(s,))), st.sampled_from(sorted(METHODS)))
def test_stacked_equals_slices_and_input_not_mutated(xw, name):
    x, w = xw
    xb, wb = x.copy(), w.copy()
    y = METHODS[name](x, w)
    share = available_share(x, w)
    np.testing.assert_array_equal(x, xb)
    np.testing.assert_array_equal(w, wb)
    assert y.shape == x.shape[:-1] and share.shape == x.shape[:-1]
    for i in range(x.shape[0]):
        np.testing.assert_allclose(y[i], METHODS[name](x[i], w), rtol=1e-12, atol=1e-12)
