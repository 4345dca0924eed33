"""The shipped spec `asem` on the bundled snapshot part `coinr_asem`: `digimeter build asem` = COINr.

COINr 1.1.14's outputs of its example build are in tests/data/coinr_asem/ (copied from
../shared/methods/coinr_asem). The default build is checked against them stage by stage. For the other
settings (`--set ...`) COINr's output files do not exist, so each is checked against an INDEPENDENT
computation written here with pandas/numpy from COINr's CSVs, following COINr's documented formulas
(never by calling digimeter's kernels).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from digimeter.build import build
from digimeter.errors import SpecError

DATA = Path(__file__).parent / "data" / "coinr_asem"
TOL = 1e-6
AGGS = ["Physical", "ConEcFin", "Political", "Instit", "P2P", "Environ", "Social", "SusEcFin", "Conn", "Sust"]


def coinr(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv").set_index("uCode")


def imeta() -> pd.DataFrame:
    m = pd.read_csv(DATA / "input_iMeta.csv")
    return m[m.Type.isin(["Indicator", "Aggregate"])].reset_index(drop=True)


def cli_build(*sets: str) -> pd.DataFrame:
    """`digimeter build asem --format csv [--set ...]` as wide scores and ranks (COINr's codes, root = Index)."""
    from digimeter.cli import app

    args = ["build", "asem", "--format", "csv"]
    for s in sets:
        args += ["--set", s]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    long = pd.read_csv(io.StringIO(res.stdout))
    assert list(long.columns) == ["unit", "node", "score", "rank"]
    long["node"] = long.node.replace({"asem": "Index"})
    scores = long.pivot(index="unit", columns="node", values="score")
    ranks = long.pivot(index="unit", columns="node", values="rank")
    return scores, ranks


def close(ours: pd.DataFrame, theirs: pd.DataFrame, cols=None, tol: float = TOL) -> None:
    cols = list(theirs.columns) if cols is None else cols
    assert sorted(ours.index) == sorted(theirs.index)
    o = ours.loc[theirs.index, cols].to_numpy(dtype=float)
    t = theirs[cols].to_numpy(dtype=float)
    np.testing.assert_array_equal(np.isnan(o), np.isnan(t))
    np.testing.assert_allclose(o, t, rtol=tol, atol=tol)


# -- independent COINr formulas (pandas/numpy on COINr's CSVs) -----------------------------------------

def directions() -> pd.Series:
    m = imeta()
    return m[m.Level == 1].set_index("iCode").Direction.astype(float)


def minmax(x: pd.DataFrame, lo: float = 0.0, hi: float = 100.0) -> pd.DataFrame:
    """COINr n_minmax after multiplying by Direction: (x - min) / (max - min) * (hi - lo) + lo."""
    x = x * directions()[x.columns]
    return (x - x.min()) / (x.max() - x.min()) * (hi - lo) + lo


def zscore(x: pd.DataFrame, m: float, s: float) -> pd.DataFrame:
    """COINr n_zscore(c(m, s)) after multiplying by Direction: (x - mean) / sd * s + m, sd with n - 1 (R sd)."""
    x = x * directions()[x.columns]
    return (x - x.mean()) / x.std(ddof=1) * s + m


def skew2(v: np.ndarray) -> float:
    """Sample skewness, e1071 type 2 (COINr skew)."""
    n = len(v)
    d = v - v.mean()
    y = np.sqrt(n) * np.sum(d ** 3) / np.sum(d ** 2) ** 1.5
    return y * np.sqrt(n * (n - 1)) / (n - 2)


def kurt2(v: np.ndarray) -> float:
    """Sample excess kurtosis, e1071 type 2 (COINr kurt)."""
    n = len(v)
    d = v - v.mean()
    r = n * np.sum(d ** 4) / np.sum(d ** 2) ** 2
    return ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))


