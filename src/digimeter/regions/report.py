"""The divide between a country's regions in one year: every region's value and rank, the divide
measures (Gini, Theil, CV, gap, people below a threshold, roll-up) and the map's data.

:func:`region_report` answers for a store indicator or a regional index's score; :func:`map_data` puts it
on the layout's boundaries. They read the store (passed in) and never print.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .._util.jsonsafe import jsonable
from ..build import RegionalIndex, regional_index
from ..errors import DataError, NotFoundError
from ..geography import Geography, geography, map_features
from ..panel import regional_panel
from ..stats import (TheilDecomposition, best_worst_gap, cv, gini, population_below, rollup, theil,
                     theil_decomposition)
from .subjects import national_figures, resolve_subject

__all__ = ["RegionReport", "region_report", "map_data", "default_threshold", "WEIGHTS_LABELS",
           "resolve_weights", "declared_target", "threshold_for", "indicator_direction"]


@dataclass
class RegionReport:
    """One indicator (or index score) across a country's regions in one year, and the divide measures.

    ``table`` has one row per region: unit, name, value, rank, population, estimated (bool), year
    (of the value), note. ``measures`` holds gini, theil (+ between/within), cv, cv_weighted, gap,
    best/worst, people_below/share_below/threshold, regional_mean, national, rollup_difference.
    """

    country: str
    subject: str               # indicator code or spec name
    kind: str                  # 'indicator' or 'score'
    name: str
    unit_of_measure: str
    year: int
    layout: str
    higher_is_better: bool
    table: pd.DataFrame
    measures: dict[str, Any]
    decomposition: TheilDecomposition | None
    below_units: list[str]
    index: RegionalIndex | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"country": self.country, "subject": self.subject, "kind": self.kind, "name": self.name,
                "unit_of_measure": self.unit_of_measure, "year": self.year, "layout": self.layout,
                "higher_is_better": self.higher_is_better,
                "regions": json.loads(self.table.to_json(orient="records", force_ascii=False)),
                "measures": jsonable(self.measures),
                "theil_decomposition": jsonable(self.decomposition.to_dict()) if self.decomposition else None,
                "below": self.below_units}


def default_threshold(meta: Mapping[str, Any] | None) -> float | None:
    """90 for a share of people (``%``, 0-100, higher is better), the universal-use bar of the ITU /
    UN Envoy on Technology 2030 baseline is 95 and digimeter reports regions below 90 as clearly
    behind; None (use the population-weighted mean) otherwise."""
    if meta is None:
        return None
    if meta.get("max_value") == 100 and bool(meta.get("higher_is_better")) and "%" in str(meta.get("unit") or ""):
        return 90.0
    return None


#: How the divide measures were weighted: the words every face uses.
WEIGHTS_LABELS = {"population": "population-weighted",
                  "crosswalk": "weighted by the crosswalk's atom_population",
                  "none": "unweighted"}


def resolve_weights(values: pd.Series, population: pd.Series | None, geo: "Geography | None" = None,
                    layout: str | None = None, year: int | None = None) -> tuple[pd.Series, str, str]:
    """The weights of the divide measures for the regions that have a value, and which ones they are.

    Population where every region with a value has one; else the crosswalk's ``atom_population``
    (summed over each region's atoms, nearest year); else equal weights. A region is never dropped
    for want of a weight.

    Returns
    -------
    (weights, source, note)
        ``weights`` indexed like ``values``; ``source`` is ``population``, ``crosswalk`` or ``none``
        (see :data:`WEIGHTS_LABELS`); ``note`` says why a fallback was taken ('' when population).
    """
    have = values.dropna().index
    note = ""
    if population is not None:
        p = pd.to_numeric(population, errors="coerce").reindex(have)
        if len(have) and p.notna().all() and (p > 0).any():
            return pd.to_numeric(population, errors="coerce").reindex(values.index), "population", ""
        missing = [str(u) for u in p.index[p.isna()]]
        note = ("no population in the store for the regions" if len(missing) == len(have) else
                f"no population for {len(missing)} of {len(have)} regions ({', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''})")
    else:
        note = "no population in the store for the regions"
    if geo is not None and layout is not None:
        cw = geo.unit_population(layout, year)
        if cw is not None:
            c = cw.reindex(have)
            if len(have) and c.notna().all() and (c > 0).any():
                return cw.reindex(values.index), "crosswalk", note + "; weights from the crosswalk's atom_population"
    return pd.Series(1.0, index=values.index), "none", note + "; every region counts the same"


def declared_target(indicator: str, country: str) -> tuple[float, str] | None:
    """A numeric threshold declared for ``indicator`` in a shipped scenario, for the regions of
    ``country`` (``units: {parent: <ISO3>, kind: region}``) or else for the country itself.

    Returns ``(threshold, "target '<id>' of scenario <name>")`` or None. Read straight from the
    scenario files (``data/scenarios``), so this layer does not import the targets module."""
    from .._util.yamlsafe import load_yaml_file

    folder = resources.files("digimeter").joinpath("data", "scenarios")
    found: list[tuple[int, float, str]] = []
    for f in sorted(folder.iterdir(), key=lambda f: f.name):
        if not f.name.endswith((".yaml", ".yml")):
            continue
        try:
            doc = load_yaml_file(str(f))
        except Exception:  # a broken scenario is reported where it is used, not here
            continue
        for t in (doc or {}).get("targets") or []:
            if not isinstance(t, dict) or t.get("indicator") != indicator:
                continue
            thr = t.get("threshold")
            if isinstance(thr, bool) or not isinstance(thr, (int, float)):
                continue
            u = t.get("units")
            regional = isinstance(u, dict) and u.get("parent") == country and u.get("kind") in ("region", ["region"])
            if regional or t.get("unit") == country:
                found.append((0 if regional else 1, float(thr),
                              f"target '{t.get('id')}' of scenario {f.name.rsplit('.', 1)[0]}"))
    if not found:
        return None
    _, thr, where = min(found, key=lambda r: r[0])
    return thr, where


def threshold_for(threshold: float | None, meta: Mapping[str, Any] | None, country: str,
                  national: float | None) -> tuple[float | None, str, str]:
    """The bar regions are measured against: ``(threshold or None for the mean, source, text)``. The
    threshold given, else the declared target (:func:`declared_target`), else the national value, else
    the regional mean (filled in by the measures)."""
    if threshold is not None:
        return float(threshold), "given", "the threshold given"
    code = (meta or {}).get("code")
    if code:
        d = declared_target(code, country)
        if d is not None:
            return d[0], "target", f"the declared target ({d[1]})"
    if national is not None and not (isinstance(national, float) and math.isnan(national)):
        return float(national), "national", "the national figure"
    return None, "mean", "the regional mean"


def _measures(values: pd.Series, pop: pd.Series, *, groups: Mapping[str, str] | None,
              threshold: float | None, higher_is_better: bool, national: float | None,
              weights: str = "population", threshold_source: str | None = None, threshold_text: str = "",
              weights_note: str = "") -> tuple[dict[str, Any], TheilDecomposition | None, list[str]]:
    """Divide measures of the regions with a value; ``pop`` holds their weights (see
    :func:`resolve_weights`; ``weights`` names them)."""
    ok = values.notna() & pop.notna()
    x, w = values[ok].astype(float), pop[ok].astype(float)
    m: dict[str, Any] = {"n": int(len(x)), "weights": weights, "weights_label": WEIGHTS_LABELS.get(weights, weights)}
    if weights_note:
        m["weights_note"] = weights_note.lstrip("; ")
    if x.empty:
        return m, None, []
    xa, wa = x.to_numpy(), w.to_numpy()
    r = rollup(x, w, national)
    m.update(regional_mean=r["regional_mean"], national=national, rollup_difference=r["difference"])
    nonneg = bool((xa >= 0).all())
    m["gini"] = gini(xa, wa) if nonneg else float("nan")
    m["theil"] = theil(xa, wa) if nonneg else float("nan")
    m["cv"], m["cv_weighted"] = cv(xa), cv(xa, wa)
    dec = None
    if groups and nonneg:
        lab = np.array([groups.get(u, "other") for u in x.index], dtype=object)
        if len(set(lab)) > 1:
            dec = theil_decomposition(xa, wa, lab)
            m["theil_between"], m["theil_within"] = dec.between, dec.within
            m["theil_between_share"] = dec.between_share
    g = best_worst_gap(x, higher_is_better=higher_is_better)
    m.update(best=g["best"], best_value=g["best_value"], worst=g["worst"], worst_value=g["worst_value"],
             gap=g["gap"], ratio=g["ratio"])
    thr = threshold if threshold is not None else r["regional_mean"]
    pb = population_below(x, w, thr, higher_is_better=higher_is_better)
    src = threshold_source or ("mean" if threshold is None else "given")
    m.update(threshold=thr, threshold_is_mean=threshold is None, threshold_source=src,
             threshold_label=threshold_text or ("the regional mean" if threshold is None else "the threshold given"),
             regions_below=len(pb["units"]), share_below=pb["share"])
    if weights == "none":   # no people to count: the share is of regions
        m.update(people_below=None, population=None)
    else:
        m.update(people_below=pb["people"], population=float(w.sum()))
    return m, dec, pb["units"]


def indicator_direction(meta: dict) -> bool:
    """True when higher values of the indicator are better; :class:`DataError` when its direction is
    not known (an indicator created by a data update may have none, NULL)."""
    hib = meta.get("higher_is_better")
    if hib is None or hib is pd.NA or (isinstance(hib, float) and math.isnan(hib)):
        raise DataError(f"indicator '{meta['code']}': which way is better is not known, so regions cannot be "
                        "ranked best to worst", field="higher_is_better", value=meta["code"],
                        fix="import an indicators file that gives higher_is_better for it "
                            "(code,name,unit,higher_is_better,min_value,max_value)")
    return bool(hib)


def _rank(values: pd.Series, higher_is_better: bool) -> pd.Series:
    return values.rank(ascending=not higher_is_better, method="min").astype("Int64")


def region_report(store, country: str, indicator_or_spec, year: int | None = None, *,
                  threshold: float | None = None, layout: str | None = None, lang: str = "en") -> RegionReport:
    """Every region's value and rank and the divide measures, for an indicator or a regional index.

    Parameters
    ----------
    store : Store
    country : str
        ISO3 of the country.
    indicator_or_spec : str or IndexSpec
        A store indicator (``internet_users_pct``) or a regional spec (``kz-regions``): its score.
    year : int, optional
        Default: the latest year with regional data (indicator) or the spec's year.
    threshold : float, optional
        People in regions below it are counted (default :func:`default_threshold`, else the
        population-weighted regional mean).
    layout : str, optional
        Default: the layout of the year.
    """
    country = store.unit(country)["code"]
    geo = geography(store, country)
    kind, subj = resolve_subject(store, indicator_or_spec)
    if kind == "indicator":
        meta = subj
        code = meta["code"]
        if year is None:
            o = store.observations(indicators=code, units=sorted(set(geo.crosswalk["unit"])))
            if o.empty:
                raise NotFoundError(f"no regional values of {code} for {country}", field="indicator", value=code,
                                    fix="see `digimeter data show` for the indicators with regional data")
            year = int(o["year"].max())
        layout = layout or geo.layout_for(year)
        rp = regional_panel(store, country, [code], year, layout=layout, geo=geo)
        vals = rp.panel.values[code]
        est = rp.estimated[code]
        yr = rp.panel.years[code]
        hib = indicator_direction(meta)
        name, uom, subject_code, ri = meta["name"], str(meta.get("unit") or ""), code, None
        nat_by_year = national_figures(store, country, code)
        national = nat_by_year.get(int(year))
        thr, thr_src, thr_text = threshold_for(threshold, meta, country, national)
    else:
        spec = subj
        ri = regional_index(spec, store, year=year, layout=layout, country=country)
        ix = ri.index
        year, layout = int(ix.year), ri.layout
        vals = ix.score.reindex(ri.estimated.index)
        est = ri.estimated.any(axis=1)
        lagged = ix.panel.years.min(axis=1)
        yr = lagged.reindex(vals.index)
        hib, name, uom, subject_code = True, spec.title or spec.name, "score 0-100", spec.name
        national = None
        thr, thr_src, thr_text = threshold_for(threshold, None, country, None)
    if vals.notna().sum() == 0:
        raise NotFoundError(f"no regional values of {subject_code} for {country} in {year}", field="year",
                            value=year, fix="choose a year with regional data")
    pop = (ri.population if ri is not None else rp.population).reindex(vals.index)
    names = geo.names(layout, store, lang)
    t = pd.DataFrame({"unit": vals.index, "name": [names.get(u, u) for u in vals.index],
                      "value": vals.to_numpy(float), "rank": _rank(vals, hib).to_numpy(),
                      "population": pop.to_numpy(float), "estimated": est.reindex(vals.index).fillna(False).astype(bool).to_numpy(),
                      "year": pd.to_numeric(yr, errors="coerce").astype("Int64").to_numpy()})
    if ri is not None:
        t["estimated_inputs"] = ri.estimated_inputs().reindex(vals.index).to_numpy()
        for c in [c for c in ix.table().columns if c not in ("rank", ix.name)]:
            t[c] = ix.scores[c].reindex(vals.index).to_numpy()
    t = t.sort_values(["rank", "unit"], na_position="last").reset_index(drop=True)
    groups = geo.groups(layout)
    v = pd.Series(t["value"].to_numpy(), index=t["unit"])
    w, wsrc, wnote = resolve_weights(v, pd.Series(t["population"].to_numpy(), index=t["unit"]), geo, layout, year)
    m, dec, below = _measures(v, w, groups=groups, threshold=thr, higher_is_better=hib, national=national,
                              weights=wsrc, threshold_source=thr_src, threshold_text=thr_text, weights_note=wnote)
    m["estimated_regions"] = int(t["estimated"].sum())
    if groups:
        m["groups"] = sorted(set(groups.values()))
    return RegionReport(country=country, subject=subject_code, kind="indicator" if ri is None else "score",
                        name=name, unit_of_measure=uom, year=int(year), layout=layout, higher_is_better=hib,
                        table=t, measures=m, decomposition=dec, below_units=below, index=ri)


def map_data(store, country: str, indicator_or_spec, year: int | None = None, *, layout: str | None = None,
             lang: str = "en", threshold: float | None = None, report: "RegionReport | None" = None) -> dict:
    """A GeoJSON FeatureCollection of the regions of ``country`` with one indicator's (or a regional
    index's score's) values for a year, ready for a choropleth (offline: bundled or imported boundaries).

    Each feature's properties gain ``value`` (null where none), ``rank``, ``estimated`` (bool), ``year``
    (of the value), ``population`` and ``name``; the collection gains ``value_min``/``value_max``,
    ``indicator``, ``title``, ``unit_of_measure``, ``year``, ``layout``, ``country``, ``higher_is_better``
    and ``measures`` (the divide measures of :func:`region_report`). Pass ``report`` (a
    :class:`RegionReport` already computed) to skip recomputing it.
    """
    rep = report or region_report(store, country, indicator_or_spec, year, layout=layout, lang=lang,
                                  threshold=threshold)
    geo = geography(store, rep.country)
    if not geo.has_boundaries(rep.layout):
        raise NotFoundError(f"no boundaries for layout '{rep.layout}' of {rep.country}", field="layout",
                            value=rep.layout, fix="import a GeoJSON file with `digimeter data import`")
    t = rep.table.set_index("unit")
    extra = {u: {"rank": None if pd.isna(r["rank"]) else int(r["rank"]), "estimated": bool(r["estimated"]),
                 "year": None if pd.isna(r["year"]) else int(r["year"]),
                 "population": None if pd.isna(r["population"]) else float(r["population"]),
                 "name": r["name"]} for u, r in t.iterrows()}
    fc = map_features(geo.geojson(rep.layout), t["value"], extra=extra)
    for f in fc["features"]:
        p = f["properties"]
        if p.get("unit") not in extra:
            p.update(rank=None, estimated=False, year=None, population=None)
    fc.update(indicator=rep.subject, title=rep.name, unit_of_measure=rep.unit_of_measure, year=rep.year,
              layout=rep.layout, country=rep.country, kind=rep.kind, higher_is_better=rep.higher_is_better,
              measures=jsonable({k: v for k, v in rep.measures.items()}))
    return fc
