"""Benchmarks and gaps: rankings side by side, gap decomposition, what it takes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from digimeter.stages import aggregate as agg
from digimeter import benchmark as bm
from digimeter.build import build, compute
from digimeter.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("bm") / "digimeter.duckdb")  # also DIGIMETER_HOME of test_cli
    yield s
    s.close()


@pytest.fixture(scope="module")
def dn(store):
    return build("digital-nation", store)


@pytest.fixture(scope="module")
def egdi(store):
    return build("egdi", store)


# -- rankings side by side ------------------------------------------------------------------------

def test_rankings_kaz_real_values(store):
    r = bm.rankings(store, "KAZ")
    t = r.table.set_index("key")
    assert (t.at["egdi", "year"], t.at["egdi", "rank"], t.at["egdi", "n"]) == (2024, 24, 193)
    # IMD WDCR 2024: 34th of the 67 economies IMD ranked (63 of them in the bundled copy)
    assert (t.at["imd", "year"], t.at["imd", "rank"], t.at["imd", "n"], t.at["imd", "n_listed"]) == (2024, 34, 67, 63)
    assert t.at["gtmi", "year"] == 2025
    assert t.at["gtmi", "score"] == pytest.approx(0.9454, abs=5e-5)
    assert t.at["egdi", "percentile"] == pytest.approx(100 * (193 - 24) / 192)
    # later IMD rank known only from the press, with IMD's number of economies
    assert (t.at["imd_press", "year"], t.at["imd_press", "rank"], t.at["imd_press", "n"]) == (2025, 39, 69)
    assert "imd_press" not in r.ranks.columns
    assert "digital-nation" in t.index and t.at["digital-nation", "measures"]
    assert all(t.loc[["egdi", "gtmi", "imd"], "measures"].str.len() > 20)
    c = r.correlations.set_index(["a", "b"])
    assert c.at[("egdi", "gtmi"), "n_common"] > 150
    assert 0.5 < c.at[("egdi", "gtmi"), "spearman"] <= 1
    m = r.matrix("kendall")
    assert np.allclose(m.to_numpy(), m.to_numpy().T)


def test_rankings_year_picks_earlier_editions(store):
    t = bm.rankings(store, "KAZ", 2022, default_specs=(), levels=1).table.set_index("key")
    assert t.at["egdi", "year"] == 2022 and t.at["egdi", "rank"] == 28
    assert t.at["gtmi", "year"] == 2022


# -- peers and frontier ------------------------------------------------------------------------

def test_peers(store):
    assert set(bm.peers(store, "KAZ", "subregion")) == {"KGZ", "TJK", "TKM", "UZB"}
    assert "KAZ" not in bm.peers(store, "KAZ", "income")
    near = bm.peers(store, "KAZ", "nearest", k=5, year=2024)
    assert len(near) == 5 and "KAZ" not in near
    assert bm.peers(store, "KAZ", "kgz, uzb") == ["KGZ", "UZB"]


def test_frontier(dn, store):
    f = bm.frontier(dn, "KAZ", peers=["KGZ", "UZB"], store=store).set_index("node")
    root = f.loc["digital-nation"]
    s = dn.score.dropna().sort_values(ascending=False)
    assert root.gap_leader == pytest.approx(s.iloc[0] - s["KAZ"])
    assert root.gap_top5 == pytest.approx(s.iloc[:5].mean() - s["KAZ"])
    assert root.gap_top25 == pytest.approx(s.iloc[24] - s["KAZ"])
    i = f.loc["internet_use"]
    assert i.raw == pytest.approx(dn.stages["raw"].at["KAZ", "internet_use"])
    assert i.raw_gap_leader >= 0 and i.measure
    # lower is better: the leader has the lowest price
    a = f.loc["mobile_affordability"]
    assert a.raw_leader == pytest.approx(dn.stages["raw"]["mobile_affordability"].min())


# -- Shapley ------------------------------------------------------------------------------------

def test_shapley_efficiency_symmetry_null_hand_made():
    # v(S) = (sum of S's weights)^2 with players 0 and 1 symmetric, player 3 null
    w = np.array([1.0, 1.0, 2.0, 0.0])
    phi = bm.shapley(lambda m: (m @ w) ** 2, 4)
    assert phi.sum() == pytest.approx(16.0, abs=1e-12)
    assert phi[0] == pytest.approx(phi[1], abs=1e-12)
    assert phi[3] == pytest.approx(0.0, abs=1e-12)
    # glove game: player 0 has a left glove, 1 and 2 right gloves -> (2/3, 1/6, 1/6)
    glove = lambda m: np.minimum(m[:, 0], m[:, 1] | m[:, 2]).astype(float)
    assert np.allclose(bm.shapley(glove, 3), [2 / 3, 1 / 6, 1 / 6])
    # sampling (above exact_max): efficiency exact, symmetry approximately, seeded
    k = 14
    ww = np.arange(1.0, k + 1)
    v = lambda m: np.sqrt(m @ ww)
    p1 = bm.shapley(v, k, exact_max=12, n_permutations=500, seed=3)
    p2 = bm.shapley(v, k, exact_max=12, n_permutations=500, seed=3)
    assert np.array_equal(p1, p2)
    assert p1.sum() == pytest.approx(np.sqrt(ww.sum()), abs=1e-9)
    # additive game: Shapley value = own worth, exactly, also by sampling
    pa = bm.shapley(lambda m: m @ ww, k, exact_max=12, n_permutations=50, seed=1)
    assert np.allclose(pa, ww)


def test_shapley_geometric_mean_symmetric_children():
    x_u = np.array([[20.0, 40.0, 40.0]])
    x_r = np.array([[80.0, 60.0, 60.0]])
    v = lambda m: agg.geometric(np.where(m, x_r, x_u), None)
    phi = bm.shapley(v, 3)
    total = agg.geometric(x_r)[0] - agg.geometric(x_u)[0]
    assert phi.sum() == pytest.approx(total, abs=1e-12)
    assert phi[1] == pytest.approx(phi[2], abs=1e-12)


# -- gap decomposition -------------------------------------------------------------------------

def _check_sums(g):
    total = g.attrs["total"]
    assert g.contribution.iloc[0] == pytest.approx(total, abs=1e-12)
    assert abs(g[g.kind == "indicator"].contribution.sum() - total) < 1e-9
    for parent, kids in g.groupby("parent"):
        own = g.set_index("node").at[parent, "contribution"]
        assert abs(kids.contribution.sum() - own) < 1e-9, parent
    assert total == pytest.approx(g.attrs["reference_score"] - g.attrs["unit_score"], abs=1e-9)
    for depth in range(1, int(g.depth.max()) + 1):   # every waterfall cut runs from 0 to the total
        w = bm.waterfall(g, depth)
        assert w.start.iloc[0] == 0 and w.end.iloc[-1] == pytest.approx(total, abs=1e-9)
        assert np.allclose(w.start.iloc[1:].to_numpy(), w.end.iloc[:-1].to_numpy())
        own = g[g.depth == depth]
        assert own.cumulative.iloc[-1] == pytest.approx(total, abs=1e-9) or \
            w.node.iloc[-1] not in set(own.node)   # a shallower leaf can close a cut


@pytest.mark.parametrize("ref", ["leader", "top5", "top25", "USA", ["KGZ", "UZB", "TJK"]])
def test_gap_arithmetic_exact(dn, ref):
    g = bm.gap(dn, "KAZ", ref)
    _check_sums(g)
    # arithmetic with complete data: effective weight x normalised gap
    row = g.set_index("node").loc["internet_use"]
    if not isinstance(ref, list) and ref in ("USA", "top25"):
        r = g.attrs["members"][0]
        n = dn.stages["normalised"]
        if n.loc[["KAZ", r], ["internet_use", "households_online", "mobile_broadband", "fixed_broadband",
                              "coverage_4g", "mobile_affordability"]].notna().all().all():
            assert row.contribution == pytest.approx((n.at[r, "internet_use"] - n.at["KAZ", "internet_use"]) / 5 / 6)


def test_gap_waterfall_on_an_uneven_tree(store):
    """An indicator directly under the root beside pillars with sub-pillars: every cut of the tree
    sums to the total gap, so each depth's waterfall still ends at the total."""
    from digimeter.spec import parse_spec

    spec = parse_spec({"name": "uneven", "year": 2023, "year_window": 3, "tree": [
        {"code": "internet", "indicator": "internet_users_pct"},
        {"code": "access", "children": [
            {"code": "fixed", "children": [{"code": "fbb", "indicator": "fixed_broadband_per100"}]},
            {"code": "mobile", "children": [{"code": "mbb", "indicator": "mobile_broadband_per100"},
                                            {"code": "elec", "indicator": "electricity_access_pct"}]}]}]})
    ix = build(spec, store)
    g = bm.gap(ix, "KAZ", "leader")
    _check_sums(g)
    w2 = bm.waterfall(g, 2)
    assert list(w2.node) == ["internet", "fixed", "mobile"]
    w3 = bm.waterfall(g, 3)
    assert list(w3.node) == ["internet", "fbb", "mbb", "elec"]
    c = g.set_index("node").cumulative
    assert c["elec"] == pytest.approx(g.attrs["total"], abs=1e-9)      # the deepest cut closes at the total
    assert c["mobile"] == pytest.approx(g.attrs["total"], abs=1e-9)
    assert c["internet"] == pytest.approx(g.set_index("node").contribution["internet"])
    with pytest.raises(Exception, match="no depth 4"):
        bm.waterfall(g, 4)


