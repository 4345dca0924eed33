"""Charts: data in, an altair (Vega-Lite) chart out. No I/O here.

One consistent, accessible style for the report and the dashboard:

* the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies), with the unit
  of interest always in vermillion and everything else in blue or grey;
* axes labelled with the unit of measure;
* the source of the numbers under every chart (``source=`` is required).

Okabe, M. & Ito, K. (2008). *Color Universal Design (CUD): how to make figures and presentations that
are friendly to colorblind people*. https://jfly.uni-koeln.de/color/

Rendering to SVG/PNG (vl-convert) happens in :mod:`digimeter.report`; the dashboard renders the same
specs in the browser with the locally served Vega bundle.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import altair as alt
import pandas as pd

from ._util.jsonsafe import records

#: Okabe-Ito palette (black last).
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
HIGHLIGHT = "#D55E00"   # vermillion: the unit of interest
BASE = "#0072B2"        # blue: everything else
MUTED = "#9E9E9E"       # grey: background population
FAN = "#56B4E9"         # sky blue: prediction intervals

WIDTH = 560
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"


def _data(df: pd.DataFrame) -> alt.Data:
    """``df``'s rows as inline values. Not validated here (altair's debug mode validated every value when the
    object was made, 0.1 s of a report): the chart's to_dict() validates them with the rest of the chart."""
    from altair.utils.schemapi import debug_mode

    with debug_mode(False):
        return alt.Data(values=records(df.reset_index(drop=True)))


def _when(test: str, yes: str, no: str, channel=alt.ColorValue):
    """``alt.condition(test, alt.value(yes), alt.value(no))`` made as its channel: encode() would find the
    channel for a plain dict itself, from altair's whole schema (4 ms each); the same dict."""
    return channel(**alt.condition(test, alt.value(yes), alt.value(no)))


def year_axis(*years) -> alt.Axis:
    """The axis of a ``year:Q`` field over the span of ``years`` (any number of year sequences): a tick
    at every whole year, labels thinned where they would overlap. Without the explicit values a span of
    two or three years got ticks at half years, which ``format="d"`` printed as "2022 2023 2023"."""
    ys = [int(y) for seq in years for y in pd.to_numeric(pd.Series(list(seq)), errors="coerce").dropna()]
    values = list(range(min(ys), max(ys) + 1)) if ys else None
    return alt.Axis(format="d", values=values, labelOverlap="greedy", labelSeparation=6)


def wrap(text: str, width: int = 110) -> list[str]:
    """Split a long caption into lines of at most ``width`` characters (at spaces)."""
    import textwrap

    return textwrap.wrap(" ".join(str(text).split()), width=width) or [""]


def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in zip(ring, list(ring[1:]) + [ring[0]]))


def rewind(geometry: Mapping[str, Any]) -> dict[str, Any]:
    """Polygons wound as d3-geo (Vega) expects: exterior rings clockwise, holes anticlockwise.

    RFC 7946 GeoJSON winds the other way; drawn as is, d3's spherical geometry takes a polygon for its
    complement (the whole globe but the region), which shows as a filled rectangle.
    """
    def fix(poly):
        out = []
        for i, ring in enumerate(poly):
            a = _ring_area(ring)
            want_cw = i == 0
            out.append(list(reversed(ring)) if (a > 0) == want_cw else list(ring))
        return out

    t = geometry.get("type")
    if t == "Polygon":
        return {"type": t, "coordinates": fix(geometry["coordinates"])}
    if t == "MultiPolygon":
        return {"type": t, "coordinates": [fix(p) for p in geometry["coordinates"]]}
    return dict(geometry)


