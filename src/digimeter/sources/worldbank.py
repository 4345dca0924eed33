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
                "higher_is_better": None, "min_value": None, "max_value": None, "source": PUBLISHER,
                "source_code": m.get("id") or wdi,
                "description": ((m.get("sourceNote") or "") + " Direction not known: give it in a spec node or an indicators file.").strip(),
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


# -- the WDI bulk download (``WDICSV.csv`` from WDI_CSV.zip, or an ``API_<code>_DS2_*.csv``) -------------

BULK_ID_COLS = ("Country Name", "Country Code", "Indicator Name", "Indicator Code")


def _bulk_header(path) -> tuple[int, list[str], str | None]:
    """Find the header line (``Country Name,Country Code,Indicator Name,Indicator Code,1960,...``).

    ``API_*`` downloads start with a 4-line preamble (``"Data Source"``, ``"Last Updated Date"``);
    ``WDICSV.csv`` starts with the header. Returns ``(lines to skip, header fields, last updated)``.
    """
    import csv

    updated = None
    with open(path, encoding="utf-8-sig", newline="") as f:
        for i, line in enumerate(f):
            if i > 20:
                break
            fields = next(csv.reader([line]), [])
            if fields and fields[0].strip() == "Last Updated Date" and len(fields) > 1:
                updated = fields[1].strip() or None
            if [x.strip() for x in fields[:4]] == list(BULK_ID_COLS):
                return i, [x.strip() for x in fields], updated
    raise SourceError(f"{path}: no WDI bulk header (Country Name, Country Code, Indicator Name, Indicator Code, "
                      f"1960, ...) in the first 20 lines", field="header",
                      fix="use the CSV from the World Bank bulk download (WDI_CSV.zip or API_*.csv)")


