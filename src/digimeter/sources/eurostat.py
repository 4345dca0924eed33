"""Eurostat dissemination API (JSON-stat), including the regional ICT tables by NUTS region.

Endpoint: ``https://ec.europa.eu/eurostat/api/dissemination/statistics/1.0/data/{dataset}?format=JSON&lang=EN``
plus one query parameter per dimension filter (``unit=PC_IND&indic_is=I_IUSE``). The answer is a
JSON-stat 2.0 dataset (``id``, ``size``, ``dimension``, sparse ``value`` keyed by flat index,
``status`` flags). The older v1 web service wrapped the dataset in ``{"<code>": {...}}`` with
``dimension.id``/``dimension.size`` and dense value lists; both are read.

Tidy rules:

* ``geo`` codes of two letters are countries (``EL`` -> GRC, ``UK`` -> GBR, others through the units'
  ISO2 codes); longer codes are NUTS regions and become region units (code = NUTS code,
  ``parent`` = the country's ISO3), created on first sight; EU aggregates are left out (reported).
* ``time`` must be annual (``2019``); monthly or quarterly data are refused with the fix
  (ask for ``freq=A``).
* every other dimension with one category is part of the indicator's identity; the indicator code is
  ``<dataset>.<cat>.<cat>...`` in lower case (e.g. ``isoc_r_iuse_i.i_iuse.pc_ind``) unless
  ``indicator=`` names a digimeter code. Dimensions with several categories give one indicator per
  combination.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd

from ..errors import SourceError
from .http import Batch, Fetcher, Response

PUBLISHER = "Eurostat"
BASE = "https://ec.europa.eu/eurostat/api/dissemination/statistics/1.0/data/{dataset}"
LICENCE = "Eurostat copyright/licence policy: re-use allowed with acknowledgement (CC BY 4.0)"
GEO_FIX = {"EL": "GR", "UK": "GB"}
NOT_COUNTRIES = re.compile(r"^(EU|EA|EEA|EFTA)\d*|_")


def _dataset(data: dict, url: str) -> tuple[str | None, dict]:
    if not isinstance(data, dict):
        raise SourceError(f"{url}: not a JSON-stat object", field="body")
    if "error" in data:
        err = data["error"]
        raise SourceError(f"{url}: Eurostat answered with an error: {err}", field="url", value=url,
                          fix="check the dataset code and the filter values")
    if "value" in data and ("id" in data or "dimension" in data):
        return (data.get("extension") or {}).get("id"), data
    if len(data) == 1:  # v1 wrapper {"nama_gdp_c": {...}}
        (code, ds), = data.items()
        if isinstance(ds, dict) and "value" in ds:
            return code, ds
    raise SourceError(f"{url}: not a JSON-stat dataset (keys: {', '.join(list(data)[:8])})", field="body",
                      fix="the API changed or the body is an error page")


def parse(r: Response) -> tuple[str | None, dict, pd.DataFrame]:
    """JSON-stat -> ``(dataset code, raw dataset, long frame)`` with one column per dimension + value, status."""
    code, ds = _dataset(r.json(), r.url)
    dims = ds.get("dimension") or {}
    ids = ds.get("id") or dims.get("id")
    size = ds.get("size") or dims.get("size")
    if not ids or not size or len(ids) != len(size):
        raise SourceError(f"{r.url}: JSON-stat 'id'/'size' missing or inconsistent", field="id",
                          fix="the API's JSON-stat layout changed; update digimeter.sources.eurostat")
    cats = []
    for d, n in zip(ids, size):
        idx = ((dims.get(d) or {}).get("category") or {}).get("index")
        if idx is None:
            raise SourceError(f"{r.url}: dimension '{d}' has no category index", field=d)
        order = sorted(idx, key=idx.get) if isinstance(idx, dict) else list(idx)
        if len(order) != n:
            raise SourceError(f"{r.url}: dimension '{d}' has {len(order)} categories but size says {n}", field=d)
        cats.append(order)
    total = int(np.prod(size))
    values, status = ds.get("value"), ds.get("status") or {}
    if isinstance(status, dict) and "value" in status:  # v1: {"value": [...], "category": ...}
        status = status["value"]
    if isinstance(values, list):
        if len(values) != total:
            raise SourceError(f"{r.url}: {len(values)} values for {total} cells (truncated?)", field="value",
                              fix="run the update again")
        pos = [i for i, v in enumerate(values) if v is not None]
        vals = [values[i] for i in pos]
    elif isinstance(values, dict):
        pos = [int(k) for k in values]
        vals = list(values.values())
        if pos and max(pos) >= total:
            raise SourceError(f"{r.url}: value index {max(pos)} beyond {total} cells", field="value")
    else:
        raise SourceError(f"{r.url}: 'value' is a {type(values).__name__}", field="value")
    st = [(status[i] if isinstance(status, list) else status.get(str(i))) for i in pos] if status else [None] * len(pos)
    coords = np.unravel_index(np.asarray(pos, dtype=np.int64), size) if pos else [np.array([], int)] * len(ids)
    frame = {d: np.asarray(c, dtype=object)[k] if len(pos) else [] for d, c, k in zip(ids, cats, coords)}
    df = pd.DataFrame(frame)
    df["value"] = pd.to_numeric(pd.Series(vals, dtype=object), errors="coerce").to_numpy() if len(pos) else []
    df["status"] = st
    labels = {d: ((dims.get(d) or {}).get("category") or {}).get("label") or {} for d in ids}
    ds["_labels"] = labels
    ds["_ids"] = ids
    return code, ds, df


def geo_to_unit(store) -> dict[str, str]:
    u = store.query("SELECT code, iso2 FROM units WHERE iso2 IS NOT NULL AND kind IN ('country', 'territory')")
    return dict(zip(u.iso2, u.code))


def tidy(code: str, ds: dict, df: pd.DataFrame, iso2: dict[str, str], *, indicator: str | None = None
         ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[str]]:
    """Long JSON-stat frame -> (observations, new indicators, units seen, notes)."""
    ids, labels = ds["_ids"], ds["_labels"]
    if "geo" not in ids or "time" not in ids:
        raise SourceError(f"{code}: dataset has no 'geo' and 'time' dimensions (has {', '.join(ids)})", field="id")
    times = list(labels["time"]) or sorted(set(df["time"]))
    bad = [t for t in times if not re.fullmatch(r"\d{4}", str(t))]
    if bad:
        raise SourceError(f"{code}: time period {bad[0]!r} is not a year; digimeter stores annual data",
                          field="time", value=bad[0], fix="request the annual series (freq=A) or an annual dataset")
    notes = []
    df = df[df["value"].notna()].copy()
    other = [d for d in ids if d not in ("geo", "time", "freq")]
    if len(df):
        if indicator and any(df[d].nunique() > 1 for d in other):
            raise SourceError(f"{code}: indicator={indicator!r} given but the answer holds several series",
                              field="indicator", fix="filter every dimension to one value")
        df["indicator"] = indicator or df[other].astype(str).agg(".".join, axis=1).map(
            lambda s: f"{code}.{s}".lower() if s else code.lower())
    else:
        df["indicator"] = []
    geo = df["geo"].astype(str)
    is_nuts = geo.str.len() > 2
    agg = geo.str.match(NOT_COUNTRIES)
    if agg.any():
        notes.append(f"aggregates left out: {', '.join(sorted(set(geo[agg]))[:8])}")
    ctry = geo.map(lambda g: iso2.get(GEO_FIX.get(g, g)))
    unknown = sorted(set(geo[~is_nuts & ~agg & ctry.isna()]))
    if unknown:
        notes.append(f"unknown country codes left out: {', '.join(unknown)}")
    unit = ctry.where(~is_nuts, geo)
    parent_of = geo.str[:2].map(lambda g: iso2.get(GEO_FIX.get(g, g)))
    keep = ~agg & unit.notna() & (~is_nuts | parent_of.notna())
    obs = pd.DataFrame({"unit": unit[keep], "indicator": df.loc[keep, "indicator"], "year": df.loc[keep, "time"].astype(int),
                        "value": df.loc[keep, "value"].astype(float),
                        "note": df.loc[keep, "status"].map(lambda s: f"flag {s}" if s else None)})
    regions = df.loc[keep & is_nuts, "geo"].drop_duplicates()
    units = pd.DataFrame({"code": regions, "name": regions.map(lambda g: labels["geo"].get(g, g)), "kind": "region",
                          "parent": regions.str[:2].map(lambda g: iso2.get(GEO_FIX.get(g, g)))})
    if len(df):
        first = df.drop_duplicates("indicator")
        ind = pd.DataFrame([{
            "code": r.indicator,
            "name": (ds.get("label") or ds.get("title") or code) + " — " + ", ".join(
                str(labels[d].get(getattr(r, d), getattr(r, d))) for d in other),
            "unit": labels.get("unit", {}).get(getattr(r, "unit")) if "unit" in other else None,
            "higher_is_better": None, "min_value": None, "max_value": None, "source": PUBLISHER,
            "source_code": f"{code}:" + ",".join(f"{d}={getattr(r, d)}" for d in other),
            "description": "Direction not known: give it in a spec node or an indicators file."} for r in first.itertuples()])
    else:
        ind = pd.DataFrame()
    return obs.reset_index(drop=True), ind, units.reset_index(drop=True), notes


def connector(fetcher: Fetcher, store, datasets: list[str] | None = None, *, filters: dict | None = None,
              indicator: str | None = None, url: str | None = None, on_page=None) -> list[Batch]:
    """One batch per dataset; ``filters`` are dimension filters (``{"unit": "PC_IND", "indic_is": "I_IUSE"}``).

    Default: the regional internet-use table ``isoc_r_iuse_i`` (individuals who used the internet in
    the last three months, % of individuals, NUTS 2).
    """
    datasets = datasets or ["isoc_r_iuse_i"]
    if filters is None and datasets == ["isoc_r_iuse_i"]:
        filters = {"unit": "PC_IND", "indic_is": "I_ILT12"}
    iso2 = geo_to_unit(store)
    batches = []
    for i, dsname in enumerate(datasets, 1):
        params = {"format": "JSON", "lang": "EN", **(filters or {})}
        r = fetcher.get(url or BASE.format(dataset=dsname), params, publisher="eurostat")
        code, ds, df = parse(r)
        code = (code or dsname)
        obs, ind, units, notes = tidy(code if indicator is None else code, ds, df, iso2, indicator=indicator)
        edition = str(ds.get("updated") or ds.get("lastUpdateDate") or r.retrieved[:10])
        origin = {"origin_id": f"eurostat:{code.lower()}:{r.sha256[:12]}", "publisher": PUBLISHER,
                  "dataset": f"{ds.get('label') or ds.get('title') or code} ({code})", "edition": edition,
                  "url": r.url, "repository": None, "licence": LICENCE, "retrieved": r.retrieved,
                  "sha256": r.sha256, "note": f"{len(obs)} values"}
        batches.append(Batch(source="eurostat", observations=obs, origin=origin,
                             indicators=ind if len(ind) else None, units=units if len(units) else None,
                             skipped=notes))
        if on_page:
            on_page(i, len(datasets))
    return batches