def style(chart: alt.TopLevelMixin, *, source: str, note: str | None = None) -> alt.TopLevelMixin:
    """Put ``source`` (and an optional note) under a chart and apply the house style."""
    if not source:
        raise ValueError("every chart needs its source")
    lines = wrap(source) + (wrap(note) if note else [])
    # what .properties(title=, usermeta=).configure(font=).configure_axis().configure_view().configure_legend()
    # make, in the same order, set on one chart: each of those rebuilt the whole chart (a copy), 0.4 s of a
    # report's 15 charts; the chart's to_dict() validates the whole of it
    wrapped = alt.vconcat(chart)
    wrapped.title = alt.TitleParams(text=lines, orient="bottom", anchor="start", fontSize=10,
                                    fontWeight="normal", color="#444444", offset=8)
    wrapped.usermeta = {"source": source}   # the interactive charts' tooltips name it (digimeter.interactive)
    config = alt.Config(font=FONT)
    # no label or legend title is ever cut (labelLimit 0): "EGDI: Human Capital Index 20…" lost the year that
    # tells two bars apart, a Russian pillar name its last word; long ones widen the chart instead (and
    # vl-convert no longer measures each long label again and again while cutting it)
    config["axis"] = alt.AxisConfig(labelFontSize=11, titleFontSize=12, gridColor="#e6e6e6", labelLimit=0)
    config["view"] = alt.ViewConfig(strokeWidth=0)
    config["legend"] = alt.LegendConfig(labelFontSize=11, titleFontSize=11, orient="bottom", labelLimit=0,
                                        titleLimit=0)
    wrapped.config = config
    return wrapped


def score_strip(table: pd.DataFrame, *, score: str, unit: str, x_title: str, source: str,
                label: str = "name", title: str | None = None, domain: Sequence[float] | None = None
                ) -> alt.TopLevelMixin:
    """Every unit's score as a tick along one axis, the unit of interest marked and labelled.

    ``table`` has columns ``unit``, ``label`` (a display name), ``score`` and ``rank``.
    """
    df = table[["unit", label, score, "rank"]].rename(columns={label: "label", score: "score"}).copy()
    df["is_unit"] = df["unit"] == unit
    scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Scale(zero=False)
    base = alt.Chart(_data(df)).encode(
        x=alt.X("score:Q", title=x_title, scale=scale),
        tooltip=[alt.Tooltip("label:N", title="unit"), alt.Tooltip("rank:Q"), alt.Tooltip("score:Q", format=".3~f")])
    ticks = base.transform_filter("!datum.is_unit").mark_tick(color=MUTED, thickness=1.5, size=22)
    me = base.transform_filter("datum.is_unit").mark_tick(color=HIGHLIGHT, thickness=4, size=34)
    lab = base.transform_filter("datum.is_unit").mark_text(
        dy=-24, color=HIGHLIGHT, fontWeight="bold", fontSize=12).encode(
        text=alt.Text("label:N"))
    ch = alt.layer(ticks, me, lab).properties(width=WIDTH, height=60)
    if title:
        ch = ch.properties(title=alt.TitleParams(title, anchor="start", fontSize=13))
    return style(ch, source=source)


