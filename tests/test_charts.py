"""Charts: pure functions from data to altair specs, accessible style, the source under every chart."""

import json

import pandas as pd
import pytest

from digimeter import charts as C


def _spec(ch):
    return ch.to_dict()


def test_source_under_every_chart_and_palette():
    t = pd.DataFrame({"unit": ["A", "B", "KAZ"], "name": ["a", "b", "Kazakhstan"], "s": [1.0, 2.0, 3.0], "rank": [3, 2, 1]})
    ch = C.score_strip(t, score="s", unit="KAZ", x_title="score (0-1)", source="Source: UN DESA, E-Gov Survey (2024)")
    d = _spec(ch)
    assert d["title"]["orient"] == "bottom" and "UN DESA" in " ".join(d["title"]["text"])
    assert C.HIGHLIGHT in json.dumps(d) and C.HIGHLIGHT in C.OKABE_ITO
    with pytest.raises(ValueError):
        C.style(ch, source="")


def test_long_sources_wrap():
    lines = C.wrap("word " * 100, width=50)
    assert all(len(x) <= 50 for x in lines) and len(lines) > 5


def test_axes_are_labelled():
    df = pd.DataFrame({"pillar": ["P1", "P2"] * 2, "series": ["KAZ", "KAZ", "leader", "leader"], "score": [1, 2, 3, 4]})
    d = json.dumps(_spec(C.pillar_profile(df, x_title="pillar score (0-100)", source="Source: x")))
    assert "pillar score (0-100)" in d
    h = pd.DataFrame({"year": [2020, 2021], "value": [80.0, 85.0]})
    q = pd.DataFrame({"year": [2022, 2023], "lo90": [80, 81], "lo50": [84, 85], "median": [86, 88], "hi50": [88, 90], "hi90": [90, 95]})
    d = json.dumps(_spec(C.fan_chart(h, q, y_title="Internet users (% of population)", source="Source: ITU", target=95, deadline=2028)))
    assert "Internet users (% of population)" in d and "95" in d


def test_long_axis_titles_break_into_lines():
    h = pd.DataFrame({"year": [2020, 2021], "value": [80.0, 85.0]})
    q = pd.DataFrame({"year": [2022, 2023], "lo90": [80, 81], "lo50": [84, 85], "median": [86, 88], "hi50": [88, 90], "hi90": [90, 95]})
    long = "Households with Internet access at home (% of households), as published by the ITU"
    text = json.dumps(_spec(C.fan_chart(h, q, y_title=long, source="Source: ITU")))
    lines = C.axis_title(long)
    assert isinstance(lines, list) and " ".join(lines) == long and all(len(t) <= 42 for t in lines)
    assert json.dumps(lines) in text and json.dumps(long) not in text
    assert C.axis_title("short") == "short"


def test_rewind_makes_exteriors_clockwise():
    ccw = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    out = C.rewind(ccw)
    assert C._ring_area(out["coordinates"][0]) < 0
    assert C.rewind(out) == out
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": ccw, "properties": {"name": "r", "value": 1.0}}]}
    d = _spec(C.choropleth(fc, value_title="%", source="Source: BNS"))
    assert "geoshape" in json.dumps(d)


def test_charts_render_offline_to_svg():
    import vl_convert as vlc

    df = pd.DataFrame({"label": ["a", "b"], "value": [1.0, 2.0]})
    svg = vlc.vegalite_to_svg(C.bars(df, x_title="value (units)", source="Source: test", highlight=["a"]).to_dict())
    assert svg.lstrip().startswith("<svg") or "<svg" in svg[:200]
    assert "Source: test" in svg


def test_fan_joins_the_last_observation():
    """The fan starts at the last observed value (no gap between 2024 and 2025)."""
    h = pd.DataFrame({"year": [2022, 2023, 2024], "value": [80.0, 85.0, 87.5]})
    q = pd.DataFrame({"year": [2025, 2026], "lo90": [80, 81], "lo50": [84, 85], "median": [88, 89], "hi50": [90, 92],
                      "hi90": [93, 95]})
    d = _spec(C.fan_chart(h, q, y_title="Internet users (%)", source="Source: ITU"))
    layers = d["vconcat"][0]["layer"]
    fan = [ly for ly in layers if (ly["mark"]["type"] if isinstance(ly["mark"], dict) else ly["mark"]) in ("area", "line")
           and "values" in ly.get("data", {}) and "median" in ly["data"]["values"][0]]
    assert len(fan) == 3                                  # the two bands and the median line
    for ly in fan:
        first = ly["data"]["values"][0]
        assert first["year"] == 2024
        assert [first[c] for c in ("lo90", "lo50", "median", "hi50", "hi90")] == [87.5] * 5
        assert [r["year"] for r in ly["data"]["values"]] == [2024, 2025, 2026]
    # forecast quantiles that already start at the last observation are left as they are
    d = _spec(C.fan_chart(h[h.year < 2025].assign(year=[2023, 2024, 2025]), q, y_title="x", source="Source: ITU"))
    years = [r["year"] for ly in d["vconcat"][0]["layer"] for r in ly.get("data", {}).get("values", []) if "median" in r]
    assert min(years) == 2025 and years.count(2025) == 3


def test_year_axes_tick_whole_years_only():
    """A divide chart over a few years had ticks at half years, printed by format "d" as "2022 2023 2023".
    Every year axis now ticks the whole years of its span, and the rendered SVG labels each year once."""
    import re

    import vl_convert as vlc

    for years in ([2022, 2023], [2021, 2022, 2023], list(range(2010, 2024))):
        df = pd.DataFrame({"year": years, "value": range(len(years)), "series": ["Gini"] * len(years)})
        ch = C.lines(df, y_title="inequality", source="Source: x")
        assert _spec(ch)["vconcat"][0]["encoding"]["x"]["axis"]["values"] == years
        labels = re.findall(r">(20\d\d)</text>", vlc.vegalite_to_svg(ch.to_json()))
        assert labels == [str(y) for y in years]
    h = pd.DataFrame({"year": [2020, 2021], "value": [80.0, 85.0]})
    q = pd.DataFrame({"year": [2022, 2023], "lo90": [80, 81], "lo50": [84, 85], "median": [86, 88], "hi50": [88, 90],
                      "hi90": [90, 95]})
    fan = json.dumps(_spec(C.fan_chart(h, q, y_title="x", source="Source: x")))
    assert '"values": [2020, 2021, 2022, 2023]' in fan


def test_bar_labels_and_map_legend_titles_are_drawn_whole():
    """A bar's label and a map's legend title are never cut ("EGDI: Human Capital Index 20…" lost the
    year that tells two bars apart): the drawn SVG holds every word."""
    from digimeter.report.render import chart_svg

    labels = ["EGDI: Telecommunication Infrastructure Index 2024", "GTMI: Digital Citizen Engagement 2025",
              "Электронное правительство в числе 25 лучших в мире"]
    svg = chart_svg(C.bars(pd.DataFrame({"label": labels, "value": [80.0, 70.0, 60.0]}), x_title="percentile",
                           source="test"))
    assert "…" not in svg
    for lab in labels:
        assert f">{lab}<" in svg
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "A", "value": 1.0},
         "geometry": {"type": "Polygon", "coordinates": [[[50, 45], [52, 45], [52, 47], [50, 47], [50, 45]]]}}]}
    svg = chart_svg(C.choropleth(fc, value_title="Digital Regions of Kazakhstan, score 2024 (0-100)", source="t"))
    assert "…" not in svg and "Kazakhstan," in svg