def coinr_treat(col: np.ndarray, winmax: int) -> np.ndarray:
    """COINr Treat.numeric with its defaults: check_SkewKurt, winsorise (one point at a time), log_CT."""
    def passes(v):
        return abs(skew2(v)) < 2 or kurt2(v) < 3.5

    x = col.astype(float).copy()
    if passes(x):
        return x
    imax, imin, nwin = [], [], 0
    ok = False
    while not ok and nwin < winmax:
        if skew2(x) >= 0:
            imax = np.flatnonzero(x == x.max())
            x[imax] = np.delete(x, imax).max()
        else:
            imin = np.flatnonzero(x == x.min())
            x[imin] = np.delete(x, imin).min()
        nwin = len(imax) + len(imin)
        ok = passes(x)
    if ok:
        return x
    o = col.astype(float)  # f2 on the original values (combine_treat = FALSE)
    return np.log(o - o.min() + 0.01 * (o.max() - o.min()))


def tree_aggregate(norm: pd.DataFrame, f) -> pd.DataFrame:
    """Aggregate level by level as COINr's Aggregate.coin: f(children frame, weights) -> Series."""
    m = imeta()
    out = norm.copy()
    for lev in range(2, int(m.Level.max()) + 1):
        below = m[m.Level == lev - 1]
        for parent, g in below.groupby("Parent", sort=False):
            out[parent] = f(out[list(g.iCode)], g.Weight.to_numpy(dtype=float))
    return out


def a_amean(x, w):
    return (x * w).sum(axis=1) / w.sum()


def a_gmean(x, w):
    return np.exp((np.log(x) * w).sum(axis=1) / w.sum())


def a_hmean(x, w):
    return w.sum() / (w / x).sum(axis=1)


def a_genmean(p):
    return lambda x, w: ((x ** p * w).sum(axis=1) / w.sum()) ** (1 / p)


def a_copeland(x, w):
    """COINr (>= 1.0) a_copeland: outranking matrix (weights where i > j plus half where equal; lower triangle
    = 1 - upper), then +1 if > 0.5, -1 if < 0.5, 0 if = 0.5, zero diagonal, row sums."""
    X = x.to_numpy(dtype=float)
    wn = w / w.sum()
    n = len(X)
    orm = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            orm[i, j] = wn[X[i] > X[j]].sum() + wn[X[i] == X[j]].sum() / 2
            orm[j, i] = 1 - orm[i, j]
    t = np.where(orm > 0.5, 1.0, np.where(orm < 0.5, -1.0, 0.0))
    np.fill_diagonal(t, 0.0)
    return pd.Series(t.sum(axis=1), index=x.index)


def a_mpi(x, w):
    """Mazziotta & Pareto (2016) MPI-: M - S * S / M, M = weighted mean, S = weighted population sd."""
    wn = w / w.sum()
    m = (x * wn).sum(axis=1)
    s = np.sqrt(((x.sub(m, axis=0)) ** 2 * wn).sum(axis=1))
    return m - s * s / m


def ranks_of(scores: pd.DataFrame) -> pd.DataFrame:
    return scores.rank(ascending=False, method="min")


def check_variant(sets, expected: pd.DataFrame, tol: float = TOL) -> None:
    scores, ranks = cli_build(*sets)
    cols = list(expected.columns)
    close(scores, expected[cols], tol=tol)
    # ranks of the aggregates follow from the scores (ties share the lowest rank)
    exp_r = ranks_of(expected[AGGS + ["Index"]])
    np.testing.assert_array_equal(ranks.loc[exp_r.index, AGGS + ["Index"]].to_numpy(), exp_r.to_numpy())


# -- the data in the store ------------------------------------------------------------------------------

def test_snapshot_part_holds_the_asem_data(store):
    d = pd.read_csv(DATA / "input_iData.csv").set_index("uCode")
    m = pd.read_csv(DATA / "input_iMeta.csv")
    codes = list(m.iCode[m.Type.isin(["Indicator", "Denominator"])])
    obs = store.observations(indicators=["asem_" + c for c in codes])
    assert set(obs.unit) == set(d.index) and set(obs.year) == {2018}
    wide = obs.pivot(index="unit", columns="indicator", values="value")
    for c in codes:
        np.testing.assert_array_equal(wide["asem_" + c].reindex(d.index).to_numpy(), d[c].to_numpy(dtype=float))
    # every ASEM unit is a country of the store
    units = store.units().set_index("code")
    assert (units.loc[d.index, "kind"] == "country").all()
    ind = store.indicators().set_index("code")
    assert ind.loc["asem_CO2", "higher_is_better"] == False  # noqa: E712  (Direction -1 in iMeta)
    assert ind.loc["asem_LPI", "name"] == "Logistics Performance Index"
    assert store.indicator("asem_Population")["source_code"] == "Population"
    # provenance: the checksum of the very input file, a licence, COINr's version
    o = store.origins().set_index("origin_id").loc[obs.origin_id.unique()[0]]
    assert o.sha256 == hashlib.sha256((DATA / "input_iData.csv").read_bytes()).hexdigest()
    assert "MIT" in o.licence and o.edition == "COINr 1.1.14" and o.publisher.startswith("JRC")