def read_bulk_csv(path, store=None, *, new_units_kind: str | None = None, origin_id: str | None = None) -> Batch:
    """Parse a WDI bulk-download CSV into one :class:`Batch`, columnar from end to end.

    pyarrow's multi-threaded CSV reader reads the wide file (year columns typed float64, so a
    non-numeric cell is an error), and each record batch is unpivoted with numpy (row-major, empty
    cells dropped). Unit and indicator come back as pandas categoricals (integer codes into a small
    dictionary: no Python string per value), year as int32, value as float64; there is no ``note``
    column. WDI codes in the store's catalogue map to their digimeter code (``IT.NET.BBND.P2`` ->
    ``fixed_broadband_per100_wdi``); any other code becomes a new indicator named from the file.
    Economies the store does not know are offered as new units of kind ``new_units_kind`` when it is
    given; otherwise :func:`~digimeter.sources.update.apply_batches` leaves them out with a note (the
    bulk file mixes countries with aggregates such as ``WLD`` or ``ARB``).
    """
    import hashlib as _hl
    from datetime import datetime, timezone
    from pathlib import Path

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    path = Path(path)
    skip, header, updated = _bulk_header(path)
    years = [h for h in header if re.fullmatch(r"\d{4}", h)]
    if not years:
        raise SourceError(f"{path}: no year columns in the header", field="header")
    names = [h if h else f"_blank{i}" for i, h in enumerate(header)]
    ids = list(BULK_ID_COLS)
    try:
        wide = pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(skip_rows=skip + 1, column_names=names, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=","),
            convert_options=pacsv.ConvertOptions(
                column_types={**{c: pa.string() for c in ids}, **{y: pa.float64() for y in years}},
                include_columns=ids + years, strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        raise SourceError(f"{path}: not a readable WDI bulk CSV: {str(e).splitlines()[0]}", field="body",
                          fix="re-download the file; a value cell must be a number or empty") from e
    year_no = np.array([int(y) for y in years], dtype=np.int32)
    unit_pos: dict[str, int] = {}
    ind_pos: dict[str, int] = {}
    unit_name: dict[str, str] = {}
    ind_name: dict[str, str] = {}
    out_u, out_i, out_y, out_v = [], [], [], []

    def codes(col, pos: dict, label, nm: dict):
        enc = pc.utf8_trim_whitespace(col).dictionary_encode()
        local = enc.dictionary.to_pylist()
        glob = np.array([pos.setdefault(c, len(pos)) for c in local], dtype=np.int32)
        idx = enc.indices.to_numpy(zero_copy_only=False)
        _, first = np.unique(idx, return_index=True)
        lab = label.take(pa.array(first)).to_pylist()
        for k, f in zip(np.unique(idx), lab):
            nm.setdefault(local[k], f)
        return glob[idx], np.array([bool(c) for c in local])[idx]

    for b in wide.to_batches():
        if not b.num_rows:
            continue
        u, u_ok = codes(b.column("Country Code"), unit_pos, b.column("Country Name"), unit_name)
        i, i_ok = codes(b.column("Indicator Code"), ind_pos, b.column("Indicator Name"), ind_name)
        vals = np.column_stack([pc.fill_null(b.column(y), np.nan).to_numpy() for y in years])
        keep = ~np.isnan(vals)
        keep &= (u_ok & i_ok)[:, None]  # rows without a country or indicator code
        per_row = keep.sum(axis=1)  # row-major: repeat each row's codes once per kept cell
        out_u.append(np.repeat(u, per_row))
        out_i.append(np.repeat(i, per_row))
        out_y.append(np.broadcast_to(year_no, keep.shape)[keep])
        out_v.append(vals[keep])
        del vals, keep
    del wide
    wdi_codes = list(ind_pos)
    known: dict[str, str] = {}
    if store is not None:
        cat = store.query("SELECT code, source_code FROM indicators WHERE source = ? AND source_code IS NOT NULL",
                          [PUBLISHER])
        known = {s_.upper(): c_ for c_, s_ in zip(cat.code, cat.source_code)}
    mapped = [known.get(w.upper(), w) for w in wdi_codes]
    categories = list(dict.fromkeys(mapped))
    cat_of = dict(zip(categories, range(len(categories))))
    remap = np.array([cat_of[m] for m in mapped], dtype=np.int32)

    def cat(parts, cats, remap=None):
        arr = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        # the codes were made here, within range: skip pandas' bounds check
        return pd.Categorical.from_codes(remap[arr] if remap is not None else arr, categories=cats, validate=False)

    frame = pd.DataFrame({
        "unit": cat(out_u, list(unit_pos)),
        "indicator": cat(out_i, categories, remap),
        "year": np.concatenate(out_y) if out_y else np.zeros(0, dtype=np.int32),
        "value": np.concatenate(out_v) if out_v else np.zeros(0),
    })
    del out_u, out_i, out_y, out_v
    new = [(m, w) for m, w in zip(mapped, wdi_codes) if w and w.upper() not in known]
    new_ind = pd.DataFrame({
        "code": [m for m, _ in new], "name": [ind_name.get(w) or w for _, w in new], "unit": None,
        "higher_is_better": None, "min_value": None, "max_value": None, "source": PUBLISHER,
        "source_code": [w for _, w in new],
        "description": "From the WDI bulk download. Direction not known: give it in a spec node or an indicators file."})
    units = pd.DataFrame({"code": [u for u in unit_pos if u], "name": [unit_name.get(u) or u for u in unit_pos if u]})
    unit_meta = units.assign(kind=new_units_kind) if new_units_kind else None
    h = _hl.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    sha = h.hexdigest()
    edition = updated or datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).date().isoformat()
    origin = {
        "origin_id": origin_id or f"wb_bulk:{path.name}:{edition}:{sha[:10]}", "publisher": PUBLISHER,
        "dataset": f"World Development Indicators, bulk download ({path.name}; {len(categories)} indicators, "
                   f"{len(units)} economies, {years[0]}-{years[-1]})",
        "edition": edition, "url": None, "repository": None, "licence": LICENCE,
        "retrieved": datetime.now(timezone.utc).isoformat(timespec="seconds"), "sha256": sha,
        "note": f"{len(frame)} non-empty values",
    }
    return Batch(source="worldbank", observations=frame, origin=origin, indicators=new_ind if len(new_ind) else None,
                 units=unit_meta, covers=[])