def rank_dots(df: pd.DataFrame, *, unit: str, x_title: str, source: str,
              title: str | None = None) -> alt.TopLevelMixin:
    """Ranks of a unit and its peers on several indices: one row per country (rank 1 on the left), one
    coloured, shaped dot per index, a grey rule from its best to its worst rank.

    Country names are the row labels (the unit of interest in bold vermillion), so no label is drawn
    beside a dot and none can overlap another, however close the ranks.

    ``df`` has columns ``index`` (display name), ``unit``, ``label``, ``rank`` and ``n``.
    """
    import json

    d = df.copy()
    d["is_unit"] = d["unit"] == unit
    indices = list(dict.fromkeys(d["index"]))
    colours = [BASE, OKABE_ITO[2], OKABE_ITO[0], OKABE_ITO[6], "#000000", OKABE_ITO[1]][: len(indices)]
    shapes = ["circle", "square", "triangle-up", "cross", "triangle-down", "diamond"][: len(indices)]
    order = d.groupby("label", sort=False)["rank"].mean().sort_values().index.tolist()
    me = d.loc[d["is_unit"], "label"]
    test = f"datum.value === {json.dumps(str(me.iloc[0]))}" if len(me) else "false"
    y = alt.Y("label:N", title=None, sort=order,
              axis=alt.Axis(labelFontSize=11,
                            labelColor={"condition": {"test": test, "value": HIGHLIGHT}, "value": "#222222"},
                            labelFontWeight={"condition": {"test": test, "value": "bold"}, "value": "normal"}))
    xscale = alt.Scale(domain=[1, max(float(d["n"].max()), 2)])
    rule = alt.Chart(_data(d)).mark_rule(color="#cccccc", strokeWidth=2).encode(
        y=y, x=alt.X("min(rank):Q", scale=xscale, title=x_title), x2=alt.X2("max(rank):Q"))
    band = alt.Chart(_data(d)).transform_filter("datum.is_unit").mark_rule(
        color=HIGHLIGHT, strokeWidth=4, opacity=0.35).encode(y=y, x=alt.X("min(rank):Q", scale=xscale), x2=alt.X2("max(rank):Q"))
    dots = alt.Chart(_data(d)).mark_point(filled=True, size=90, opacity=0.9).encode(
        y=y, x=alt.X("rank:Q", scale=xscale, title=x_title),
        color=alt.Color("index:N", title=None, scale=alt.Scale(domain=indices, range=colours),
                        legend=alt.Legend(orient="bottom", direction="vertical")),
        shape=alt.Shape("index:N", title=None, scale=alt.Scale(domain=indices, range=shapes)),
        tooltip=[alt.Tooltip("label:N", title="unit"), alt.Tooltip("index:N"), alt.Tooltip("rank:Q"), alt.Tooltip("n:Q")])
    ch = alt.layer(rule, band, dots).properties(width=WIDTH - 120, height=alt.Step(24))
    if title:
        ch = ch.properties(title=alt.TitleParams(title, anchor="start", fontSize=13))
    return style(ch, source=source)


def pillar_profile(df: pd.DataFrame, *, x_title: str, source: str, title: str | None = None,
                   order: Sequence[str] | None = None, domain: Sequence[float] = (0, 100)
                   ) -> alt.TopLevelMixin:
    """Pillar scores of a unit against comparison series (leader, top-10 mean, peers), a dot plot.

    ``df`` has columns ``pillar`` (display name), ``series`` (display name) and ``score``; the
    first series is the unit of interest (drawn in vermillion, larger).
    """
    series = list(dict.fromkeys(df["series"]))
    colours = [HIGHLIGHT] + [c for c in (BASE, OKABE_ITO[2], OKABE_ITO[0], OKABE_ITO[6], "#000000")][: len(series) - 1]
    shapes = ["diamond", "circle", "square", "triangle-up", "cross", "triangle-down"][: len(series)]
    sort = list(order) if order is not None else list(dict.fromkeys(df["pillar"]))
    # long names (Russian, Kazakh) are shown whole (the house style cuts no label), the legend in two columns
    y = alt.Y("pillar:N", sort=sort, title=None)
    legend = alt.Legend(columns=2)
    rule = alt.Chart(_data(df)).mark_rule(color="#dddddd").encode(
        y=y, x=alt.X("min(score):Q"), x2=alt.X2("max(score):Q"))
    pts = alt.Chart(_data(df)).mark_point(filled=True, size=110, opacity=0.9).encode(
        y=y,
        x=alt.X("score:Q", title=x_title, scale=alt.Scale(domain=list(domain))),
        color=alt.Color("series:N", title=None, scale=alt.Scale(domain=series, range=colours), legend=legend),
        shape=alt.Shape("series:N", title=None, scale=alt.Scale(domain=series, range=shapes), legend=legend),
        tooltip=[alt.Tooltip("pillar:N"), alt.Tooltip("series:N"), alt.Tooltip("score:Q", format=".1f")])
    ch = alt.layer(rule, pts).properties(width=WIDTH - 100, height=alt.Step(34))
    if title:
        ch = ch.properties(title=alt.TitleParams(title, anchor="start", fontSize=13))
    return style(ch, source=source)