def test_unit_groups_from_the_store(store):
    d = pd.read_csv(DATA / "input_iData.csv").set_index("uCode")
    g = store.unit_groups(wide=True)
    for col in ["GDP_group", "GDPpc_group", "Pop_group", "EurAsia_group"]:
        assert (g[col].reindex(d.index) == d[col]).all(), col
    long = store.unit_groups(["AUT", "CHN"])
    assert set(long.columns) == {"unit", "grouping", "group", "origin_id"} and len(long) == 8


# -- default build = COINr's outputs --------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_cli(template_store_path, tmp_path_factory):
    import os
    import shutil

    home = tmp_path_factory.mktemp("asem_home")
    shutil.copyfile(template_store_path, home / "digimeter.duckdb")
    old = os.environ.get("DIGIMETER_HOME")
    os.environ["DIGIMETER_HOME"] = str(home)
    try:
        return cli_build()
    finally:
        if old is None:
            os.environ.pop("DIGIMETER_HOME", None)
        else:
            os.environ["DIGIMETER_HOME"] = old


def test_cli_build_asem_scores_and_ranks_equal_coinr(default_cli):
    scores, ranks = default_cli
    t = coinr("example_results_scores_ranks")
    for c in AGGS + ["Index"]:
        np.testing.assert_allclose(scores.loc[t.index, c], t[c], rtol=TOL, atol=TOL, err_msg=c)
        np.testing.assert_array_equal(ranks.loc[t.index, c].to_numpy(), t[f"{c}_rank"].to_numpy(), err_msg=c)


def test_cli_build_asem_every_node_equals_coinr_aggregated(default_cli):
    scores, _ = default_cli
    theirs = coinr("example_aggregated")
    assert set(theirs.columns) == set(scores.columns)  # 49 indicators + 10 aggregates + Index
    close(scores, theirs)


@pytest.mark.parametrize("stage, file", [
    ("denominated", "example_denominated"), ("imputed", "example_imputed"),
    ("screened", "example_screened"), ("treated", "example_treated"),
    ("normalised", "example_normalised")])
def test_build_stages_equal_coinr(store, stage, file):
    ix = _default_index(store)
    theirs = coinr(file)
    assert set(theirs.columns) <= set(ix.stages[stage].columns)
    close(ix.stages[stage], theirs)


_CACHE: dict = {}


def _default_index(store):
    if "ix" not in _CACHE:
        _CACHE["ix"] = build("asem", store)
    return _CACHE["ix"]


def test_root_is_coinr_index_and_groups_come_from_the_store(store):
    ix = _default_index(store)
    assert ix.name == "asem" and ix.meta().set_index("code").loc["asem", "name"] == "Sustainable Connectivity"
    assert "EurAsia_group" in ix.params["unit_meta"].columns
    assert len(ix.params["imputed"]) == 65 and (ix.params["imputed"].method == "mean_group").all()


# -- other COINr settings via --set, against independent computations ------------------------------------

def test_winmax_3(digimeter_home):
    """--set treat.winmax=3. No COINr output file exists for this setting: the expected values are COINr's
    Treat defaults (check_SkewKurt, winsorise up to winmax points, log_CT on the original values) written
    here from COINr's imputed data (example_imputed.csv), then min-max [0, 100] and arithmetic means."""
    imp = coinr("example_imputed")
    treated = imp.apply(lambda c: pd.Series(coinr_treat(c.to_numpy(), 3), index=c.index))
    expected = tree_aggregate(minmax(treated), a_amean)
    assert not np.allclose(treated, coinr("example_treated")[treated.columns])  # the setting matters
    check_variant(["treat.winmax=3"], expected)


