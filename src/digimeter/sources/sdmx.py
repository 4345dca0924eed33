"""Generic connector for any SDMX or CSV URL (national statistics offices, OECD, Eurostat SDMX, ...).

Understands three answers:

* **SDMX-ML 2.1 generic data** (``<message:GenericData>``, series keys + observations);
* **SDMX-CSV** (columns ``DATAFLOW``, ``REF_AREA``/``GEO``, ``TIME_PERIOD``, ``OBS_VALUE``, other
  dimensions);
* **plain CSV** in one of the layouts :mod:`digimeter.sources.files` imports (long
  ``unit, indicator, year, value``), given the column names.

The reference-area dimension (``REF_AREA``, ``GEO``, ``geo``; override with ``area=``) gives the unit,
the time dimension the year (annual only); every other dimension with its value forms the indicator code
``<dataflow>.<v1>.<v2>`` (lower case) unless ``indicator=`` names a digimeter code.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pandas as pd

from ..errors import SourceError
from .eurostat import GEO_FIX, NOT_COUNTRIES, geo_to_unit
from .http import Batch, Fetcher, Response

AREA_DIMS = ("REF_AREA", "GEO", "geo", "COUNTRY", "LOCATION")
TIME_DIMS = ("TIME_PERIOD", "TIME", "time", "year")
SKIP_DIMS = {"FREQ", "freq", "DATAFLOW", "OBS_STATUS", "OBS_FLAG", "OBS_VALUE", "UNIT_MULT", "DECIMALS"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_generic_xml(r: Response) -> tuple[str | None, pd.DataFrame]:
    """SDMX-ML 2.1 GenericData -> (dataflow id, long frame: key dims..., TIME_PERIOD, OBS_VALUE, status)."""
    rows = []
    flow = None
    try:
        it = ET.iterparse(io.BytesIO(r.content), events=("end",))
        key: dict = {}
        for _, el in it:
            tag = _local(el.tag)
            if tag == "DataSetID" and el.text:
                flow = el.text.strip()
            elif tag == "SeriesKey":
                key = {v.get("id"): v.get("value") for v in el if _local(v.tag) == "Value"}
            elif tag == "Obs":
                row = dict(key)
                status = None
                for ch in el:
                    t = _local(ch.tag)
                    if t == "ObsDimension":
                        row["TIME_PERIOD"] = ch.get("value")
                    elif t == "ObsValue":
                        row["OBS_VALUE"] = ch.get("value")
                    elif t == "Attributes":
                        status = ",".join(f"{v.get('id')}={v.get('value')}" for v in ch)
                row["status"] = status
                rows.append(row)
                el.clear()
            elif tag == "Series":
                el.clear()
    except ET.ParseError as e:
        raise SourceError(f"{r.url}: the SDMX-ML body is not well-formed XML ({e}); truncated download?",
                          field="body", fix="run the update again") from e
    if not rows and b"GenericData" not in r.content[:2000] and b"StructureSpecificData" in r.content[:2000]:
        raise SourceError(f"{r.url}: structure-specific SDMX-ML is not supported; ask for generic data or SDMX-CSV",
                          field="body", fix="add format=csvdata (or genericdata) to the query")
    return flow, pd.DataFrame(rows)


def parse(r: Response) -> tuple[str | None, pd.DataFrame]:
    head = r.content[:500].lstrip()
    if head.startswith(b"<"):
        return parse_generic_xml(r)
    try:
        df = pd.read_csv(io.BytesIO(r.content), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise SourceError(f"{r.url}: the CSV cannot be read ({e})", field="body", fix="run the update again") from e
    flow = df["DATAFLOW"].iloc[0].split(":")[-1].split("(")[0] if "DATAFLOW" in df and len(df) else None
    return flow, df


def tidy(flow: str | None, df: pd.DataFrame, iso2: dict[str, str], *, area: str | None = None,
         time: str | None = None, value: str = "OBS_VALUE", indicator: str | None = None,
         units_known: set[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    cols = list(df.columns)
    area = area or next((c for c in AREA_DIMS if c in cols), None)
    time = time or next((c for c in TIME_DIMS if c in cols), None)
    if area is None or time is None or value not in cols:
        raise SourceError(f"cannot find the area/time/value columns in {', '.join(cols[:15])}",
                          field="area" if area is None else "time" if time is None else value,
                          fix="pass area=, time= and value= with the column names")
    t = df[time].astype(str)
    bad = t[~t.str.fullmatch(r"\d{4}")]
    if len(bad):
        raise SourceError(f"time period {bad.iloc[0]!r} is not a year; digimeter stores annual data",
                          field=time, value=bad.iloc[0], fix="ask for annual data (FREQ=A)")
    v = pd.to_numeric(df[value].replace({"": None, "NaN": None}), errors="coerce")
    dims = [c for c in cols if c not in SKIP_DIMS and c not in (area, time, value, "status")
            and not c.startswith(("OBS_", "CONF_"))]
    g = df[area].astype(str)
    unit = g.map(lambda x: x if units_known and x in units_known else
                 iso2.get(GEO_FIX.get(x, x)) if len(x) == 2 else (x if len(x) == 3 and x.isupper() else None))
    agg = g.str.match(NOT_COUNTRIES)
    unknown = sorted(set(g[unit.isna() & ~agg]))
    if unknown:
        notes.append(f"areas not in the store left out: {', '.join(unknown[:10])}")
    keep = v.notna() & unit.notna() & ~agg
    if indicator:
        ind = pd.Series(indicator, index=df.index)
    else:
        base = (flow or "sdmx").lower()
        ind = df[dims].astype(str).agg(".".join, axis=1).map(lambda s: f"{base}.{s}".lower() if s else base) \
            if dims else pd.Series(base, index=df.index)
    out = pd.DataFrame({"unit": unit[keep], "indicator": ind[keep], "year": t[keep].astype(int), "value": v[keep],
                        "note": df.loc[keep, "status"] if "status" in df else None})
    return out.reset_index(drop=True), notes


def connector(fetcher: Fetcher, store, urls: list[str] | None = None, *, indicator: str | None = None,
              publisher: str = "SDMX", dataset: str | None = None, licence: str | None = None,
              area: str | None = None, time: str | None = None, value: str = "OBS_VALUE", on_page=None) -> list[Batch]:
    """One batch per URL; the user names publisher/dataset/licence (an SDMX answer does not carry them)."""
    if not urls:
        raise SourceError("the sdmx source needs a URL", field="url", fix="digimeter data update --source sdmx --url URL")
    iso2 = geo_to_unit(store)
    known = set(store.query("SELECT code FROM units").code)
    have_ind = set(store.query("SELECT code FROM indicators").code)
    batches = []
    for i, u in enumerate(urls, 1):
        r = fetcher.get(u, publisher="sdmx")
        flow, df = parse(r)
        if df.empty:
            obs, notes = pd.DataFrame(columns=["unit", "indicator", "year", "value", "note"]), ["empty answer"]
        else:
            obs, notes = tidy(flow, df, iso2, area=area, time=time, value=value, indicator=indicator, units_known=known)
        new = sorted(set(obs.indicator) - have_ind)
        ind = pd.DataFrame([{"code": c, "name": c, "unit": None, "higher_is_better": None, "min_value": None,
                             "max_value": None, "source": publisher, "source_code": c,
                             "description": f"from {r.url}. Direction not known: give it in a spec node or an indicators file."} for c in new])
        origin = {"origin_id": f"sdmx:{(flow or 'data').lower()}:{r.sha256[:12]}", "publisher": publisher,
                  "dataset": dataset or flow or r.url, "edition": r.retrieved[:10], "url": r.url, "repository": None,
                  "licence": licence, "retrieved": r.retrieved, "sha256": r.sha256, "note": f"{len(obs)} values"}
        batches.append(Batch(source="sdmx", observations=obs, origin=origin, indicators=ind if len(ind) else None,
                             skipped=notes))
        if on_page:
            on_page(i, len(urls))
    return batches
