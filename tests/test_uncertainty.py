"""Uncertainty and sensitivity analysis: factors, the vectorised engine against naive rebuilds, SALib
parity, analytic Sobol' indices (Ishigami, Sobol-G), Dask scale-out, the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digimeter.build import compute
from digimeter.errors import SpecError
from digimeter.spec import load_spec
from digimeter._util.ranks import rank_desc
from digimeter.uncertainty import (
    Design, Engine, coinr_example, ishigami, ishigami_indices, load_factors, naive_evaluate, sensitivity,
    sensitivity_function, shipped_factors, sobol_g, sobol_g_indices, sobol_indices, tree_table, uncertainty,
)

DATA = Path(__file__).parent / "data" / "uncertainty"

# COINr's factors on its ASEM example (COINr vignette "Sensitivity analysis")
COINR_FACTORS = [
    {"address": "treat.winmax", "values": [1, 2, 3, 4, 5]},
    {"address": "normalise", "values": [{"method": "minmax", "range": [1, 100]},
                                        {"method": "zscore", "mean": 10, "sd": 2}]},
    {"address": "aggregate.method", "values": ["arithmetic", "geometric"]},
    {"address": "weights", "noise": 0.25, "levels": [2, 3]},
]


@pytest.fixture(scope="module")
def asem():
    spec, panel, groups = coinr_example(DATA)
    return compute(spec, panel, unit_meta=groups)


# -------------------------------------------------------------------------------------------
# the ASEM case and the tree table
# -------------------------------------------------------------------------------------------

def test_asem_case_reproduces_coinr(asem):
    ref = pd.read_csv(DATA / "example_aggregated.csv").set_index("uCode")
    got = asem.scores[ref.columns].loc[ref.index]
    assert np.allclose(got.to_numpy(), ref.to_numpy(), atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("name", ["egdi", "digital-nation"])
def test_tree_table_equals_spec_meta(asem, name):
    for spec in (asem.spec, load_spec(name)):
        m = spec.meta()
        t = tree_table(spec)
        cols = ["code", "parent", "level", "depth", "weight", "kind"]
        assert t[cols].astype(object).equals(m[cols].astype(object))


def test_rank_desc_matches_pandas():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, size=(7, 30, 3)).astype(float)
    x[0, 3, 1] = np.nan
    got = rank_desc(x, axis=1)
    for s in range(7):
        ref = pd.DataFrame(x[s]).rank(ascending=False, method="min").to_numpy()
        assert np.array_equal(got[s], ref, equal_nan=True)


# -------------------------------------------------------------------------------------------
# factors
# -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("factor, culprit, fix", [
    ({"address": "treatment.winmax", "values": [1, 2]}, "treatment.winmax", "treat"),
    ({"address": "treat.winmx", "values": [1, 2]}, "treat.winmx", "winmax"),
    ({"address": "weights.Physcal", "range": [0.5, 2]}, "Physcal", "Physical"),
    ({"address": "exclude", "values": [None, "LPII"]}, "LPII", "LPI"),
    ({"address": "weights", "noise": 0.25, "levels": [7]}, "weights.levels", "levels among"),
    ({"address": "normalise", "values": ["minmax"]}, "normalise", "method"),
])
def test_factor_errors_name_the_culprit_and_fix(asem, factor, culprit, fix):
    with pytest.raises(SpecError) as e:
        Design([factor], asem.spec)
    text = str(e.value)
    assert culprit in text and fix in text


def test_factor_shape_errors():
    with pytest.raises(SpecError, match="exactly one of values, range or noise"):
        load_factors([{"address": "treat.winmax", "values": [1], "range": [1, 2]}])
    with pytest.raises(SpecError, match="noise applies to the address `weights`"):
        load_factors([{"address": "weights.x", "noise": 0.2}])
    with pytest.raises(SpecError, match="unknown key 'value'.*values"):
        load_factors([{"address": "aggregate.method", "value": ["a"]}])
    with pytest.raises(SpecError, match="repeated factor"):
        load_factors([{"address": "aggregate.method", "values": ["arithmetic"]}] * 2)


def test_factor_yaml_round_trip(tmp_path):
    p = tmp_path / "f.yaml"
    p.write_text("factors:\n" + "".join(
        f"  - {json.dumps(f)}\n" for f in COINR_FACTORS), encoding="utf-8")
    fs = load_factors(p)
    assert [f.to_dict() for f in fs] == COINR_FACTORS
    assert [f.kind for f in fs] == ["discrete", "discrete", "discrete", "noise"]


@pytest.mark.parametrize("name, spec", [("egdi-default", "egdi"), ("digital-nation", "digital-nation")])
def test_shipped_factor_files_fit_their_specs(name, spec):
    assert name in shipped_factors()
    d = Design(load_factors(name), load_spec(spec))
    assert d.n_dims >= len(d.factors)


# -------------------------------------------------------------------------------------------
# the engine against naive rebuilds
# -------------------------------------------------------------------------------------------

def test_engine_equals_naive_rebuilds(asem):
    factors = COINR_FACTORS + [
        {"address": "exclude", "values": [None, "LPI", "Political"]},
        {"address": "weights.Conn", "range": [0.5, 2.0]},
        {"address": "aggregate.min_share", "values": [0.0, 0.5]},
    ]
    eng = Engine.from_index(asem, factors)
    U = np.random.default_rng(7).random((6, eng.design.n_dims))
    fast = eng.evaluate(U)
    slow = naive_evaluate(asem, factors, U)
    assert fast.shape == slow.shape == (6, 51, 11)
    assert np.nanmax(np.abs(fast - slow)) <= 1e-10
    assert np.array_equal(np.isnan(fast), np.isnan(slow))
    # ranks of one sample equal the rebuilt index's ranks
    ix = asem.variant(eng.design.changes(U[0]))
    ref = ix.ranks.reindex(index=eng.units)[eng.out_nodes].to_numpy()
    assert np.array_equal(rank_desc(fast[0], axis=0), ref, equal_nan=True)


def test_engine_fallback_to_compute_gives_the_same_numbers(asem):
    eng = Engine.from_index(asem, COINR_FACTORS)
    assert eng.fast                      # the engine mirrors the build on this spec
    U = np.random.default_rng(8).random((20, eng.design.n_dims))
    slow = Engine.from_index(asem, COINR_FACTORS)
    slow.fast = False                    # what happens when the build moves on: compute() per choice
    assert np.array_equal(eng.evaluate(U), slow.evaluate(U), equal_nan=True)


def test_engine_reuses_upstream_builds(asem):
    res = uncertainty(asem, COINR_FACTORS, 200, seed=1)
    assert res.n_rebuilds_upstream == 5          # once per winmax; normalise and the rest are cheap


@settings(max_examples=3, deadline=None)
@given(chunk=st.integers(min_value=3, max_value=30), seed=st.integers(0, 2**31))
def test_chunking_and_seed_do_not_change_numbers(asem, chunk, seed):
    a = uncertainty(asem, COINR_FACTORS, 30, seed=seed, chunk_size=chunk)
    b = uncertainty(asem, COINR_FACTORS, 30, seed=seed)
    assert np.array_equal(a.scores, b.scores, equal_nan=True)
    assert a.summary.equals(b.summary)


# -------------------------------------------------------------------------------------------
# uncertainty analysis
# -------------------------------------------------------------------------------------------

def test_uncertainty_summary(asem):
    res = uncertainty(asem, COINR_FACTORS, 256, seed=2)
    s = res.summary
    assert list(s.columns) == ["unit", "node", "level", "nominal_rank", "median_rank", "q05_rank", "q95_rank",
                               "mean_rank", "p_nominal_rank", "nominal_score", "median_score", "q05_score",
                               "q95_score"]
    assert len(s) == 51 * 11 and set(s.node) == set(res.nodes)
    assert (s.q05_rank <= s.median_rank).all() and (s.median_rank <= s.q95_rank).all()
    assert s.p_nominal_rank.between(0, 1).all()
    idx = res.node()
    assert idx.nominal_rank.tolist() == sorted(asem.rank.tolist())
    assert np.allclose(idx.set_index("unit").nominal_score, asem.score.loc[idx.unit])
    # the median rank tracks the nominal one (Spearman), COINr's Fig. "rank intervals"
    assert idx.nominal_rank.corr(idx.median_rank, method="spearman") > 0.9
    assert len(res.samples()) == 256 and "treat.winmax" in res.samples()


def test_streaming_mode_matches_exact(asem):
    a = uncertainty(asem, COINR_FACTORS, 300, seed=4, exact=True)
    b = uncertainty(asem, COINR_FACTORS, 300, seed=4, exact=False, chunk_size=128, bins=8000)
    for c in ("nominal_rank", "median_rank", "q05_rank", "q95_rank", "p_nominal_rank"):
        assert np.allclose(a.summary[c], b.summary[c]), c
    assert np.allclose(a.summary.mean_rank, b.summary.mean_rank)
    for c in ("median_score", "q05_score", "q95_score"):
        span = a.summary.groupby("node").q95_score.transform("max") - a.summary.groupby("node").q05_score.transform("min")
        assert (np.abs(a.summary[c] - b.summary[c]) <= 0.01 * span + 1e-9).all(), c


def test_coinr_rank_intervals_agree(asem):
    """COINr's UA on ASEM: ranks of the leaders stay near the top, of the tail near the bottom."""
    res = uncertainty(asem, COINR_FACTORS, 500, seed=5).node()
    top, tail = res.head(5), res.tail(5)
    assert (top.q95_rank <= 25).all() and (tail.q05_rank >= 25).all()