def gap_bars(df: pd.DataFrame, *, x_title: str, source: str, title: str | None = None
             ) -> alt.TopLevelMixin:
    """Horizontal bars of a gap per item (``label``, ``gap``); negative gaps to the left."""
    ch = alt.Chart(_data(df)).mark_bar(color=BASE).encode(
        y=alt.Y("label:N", sort=None, title=None),
        x=alt.X("gap:Q", title=x_title),
        color=_when("datum.gap < 0", HIGHLIGHT, BASE),
        tooltip=[alt.Tooltip("label:N"), alt.Tooltip("gap:Q", format=".2f")]).properties(width=WIDTH, height=alt.Step(22))
    if title:
        ch = ch.properties(title=alt.TitleParams(title, anchor="start", fontSize=13))
    return style(ch, source=source)


def axis_title(title: str | None, width: int = 42) -> str | list[str] | None:
    """A long axis title broken into lines (Vega-Lite draws a list as lines), so a vertical title
    never runs longer than its chart."""
    if title is None or len(title) <= width:
        return title
    return wrap(title, width=width)


def fan_chart(history: pd.DataFrame, quantiles: pd.DataFrame, *, y_title: str, source: str,
              title: str | None = None, target: float | None = None, deadline: int | None = None,
              domain: Sequence[float] | None = None, labels: Mapping[str, str] | None = None
              ) -> alt.TopLevelMixin:
    """Observed series and its forecast with prediction intervals (a fan chart).

    ``history``: columns ``year``, ``value``. ``quantiles``: columns ``year``, ``lo90``, ``lo50``,
    ``median``, ``hi50``, ``hi90``. An optional ``target`` (horizontal rule) and ``deadline`` (vertical).
    The fan starts at the last observation (every band is that value in its year), so the observed line
    and the forecast join with no gap.
    """
    labels = dict(labels or {})
    yscale = alt.Scale(domain=list(domain)) if domain is not None else alt.Scale(zero=False)
    q = quantiles.copy()
    last = history.dropna(subset=["value"]).sort_values("year").tail(1)
    if len(last) and len(q) and float(last["year"].iloc[0]) < float(q["year"].min()):
        start = {c: float(last["value"].iloc[0]) for c in ("lo90", "lo50", "median", "hi50", "hi90") if c in q}
        q = pd.concat([pd.DataFrame([{**start, "year": last["year"].iloc[0]}]), q], ignore_index=True)
    x = alt.X("year:Q", title=labels.get("year", "year"), axis=year_axis(history["year"], q["year"]))
    band90 = alt.Chart(_data(q)).mark_area(color=FAN, opacity=0.25).encode(
        x=x, y=alt.Y("lo90:Q", title=axis_title(y_title), scale=yscale), y2=alt.Y2("hi90:Q"))
    band50 = alt.Chart(_data(q)).mark_area(color=FAN, opacity=0.5).encode(x=x, y=alt.Y("lo50:Q"), y2=alt.Y2("hi50:Q"))
    med = alt.Chart(_data(q)).mark_line(color=BASE, strokeDash=[5, 3]).encode(
        x=x, y=alt.Y("median:Q"), tooltip=[alt.Tooltip("year:Q"), alt.Tooltip("median:Q", format=".1f"),
                                    alt.Tooltip("lo90:Q", format=".1f"), alt.Tooltip("hi90:Q", format=".1f")])
    obs = alt.Chart(_data(history)).mark_line(color="#000000", point=alt.OverlayMarkDef(size=18, color="#000000")).encode(
        x=x, y=alt.Y("value:Q", scale=yscale), tooltip=[alt.Tooltip("year:Q"), alt.Tooltip("value:Q", format=".1f")])
    layers = [band90, band50, med, obs]
    if target is not None:
        layers.append(alt.Chart(alt.Data(values=[{"t": float(target)}])).mark_rule(
            color=HIGHLIGHT, strokeDash=[2, 2]).encode(y=alt.Y("t:Q")))
    if deadline is not None:
        layers.append(alt.Chart(alt.Data(values=[{"d": int(deadline)}])).mark_rule(
            color=HIGHLIGHT, opacity=0.6).encode(x=alt.X("d:Q")))
    ch = alt.layer(*layers).properties(width=WIDTH, height=220)
    if title:
        ch = ch.properties(title=alt.TitleParams(title, anchor="start", fontSize=13))
    return style(ch, source=source, note=labels.get("note"))


