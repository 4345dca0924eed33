"""The forecasting method's backtest over every country (issue 5's must-show), and its document.

Fit on data up to each origin (2012, 2015, 2018), forecast 1-8 years ahead, compare with the held-out
values of the bundled ITU series.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numtext import missing_lines, numbers_agree

from digimeter.targets import METHODS_COMPARED, backtest_markdown, backtest_report, method_comparison

DOC = Path(__file__).resolve().parents[1] / "docs" / "backtest.md"
INDICATORS = ("internet_users_pct", "mobile_broadband_per100", "fixed_broadband_per100")


@pytest.fixture(scope="module")
def reports(tmp_path_factory, template_store_path):
    import shutil

    from digimeter.store import Store

    p = tmp_path_factory.mktemp("bt") / "s.duckdb"
    shutil.copyfile(template_store_path, p)
    with Store(p) as s:
        return {ind: backtest_report(s, ind) for ind in INDICATORS}


def chosen(rep):
    return rep.summary[rep.summary.chosen].set_index("origin")


def test_internet_use_method_beats_the_walk_with_calibrated_intervals(reports):
    m = chosen(reports["internet_users_pct"])
    assert list(m.index) == [2012, 2015, 2018]
    assert (m.mae < m.mae_baseline).all()                 # the random walk with drift
    assert (m.mae <= m.mae_rw_clipped + 0.05).all()       # and (within 0.05 pp) the clipped walk
    assert m.coverage80.between(0.70, 0.90).all()
    assert m.coverage95.between(0.88, 0.98).all()
    assert (m.n > 500).all()


def test_broadband_results_are_what_the_document_says(reports):
    fixed = chosen(reports["fixed_broadband_per100"])
    assert (fixed.mae < fixed.mae_baseline).all()
    mobile = chosen(reports["mobile_broadband_per100"])
    assert (mobile.mae < mobile.mae_baseline).all()
    # where mobile broadband falls short (its 80 % intervals undercover), the document says so
    assert (mobile.coverage80 < 0.78).sum() >= 2
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    assert "mobile broadband's intervals undercover (80 %: 0.72 / 0.77 / 0.72" in text


def test_coverage_by_level_band_is_reported(reports):
    bands = reports["internet_users_pct"].by_band
    assert len(bands) >= 3 and {"coverage80", "coverage95"} <= set(bands.columns)


@pytest.fixture(scope="module")
def comparisons(reports, tmp_path_factory, template_store_path):
    """Each indicator backtested with every combination method (`--compare-methods`)."""
    import shutil

    from digimeter.store import Store

    p = tmp_path_factory.mktemp("btm") / "s.duckdb"
    shutil.copyfile(template_store_path, p)
    with Store(p) as s:
        return {ind: method_comparison([reports[ind]] + [backtest_report(s, ind, method=m)
                                                         for m in METHODS_COMPARED if m != reports[ind].method])
                for ind in INDICATORS}


def test_the_mean_wins_internet_use_against_per_series_choices(comparisons):
    """The reasons docs/backtest.md gives for the default method: the pooled model ("auto") beats every
    per-country combination, and among those the mean beats per-series choices."""
    c = comparisons["internet_users_pct"]
    assert (c[c.best].method.isin(["auto", "pooled"])).all() and set(c[c.best].origin) == {2012, 2015, 2018}
    assert (c[c.method == "select"].mae.to_numpy() > c[c.method == "mean"].mae.to_numpy()).all()


def test_document_tables_are_the_computed_ones(reports, comparisons):
    """docs/backtest.md's tables are generated (`digimeter backtest ... --markdown`), never typed."""
    text = DOC.read_text(encoding="utf-8")
    generated = backtest_markdown([reports[i] for i in INDICATORS], comparisons)
    rows = [line for line in generated.splitlines() if line.startswith("|")]
    missing = missing_lines(rows, text)  # number by number, within one unit of the last printed digit
    assert not missing, f"{len(missing)} table rows differ from docs/backtest.md, e.g. {missing[:2]}; regenerate it"


def test_level_calibration_is_off_because_it_undercovers(template_store_path, tmp_path):
    """docs/backtest.md's reason for leaving calibration by level band off: it undercovers."""
    import shutil

    from digimeter.store import Store

    shutil.copyfile(template_store_path, tmp_path / "s.duckdb")
    with Store(tmp_path / "s.duckdb") as s:
        rep = backtest_report(s, "internet_users_pct", method="mean", level_calibration=True)
    m = chosen(rep)
    # a coverage is a share of ~1,500 forecasts: one interval more or less (another machine's curve fits)
    # moves it by 0.001, so compare within one unit of the printed digit, never the rounding
    got = m.coverage80.tolist()
    assert all(numbers_agree(f"{g:.3f}", w) for g, w in zip(got, ("0.77", "0.72", "0.71"))), got
    assert max(got) < 0.80   # undercovers at every origin: the reason it is off
    assert "0.77 / 0.72 / 0.71" in " ".join(DOC.read_text(encoding="utf-8").split())


# ------------------------------------------------------------------ issue 14: the pooled forecaster