# -------------------------------------------------------------------------------------------
# sensitivity analysis
# -------------------------------------------------------------------------------------------

def test_sobol_indices_equal_salib():
    from SALib.analyze import sobol as salib_sobol

    d = Design([{"address": "a", "range": [0, 1]}, {"address": "b", "range": [0, 1]},
                {"address": "c", "values": [0, 1, 2]}])
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(64 * 5, 3)).cumsum(axis=1)
    mine = sobol_indices(Y, ["a", "b", "c"], ["y0", "y1", "y2"], 11, 100, 0.95)
    for j in range(3):
        ref = salib_sobol.analyze(d.problem(), Y[:, j].copy(), calc_second_order=False, seed=11)
        m = mine[mine.output == f"y{j}"]
        for k in ("S1", "ST", "S1_conf", "ST_conf"):
            assert np.allclose(m[k].to_numpy(), ref[k], atol=1e-12, rtol=1e-10), k


def test_ishigami_recovers_analytic_indices():
    f = [{"address": f"x{i}", "range": [-np.pi, np.pi]} for i in (1, 2, 3)]
    res = sensitivity_function(ishigami, f, 4096, seed=1).of("y")
    ref = ishigami_indices()
    for k in ("S1", "ST"):
        err = np.abs(res[k].to_numpy() - ref[k].to_numpy())
        assert (err <= res[f"{k}_conf"].to_numpy() + 0.01).all(), (k, err)