def test_zscore_mean_10_sd_2(digimeter_home):
    """--set normalise.method=zscore --set normalise.mean=10 --set normalise.sd=2 (COINr's sensitivity
    alternative). No COINr output file exists: expected = (x*dir - mean) / sd * 2 + 10 on COINr's treated
    data, then weighted arithmetic means."""
    expected = tree_aggregate(zscore(coinr("example_treated"), 10, 2), a_amean)
    check_variant(["normalise.method=zscore", "normalise.mean=10", "normalise.sd=2"], expected)


@pytest.mark.parametrize("method, sets, f", [
    ("geometric", [], a_gmean),
    ("harmonic", [], a_hmean),
    ("generalised", ["aggregate.p=2"], a_genmean(2.0)),
    ("generalised", ["aggregate.p=-0.5"], a_genmean(-0.5)),
])
def test_power_means_on_minmax_1_100(digimeter_home, method, sets, f):
    """--set normalise.range=1,100 --set aggregate.method=geometric|harmonic|generalised. COINr's geometric
    and harmonic means need positive data, so (as COINr's own recipe) min-max goes to [1, 100] first.
    No COINr output file exists: expected = COINr's a_gmean / a_hmean / a_genmean formulas
    (exp(sum w log x / sum w), sum w / sum(w / x), (sum w x^p / sum w)^(1/p)) over COINr's treated data
    normalised here to [1, 100]."""
    expected = tree_aggregate(minmax(coinr("example_treated"), 1, 100), f)
    check_variant(["normalise.range=1,100", f"aggregate.method={method}", *sets], expected)


def test_copeland(digimeter_home):
    """--set aggregate.method=copeland. No COINr output file exists: expected = COINr (>= 1.0) a_copeland
    written here (weighted outranking matrix, +1/-1/0 per pairwise win/loss/tie, row sums) applied level by
    level to COINr's normalised data (example_normalised.csv)."""
    expected = tree_aggregate(coinr("example_normalised"), a_copeland)
    check_variant(["aggregate.method=copeland"], expected, tol=1e-9)


def test_mazziotta_pareto(digimeter_home):
    """--set normalise.method=zscore (mean 100, sd 10) --set aggregate.method=mazziotta-pareto. COINr has no
    Mazziotta-Pareto aggregation (so no COINr file either): expected = Mazziotta & Pareto (2016)
    MPI- = M - S^2 / M (weighted mean M, population sd S of the children) on COINr's treated data
    standardised here to mean 100, sd 10."""
    expected = tree_aggregate(zscore(coinr("example_treated"), 100, 10), a_mpi)
    check_variant(["normalise.method=zscore", "normalise.mean=100", "normalise.sd=10",
                   "aggregate.method=mazziotta-pareto"], expected)


def test_geometric_on_zeros_is_refused_as_coinr_does(store):
    # min-max [0, 100] has zeros: COINr's a_gmean stops; digimeter names the node and the stage
    with pytest.raises(SpecError, match=r"aggregate.method \(node '\w+'\)"):
        build("asem", store, changes={"aggregate.method": "geometric"})


def test_bad_method_names_name_the_stage_and_node(store, digimeter_home):
    with pytest.raises(SpecError, match=r"aggregate.method \(node 'Physical'\).*geometrc"):
        build("asem", store, changes={"aggregate.method": "geometrc"})
    with pytest.raises(SpecError, match="normalise: unknown normalisation method 'minmx'"):
        build("asem", store, changes={"normalise.method": "minmx"})
    with pytest.raises(SpecError, match="treat.method|unknown treatment method 'winsorize'"):
        build("asem", store, changes={"treat.method": "winsorize"})
    with pytest.raises(SpecError, match="group_by 'continent'.*EurAsia_group"):
        build("asem", store, changes={"impute.group_by": "continent"})
    from digimeter.cli import app

    res = CliRunner().invoke(app, ["build", "asem", "--format", "csv", "--set", "aggregate.method=geometrc"])
    assert res.exit_code == 1 and "Physical" in res.output and "geometrc" in res.output
