"""Weights: effective weights against COINr's ASEM results, PCA, optimisation."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digimeter.errors import SpecError
from digimeter.stages.weight import (custom, effective_weights, equal, optimise_weights, pca_weights,
                              rescale_within_groups)

DATA = Path(__file__).parent / "data" / "coinr_asem"


def asem_meta() -> pd.DataFrame:
    """COINr's iMeta as the spec's meta table (CONTRACTS.md)."""
    im = pd.read_csv(DATA / "input_iMeta.csv")
    im = im[im["Type"].isin(["Indicator", "Aggregate"])]
    top = int(im["Level"].max())
    return pd.DataFrame({
        "code": im["iCode"], "name": im["iName"],
        "parent": im["Parent"].astype(object).where(im["Parent"].notna(), None),
        "level": im["Level"].astype(int), "depth": top - im["Level"].astype(int),
        "weight": im["Weight"].astype(float), "direction": im["Direction"],
        "kind": np.where(im["Type"] == "Indicator", "indicator", "aggregate"),
        "indicator": np.where(im["Type"] == "Indicator", im["iCode"], None)}).reset_index(drop=True)


def arith_tree(meta: pd.DataFrame, ind: pd.DataFrame) -> pd.DataFrame:
    """A tiny test aggregator (weighted arithmetic means up the tree, NaN-skipping)."""
    scores = ind.copy()
    for lev in range(2, int(meta["level"].max()) + 1):
        for code in meta.loc[meta["level"] == lev, "code"]:
            kids = meta[meta["parent"] == code]
            v = scores[list(kids["code"])].to_numpy()
            w = np.broadcast_to(kids["weight"].to_numpy(float), v.shape)
            w = np.where(np.isnan(v), 0.0, w)
            scores[code] = np.nansum(v * w, axis=1) / w.sum(axis=1)
    return scores


@pytest.fixture(scope="module")
def asem():
    meta = asem_meta()
    norm = pd.read_csv(DATA / "example_normalised.csv").set_index("uCode")
    agg = pd.read_csv(DATA / "example_aggregated.csv").set_index("uCode")
    return meta, norm, agg


def test_effective_weights_reproduce_coinr_index(asem):
    meta, norm, agg = asem
    eff = effective_weights(meta)
    ind = meta.loc[meta["level"] == 1, "code"]
    assert eff[ind].sum() == pytest.approx(1.0)
    for lev in (2, 3):
        assert eff[meta.loc[meta["level"] == lev, "code"]].sum() == pytest.approx(1.0)
    # ASEM: 8 pillars under 2 sub-indices; Physical has 8 indicators -> 1/2 * 1/5 * 1/8
    assert eff["LPI"] == pytest.approx(1 / 2 * 1 / 5 * 1 / 8)
    assert not norm.isna().any().any()
    index = norm[list(ind)].to_numpy() @ eff[ind].to_numpy()
    np.testing.assert_allclose(index, agg["Index"].to_numpy(), rtol=1e-13)


def test_test_aggregator_matches_coinr(asem):
    meta, norm, agg = asem
    mine = arith_tree(meta, norm)
    np.testing.assert_allclose(mine[agg.columns].to_numpy(), agg.to_numpy(), rtol=1e-13)


def test_equal_custom_rescale(asem):
    meta, _, _ = asem
    assert (equal(meta) == 1).all()
    m2 = custom(meta, {"Conn": 3.0})
    r = rescale_within_groups(m2)
    assert r["Conn"] == pytest.approx(0.75) and r["Sust"] == pytest.approx(0.25)
    assert r["Index"] == 1.0
    assert effective_weights(m2)["LPI"] == pytest.approx(0.75 / 5 / 8)
    with pytest.raises(SpecError):
        custom(meta, {"Nope": 1})
    with pytest.raises(SpecError):
        custom(meta, {"LPI": -1})
    with pytest.raises(SpecError):
        custom(meta, {"Conn": 0, "Sust": 0})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4),
       st.lists(st.floats(0.01, 10), min_size=20, max_size=20))
def test_effective_weights_sum_to_one(sizes, ws):
    rows = [{"code": "root", "parent": None, "level": 3, "weight": 1.0}]
    k = 0
    for g, n in enumerate(sizes):
        rows.append({"code": f"p{g}", "parent": "root", "level": 2, "weight": ws[k % 20]})
        k += 1
        for i in range(n):
            rows.append({"code": f"i{g}_{i}", "parent": f"p{g}", "level": 1, "weight": ws[k % 20]})
            k += 1
    meta = pd.DataFrame(rows)
    eff = effective_weights(meta)
    for lev in (1, 2):
        assert eff[meta.loc[meta.level == lev, "code"]].sum() == pytest.approx(1.0)


def test_pca_weights_match_eigenvectors(asem):
    meta, norm, _ = asem
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        w = pca_weights(norm, meta, level=1)
    assert set(w.index) == set(meta.loc[meta.level == 1, "code"])
    kids = list(meta.loc[meta["parent"] == "Environ", "code"])
    corr = np.corrcoef(norm[kids].to_numpy(), rowvar=False)
    vals, vecs = np.linalg.eigh(corr)
    v = vecs[:, -1] * np.sign(vecs[:, -1].sum())
    np.testing.assert_allclose(w[kids].to_numpy(), v, atol=1e-10)
    g = w.attrs["groups"].set_index("group")
    assert g.loc["Environ", "var_explained_pc1"] == pytest.approx(vals[-1] / vals.sum())
    assert any("mixed signs" in str(r.message) for r in rec)  # ASEM has negatively related pairs


def test_pca_listwise_deletion():
    rng = np.random.default_rng(3)
    base = rng.normal(size=50)
    x = pd.DataFrame({"a": base + rng.normal(size=50) * 0.1, "b": base, "c": -base * 0.5 + 1})
    x.iloc[0, 0] = np.nan
    meta = pd.DataFrame({"code": ["r", "a", "b", "c"], "parent": [None, "r", "r", "r"],
                         "level": [2, 1, 1, 1], "weight": 1.0})
    with pytest.warns(UserWarning, match="mixed signs"):
        w = pca_weights(x, meta, 1)
    assert w.attrs["groups"]["n_units"].iloc[0] == 49
    assert np.linalg.norm(w.to_numpy()) == pytest.approx(1.0)


def test_optimise_balance_and_infomax(asem):
    meta, norm, _ = asem
    pillars = list(meta.loc[meta.level == 2, "code"])
    agg = arith_tree(meta, norm)
    children = agg[pillars].to_numpy()
    parent = meta.set_index("code").loc[pillars, "parent"].to_numpy()
    conn = parent == "Conn"

    def score_fn(w):  # Index = mean of the two sub-indices, each a weighted mean of its pillars
        sub = [children[:, g] @ w[g] / w[g].sum() for g in (conn, ~conn)]
        return 0.5 * sub[0] + 0.5 * sub[1]

    np.testing.assert_allclose(score_fn(np.ones(8)), agg["Index"].to_numpy(), rtol=1e-13)

    nominal = np.array([np.corrcoef(children[:, j], agg["Index"])[0, 1] for j in range(8)])
    t = np.ones(8) / 8
    res = optimise_weights(children, score_fn, method="balance", target="equal", maxiter=300)
    assert res.weights.sum() == pytest.approx(1.0) and (res.weights >= 0).all()
    before = np.mean((t - nominal / nominal.sum()) ** 2)
    after = np.mean((t - res.correlations / res.correlations.sum()) ** 2)
    assert after < before
    assert res.objective == pytest.approx(np.log(after))
    info = optimise_weights(children, score_fn, method="infomax", maxiter=200)
    assert info.correlations.sum() >= nominal.sum() - 1e-9
    with pytest.raises(SpecError):
        optimise_weights(children, score_fn, method="balance")


def test_one_name_per_weight_method_with_aliases():
    """The kernel's METHODS are the spec's weights.method names; 'optimise' is an alias of 'optimised'."""
    from digimeter.spec import WEIGHT_METHODS, load_spec
    from digimeter.stages import weight as W

    assert set(W.METHODS) == set(WEIGHT_METHODS)
    assert load_spec("egdi").with_changes({"weights.method": "optimise"}).weight_method == "optimised"
