"""One spec, one meaning: every path that evaluates a spec's tree agrees with the build.

Each ``--set`` setting of the toolkit (stage methods with their aliases, per-level aggregation, stage
options, weights) is applied to digital-nation (normalised onto [1, 100]) and the index is recomputed along every other path
that evaluates the tree: the gap decomposition and what-it-takes (benchmark), the index propagation
of targets (``targets.compute_batch``) and the uncertainty engine. Each must give the build's scores.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from digimeter import benchmark as bm
from digimeter import targets as tg
from digimeter.build import build
from digimeter.errors import SpecError
from digimeter.spec.plan import resolve
from digimeter.stages import aggregate as agg
from digimeter.stages import normalise as norm
from digimeter.stages import tree
from digimeter.uncertainty import Engine

TOL = 1e-9

# every setting a user can pass as --set KEY=VALUE, with the aliases the kernels accept
SETTINGS = [
    {},
    *({"aggregate.method": m} for m in agg.METHODS if m != "copeland"),
    *({"aggregate.method": a} for a in agg.ALIASES),
    {"aggregate.method": "copeland"},
    {"aggregate.method": "generalised", "aggregate.p": 0.5},
    {"aggregate.method": "geometric", "aggregate.zero_guard": "rescale"},
    {"aggregate.min_share": 0.6},
    {"aggregate.by_level": {2: "median"}},
    {"aggregate.by_level": {2: {"method": "median"}}},
    {"aggregate.by_level": {2: "mean", 3: {"method": "generalised", "p": 0.5}}},
    {"aggregate.by_level": {3: "gmean"}},
    *({"normalise.method": m} for m in ("minmax", "zscore", "rank", "percentile", "dist2max", "fracmax", "none")),
    *({"normalise.method": a} for a in ("min-max", "z-score", "prank", "goalpost")),
    {"normalise.method": "minmax", "normalise.range": [1, 100]},
    {"normalise.indiv": {"internet_use": {"method": "min-max", "range": [1, 10]}}},
    {"weights.connectivity": 3.0},
    {"weights.internet_use": 0.0},
    {"weights.method": "equal"},
    {"weights.method": "pca"},
    {"impute.method": "mean"},
    {"impute.method": "median"},
    {"treat.method": "coinr"},
    {"screen.min_availability": 0.9},
]


def _id(changes: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in changes.items()) or "as-shipped"


@pytest.fixture(scope="module")
def dn(tmp_path_factory):
    import os

    from digimeter.store import open_store

    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("DIGIMETER_HOME")
    os.environ["DIGIMETER_HOME"] = str(home)
    try:
        s = open_store()
        # goalposts onto [1, 100] so that geometric and harmonic means apply
        yield build("digital-nation", s, changes={"normalise.range": [1, 100]}), s
        s.close()
    finally:
        if old is None:
            os.environ.pop("DIGIMETER_HOME", None)
        else:
            os.environ["DIGIMETER_HOME"] = old


def _same(a, b, what: str) -> None:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape, what
    assert np.array_equal(np.isnan(a), np.isnan(b)), f"{what}: missing values differ"
    ok = ~np.isnan(a)
    assert ok.any(), f"{what}: nothing to compare"
    np.testing.assert_allclose(a[ok], b[ok], rtol=0, atol=TOL, err_msg=what)


@pytest.mark.parametrize("changes", SETTINGS, ids=_id)
def test_every_path_gives_the_build_scores(dn, changes):
    base, store = dn
    ix = base.variant(changes)
    spec = ix.spec
    aggs = ix.meta().query("kind == 'aggregate'").code.tolist()
    units = ix.scores.index[ix.scores[spec.name].notna()].tolist()
    assert len(units) > 100 and "KAZ" in units

    # the plan resolves every alias to the kernel's own name
    plan = resolve(spec)
    assert all(s.method in agg.METHODS for s in plan.steps)
    assert all(g.method in norm.METHODS for g in plan.normalise)
    if changes.get("aggregate.method") in agg.ALIASES:
        assert {s.method for s in plan.steps} == {agg.ALIASES[changes["aggregate.method"]]}

    # the one tree evaluator, from the normalised stage with the build's weights
    vals, _ = tree.evaluate(plan.steps, {c: ix.stages["normalised"][c].to_numpy() for c in plan.indicators},
                            ix.params["weights"])
    _same(np.column_stack([vals[c] for c in aggs]), ix.scores[aggs].to_numpy(), "tree.evaluate vs build")

    # benchmark: the gap / what-it-takes path scores one unit from its normalised values
    normalised = ix.stages["normalised"]
    for u in ["KAZ", *units[:: max(1, len(units) // 6)]]:
        got = bm.evaluate_unit(ix, normalised.loc[u].to_numpy(dtype=float), u)
        _same([got[c] for c in aggs], ix.scores.loc[u, aggs].to_numpy(), f"benchmark.evaluate_unit({u})")
    g = bm.gap(ix, "KAZ", "leader", store=store)
    leader = ix.scores[spec.name].idxmax()
    assert g.attrs["total"] == pytest.approx(ix.scores.at[leader, spec.name] - ix.scores.at["KAZ", spec.name],
                                             abs=1e-9)
    _same(g.set_index("node").unit_score.reindex(aggs), ix.scores.loc["KAZ", aggs], "gap unit scores")
    if plan.linear and normalised.loc[["KAZ", leader]].notna().all().all():
        # an arithmetic tree: an indicator's share of the gap is its effective weight x its normalised gap
        ew = ix.params["effective_weights"].reindex(plan.indicators).to_numpy()
        gap_i = (normalised.loc[leader] - normalised.loc["KAZ"]).reindex(plan.indicators).to_numpy()
        _same(g.set_index("node").contribution.reindex(plan.indicators), ew * gap_i, "gap contributions")

    # what-it-takes maps raw values to normalised ones with the index's fitted parameters
    if all(gr.method not in ("rank", "percentile") for gr in plan.normalise):
        apply, _ = bm.normaliser(ix)
        treated = ix.stages["treated"].reindex(columns=normalised.columns)
        _same(apply(treated.loc[units].to_numpy(dtype=float)), normalised.loc[units].to_numpy(),
              "what-it-takes normalisation")

    # targets: the index propagation recomputes the panel over a leading sample axis
    if tg.batchable(spec):
        den = ix.stages["denominated"]
        X = np.stack([den.to_numpy(dtype=float)] * 2)
        sc, rk = tg.compute_batch(spec, X, ix.params["directions"], spec.name, units=list(den.index))
        want = ix.scores[spec.name].reindex(den.index).to_numpy()
        _same(sc[0], want, "targets.compute_batch scores")
        _same(sc[1], want, "targets.compute_batch scores (2nd sample)")
        _same(rk[0], ix.ranks[spec.name].reindex(den.index).to_numpy(), "targets.compute_batch ranks")

    # uncertainty: the engine over the shipped spec, with the setting as a factor's choice
    if changes and "weights.method" not in changes:   # a weighting method is not an uncertainty factor
        factors = [{"address": k, "values": [base.spec.get(k), v]} for k, v in changes.items()]
        eng = Engine.from_index(base, factors)
        U = np.full((1, len(factors)), 0.99)                        # the second choice of every factor
        out = eng.evaluate(U)[0]
        want = ix.scores.reindex(eng.units)[eng.out_nodes].to_numpy()
        _same(out, want, "uncertainty.Engine")


def test_what_it_takes_and_gap_accept_aliases_and_by_level(dn):
    base, store = dn
    for changes in ({"aggregate.method": "mean"}, {"aggregate.by_level": {2: {"method": "median"}}},
                    {"normalise.method": "min-max"}):
        ix = base.variant(changes)
        r = int(ix.rank["KAZ"])
        p = bm.what_it_takes(ix, "KAZ", rank=max(1, r - 5), store=store)
        assert p.reachable and p.achieved_rank <= max(1, r - 5), changes
        assert p.rank == r and p.score == pytest.approx(ix.score["KAZ"], abs=1e-12)


def test_a_bad_setting_fails_everywhere_with_the_same_error(dn):
    base, _ = dn
    with pytest.raises(SpecError, match="unknown aggregation method 'meen'"):
        base.variant({"aggregate.method": "meen"})
    bad = base.spec.with_changes({"aggregate.by_level": {2: {"method": "median", "q": 1}}})
    with pytest.raises(SpecError, match=r"aggregate\.by_level\.2: unknown option\(s\) q"):
        resolve(bad)
    with pytest.raises(SpecError, match="unknown option"):
        tg.compute_batch(bad, np.zeros((1, 3, len(bad.indicator_nodes()))), base.params["directions"])


def test_plan_matches_the_cli_gap_and_build(dn, tmp_path, monkeypatch):
    """``digimeter gaps KAZ digital-nation --set aggregate.method=mean`` gives build's KAZ score."""
    from typer.testing import CliRunner

    from digimeter.cli import app

    _, store = dn
    ix = build("digital-nation", store, changes={"aggregate.method": "mean"})
    assert ix.spec.aggregate["method"] == "mean"
    res = CliRunner().invoke(app, ["gaps", "KAZ", "digital-nation", "--set", "aggregate.method=mean",
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    import json

    d = json.loads(res.output[res.output.index("{"):])
    rows = pd.DataFrame(d["gap"])
    got = rows.set_index("node").unit_score[ix.spec.name]
    assert got == pytest.approx(float(ix.score["KAZ"]), abs=1e-9)