#: MAE ratio to the unclipped random walk with drift of the crude pooled nearest-neighbour reference
#: (../shared/methods/forecast_backtest_reference.md, addendum), and the issue's goal
REFERENCE = {2012: 0.61, 2015: 0.63, 2018: 0.73}
GOAL = {2012: 0.60, 2015: 0.60, 2018: 0.70}


def test_default_method_is_the_pooled_model_and_beats_the_pooled_reference(reports):
    rep = reports["internet_users_pct"]
    assert rep.method == "auto"
    m = chosen(rep)
    assert list(m.index) == [2012, 2015, 2018]
    for T in (2012, 2015, 2018):
        assert m.loc[T, "ratio"] <= REFERENCE[T]
        assert m.loc[T, "ratio"] <= GOAL[T]
    assert (m.mae < m.mae_rw_clipped).all()


def test_pooled_default_has_small_bias_and_calibrated_intervals(reports):
    m = chosen(reports["internet_users_pct"])
    assert (m.bias.abs() <= 1.0).all()                  # points of internet use
    assert m.coverage80.between(0.75, 0.85).all()
    assert m.coverage95.between(0.92, 0.98).all()


def test_broadband_and_4g_beat_the_walk_at_every_origin(reports, template_store_path, tmp_path):
    import shutil

    from digimeter.store import Store

    for ind in ("mobile_broadband_per100", "fixed_broadband_per100"):
        m = chosen(reports[ind])
        assert list(m.index) == [2012, 2015, 2018]
        assert (m.ratio < 1).all(), ind
    shutil.copyfile(template_store_path, tmp_path / "s.duckdb")
    with Store(tmp_path / "s.duckdb") as s:
        g = chosen(backtest_report(s, "pop_cov_4g_pct"))
    # 4G coverage starts in 2012: only the 2018 origin has five years of history
    assert list(g.index) == [2018]
    assert (g.mae < g.mae_rw_clipped).all() and (g.ratio < 1).all()
    assert g.coverage80.between(0.75, 0.90).all() and g.coverage95.between(0.90, 0.98).all()


def test_an_origin_before_the_first_year_names_the_first_year_and_a_usable_origin(template_store_path, tmp_path):
    """``digimeter backtest pop_cov_4g_pct --origin 2010`` was an IndexError: 4G coverage starts in 2012."""
    import shutil

    from digimeter.errors import DataError
    from digimeter.store import Store

    shutil.copyfile(template_store_path, tmp_path / "s.duckdb")
    with Store(tmp_path / "s.duckdb") as s, pytest.raises(DataError) as e:
        backtest_report(s, "pop_cov_4g_pct", origins=(2010, 2018))
    # 2016 is the first year with five years of history, 2017 the first with out-of-sample errors to
    # calibrate the intervals on
    assert str(e.value) == "no data before 2012 for pop_cov_4g_pct; choose --origin 2017 or later"


def test_reliability_of_p_reach_is_reported_and_what_the_document_says(reports):
    """The reliability tables check a target's answer, P(value >= threshold) for a country below it, per
    origin: the bins add up, and what docs/backtest.md states is there (internet use given 0.3-0.7:
    over-optimistic at 2012, under-confident at 2018; mobile broadband over-optimistic at every origin)."""
    rel = reports["internet_users_pct"].reliability
    assert sorted(set(rel.origin)) == [2012, 2015, 2018]
    for _origin, r in rel.groupby("origin"):
        bins, total = r[r.predicted_bin != "all"], r[r.predicted_bin == "all"].iloc[0]
        assert bins.n.sum() == total.n > 1_000 and 0 <= total.brier <= 0.25
        assert all(0 <= p <= 1 and 0 <= q <= 1 for p, q in zip(bins.predicted, bins.realised))
    mid = rel[rel.predicted_bin == "0.3-0.7"].set_index("origin")
    assert mid.realised[2012] < mid.predicted[2012] - 0.2 and mid.realised[2018] > mid.predicted[2018] + 0.1
    mob = reports["mobile_broadband_per100"].reliability
    mob = mob[mob.predicted_bin == "0.3-0.7"]
    assert (mob.realised < mob.predicted - 0.15).all() and len(mob) == 3
    doc = " ".join(DOC.read_text(encoding="utf-8").split())
    for origin, said, true in ((2012, mid.predicted[2012], mid.realised[2012]),
                               (2018, mid.predicted[2018], mid.realised[2018])):
        assert f"| internet use | {origin} | 0.3-0.7 | {said:.2f} | {true:.2f} |" in doc


def test_reliability_table_of_calibrated_probabilities_lines_up():
    """Outcomes drawn with the stated probabilities: every bin's realised share is near its predicted
    mean, and the Brier score is that of a calibrated forecast (mean of p (1 - p))."""
    from digimeter.targets.backtest import reliability_table

    rng = np.random.default_rng(1)
    p = rng.random(40_000)
    exc = pd.DataFrame({"threshold": 1.0, "predicted": p, "realised": (rng.random(p.size) < p).astype(float)})
    rel = reliability_table(exc)
    assert set(rel.origin) == {"all"}
    for r in rel[rel.predicted_bin != "all"].itertuples():
        assert abs(r.realised - r.predicted) < 0.03, r
    assert rel.brier.iloc[-1] == pytest.approx(np.mean(p * (1 - p)), abs=0.01)