def test_sobol_g_recovers_analytic_indices():
    f = [{"address": f"x{i + 1}", "range": [0, 1]} for i in range(8)]
    res = sensitivity_function(sobol_g, f, 4096, seed=2).of("y")
    ref = sobol_g_indices()
    for k in ("S1", "ST"):
        err = np.abs(res[k].to_numpy() - ref[k].to_numpy())
        assert (err <= res[f"{k}_conf"].to_numpy() + 0.01).all(), (k, err)


def test_identical_alternatives_get_zero_indices(asem):
    factors = [{"address": "aggregate.method", "values": ["arithmetic", "geometric"]},
               {"address": "normalise", "values": [{"method": "minmax", "range": [1, 100]}] * 2},
               {"address": "weights", "noise": 0.25, "levels": [2]}]
    spec = asem.spec.with_changes({"normalise.range": [1, 100]})
    ix = compute(spec, asem.panel, unit_meta=asem.params["unit_meta"])
    res = sensitivity(ix, factors, 64, seed=3)
    dead = res.indices[res.indices.factor == "normalise"]
    assert (dead[["S1", "ST", "S1_conf", "ST_conf"]].to_numpy() == 0).all()
    live = res.of()
    assert live.loc["aggregate.method", "ST"] > 0.1
    # every unit has its own indices (COINr reports only the mean rank shift)
    assert res.indices.output.nunique() == 1 + 51
    mo = sensitivity(ix, factors, 10, method="morris", seed=3)
    assert mo.of().loc["normalise", "mu_star"] == 0 and mo.of().loc["aggregate.method", "mu_star"] > 0


