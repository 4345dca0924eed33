"""The divide between a country's regions over time, and whether regions are catching up:
:func:`divide_trend` (the divide measures year by year on one layout, sigma- and beta-convergence) and
:meth:`DivideTrend.verdict` (the sentence the faces show)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from .._util.jsonsafe import jsonable
from ..errors import DataError, NotFoundError
from ..geography import Geography, geography, regional_observations
from ..stats import BetaConvergence, beta_convergence, divide, sigma_convergence
from .report import WEIGHTS_LABELS, indicator_direction, threshold_for
from .subjects import national_figures

__all__ = ["DivideTrend", "divide_trend"]


@dataclass
class DivideTrend:
    """The divide of one indicator over time on one layout, and whether regions are catching up."""

    country: str
    indicator: str
    name: str
    layout: str
    table: pd.DataFrame            # per year: divide() columns
    sigma: pd.DataFrame            # sigma_convergence() output; trend in .attrs['trend']
    beta: BetaConvergence | None
    beta_period: tuple[int, int] | None
    series_break: int | None
    estimated_share: pd.Series     # per year: share of regions whose value is estimated
    groups: dict[str, str] | None = None
    threshold: float | None = None
    threshold_source: str = "given"    # given, target, national or mean
    threshold_label: str = ""
    weights: str = "population"        # population, crosswalk or none (see WEIGHTS_LABELS)
    weights_note: str = ""

    @property
    def weights_label(self) -> str:
        return WEIGHTS_LABELS.get(self.weights, self.weights)

    @property
    def sigma_trend(self) -> dict[str, Any] | None:
        return self.sigma.attrs.get("trend")

    def verdict(self, _: Callable[[str], str] | None = None, fmt: Callable[..., str] | None = None) -> str:
        """One sentence: are regions catching up?

        ``_`` translates the sentence's templates (a gettext function, as the report passes) and ``fmt``
        formats numbers (``fmt(x, digits, signed)``; plain Python formatting by default).
        """
        _ = _ or (lambda m: m)
        if fmt is None:
            def fmt(x: float, digits: int, signed: bool = False) -> str:
                return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
        parts = []
        tr = self.sigma_trend
        if tr:
            lo, hi = tr["ci95"]
            m = {"cv_weighted": _("the population-weighted coefficient of variation"),
                 "cv": _("the coefficient of variation")}.get(tr["measure"], tr["measure"])
            sl = tr["slope_per_year"]
            if hi < 0:
                parts.append(_("the spread is shrinking (sigma-convergence: {measure} falls by {slope} a year, "
                               "95 % CI {lo} to {hi})").format(measure=m, slope=fmt(-sl, 4), lo=fmt(-hi, 4),
                                                               hi=fmt(-lo, 4)))
            elif lo > 0:
                parts.append(_("the spread is widening ({measure} rises by {slope} a year)").format(
                    measure=m, slope=fmt(sl, 4)))
            else:
                parts.append(_("no clear trend in the spread ({measure} slope {slope} a year, 95 % CI {lo} "
                               "to {hi})").format(measure=m, slope=fmt(sl, 4, True), lo=fmt(lo, 4, True),
                                                  hi=fmt(hi, 4, True)))
        b = self.beta
        if b is not None and self.beta_period:
            y0, y1 = self.beta_period
            if b.converging:
                hl = (_(", half the gap closes in {years} years").format(years=fmt(b.half_life, 1))
                      if not math.isnan(b.half_life) else "")
                parts.append(_("regions that started behind in {y0} grew faster to {y1} (beta-convergence: "
                               "slope {slope}, 95 % CI {lo} to {hi}{half_life})").format(
                    y0=y0, y1=y1, slope=fmt(b.slope, 3), lo=fmt(b.ci95[0], 3), hi=fmt(b.ci95[1], 3), half_life=hl))
            elif b.ci95[0] > 0:
                parts.append(_("regions that started ahead in {y0} pulled away by {y1} (slope {slope})").format(
                    y0=y0, y1=y1, slope=fmt(b.slope, 3, True)))
            else:
                parts.append(_("no clear catching-up from {y0} to {y1} (beta slope {slope}, 95 % CI {lo} to "
                               "{hi})").format(y0=y0, y1=y1, slope=fmt(b.slope, 3, True), lo=fmt(b.ci95[0], 3, True),
                                               hi=fmt(b.ci95[1], 3, True)))
        if not parts:
            parts.append(_("too few years or regions to tell whether regions are catching up"))
        s = "; ".join(parts)
        return s[0].upper() + s[1:] + "."

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"country": self.country, "indicator": self.indicator, "name": self.name,
                          "layout": self.layout, "series_break": self.series_break,
                          "by_year": json.loads(self.table.reset_index().to_json(orient="records")),
                          "sigma": json.loads(self.sigma.reset_index().to_json(orient="records")),
                          "sigma_trend": self.sigma_trend,
                          "beta": self.beta.to_dict() if self.beta else None,
                          "beta_period": list(self.beta_period) if self.beta_period else None,
                          "threshold": self.threshold, "threshold_source": self.threshold_source,
                          "threshold_label": self.threshold_label, "weights": self.weights,
                          "weights_label": self.weights_label, "weights_note": self.weights_note,
                          "verdict": self.verdict()})


def divide_trend(store, country: str, indicator: str, *, layout: str | None = None,
                 start: int | None = None, end: int | None = None, threshold: float | None = None
                 ) -> DivideTrend:
    """Divide measures of ``indicator`` year by year on one layout (default: today's regions), with
    sigma-convergence (is the spread shrinking?) and beta-convergence (do laggards grow faster?).

    Beta-convergence runs from the first year after the latest recorded series break (observations
    noted ``series break``) or ``start``, to the last year or ``end``; bounded percentages use the
    shortfall transform (the rate at which the gap to 100 % closes), other series the log.
    """
    country = store.unit(country)["code"]
    geo = geography(store, country)
    meta = store.indicator(indicator)
    code = meta["code"]
    layout = layout or geo.latest_layout()
    long = regional_observations(store, country, [code], layout=layout, geo=geo)
    long = long[long["unit"].isin(geo.units(layout))]
    if start is not None:
        long = long[long["year"] >= start]
    if end is not None:
        long = long[long["year"] <= end]
    v = long[long["indicator"] == code]
    if v["year"].nunique() < 1:
        raise NotFoundError(f"no regional values of {code} for {country}", field="indicator", value=code)
    hib = indicator_direction(meta)
    groups = geo.groups(layout)
    nat = national_figures(store, country, code)
    wide = v.pivot(index="year", columns="unit", values="value").sort_index()
    pw, wsrc, wnote = _weights_by_year(long, wide, geo, layout)
    latest = int(wide.index.max())
    thr, thr_src, thr_text = threshold_for(threshold, meta, country, nat.get(latest))
    # a fixed bar (given, declared target) for every year; else each year's national figure or mean
    by_year: Any = thr if thr_src in ("given", "target") else (nat if thr_src == "national" else "mean")
    if thr_src == "national":
        thr_text = "the national figure of each year"
    elif thr_src == "mean":
        thr_text = "the regional mean of each year"
    table = divide(long, code, groups=groups, threshold=by_year, higher_is_better=hib, national=nat,
                   weights=pw if pw is not None else pd.DataFrame(), weights_source=wsrc)
    if thr is None and "threshold" in table and len(table):
        thr = float(table["threshold"].iloc[-1])
    sigma = sigma_convergence(wide, pw)
    est_share = v.groupby("year")["estimated"].mean()
    # series break: the latest year noted as such, for this indicator
    notes = store.observations(indicators=code, units=sorted(set(geo.crosswalk["unit"])))
    brk = notes[notes["note"].fillna("").str.lower().str.startswith("series break")]["year"]
    series_break = int(brk.max()) if len(brk) else None
    y_first = int(wide.index.min())
    if series_break is not None and start is None and series_break > y_first:
        # levels before a break are not comparable with those after it: measure convergence after it
        y_first = series_break
        sigma = sigma_convergence(wide.loc[series_break:], None if pw is None else pw.loc[series_break:])
    y_last = int(wide.index.max())
    beta, period = None, None
    if y_last > y_first:
        bounded = meta.get("max_value") == 100 and hib
        transform = "shortfall" if bounded else "log"
        try:
            beta = beta_convergence(wide.loc[y_first], wide.loc[y_last], y_last - y_first,
                                    transform=transform)
            period = (y_first, y_last)
        except DataError:
            beta = None
    return DivideTrend(country=country, indicator=code, name=meta["name"], layout=layout, table=table,
                       sigma=sigma, beta=beta, beta_period=period, series_break=series_break,
                       estimated_share=est_share, groups=groups, threshold=thr, threshold_source=thr_src,
                       threshold_label=thr_text, weights=wsrc, weights_note=wnote.lstrip("; "))


def _weights_by_year(long: pd.DataFrame, wide: pd.DataFrame, geo: "Geography", layout: str
                     ) -> tuple[pd.DataFrame | None, str, str]:
    """Year x unit weights for :func:`divide_trend`: the store's population (carried forward to later
    years), else the crosswalk's ``atom_population`` (nearest year), else None (unweighted)."""
    pw = long[long["indicator"] == "population"].pivot_table(index="year", columns="unit", values="value")
    if len(pw):
        pw = pw.reindex(index=pw.index.union(wide.index)).sort_index().ffill().bfill()
        pw = pw.reindex(index=wide.index, columns=wide.columns)
        covered = all(pw.loc[y, wide.loc[y].dropna().index].notna().all() for y in wide.index)
        if covered:
            return pw, "population", ""
        note = "population is missing for some regions and years"
    else:
        note = "no population in the store for the regions"
    if geo.unit_population(layout) is not None:
        rows = {int(y): geo.unit_population(layout, int(y)) for y in wide.index}
        cw = pd.DataFrame(rows).T.reindex(index=wide.index, columns=wide.columns)
        if all(cw.loc[y, wide.loc[y].dropna().index].notna().all() for y in wide.index):
            return cw, "crosswalk", note + "; weights from the crosswalk's atom_population"
    return None, "none", note + "; every region counts the same"
