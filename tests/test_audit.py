"""Audit: correlations and flags, Cronbach's alpha, PCA, removal effect, strengths/weaknesses."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from digimeter.stats.audit import (corr_flags, corr_with_parents, correlations, cronbach_alpha,
                             cronbach_by_group, pca_by_group, ranks, removal_effect,
                             strengths_weaknesses)
from digimeter.errors import DataError, SpecError
from digimeter.stages.weight import effective_weights

DATA = Path(__file__).parent / "data" / "coinr_asem"


def asem_meta() -> pd.DataFrame:
    im = pd.read_csv(DATA / "input_iMeta.csv")
    im = im[im["Type"].isin(["Indicator", "Aggregate"])]
    return pd.DataFrame({
        "code": im["iCode"], "name": im["iName"],
        "parent": im["Parent"].astype(object).where(im["Parent"].notna(), None),
        "level": im["Level"].astype(int), "weight": im["Weight"].astype(float),
        "direction": im["Direction"]}).reset_index(drop=True)


@pytest.fixture(scope="module")
def asem():
    meta = asem_meta()
    agg = pd.read_csv(DATA / "example_aggregated.csv").set_index("uCode")
    return meta, agg


def test_correlations_match_scipy(asem):
    _, agg = asem
    c = correlations(agg[["Physical", "Social", "Index"]])
    assert c.loc["Physical", "Social"] == pytest.approx(
        stats.pearsonr(agg["Physical"], agg["Social"])[0], rel=1e-12)
    s = correlations(agg[["Physical"]], agg[["Index"]], method="spearman")
    assert s.iloc[0, 0] == pytest.approx(stats.spearmanr(agg["Physical"], agg["Index"])[0])
    x = pd.DataFrame({"a": [1.0, 2, 3, np.nan, 5], "b": [2.0, 1, 4, 3, np.nan]})
    assert correlations(x).loc["a", "b"] == pytest.approx(stats.pearsonr([1, 2, 3], [2, 1, 4])[0])
    with pytest.raises(SpecError):
        correlations(x, method="nope")


def test_corr_flags_within_groups(asem):
    meta, agg = asem
    flags = corr_flags(agg, meta, level=1)
    assert set(flags["flag"]) <= {"collinear", "negative"}
    # check every within-pillar pair against a direct computation
    par = dict(zip(meta.code, meta.parent))
    ind = list(meta.loc[meta.level == 1, "code"])
    cm = agg[ind].corr()
    expect = {(a, b) for i, a in enumerate(ind) for b in ind[i + 1:]
              if par[a] == par[b] and (cm.loc[a, b] > 0.9 or cm.loc[a, b] < -0.4)}
    assert set(zip(flags.node1, flags.node2)) == expect
    assert len(expect) > 0
    by_sub = corr_flags(agg, meta, level=2, group_level=3, high=0.5, low=None)
    assert set(by_sub["group"]) <= {"Conn", "Sust"}
    with pytest.raises(SpecError):
        corr_flags(agg, meta, level=2, group_level=2)


def test_corr_with_parents(asem):
    meta, agg = asem
    cp = corr_with_parents(agg, meta).set_index("code")
    assert cp.loc["LPI", "parent"] == "Physical"
    assert cp.loc["LPI", "corr_parent"] == pytest.approx(np.corrcoef(agg.LPI, agg.Physical)[0, 1])
    assert cp.loc["Conn", "corr_index"] == pytest.approx(np.corrcoef(agg.Conn, agg.Index)[0, 1])
    assert "Index" not in cp.index


def test_cronbach_by_hand():
    x = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 5.0]])
    # var 1, 7/3; total (3, 5, 8) var 19/3: alpha = 2 * (1 - (10/3)/(19/3)) = 18/19
    assert cronbach_alpha(x) == pytest.approx(18 / 19)
    same = np.tile(np.arange(5.0)[:, None], (1, 4))
    assert cronbach_alpha(same) == pytest.approx(1.0)
    with_nan = np.vstack([x, [np.nan, 1.0]])
    assert cronbach_alpha(with_nan) == pytest.approx(18 / 19)


def test_cronbach_and_pca_by_group(asem):
    meta, agg = asem
    cb = cronbach_by_group(agg, meta, level=2).set_index("group")
    pillars = list(meta.loc[meta.parent == "Sust", "code"])
    v = agg[pillars].to_numpy()
    k = len(pillars)
    hand = k / (k - 1) * (1 - v.var(axis=0, ddof=1).sum() / v.sum(axis=1).var(ddof=1))
    assert cb.loc["Sust", "alpha"] == pytest.approx(hand)
    pca = pca_by_group(agg, meta, level=1).set_index("group")
    assert len(pca) == 8
    ev = np.linalg.eigvalsh(agg[list(meta.loc[meta.parent == "Social", "code"])].corr().to_numpy())
    assert pca.loc["Social", "var_explained_pc1"] == pytest.approx(ev[-1] / ev.sum())
    assert pca.loc["Social", "var_explained"].sum() == pytest.approx(1.0)


def test_ranks_ties_min_and_nan():
    np.testing.assert_array_equal(ranks([3.0, 5.0, 5.0, np.nan, 1.0]), [3, 1, 1, np.nan, 4])
    r = ranks(np.array([[1.0, 2.0], [2.0, 1.0]]))
    np.testing.assert_array_equal(r, [[2, 1], [1, 2]])


def test_removal_effect_with_linear_index(asem):
    meta, agg = asem
    norm = pd.read_csv(DATA / "example_normalised.csv").set_index("uCode")
    ind = list(meta.loc[meta.level == 1, "code"])

    def score_fn(m):  # complete data + arithmetic means: index = effective weights . indicators
        eff = effective_weights(m)
        return norm[ind].to_numpy() @ eff.reindex(ind).fillna(0).to_numpy()

    res = removal_effect(score_fn, meta, level=2, units=list(norm.index))
    np.testing.assert_allclose(res.scores["nominal"], agg["Index"], rtol=1e-13)
    assert list(res.mean_abs_rank_change.index) == list(meta.loc[meta.level == 2, "code"])
    assert (res.mean_abs_rank_change > 0).all()
    # removing Physical (weight 0): the other Conn pillars share the Conn weight
    phys = [c for c in ind if meta.set_index("code").loc[c, "parent"] == "Physical"]
    assert not np.allclose(res.scores["Physical"], res.scores["nominal"])
    m0 = meta.copy()
    m0.loc[m0.code == "Physical", "weight"] = 0
    np.testing.assert_allclose(res.scores["Physical"], score_fn(m0))
    assert len(phys) == 8
    manual = np.abs(ranks(res.scores["nominal"]) - ranks(res.scores["Physical"])).mean()
    assert res.mean_abs_rank_change["Physical"] == pytest.approx(manual)
    dropped = removal_effect(score_fn, meta, level=1, nodes=["LPI"], how="drop")
    assert "LPI" in dropped.scores.columns
    with pytest.raises(SpecError):
        removal_effect(score_fn, meta, level=1, nodes=["Physical"])


def test_strengths_weaknesses(asem):
    meta, agg = asem
    raw = pd.read_csv(DATA / "example_treated.csv").set_index("uCode")
    norm = pd.read_csv(DATA / "example_normalised.csv").set_index("uCode")
    s, w = strengths_weaknesses(norm, "AUS", meta=meta, values=raw, top=5, bottom=5)
    assert list(s.columns) == ["code", "name", "group", "rank", "value"]
    assert len(s) == 5 and len(w) == 5
    assert (np.diff(s["rank"]) >= 0).all() and s["rank"].max() <= w["rank"].min()
    r = ranks(norm["LPI"].to_numpy())[list(norm.index).index("AUS")]
    if "LPI" in list(s.code):
        assert s.set_index("code").loc["LPI", "rank"] == r
    assert s["group"].notna().all()
    assert s.iloc[0]["value"] == raw.loc["AUS", s.iloc[0]["code"]]
    # with directions on treated (not normalised) data the ranking is the same as on normalised
    d = dict(zip(meta.code, meta.direction))
    s2, w2 = strengths_weaknesses(raw, "AUS", direction=d)
    assert list(s2.code) == list(s.code) and list(w2.code) == list(w.code)
    with pytest.raises(DataError):
        strengths_weaknesses(norm, "XXX")
