"""ITU DataHub (datahub.itu.int): World Telecommunication/ICT Indicators.

The DataHub's download gives one series per request, as CSV (possibly zipped) or JSON records, with
the fields ``seriesID, seriesCode, seriesName, seriesParent, seriesUnits, entityID, entityIso,
entityName, dataValue, dataYear, dataNote, dataSource, seriesDescription``. The parser accepts all
three forms (CSV, a ZIP holding one CSV, JSON list / ``{"data": [...]}``) and keys on those field
names. ``seriesCode`` maps to digimeter codes through the catalogue (``i99H`` ->
``internet_users_pct``); unknown series become new indicators named by their series code.

Note: the download URL pattern (:data:`DOWNLOAD_URL`) follows the DataHub web page's export link; it
could not be checked from this machine (no recorded API response exists in the test fixtures — see
``tests/fixtures/recorded/PROVENANCE.md``). Pass ``url=`` to override it.
"""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd

from ..errors import SourceError
from .http import Batch, Fetcher, Response

PUBLISHER = "ITU"
DOWNLOAD_URL = "https://api.datahub.itu.int/v2/data/download/byid/{series_id}/iscollection/false"
LICENCE = "ITU DataHub terms: free for non-commercial use with attribution (ITU World Telecommunication/ICT Indicators Database)"
REQUIRED = ("seriesCode", "entityIso", "dataValue", "dataYear")


def parse(r: Response) -> pd.DataFrame:
    """A DataHub download (CSV, zipped CSV or JSON) -> DataFrame with the DataHub's field names."""
    raw = r.content
    if raw[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                names = [n for n in z.namelist() if n.lower().endswith(".csv")]
                if not names:
                    raise SourceError(f"{r.url}: the ZIP holds no CSV ({z.namelist()})", field="body")
                raw = z.read(names[0])
        except zipfile.BadZipFile as e:
            raise SourceError(f"{r.url}: damaged ZIP ({e}); the download was cut short", field="body",
                              fix="run the update again") from e
    text = raw.decode("utf-8-sig", errors="strict")
    if text.lstrip()[:1] in "[{":
        data = json.loads(text) if text.strip() else []
        if isinstance(data, dict):
            data = data.get("data") or data.get("items") or []
        df = pd.DataFrame(data)
    else:
        try:
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except pd.errors.ParserError as e:
            raise SourceError(f"{r.url}: the CSV cannot be read ({e}); truncated?", field="body",
                              fix="run the update again") from e
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise SourceError(f"{r.url}: ITU DataHub response lacks column(s) {', '.join(missing)} "
                          f"(has {', '.join(map(str, df.columns[:12]))})", field=missing[0],
                          fix="the DataHub export format changed; update digimeter.sources.itu")
    return df


def tidy(df: pd.DataFrame, codes: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """DataHub rows -> observations (+ metadata of series not in the catalogue)."""
    notes = []
    df = df.copy()
    val = pd.to_numeric(df["dataValue"].replace({"": None}), errors="coerce")
    bad = df[val.isna() & df["dataValue"].astype(str).str.strip().ne("")]
    if len(bad):  # text values (e.g. "With price control") are not numbers: left out, said so
        notes.append(f"{len(bad)} non-numeric values skipped (e.g. {bad['dataValue'].iloc[0]!r})")
    year = pd.to_numeric(df["dataYear"], errors="coerce")
    if year.isna().any():
        raise SourceError(f"dataYear not a year: {df.loc[year.isna(), 'dataYear'].iloc[0]!r}", field="dataYear")
    blank_iso = df["entityIso"].astype(str).str.strip().eq("")
    keep = val.notna() & ~blank_iso
    out = pd.DataFrame({
        "unit": df.loc[keep, "entityIso"].str.strip().str.upper(),
        "indicator": df.loc[keep, "seriesCode"].map(lambda s: codes.get(s, s)),
        "year": year[keep].astype(int), "value": val[keep],
        "note": (df.loc[keep, "dataSource"] if "dataSource" in df else pd.Series(None, index=df.index[keep])),
    })
    out["note"] = out["note"].replace({"": None})
    new = sorted(set(df["seriesCode"]) - set(codes))
    meta = df.drop_duplicates("seriesCode").set_index("seriesCode")
    ind = pd.DataFrame([{
        "code": s, "name": meta.at[s, "seriesName"] if "seriesName" in meta else s,
        "unit": meta.at[s, "seriesUnits"] if "seriesUnits" in meta else None, "higher_is_better": None,
        "min_value": None, "max_value": None, "source": PUBLISHER, "source_code": s,
        "description": ((meta.at[s, "seriesDescription"] if "seriesDescription" in meta else "") +
                        " Direction not known: give it in a spec node or an indicators file.").strip()} for s in new])
    return out.reset_index(drop=True), ind, notes


def connector(fetcher: Fetcher, store, series: list[str] | None = None, *, url: str | None = None,
              series_ids: dict[str, str] | None = None, on_page=None) -> list[Batch]:
    """One batch per series; ``series`` are ITU codes (``i99H``) or digimeter codes.

    ``series_ids`` maps series codes to the DataHub's numeric ``seriesID`` used in the download URL
    (e.g. ``{"i99H": "11624"}``); ``url`` may be a full URL (or a template with ``{series_id}``).
    """
    ind = store.query("SELECT code, source_code FROM indicators WHERE source = ? AND source_code IS NOT NULL",
                      [PUBLISHER])
    codes = dict(zip(ind.source_code, ind.code))
    by_dm = dict(zip(ind.code, ind.source_code))
    series = [by_dm.get(s, s) for s in (series or sorted(codes))]
    series_ids = series_ids or {}
    batches = []
    for i, s in enumerate(series, 1):
        sid = series_ids.get(s)
        if url is None and sid is None:
            raise SourceError(f"ITU series {s}: the DataHub needs its numeric seriesID for a download",
                              field="series", value=s, fix="pass series_ids={'i99H': '11624'} or a full url")
        u = (url or DOWNLOAD_URL).format(series_id=sid, series=s)
        r = fetcher.get(u, publisher="itu")
        df = parse(r)
        other = sorted(set(df["seriesCode"]) - {s})
        if other and s in set(df["seriesCode"]):
            df = df[df["seriesCode"] == s]
        obs, new, notes = tidy(df, codes)
        origin = {"origin_id": f"itu_datahub:{s}:{r.sha256[:12]}", "publisher": PUBLISHER,
                  "dataset": f"World Telecommunication/ICT Indicators Database, series {s} (DataHub)",
                  "edition": r.retrieved[:10], "url": r.url, "repository": None, "licence": LICENCE,
                  "retrieved": r.retrieved, "sha256": r.sha256, "note": f"{len(df)} rows"}
        batches.append(Batch(source="itu", observations=obs, origin=origin, indicators=new if len(new) else None,
                             covers=[codes.get(s, s)], skipped=notes))
        if on_page:
            on_page(i, len(series))
    return batches