def test_sensitivity_same_seed_same_numbers(asem):
    a = sensitivity(asem, COINR_FACTORS, 32, seed=9)
    b = sensitivity(asem, COINR_FACTORS, 32, seed=9)
    assert a.indices.equals(b.indices)
    assert a.n_runs == 32 * 6


# -------------------------------------------------------------------------------------------
# Dask scale-out: a real LocalCluster gives the local numbers
# -------------------------------------------------------------------------------------------

def test_dask_local_cluster_gives_local_numbers(asem):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl) as client:
        ua = uncertainty(asem, COINR_FACTORS, 100, seed=6, chunk_size=50, client=client)
        big = uncertainty(asem, COINR_FACTORS, 100, seed=6, chunk_size=50, exact=False, client=client)
        sa = sensitivity(asem, COINR_FACTORS, 16, seed=6, chunk_size=48, client=client)
    assert np.array_equal(ua.scores, uncertainty(asem, COINR_FACTORS, 100, seed=6, chunk_size=50).scores,
                          equal_nan=True)
    local_big = uncertainty(asem, COINR_FACTORS, 100, seed=6, chunk_size=50, exact=False)
    assert big.summary.equals(local_big.summary)
    assert sa.indices.equals(sensitivity(asem, COINR_FACTORS, 16, seed=6, chunk_size=48).indices)


def test_distributed_sketch_agrees_with_the_local_engine(asem):
    """A few thousand samples reduced to rank/score counts on two Dask workers (the million-sample path):
    the rank intervals, mean rank and P(nominal rank) equal the local exact engine's; score quantiles are
    within the sketch tolerance (one bin width per node, no score outside the bins)."""
    from distributed import Client, LocalCluster

    n = 3000
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cl, \
            Client(cl) as client:
        d = uncertainty(asem, COINR_FACTORS, n, seed=7, chunk_size=256, exact=False, client=client)
    local = uncertainty(asem, COINR_FACTORS, n, seed=7, exact=True)
    a, b = local.summary, d.summary
    assert not d.exact and d.scores is None and set(d.clipped.values()) == {0}
    assert list(a.unit) == list(b.unit) and list(a.node) == list(b.node)
    for c in ("nominal_rank", "q05_rank", "median_rank", "q95_rank", "p_nominal_rank"):
        assert np.array_equal(a[c], b[c], equal_nan=True), c
    assert np.allclose(a.mean_rank, b.mean_rank, rtol=0, atol=1e-9)
    tol = b.node.map(d.score_tolerance)
    for c in ("q05_score", "median_score", "q95_score"):
        assert (np.abs(a[c] - b[c]) <= tol + 1e-9).all(), c
    # the samples are regenerated on the workers from the seed: the same counts as locally
    assert b.equals(uncertainty(asem, COINR_FACTORS, n, seed=7, chunk_size=256, exact=False).summary)


# -------------------------------------------------------------------------------------------
# CLI
# -------------------------------------------------------------------------------------------

def test_cli_uncertainty_and_sensitivity(digimeter_home, tmp_path):
    from typer.testing import CliRunner

    from digimeter.cli import app

    r = CliRunner().invoke(app, ["uncertainty", "egdi", "--factors", "egdi-default", "-n", "64",
                                 "--seed", "1", "--format", "csv"])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(io.StringIO(r.stdout))
    assert {"unit", "node", "nominal_rank", "median_rank", "q05_rank", "q95_rank", "nominal_score",
            "median_score", "q05_score", "q95_score", "p_nominal_rank"} <= set(df.columns)
    assert df.unit.nunique() == 193 and set(df.node) == {"egdi"}

    out = tmp_path / "sa.json"
    r = CliRunner().invoke(app, ["sensitivity", "egdi", "--factors", "egdi-default", "-n", "32",
                                 "--format", "json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = json.loads(out.read_text())
    assert {"output", "factor", "S1", "ST", "S1_conf", "ST_conf"} <= set(rows[0])
    assert {r_["factor"] for r_ in rows} == {"weights", "aggregate", "exclude"}

    bad = tmp_path / "bad.yaml"
    bad.write_text("factors:\n  - {address: aggregate.methd, values: [arithmetic]}\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["uncertainty", "egdi", "--factors", str(bad), "-n", "8"])
    assert r.exit_code == 1
    assert "aggregate.methd" in r.output and "aggregate.method" in r.output
