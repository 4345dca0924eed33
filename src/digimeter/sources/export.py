"""Export observations with the provenance of each value (CSV, Parquet, XLSX).

Each row is one current value (or the value as of a vintage) with its origin joined in: publisher,
dataset, edition, URL, repository, licence, retrieval time and checksum, plus the vintage's creation
time and kind, so a value can be traced back without the store.

Text is data, never a formula: in CSV and XLSX files, a text cell that begins with ``= + - @``, a tab
or a carriage return is written with a leading ``'`` (:func:`digimeter._util.safetext.neutralise_frame`),
and the XLSX file's README sheet says so. Parquet keeps the text as it is (no spreadsheet reads it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .._util.safetext import NEUTRALISE_NOTE, neutralise_frame
from ..errors import DataError

FORMATS = ("csv", "parquet", "xlsx")
XLSX_MAX_ROWS = 1_048_575


def table(store, *, indicators=None, units=None, years=None, as_of_vintage: int | None = None) -> pd.DataFrame:
    obs = store.observations(indicators=indicators, units=units, years=years, as_of_vintage=as_of_vintage)
    org = store.origins().rename(columns={"note": "origin_note"})
    vin = store.vintages()[["vintage", "created", "kind"]].rename(columns={"created": "vintage_created",
                                                                           "kind": "vintage_kind"})
    ind = store.query("SELECT code AS indicator, name AS indicator_name, unit AS measure FROM indicators")
    out = (obs.merge(ind, on="indicator", how="left").merge(org, on="origin_id", how="left")
              .merge(vin, on="vintage", how="left"))
    cols = ["unit", "indicator", "indicator_name", "year", "value", "measure", "note", "vintage", "vintage_created",
            "vintage_kind", "origin_id", "publisher", "dataset", "edition", "url", "repository", "licence",
            "retrieved", "sha256", "origin_note"]
    return out[cols]


def export(store, path, *, fmt: str | None = None, indicators=None, units=None, years=None,
           as_of_vintage: int | None = None) -> pd.DataFrame:
    """Write :func:`table` to ``path`` as csv, parquet or xlsx (from ``fmt`` or the file's suffix)."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "csv").lower()
    if fmt not in FORMATS:
        raise DataError(f"unknown export format {fmt!r}", field="format", value=fmt, fix=f"use one of {', '.join(FORMATS)}")
    df = table(store, indicators=indicators, units=units, years=years, as_of_vintage=as_of_vintage)
    if df.empty:
        raise DataError("nothing to export: no observations match", field="indicator",
                        fix="check --indicator/--unit codes with `digimeter data list`")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if fmt == "csv":
        neutralise_frame(df).to_csv(tmp, index=False)
    elif fmt == "parquet":
        df.to_parquet(tmp, index=False)
    else:
        if len(df) > XLSX_MAX_ROWS:
            raise DataError(f"{len(df)} rows do not fit in one XLSX sheet", field="format", value="xlsx",
                            fix="use --format parquet or csv, or filter with --indicator/--unit")
        x = df.copy()
        x["vintage_created"] = x["vintage_created"].astype(str)
        readme = pd.DataFrame({"README": [
            "observations: one row per value, with its origin (publisher, dataset, URL, licence, checksum) and vintage.",
            "origins: every origin referred to by origin_id.",
            NEUTRALISE_NOTE]})
        with pd.ExcelWriter(tmp, engine="openpyxl") as w:
            neutralise_frame(x).to_excel(w, sheet_name="observations", index=False)
            neutralise_frame(store.origins()).to_excel(w, sheet_name="origins", index=False)
            readme.to_excel(w, sheet_name="README", index=False)
    tmp.replace(path)
    return df