def test_gap_geometric_shapley(dn, egdi):
    g = bm.gap(dn.variant({"aggregate.method": "geometric", "normalise.range": [1, 100]}), "KAZ", "top5")
    _check_sums(g)
    eg = egdi.variant({"aggregate.method": "geometric", "aggregate.zero_guard": "rescale"})
    for ref in ("leader", "top25"):
        _check_sums(bm.gap(eg, "KAZ", ref))
    mixed = dn.variant({"aggregate.by_level": {2: "geometric"}, "normalise.range": [1, 100]})
    _check_sums(bm.gap(mixed, "KAZ", "leader"))


# -- what it takes -----------------------------------------------------------------------------

def _check_plan(ix, plan, store, target_rank):
    t = plan.table.set_index("node")
    # every bound respected: direction, pace x years, valid range, goalposts
    d = t.direction
    moved = t.change * d
    assert (moved >= -1e-12).all()
    assert (moved <= (t.max_change * d).fillna(np.inf) + 1e-9).all()
    if plan.years is not None:
        assert (moved <= t.pace_per_year.fillna(0) * plan.years + 1e-9).all()
    m = ix.meta().set_index("code")
    for node, r in t.iterrows():
        info = store.indicator(r.indicator)
        if info["max_value"] is not None and not pd.isna(info["max_value"]):
            assert r.new <= info["max_value"] + 1e-9
        if info["min_value"] is not None and not pd.isna(info["min_value"]):
            assert r.new >= info["min_value"] - 1e-9
    # applying the plan to the raw data and rebuilding reaches the target
    vals = ix.panel.values.copy()
    for node, r in t.iterrows():
        if abs(r.change) > 0:
            vals.at[plan.unit, m.at[node, "indicator"]] = r.new
    import dataclasses

    ix2 = compute(ix.spec, dataclasses.replace(ix.panel, values=vals), unit_meta=ix.params["unit_meta"],
                  directions=ix.params["directions"])
    assert int(ix2.rank[plan.unit]) <= target_rank
    assert int(ix2.rank[plan.unit]) == plan.achieved_rank