def choropleth(fc: Mapping[str, Any], *, value_title: str, source: str, title: str | None = None,
               name_field: str = "name", value_field: str = "value", domain: Sequence[float] | None = None
               ) -> alt.TopLevelMixin:
    """A map of regions coloured by value (viridis, colour-blind safe); regions without data in grey.

    ``fc`` is a GeoJSON FeatureCollection whose features carry ``properties[value_field]`` and
    ``properties[name_field]`` (see :func:`digimeter.regions.choropleth`).
    """
    feats = [{"type": "Feature", "geometry": rewind(f["geometry"]), "properties": f.get("properties", {})}
             for f in fc["features"]]
    data = alt.Data(values=feats, format=alt.DataFormat(type="json"))
    scale = alt.Scale(scheme="viridis", domain=list(domain)) if domain is not None else alt.Scale(scheme="viridis")
    shapes = alt.Chart(data).mark_geoshape(stroke="white", strokeWidth=0.7).encode(
        color=alt.condition(f"isValid(datum.properties.{value_field})",
                            alt.Color(f"properties.{value_field}:Q", title=wrap(value_title, 28), scale=scale,
                                      legend=alt.Legend(orient="right", gradientLength=160)),
                            alt.value("#d9d9d9")),
        tooltip=[alt.Tooltip(f"properties.{name_field}:N", title="region"),
                 alt.Tooltip(f"properties.{value_field}:Q", title=value_title, format=".1f")]
    ).project(type="mercator").properties(width=WIDTH, height=300)
    ch = shapes
    if title:
        ch = ch.properties(title=alt.TitleParams(title, anchor="start", fontSize=13))
    return style(ch, source=source)


def lines(df: pd.DataFrame, *, y_title: str, source: str, title: str | None = None,
          series: str = "series", x_title: str = "year") -> alt.TopLevelMixin:
    """One line per series over years (``year``, ``value``, ``series``)."""
    n = df[series].nunique()
    ch = alt.Chart(_data(df)).mark_line(point=True).encode(
        x=alt.X("year:Q", title=x_title, axis=year_axis(df["year"])),
        y=alt.Y("value:Q", title=axis_title(y_title), scale=alt.Scale(zero=False)),
        color=alt.Color(f"{series}:N", title=None, scale=alt.Scale(range=[BASE, HIGHLIGHT] + OKABE_ITO[:max(n - 2, 0)])),
        tooltip=[alt.Tooltip("year:Q"), alt.Tooltip(f"{series}:N"), alt.Tooltip("value:Q", format=".3f")]).properties(width=WIDTH, height=200)
    if title:
        ch = ch.properties(title=alt.TitleParams(title, anchor="start", fontSize=13))
    return style(ch, source=source)


def bars(df: pd.DataFrame, *, x_title: str, source: str, title: str | None = None,
         highlight: Iterable[str] = (), label: str = "label", value: str = "value",
         domain: Sequence[float] | None = None) -> alt.TopLevelMixin:
    """Sorted horizontal bars (``label``, ``value``); labels in ``highlight`` in vermillion, shown whole
    (:func:`style`)."""
    d = df[[label, value]].rename(columns={label: "label", value: "value"}).copy()
    hl = set(highlight)
    d["hl"] = d["label"].isin(hl)
    scale = alt.Scale(domain=list(domain)) if domain is not None else alt.Scale()
    ch = alt.Chart(_data(d)).mark_bar().encode(
        y=alt.Y("label:N", sort="-x", title=None),
        x=alt.X("value:Q", title=x_title, scale=scale),
        color=_when("datum.hl", HIGHLIGHT, BASE),
        tooltip=[alt.Tooltip("label:N"), alt.Tooltip("value:Q", format=".3~f")]).properties(width=WIDTH, height=alt.Step(16))
    if title:
        ch = ch.properties(title=alt.TitleParams(title, anchor="start", fontSize=13))
    return style(ch, source=source)


