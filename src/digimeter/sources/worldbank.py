"""World Bank Indicators API (v2): any WDI code, paged JSON.

Endpoint: ``https://api.worldbank.org/v2/country/{countries}/indicator/{code}?format=json&per_page=N&page=P``.
A page is ``[meta, records]``; ``meta`` carries ``page, pages, per_page, total, sourceid, lastupdated``;
a record is ``{indicator{id,value}, country{id,value}, countryiso3code, date, value, unit, obs_status,
decimal}``. Errors come back with HTTP 200 as ``[{"message": [{"id", "key", "value"}]}]``.

Codes in digimeter's catalogue (``IT.NET.BBND.P2`` -> ``fixed_broadband_per100_wdi``) map to their
digimeter code; any other WDI code becomes a new indicator named by its WDI code, with name, unit and
definition from the API's indicator endpoint (``/v2/indicator/{code}``).
"""

from __future__ import annotations

import hashlib
import re

import pandas as pd

from ..errors import SourceError
from .http import Batch, Fetcher, Response

BASE = "https://api.worldbank.org/v2"
PUBLISHER = "World Bank"
LICENCE = "CC BY 4.0 (World Bank terms of use for datasets)"
RECORD_FIELDS = ("countryiso3code", "date", "value", "indicator")
MAX_PAGES = 500


def data_url(code: str, countries: str = "all") -> str:
    return f"{BASE}/country/{countries}/indicator/{code}"


def parse_page(r: Response) -> tuple[dict, list[dict]]:
    """Check one page's shape and return ``(meta, records)``; a changed schema names what is missing."""
    data = r.json()
    if isinstance(data, list) and data and isinstance(data[0], dict) and "message" in data[0]:
        msgs = data[0]["message"]
        text = "; ".join(f"{m.get('key', '')}: {m.get('value', '')} (id {m.get('id', '?')})" for m in msgs) \
            if isinstance(msgs, list) else str(msgs)
        raise SourceError(f"{r.url}: the World Bank API answered with an error: {text}", field="url", value=r.url,
                          fix="check the indicator code (e.g. IT.NET.USER.ZS) and the country codes")
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], dict)):
        raise SourceError(f"{r.url}: unexpected response shape (expected [meta, records], got "
                          f"{type(data).__name__} of length {len(data) if hasattr(data, '__len__') else '?'})",
                          field="body", fix="the API may have changed; update digimeter.sources.worldbank")
    meta, records = data
    for k in ("page", "pages"):
        if k not in meta:
            raise SourceError(f"{r.url}: page metadata lacks '{k}' (has {sorted(meta)})", field=k,
                              fix="the API may have changed; update digimeter.sources.worldbank")
    if records is None:  # a page past the end, or no data at all
        records = []
    if not isinstance(records, list):
        raise SourceError(f"{r.url}: records are a {type(records).__name__}, not a list", field="body")
    for i, rec in enumerate(records[:1] + records[-1:]):
        missing = [f for f in RECORD_FIELDS if f not in rec]
        if missing:
            raise SourceError(f"{r.url}: records lack field(s) {', '.join(missing)} (fields: {', '.join(rec)})",
                              field=missing[0], fix="the API's record schema changed; update the connector")
    return meta, records


def fetch(fetcher: Fetcher, code: str, *, countries: str = "all", per_page: int = 1000, date: str | None = None,
          on_page=None) -> tuple[list[Response], dict, list[dict]]:
    """Fetch every page of one indicator; return the responses, page-1 metadata and all records."""
    url = data_url(code, countries)
    params = {"format": "json", "per_page": per_page, "page": 1}
    if date:
        params["date"] = date
    first = fetcher.get(url, params, publisher="worldbank")
    meta, records = parse_page(first)
    pages = int(meta.get("pages") or 1)
    if pages > MAX_PAGES:
        raise SourceError(f"{url}: {pages} pages at per_page={per_page}; refusing to page that far",
                          field="pages", value=pages, fix="ask for fewer countries or a larger per_page")
    responses = [first]
    total = int(meta.get("total") or 0)
    if on_page:
        on_page(1, pages)
    for p in range(2, pages + 1):
        r = fetcher.get(url, {**params, "page": p}, publisher="worldbank")
        m, recs = parse_page(r)
        if int(m.get("page", p)) != p:
            raise SourceError(f"{r.url}: asked for page {p}, got page {m.get('page')}", field="page", value=m.get("page"))
        responses.append(r)
        records.extend(recs)
        if on_page:
            on_page(p, pages)
    if total and len(records) != total:
        raise SourceError(f"{url}: the API announced {total} records but {len(records)} arrived "
                          f"(a page was truncated or the data changed while paging)", field="total", value=total,
                          fix="run the update again")
    return responses, meta, records