def test_what_it_takes_linear_reaches_rank(dn, store):
    p = bm.what_it_takes(dn, "KAZ", rank=25, by=2029, store=store)
    assert p.method == "linprog" and p.reachable and p.achieved_rank <= 25
    _check_plan(dn, p, store, 25)
    assert p.years == 4
    assert "+" in p.summary()


def test_what_it_takes_costs_shift_the_plan(egdi, store):
    p = bm.what_it_takes(egdi, "KAZ", rank=15, store=store)
    assert p.reachable
    _check_plan(egdi, p, store, 15)
    cheap = p.table.set_index("node").normalised_change.idxmax()
    p2 = bm.what_it_takes(egdi, "KAZ", rank=15, store=store, costs={cheap: 10.0})
    assert p2.reachable
    assert p2.table.set_index("node").at[cheap, "normalised_change"] < p.table.set_index("node").at[cheap, "normalised_change"]


def test_what_it_takes_geometric_reaches_rank(dn, store):
    g = dn.variant({"aggregate.method": "geometric", "normalise.range": [1, 100]})
    p = bm.what_it_takes(g, "KAZ", rank=30, by=2029, store=store)
    assert p.method == "SLSQP" and p.reachable
    _check_plan(g, p, store, 30)


def test_what_it_takes_unreachable(dn, store):
    p = bm.what_it_takes(dn, "KAZ", rank=1, by=2027, store=store)
    assert not p.reachable
    assert "out of reach" in p.message and f"rank {p.best_rank}" in p.message
    assert 1 < p.best_rank < int(dn.rank["KAZ"])
    assert p.achieved_rank == p.best_rank
    t = p.table
    assert (t.change * t.direction <= (t.max_change * t.direction).fillna(np.inf) + 1e-9).all()