def intervals(df: pd.DataFrame, *, unit: str, x_title: str, source: str, title: str | None = None
              ) -> alt.TopLevelMixin:
    """Rank (or score) intervals per unit: ``label``, ``unit``, ``lo``, ``mid``, ``hi``."""
    d = df.copy()
    d["is_unit"] = d["unit"] == unit
    base = alt.Chart(_data(d)).encode(y=alt.Y("label:N", sort=alt.EncodingSortField("mid"), title=None))
    rule = base.mark_rule(strokeWidth=2).encode(
        x=alt.X("lo:Q", title=x_title), x2=alt.X2("hi:Q"),
        color=_when("datum.is_unit", HIGHLIGHT, BASE))
    pt = base.mark_point(filled=True, size=50).encode(
        x=alt.X("mid:Q"), color=_when("datum.is_unit", HIGHLIGHT, "#000000"),
        tooltip=[alt.Tooltip(f) for f in ("label:N", "lo:Q", "mid:Q", "hi:Q")])
    ch = alt.layer(rule, pt).properties(width=WIDTH, height=alt.Step(16))
    if title:
        ch = ch.properties(title=alt.TitleParams(title, anchor="start", fontSize=13))
    return style(ch, source=source)


def rank_trajectory(df: pd.DataFrame, *, y_title: str, source: str, title: str | None = None,
                    x_title: str = "year", universe_title: str = "economies ranked",
                    note: str | None = None) -> alt.TopLevelMixin:
    """A unit's rank in several rankings over the years, one panel per ranking, rank 1 at the top.

    The dashed grey line in each panel is the number of economies ranked that year (the universe): the
    bottom of that ranking, so the gap between the two lines is how many the unit is ahead of. Each
    ranking's first and last points are labelled "rank/universe" (every point in its tooltip); hollow
    points are editions known only in part (press quotes, a top-30 table).

    ``df`` has columns ``ranking`` (display name), ``year``, ``rank``, ``n`` and ``complete``.
    """
    d = df[["ranking", "year", "rank", "n", "complete"]].copy()
    order = list(dict.fromkeys(d["ranking"]))
    d = d.sort_values(["ranking", "year"], kind="stable")
    ends = d.groupby("ranking").year.transform("min").eq(d.year) | d.groupby("ranking").year.transform("max").eq(d.year)
    d["label"] = (d["rank"].astype(int).astype(str) + "/" + d["n"].astype(int).astype(str)).where(ends, "")
    d["complete"] = d["complete"].astype(bool)
    x = alt.X("year:Q", title=x_title, scale=alt.Scale(domain=[int(d.year.min()) - 1, int(d.year.max()) + 1]),
              axis=year_axis(d["year"]))
    y = alt.Y("rank:Q", title=axis_title(y_title, 18), scale=alt.Scale(reverse=True, domainMin=1, nice=False))
    base = alt.Chart().encode(x=x)
    universe = base.mark_line(color=MUTED, strokeDash=[4, 3], point=alt.OverlayMarkDef(color=MUTED, size=14)).encode(
        y=alt.Y("n:Q", scale=alt.Scale(reverse=True, domainMin=1, nice=False)),
        tooltip=[alt.Tooltip("year:Q"), alt.Tooltip("n:Q", title=universe_title)])
    line = base.mark_line(color=HIGHLIGHT, strokeWidth=2).encode(y=y)
    pts = base.mark_point(size=60, strokeWidth=2, color=HIGHLIGHT).encode(
        y=y, fill=_when("datum.complete", HIGHLIGHT, "white", alt.FillValue),
        tooltip=[alt.Tooltip("ranking:N"), alt.Tooltip("year:Q"), alt.Tooltip("rank:Q"), alt.Tooltip("n:Q", title=universe_title)])
    txt = base.mark_text(dy=-10, fontSize=10, color="#333333").encode(y=y, text=alt.Text("label:N"))
    ch = alt.layer(universe, line, pts, txt, data=_data(d)).properties(width=WIDTH - 110, height=105).facet(
        row=alt.Row("ranking:N", title=None, sort=order,
                    header=alt.Header(labelAngle=0, labelAlign="left", labelFontWeight="bold", labelFontSize=12,
                                      labelOrient="top", labelPadding=2)),
        spacing=14).resolve_scale(y="independent")
    if title:
        ch = ch.properties(title=alt.TitleParams(title, anchor="start", fontSize=13))
    return style(ch, source=source, note=note)
