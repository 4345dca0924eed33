"""Screening and denomination: parity with COINr's ASEM example."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from digimeter.errors import DataError, SpecError
from digimeter.stages.screen import data_availability, denominate, screen_units

DATA = Path(__file__).parent / "data" / "coinr_asem"


@pytest.fixture(scope="module")
def asem():
    idata = pd.read_csv(DATA / "input_iData.csv").set_index("uCode")
    imeta = pd.read_csv(DATA / "input_iMeta.csv")
    return idata, imeta


def test_denominate_reproduces_coinr(asem):
    idata, imeta = asem
    ind = imeta.loc[imeta["Type"] == "Indicator"]
    by = {r.iCode: r.Denominator for r in ind.itertuples() if isinstance(r.Denominator, str)}
    assert len(by) > 10
    expected = pd.read_csv(DATA / "example_denominated.csv").set_index("uCode")
    out = denominate(idata[list(ind["iCode"])], idata[["Area", "Energy", "GDP", "Population"]], by)
    out = out.loc[expected.index, expected.columns]
    np.testing.assert_allclose(out.to_numpy(), expected.to_numpy(), rtol=1e-14, atol=0)
    np.testing.assert_array_equal(out.isna(), expected.isna())


def test_denominate_scale_and_errors(asem):
    idata, _ = asem
    x = idata[["Flights", "LPI"]]
    den = idata[["Population"]]
    out = denominate(x, den, {"Flights": "Population"}, scale=1000)
    np.testing.assert_allclose(out["Flights"], idata["Flights"] / idata["Population"] * 1000)
    np.testing.assert_array_equal(out["LPI"], x["LPI"])
    with pytest.raises(SpecError, match="Area"):
        denominate(x, den, {"Flights": "Area"})
    with pytest.raises(SpecError):
        denominate(x, den, {"Nope": "Population"})
    zero = den.copy()
    zero.iloc[2, 0] = 0.0
    with pytest.raises(DataError, match="zero"):
        denominate(x, zero, {"Flights": "Population"})
    with pytest.raises(DataError):
        denominate(x, den.iloc[:5], {"Flights": "Population"})


def test_screening_reproduces_coinr_asem():
    imp = pd.read_csv(DATA / "example_imputed.csv").set_index("uCode")
    scr = pd.read_csv(DATA / "example_screened.csv").set_index("uCode")
    res = screen_units(imp, min_availability=0.9)
    assert res.mask.all()
    pd.testing.assert_frame_equal(res.data, scr)


def test_screening_of_denominated_data_by_hand():
    den = pd.read_csv(DATA / "example_denominated.csv").set_index("uCode")
    res = screen_units(den, min_availability=0.9, action="flag")
    avail = 1 - den.isna().sum(axis=1) / den.shape[1]
    np.testing.assert_allclose(res.report["availability"], avail.to_numpy())
    np.testing.assert_array_equal(res.mask, (avail >= 0.9).to_numpy())
    assert res.data is den
    assert (res.report.loc[~res.mask, "why"] == "availability below threshold").all()


def test_zeros_force_and_flags():
    x = np.array([[0.0, 0.0, 1.0, np.nan],
                  [1.0, 2.0, 3.0, 4.0],
                  [np.nan, np.nan, np.nan, 1.0],
                  [0.0, 0.0, 0.0, 0.0]])
    avail, zs = data_availability(x)
    np.testing.assert_allclose(avail, [0.75, 1, 0.25, 1])
    np.testing.assert_allclose(zs, [2 / 3, 0, 0, 1])
    res = screen_units(x, min_availability=0.5, max_zero_share=0.5, units=list("abcd"),
                       force_include=["c"], force_exclude=["b"])
    np.testing.assert_array_equal(res.mask, [False, False, True, False])
    assert res.data.shape == (1, 4)
    assert list(res.report["why"]) == ["too many zeros", "forced out", "forced in", "too many zeros"]
    with pytest.raises(DataError):
        screen_units(x, force_include=["zz"], units=list("abcd"))
    with pytest.raises(SpecError):
        screen_units(x, action="delete")


def test_leading_axes_flag_only():
    x = np.ones((3, 5, 4))
    x[1, 2, :3] = np.nan
    res = screen_units(x, action="flag")
    assert res.mask.shape == (3, 5) and not res.mask[1, 2] and res.mask.sum() == 14
    with pytest.raises(SpecError):
        screen_units(x, action="drop")