def test_pace_is_documented_quantile(store):
    p = bm.pace(store, "internet_users_pct", 90.0, quantile=0.9)
    assert p["pace"] > 0 and p["n"] >= 30
    assert bm.pace(store, "internet_users_pct", 90.0, quantile=0.95)["pace"] >= p["pace"]


# -- strengths and weaknesses ---------------------------------------------------------------------

def test_strengths(dn, store):
    s = bm.strengths(dn, "KAZ", "income", store=store)
    assert list(s.score_difference.dropna()) == sorted(s.score_difference.dropna(), reverse=True)
    assert set(s.verdict) <= {"strength", "weakness", "on par", "no data"}
    assert s.percentile.between(0, 100).all()
    assert len(s.attrs["peers"]) > 10


# -- CLI ---------------------------------------------------------------------------------------

def test_cli(store, monkeypatch):
    import json
    import shutil

    from typer.testing import CliRunner

    from digimeter.cli import app

    monkeypatch.setenv("DIGIMETER_HOME", str(store.path.parent))
    r = CliRunner().invoke(app, ["compare", "KAZ", "--format", "json", "--levels", "1"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    egdi = next(x for x in d["rankings"] if x["key"] == "egdi")
    assert egdi["rank"] == 24
    r = CliRunner().invoke(app, ["gaps", "KAZ", "egdi", "--to", "top5", "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert "contribution" in r.stdout.splitlines()[0]
    r = CliRunner().invoke(app, ["what-it-takes", "KAZ", "egdi", "--rank", "20", "--by", "2029"])
    assert r.exit_code == 0, r.output
    assert "rank 20" in r.stdout


def test_what_it_takes_without_valid_ranges_stays_within_the_observed_values(store):
    """ASEM's indicators have no valid range in the store: the plan moved them by millions ("Corruption
    Perceptions Index +680,000") and, with min-max refitted around such values, said "rank 3 is out of
    reach ... the best reachable is rank 1". Each indicator may now move up to the best value any unit has."""
    from digimeter.build import build

    ix = build("asem", store)
    p = bm.what_it_takes(ix, "LUX", rank=3, store=store)
    assert int(ix.rank["LUX"]) > 3 and p.reachable and p.achieved_rank <= 3 and p.best_rank <= p.achieved_rank
    _check_plan(ix, p, store, 3)
    obs = ix.stages["imputed"]
    t = p.table.set_index("node")
    for node, row in t.iterrows():
        col = obs[node]
        assert col.min() - 1e-9 <= row["new"] <= col.max() + 1e-9, node
