"""The whole pipeline against COINr: the ASEM example, stage by stage, from a digimeter spec.

`tests/data/coinr_asem/asem.yaml` is COINr's ASEM example (input_iMeta.csv) as a spec; the panel is
input_iData.csv. COINr 1.1.14's outputs at every stage are the CSVs next to it (17 significant digits).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from digimeter.build import compute
from digimeter.errors import SpecError
from digimeter.panel import Panel
from digimeter.spec import load_spec, parse_spec

DATA = Path(__file__).parent / "data" / "coinr_asem"
GROUPS = ["GDP_group", "GDPpc_group", "Pop_group", "EurAsia_group"]
DENOMS = ["Area", "Energy", "GDP", "Population"]
RTOL = 1e-12  # the CSVs hold 17 significant digits


def asem_panel() -> tuple[Panel, pd.DataFrame]:
    d = pd.read_csv(DATA / "input_iData.csv").set_index("uCode")
    d.index.name = "unit"
    cols = [c for c in d.columns if c not in ["uName", "Time"] + GROUPS]
    vals = d[cols].astype(float)
    vals.columns.name = "indicator"
    years = pd.DataFrame(2018, index=vals.index, columns=vals.columns)
    panel = Panel(values=vals, years=years, origins=pd.DataFrame(index=vals.index, columns=vals.columns),
                  year=2018, window=0)
    unit_meta = d[["uName"] + GROUPS].rename(columns={"uName": "name"})
    return panel, unit_meta


@pytest.fixture(scope="module")
def spec():
    return load_spec(DATA / "asem.yaml")


@pytest.fixture(scope="module")
def asem(spec):
    panel, um = asem_panel()
    return compute(spec, panel, unit_meta=um)


def coinr(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv").set_index("uCode")


def same(ours: pd.DataFrame, theirs: pd.DataFrame, rtol: float = RTOL, atol: float = 1e-9) -> None:
    assert sorted(ours.index) == sorted(theirs.index)
    cols = [c for c in theirs.columns if c in ours.columns]
    assert len(cols) == len([c for c in theirs.columns if c not in ("uName",)]) or len(cols) > 0
    o = ours.loc[theirs.index, cols].to_numpy(dtype=float)
    t = theirs[cols].to_numpy(dtype=float)
    np.testing.assert_array_equal(np.isnan(o), np.isnan(t))
    np.testing.assert_allclose(o, t, rtol=rtol, atol=atol)


def test_spec_is_the_imeta_tree(spec):
    m = pd.read_csv(DATA / "input_iMeta.csv")
    ours = spec.meta().set_index("code")
    for r in m[m.Type.isin(["Indicator", "Aggregate"])].itertuples():
        code = "asem" if r.iCode == "Index" else r.iCode
        assert ours.loc[code, "level"] == r.Level
        assert ours.loc[code, "weight"] == r.Weight
        if r.Level > 1:
            continue
        assert ours.loc[code, "parent"] == r.Parent
        assert ours.loc[code, "direction"] == r.Direction
        den = spec.denominators().get(r.iCode)
        assert (den[0] if den else None) == (r.Denominator if isinstance(r.Denominator, str) else None)
    assert (ours.kind == "indicator").sum() == 49


@pytest.mark.parametrize("stage, file", [
    ("denominated", "example_denominated"), ("imputed", "example_imputed"),
    ("screened", "example_screened"), ("treated", "example_treated"),
    ("normalised", "example_normalised")])
def test_every_stage_equals_coinr(asem, stage, file):
    same(asem.stages[stage], coinr(file))


def test_aggregated_equals_coinr(asem):
    theirs = coinr("example_aggregated").rename(columns={"Index": "asem"})
    assert set(theirs.columns) == set(asem.scores.columns)
    same(asem.scores, theirs)


def test_scores_and_ranks_equal_coinr(asem):
    t = coinr("example_results_scores_ranks")
    aggs = ["Physical", "ConEcFin", "Political", "Instit", "P2P", "Environ", "Social", "SusEcFin", "Conn", "Sust"]
    ours_s = asem.scores.rename(columns={"asem": "Index"})
    ours_r = asem.ranks.rename(columns={"asem": "Index"})
    for c in aggs + ["Index"]:
        np.testing.assert_allclose(ours_s.loc[t.index, c], t[c], rtol=RTOL)
        np.testing.assert_array_equal(ours_r.loc[t.index, c].to_numpy(), t[f"{c}_rank"].to_numpy())
    # the file is sorted by the index rank
    assert list(asem.rank.sort_values(kind="stable").index[:3]) == list(t.index[:3])


def test_treatment_log_equals_coinr(asem):
    from digimeter.stages.treat import to_coinr_log

    ours = to_coinr_log(asem.params["treat"]).set_index("iCode")
    theirs = pd.read_csv(DATA / "example_treatment_log.csv").set_index("iCode")
    for c in theirs.columns:
        if theirs[c].dtype == bool or c.endswith("Pass"):
            assert (ours.loc[theirs.index, c].astype(float).fillna(-1).to_numpy()
                    == theirs[c].astype(float).fillna(-1).to_numpy()).all(), c
        else:
            np.testing.assert_allclose(ours.loc[theirs.index, c].astype(float), theirs[c].astype(float),
                                       rtol=1e-10, atol=1e-12, err_msg=c)


def test_every_imputed_cell_reported_and_screening_report(asem):
    rep = asem.params["imputed"]
    den = asem.stages["denominated"]
    assert len(rep) == int(den.isna().sum().sum()) == 65
    assert asem.params["screen"]["kept"].all() and len(asem.excluded) == 0


def test_minimal_pipeline_equals_coinr(spec):
    """minimal_aggregated.csv: raw data, min-max [0, 100], arithmetic means; nothing else."""
    panel, um = asem_panel()
    s = spec.with_changes({"denominate": {}, "impute": {"method": "none"}, "treat": {"method": "none"},
                           "screen": {"min_availability": 0.0}})
    ix = compute(s, panel, unit_meta=um)
    theirs = coinr("minimal_aggregated").rename(columns={"Index": "asem"})
    same(ix.scores, theirs)


def test_effective_weights_and_rebuild(asem):
    ew = asem.params["effective_weights"]
    meta = asem.meta()
    assert ew[meta.code[meta.kind == "indicator"]].sum() == pytest.approx(1.0)
    # with complete data and arithmetic means the index is the effective-weighted sum of indicators
    n = asem.stages["normalised"]
    np.testing.assert_allclose((n * ew[n.columns]).sum(axis=1), asem.score, rtol=1e-12)
    r = asem.rebuild()
    pd.testing.assert_frame_equal(r.scores, asem.scores, check_exact=True)


# -- other COINr settings expressed as changes (no special case of the default) ---------------------

def test_winmax_changes_treatment(asem):
    v = asem.variant({"treat.winmax": 1})
    log = v.params["treat"].set_index("indicator")
    assert (log.nwin.dropna() <= 1).all()
    assert not np.allclose(v.score, asem.score)


def test_zscore_and_geometric_variants(asem):
    z = asem.variant({"normalise.method": "zscore", "normalise.mean": 10, "normalise.sd": 2})
    n = z.stages["normalised"]
    np.testing.assert_allclose(n.mean(), 10, atol=1e-9)
    np.testing.assert_allclose(n.std(ddof=1), 2, rtol=1e-9)
    g = asem.variant({"normalise.range": [1, 100], "aggregate.method": "geometric"})
    # COINr's geometric recipe: min-max [1, 100] then a_gmean up the tree; check one pillar by hand
    kids = ["LPI", "Flights", "Ship", "Bord", "Elec", "Gas", "ConSpeed", "Cov4G"]
    x = g.stages["normalised"][kids]
    np.testing.assert_allclose(g.scores["Physical"], np.exp(np.log(x).mean(axis=1)), rtol=1e-12)


@pytest.mark.parametrize("method", ["harmonic", "generalised", "copeland", "mazziotta-pareto", "median"])
def test_other_aggregations_run(asem, method):
    changes = {"aggregate.method": method, "normalise.range": [1, 100]}
    if method == "generalised":
        changes["aggregate.p"] = 2
    v = asem.variant(changes)
    assert v.score.notna().all() and v.rank.min() == 1


def test_by_level_and_per_node_methods(asem):
    v = asem.variant({"normalise.range": [1, 100],
                      "aggregate.by_level": {2: "geometric", 3: {"method": "generalised", "p": 0.5}}})
    kids = ["LPI", "Flights", "Ship", "Bord", "Elec", "Gas", "ConSpeed", "Cov4G"]
    x = v.stages["normalised"][kids]
    np.testing.assert_allclose(v.scores["Physical"], np.exp(np.log(x).mean(axis=1)), rtol=1e-12)
    pill = ["Physical", "ConEcFin", "Political", "Instit", "P2P"]
    np.testing.assert_allclose(v.scores["Conn"], np.sqrt(v.scores[pill]).mean(axis=1) ** 2, rtol=1e-12)
    # the index itself (level 4) stays arithmetic
    np.testing.assert_allclose(v.score, v.scores[["Conn", "Sust"]].mean(axis=1), rtol=1e-12)


def test_zero_guard_passes_to_geometric_only(asem):
    v = asem.variant({"aggregate.method": "geometric", "aggregate.zero_guard": "rescale",
                      "aggregate.by_level": {4: "arithmetic"}})
    assert v.score.notna().all()
    with pytest.raises(SpecError, match="aggregate.method"):
        asem.variant({"aggregate.method": "geometric"})  # zeros after min-max [0, 100]


def test_bad_methods_name_the_stage_and_node(asem):
    with pytest.raises(SpecError, match="unknown normalisation method 'minmx'"):
        asem.variant({"normalise.method": "minmx"})
    with pytest.raises(SpecError, match="Physical"):
        asem.variant({"aggregate.method": "geometrc"})
    with pytest.raises(SpecError, match="treat.method"):
        asem.variant({"treat.method": "winsorize"})
    with pytest.raises(SpecError, match="normalise.indiv.LPI"):
        asem.variant({"normalise.indiv": {"LPI": {"method": "zscore", "sdd": 2}}})
    with pytest.raises(SpecError, match="group_by"):
        asem.variant({"impute.group_by": "continent"})
    with pytest.raises(SpecError, match="screen"):
        asem.variant({"screen.min_availabilty": 0.5})


# -- stage options ------------------------------------------------------------------------------

def test_screen_drop_flag_force(asem):
    v = asem.variant({"screen": {"min_availability": 0.97}})
    assert len(v.excluded) > 0 and not set(v.excluded.index) & set(v.scores.index)
    f = asem.variant({"screen": {"min_availability": 0.97, "action": "flag"}})
    assert len(f.excluded) == 0 and len(f.scores) == 51 and (~f.params["screen"]["kept"]).sum() == 0
    assert (f.params["screen"]["low_data"]).sum() == len(v.excluded)
    u = v.excluded.index[0]
    w = asem.variant({"screen": {"min_availability": 0.97, "force_include": [u], "force_exclude": ["AUT"]}})
    assert u in w.scores.index and "AUT" not in w.scores.index
    assert w.excluded.loc["AUT", "reason"] == "forced out"
    z = asem.variant({"screen": {"max_zero_share": 0.05}})
    assert (z.excluded.reason.str.contains("zeros")).all()


def test_impute_methods(asem):
    m = asem.variant({"impute": {"method": "median"}})
    den = asem.stages["denominated"]
    col = den.columns[den.isna().any()][0]
    miss = den.index[den[col].isna()]
    np.testing.assert_allclose(m.stages["imputed"].loc[miss, col], den[col].median())
    g = asem.variant({"impute": {"method": "median", "group_by": "GDP_group"}})
    assert (g.params["imputed"].method == "median_group").all()


def test_treat_boxcox_and_indiv(asem):
    b = asem.variant({"treat": {"method": "boxcox", "lambda": 0.5}})
    log = b.params["treat"].set_index("indicator")
    assert (log.f2[log.pass0 == False] == "boxcox").all()  # noqa: E712
    i = asem.variant({"treat.indiv": {"Flights": "none", "Gas": {"winmax": 1}}})
    np.testing.assert_array_equal(i.stages["treated"]["Flights"], asem.stages["imputed"]["Flights"])


def test_normalise_per_indicator_overrides(asem):
    v = asem.variant({"normalise.indiv": {"LPI": {"method": "dist2target"},
                                          "Ship": {"method": "rank"}, "Bord": "percentile"}})
    n, x = v.stages["normalised"], asem.stages["treated"]
    t = asem.spec.nodes()["LPI"].target
    np.testing.assert_allclose(n["LPI"], (x["LPI"] - x["LPI"].min()) / (t - x["LPI"].min()), rtol=1e-12)
    assert n["Ship"].min() == 1 and n["Bord"].min() == 0 and n["Bord"].max() <= 100
    pd.testing.assert_series_equal(n["Flights"], asem.stages["normalised"]["Flights"])
    fits = {tuple(f["codes"]): f["method"] for f in v.params["normalise_fit"]}
    assert fits[("LPI",)] == "dist2target"
    r = asem.variant({"normalise": {"method": "dist2ref", "ref_unit": "DEU"}})
    assert (r.stages["normalised"].loc["DEU"].dropna() == 1).all()


def test_pca_and_optimised_weights(asem):
    with pytest.warns(UserWarning):
        p = asem.variant({"weights.method": "pca"})
    w = p.params["weights"]
    assert (w >= 0).all() and not np.allclose(w[p.stages["normalised"].columns], 1)
    assert p.params["effective_weights"][p.stages["normalised"].columns].sum() == pytest.approx(1.0)
    o = asem.variant({"weights": {"method": "optimised", "level": 3, "target": {"Conn": 2, "Sust": 1}}})
    res = o.params["weights_optimised"]
    assert set(res.index) == {"Conn", "Sust"}
    c = res.corr_with_index
    assert abs(c["Conn"] / c.sum() - 2 / 3) < abs(asem.scores[["Conn", "Sust"]].corrwith(asem.score)["Conn"] / asem.scores[["Conn", "Sust"]].corrwith(asem.score).sum() - 2 / 3)
    e = asem.variant({"weights.method": "equal", "weights.Flights": 0})
    assert e.params["effective_weights"]["Flights"] == 0


def test_denominate_with_scale():
    s = parse_spec({"name": "t", "year": 2018,
                    "denominate": {"a": {"by": "pop", "scale": 1000}, "b": "pop"},
                    "tree": [{"code": "a", "indicator": "x"}, {"code": "b", "indicator": "y"}]})
    units = ["A", "B", "C"]
    vals = pd.DataFrame({"x": [1.0, 2, 3], "y": [4.0, 5, 6], "pop": [10.0, 20, 30]}, index=units)
    panel = Panel(values=vals, years=vals * 0, origins=vals * 0, year=2018, window=0)
    ix = compute(s, panel)
    np.testing.assert_allclose(ix.stages["denominated"]["a"], [100, 100, 100])
    np.testing.assert_allclose(ix.stages["denominated"]["b"], [0.4, 0.25, 0.2])
    with pytest.raises(SpecError, match="denominat"):
        compute(s.with_changes({"denominate": {"a": "gdp"}}), panel)


def test_weight_variants_equal_a_full_compute(asem):
    """Index.variant re-aggregates only when weights/aggregation change; same numbers as a full build."""
    panel, um = asem_panel()
    for ch in ({"weights.Physical": 0.0}, {"aggregate.method": "median"}, {"weights.method": "equal"}):
        v = asem.variant(ch)
        full = compute(asem.spec.with_changes(ch), panel, unit_meta=um)
        pd.testing.assert_frame_equal(v.scores, full.scores, check_exact=True)
        pd.testing.assert_series_equal(v.params["effective_weights"], full.params["effective_weights"])


def test_audit_tables(asem):
    a = asem.audit()
    t = a.tables()
    assert set(t) == {"correlations", "flags", "parents", "cronbach", "pca", "removal", "strengths"}
    assert len(a.removal) == 49 + 8 and set(a.rank_changes.columns) == set(a.removal.code)
    assert (a.removal.mean_abs_rank_change >= 0).all()
    # removing a node is the same as a variant with its weight at 0
    v = asem.variant({"weights.Ship": 0.0})
    np.testing.assert_array_equal(a.rank_changes["Ship"], asem.rank - v.rank)
    assert set(a.cronbach.group) == {"Physical", "ConEcFin", "Political", "Instit", "P2P", "Environ", "Social",
                                     "SusEcFin", "Conn", "Sust", "asem"}
    assert a.cronbach.alpha.between(-5, 1).all()
    assert set(a.corr_flags.flag) <= {"collinear", "negative"}
    s = a.strengths[a.strengths.unit == "CHE"]
    assert (s.kind == "strength").sum() == 5 and (s.kind == "weakness").sum() == 5
    assert s[s.kind == "strength"]["rank"].max() <= s[s.kind == "weakness"]["rank"].min()


def test_cli_style_settings(asem):
    """--set values as the CLI parses them (YAML scalars): range '1,100', method names with hyphens."""
    import yaml

    sets = {"normalise.range": yaml.safe_load("1,100"), "aggregate.method": "mazziotta-pareto"}
    v = asem.variant(sets)
    n = v.stages["normalised"]
    assert n.min().min() == pytest.approx(1) and n.max().max() == pytest.approx(100)
    assert v.score.notna().all()
