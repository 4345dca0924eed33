"""build_panel: one index per year, normalised per year or against a reference year; panel imputation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from digimeter.build import build, build_panel, panel_scores
from digimeter.errors import SpecError
from digimeter.store import Store

YEARS = range(2018, 2025)
PANEL_IMPUTE = {"impute": {"method": "panel", "panel_method": "constant"}}
MINMAX = {"normalise": {"method": "minmax", "range": [0, 100]}}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("store") / "s.duckdb")
    yield s
    s.close()


@pytest.fixture(scope="module")
def dn_reference(store):
    return build_panel("digital-nation", store, years=YEARS, normalise="reference", reference_year=2022,
                       changes={**PANEL_IMPUTE, **MINMAX})


def test_egdi_per_year_skips_years_between_editions(store):
    p = build_panel("egdi", store, years=YEARS, skip_missing=True)
    assert list(p) == [2018, 2020, 2022, 2024]
    for y, ix in p.items():
        assert ix.year == y and len(ix.score) == 193
        pub = store.observations(["egdi"], years=[y]).set_index("unit").value
        np.testing.assert_allclose(ix.score.loc[pub.index], pub, atol=1e-4)  # published to 4 decimals
    t = panel_scores(p)
    assert list(t.columns) == [2018, 2020, 2022, 2024] and t.notna().all().all()
    with pytest.raises(SpecError, match="no data"):
        build_panel("egdi", store, years=[2019])


def test_reference_normalisation_keeps_the_reference_parameters(dn_reference, store):
    p = dn_reference
    assert list(p) == list(YEARS)
    ref = p[2022]
    for y, ix in p.items():
        for k in ("min", "max"):
            pd.testing.assert_series_equal(ix.params["normalise"][k], ref.params["normalise"][k])
        assert ix.params["fixed"]["reference_year"] == 2022
    # the reference year itself is what a plain build of that year gives
    own = build("digital-nation", store, year=2022, changes={**PANEL_IMPUTE, **MINMAX})
    pd.testing.assert_frame_equal(own.scores, ref.scores, check_exact=True)
    # other years are on the reference scale, so they can leave [0, 100] ...
    early = p[2018].stages["normalised"]
    assert (early.min() < 0).any() or (early.max() > 100).any()
    # ... whereas per-year normalisation would have spanned [0, 100] each year
    per = build("digital-nation", store, year=2018, changes={**PANEL_IMPUTE, **MINMAX})
    assert per.stages["normalised"].min().min() == 0 and per.stages["normalised"].max().max() == 100
    assert not np.allclose(per.score.reindex(p[2018].score.index), p[2018].score)


def test_every_year_rebuilds_exactly(dn_reference):
    for y in (2018, 2024):
        ix = dn_reference[y]
        r = ix.rebuild()
        pd.testing.assert_frame_equal(r.scores, ix.scores, check_exact=True)
        pd.testing.assert_frame_equal(r.stages["normalised"], ix.stages["normalised"], check_exact=True)
    # a variant that changes the normalisation fits afresh; one that changes weights keeps the reference
    ix = dn_reference[2018]
    assert "fixed" not in ix.variant({"normalise.range": [1, 100]}).params
    assert ix.variant({"weights.economy": 2.0}).params["fixed"]["reference_year"] == 2022


def test_panel_imputation_reported_and_fills_series_that_start_later(dn_reference):
    ix = dn_reference[2018]
    rep = ix.params["imputed"]
    assert set(rep.method) == {"panel:constant"}
    # the ITU mobile-broadband basket starts in 2023: 2018 values are carried back from the first one
    assert ix.stages["raw"]["mobile_affordability"].isna().all()
    assert ix.stages["imputed"]["mobile_affordability"].notna().sum() > 100
    assert len(rep[rep.indicator == "mobile_affordability"]) == ix.stages["imputed"]["mobile_affordability"].notna().sum()


def test_latest_with_max_time_equals_a_year_window(store):
    """LOCF over the store's history with max_time 3 = the latest value within a 3-year window."""
    win = build("digital-nation", store, year=2024, changes={"screen.after": "impute"})
    locf = build("digital-nation", store, year=2024,
                 changes={"year_window": 0, "screen.after": "impute",
                          "impute": {"method": "panel", "panel_method": "latest", "max_time": 3}})
    lag = win.panel.lagged()
    assert len(locf.params["imputed"]) == lag.unit.isin(win.scores.index).sum()
    pd.testing.assert_frame_equal(locf.scores, win.scores, check_exact=False, rtol=1e-12)


def test_goalposts_same_per_year_or_reference(store):
    a = build_panel("digital-nation", store, years=[2023, 2024], normalise="reference")
    b = build_panel("digital-nation", store, years=[2023, 2024])
    pd.testing.assert_frame_equal(panel_scores(a), panel_scores(b), check_exact=True)
    with pytest.raises(SpecError, match="per_year or reference"):
        build_panel("digital-nation", store, years=[2024], normalise="global")