def indicator_meta(fetcher: Fetcher, code: str) -> dict:
    """Name, unit and definition of a WDI code from ``/v2/indicator/{code}``."""
    r = fetcher.get(f"{BASE}/indicator/{code}", {"format": "json"}, publisher="worldbank", use_cache=True)
    _, recs = parse_meta(r)
    if not recs:
        raise SourceError(f"unknown World Bank indicator '{code}'", field="indicator", value=code,
                          fix="look the code up on data.worldbank.org/indicator")
    return recs[0]


def parse_meta(r: Response) -> tuple[dict, list[dict]]:
    data = r.json()
    if isinstance(data, list) and data and isinstance(data[0], dict) and "message" in data[0]:
        raise SourceError(f"{r.url}: the World Bank API answered with an error: {data[0]['message']}",
                          field="indicator", fix="check the indicator code")
    if not (isinstance(data, list) and len(data) == 2):
        raise SourceError(f"{r.url}: unexpected indicator metadata shape", field="body")
    return data[0], data[1] or []


def tidy(records: list[dict], code: str, digimeter_code: str) -> tuple[pd.DataFrame, list[str]]:
    """Records -> ``unit, indicator, year, value, note``; blanks skipped; non-annual dates refused."""
    rows, skipped_blank, no_iso = [], 0, set()
    for rec in records:
        ind = (rec.get("indicator") or {}).get("id")
        if ind and ind.upper() != code.upper():
            raise SourceError(f"asked for {code} but a record is for {ind}", field="indicator", value=ind)
        iso = (rec.get("countryiso3code") or "").strip()
        if not iso:
            no_iso.add((rec.get("country") or {}).get("value") or "?")
            continue
        v = rec.get("value")
        if v is None or v == "":
            skipped_blank += 1
            continue
        date = str(rec.get("date", ""))
        if not re.fullmatch(r"\d{4}", date):
            raise SourceError(f"{code}: date {date!r} is not a year (digimeter stores annual data)", field="date",
                              value=date, fix="request the annual series (frequency=Y)")
        try:
            value = float(v)
        except (TypeError, ValueError):
            raise SourceError(f"{code} {iso} {date}: value {v!r} is not a number", field="value", value=v)
        note = "; ".join(x for x in (rec.get("obs_status"), rec.get("footnote")) if x) or None
        rows.append((iso, digimeter_code, int(date), value, note))
    notes = []
    if skipped_blank:
        notes.append(f"{code}: {skipped_blank} empty values skipped")
    if no_iso:
        notes.append(f"{code}: rows without an ISO3 code skipped ({', '.join(sorted(no_iso)[:5])})")
    return pd.DataFrame(rows, columns=["unit", "indicator", "year", "value", "note"]), notes


def connector(fetcher: Fetcher, store, codes: list[str] | None = None, *, countries: str = "all",
              per_page: int = 1000, date: str | None = None, on_page=None) -> list[Batch]:
    """One :class:`Batch` per WDI code (default: every World Bank code in the store's catalogue)."""
    ind = store.query("SELECT code, source_code FROM indicators WHERE source = ? AND source_code IS NOT NULL",
                      [PUBLISHER])
    by_wdi = {s.upper(): c for c, s in zip(ind.code, ind.source_code)}
    if not codes:
        codes = sorted(ind.source_code)
    batches = []
    for wdi in codes:
        known = by_wdi.get(wdi.upper())
        if known is None and wdi in set(ind.code):  # a digimeter code was given
            known, wdi = wdi, ind.set_index("code").source_code[wdi]
        responses, meta, records = fetch(fetcher, wdi, countries=countries, per_page=per_page, date=date,
                                         on_page=on_page)
        new_ind = None
        dm_code = known or wdi
        if known is None:
            m = indicator_meta(fetcher, wdi)
            new_ind = pd.DataFrame([{
                "code": wdi, "name": m.get("name") or wdi, "unit": m.get("unit") or None,
                "higher_is_better": True, "min_value": None, "max_value": None, "source": PUBLISHER,
                "source_code": m.get("id") or wdi,
                "description": ((m.get("sourceNote") or "") + " Direction assumed higher-is-better: check it.").strip(),
            }])
        obs, notes = tidy(records, wdi, dm_code)
        h = hashlib.sha256()
        for r in responses:
            h.update(r.content)
        sha = h.hexdigest()
        edition = meta.get("lastupdated") or responses[0].retrieved[:10]
        origin = {
            "origin_id": f"wb_api:{wdi}:{edition}:{sha[:10]}", "publisher": PUBLISHER,
            "dataset": f"World Development Indicators, {wdi} (Indicators API v2, source {meta.get('sourceid', '2')})",
            "edition": edition, "url": responses[0].url, "repository": None, "licence": LICENCE,
            "retrieved": responses[0].retrieved, "sha256": sha,
            "note": f"{len(responses)} page(s), {len(records)} records" + ("; from cache" if responses[0].from_cache else ""),
        }
        batches.append(Batch(source="worldbank", observations=obs, origin=origin, indicators=new_ind,
                             covers=[dm_code] if countries == "all" and not date else [], skipped=notes))
    return batches
